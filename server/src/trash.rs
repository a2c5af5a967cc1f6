//! The trash expiry: deleted notes are restorable for `TERN_TRASH_DAYS` (default
//! [`sync_core::limits::TRASH_DAYS`]), then deleted forever.
//!
//! A delete is a tombstone whose text the server keeps only in the note's history (so that
//! "Restore" and other devices' trash work). [`sweep`] runs in the background of every
//! server process and purges tombstones whose delete is older than the retention
//! ([`crate::storage::SyncStore::purge_expired`]): the text leaves the database (history
//! included), and the tombstone gets a new version marked `purged`, so every device pulls
//! it and drops the note from its own trash.
//!
//! Bounded work: at most [`SWEEP_BATCH`] notes per round, each its own small transaction
//! (database I/O, no CPU work on the async workers); a full round is followed by the next
//! after [`SWEEP_PAUSE`], otherwise the sweep sleeps [`SWEEP_EVERY`]. Several server
//! processes may sweep at once: a purge applies only to the tombstone at the version it was
//! found at, so two sweeps never purge twice, and a note restored meanwhile is left alone.

use std::sync::Arc;
use std::time::Duration;

use crate::clock::now_ms;
use crate::storage::{StoreError, SyncStore};

/// Most notes purged by one round of the sweep.
pub const SWEEP_BATCH: u32 = 500;
/// Pause between rounds while expired notes remain.
pub const SWEEP_PAUSE: Duration = Duration::from_secs(1);
/// Pause once nothing (more) has expired.
pub const SWEEP_EVERY: Duration = Duration::from_secs(10 * 60);

/// One round: purges at most [`SWEEP_BATCH`] notes deleted more than `retention` before
/// `now_ms`. Returns how many it purged.
pub async fn sweep_once(
    store: &dyn SyncStore,
    retention: Duration,
    now_ms: u64,
) -> Result<u32, StoreError> {
    let cutoff = now_ms.saturating_sub(retention.as_millis() as u64);
    store.purge_expired(cutoff, SWEEP_BATCH).await
}

/// Runs the sweep for as long as the process (spawned by `main`).
pub async fn sweep(store: Arc<dyn SyncStore>, retention: Duration) {
    loop {
        let now = now_ms();
        let pause = match sweep_once(&*store, retention, now).await {
            Ok(n) if n == SWEEP_BATCH => SWEEP_PAUSE,
            Ok(n) => {
                if n > 0 {
                    tracing::info!(purged = n, "trash: deleted expired notes forever");
                }
                SWEEP_EVERY
            }
            Err(e) => {
                tracing::warn!("trash sweep failed ({e}); retrying later");
                SWEEP_EVERY
            }
        };
        tokio::time::sleep(pause).await;
    }
}
