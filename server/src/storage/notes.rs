//! Notes: the [`SyncStore`] trait, what its calls return, and the conflict settings both
//! backends plan pushes with.

use std::collections::HashSet;
use std::time::Duration;

use sync_core::protocol::{Change, ChangeResult, Revision};
use sync_core::push::Policy;
use sync_core::{NoteId, NoteState, Strategy};

use super::error::{BoxFuture, BoxStream, StoreError};
use super::feed::HeadEvent;

pub use sync_core::push::RECENT_CHANGES_PER_NOTE;

/// How long to wait for the database to answer before a request answers "unavailable"
/// (MongoDB's server selection, and the API's pings).
pub const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// How conflicts are resolved on this server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conflicts {
    /// The strategy of notes without an override (`TERN_CONFLICT_STRATEGY`).
    pub default: Strategy,
    /// Revisions kept per note (`TERN_HISTORY_LIMIT`).
    pub history_limit: u32,
}

impl Conflicts {
    /// The same settings, as push planning takes them.
    pub fn policy(&self) -> Policy {
        Policy {
            default: self.default,
            history_limit: self.history_limit,
        }
    }
}

impl Default for Conflicts {
    fn default() -> Self {
        Self {
            default: Strategy::Merge,
            history_limit: 50,
        }
    }
}

/// Who owns a set of notes. Every storage call is scoped by it.
pub type UserId = str;

/// One page of a user's change feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// Note states with `after < version <= last`, in version order.
    pub notes: Vec<NoteState>,
    /// The version to continue after (everything up to it has been read).
    pub last: u64,
    /// True when more notes follow.
    pub has_more: bool,
    /// The user's head version when the page was read (a cursor above it was never issued
    /// to this user).
    pub head: u64,
}

/// What a push did: one result per change, in order, and what the metrics count besides.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pushed {
    /// One result per change, in request order.
    pub results: Vec<ChangeResult>,
    /// Text merges the request's merge budget did not cover (each became a conflict).
    pub merges_over_budget: u64,
}

/// What the sync API needs from storage: notes, their versions, their history and the
/// feed of heads that moved.
///
/// Implementations: `storage::mongo::MongoStore` (production) and
/// `storage::memory::MemoryStore` (tests; the same stories run against both in
/// `server/tests/backends.rs`). Both plan pushes with `sync_core::push`, so they decide
/// alike; a store only reads and writes.
pub trait SyncStore: Send + Sync {
    /// Applies a batch of changes for `user` and returns one result per change, in order.
    fn push<'a>(
        &'a self,
        user: &'a UserId,
        changes: &'a [Change],
        now_ms: u64,
    ) -> BoxFuture<'a, Result<Pushed, StoreError>>;
    /// What `POST /sync` does: [`SyncStore::push`], then [`SyncStore::pull`] after `after`
    /// (a cursor's version; 0 for none). A push is refused with [`StoreError::CursorAhead`]
    /// before anything is written if `after` is above the user's head. A store may do both
    /// in fewer round trips (MongoDB: in the push's transaction, see `storage::mongo::commit`).
    fn push_pull<'a>(
        &'a self,
        user: &'a UserId,
        after: u64,
        limit: u32,
        changes: &'a [Change],
        now_ms: u64,
    ) -> BoxFuture<'a, Result<(Pushed, Page), StoreError>> {
        Box::pin(async move {
            if after > 0 && !changes.is_empty() && after > self.head(user).await? {
                return Err(StoreError::CursorAhead);
            }
            let pushed = self.push(user, changes, now_ms).await?;
            Ok((pushed, self.pull(user, after, limit).await?))
        })
    }
    /// The notes of `user` changed after version `after`, at most `limit` of them.
    fn pull<'a>(
        &'a self,
        user: &'a UserId,
        after: u64,
        limit: u32,
    ) -> BoxFuture<'a, Result<Page, StoreError>>;
    /// The user's head version: the last version handed out to one of their notes.
    fn head<'a>(&'a self, user: &'a UserId) -> BoxFuture<'a, Result<u64, StoreError>>;
    /// The newest revisions of note `id` of `user`, newest first.
    fn history<'a>(
        &'a self,
        user: &'a UserId,
        id: &'a NoteId,
    ) -> BoxFuture<'a, Result<Vec<Revision>, StoreError>>;
    /// The trash expiry: deletes forever at most `limit` tombstones (of any user) whose
    /// delete is stamped before `deleted_before_ms` and that are not purged yet. Each one,
    /// if it is still that tombstone, gets a new version (so every device hears it is gone)
    /// stored `purged` with no text, and loses every revision. Returns how many it purged;
    /// idempotent (a purged tombstone is never picked again). See [`crate::trash`].
    fn purge_expired(
        &self,
        deleted_before_ms: u64,
        limit: u32,
    ) -> BoxFuture<'_, Result<u32, StoreError>>;
    /// Removes every note and revision of `user` (account deletion) and marks the account
    /// deleted, for good: every later push of `user` answers [`StoreError::Gone`] and writes
    /// nothing, and a push racing this call either lands before it (and is deleted by it)
    /// or is refused. Idempotent.
    fn delete_user_notes<'a>(&'a self, user: &'a UserId) -> BoxFuture<'a, Result<(), StoreError>>;
    /// Succeeds when the database answers.
    fn ping(&self) -> BoxFuture<'_, Result<(), StoreError>>;
    /// Prepares the storage (indexes); idempotent. Pushes wait for it themselves.
    fn ensure_indexes(&self) -> BoxFuture<'_, Result<(), StoreError>>;
    /// The change feed of notes (`GET /live`): a stream, endless while the store lives,
    /// that first says [`HeadEvent::Reopened`] once it is open, then [`HeadEvent::Moved`]
    /// for every commit that moves a user's head (pushes, purges), in commit order, from
    /// any process sharing the storage. After any gap it may have had (a failure, events
    /// it could not keep up with) it says `Reopened` again: what happened in the gap is not
    /// listed. Needs a tokio runtime.
    fn heads(&self) -> BoxStream<'static, HeadEvent>;
}

/// Revisions (newest first) without repeats of the same text: a version kept twice (as one
/// side of a conflict, then again when the conflict was resolved) is listed once, newest.
pub fn distinct(revisions: Vec<Revision>) -> Vec<Revision> {
    let mut seen = HashSet::new();
    revisions
        .into_iter()
        .filter(|r| {
            let v = &r.version;
            seen.insert((v.title.clone(), v.content.clone(), v.deleted))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use sync_core::protocol::RevisionReason;
    use sync_core::{Hlc, Version};

    fn rev(content: &str, at: u64) -> Revision {
        Revision {
            version: Version {
                title: "t".into(),
                content: content.into(),
                deleted: false,
                hlc: Hlc {
                    wall_ms: at,
                    counter: 0,
                    node: "d".into(),
                },
            },
            reason: RevisionReason::Conflict,
            saved_at_ms: at,
        }
    }

    #[test]
    fn history_lists_each_text_once_newest_first() {
        let h = distinct(vec![rev("b", 5), rev("a", 4), rev("b", 3), rev("c", 2)]);
        let got: Vec<(&str, u64)> = h
            .iter()
            .map(|r| (r.version.content.as_str(), r.saved_at_ms))
            .collect();
        assert_eq!(got, [("b", 5), ("a", 4), ("c", 2)]);
    }
}
