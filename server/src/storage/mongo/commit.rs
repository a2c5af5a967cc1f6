//! Group commit: the pushes of many users in one transaction ([`Committer`]).
//!
//! Under concurrency a push's time is mostly the database's: one command per step, and a
//! durable commit (the database syncs its log before it answers the commit). So each
//! server process runs at most [`IN_FLIGHT`] push transactions at a time (pipelined: the
//! next batch is read, planned and written while one commits), and the pushes that arrive
//! meanwhile wait in a queue and go together into the next one, a *batch* (beside a
//! running batch, a few pushes wait a little for more: [`super::schedule::LINGER`]): at most one push per
//! user, at most [`MAX_BATCH_CHANGES`] changes and [`MAX_BATCH_BYTES`] of them. A batch costs the same commands as one
//! push: one read of the notes it names, one of the counters of the users this process
//! has not seen (none once it has: [`HeadCache`]), one write of the counters, the notes'
//! (one delete of those rewritten, one insert), one insert of the revisions, one delete
//! of the trims, one commit (`group_commit.rs`:
//! `a_batch_of_a_user_seen_before_does_not_read_the_counter` lists them). The driver's
//! `bulkWrite` would be one command for the writes, but SecantusDB runs its operations
//! one at a time through the single-write handlers (the notes' insert would lose its bulk
//! path) and reports a write conflict inside it per operation, without the
//! `TransientTransactionError` label the retries rely on; so it is not used. The page a request pulls is what its
//! push wrote when its cursor was its user's head, else it is read in the same
//! transaction when small (`pages_in_txn`).
//!
//! The price: a process's pushes wait for one another (behind a batch holding a large
//! push, at most [`MAX_BATCH_CHANGES`] changes and a request's bytes). A batch that loses
//! [`BATCH_CONFLICTS`] times to other pushes of one of its users (another process's, the
//! account's deletion) does not retry as a whole: its pushes then run each in a
//! transaction of its own (`each_on_its_own`), each with its own retry budget
//! ([`PUSH_RETRY_BUDGET`]), off the committer's task (up to [`HANDOFFS`] such batches at
//! once), so the others commit at once and later batches do not wait for the contended one.
//!
//! What does not change:
//! - Durability: a request is answered only after the commit that holds its writes; a
//!   batch that fails answers each of its requests with the error, and nothing of it is
//!   written (one transaction).
//! - Ordering: each user's versions still come from the user's counter, written in the
//!   transaction, so concurrent pushes of one user (from another process, or the account's
//!   deletion) conflict and the loser retries; one batch never holds two pushes of one
//!   user, and a process runs a user's pushes one at a time, in arrival order: a push
//!   waits while an earlier one of its user runs, in a batch or on its own after its
//!   batch was handed off ([`super::schedule`], tested against a reference model).
//! - Isolation: a batch that fails for another reason than a conflict or an unreachable
//!   database (a stored note that does not decode, a write error) is run again each push
//!   on its own, so only the push that causes it fails.
//! - Statelessness: only each user's last head is kept between batches, as a guess the
//!   counter write checks ([`super::head_cache`]); several processes may share one
//!   database as before.
//!
//! Bounds: one attempt of a batch, commit included, is given up after
//! [`BATCH_ATTEMPT_TIMEOUT`] (its requests answer 503, its session is discarded, the next
//! batch starts a new one). A push whose request is gone (timed out, client left) when the
//! committer takes it is dropped unrun. The queue holds at most [`MAX_QUEUE_BYTES`] of
//! changes; a push over it answers 503 at once.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use mongodb::bson::oid::ObjectId;
use mongodb::bson::{Bson, Document, doc};
use mongodb::error::{Error as MongoError, TRANSIENT_TRANSACTION_ERROR};
use mongodb::options::ReadConcern;
use mongodb::{Client, ClientSession, Database};
use sync_core::protocol::Change;
use sync_core::push::{self, NoteRecord, Policy, Prepared};
use sync_core::{NoteId, NoteState, limits};
use tokio::sync::{Semaphore, mpsc, oneshot};

use super::documents::{self as docs, COUNTERS, CounterDoc, NoteDoc, RevisionDoc};
use super::head_cache::HeadCache;
use super::schedule::{Queued, Schedule, Start};
use super::txn::{NOTES, PUSH_RETRY_BUDGET, PUSH_RETRY_MAX_PAUSE, REVISIONS, commit};
use crate::storage::error::StoreError;
use crate::storage::notes::{Page, Pushed};

pub use super::schedule::{MAX_BATCH_BYTES, MAX_BATCH_CHANGES, MAX_BATCH_PUSHES};
/// Batches running at once (a pipelined committer): while one commits (the database syncs
/// its log) or waits for the database, the next is read, planned and written, each in its
/// own transaction (their users are distinct, so they never conflict with each other).
pub const IN_FLIGHT: usize = 2;
/// Pushes that may wait for the committer before a request waits to join the queue.
const QUEUE: usize = 4096;
/// Most bytes of changes ([`change_bytes`]) the queued pushes of a process may hold
/// together: a push over it is answered `503 unavailable` at once (a lone push is always
/// queued). Bounds the queue's memory by size, not only by count (4096 pushes of 8 MB
/// would be 32 GB).
pub const MAX_QUEUE_BYTES: usize = 64 * 1024 * 1024;
/// Conflicting attempts of a batch (of one push or several) before its pushes run each on
/// its own (`each_on_its_own`), with a retry budget of its own.
pub const BATCH_CONFLICTS: u32 = 2;
/// Contended batches whose pushes run on their own beside the committer (past it, the
/// committer runs them itself, and the queue waits).
pub const HANDOFFS: usize = 4;
/// Pushes of a batch run on their own at once.
pub const ON_THEIR_OWN: usize = 16;
/// What a change costs beside its texts in [`change_bytes`]: its ids, clock and flags.
pub const CHANGE_OVERHEAD_BYTES: usize = 256;
/// Longest time one attempt of a batch (its reads, writes and commit) may take. Past it
/// the batch's requests are answered `503 unavailable` and its session is discarded (its
/// connection may hang for as long as TCP takes to notice a lost peer), so one hung
/// command cannot stop every later push of the process. Well under the request deadline
/// (`api::sync::SYNC_DEADLINE`, 30 s), so the request still gets the committer's answer.
pub const BATCH_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// One push waiting for its batch.
struct Job {
    user: String,
    /// Refused with [`StoreError::CursorAhead`] if above the user's head (0: no check).
    after: u64,
    /// The most notes of the page pulled after `after` in the same transaction (0: none).
    limit: u32,
    changes: Arc<[Change]>,
    now_ms: u64,
    reply: oneshot::Sender<Answer>,
    /// The push's share of the queue's bytes, given back when the push is done with.
    ticket: Ticket,
    /// When it was queued (a push is held back at most [`super::schedule::LINGER`] for a
    /// fuller batch).
    queued_at: Instant,
}

/// Bytes of changes held by a queued or running push ([`MAX_QUEUE_BYTES`]); released on
/// drop.
struct Ticket {
    bytes: usize,
    queued: Arc<AtomicUsize>,
}

impl Ticket {
    /// Counts `bytes` in `queued`; also the bytes queued before.
    fn take(queued: &Arc<AtomicUsize>, bytes: usize) -> (Self, usize) {
        let before = queued.fetch_add(bytes, Ordering::SeqCst);
        let t = Ticket {
            bytes,
            queued: queued.clone(),
        };
        (t, before)
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.queued.fetch_sub(self.bytes, Ordering::SeqCst);
    }
}

/// The size of `changes` as the queue and a batch count it: their texts, plus
/// [`CHANGE_OVERHEAD_BYTES`] each (cheap: no serialization).
pub fn change_bytes(changes: &[Change]) -> usize {
    changes
        .iter()
        .map(|c| {
            c.title.len()
                + c.content.len()
                + c.base_title.as_ref().map_or(0, String::len)
                + c.base_content.as_ref().map_or(0, String::len)
                + CHANGE_OVERHEAD_BYTES
        })
        .sum()
}

/// What a push of a batch is answered: what it did, and the page after its cursor when
/// the batch read it (else the request pulls on its own).
pub type Answer = Result<(Pushed, Option<Page>), StoreError>;

/// What a batch's transaction works with.
#[derive(Clone)]
struct Ctx {
    client: Client,
    db: Database,
    policy: Policy,
    /// The users' last heads, shared by the batches of this process.
    heads: Arc<HeadCache>,
}

/// The queue of one process's pushes, and the task that commits them in batches (started
/// with the first push, on the runtime that makes it; started again if that runtime is
/// gone).
pub struct Committer {
    ctx: Ctx,
    queue: Mutex<Option<mpsc::Sender<Job>>>,
    /// Bytes of changes of the pushes queued or running ([`MAX_QUEUE_BYTES`]).
    queued: Arc<AtomicUsize>,
}

impl std::fmt::Debug for Committer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Committer").finish_non_exhaustive()
    }
}

impl Committer {
    /// A committer for the notes of `db`, planning pushes with `policy`.
    pub fn new(client: Client, db: Database, policy: Policy) -> Self {
        Self {
            ctx: Ctx {
                client,
                db,
                policy,
                heads: Arc::default(),
            },
            queue: Mutex::new(None),
            queued: Arc::default(),
        }
    }

    /// Pushes `changes` of `user` in the next batch; answers once that batch committed.
    /// With `limit` > 0, the batch also reads the page of at most `limit` notes after
    /// version `after` when it is small (see [`BATCH_PULL_VERSIONS`]).
    pub async fn push(
        &self,
        user: &str,
        after: u64,
        limit: u32,
        changes: Arc<[Change]>,
        now_ms: u64,
    ) -> Answer {
        let (ticket, before) = Ticket::take(&self.queued, change_bytes(&changes));
        if before > 0 && before + ticket.bytes > MAX_QUEUE_BYTES {
            return Err(StoreError::Unavailable(format!(
                "the push queue holds {before} bytes of changes (at most {MAX_QUEUE_BYTES})"
            )));
        }
        let (reply, answer) = oneshot::channel();
        let mut job = Job {
            user: user.to_owned(),
            after,
            limit,
            changes,
            now_ms,
            reply,
            ticket,
            queued_at: Instant::now(),
        };
        loop {
            let tx = {
                let mut q = self.queue.lock().expect("not poisoned");
                match q.as_ref().filter(|tx| !tx.is_closed()) {
                    Some(tx) => tx.clone(),
                    None => {
                        let (tx, rx) = mpsc::channel(QUEUE);
                        tokio::spawn(run(self.ctx.clone(), rx));
                        *q = Some(tx.clone());
                        tx
                    }
                }
            };
            match tx.send(job).await {
                Ok(()) => break,
                // The task ended with its runtime (tests run one runtime per test): the
                // next turn starts another.
                Err(mpsc::error::SendError(j)) => job = j,
            }
        }
        answer.await.unwrap_or_else(|_| {
            Err(StoreError::Internal(
                "the push was dropped by the committer".into(),
            ))
        })
    }
}

/// The committer's task: takes the waiting pushes as batches ([`Schedule`]) and runs
/// them, up to [`IN_FLIGHT`] batches at once (each in a session of its own), until every
/// sender is gone. A batch starts at once when none runs; beside a running one, when it is
/// full enough or its oldest push has waited a little ([`Schedule::start`]). A user with a push still running (in a batch, or on its own after its
/// batch was handed off) has no push in the next batch: its next push waits until that one
/// is answered, so a user's pushes run one at a time, in arrival order.
async fn run(ctx: Ctx, mut rx: mpsc::Receiver<Job>) {
    let mut schedule: Schedule<Job> = Schedule::default();
    let mut sessions: Vec<Option<ClientSession>> = (0..IN_FLIGHT).map(|_| None).collect();
    // The batches running, each giving back its session, its users, and whether its
    // pushes were handed off to run on their own beside the committer.
    let mut running = futures::stream::FuturesUnordered::new();
    // The users of handed-off pushes, each as soon as its push is done with: until then
    // the user stays busy (else its next push could commit before the handed-off one).
    let (released, mut released_rx) = mpsc::unbounded_channel::<String>();
    let handoffs = Arc::new(Semaphore::new(HANDOFFS));
    let mut open = true;
    loop {
        // While a batch runs, a few pushes wait a little for more (`Schedule::start`).
        let start = if running.len() < IN_FLIGHT {
            schedule.start(running.len(), Instant::now())
        } else {
            Start::Idle
        };
        let wake = match start {
            Start::At(t) => Some(tokio::time::Instant::from_std(t)),
            Start::Now | Start::Idle => None,
        };
        if start == Start::Now {
            // Only as many new pushes as a batch holds are read off the queue: the rest
            // stay in it (bounded), not in this task's memory.
            let batch = schedule.next_batch(|| rx.try_recv().ok());
            if !batch.is_empty() {
                let users: Vec<String> = batch.iter().map(|j| j.user.clone()).collect();
                let mut session = sessions.pop().expect("a session per batch in flight");
                let (ctx, handoffs, released) = (ctx.clone(), handoffs.clone(), released.clone());
                running.push(async move {
                    let handed_off =
                        commit_batch(&ctx, &mut session, batch, &handoffs, &released).await;
                    (session, users, handed_off)
                });
                continue;
            }
        }
        if !open && running.is_empty() && schedule.waiting() == 0 {
            // No push can come, and none waits or runs in a batch (handed-off pushes finish
            // on their own).
            return;
        }
        tokio::select! {
            Some((session, users, handed_off)) = running.next(), if !running.is_empty() => {
                sessions.push(session);
                if !handed_off {
                    schedule.release(users.iter().map(String::as_str));
                }
            }
            Some(user) = released_rx.recv() => schedule.release([user.as_str()]),
            // Read on only while what waits is less than a batch (memory stays bounded).
            j = rx.recv(), if open && schedule.waiting() < MAX_BATCH_PUSHES => match j {
                Some(j) => schedule.arrive(j),
                None => open = false,
            },
            () = tokio::time::sleep_until(wake.unwrap_or_else(tokio::time::Instant::now)),
                if wake.is_some() => {}
        }
    }
}

impl Queued for Job {
    fn user(&self) -> &str {
        &self.user
    }
    fn changes(&self) -> usize {
        self.changes.len()
    }
    fn bytes(&self) -> usize {
        self.ticket.bytes
    }
    fn abandoned(&self) -> bool {
        self.reply.is_closed()
    }
    fn queued_at(&self) -> Instant {
        self.queued_at
    }
}

/// Runs `batch` until it commits, and answers each push. A batch that keeps conflicting
/// ([`BATCH_CONFLICTS`]) with other pushes of its users, or a batch of several that fails
/// for another reason than a conflict or an unreachable database, runs its pushes each on
/// its own (see [`each_on_its_own`] and the module's doc). `true` when they run beside the
/// committer: each push's user is then sent to `released` once that push is done with.
async fn commit_batch(
    ctx: &Ctx,
    s: &mut Option<ClientSession>,
    batch: Vec<Job>,
    handoffs: &Arc<Semaphore>,
    released: &mpsc::UnboundedSender<String>,
) -> bool {
    let several = batch.len() > 1;
    let (jobs, replies): (Vec<_>, Vec<_>) = batch
        .into_iter()
        .map(|j| {
            (
                Pending {
                    user: j.user,
                    after: j.after,
                    limit: j.limit,
                    changes: j.changes,
                    now_ms: j.now_ms,
                    _ticket: j.ticket,
                },
                j.reply,
            )
        })
        .collect();
    match attempt_until_committed(ctx, s, &jobs, Some(BATCH_CONFLICTS)).await {
        Ok(answers) => {
            for (reply, a) in replies.into_iter().zip(answers) {
                let _ = reply.send(a);
            }
            false
        }
        Err(NotCommitted::Contended) => {
            tracing::info!(
                pushes = jobs.len(),
                "a batch of pushes keeps conflicting; running each push on its own"
            );
            let members: Vec<_> = jobs.into_iter().zip(replies).collect();
            // Off the committer when a hand-off is free: the contended push retries for up
            // to its budget, and the next batches need not wait for it.
            match handoffs.clone().try_acquire_owned() {
                Ok(permit) => {
                    let (ctx, released) = (ctx.clone(), released.clone());
                    tokio::spawn(async move {
                        each_on_its_own(&ctx, members, Some(&released)).await;
                        drop(permit);
                    });
                    true
                }
                Err(_) => {
                    each_on_its_own(ctx, members, None).await;
                    false
                }
            }
        }
        Err(NotCommitted::Failed(StoreError::Internal(why))) if several => {
            tracing::warn!(
                pushes = jobs.len(),
                "a batch of pushes failed ({why}); running each push on its own"
            );
            each_on_its_own(ctx, jobs.into_iter().zip(replies).collect(), None).await;
            false
        }
        Err(NotCommitted::Failed(e)) => {
            for reply in replies {
                let _ = reply.send(Err(copy(&e)));
            }
            false
        }
    }
}

/// Runs each push of a batch that did not commit in a transaction of its own (a session
/// each, [`ON_THEIR_OWN`] at a time), with a retry budget of its own, and answers it as
/// soon as it is done: one push that fails, or whose user is contended, fails or waits
/// alone. A push whose request is gone meanwhile is not run (see `schedule::Forming::offer`).
/// With `released`, each push's user is sent there once the push is done with (answered,
/// skipped, or its task gone): the committer holds the user's next push until then, and no
/// longer (a free user of a contended batch is not held behind the contended one).
async fn each_on_its_own(
    ctx: &Ctx,
    members: Vec<(Pending, oneshot::Sender<Answer>)>,
    released: Option<&mpsc::UnboundedSender<String>>,
) {
    futures::stream::iter(members)
        .for_each_concurrent(ON_THEIR_OWN, |(job, reply)| async move {
            let _release = released.map(|tx| Release {
                user: job.user.clone(),
                tx: tx.clone(),
            });
            if reply.is_closed() {
                return;
            }
            let mut s = None;
            let answer = match attempt_until_committed(
                ctx,
                &mut s,
                std::slice::from_ref(&job),
                None,
            )
            .await
            {
                Ok(mut a) => a.pop().expect("one answer per push"),
                Err(NotCommitted::Failed(e)) => Err(e),
                Err(NotCommitted::Contended) => unreachable!("no conflict limit"),
            };
            let _ = reply.send(answer);
        })
        .await;
}

/// Sends its user to the committer when dropped: a handed-off push is done with.
struct Release {
    user: String,
    tx: mpsc::UnboundedSender<String>,
}

impl Drop for Release {
    fn drop(&mut self) {
        // The committer may be gone (no push waits then).
        let _ = self.tx.send(std::mem::take(&mut self.user));
    }
}

/// Why a batch did not commit.
enum NotCommitted {
    /// It lost to other pushes of its users as many times as it was allowed to.
    Contended,
    /// The error each of its pushes is answered with.
    Failed(StoreError),
}

impl From<StoreError> for NotCommitted {
    fn from(e: StoreError) -> Self {
        Self::Failed(e)
    }
}

impl From<MongoError> for NotCommitted {
    fn from(e: MongoError) -> Self {
        Self::Failed(e.into())
    }
}

/// The same error, for another member of a failed batch.
fn copy(e: &StoreError) -> StoreError {
    match e {
        StoreError::Unavailable(m) => StoreError::Unavailable(m.clone()),
        StoreError::Internal(m) => StoreError::Internal(m.clone()),
        StoreError::Gone => StoreError::Gone,
        StoreError::CursorAhead => StoreError::CursorAhead,
    }
}

/// A push of a batch, without its reply.
struct Pending {
    user: String,
    after: u64,
    limit: u32,
    changes: Arc<[Change]>,
    now_ms: u64,
    _ticket: Ticket,
}

/// Runs the transaction of `jobs` until it commits, retrying after conflicts with other
/// pushes of the same users (within [`PUSH_RETRY_BUDGET`]). One answer per job.
///
/// `session` is reused from batch to batch, started when there is none, and discarded
/// (set to `None`) when an attempt outlives [`BATCH_ATTEMPT_TIMEOUT`]. With
/// `max_conflicts`, gives up ([`NotCommitted::Contended`]) after that many conflicts.
async fn attempt_until_committed(
    ctx: &Ctx,
    session: &mut Option<ClientSession>,
    jobs: &[Pending],
    max_conflicts: Option<u32>,
) -> Result<Vec<Answer>, NotCommitted> {
    let started = Instant::now();
    let seed = jobs.first().map_or(0, |j| j.now_ms);
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        let s = match session {
            Some(s) => s,
            None => session.insert(ctx.client.start_session().await?),
        };
        let attempt_once = async {
            // Read concern `snapshot`, as a pull's: the pages read in the batch see one
            // majority-committed point in time (docs/sync-protocol.md, *Guarantees*).
            s.start_transaction()
                .read_concern(ReadConcern::snapshot())
                .await?;
            match batch_in_txn(ctx, s, jobs).await {
                // Also with nothing to write (every push refused or already applied):
                // committed all the same, not aborted, so that the pages read in it wait,
                // like a pull's own transaction, for their snapshot to be
                // majority-committed (an aborted transaction promises nothing of what it
                // read).
                Ok(Attempted::Done { answers, heads }) => {
                    commit(s).await.map(|()| Some((answers, heads)))
                }
                Ok(Attempted::Stale) => {
                    let _ = s.abort_transaction().await;
                    Ok(None)
                }
                Err(e) => {
                    let _ = s.abort_transaction().await;
                    Err(e)
                }
            }
        };
        let result = tokio::time::timeout(BATCH_ATTEMPT_TIMEOUT, attempt_once).await;
        if !matches!(result, Ok(Ok(Some(_)))) {
            // Not committed (or not known to be): what is cached of these users may be
            // stale, and a stale head costs an attempt; the next attempt reads them.
            ctx.heads.forget(jobs.iter().map(|j| j.user.as_str()));
        }
        let Ok(result) = result else {
            // A command (or the commit) that does not answer: whether the commit happened
            // is unknown, as with any request that times out; the clients send their
            // changes again and the change ids answer them. The session, with its open
            // transaction and its connection, is dropped (the driver aborts it when it
            // can); the next attempt or batch starts a new one.
            *session = None;
            return Err(StoreError::Unavailable(format!(
                "no answer from the database within {BATCH_ATTEMPT_TIMEOUT:?} (a batch of {} pushes)",
                jobs.len()
            ))
            .into());
        };
        match result.map_err(|e| (StoreError::from(e.clone()), e)) {
            Ok(Some((answers, heads))) => {
                ctx.heads.keep(heads);
                return Ok(answers);
            }
            // A cached head was stale (now forgotten): again at once, reading the
            // counters; not a conflict.
            Ok(None) => attempt -= 1,
            // Unreachable database: answer now, the clients retry later.
            Err((err @ StoreError::Unavailable(_), _)) => return Err(err.into()),
            Err((_, e)) if e.contains_label(TRANSIENT_TRANSACTION_ERROR) => {
                if max_conflicts.is_some_and(|n| attempt >= n) {
                    // One of its users is contended: its pushes go on their own, so the
                    // others are not held back (or failed) with it.
                    return Err(NotCommitted::Contended);
                }
                if started.elapsed() >= PUSH_RETRY_BUDGET {
                    // Pushes of these users keep colliding: the clients retry later (503),
                    // rather than the batch holding the queue indefinitely.
                    return Err(StoreError::Unavailable(format!(
                        "push gave up after {attempt} conflicting attempts: {e}"
                    ))
                    .into());
                }
                // Another push of one of these users committed first: back off, retry.
                // Equal jitter (half fixed, half varying) so colliding pushes spread out.
                let cap = PUSH_RETRY_MAX_PAUSE.as_millis().min(1 << attempt.min(10)) as u64;
                let jitter = seed.wrapping_mul(attempt as u64 * 7919) % (cap / 2 + 1);
                tokio::time::sleep(Duration::from_millis(cap / 2 + jitter)).await;
            }
            Err((err, _)) => return Err(err.into()),
        }
    }
}

/// A push of the batch that writes: its validated changes and its first version.
struct Candidate {
    job: usize,
    prepared: Prepared,
    first_version: u64,
}

/// One attempt of a batch, in the transaction of session `s`: reads what the plans need,
/// reserves versions, plans (off the async workers), writes what the plans say. The
/// answers and the heads to keep, or [`Attempted::Stale`] (the caller aborts).
async fn batch_in_txn(
    ctx: &Ctx,
    s: &mut ClientSession,
    jobs: &[Pending],
) -> Result<Attempted, MongoError> {
    let prepared: Vec<Prepared> = jobs
        .iter()
        .map(|j| Prepared::new(&j.changes, j.now_ms))
        .collect();
    let needed: Vec<u64> = prepared.iter().map(Prepared::versions_needed).collect();

    // 1. The stored notes the changes touch, with the ids of their recent changes: one
    //    query for the batch, one clause per push.
    let clauses: Vec<Document> = jobs
        .iter()
        .zip(&prepared)
        .filter(|(_, p)| p.versions_needed() > 0)
        .map(|(j, p)| {
            let ids: Vec<&str> = p
                .note_ids(&j.changes)
                .into_iter()
                .map(|id| id.as_str())
                .collect();
            doc! {"u": &j.user, "id": {"$in": ids}}
        })
        .collect();
    let mut stored: HashMap<(String, NoteId), NoteRecord> = HashMap::new();
    // Their `_id`s: a note written again keeps its own.
    let mut stored_ids: HashMap<(String, NoteId), Bson> = HashMap::new();
    if !clauses.is_empty() {
        let filter = if clauses.len() == 1 {
            clauses.into_iter().next().expect("one clause")
        } else {
            doc! {"$or": clauses}
        };
        let mut cur = ctx
            .db
            .collection::<Document>(NOTES)
            .find(filter)
            .session(&mut *s)
            .await?;
        while let Some(d) = cur.next(&mut *s).await.transpose()? {
            let user = d.get_str("u").unwrap_or_default().to_owned();
            let oid = d.get("_id").cloned();
            // A document that does not decode fails the push: treated as absent, the note
            // would be written over.
            let d: NoteDoc =
                mongodb::bson::from_document(d).map_err(|e| docs::named(NOTES, &user, e.into()))?;
            let rec = d.into_record();
            let key = (user, rec.note.note.id.clone());
            if let Some(oid) = oid {
                stored_ids.insert(key.clone(), oid);
            }
            stored.insert(key, rec);
        }
    }

    // 2. The users' counters. Writing a counter (step 3) makes concurrent pushes of its
    //    user conflict, so versions follow commit order; it also makes a push conflict
    //    with the account's deletion, which marks the counter `gone` before it deletes the
    //    notes: a push either commits before the mark (and its notes are deleted after
    //    it) or sees the mark and writes nothing.
    //    A writing push of a user whose head this process knows ([`HeadCache`]) skips the
    //    read: its counter is written on the condition that it still holds that head
    //    (step 3), which is the same check as reading it in this snapshot. Not for a
    //    cursor above the cached head (it may be another process's newer head).
    let cached: Vec<Option<u64>> = jobs
        .iter()
        .zip(&needed)
        .map(|(j, &n)| {
            (n > 0)
                .then(|| ctx.heads.get(&j.user))
                .flatten()
                .filter(|&h| h > 0 && j.after <= h)
        })
        .collect();
    let users: Vec<&str> = jobs
        .iter()
        .zip(&cached)
        .filter(|(_, c)| c.is_none())
        .map(|(j, _)| j.user.as_str())
        .collect();
    let mut heads: HashMap<String, CounterDoc> = HashMap::new();
    if !users.is_empty() {
        let mut cur = ctx
            .db
            .collection::<CounterDoc>(COUNTERS)
            .find(doc! {"_id": {"$in": &users}})
            .session(&mut *s)
            .await?;
        while let Some(c) = cur
            .next(&mut *s)
            .await
            .transpose()
            .map_err(|e| docs::named(COUNTERS, "(a batch)", e))?
        {
            heads.insert(c.user.clone(), c);
        }
    }
    let mut answers: Vec<Option<Result<Pushed, StoreError>>> = Vec::with_capacity(jobs.len());
    // Each push's user's head before the batch, and once it commits.
    let mut old_heads = Vec::with_capacity(jobs.len());
    let mut new_heads = Vec::with_capacity(jobs.len());
    let mut candidates = Vec::new();
    let mut increments = Vec::new();
    // Counter writes conditional on a cached head.
    let mut conditional = 0;
    for (i, (j, p)) in jobs.iter().zip(prepared).enumerate() {
        let counter = heads.get(&j.user);
        let head = cached[i].unwrap_or_else(|| counter.map_or(0, |c| c.seq) as u64);
        old_heads.push(head);
        new_heads.push(head + needed[i]);
        if counter.is_some_and(|c| c.gone == Some(true)) {
            answers.push(Some(Err(StoreError::Gone)));
        } else if j.after > head {
            // A cursor above the user's head was issued to someone else: refused before
            // anything is written.
            answers.push(Some(Err(StoreError::CursorAhead)));
        } else if needed[i] == 0 {
            answers.push(Some(Ok(Pushed {
                results: p.into_results(&j.changes),
                merges_over_budget: 0,
            })));
        } else {
            answers.push(None);
            increments.push(match cached[i] {
                Some(h) => {
                    conditional += 1;
                    doc! {
                        "q": {"_id": &j.user, "seq": h as i64, "gone": {"$ne": true}},
                        "u": {"$inc": {"seq": needed[i] as i64}},
                    }
                }
                None => doc! {
                    "q": {"_id": &j.user},
                    "u": {"$inc": {"seq": needed[i] as i64}},
                    "upsert": true,
                },
            });
            candidates.push(Candidate {
                job: i,
                prepared: p,
                first_version: head + 1,
            });
        }
    }
    let heads = Heads {
        old: &old_heads,
        new: &new_heads,
    };
    // The heads to keep once this commits: a refused push's user stays at its head; not
    // an account's tombstone, nor a user with no counter yet.
    let keep: Vec<(String, u64)> = jobs
        .iter()
        .zip(&answers)
        .enumerate()
        .filter_map(|(i, (j, a))| {
            let head = match a {
                Some(Err(StoreError::Gone)) => return None,
                Some(Err(_)) => old_heads[i],
                _ => new_heads[i],
            };
            (head > 0).then(|| (j.user.clone(), head))
        })
        .collect();
    if candidates.is_empty() {
        let written = vec![Vec::new(); jobs.len()];
        let pages = pages_in_txn(ctx, s, jobs, &answers, &heads, written).await?;
        return Ok(Attempted::Done {
            answers: finish(answers, pages),
            heads: keep,
        });
    }

    // 3. Reserve the versions: one counter update per writing push, in one command. Each
    //    statement matches its counter (an upsert creates it), so fewer matched means a
    //    cached head was stale: nothing of this attempt may commit.
    let reply = ctx
        .db
        .run_command(doc! {"update": COUNTERS, "updates": &increments, "ordered": false})
        .session(&mut *s)
        .await?;
    write_errors(&reply, COUNTERS)?;
    if conditional > 0 && count(&reply) < increments.len() as i64 {
        return Ok(Attempted::Stale);
    }

    // 4. Decide, each push in its own request order, on the blocking pool: merges are CPU
    //    work (bounded by each request's merge budget) that must not stall the async
    //    workers.
    let plans = {
        let work: Vec<_> = candidates
            .into_iter()
            .map(|c| {
                let j = &jobs[c.job];
                let mine: HashMap<NoteId, NoteRecord> = c
                    .prepared
                    .note_ids(&j.changes)
                    .into_iter()
                    .filter_map(|id| {
                        stored
                            .remove(&(j.user.clone(), id.clone()))
                            .map(|r| (id.clone(), r))
                    })
                    .collect();
                (c, j.changes.clone(), j.now_ms, mine)
            })
            .collect();
        let policy = ctx.policy;
        tokio::task::spawn_blocking(move || {
            work.into_iter()
                .map(|(c, changes, now_ms, mine)| {
                    let job = c.job;
                    let plan =
                        push::plan(&changes, c.prepared, mine, c.first_version, policy, now_ms);
                    (job, plan)
                })
                .collect::<Vec<_>>()
        })
        .await
        .map_err(|e| MongoError::custom(format!("the merge task failed: {e}")))?
    };

    // 5. Write the final state of each changed note, and the revisions (then drop the
    //    ones past the history limit). A note is written whole, as a new document (under
    //    its stored `_id` when it has one, that document deleted first): one `delete` of
    //    one statement and one `insert` for the batch, where a replacement per note (an
    //    `update` statement each, each planned and matched on its own by the database)
    //    cost about two thirds of a batch of one-change pushes. Nothing else writes these
    //    notes meanwhile: only pushes of their user do, and those conflict on the user's
    //    counter (step 3).
    let mut replaced: Vec<Bson> = Vec::new();
    let mut inserts: Vec<Document> = Vec::new();
    let mut revisions = Vec::new();
    let mut trims = Vec::new();
    // The notes each push writes, as a pull would read them back.
    let mut written: Vec<Vec<NoteState>> = vec![Vec::new(); jobs.len()];
    for (job, plan) in &plans {
        let user = jobs[*job].user.as_str();
        for rec in &plan.notes {
            let note = NoteDoc::from_record(user, rec);
            let oid = match stored_ids.remove(&(user.to_owned(), rec.note.note.id.clone())) {
                Some(oid) => {
                    replaced.push(oid.clone());
                    oid
                }
                None => Bson::ObjectId(ObjectId::new()),
            };
            let mut d = doc! {"_id": oid};
            d.extend(mongodb::bson::to_document(&note)?);
            inserts.push(d);
            written[*job].push(note.into_state());
        }
        revisions.extend(plan.revisions.iter().map(|r| RevisionDoc::new(user, r)));
        trims.extend(plan.trims.iter().map(|(id, upto)| {
            doc! {"q": {"u": user, "id": id.as_str(), "n": {"$lte": *upto as i64}}, "limit": 0}
        }));
    }
    if !replaced.is_empty() {
        let expected = replaced.len() as i64;
        let reply = ctx
            .db
            .run_command(doc! {
                "delete": NOTES,
                "deletes": [{"q": {"_id": {"$in": replaced}}, "limit": 0}],
            })
            .session(&mut *s)
            .await?;
        write_errors(&reply, NOTES)?;
        let n = count(&reply);
        if n != expected {
            // Read in this transaction, so still there unless something is badly wrong:
            // nothing is written rather than a note twice.
            return Err(MongoError::custom(format!(
                "{n} of the {expected} notes the batch rewrites were there to replace"
            )));
        }
    }
    if !inserts.is_empty() {
        // The driver splits the documents into commands of the database's size limits.
        ctx.db
            .collection::<Document>(NOTES)
            .insert_many(inserts)
            .session(&mut *s)
            .await?;
    }
    if !revisions.is_empty() {
        ctx.db
            .collection::<RevisionDoc>(REVISIONS)
            .insert_many(revisions)
            .session(&mut *s)
            .await?;
    }
    if !trims.is_empty() {
        ctx.db
            .run_command(doc! {"delete": REVISIONS, "deletes": trims})
            .session(&mut *s)
            .await?;
    }
    for (job, plan) in plans {
        answers[job] = Some(Ok(Pushed {
            results: plan.results,
            merges_over_budget: plan.merges_over_budget,
        }));
    }
    let pages = pages_in_txn(ctx, s, jobs, &answers, &heads, written).await?;
    Ok(Attempted::Done {
        answers: finish(answers, pages),
        heads: keep,
    })
}

/// What one attempt of a batch came to, before its commit.
enum Attempted {
    /// Each push's answer, and the heads to keep in the [`HeadCache`] once it commits.
    Done {
        answers: Vec<Answer>,
        heads: Vec<(String, u64)>,
    },
    /// A cached head was stale (another process, a purge or the account's deletion moved
    /// a counter on): the attempt is aborted and run again, reading the counters.
    Stale,
}

/// A write command's count of documents matched (or upserted, or deleted).
fn count(reply: &Document) -> i64 {
    match reply.get("n") {
        Some(Bson::Int32(n)) => i64::from(*n),
        Some(Bson::Int64(n)) => *n,
        _ => -1,
    }
}

/// Each push's answer with its page.
fn finish(
    answers: Vec<Option<Result<Pushed, StoreError>>>,
    pages: Vec<Option<Page>>,
) -> Vec<Answer> {
    answers
        .into_iter()
        .zip(pages)
        .map(|(a, page)| a.expect("answered").map(|p| (p, page)))
        .collect()
}

/// Most versions the pages read in a batch span together (each push's window counts
/// `head - after`); a push whose window does not fit, or is over its own limit, pulls on
/// its own afterwards.
pub const BATCH_PULL_VERSIONS: u64 = limits::MAX_PULL_LIMIT as u64;

/// Each push's user's head before the batch and once it commits.
struct Heads<'a> {
    old: &'a [u64],
    new: &'a [u64],
}

/// The pages of the pushes that asked for one, as of the batch's transaction after its
/// writes: its own writes, and every version up to each user's head, are in its snapshot
/// (writing the counter would have conflicted with any push committed since the snapshot
/// began; a push that wrote nothing reads head and notes from the one snapshot, as a pull
/// does), so a window `(after, head]` misses nothing.
///
/// A push whose cursor was its user's head (one device, or the others quiet: the common
/// case) pulls exactly what it wrote, the versions the batch gave it: its page is made of
/// `written` (the notes it wrote, as they were stored), with no read. The other pages
/// are read in one query for the batch, by the `(u, v)` index; at most
/// [`BATCH_PULL_VERSIONS`] versions and [`limits::MAX_PULL_BYTES`] of note JSON are read
/// (a push past those pulls on its own).
async fn pages_in_txn(
    ctx: &Ctx,
    s: &mut ClientSession,
    jobs: &[Pending],
    answers: &[Option<Result<Pushed, StoreError>>],
    heads: &Heads<'_>,
    mut written: Vec<Vec<NoteState>>,
) -> Result<Vec<Option<Page>>, MongoError> {
    let mut pages: Vec<Option<Page>> = vec![None; jobs.len()];
    let mut clauses = Vec::new();
    let mut whose: HashMap<&str, usize> = HashMap::new();
    let mut versions = 0;
    for (i, j) in jobs.iter().enumerate() {
        let head = heads.new[i];
        let window = head.saturating_sub(j.after);
        let wanted = j.limit > 0 && matches!(answers[i], Some(Ok(_)));
        if !wanted || window > u64::from(j.limit) {
            continue;
        }
        if window > 0 && j.after == heads.old[i] {
            // Every version of the window is this push's: its notes are all it holds.
            pages[i] = page_of_written(std::mem::take(&mut written[i]), j.after, head);
            continue;
        }
        if versions + window > BATCH_PULL_VERSIONS {
            continue;
        }
        versions += window;
        pages[i] = Some(Page {
            notes: Vec::new(),
            last: head,
            has_more: false,
            head,
        });
        if window > 0 {
            whose.insert(j.user.as_str(), i);
            clauses.push(doc! {"u": &j.user, "v": {"$gt": j.after as i64, "$lte": head as i64}});
        }
    }
    if clauses.is_empty() {
        return Ok(pages);
    }
    let filter = if clauses.len() == 1 {
        clauses.into_iter().next().expect("one clause")
    } else {
        doc! {"$or": clauses}
    };
    let mut cur = ctx
        .db
        .collection::<NoteDoc>(NOTES)
        .find(filter)
        .sort(doc! {"u": 1, "v": 1})
        .projection(doc! {"_id": 0, "cids": 0, "th": 0, "ch": 0, "rn": 0, "un": 0})
        .session(&mut *s)
        .await?;
    let mut bytes = 0;
    // Pushes whose page was cut at the byte budget: the rest of their window is skipped.
    let mut full: HashSet<usize> = HashSet::new();
    while let Some(d) = cur
        .next(&mut *s)
        .await
        .transpose()
        .map_err(|e| docs::named(NOTES, "(a batch)", e))?
    {
        let Some(&i) = whose.get(d.user.as_str()) else {
            continue;
        };
        if full.contains(&i) {
            continue;
        }
        let n = d.into_state();
        let size = limits::json_len(&n);
        let page = pages[i].as_mut().expect("a page is read");
        if bytes + size > limits::MAX_PULL_BYTES {
            match page.notes.last() {
                // Full: everything up to the last note taken has been read (in version
                // order); the rest comes with the next page.
                Some(last) => {
                    page.last = last.version;
                    page.has_more = true;
                }
                // Not one note fits beside the others': this push pulls on its own.
                None => pages[i] = None,
            }
            full.insert(i);
            continue;
        }
        bytes += size;
        page.notes.push(n);
    }
    Ok(pages)
}

/// The page of a push whose window `(after, head]` holds only the versions it wrote:
/// `notes` (what it wrote) past `after`, in version order, cut as a pull cuts a page at
/// [`limits::MAX_PULL_BYTES`] (`None`: not one note fits, the push pulls on its own).
fn page_of_written(mut notes: Vec<NoteState>, after: u64, head: u64) -> Option<Page> {
    // A note rewritten without a new version (a change that lost, remembered by its id)
    // is not in the window.
    notes.retain(|n| n.version > after);
    notes.sort_by_key(|n| n.version);
    let mut page = Page {
        notes: Vec::with_capacity(notes.len()),
        last: head,
        has_more: false,
        head,
    };
    let mut bytes = 0;
    for n in notes {
        let size = limits::json_len(&n);
        if bytes + size > limits::MAX_PULL_BYTES {
            page.last = page.notes.last()?.version;
            page.has_more = true;
            break;
        }
        bytes += size;
        page.notes.push(n);
    }
    Some(page)
}

/// A bulk command's `writeErrors` as an error.
fn write_errors(reply: &Document, collection: &str) -> Result<(), MongoError> {
    match reply.get_array("writeErrors") {
        Ok(errs) => Err(MongoError::custom(format!(
            "write errors in {collection} update: {errs:?}"
        ))),
        Err(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::Conflicts;
    use crate::storage::mongo::schedule::Forming;
    use sync_core::{ChangeId, Hlc};

    /// A push of `user` with `n` changes of `content_len` bytes of content each, and the
    /// receiver its request waits on.
    fn job(
        queued: &Arc<AtomicUsize>,
        user: &str,
        n: usize,
        content_len: usize,
    ) -> (Job, oneshot::Receiver<Answer>) {
        let changes: Arc<[Change]> = (0..n)
            .map(|i| {
                Change::new(
                    ChangeId(format!("{user}-c{i}")),
                    NoteId(format!("n{i}")),
                    Hlc {
                        wall_ms: 1,
                        counter: 0,
                        node: "d".into(),
                    },
                    None,
                    "",
                    &"x".repeat(content_len),
                    false,
                )
            })
            .collect();
        let (ticket, _) = Ticket::take(queued, change_bytes(&changes));
        let (reply, answer) = oneshot::channel();
        let j = Job {
            user: user.into(),
            after: 0,
            limit: 0,
            changes,
            now_ms: 1,
            reply,
            ticket,
            queued_at: Instant::now(),
        };
        (j, answer)
    }

    fn users(jobs: &[Job]) -> Vec<&str> {
        jobs.iter().map(|j| j.user.as_str()).collect()
    }

    #[test]
    fn a_push_whose_request_is_gone_is_not_taken_and_its_bytes_are_released() {
        let queued = Arc::default();
        let (a, _a) = job(&queued, "a", 1, 10);
        let (b, b_answer) = job(&queued, "b", 1, 10);
        let (c, _c) = job(&queued, "c", 1, 10);
        // b's request timed out (or its client left) while it waited in the queue.
        drop(b_answer);
        let mut next = Forming::default();
        for j in [a, b, c] {
            next.offer(j);
        }
        assert_eq!(users(&next.batch), ["a", "c"]);
        assert!(next.later.is_empty());
        assert_eq!(
            queued.load(Ordering::SeqCst),
            2 * (10 + CHANGE_OVERHEAD_BYTES)
        );
        drop(next);
        assert_eq!(queued.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn a_gone_push_does_not_hold_back_its_users_later_push() {
        let queued = Arc::default();
        let (a1, _a1) = job(&queued, "a", 1, 0);
        let (a1_gone, a1_answer) = job(&queued, "a", 1, 0);
        let (b, _b) = job(&queued, "b", 1, 0);
        drop(a1_answer);
        let mut next = Forming::default();
        for j in [a1_gone, b, a1] {
            next.offer(j);
        }
        // The gone push is skipped, so a's live push joins this batch.
        assert_eq!(users(&next.batch), ["b", "a"]);
        assert!(next.later.is_empty());
    }

    #[test]
    fn a_users_second_push_waits_for_a_later_batch_and_so_do_its_pushes_after_it() {
        let queued = Arc::default();
        let mut next = Forming::default();
        let mut waiting = Vec::new();
        for u in ["a", "a", "b", "a"] {
            let (j, answer) = job(&queued, u, 1, 0);
            waiting.push(answer);
            next.offer(j);
        }
        assert_eq!(users(&next.batch), ["a", "b"]);
        assert_eq!(users(&Vec::from(next.later)), ["a", "a"]);
    }

    #[tokio::test]
    async fn a_push_past_the_queues_bytes_is_refused_at_once_and_holds_nothing() {
        // No database behind it: a refused push never reaches one.
        let client = Client::with_uri_str("mongodb://127.0.0.1:9/?directConnection=true")
            .await
            .unwrap();
        let db = client.database("unused");
        let committer = Committer::new(client, db, Conflicts::default().policy());
        // Other pushes hold the queue's bytes but one change's worth.
        committer
            .queued
            .store(MAX_QUEUE_BYTES - 100, Ordering::SeqCst);
        let (j, _answer) = job(&Arc::default(), "a", 1, 1000);
        let answer = committer.push("a", 0, 0, j.changes.clone(), 1).await;
        assert!(
            matches!(answer, Err(StoreError::Unavailable(_))),
            "{answer:?}"
        );
        assert_eq!(
            committer.queued.load(Ordering::SeqCst),
            MAX_QUEUE_BYTES - 100
        );
    }

    #[test]
    fn a_batch_holds_at_most_max_batch_bytes_of_changes_and_a_push_over_the_rest_waits() {
        let queued = Arc::default();
        let mut next = Forming::default();
        let mut waiting = Vec::new();
        // Three pushes of 12 changes of 256 KiB (3 MiB each), then a small one.
        for (u, n, len) in [
            ("a", 12, 256 * 1024),
            ("b", 12, 256 * 1024),
            ("c", 12, 256 * 1024),
            ("d", 1, 10),
        ] {
            let (j, answer) = job(&queued, u, n, len);
            waiting.push(answer);
            next.offer(j);
        }
        assert_eq!(users(&next.batch), ["a", "b", "d"]);
        assert_eq!(users(&Vec::from(next.later)), ["c"]);
        let bytes: usize = next.batch.iter().map(|j| j.ticket.bytes).sum();
        assert!(bytes <= MAX_BATCH_BYTES, "{bytes}");
    }

    #[test]
    fn a_push_of_a_user_whose_batch_still_runs_waits_for_a_later_batch() {
        let queued = Arc::default();
        // b's earlier push is in the batch still committing.
        let mut next = Forming::default();
        next.busy = ["b".to_owned()].into();
        let mut waiting = Vec::new();
        for u in ["a", "b", "c", "b"] {
            let (j, answer) = job(&queued, u, 1, 0);
            waiting.push(answer);
            next.offer(j);
        }
        assert_eq!(users(&next.batch), ["a", "c"]);
        // Both of b's pushes wait, in their order.
        assert_eq!(users(&Vec::from(next.later)), ["b", "b"]);
    }

    #[test]
    fn a_push_larger_than_a_batch_is_a_batch_of_its_own() {
        let queued = Arc::default();
        let mut next = Forming::default();
        let (big, _big) = job(&queued, "big", 40, 256 * 1024);
        let (small, _small) = job(&queued, "small", 1, 10);
        next.offer(big);
        next.offer(small);
        assert_eq!(users(&next.batch), ["big"]);
        assert_eq!(users(&Vec::from(next.later)), ["small"]);
    }
}
