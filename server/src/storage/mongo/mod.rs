//! Every storage trait on MongoDB (a replica set: transactions are used), the production
//! backend. The driver's types (`mongodb`, `bson`) appear in this folder only: its errors
//! become [`StoreError`] here, its documents are described in [`documents`].
//!
//! - [`notes`]: [`MongoStore`], the [`crate::storage::SyncStore`].
//! - [`commit`]: group commit, the pushes of many users in one transaction.
//! - [`schedule`]: which pushes go into the next batch (a pure state machine).
//! - [`head_cache`]: each user's last head, so a batch need not read its counter.
//! - [`accounts`]: [`MongoAccounts`], the [`crate::storage::AccountStore`].
//! - [`buckets`]: [`MongoBuckets`], the [`crate::storage::BucketStore`].
//! - [`feed`]: the change feeds, from MongoDB change streams.
//! - [`documents`]: the stored documents, typed: the one description of the stored data.
//! - [`txn`]: what the notes' transactions share (collections, retry budget, commit).

pub mod accounts;
pub mod buckets;
pub mod commit;
pub mod documents;
pub mod feed;
pub mod head_cache;
pub mod notes;
pub mod schedule;
pub mod txn;

use std::sync::Arc;

use mongodb::error::{Error as MongoError, ErrorKind};

pub use accounts::MongoAccounts;
pub use buckets::MongoBuckets;
pub use notes::{MongoStore, SERVER_SELECTION_TIMEOUT};

use crate::storage::error::StoreError;
use crate::storage::stores::Stores;

impl From<MongoError> for StoreError {
    fn from(e: MongoError) -> Self {
        match *e.kind {
            ErrorKind::ServerSelection { .. }
            | ErrorKind::Io(_)
            | ErrorKind::ConnectionPoolCleared { .. } => Self::Unavailable(e.to_string()),
            _ => Self::Internal(e.to_string()),
        }
    }
}

impl MongoStore {
    /// Every store on this store's database: its notes, and accounts, sessions and
    /// throttling buckets beside them.
    pub fn stores(&self) -> Stores {
        let db = self.database();
        Stores {
            notes: Arc::new(self.clone()),
            accounts: Arc::new(MongoAccounts::new(db.clone())),
            buckets: Arc::new(MongoBuckets::new(db)),
        }
    }
}

impl From<Arc<MongoStore>> for Stores {
    fn from(store: Arc<MongoStore>) -> Self {
        Stores {
            accounts: Arc::new(MongoAccounts::new(store.database().clone())),
            buckets: Arc::new(MongoBuckets::new(store.database())),
            notes: store,
        }
    }
}
