//! Every storage trait in one process's memory.
//!
//! For tests only (MongoDB is the only production backend): the HTTP API runs on it in
//! milliseconds with no database process, and `server/tests/backends.rs` runs the same
//! stories against it and against MongoDB, so the two keep answering alike. Pushes are
//! planned by `sync_core::push` exactly as on MongoDB; each store's state sits behind one
//! mutex, so every operation is atomic (as a MongoDB transaction or conditional update is).
//! Planning runs under that lock on the calling task: fine for tests, which is why this
//! store is not a production one.
//!
//! The change feeds are broadcast channels written under the same lock as the change, so
//! their events come in commit order; every `AppState` sharing one store follows them
//! (live updates across processes, in one process).
//!
//! - [`notes`]: [`MemoryStore`]; [`accounts`]: [`MemoryAccounts`]; [`buckets`]:
//!   [`MemoryBuckets`]; [`feed`]: the broadcast feeds.

pub mod accounts;
pub mod buckets;
pub mod feed;
pub mod notes;

use std::sync::Arc;

pub use accounts::MemoryAccounts;
pub use buckets::MemoryBuckets;
pub use notes::MemoryStore;

use crate::storage::stores::Stores;

/// A fresh set of stores in memory: notes, accounts and sessions, throttling buckets.
pub fn stores() -> Stores {
    Stores {
        notes: Arc::new(MemoryStore::new()),
        accounts: Arc::new(MemoryAccounts::new()),
        buckets: Arc::new(MemoryBuckets::new()),
    }
}
