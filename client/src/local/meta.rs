//! The store's metadata keys, and the values read from them.

use super::{LocalStore, StoreError};
use crate::platform;

/// The meta key of the device's node id.
pub const META_NODE_ID: &str = "node_id";
/// The meta key of the pull cursor.
pub const META_CURSOR: &str = "cursor";
/// The meta key of the estimated offset of the server clock, in ms (server minus device).
pub const META_CLOCK_OFFSET: &str = "clock_offset_ms";

/// The estimated offset of the server clock, in ms (server minus device): 0 until a sync
/// measured it.
pub async fn clock_offset<S: LocalStore>(store: &S) -> Result<i64, StoreError> {
    Ok(store
        .get_meta(META_CLOCK_OFFSET)
        .await?
        .and_then(|s| s.parse().ok())
        .unwrap_or(0))
}

/// Keeps the server clock's offset a sync measured ([`clock_offset`]).
pub async fn set_clock_offset<S: LocalStore>(store: &S, offset_ms: i64) -> Result<(), StoreError> {
    store
        .set_meta(META_CLOCK_OFFSET, &offset_ms.to_string())
        .await
}

/// Forgets the pull cursor (stored empty): the next sync pulls everything again.
pub async fn forget_cursor<S: LocalStore>(store: &S) -> Result<(), StoreError> {
    store.set_meta(META_CURSOR, "").await
}

/// The wall clock `now` corrected by the last known server clock offset.
pub(super) async fn corrected<S: LocalStore>(store: &S, now: u64) -> Result<u64, StoreError> {
    Ok(now.saturating_add_signed(clock_offset(store).await?))
}

/// The device's node id, made up and kept on first use, in one transaction: two pages (two
/// tabs, a page and the service worker) opening a new store at once agree on one id. (Read
/// and written apart, each could make up its own; the first page then stamped its edits with
/// an id the store no longer held, and the server took them for another device's.)
pub(super) async fn node_id<S: LocalStore>(store: &S) -> Result<String, StoreError> {
    if let Some(n) = store.get_meta(META_NODE_ID).await? {
        return Ok(n);
    }
    let mut id = None;
    store
        .update_meta(META_NODE_ID, &mut |current| match current {
            Some(n) => {
                id = Some(n.to_owned());
                None
            }
            None => {
                let n = platform::random_id();
                id = Some(n.clone());
                Some(n)
            }
        })
        .await?;
    id.ok_or_else(|| StoreError::Corrupt("no node id".into()))
}
