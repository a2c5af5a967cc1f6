//! Accounts and sessions: the [`AccountStore`] trait and the records it keeps.

use std::time::Duration;

use super::error::{BoxFuture, BoxStream, StoreError};
use super::feed::SessionEvent;

/// A stored account. Its `Debug` leaves the password hash out.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredUser {
    /// The user's id (random, 22 characters).
    pub id: String,
    /// The normalised (lower-case) name.
    pub name: String,
    /// The argon2id hash, PHC string form.
    pub hash: String,
    /// The credential epoch: moved on by every password change. A session made with an
    /// older epoch is dead.
    pub epoch: i64,
}

impl std::fmt::Debug for StoredUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredUser")
            .field("id", &self.id)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// A stored session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSession {
    /// SHA-256 of the token, hex (the token itself is never stored).
    pub key: String,
    /// The user's id.
    pub user_id: String,
    /// The user's name.
    pub name: String,
    /// When it expires, ms since the epoch.
    pub expires_ms: i64,
    /// When it was created, ms since the epoch (`None`: stored before this was recorded).
    pub created_ms: Option<i64>,
    /// When it was last used, to [`TOUCH_EVERY`] (`None`: not since this was recorded).
    pub last_used_ms: Option<i64>,
    /// What signed in (`auth::device_label`); `None`: stored before this was recorded.
    pub device: Option<String>,
    /// The account's credential epoch when the session was made ([`StoredUser::epoch`]).
    pub epoch: i64,
}

/// A session's last use is written at most this often (a write per request would double
/// the database work of every sync).
pub const TOUCH_EVERY: Duration = Duration::from_secs(60);

/// Where accounts and sessions are kept.
pub trait AccountStore: Send + Sync {
    /// Prepares the storage (a unique name index, session expiry); idempotent.
    fn ensure_indexes(&self) -> BoxFuture<'_, Result<(), StoreError>>;
    /// Adds an account; `false` when its name is taken (atomically: two sign-ups of one
    /// name cannot both succeed).
    fn insert_user<'a>(&'a self, user: &'a StoredUser) -> BoxFuture<'a, Result<bool, StoreError>>;
    /// The account named `name`.
    fn user_by_name<'a>(
        &'a self,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<StoredUser>, StoreError>>;
    /// The account with id `user_id`.
    fn user_by_id<'a>(
        &'a self,
        user_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<StoredUser>, StoreError>>;
    /// Adds a session.
    fn insert_session<'a>(
        &'a self,
        session: &'a StoredSession,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
    /// The session with key `key` if it expires after `now_ms`.
    fn session<'a>(
        &'a self,
        key: &'a str,
        now_ms: i64,
    ) -> BoxFuture<'a, Result<Option<StoredSession>, StoreError>>;
    /// [`AccountStore::session`] with its account's credential epoch (`None`: no such
    /// account): what every signed-in request reads. A store may read both in one round
    /// trip (MongoDB: one `$lookup`).
    fn session_and_epoch<'a>(
        &'a self,
        key: &'a str,
        now_ms: i64,
    ) -> BoxFuture<'a, Result<Option<(StoredSession, Option<i64>)>, StoreError>> {
        Box::pin(async move {
            let Some(s) = self.session(key, now_ms).await? else {
                return Ok(None);
            };
            let epoch = self.user_by_id(&s.user_id).await?.map(|u| u.epoch);
            Ok(Some((s, epoch)))
        })
    }
    /// Removes the session with key `key` (if any).
    fn delete_session<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StoreError>>;
    /// The sessions of user `user_id` that expire after `now_ms`.
    fn sessions_of<'a>(
        &'a self,
        user_id: &'a str,
        now_ms: i64,
    ) -> BoxFuture<'a, Result<Vec<StoredSession>, StoreError>>;
    /// Removes the sessions of `user_id` but `keep` (a key); returns how many.
    fn delete_sessions_of<'a>(
        &'a self,
        user_id: &'a str,
        keep: Option<&'a str>,
    ) -> BoxFuture<'a, Result<u64, StoreError>>;
    /// Records that session `key` was used at `now_ms`.
    fn touch_session<'a>(
        &'a self,
        key: &'a str,
        now_ms: i64,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
    /// Replaces the password hash of `user_id` and raises its credential epoch to at least
    /// `epoch` (never lowers it), in one write.
    fn set_hash<'a>(
        &'a self,
        user_id: &'a str,
        hash: &'a str,
        epoch: i64,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
    /// Sets the credential epoch of session `key`.
    fn set_session_epoch<'a>(
        &'a self,
        key: &'a str,
        epoch: i64,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
    /// Removes the account `user_id` and every session of it.
    fn delete_user<'a>(&'a self, user_id: &'a str) -> BoxFuture<'a, Result<(), StoreError>>;
    /// The change feed of sessions: a stream, endless while the store lives, that first
    /// says [`SessionEvent::Reopened`] once it is open, then [`SessionEvent::Ended`] for
    /// every session deleted (by any process sharing the storage, or expired), and
    /// `Reopened` again after a gap. Needs a tokio runtime.
    fn ended_sessions(&self) -> BoxStream<'static, SessionEvent>;
}

/// Most sessions `GET /account/sessions` lists (an account signing in more often than this
/// in 30 days sees its first ones).
pub const MAX_SESSIONS_LISTED: usize = 1000;
