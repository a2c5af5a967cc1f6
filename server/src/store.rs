//! Server-side storage of notes, behind [`SyncStore`]; [`MongoStore`] is the MongoDB one.
//!
//! ## Collections and indexes
//! - `notes`: one document per (user, note): `{u, id, title, content, deleted, hlc, v,
//!   th, ch, st?, cf?, rn, cids, lw?}`: `th`/`ch` are the clocks of the last title/content edit
//!   (field-level merge), `st` the note's conflict strategy override, `cf` its unresolved
//!   conflict, `rn` the number of its last revision, and `cids` the ids and versions of its
//!   last [`RECENT_CHANGES_PER_NOTE`] changes, applied or superseded (the idempotency
//!   record, written in the same document as the change), and `lw` who wrote the current
//!   version on top of which version (`sync_core::merge::LastWrite`). Unique index `{u: 1, id: 1}` (push lookups); index
//!   `{u: 1, v: 1}` (pulls by version).
//! - `revisions`: the notes' history, `{u, id, n, at, title, content, deleted, hlc, why}`,
//!   written in the push transaction whenever a change replaces, merges or deletes a
//!   version (see `sync_core::merge`); only the newest [`Conflicts::history_limit`] per
//!   note are kept. Index `{u: 1, id: 1, n: -1}`.
//! - `counters`: `{_id: <user>, seq}`, the user's commit sequence.
//!
//! Every query is scoped by `u`, so `u` is a natural shard key.
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

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures::TryStreamExt;
use mongodb::bson::{Document, doc};
use mongodb::error::{
    Error as MongoError, ErrorKind, TRANSIENT_TRANSACTION_ERROR, UNKNOWN_TRANSACTION_COMMIT_RESULT,
};
use mongodb::options::{
    Acknowledgment, ClientOptions, IndexOptions, ReadConcern, ReturnDocument, WriteConcern,
};
use mongodb::{Client, ClientSession, Collection, Database, IndexModel};
use sync_core::merge::{self, LastWrite, StoredNote};
use sync_core::protocol::{Change, ChangeOutcome, ChangeResult, Revision, RevisionReason};
use sync_core::text::Budget;
use sync_core::{ChangeId, Conflict, Hlc, NoteId, NoteState, Strategy, Version, limits};

/// How many applied change ids each note remembers, so that a retried change gets its first
/// answer again.
pub const RECENT_CHANGES_PER_NOTE: usize = 32;
/// Most version windows read by one pull (versions skipped by superseded changes make
/// windows sparse); the client is told `has_more` and continues.
pub const MAX_WINDOWS_PER_PULL: u32 = 16;
/// How long to wait for the database before answering "unavailable".
pub const SERVER_SELECTION_TIMEOUT: Duration = Duration::from_secs(2);
/// How long one push keeps retrying its transaction after losing to a concurrent push of
/// the same user. A loser fails at its first write (the user's counter), before any merge,
/// so an attempt is cheap; what it waits for is the winner's commit, which on a loaded
/// machine can take far longer than a fixed number of short retries covers. Past this the
/// push answers 503 and the client retries later.
pub const PUSH_RETRY_BUDGET: Duration = Duration::from_secs(10);
/// Longest pause between two attempts of one push (exponential from 1 ms, with jitter).
pub const PUSH_RETRY_MAX_PAUSE: Duration = Duration::from_millis(100);

/// How conflicts are resolved on this server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conflicts {
    /// The strategy of notes without an override (`TERN_CONFLICT_STRATEGY`).
    pub default: Strategy,
    /// Revisions kept per note (`TERN_HISTORY_LIMIT`).
    pub history_limit: u32,
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

/// Why a storage call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Anything else; the detail is for logs only.
    #[error("database error: {0}")]
    Internal(String),
}

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

/// What the sync API needs from storage.
#[allow(async_fn_in_trait)]
pub trait SyncStore {
    /// Applies a batch of changes for `user` and returns one result per change, in order.
    async fn push(
        &self,
        user: &UserId,
        changes: &[Change],
        now_ms: u64,
    ) -> Result<Vec<ChangeResult>, StoreError>;
    /// The notes of `user` changed after version `after`, at most `limit` of them.
    async fn pull(&self, user: &UserId, after: u64, limit: u32) -> Result<Page, StoreError>;
    /// The user's head version: the last version handed out to one of their notes.
    async fn head(&self, user: &UserId) -> Result<u64, StoreError>;
    /// The newest revisions of note `id` of `user`, newest first.
    async fn history(&self, user: &UserId, id: &NoteId) -> Result<Vec<Revision>, StoreError>;
    /// Succeeds when the database answers.
    async fn ping(&self) -> Result<(), StoreError>;
}

/// [`SyncStore`] on MongoDB (a replica set: transactions are used).
#[derive(Clone)]
pub struct MongoStore {
    client: Client,
    db: Database,
    conflicts: Conflicts,
    /// Set once the indexes exist; no push writes before that (see [`Self::ensure_indexes`]).
    indexes: Arc<tokio::sync::OnceCell<()>>,
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
        let client = Client::with_options(opts)?;
        let db = client.database(db_name);
        Ok(Self {
            client,
            db,
            conflicts: Conflicts::default(),
            indexes: Arc::default(),
        })
    }

    /// Sets how conflicts are resolved.
    pub fn with_conflicts(mut self, conflicts: Conflicts) -> Self {
        self.conflicts = conflicts;
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

    fn notes(&self) -> Collection<Document> {
        self.db.collection("notes")
    }
    fn revisions(&self) -> Collection<Document> {
        self.db.collection("revisions")
    }
    fn counters(&self) -> Collection<Document> {
        self.db.collection("counters")
    }

    async fn push_in_txn(
        &self,
        s: &mut ClientSession,
        user: &UserId,
        changes: &Arc<[Change]>,
        now_ms: u64,
    ) -> Result<Vec<ChangeResult>, MongoError> {
        let outcomes: Vec<Option<ChangeOutcome>> = changes
            .iter()
            .map(|c| {
                limits::check_change(c, now_ms)
                    .err()
                    .map(|(code, message)| ChangeOutcome::Rejected { code, message })
            })
            .collect();
        let ids = undecided(changes, &outcomes, |c| c.note_id.as_str());
        if ids.is_empty() {
            return Ok(results(changes, outcomes));
        }

        // 1. The stored notes the changes touch, with the ids of their recent changes.
        let mut state: HashMap<NoteId, Stored> = HashMap::new();
        let mut cur = self
            .notes()
            .find(doc! {"u": user, "id": {"$in": &ids}})
            .session(&mut *s)
            .await?;
        while let Some(d) = cur.next(&mut *s).await.transpose()? {
            if let Some(st) = stored_from_doc(&d) {
                state.insert(st.note.note.id.clone(), st);
            }
        }

        // 2. Versions: reserve one per candidate change. Writing the counter first makes
        //    concurrent pushes of this user conflict, so versions follow commit order.
        let counter = self
            .counters()
            .find_one_and_update(doc! {"_id": user}, doc! {"$inc": {"seq": ids.len() as i64}})
            .upsert(true)
            .return_document(ReturnDocument::After)
            .session(&mut *s)
            .await?
            .and_then(|d| d.get_i64("seq").ok())
            .unwrap_or(ids.len() as i64) as u64;
        let next_version = counter - ids.len() as u64 + 1;

        // 3. Decide, in request order, on the blocking pool: merges are CPU work (bounded by
        //    the request's merge budget) that must not stall the async workers.
        let decided = {
            let (changes, user) = (changes.clone(), user.to_owned());
            let default = self.conflicts.default;
            tokio::task::spawn_blocking(move || {
                decide(
                    &user,
                    &changes,
                    outcomes,
                    state,
                    next_version,
                    default,
                    now_ms,
                )
            })
            .await
            .map_err(|e| MongoError::custom(format!("the merge task failed: {e}")))?
        };
        let Decided {
            outcomes,
            state,
            touched,
            revisions,
        } = decided;

        // 4. Write the final state of each changed note in one command, and its revisions
        //    (then drop the ones past the history limit) in one more each.
        if !touched.is_empty() {
            let updates: Vec<Document> = touched
                .iter()
                .map(|id| {
                    let st = &state[id];
                    let mut d = note_doc(user, &st.note);
                    let recent: Vec<Document> = st
                        .recent
                        .iter()
                        .map(|(c, v)| doc! {"c": c, "v": *v as i64})
                        .collect();
                    d.insert("cids", recent);
                    d.insert("rn", st.rn as i64);
                    doc! {"q": {"u": user, "id": id.as_str()}, "u": d, "upsert": true}
                })
                .collect();
            let reply = self
                .db
                .run_command(doc! {"update": "notes", "updates": updates, "ordered": false})
                .session(&mut *s)
                .await?;
            if let Ok(errs) = reply.get_array("writeErrors") {
                return Err(MongoError::custom(format!(
                    "write errors in notes update: {errs:?}"
                )));
            }
        }
        if !revisions.is_empty() {
            let limit = self.conflicts.history_limit as u64;
            let trims: Vec<Document> = touched
                .iter()
                .filter_map(|id| {
                    let rn = state[id].rn;
                    (rn > limit).then(|| {
                        doc! {"q": {"u": user, "id": id.as_str(), "n": {"$lte": (rn - limit) as i64}}, "limit": 0}
                    })
                })
                .collect();
            self.revisions()
                .insert_many(revisions)
                .session(&mut *s)
                .await?;
            if !trims.is_empty() {
                self.db
                    .run_command(doc! {"delete": "revisions", "deletes": trims})
                    .session(&mut *s)
                    .await?;
            }
        }
        Ok(results(changes, outcomes))
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
            .await?
            .and_then(|d| d.get_i64("seq").ok())
            .unwrap_or(0) as u64;
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
                .projection(doc! {"_id": 0, "u": 0, "cids": 0, "th": 0, "ch": 0, "rn": 0})
                .session(&mut *s)
                .await?;
            while let Some(d) = cur.next(&mut *s).await.transpose()? {
                let Some(n) = note_from_doc(&d) else { continue };
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

/// What a push decided, before it is written.
struct Decided {
    outcomes: Vec<Option<ChangeOutcome>>,
    state: HashMap<NoteId, Stored>,
    touched: Vec<NoteId>,
    revisions: Vec<Document>,
}

/// Decides every undecided change in request order (a batch may change one note twice),
/// against `state` (the stored notes), giving applied changes versions from
/// `next_version` on. A change whose id is among the note's recent changes was applied
/// before (a retry): it gets the same answer. Pure CPU work: merges share one budget of
/// [`limits::MAX_MERGE_WORK_PER_REQUEST`] units, so a request's work is bounded.
fn decide(
    user: &UserId,
    changes: &[Change],
    mut outcomes: Vec<Option<ChangeOutcome>>,
    mut state: HashMap<NoteId, Stored>,
    mut next_version: u64,
    default: Strategy,
    now_ms: u64,
) -> Decided {
    let mut budget = Budget::new(limits::MAX_MERGE_WORK_PER_REQUEST);
    let mut touched: Vec<NoteId> = Vec::new();
    let mut revisions: Vec<Document> = Vec::new();
    for (i, c) in changes.iter().enumerate() {
        if outcomes[i].is_some() {
            continue;
        }
        let stored = state.get(&c.note_id);
        if let Some((st, v)) =
            stored.and_then(|st| st.remembered_version(&c.change_id).map(|v| (st, v)))
        {
            let n = &st.note.note;
            outcomes[i] = Some(if v == SUPERSEDED {
                // Superseded the first time: superseded again, by what the note is now.
                ChangeOutcome::Superseded { current: n.clone() }
            } else {
                // The same answer as the first time: with the stored state if that state
                // is still the one this change produced and differs from it (merged,
                // conflict).
                ChangeOutcome::Applied {
                    version: v,
                    current: (n.version == v && !stored_as_sent(n, c)).then(|| n.clone()),
                }
            });
            continue;
        }
        let r = merge::resolve_within(
            stored.map(|st| &st.note),
            c,
            default,
            next_version,
            &mut budget,
        );
        let mut rn = stored.map_or(0, |st| st.rn);
        for (v, why) in &r.revisions {
            rn += 1;
            revisions.push(revision_doc(user, &c.note_id, rn, now_ms, v, *why));
        }
        if !r.revisions.is_empty() {
            touch(&mut touched, &c.note_id);
        }
        outcomes[i] = Some(match r.next {
            Some(next) => {
                next_version += 1;
                let mut recent = stored.map(|st| st.recent.clone()).unwrap_or_default();
                remember(&mut recent, &c.change_id, next.note.version);
                touch(&mut touched, &c.note_id);
                let n = &next.note;
                let outcome = ChangeOutcome::Applied {
                    version: n.version,
                    current: (!stored_as_sent(n, c)).then(|| n.clone()),
                };
                state.insert(
                    c.note_id.clone(),
                    Stored {
                        note: next,
                        recent,
                        rn,
                    },
                );
                outcome
            }
            None => {
                let st = state.get_mut(&c.note_id).expect("a kept note is stored");
                st.rn = rn;
                remember(&mut st.recent, &c.change_id, SUPERSEDED);
                touch(&mut touched, &c.note_id);
                ChangeOutcome::Superseded {
                    current: st.note.note.clone(),
                }
            }
        });
    }
    Decided {
        outcomes,
        state,
        touched,
        revisions,
    }
}

/// Revisions (newest first) without repeats of the same text: a version kept twice (as one
/// side of a conflict, then again when the conflict was resolved) is listed once, newest.
pub fn distinct(revisions: Vec<Revision>) -> Vec<Revision> {
    let mut seen = std::collections::HashSet::new();
    revisions
        .into_iter()
        .filter(|r| {
            let v = &r.version;
            seen.insert((v.title.clone(), v.content.clone(), v.deleted))
        })
        .collect()
}

/// Adds `id` to the notes a push writes back (once).
fn touch(touched: &mut Vec<NoteId>, id: &NoteId) {
    if !touched.contains(id) {
        touched.push(id.clone());
    }
}

/// The version remembered for a change that was superseded (versions start at 1).
const SUPERSEDED: u64 = 0;

/// Remembers the outcome of `change` among a note's recent changes (oldest dropped).
fn remember(recent: &mut Vec<(String, u64)>, change: &ChangeId, version: u64) {
    recent.push((change.0.clone(), version));
    if recent.len() > RECENT_CHANGES_PER_NOTE {
        recent.remove(0);
    }
}

/// True when `n` is exactly what change `c` sent (no merge, no conflict).
fn stored_as_sent(n: &NoteState, c: &Change) -> bool {
    n.conflict.is_none()
        && n.deleted == c.deleted
        && (n.deleted || (n.title == c.title && n.content == c.content))
}

/// A stored note, the (change id, version) of its recent changes (oldest first; version
/// [`SUPERSEDED`] for a change that lost) and the number of its last revision.
struct Stored {
    note: StoredNote,
    recent: Vec<(String, u64)>,
    rn: u64,
}

impl Stored {
    /// The version remembered for `change` ([`SUPERSEDED`] if it lost), if it was seen.
    fn remembered_version(&self, change: &ChangeId) -> Option<u64> {
        self.recent
            .iter()
            .find(|(c, _)| *c == change.0)
            .map(|(_, v)| *v)
    }
}

fn stored_from_doc(d: &Document) -> Option<Stored> {
    let note = note_from_doc(d)?;
    let field_hlc = |k: &str| d.get_str(k).ok().and_then(|h| h.parse::<Hlc>().ok());
    Some(Stored {
        recent: recent_from_doc(d),
        rn: d.get_i64("rn").unwrap_or(0) as u64,
        note: StoredNote {
            title_hlc: field_hlc("th").unwrap_or_else(|| note.hlc.clone()),
            content_hlc: field_hlc("ch").unwrap_or_else(|| note.hlc.clone()),
            last_write: d.get_document("lw").ok().and_then(|w| {
                Some(LastWrite {
                    node: w.get_str("n").ok()?.to_owned(),
                    base: w.get_i64("b").ok().map(|b| b as u64),
                })
            }),
            note,
        },
    })
}

fn revision_doc(
    user: &UserId,
    id: &NoteId,
    n: u64,
    now_ms: u64,
    v: &Version,
    why: RevisionReason,
) -> Document {
    let why = match why {
        RevisionReason::Edited => "edited",
        RevisionReason::Deleted => "deleted",
        RevisionReason::Conflict => "conflict",
        RevisionReason::Merged => "merged",
    };
    doc! {
        "u": user, "id": id.as_str(), "n": n as i64, "at": now_ms as i64, "title": &v.title,
        "content": &v.content, "deleted": v.deleted, "hlc": v.hlc.to_string(), "why": why,
    }
}

fn revision_from_doc(d: &Document) -> Option<Revision> {
    Some(Revision {
        version: Version {
            title: d.get_str("title").ok()?.to_owned(),
            content: d.get_str("content").ok()?.to_owned(),
            deleted: d.get_bool("deleted").ok()?,
            hlc: d.get_str("hlc").ok()?.parse().ok()?,
        },
        reason: match d.get_str("why").ok()? {
            "edited" => RevisionReason::Edited,
            "deleted" => RevisionReason::Deleted,
            "merged" => RevisionReason::Merged,
            _ => RevisionReason::Conflict,
        },
        saved_at_ms: d.get_i64("at").ok()? as u64,
    })
}

fn recent_from_doc(d: &Document) -> Vec<(String, u64)> {
    d.get_array("cids")
        .map(|a| {
            a.iter()
                .filter_map(|e| {
                    let e = e.as_document()?;
                    Some((e.get_str("c").ok()?.to_owned(), e.get_i64("v").ok()? as u64))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// `key` of each change that has no outcome yet.
fn undecided<'a>(
    changes: &'a [Change],
    outcomes: &[Option<ChangeOutcome>],
    key: impl Fn(&'a Change) -> &'a str,
) -> Vec<&'a str> {
    changes
        .iter()
        .zip(outcomes)
        .filter(|(_, o)| o.is_none())
        .map(|(c, _)| key(c))
        .collect()
}

fn results(changes: &[Change], outcomes: Vec<Option<ChangeOutcome>>) -> Vec<ChangeResult> {
    changes
        .iter()
        .zip(outcomes)
        .map(|(c, o)| ChangeResult {
            change_id: c.change_id.clone(),
            note_id: c.note_id.clone(),
            outcome: o.expect("every change has an outcome"),
        })
        .collect()
}

fn note_doc(user: &UserId, st: &StoredNote) -> Document {
    let n = &st.note;
    let mut d = doc! {
        "u": user, "id": n.id.as_str(), "title": &n.title, "content": &n.content,
        "deleted": n.deleted, "hlc": n.hlc.to_string(), "v": n.version as i64,
        "th": st.title_hlc.to_string(), "ch": st.content_hlc.to_string(),
    };
    if let Some(w) = &st.last_write {
        let mut lw = doc! {"n": &w.node};
        if let Some(b) = w.base {
            lw.insert("b", b as i64);
        }
        d.insert("lw", lw);
    }
    if !n.strategy.is_default() {
        d.insert("st", n.strategy.as_str());
    }
    if let Some(c) = &n.conflict {
        if let Ok(b) = mongodb::bson::to_bson(c) {
            d.insert("cf", b);
        }
    }
    d
}

fn note_from_doc(d: &Document) -> Option<NoteState> {
    Some(NoteState {
        id: NoteId(d.get_str("id").ok()?.to_owned()),
        title: d.get_str("title").ok()?.to_owned(),
        content: d.get_str("content").ok()?.to_owned(),
        deleted: d.get_bool("deleted").ok()?,
        hlc: d.get_str("hlc").ok()?.parse::<Hlc>().ok()?,
        version: d.get_i64("v").ok()? as u64,
        strategy: d
            .get_str("st")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_default(),
        conflict: d
            .get_document("cf")
            .ok()
            .and_then(|c| mongodb::bson::from_document::<Conflict>(c.clone()).ok()),
    })
}

impl SyncStore for MongoStore {
    async fn push(
        &self,
        user: &UserId,
        changes: &[Change],
        now_ms: u64,
    ) -> Result<Vec<ChangeResult>, StoreError> {
        if changes.is_empty() {
            return Ok(Vec::new());
        }
        self.ensure_indexes().await?;
        // Owned once, for the merge task on the blocking pool.
        let changes: Arc<[Change]> = changes.into();
        let mut s = self.client.start_session().await?;
        let started = std::time::Instant::now();
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            s.start_transaction().await?;
            let result = match self.push_in_txn(&mut s, user, &changes, now_ms).await {
                Ok(r) => commit(&mut s).await.map(|()| r),
                Err(e) => {
                    let _ = s.abort_transaction().await;
                    Err(e)
                }
            };
            match result.map_err(|e| (StoreError::from(e.clone()), e)) {
                Ok(r) => return Ok(r),
                // Unreachable database: answer now, the client retries later.
                Err((err @ StoreError::Unavailable(_), _)) => return Err(err),
                Err((_, e)) if e.contains_label(TRANSIENT_TRANSACTION_ERROR) => {
                    if started.elapsed() >= PUSH_RETRY_BUDGET {
                        // Pushes of this user keep colliding: the client retries later
                        // (503), rather than this request holding a worker indefinitely.
                        return Err(StoreError::Unavailable(format!(
                            "push gave up after {attempt} conflicting attempts: {e}"
                        )));
                    }
                    // Another push of this user committed first: back off, retry. Equal
                    // jitter (half fixed, half varying) so colliding pushes spread out.
                    let cap = PUSH_RETRY_MAX_PAUSE.as_millis().min(1 << attempt.min(10)) as u64;
                    let jitter = now_ms.wrapping_mul(attempt as u64 * 7919) % (cap / 2 + 1);
                    tokio::time::sleep(Duration::from_millis(cap / 2 + jitter)).await;
                }
                Err((err, _)) => return Err(err),
            }
        }
    }

    async fn pull(&self, user: &UserId, after: u64, limit: u32) -> Result<Page, StoreError> {
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

    async fn head(&self, user: &UserId) -> Result<u64, StoreError> {
        Ok(self
            .counters()
            .find_one(doc! {"_id": user})
            .await?
            .and_then(|d| d.get_i64("seq").ok())
            .unwrap_or(0) as u64)
    }

    async fn history(&self, user: &UserId, id: &NoteId) -> Result<Vec<Revision>, StoreError> {
        let docs: Vec<Document> = self
            .revisions()
            .find(doc! {"u": user, "id": id.as_str()})
            .sort(doc! {"n": -1})
            .limit(self.conflicts.history_limit as i64)
            .await?
            .try_collect()
            .await?;
        Ok(distinct(
            docs.iter().filter_map(revision_from_doc).collect(),
        ))
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.db.run_command(doc! {"ping": 1}).await?;
        Ok(())
    }
}

async fn commit(s: &mut ClientSession) -> Result<(), MongoError> {
    let mut tries = 0;
    loop {
        tries += 1;
        match s.commit_transaction().await {
            Err(e) if e.contains_label(UNKNOWN_TRANSACTION_COMMIT_RESULT) && tries < 3 => {}
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
