//! Storage: the traits the services keep their data behind, and their backends.
//!
//! - [`notes`]: [`SyncStore`], the notes, their versions and history, with the change feed
//!   of heads ([`HeadEvent`]).
//! - [`accounts`]: [`AccountStore`], users and sessions, with the feed of ended sessions
//!   ([`SessionEvent`]).
//! - [`buckets`]: [`BucketStore`], sign-in throttling's buckets, and the rule
//!   ([`buckets::step`]) both backends take attempts by.
//! - [`feed`]: the events of the change feeds.
//! - [`error`]: [`StoreError`], and the boxed future and stream the traits return (an
//!   `async fn` in a trait is not object safe; the server holds every store as
//!   `Arc<dyn …>`).
//! - [`memory`]: every trait in one process's memory (tests, no database process).
//! - [`mongo`]: every trait on MongoDB (production). The driver's types (`mongodb`, `bson`)
//!   appear only there.
//!
//! [`Stores`] is one backend's set of stores, what start-up hands to
//! [`crate::state::AppState::new`]. The same stories run against both backends in
//! `server/tests/backends.rs`. Nothing here imports from the services above it.

pub mod accounts;
pub mod buckets;
pub mod error;
pub mod feed;
pub mod memory;
pub mod mongo;
pub mod notes;

use std::sync::Arc;
use std::time::Duration;

pub use accounts::{AccountStore, MAX_SESSIONS_LISTED, StoredSession, StoredUser, TOUCH_EVERY};
pub use buckets::{BucketStore, Rate, Refused};
pub use error::{BoxFuture, BoxStream, StoreError};
pub use feed::{HeadEvent, SessionEvent};
pub use notes::{Conflicts, Page, Pushed, SyncStore, UserId};

/// How long to wait for the database to answer before a request answers "unavailable"
/// (MongoDB's server selection, and the API's pings).
pub const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// One backend's stores: everything the server keeps. Built by start-up
/// ([`mongo::MongoStore::stores`], [`memory::stores`]); the services see only the traits.
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
