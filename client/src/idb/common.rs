//! What the store and its packs share: the browser's error as a [`StoreError`], and a note
//! id's hash (the store's `Known` ids and the packs' id index).

use crate::local::StoreError;

/// The browser's error, with its reason.
pub(super) fn unavailable(e: impl std::error::Error) -> StoreError {
    // rexie's errors say only "idb error"; the browser's reason is in the source chain.
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        message = format!("{message}: {s}");
        source = s.source();
    }
    StoreError::Unavailable(message)
}

/// FNV-1a, 64 bits: a note id's hash (the store's `Known` ids, the packs' id index).
pub(super) fn id_hash(id: &str) -> u64 {
    id.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}
