//! Storage: the traits the services keep their data behind, and their backends.
//!
//! - [`notes`]: [`SyncStore`], the notes, their versions and history, with the change feed
//!   of heads ([`HeadEvent`]).
//! - [`accounts`]: [`AccountStore`], users and sessions, with the feed of ended sessions
//!   ([`SessionEvent`]).
//! - [`buckets`]: [`BucketStore`], sign-in throttling's buckets, and the rule
//!   ([`buckets::step`]) both backends take attempts by.
//! - [`feed`]: the events of the change feeds.
//! - [`stores`]: [`Stores`], one backend's set of stores.
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
pub mod stores;

pub use accounts::{AccountStore, MAX_SESSIONS_LISTED, StoredSession, StoredUser, TOUCH_EVERY};
pub use buckets::{BucketStore, Rate, Refused};
pub use error::{BoxFuture, BoxStream, StoreError};
pub use feed::{HeadEvent, SessionEvent};
pub use notes::{Conflicts, PING_TIMEOUT, Page, Pushed, SyncStore, UserId};
pub use stores::Stores;
