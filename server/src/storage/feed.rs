//! What the change feeds say ([`crate::storage::SyncStore::heads`] and
//! [`crate::storage::AccountStore::ended_sessions`]): the events `GET /live` follows.

/// One event of the notes' change feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeadEvent {
    /// The feed is open (again): commits before this one may have been missed, so whoever
    /// follows it should catch up once (every live connection pokes its device).
    Reopened,
    /// `user`'s head version is now `head`.
    Moved {
        /// The user.
        user: String,
        /// The user's new head version.
        head: u64,
    },
}

/// One event of the sessions' change feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionEvent {
    /// The feed is open (again): sessions ended before this one may not have been listed.
    Reopened,
    /// The session stored under `key` ended (signed out, ended by a password change or an
    /// account deletion, expired), through any process sharing the storage.
    Ended {
        /// The session's key ([`crate::storage::StoredSession::key`]).
        key: String,
    },
}
