//! Stamping edits from the device clock, and stamping again an edit the server refused
//! because the clock was ahead.

use sync_core::protocol::RejectCode;
use sync_core::{ChangeId, Hlc};

use super::meta::{corrected, node_id};
use super::{LocalNote, LocalStore, StoreError, SyncState};
use crate::clock::{CARRY_AHEAD_MS, DeviceClock, META_DEVICE_CLOCK};
use crate::platform;

/// A timestamp from the device clock of `store` (see [`Notes::stamp`]), with the wall clock
/// `now` corrected by the last known server clock offset.
pub(super) async fn stamp<S: LocalStore>(
    store: &S,
    node: &str,
    now: u64,
    after: Option<&Hlc>,
    from_server: bool,
) -> Result<Hlc, StoreError> {
    let now = corrected(store, now).await?;
    let after = stamp_after(after, from_server, now);
    let mut stamped = None;
    store
        .update_meta(META_DEVICE_CLOCK, &mut |v| {
            let mut clock: DeviceClock = v.and_then(|v| v.parse().ok()).unwrap_or_default();
            stamped = Some(clock.tick(node, now, after));
            Some(clock.to_string())
        })
        .await?;
    Ok(stamped.expect("the clock ticked"))
}

/// `n` timestamps at once, in order, as `n` calls of [`stamp`] without an `after` would
/// give, in one write of the device clock (an import stamps a batch of files).
pub(super) async fn stamps<S: LocalStore>(
    store: &S,
    node: &str,
    now: u64,
    n: usize,
) -> Result<Vec<Hlc>, StoreError> {
    if n == 0 {
        return Ok(Vec::new());
    }
    let now = corrected(store, now).await?;
    let mut stamped = Vec::with_capacity(n);
    store
        .update_meta(META_DEVICE_CLOCK, &mut |v| {
            let mut clock: DeviceClock = v.and_then(|v| v.parse().ok()).unwrap_or_default();
            stamped.clear(); // the update may run again (IndexedDB retries)
            stamped.extend((0..n).map(|_| clock.tick(node, now, None)));
            Some(clock.to_string())
        })
        .await?;
    Ok(stamped)
}

/// True when the server refused the note's pending edit because this device's clock was
/// ahead of the server's (`clock_ahead`).
pub fn refused_for_clock(note: &LocalNote) -> bool {
    note.pending.is_some()
        && matches!(&note.sync, SyncState::Failed { code, .. } if code == RejectCode::ClockAhead.as_str())
}

/// Stamps `note`'s edit again, refused because this device's clock was ahead of the
/// server's ([`refused_for_clock`]): with the device clock corrected by the offset learnt
/// since (every response carries the server's time) and under a new change id, so it is
/// pending again and the next request sends it. The edit keeps its text, base and trash
/// entry; its stamp is now the time it is sent again, not the time it was made, which the
/// wrong clock hid. Left alone if the note changed meanwhile (a newer edit is stamped
/// anew anyway). True if it was stamped again.
pub async fn restamp_refused<S: LocalStore>(
    store: &S,
    now: u64,
    note: &LocalNote,
) -> Result<bool, StoreError> {
    let node = node_id(store).await?;
    let hlc = stamp(store, &node, now, Some(&note.hlc), false).await?;
    let refused = note.pending.clone();
    let change = ChangeId(platform::random_id());
    let stored = store
        .update_note(&note.id, &mut |n| {
            if n.pending != refused || !refused_for_clock(n) {
                return false;
            }
            n.hlc = hlc.clone();
            // Field edits with clocks not before the new stamp (made while the clock was
            // ahead) take the new stamp, as the text does.
            n.tidy_edit_clocks();
            n.pending = Some(change.clone());
            n.sync = SyncState::Pending;
            true
        })
        .await?;
    Ok(stored.is_some_and(|n| n.pending.as_ref() == Some(&change)))
}

/// What a new stamp must order after, given the stamp `after` of the state being edited:
/// a state from the server was accepted by it, so always. A local state not accepted yet
/// may carry a stamp made while this device's clock was wrong (refused with
/// `clock_ahead`): it is not carried forward, or every later edit of the note would
/// inherit it and be refused too.
pub(super) fn stamp_after(after: Option<&Hlc>, from_server: bool, now: u64) -> Option<&Hlc> {
    after.filter(|h| from_server || h.wall_ms <= now.saturating_add(CARRY_AHEAD_MS))
}
