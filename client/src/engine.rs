//! The sync engine: push pending edits, pull remote changes, until nothing is waiting.
//!
//! Sans-I/O at its core: [`Run::plan`] turns the local state (the outbox, the cursor, the
//! limits) into the next request, and [`Run::fold`] turns the answer into what to write
//! (the clock offset, the timestamps the device clock must observe, the report); both are
//! pure and tested without I/O. The store applies a response with the pure
//! [`crate::local::reconcile()`] inside its own transaction. [`sync`] is the loop that does the
//! I/O between the steps, written once against [`LocalStore`] and [`Transport`]; the browser
//! plugs in IndexedDB and `gloo-net`, native tests plug in memory and an HTTP client against
//! a real server. In a long pull with nothing to push, the next page is requested while
//! the one before is written ([`sync_observed`]). When and how often to run it is the
//! business of [`crate::runner`].

use sync_core::limits::{MAX_CHANGES_PER_REQUEST, MAX_REQUEST_BYTES, check_change};
use sync_core::protocol::{
    Change, ChangeOutcome, Cursor, ErrorBody, ErrorCode, PROTOCOL_VERSION, RejectCode, SyncRequest,
    SyncResponse,
};
use sync_core::{ChangeId, Hlc, NoteId};

use crate::api::{ApiClient, ApiError, Http};
use crate::clock::{DeviceClock, META_DEVICE_CLOCK, estimate_offset};
use crate::local::{
    LocalNote, LocalStore, StoreError, SyncState, forget_cursor, refused_for_clock,
    restamp_refused, set_clock_offset,
};
use crate::platform;

/// Sends one sync request: [`crate::api::ApiClient`] over HTTP; tests plug in a server of
/// their own.
#[allow(async_fn_in_trait)]
pub trait Transport {
    /// `POST /sync`.
    async fn sync(&self, request: &SyncRequest) -> Result<SyncResponse, ApiError>;
}

impl<H: Http> Transport for ApiClient<H> {
    async fn sync(&self, request: &SyncRequest) -> Result<SyncResponse, ApiError> {
        ApiClient::sync(self, request).await
    }
}

/// Why a sync run stopped early. Local data is never lost by a failed run: the local store
/// is only written with complete, successful responses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SyncError {
    /// The request failed.
    #[error(transparent)]
    Transport(#[from] ApiError),
    /// The local store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The server keeps saying there is more after many rounds.
    #[error("sync did not finish after {0} rounds; it continues next time")]
    TooManyRounds(usize),
    /// Not attempted: this browser's records no longer name the account of this store
    /// (another tab signed out, or in as someone else), so its session must not sync it
    /// ([`crate::runner`]'s guard). Like a `401`, nothing is retried until a sign-in.
    #[error("this browser is signed in to another account now, or to none")]
    NotThisAccount,
}

/// What one sync run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Requests made.
    pub rounds: usize,
    /// Changes pushed.
    pub pushed: usize,
    /// Remote note states received.
    pub pulled: usize,
    /// Pushed edits that lost to a newer version under last-write-wins (each is kept in
    /// its note's history on the server; the app says so).
    pub superseded: usize,
    /// Pushed deletes that did not happen because another device edited the note
    /// meanwhile (the edit wins; the note is back, and the app says so).
    pub deletes_undone: usize,
    /// Notes left with a conflict for the user to resolve.
    pub conflicts: usize,
    /// Notes refused on this device before sending (over a limit); each is marked failed
    /// with the reason and stays local.
    pub refused: usize,
    /// The notes this run wrote to the local store (answered or pulled), each once: the
    /// page re-reads these (an open editor among them changed underneath).
    pub changed: Vec<NoteId>,
}

impl SyncReport {
    /// True when the run changed the local store (other tabs should re-read it).
    pub fn changed_store(&self) -> bool {
        !self.changed.is_empty() || self.refused > 0
    }
}

/// A failure, as the UI tells it apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FailureKind {
    /// The server cannot be reached (offline, DNS, refused, timeout).
    Network,
    /// No valid session: the user must sign in; nothing is retried until then.
    SignedOut,
    /// The server answered with an error (its JSON error code is in the message).
    Server,
    /// The server's answer was not a sync response.
    Protocol,
    /// The local store failed (storage full, closed for an upgrade).
    Store,
    /// The server kept saying there is more; the run continues next time.
    TooManyRounds,
}

impl SyncError {
    /// What kind of failure this is.
    pub fn kind(&self) -> FailureKind {
        match self {
            Self::Transport(ApiError::Offline(_)) => FailureKind::Network,
            Self::Transport(ApiError::Unauthorized { .. }) => FailureKind::SignedOut,
            Self::Transport(ApiError::Server { .. }) => FailureKind::Server,
            Self::Transport(ApiError::Decode(_)) => FailureKind::Protocol,
            Self::Store(_) => FailureKind::Store,
            Self::TooManyRounds(_) => FailureKind::TooManyRounds,
            Self::NotThisAccount => FailureKind::SignedOut,
        }
    }
}

/// First retry delay after a failed sync.
pub const BACKOFF_BASE_MS: u64 = 1_000;
/// Longest delay between retries.
pub const BACKOFF_MAX_MS: u64 = 5 * 60_000;

/// Delay before the next attempt after `failures` failed syncs in a row (1 or more):
/// exponential (1 s, 2 s, 4 s, … up to 5 min) with "equal jitter": half fixed, half random
/// (`rand` in [0, 1)), so many clients that failed together do not retry together.
pub fn backoff_delay_ms(failures: u32, rand: f64) -> u64 {
    let exp = failures.saturating_sub(1).min(20);
    let cap = BACKOFF_BASE_MS.saturating_mul(1 << exp).min(BACKOFF_MAX_MS);
    cap / 2 + (rand.clamp(0.0, 1.0) * (cap / 2) as f64) as u64
}

/// Budget for the changes of one request: half the server's body limit, leaving room.
pub const REQUEST_BUDGET_BYTES: usize = MAX_REQUEST_BYTES / 2;

/// Most request rounds in one run, so a misbehaving server cannot spin the client forever.
pub const MAX_ROUNDS: usize = 1000;

/// What the device sends at most per request (the documented limits, with room).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Most changes in one request.
    pub max_changes: usize,
    /// Most bytes of changes (JSON) in one request; a single change larger than this is
    /// refused on the device, never sent.
    pub budget_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_changes: MAX_CHANGES_PER_REQUEST,
            budget_bytes: REQUEST_BUDGET_BYTES,
        }
    }
}

/// A pending edit the device will not send as it is: over a documented limit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The note.
    pub note_id: NoteId,
    /// The refused change (the note is marked failed only if it is still this change).
    pub change_id: ChangeId,
    /// Why, with the server's code for the same rule.
    pub code: RejectCode,
    /// What to do about it.
    pub message: String,
}

/// The next request, planned from the local state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// The request to send.
    pub request: SyncRequest,
    /// Pending changes that did not fit and go in a later round.
    pub more_to_push: bool,
    /// Pending changes refused on the device (mark them failed; never send them).
    pub refused: Vec<Refusal>,
}

/// What one answer means for the device, besides the notes (see [`Run::fold`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fold {
    /// The server clock's offset from the device clock (server minus device, ms).
    pub offset_ms: i64,
    /// The largest timestamp in the answer: the device clock observes it before the notes
    /// are written, so no edit made after seeing them can order before them.
    pub observed: Option<Hlc>,
    /// True when another round is needed (more to pull or to push).
    pub more: bool,
}

/// One sync run as a pure state machine: plan a request, fold its answer, repeat.
#[derive(Clone, Debug, Default)]
pub struct Run {
    limits: Limits,
    report: SyncReport,
    /// The ids in `report.changed`, to keep it free of repeats in constant time per id.
    changed: std::collections::HashSet<NoteId>,
}

/// Checks a pending change against the documented limits before it is sent. The clock
/// bound is left to the server (only it knows its time); everything else is checked here,
/// so an oversize note fails here, with the reason, instead of making every request fail.
pub fn check_pending(change: &Change, limits: &Limits) -> Result<usize, (RejectCode, String)> {
    check_change(change, u64::MAX)?;
    let bytes = sync_core::limits::json_len(change);
    if bytes > limits.budget_bytes {
        return Err((
            RejectCode::TooLarge,
            format!(
                "the note is {} KB to send, more than one request carries ({} KB); shorten it",
                bytes / 1024,
                limits.budget_bytes / 1024
            ),
        ));
    }
    Ok(bytes)
}

impl Run {
    /// A run with these limits.
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            report: SyncReport::default(),
            changed: Default::default(),
        }
    }

    /// What the run did so far.
    pub fn report(&self) -> &SyncReport {
        &self.report
    }

    /// The run's report.
    pub fn into_report(self) -> SyncReport {
        self.report
    }

    /// Plans the next request from the outbox (`pending`, as [`LocalStore::pending`] gives
    /// it) and the cursor: the oldest changes first, at most [`Limits::max_changes`] and
    /// [`Limits::budget_bytes`] of them; changes over a limit are refused, not sent.
    pub fn plan(&mut self, pending: &[LocalNote], cursor: Option<Cursor>) -> Plan {
        let mut changes: Vec<Change> = pending.iter().filter_map(|n| n.pending_change()).collect();
        changes.sort_by(|a, b| a.hlc.cmp(&b.hlc));
        let mut refused = Vec::new();
        let mut fits = Vec::new();
        let mut bytes = 0;
        let mut more_to_push = false;
        for c in changes {
            match check_pending(&c, &self.limits) {
                Err((code, message)) => refused.push(Refusal {
                    note_id: c.note_id,
                    change_id: c.change_id,
                    code,
                    message,
                }),
                Ok(_) if more_to_push => {}
                Ok(size) => {
                    if fits.len() == self.limits.max_changes
                        || bytes + size > self.limits.budget_bytes
                    {
                        more_to_push = true;
                    } else {
                        bytes += size;
                        fits.push(c);
                    }
                }
            }
        }
        self.report.refused += refused.len();
        Plan {
            request: SyncRequest {
                protocol: PROTOCOL_VERSION,
                cursor,
                changes: fits,
                limit: None,
            },
            more_to_push,
            refused,
        }
    }

    /// Folds the answer to `plan`'s request, sent at `sent_at_ms` and answered at
    /// `received_at_ms` (device clock).
    pub fn fold(
        &mut self,
        plan: &Plan,
        response: &SyncResponse,
        sent_at_ms: u64,
        received_at_ms: u64,
    ) -> Fold {
        let r = &mut self.report;
        r.rounds += 1;
        r.pushed += plan.request.changes.len();
        r.pulled += response.changes.len();
        let mut observed: Option<Hlc> = None;
        let mut see_state = |s: &sync_core::NoteState| {
            let versions = s.conflict.iter().flat_map(|c| &c.versions);
            // The fields' clocks too: a field edit from a device whose clock runs ahead
            // must be ordered before this device's next edit of that field.
            let fields = s.fields.latest();
            for h in std::iter::once(&s.hlc)
                .chain(versions.map(|v| &v.hlc))
                .chain(fields)
            {
                if observed.as_ref().is_none_or(|o| h > o) {
                    observed = Some(h.clone());
                }
            }
        };
        for n in &response.changes {
            see_state(n);
        }
        for res in &response.results {
            match &res.outcome {
                ChangeOutcome::Superseded { current } => {
                    see_state(current);
                    let was_delete = plan
                        .request
                        .changes
                        .iter()
                        .any(|c| c.change_id == res.change_id && c.deleted);
                    if was_delete && !current.deleted {
                        r.deletes_undone += 1;
                    } else {
                        r.superseded += 1;
                    }
                }
                ChangeOutcome::Applied {
                    current: Some(c), ..
                } => {
                    see_state(c);
                    if c.conflict.is_some() {
                        r.conflicts += 1;
                    }
                }
                // Stored as sent: the change's own stamp, already behind the device clock.
                ChangeOutcome::Applied { current: None, .. } | ChangeOutcome::Rejected { .. } => {}
            }
        }
        for id in crate::local::affected_ids(response) {
            if self.changed.insert(id.clone()) {
                r.changed.push(id);
            }
        }
        Fold {
            offset_ms: estimate_offset(response.server_time_ms, sent_at_ms, received_at_ms),
            observed,
            more: response.has_more || plan.more_to_push,
        }
    }
}

/// Marks a refused change failed, with its reason, unless the note was edited meanwhile
/// (then the newer edit is checked on the next run).
pub fn mark_refused(note: &mut LocalNote, refusal: &Refusal) -> bool {
    if note.pending.as_ref() != Some(&refusal.change_id) {
        return false;
    }
    note.sync = SyncState::Failed {
        code: refusal.code.as_str().to_owned(),
        message: refusal.message.clone(),
    };
    true
}

/// The answer to a request, and when it came (device clock).
type Answer = (Result<SyncResponse, ApiError>, u64);

/// A request sent ahead of its round (the next page of a long pull).
struct Ahead<'a> {
    plan: Plan,
    sent_at: u64,
    request: std::pin::Pin<Box<dyn std::future::Future<Output = Answer> + 'a>>,
    /// Its answer, once it came while something else was awaited.
    answer: Option<Answer>,
}

impl Ahead<'_> {
    /// Awaits `work`, moving the request along meanwhile.
    async fn meanwhile<F: std::future::Future>(&mut self, work: F) -> F::Output {
        let mut work = std::pin::pin!(work);
        std::future::poll_fn(|cx| {
            if self.answer.is_none()
                && let std::task::Poll::Ready(a) = self.request.as_mut().poll(cx)
            {
                self.answer = Some(a);
            }
            work.as_mut().poll(cx)
        })
        .await
    }
}

/// Plans the next round from the store: the outbox (edits refused for a clock that was
/// ahead stamped again first) and the cursor; refused changes are marked failed.
async fn plan_round<S: LocalStore>(
    store: &S,
    run: &mut Run,
    restamped: &mut std::collections::HashSet<NoteId>,
    now: &dyn Fn() -> u64,
) -> Result<Plan, SyncError> {
    let mut pending = store.pending().await?;
    // Edits refused because this device's clock was ahead of the server's: the clock is
    // corrected now (every response carries the server's time), so they are stamped again
    // and sent in this request, instead of waiting for the user to edit them again.
    let mut again = false;
    for n in pending.iter().filter(|n| refused_for_clock(n)) {
        if restamped.insert(n.id.clone()) {
            again |= restamp_refused(store, now(), n).await?;
        }
    }
    if again {
        pending = store.pending().await?;
    }
    // An empty cursor is a reset one (see `sync_observed`): sync from the start.
    let cursor = store.cursor().await?.filter(|c| !c.0.is_empty());
    let plan = run.plan(&pending, cursor);
    for refusal in &plan.refused {
        store
            .update_note(&refusal.note_id, &mut |n| mark_refused(n, refusal))
            .await?;
    }
    Ok(plan)
}

/// Pushes every pending change and pulls until the server has nothing more, with the
/// device's wall clock.
pub async fn sync<S: LocalStore, T: Transport>(
    store: &S,
    transport: &T,
) -> Result<SyncReport, SyncError> {
    sync_with(store, transport, Limits::default(), &platform::now_ms).await
}

/// [`sync`] with the given limits and wall clock (`now` in ms since the epoch; tests inject
/// a simulated one).
pub async fn sync_with<S: LocalStore, T: Transport>(
    store: &S,
    transport: &T,
    limits: Limits,
    now: &dyn Fn() -> u64,
) -> Result<SyncReport, SyncError> {
    sync_observed(store, transport, limits, now, &mut |_| {}).await
}

/// [`sync_with`], calling `progress` with the report so far after each round that is not
/// the last (its pages are committed: a long initial sync shows its first notes, and its
/// progress, while the rest downloads; interrupted, it resumes from the committed cursor).
pub async fn sync_observed<S: LocalStore, T: Transport>(
    store: &S,
    transport: &T,
    limits: Limits,
    now: &dyn Fn() -> u64,
    progress: &mut dyn FnMut(&SyncReport),
) -> Result<SyncReport, SyncError> {
    let mut run = Run::new(limits);
    let mut cursor_reset = false;
    // Notes whose edit was stamped again in this run after a `clock_ahead` refusal (once
    // each per run: a clock the server refuses again waits for the next run).
    let mut restamped = std::collections::HashSet::new();
    // The next page of a long pull, asked for while the one before is written.
    let mut ahead: Option<Ahead<'_>> = None;
    while run.report().rounds < MAX_ROUNDS {
        let (plan, sent_at, (answer, received_at)) = match ahead.take() {
            Some(a) => {
                let answer = match a.answer {
                    Some(answer) => answer,
                    None => a.request.await,
                };
                (a.plan, a.sent_at, answer)
            }
            None => {
                let plan = plan_round(store, &mut run, &mut restamped, now).await?;
                let sent_at = now();
                let answer = transport.sync(&plan.request).await;
                (plan, sent_at, (answer, now()))
            }
        };
        let response = match answer {
            // The server does not know this cursor (another server, or another account's
            // cursor): pull everything again, once. Pending edits are kept by `reconcile`.
            Err(ApiError::Server {
                body:
                    Some(ErrorBody {
                        error: ErrorCode::InvalidCursor,
                        ..
                    }),
                ..
            }) if !cursor_reset && plan.request.cursor.is_some() => {
                cursor_reset = true;
                forget_cursor(store).await?;
                continue;
            }
            r => r?,
        };
        let fold = run.fold(&plan, &response, sent_at, received_at);
        let clock_refused = response.results.iter().any(|r| {
            matches!(
                &r.outcome,
                ChangeOutcome::Rejected {
                    code: RejectCode::ClockAhead,
                    ..
                }
            ) && plan
                .request
                .changes
                .iter()
                .any(|c| c.change_id == r.change_id && !restamped.contains(&c.note_id))
        });
        // A pull that goes on with nothing to send: the next page is asked for now, with
        // this page's cursor, and downloads while this one is written (the device, not the
        // server, is the slower). Its cursor is stored only with its own page; an edit
        // saved meanwhile is sent in the round after it.
        let pull_on = response.has_more
            && plan.request.changes.is_empty()
            && !plan.more_to_push
            && plan.refused.is_empty()
            && !clock_refused
            && run.report().rounds < MAX_ROUNDS;
        if pull_on {
            let plan = Plan {
                request: SyncRequest {
                    protocol: PROTOCOL_VERSION,
                    cursor: Some(response.cursor.clone()),
                    changes: Vec::new(),
                    limit: None,
                },
                more_to_push: false,
                refused: Vec::new(),
            };
            let request = plan.request.clone();
            ahead = Some(Ahead {
                plan,
                sent_at: now(),
                request: Box::pin(async move {
                    let answer = transport.sync(&request).await;
                    (answer, now())
                }),
                answer: None,
            });
        }
        let write = async {
            set_clock_offset(store, fold.offset_ms).await?;
            if let Some(h) = &fold.observed {
                store
                    .update_meta(META_DEVICE_CLOCK, &mut |v| {
                        let mut clock: DeviceClock =
                            v.and_then(|v| v.parse().ok()).unwrap_or_default();
                        clock.observe(h);
                        Some(clock.to_string())
                    })
                    .await?;
            }
            store.commit_sync(&plan.request.changes, &response).await
        };
        match ahead.as_mut() {
            Some(a) => a.meanwhile(write).await?,
            None => write.await?,
        }
        if !fold.more && !clock_refused {
            return Ok(run.into_report());
        }
        progress(run.report());
    }
    Err(SyncError::TooManyRounds(MAX_ROUNDS))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::local::SyncState;
    use sync_core::protocol::{ChangeResult, SyncResponse};
    use sync_core::{NoteState, Strategy};

    fn hlc(w: u64, node: &str) -> Hlc {
        Hlc {
            wall_ms: w,
            counter: 0,
            node: node.into(),
        }
    }

    fn pending(id: &str, content: &str, at: u64) -> LocalNote {
        LocalNote {
            id: id.into(),
            title: format!("note {id}"),
            content: content.into(),
            deleted: false,
            hlc: hlc(at, "me"),
            base_version: None,
            pending: Some(format!("c-{id}").as_str().into()),
            sync: SyncState::Pending,
            base: None,
            strategy: Strategy::Default,
            strategy_changed: false,
            conflict: None,
            resolving: false,
            local_conflict: false,
            typed_on: None,
            purge: false,
            trash: None,
            fields: Default::default(),
            field_edits: Default::default(),
            edit_clocks: Default::default(),
        }
    }

    fn state(id: &str, at: u64, version: u64) -> NoteState {
        NoteState {
            id: id.into(),
            title: String::new(),
            content: String::new(),
            deleted: false,
            hlc: hlc(at, "them"),
            version,
            strategy: Strategy::Default,
            conflict: None,
            purged: false,
            fields: Default::default(),
        }
    }

    fn answer(results: Vec<ChangeResult>, changes: Vec<NoteState>, more: bool) -> SyncResponse {
        SyncResponse {
            protocol: PROTOCOL_VERSION,
            results,
            changes,
            cursor: Cursor("v1.9".into()),
            has_more: more,
            server_time_ms: 10_000,
        }
    }

    #[test]
    fn a_plan_sends_the_oldest_first_within_the_limits() {
        let limits = Limits {
            max_changes: 2,
            budget_bytes: 10_000,
        };
        let mut run = Run::new(limits);
        let notes = [
            pending("b", "", 30),
            pending("a", "", 10),
            pending("c", "", 20),
        ];
        let plan = run.plan(&notes, Some(Cursor("v1.3".into())));
        let ids: Vec<&str> = plan
            .request
            .changes
            .iter()
            .map(|c| c.note_id.as_str())
            .collect();
        assert_eq!(ids, ["a", "c"]);
        assert!(plan.more_to_push);
        assert_eq!(plan.request.cursor, Some(Cursor("v1.3".into())));
        assert!(plan.refused.is_empty());

        // A failed note is not pushed again as it is.
        let mut failed = pending("d", "", 5);
        failed.sync = SyncState::Failed {
            code: "too_large".into(),
            message: "m".into(),
        };
        let plan = Run::new(limits).plan(&[failed], None);
        assert!(plan.request.changes.is_empty() && !plan.more_to_push);
    }

    #[test]
    fn an_oversize_note_is_refused_on_the_device_and_does_not_block_the_others() {
        let big = "x".repeat(sync_core::limits::MAX_CONTENT_BYTES + 1);
        let notes = [
            pending("a", "small", 10),
            pending("big", &big, 5),
            pending("c", "", 20),
        ];
        let mut run = Run::default();
        let plan = run.plan(&notes, None);
        let ids: Vec<&str> = plan
            .request
            .changes
            .iter()
            .map(|c| c.note_id.as_str())
            .collect();
        assert_eq!(ids, ["a", "c"]);
        assert_eq!(plan.refused.len(), 1);
        let r = &plan.refused[0];
        assert_eq!((r.note_id.as_str(), r.code), ("big", RejectCode::TooLarge));
        assert!(r.message.contains("bytes"), "{}", r.message);

        // Marked failed only while it is still the refused change.
        let mut note = notes[1].clone();
        assert!(mark_refused(&mut note, r));
        assert!(matches!(&note.sync, SyncState::Failed { code, .. } if code == "too_large"));
        let mut edited = notes[1].clone();
        edited.pending = Some("newer".into());
        assert!(!mark_refused(&mut edited, r));

        // Over the request budget as JSON, though within the text limits: refused too.
        let tight = Limits {
            max_changes: 10,
            budget_bytes: 100,
        };
        let plan = Run::new(tight).plan(&[pending("a", &"y".repeat(200), 1)], None);
        assert_eq!(plan.refused.len(), 1);
        assert!(plan.request.changes.is_empty());
    }

    #[test]
    fn a_fold_observes_every_remote_clock_and_estimates_the_offset_at_the_midpoint() {
        let mut run = Run::default();
        let notes = [pending("a", "", 10)];
        let plan = run.plan(&notes, None);
        let mut superseding = state("a", 900, 4);
        superseding.conflict = Some(sync_core::Conflict {
            versions: vec![sync_core::Version {
                title: String::new(),
                content: String::new(),
                deleted: false,
                hlc: hlc(950, "third"),
            }],
            proposal: None,
        });
        let resp = answer(
            vec![ChangeResult {
                change_id: "c-a".into(),
                note_id: "a".into(),
                outcome: ChangeOutcome::Superseded {
                    current: superseding,
                },
                fields_refused: None,
            }],
            vec![state("x", 500, 3)],
            true,
        );
        // Sent at 1000, answered at 1400: the server's 10,000 is at the device's 1200.
        let fold = run.fold(&plan, &resp, 1_000, 1_400);
        assert_eq!(fold.offset_ms, 8_800);
        assert_eq!(fold.observed, Some(hlc(950, "third")));
        assert!(fold.more);
        let r = run.report();
        assert_eq!((r.rounds, r.pushed, r.pulled, r.superseded), (1, 1, 1, 1));
        assert_eq!(r.changed, vec![NoteId::from("a"), NoteId::from("x")]);
    }

    #[test]
    fn a_fold_observes_the_clocks_of_fields_too() {
        let mut run = Run::default();
        let plan = run.plan(&[], None);
        // The text's clock is 500; a fast device pinned the note at 2,000.
        let mut pinned = state("x", 500, 3);
        pinned.fields.apply(
            &std::collections::BTreeMap::from([(
                "pinned".to_owned(),
                sync_core::fields::FieldEdit::Register(true.into()),
            )]),
            &hlc(2_000, "fast"),
        );
        let fold = run.fold(&plan, &answer(vec![], vec![pinned], false), 1_000, 1_000);
        assert_eq!(fold.observed, Some(hlc(2_000, "fast")));
    }

    #[test]
    fn backoff_grows_exponentially_with_jitter_and_is_capped() {
        assert_eq!(backoff_delay_ms(1, 0.0), 500);
        assert_eq!(backoff_delay_ms(1, 0.999_999), 999);
        assert_eq!(backoff_delay_ms(2, 0.0), 1_000);
        assert_eq!(backoff_delay_ms(4, 0.5), 6_000);
        for f in 1..40 {
            let lo = backoff_delay_ms(f, 0.0);
            let hi = backoff_delay_ms(f, 0.999_999);
            assert!(lo <= hi && hi <= BACKOFF_MAX_MS, "{f}: {lo}..{hi}");
            assert!(backoff_delay_ms(f + 1, 0.0) >= lo, "never shrinks");
        }
        assert_eq!(backoff_delay_ms(30, 0.0), BACKOFF_MAX_MS / 2);
    }
}
