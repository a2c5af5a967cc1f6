//! [`Stores`]: one backend's set of stores.

use std::sync::Arc;

use super::accounts::AccountStore;
use super::buckets::BucketStore;
use super::notes::SyncStore;

/// One backend's stores: everything the server keeps. Built by start-up
/// ([`crate::storage::mongo::MongoStore::stores`], [`crate::storage::memory::stores`]); the
/// services see only the traits.
#[derive(Clone)]
pub struct Stores {
    /// Notes.
    pub notes: Arc<dyn SyncStore>,
    /// Accounts and sessions.
    pub accounts: Arc<dyn AccountStore>,
    /// Sign-in throttling's buckets.
    pub buckets: Arc<dyn BucketStore>,
}

impl std::fmt::Debug for Stores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stores").finish_non_exhaustive()
    }
}
