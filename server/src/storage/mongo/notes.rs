//! [`SyncStore`] on MongoDB: [`MongoStore`].
//!
//! The push algorithm itself is pure (`sync_core::push`): a store reads the notes a push
//! names, reserves its versions, and writes what the plan says. The collections, their
//! documents and indexes are described once, in [`super::documents`]. The idempotency
//! record keeps the last [`crate::storage::notes::RECENT_CHANGES_PER_NOTE`] change ids per
//! note; only the newest [`Conflicts::history_limit`] revisions per note are kept.
//!
//! ## Why pulls never miss a change
//! A push runs in one transaction that first increments the user's counter and then writes
//! the notes with versions taken from it. Two concurrent pushes of one user both write the
//! counter document, so MongoDB lets only one commit and retries the other
//! (`TransientTransactionError`): versions are handed out in commit order. A pull first
//! reads the user's counter (the head): every version up to the head is committed, so the
//! pull then reads version windows up to the head and can never skip a version that
//! becomes visible later. The head and the notes are read in one read-only transaction
//! with read concern `snapshot` (committed with `w: majority`): one majority-committed
//! point in time for every read, so the head can neither be rolled back by a failover nor
//! be seen on one shard before the notes on another (docs/sync-protocol.md, *Guarantees*).
//! Transactions need a replica set (a single-node one is enough; Atlas always is one).

use std::sync::Arc;
use std::time::Duration;

use futures::TryStreamExt;
use mongodb::bson::{Document, doc};
use mongodb::error::{Error as MongoError, TRANSIENT_TRANSACTION_ERROR};
use mongodb::options::{
    Acknowledgment, ClientOptions, IndexOptions, ReadConcern, ReturnDocument, WriteConcern,
};
use mongodb::{Client, ClientSession, Collection, Database, IndexModel};
use sync_core::protocol::{Change, Revision};
use sync_core::{NoteId, NoteState, limits};

use super::commit::Committer;
use super::documents::{self as docs, COUNTERS, CounterDoc, NoteDoc, RevisionDoc};
use crate::storage::error::{BoxFuture, BoxStream, StoreError};
use crate::storage::feed::HeadEvent;
use crate::storage::notes::distinct;
use crate::storage::notes::{Conflicts, PING_TIMEOUT, Page, Pushed, SyncStore, UserId};

use super::txn::{NOTES, REVISIONS, commit};
pub use super::txn::{PUSH_RETRY_BUDGET, PUSH_RETRY_MAX_PAUSE};
/// Most version windows read by one pull (versions skipped by superseded changes make
/// windows sparse); the client is told `has_more` and continues.
pub const MAX_WINDOWS_PER_PULL: u32 = 16;
/// How long to wait for the database before answering "unavailable".
pub const SERVER_SELECTION_TIMEOUT: Duration = PING_TIMEOUT;

/// [`SyncStore`] on MongoDB (a replica set: transactions are used).
#[derive(Clone)]
pub struct MongoStore {
    client: Client,
    db: Database,
    /// The same database through a client of its own, with one connection: the watchdog's
    /// ping ([`SyncStore::ping`]) asks whether the database answers, and must not wait
    /// behind every request for a connection of the main pool (500 parallel sign-ins once
    /// queued it past its 2 s timeout on a loaded machine, and every request then waiting
    /// was answered `503`).
    ping_db: Database,
    conflicts: Conflicts,
    /// Runs the pushes, several users' in one transaction ([`super::commit`]).
    committer: Arc<Committer>,
    /// Set once the indexes exist; no push writes before that (see [`Self::ensure_indexes`]).
    indexes: Arc<tokio::sync::OnceCell<()>>,
}

impl std::fmt::Debug for MongoStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MongoStore").finish_non_exhaustive()
    }
}

impl MongoStore {
    /// Connects lazily (no round trip happens here) to database `db_name` at `uri`.
    pub async fn connect(uri: &str, db_name: &str) -> Result<Self, StoreError> {
        Self::with_options(ClientOptions::parse(uri).await?, db_name)
    }

    /// Like [`MongoStore::connect`], with parsed options (tests add a command monitor).
    /// Tern's timeouts and, unless `opts` has one, its write concern are set here.
    pub fn with_options(mut opts: ClientOptions, db_name: &str) -> Result<Self, StoreError> {
        opts.server_selection_timeout = Some(SERVER_SELECTION_TIMEOUT);
        opts.connect_timeout = Some(SERVER_SELECTION_TIMEOUT);
        opts.app_name = Some("tern".into());
        if opts.write_concern.is_none() {
            // Acknowledged by a majority and journaled: an acknowledged push survives a crash.
            opts.write_concern = Some(
                WriteConcern::builder()
                    .w(Acknowledgment::Majority)
                    .journal(true)
                    .build(),
            );
        }
        let mut ping_opts = opts.clone();
        ping_opts.max_pool_size = Some(1);
        ping_opts.min_pool_size = None;
        ping_opts.app_name = Some("tern-ping".into());
        let ping_db = Client::with_options(ping_opts)?.database(db_name);
        let client = Client::with_options(opts)?;
        let db = client.database(db_name);
        let conflicts = Conflicts::default();
        Ok(Self {
            committer: Arc::new(Committer::new(
                client.clone(),
                db.clone(),
                conflicts.policy(),
            )),
            client,
            db,
            ping_db,
            conflicts,
            indexes: Arc::default(),
        })
    }

    /// Sets how conflicts are resolved.
    pub fn with_conflicts(mut self, conflicts: Conflicts) -> Self {
        self.conflicts = conflicts;
        self.committer = Arc::new(Committer::new(
            self.client.clone(),
            self.db.clone(),
            conflicts.policy(),
        ));
        self
    }

    /// Creates the indexes (idempotent).
    ///
    /// Every push waits for this first (it is done once per process; concurrent callers
    /// share the one attempt). The unique `(u, id)` index must exist before two pushes can
    /// create the same note, and pushes racing the start-up index build once lost an
    /// acknowledged batch in the crash test (`server/tests/crash.rs`).
    pub async fn ensure_indexes(&self) -> Result<(), StoreError> {
        self.indexes
            .get_or_try_init(|| self.create_indexes())
            .await
            .map(|_| ())
    }

    async fn create_indexes(&self) -> Result<(), StoreError> {
        let unique = || IndexOptions::builder().unique(true).build();
        self.notes()
            .create_indexes([
                IndexModel::builder()
                    .keys(doc! {"u": 1, "id": 1})
                    .options(unique())
                    .build(),
                IndexModel::builder().keys(doc! {"u": 1, "v": 1}).build(),
                // The trash sweep: tombstones not yet purged, oldest delete first.
                IndexModel::builder()
                    .keys(doc! {"deleted": 1, "pg": 1, "hlc": 1})
                    .build(),
            ])
            .await?;
        self.revisions()
            .create_index(
                IndexModel::builder()
                    .keys(doc! {"u": 1, "id": 1, "n": -1})
                    .build(),
            )
            .await?;
        Ok(())
    }

    /// The database handle (tests and benchmarks).
    pub fn database(&self) -> &Database {
        &self.db
    }

    fn notes(&self) -> Collection<NoteDoc> {
        self.db.collection(NOTES)
    }
    fn revisions(&self) -> Collection<RevisionDoc> {
        self.db.collection(REVISIONS)
    }
    fn counters(&self) -> Collection<CounterDoc> {
        self.db.collection(COUNTERS)
    }

    /// The reads of a pull, in the snapshot of session `s`.
    async fn pull_in_snapshot(
        &self,
        s: &mut ClientSession,
        user: &UserId,
        after: u64,
        limit: u32,
    ) -> Result<Page, MongoError> {
        let limit = limit.clamp(1, limits::MAX_PULL_LIMIT) as u64;
        // The user's head version first: every version up to it is committed (versions are
        // handed out in commit order), so reading windows up to it afterwards misses none.
        let head = self
            .counters()
            .find_one(doc! {"_id": user})
            .session(&mut *s)
            .await
            .map_err(|e| docs::named(COUNTERS, user, e))?
            .map_or(0, |c| c.seq) as u64;
        // Read in version windows (lo, hi] of at most `limit - taken` versions: each holds
        // at most that many notes, and a bounded range is an index range scan, where
        // `v > after` sorted with a limit makes some servers sort everything after `after`.
        // Notes are streamed, so a page stops at MAX_PULL_BYTES of note JSON without
        // reading (or holding) the rest of the window.
        let mut notes: Vec<NoteState> = Vec::new();
        let mut bytes = 0;
        let mut lo = after;
        let mut windows = 0;
        while lo < head && (notes.len() as u64) < limit && windows < MAX_WINDOWS_PER_PULL {
            let hi = (lo + limit - notes.len() as u64).min(head);
            let mut cur = self
                .notes()
                .find(doc! {"u": user, "v": {"$gt": lo as i64, "$lte": hi as i64}})
                .sort(doc! {"v": 1})
                .projection(doc! {"_id": 0, "u": 0, "cids": 0, "th": 0, "ch": 0, "rn": 0, "un": 0})
                .session(&mut *s)
                .await?;
            // A document that does not decode fails the pull: skipped, the client would
            // never see that note (its cursor moves past it).
            while let Some(d) = cur
                .next(&mut *s)
                .await
                .transpose()
                .map_err(|e| docs::named(NOTES, user, e))?
            {
                let n = d.into_state();
                let size = limits::json_len(&n);
                if let Some(last) = notes
                    .last()
                    .filter(|_| bytes + size > limits::MAX_PULL_BYTES)
                {
                    // Full: everything up to the last note taken has been read (the window
                    // is in version order); the rest comes with the next page.
                    let last = last.version;
                    return Ok(Page {
                        notes,
                        last,
                        has_more: true,
                        head,
                    });
                }
                bytes += size;
                notes.push(n);
            }
            lo = hi;
            windows += 1;
        }
        Ok(Page {
            notes,
            last: lo.max(after),
            has_more: lo < head,
            head,
        })
    }
}

impl SyncStore for MongoStore {
    fn push<'a>(
        &'a self,
        user: &'a UserId,
        changes: &'a [Change],
        now_ms: u64,
    ) -> BoxFuture<'a, Result<Pushed, StoreError>> {
        Box::pin(async move {
            let (pushed, _) = self.push_changes(user, 0, 0, changes, now_ms).await?;
            Ok(pushed)
        })
    }

    fn push_pull<'a>(
        &'a self,
        user: &'a UserId,
        after: u64,
        limit: u32,
        changes: &'a [Change],
        now_ms: u64,
    ) -> BoxFuture<'a, Result<(Pushed, Page), StoreError>> {
        Box::pin(async move {
            let (pushed, page) = self
                .push_changes(user, after, limit, changes, now_ms)
                .await?;
            let page = match page {
                Some(page) => page,
                None => self.pull_page(user, after, limit).await?,
            };
            Ok((pushed, page))
        })
    }

    fn pull<'a>(
        &'a self,
        user: &'a UserId,
        after: u64,
        limit: u32,
    ) -> BoxFuture<'a, Result<Page, StoreError>> {
        Box::pin(self.pull_page(user, after, limit))
    }

    fn head<'a>(&'a self, user: &'a UserId) -> BoxFuture<'a, Result<u64, StoreError>> {
        Box::pin(self.read_head(user))
    }

    fn history<'a>(
        &'a self,
        user: &'a UserId,
        id: &'a NoteId,
    ) -> BoxFuture<'a, Result<Vec<Revision>, StoreError>> {
        Box::pin(self.read_history(user, id))
    }

    fn purge_expired(
        &self,
        deleted_before_ms: u64,
        limit: u32,
    ) -> BoxFuture<'_, Result<u32, StoreError>> {
        Box::pin(self.purge_expired_notes(deleted_before_ms, limit))
    }

    fn delete_user_notes<'a>(&'a self, user: &'a UserId) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            // The counter first becomes the account's tombstone: every push writes it in
            // its transaction, so from here on none commits (see `push_in_txn`), across
            // restarts too. Then one delete per collection, each by the user's index
            // prefix; the database does the work (no document is read into the server).
            self.counters()
                .update_one(
                    doc! {"_id": user},
                    doc! {"$set": {"gone": true, "seq": 0_i64}},
                )
                .upsert(true)
                .await?;
            self.notes().delete_many(doc! {"u": user}).await?;
            self.revisions().delete_many(doc! {"u": user}).await?;
            Ok(())
        })
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async {
            self.ping_db.run_command(doc! {"ping": 1}).await?;
            Ok(())
        })
    }

    fn ensure_indexes(&self) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(MongoStore::ensure_indexes(self))
    }

    fn heads(&self) -> BoxStream<'static, HeadEvent> {
        super::feed::heads(self.db.clone())
    }
}

/// The bodies of [`SyncStore`]'s methods for MongoDB.
impl MongoStore {
    async fn push_changes(
        &self,
        user: &UserId,
        after: u64,
        limit: u32,
        changes: &[Change],
        now_ms: u64,
    ) -> Result<(Pushed, Option<Page>), StoreError> {
        if changes.is_empty() {
            return Ok((Pushed::default(), None));
        }
        self.ensure_indexes().await?;
        self.committer
            .push(user, after, limit, changes.into(), now_ms)
            .await
    }

    async fn pull_page(&self, user: &UserId, after: u64, limit: u32) -> Result<Page, StoreError> {
        // One snapshot for the head and the notes: a read-only transaction with read
        // concern "snapshot", committed with the client's write concern (majority), so
        // every read sees the same majority-committed point in time, on every shard (see
        // "Why pulls never miss a change" above).
        let mut s = self.client.start_session().await?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            s.start_transaction()
                .read_concern(ReadConcern::snapshot())
                .await?;
            let result = match self.pull_in_snapshot(&mut s, user, after, limit).await {
                Ok(page) => commit(&mut s).await.map(|()| page),
                Err(e) => {
                    let _ = s.abort_transaction().await;
                    Err(e)
                }
            };
            match result {
                // A failover or an expired snapshot: read again, from a new snapshot.
                Err(e) if e.contains_label(TRANSIENT_TRANSACTION_ERROR) && attempt < 3 => {}
                other => return other.map_err(StoreError::from),
            }
        }
    }

    async fn read_head(&self, user: &UserId) -> Result<u64, StoreError> {
        Ok(self
            .counters()
            .find_one(doc! {"_id": user})
            .await
            .map_err(|e| docs::named(COUNTERS, user, e))?
            .map_or(0, |c| c.seq) as u64)
    }

    async fn read_history(&self, user: &UserId, id: &NoteId) -> Result<Vec<Revision>, StoreError> {
        let docs: Vec<RevisionDoc> = self
            .revisions()
            .find(doc! {"u": user, "id": id.as_str()})
            .sort(doc! {"n": -1})
            .limit(self.conflicts.history_limit as i64)
            .await?
            .try_collect()
            .await
            .map_err(|e| docs::named(REVISIONS, user, e))?;
        Ok(distinct(
            docs.into_iter().map(RevisionDoc::into_revision).collect(),
        ))
    }
}

/// The trash expiry on MongoDB.
impl MongoStore {
    async fn purge_expired_notes(
        &self,
        deleted_before_ms: u64,
        limit: u32,
    ) -> Result<u32, StoreError> {
        self.ensure_indexes().await?;
        // Clocks are stored as text whose first 13 characters are the wall time, so every
        // clock before the cutoff sorts below this one.
        let cutoff = sync_core::Hlc {
            wall_ms: deleted_before_ms,
            counter: 0,
            node: String::new(),
        }
        .to_string();
        let expired: Vec<Document> = self
            .db
            .collection::<Document>(NOTES)
            .find(doc! {"deleted": true, "pg": {"$exists": false}, "hlc": {"$lt": &cutoff}})
            .projection(doc! {"_id": 0, "u": 1, "id": 1, "v": 1})
            .limit(i64::from(limit))
            .await?
            .try_collect()
            .await?;
        let mut purged = 0;
        for d in expired {
            let (Ok(user), Ok(id), Ok(v)) = (d.get_str("u"), d.get_str("id"), d.get_i64("v"))
            else {
                continue;
            };
            if self.purge_one(user, id, v).await? {
                purged += 1;
            }
        }
        Ok(purged)
    }

    /// Purges tombstone `id` of `user` if it is still at version `v`, in one transaction:
    /// a new version from the user's counter (devices pull the purge), no text, no
    /// conflict, no revisions. `false` when the note changed meanwhile (a restore) or a
    /// push of the user raced it: the next sweep looks again.
    async fn purge_one(&self, user: &str, id: &str, v: i64) -> Result<bool, StoreError> {
        let mut s = self.client.start_session().await?;
        s.start_transaction().await?;
        let r: Result<bool, MongoError> = async {
            let seq = self
                .counters()
                .find_one_and_update(doc! {"_id": user}, doc! {"$inc": {"seq": 1_i64}})
                .upsert(true)
                .return_document(ReturnDocument::After)
                .session(&mut s)
                .await?
                .map_or(1, |c| c.seq);
            let updated = self
                .notes()
                .update_one(
                    doc! {"u": user, "id": id, "v": v, "deleted": true},
                    doc! {
                        "$set": {"v": seq, "pg": true, "title": "", "content": ""},
                        "$unset": {"cf": "", "un": "", "fd": "", "tv": ""},
                    },
                )
                .session(&mut s)
                .await?;
            if updated.matched_count == 0 {
                return Ok(false);
            }
            self.revisions()
                .delete_many(doc! {"u": user, "id": id})
                .session(&mut s)
                .await?;
            Ok(true)
        }
        .await;
        match r {
            Ok(true) => match commit(&mut s).await {
                Ok(()) => Ok(true),
                Err(e) if e.contains_label(TRANSIENT_TRANSACTION_ERROR) => Ok(false),
                Err(e) => Err(e.into()),
            },
            Ok(false) => {
                let _ = s.abort_transaction().await;
                Ok(false)
            }
            Err(e) => {
                let _ = s.abort_transaction().await;
                if e.contains_label(TRANSIENT_TRANSACTION_ERROR) {
                    Ok(false)
                } else {
                    Err(e.into())
                }
            }
        }
    }
}
