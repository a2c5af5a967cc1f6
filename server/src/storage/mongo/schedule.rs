//! Which pushes go into the committer's next batch ([`Schedule`]): the assignment of pushes
//! to batches as a pure state machine (no I/O, no clock), so that every interleaving of
//! arrivals, batches and their ends can be tested against a reference model (the tests
//! below).
//!
//! What it promises:
//! - A user's pushes start in arrival order, and never two at once: a push waits while an
//!   earlier push of its user waits or runs, whether in a batch or on its own after its
//!   batch was handed off (`commit::each_on_its_own`); its user is released only when
//!   that is done ([`Schedule::release`]).
//! - A batch holds at most one push per user, [`MAX_BATCH_PUSHES`] pushes,
//!   [`MAX_BATCH_CHANGES`] changes and [`MAX_BATCH_BYTES`] of them (a larger push is a
//!   batch of its own).
//! - A push nobody waits for any more ([`Queued::abandoned`]) is dropped unrun.
//! - When to form the next batch ([`Schedule::start`]): at once when no batch runs; while
//!   one runs, only once [`FULL_ENOUGH`] pushes could go in it or one of them has waited
//!   [`LINGER`] since it was queued. A batch of a handful costs the database nearly what
//!   one of hundreds costs (its round trips and its synced commit), and it holds one of
//!   the committer's slots as long: so the pushes that arrive while a batch runs gather for
//!   a little while into a fuller one, and no push waits longer than [`LINGER`] for a free
//!   slot's batch.

use std::collections::{HashSet, VecDeque};
use std::time::{Duration, Instant};

use sync_core::limits;

/// Most changes in one batch (a single larger push is a batch of its own): bounds the
/// transaction's size and the time the batch's plan holds a blocking thread.
pub const MAX_BATCH_CHANGES: usize = limits::MAX_CHANGES_PER_REQUEST;
/// Most pushes in one batch.
pub const MAX_BATCH_PUSHES: usize = 256;
/// Most bytes of changes (`commit::change_bytes`) in one batch (a single larger push is a batch
/// of its own): bounds the transaction's writes, and the commands that carry them (a
/// command is at most 16 MB of BSON; a note written holds little more than its change's
/// texts, a merge result being bounded by the texts merged).
pub const MAX_BATCH_BYTES: usize = 8 * 1024 * 1024;
/// Pushes that make a batch worth starting beside a running one at once.
pub const FULL_ENOUGH: usize = 64;
/// Longest a push that could go into a batch is held back, while another batch runs, for a
/// fuller one ([`Schedule::start`]).
pub const LINGER: Duration = Duration::from_millis(5);

/// When the next batch may be formed ([`Schedule::start`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    /// Now ([`Schedule::next_batch`]; it may still be empty, of pushes whose users are busy).
    Now,
    /// At this time, unless more pushes arrive or the running batch ends before.
    At(Instant),
    /// Not before something changes: nothing waits that could run.
    Idle,
}

/// What the schedule needs to know of a push.
pub trait Queued {
    /// Its user.
    fn user(&self) -> &str;
    /// How many changes it holds.
    fn changes(&self) -> usize;
    /// Its bytes of changes (`commit::change_bytes`).
    fn bytes(&self) -> usize;
    /// Whether nobody waits for its answer any more (its request timed out, or its client
    /// left): nothing of it was written, so it is dropped.
    fn abandoned(&self) -> bool;
    /// When it was queued.
    fn queued_at(&self) -> Instant;
}

/// The pushes waiting for a batch, and the users whose pushes run.
pub struct Schedule<J> {
    /// Pushes read off the queue, in arrival order, waiting for a batch.
    waiting: VecDeque<J>,
    /// Users with a push running (in a batch, or on its own after its batch was handed
    /// off): their next pushes wait until [`Schedule::release`].
    busy: HashSet<String>,
    /// [`FULL_ENOUGH`] and [`LINGER`] (smaller in tests).
    full_enough: usize,
    linger: Duration,
}

impl<J> std::fmt::Debug for Schedule<J> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Schedule")
            .field("waiting", &self.waiting.len())
            .field("busy", &self.busy)
            .finish()
    }
}

impl<J> Default for Schedule<J> {
    fn default() -> Self {
        Self {
            waiting: VecDeque::new(),
            busy: HashSet::new(),
            full_enough: FULL_ENOUGH,
            linger: LINGER,
        }
    }
}

impl<J> Schedule<J> {
    /// A schedule that starts a batch beside a running one with `full_enough` pushes, or
    /// once one of them waited `linger`.
    #[cfg(test)]
    fn gathering(full_enough: usize, linger: Duration) -> Self {
        Self {
            full_enough,
            linger,
            ..Self::default()
        }
    }
}

impl<J: Queued> Schedule<J> {
    /// A push read off the queue: it waits behind every push that arrived before it.
    pub fn arrive(&mut self, j: J) {
        self.waiting.push_back(j);
    }

    /// How many pushes wait.
    pub fn waiting(&self) -> usize {
        self.waiting.len()
    }

    /// Whether to form the next batch now, `running` batches running (fewer than the
    /// committer's slots): at once when none runs; else once [`FULL_ENOUGH`] pushes could go
    /// into it, or the oldest of them has waited [`LINGER`], or the pushes read off the queue
    /// are a batch's worth (the queue is not read further until a batch takes some).
    pub fn start(&self, running: usize, now: Instant) -> Start {
        if self.waiting.is_empty() {
            return Start::Idle;
        }
        if running == 0 || self.waiting.len() >= MAX_BATCH_PUSHES {
            return Start::Now;
        }
        // The pushes a batch formed now would take (at most one per user, none of a busy
        // user, in arrival order), bounds aside.
        let mut users: HashSet<&str> = HashSet::new();
        let mut oldest: Option<Instant> = None;
        for j in &self.waiting {
            if j.abandoned() || self.busy.contains(j.user()) || !users.insert(j.user()) {
                continue;
            }
            let at = j.queued_at();
            oldest = Some(oldest.map_or(at, |o| o.min(at)));
            if users.len() >= self.full_enough {
                return Start::Now;
            }
        }
        match oldest {
            None => Start::Idle,
            Some(at) if at + self.linger <= now => Start::Now,
            Some(at) => Start::At(at + self.linger),
        }
    }

    /// The next batch: the waiting pushes that fit, in arrival order, then pushes from
    /// `more` (the queue, read only while a batch could still take them). Its users are
    /// busy until released. Empty when nothing waiting may run yet.
    pub fn next_batch(&mut self, mut more: impl FnMut() -> Option<J>) -> Vec<J> {
        let mut next = Forming {
            busy: std::mem::take(&mut self.busy),
            ..Forming::default()
        };
        for j in self.waiting.drain(..) {
            next.offer(j);
        }
        while next.wants_more() {
            match more() {
                Some(j) => next.offer(j),
                None => break,
            }
        }
        self.waiting = next.later;
        self.busy = next.busy;
        self.busy.extend(next.users);
        next.batch
    }

    /// The pushes of `users` are done (committed, failed, or answered after running on
    /// their own): their next pushes may run.
    pub fn release<'a>(&mut self, users: impl IntoIterator<Item = &'a str>) {
        for u in users {
            self.busy.remove(u);
        }
    }
}

/// The next batch, as the committer takes pushes for it in arrival order.
pub struct Forming<J> {
    /// The pushes taken, in arrival order.
    pub batch: Vec<J>,
    /// The batch's users.
    pub users: HashSet<String>,
    /// Changes in the batch.
    size: usize,
    /// Bytes of changes in the batch.
    bytes: usize,
    /// Pushes left for a later batch, in arrival order.
    pub later: VecDeque<J>,
    /// Users with a push in `later`: their later pushes wait behind it.
    deferred: HashSet<String>,
    /// Users with a push running: their pushes wait for a later batch.
    pub busy: HashSet<String>,
}

impl<J> std::fmt::Debug for Forming<J> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Forming")
            .field("batch", &self.batch.len())
            .field("later", &self.later.len())
            .finish_non_exhaustive()
    }
}

impl<J> Default for Forming<J> {
    fn default() -> Self {
        Self {
            batch: Vec::new(),
            users: HashSet::new(),
            size: 0,
            bytes: 0,
            later: VecDeque::new(),
            deferred: HashSet::new(),
            busy: HashSet::new(),
        }
    }
}

impl<J: Queued> Forming<J> {
    /// Takes `j` into the batch if it fits, else leaves it for a later one. A push whose
    /// request is gone is dropped: nothing of it was written and nobody waits for it.
    pub fn offer(&mut self, j: J) {
        if j.abandoned() {
            return;
        }
        let user = j.user();
        let fits = self.batch.len() < MAX_BATCH_PUSHES
            && self.size + j.changes() <= MAX_BATCH_CHANGES
            && (self.batch.is_empty() || self.bytes + j.bytes() <= MAX_BATCH_BYTES)
            && !self.users.contains(user)
            && !self.deferred.contains(user)
            && !self.busy.contains(user);
        if fits {
            self.users.insert(user.to_owned());
            self.size += j.changes();
            self.bytes += j.bytes();
            self.batch.push(j);
        } else {
            self.deferred.insert(user.to_owned());
            self.later.push_back(j);
        }
    }

    /// Whether more pushes are read off the queue for this batch.
    pub fn wants_more(&self) -> bool {
        self.batch.len() < MAX_BATCH_PUSHES && self.later.len() < MAX_BATCH_PUSHES
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use proptest::prelude::*;

    use super::*;

    /// A push of the model: its number (arrival order), user, size, and whether its
    /// request is gone.
    #[derive(Clone, Debug)]
    struct P {
        id: usize,
        user: String,
        changes: usize,
        bytes: usize,
        gone: bool,
        at: Instant,
    }

    /// Push `id` of `user`: one small change, queued at `at`.
    fn p_at(id: usize, user: &str, at: Instant) -> P {
        P {
            id,
            user: user.into(),
            changes: 1,
            bytes: 300,
            gone: false,
            at,
        }
    }

    /// Push `id` of `user`: one small change.
    fn p(id: usize, user: &str) -> P {
        p_at(id, user, Instant::now())
    }

    /// The `FULL_ENOUGH` of the model (five users could never make 64).
    const MODEL_FULL_ENOUGH: usize = 3;

    impl Queued for P {
        fn user(&self) -> &str {
            &self.user
        }
        fn changes(&self) -> usize {
            self.changes
        }
        fn bytes(&self) -> usize {
            self.bytes
        }
        fn abandoned(&self) -> bool {
            self.gone
        }
        fn queued_at(&self) -> Instant {
            self.at
        }
    }

    /// What happens next, as the committer's task and the database interleave it.
    #[derive(Clone, Debug)]
    enum Op {
        /// A push arrives in the queue (user, changes, large bytes, gone).
        Arrive(u8, usize, bool, bool),
        /// The committer reads one push off the queue.
        Recv,
        /// The committer forms a batch (when fewer than `IN_FLIGHT` run).
        Form,
        /// A running batch (by index) ends; `true`: its pushes are handed off to run on
        /// their own (it kept conflicting).
        End(usize, bool),
        /// A handed-off push (by index) is done: answered, and its user released.
        HandoffDone(usize),
        /// Time passes (ms).
        Tick(u64),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0u8..5, prop_oneof![3 => Just(1usize), 1 => 1usize..=MAX_BATCH_CHANGES], any::<bool>(), prop::bool::weighted(0.05))
                .prop_map(|(u, c, big, gone)| Op::Arrive(u, c, big, gone)),
            3 => Just(Op::Recv),
            2 => Just(Op::Form),
            2 => (0usize..4, prop::bool::weighted(0.3)).prop_map(|(i, h)| Op::End(i, h)),
            2 => (0usize..8).prop_map(Op::HandoffDone),
            2 => (0u64..=8).prop_map(Op::Tick),
        ]
    }

    /// The model: the schedule driven as `commit::run` drives it, checked after every step
    /// against the reference (per user, the pushes not yet started, in arrival order).
    struct Model {
        schedule: Schedule<P>,
        queue: VecDeque<P>,
        /// Batches running (at most `IN_FLIGHT`), and handed-off pushes running on their
        /// own.
        running: Vec<Vec<P>>,
        handoffs: Vec<P>,
        /// The reference: each user's pushes not started yet, in arrival order.
        pending: HashMap<String, VecDeque<usize>>,
        /// Pushes answered, in the order they were, and each user's answered ids.
        answered: HashSet<usize>,
        answered_of: HashMap<String, Vec<usize>>,
        arrived_of: HashMap<String, Vec<usize>>,
        gone: HashSet<usize>,
        /// Pushes read off the queue (by the committer's task, or for a batch).
        received: HashSet<usize>,
        /// When each push was queued.
        at: HashMap<usize, Instant>,
        now: Instant,
        next_id: usize,
    }

    impl Model {
        fn new() -> Self {
            Self {
                schedule: Schedule::gathering(MODEL_FULL_ENOUGH, LINGER),
                queue: VecDeque::new(),
                running: Vec::new(),
                handoffs: Vec::new(),
                pending: HashMap::new(),
                answered: HashSet::new(),
                answered_of: HashMap::new(),
                arrived_of: HashMap::new(),
                gone: HashSet::new(),
                received: HashSet::new(),
                at: HashMap::new(),
                now: Instant::now(),
                next_id: 0,
            }
        }

        /// The reference of what a batch formed now could take, bounds aside: the oldest
        /// push not started of each user with none running, if read off the queue (gone
        /// ones skipped), as (id, queued at).
        fn runnable(&self) -> Vec<(usize, Instant)> {
            let active = self.active();
            self.pending
                .iter()
                .filter(|(user, _)| !active.contains(*user))
                .filter_map(|(_, q)| q.iter().find(|id| !self.gone.contains(id)))
                .filter(|id| self.received.contains(id))
                .map(|id| (*id, self.at[id]))
                .collect()
        }

        /// Users with a push running (in a batch or on its own).
        fn active(&self) -> HashSet<String> {
            self.running
                .iter()
                .flatten()
                .chain(&self.handoffs)
                .map(|p| p.user.clone())
                .collect()
        }

        fn answer(&mut self, pushes: Vec<P>) {
            for p in pushes {
                assert!(self.answered.insert(p.id), "push {} answered twice", p.id);
                self.answered_of.entry(p.user).or_default().push(p.id);
            }
        }

        fn step(&mut self, op: Op) {
            match op {
                Op::Arrive(u, changes, big, gone) => {
                    let p = P {
                        id: self.next_id,
                        user: format!("u{u}"),
                        changes,
                        bytes: if big { MAX_BATCH_BYTES / 2 + 1 } else { 300 },
                        gone,
                        at: self.now,
                    };
                    self.at.insert(p.id, p.at);
                    self.next_id += 1;
                    if gone {
                        self.gone.insert(p.id);
                    }
                    self.pending
                        .entry(p.user.clone())
                        .or_default()
                        .push_back(p.id);
                    self.arrived_of
                        .entry(p.user.clone())
                        .or_default()
                        .push(p.id);
                    self.queue.push_back(p);
                }
                Op::Recv => {
                    if self.schedule.waiting() < MAX_BATCH_PUSHES
                        && let Some(p) = self.queue.pop_front()
                    {
                        self.received.insert(p.id);
                        self.schedule.arrive(p);
                    }
                }
                Op::Form => {
                    if self.running.len() >= super::super::commit::IN_FLIGHT {
                        return;
                    }
                    if !self.may_start() {
                        return;
                    }
                    let active = self.active();
                    let (queue, received) = (&mut self.queue, &mut self.received);
                    let batch = self.schedule.next_batch(|| {
                        let p = queue.pop_front()?;
                        received.insert(p.id);
                        Some(p)
                    });
                    self.check_batch(&batch, &active);
                    if !batch.is_empty() {
                        self.running.push(batch);
                    }
                }
                Op::Tick(ms) => self.now += Duration::from_millis(ms),
                Op::End(i, handed_off) => {
                    if self.running.is_empty() {
                        return;
                    }
                    let batch = self.running.remove(i % self.running.len());
                    if handed_off {
                        self.handoffs.extend(batch);
                    } else {
                        let users: Vec<String> = batch.iter().map(|p| p.user.clone()).collect();
                        self.answer(batch);
                        self.schedule.release(users.iter().map(String::as_str));
                    }
                }
                Op::HandoffDone(i) => {
                    if self.handoffs.is_empty() {
                        return;
                    }
                    let p = self.handoffs.remove(i % self.handoffs.len());
                    let user = p.user.clone();
                    self.answer(vec![p]);
                    self.schedule.release([user.as_str()]);
                }
            }
        }

        /// Whether the schedule starts a batch now, checked against the reference: at once
        /// when none runs; beside a running one only with `MODEL_FULL_ENOUGH` pushes that
        /// could go in, one that waited `LINGER`, or a batch's worth read; never a push held
        /// past `LINGER`; a wake-up exactly when the oldest would have waited `LINGER`.
        fn may_start(&self) -> bool {
            let start = self.schedule.start(self.running.len(), self.now);
            let runnable = self.runnable();
            let waiting = self.schedule.waiting();
            let waited = runnable.iter().any(|(_, at)| *at + LINGER <= self.now);
            if waiting > 0 && self.running.is_empty() {
                assert_eq!(
                    start,
                    Start::Now,
                    "no batch runs, yet {waiting} pushes wait"
                );
            }
            if waited {
                assert_eq!(start, Start::Now, "a push is held past the linger");
            }
            if runnable.len() >= MODEL_FULL_ENOUGH {
                assert_eq!(start, Start::Now, "a full enough batch is held");
            }
            match start {
                Start::Now => {
                    assert!(waiting > 0, "a batch started with nothing waiting");
                    assert!(
                        self.running.is_empty()
                            || waited
                            || runnable.len() >= MODEL_FULL_ENOUGH
                            || waiting >= MAX_BATCH_PUSHES,
                        "a small batch started beside a running one: {runnable:?}"
                    );
                    true
                }
                Start::At(t) => {
                    let oldest = runnable.iter().map(|(_, at)| *at).min();
                    assert_eq!(
                        Some(t),
                        oldest.map(|at| at + LINGER),
                        "woken at the wrong time"
                    );
                    assert!(t > self.now);
                    false
                }
                Start::Idle => {
                    assert!(runnable.is_empty(), "idle while {runnable:?} could run");
                    false
                }
            }
        }

        /// A batch: its users distinct and none running; each push the oldest not started
        /// of its user (the gone ones before it dropped); sizes within the bounds.
        fn check_batch(&mut self, batch: &[P], active: &HashSet<String>) {
            let mut users = HashSet::new();
            let (mut changes, mut bytes) = (0, 0);
            for p in batch {
                assert!(!p.gone, "a gone push {} was run", p.id);
                assert!(users.insert(p.user.clone()), "two pushes of {}", p.user);
                assert!(
                    !active.contains(&p.user),
                    "{} is in two running batches",
                    p.user
                );
                let q = self.pending.get_mut(&p.user).expect("arrived");
                while q.front().is_some_and(|id| self.gone.contains(id)) {
                    q.pop_front();
                }
                assert_eq!(q.pop_front(), Some(p.id), "{} out of order", p.user);
                changes += p.changes;
                bytes += p.bytes;
            }
            assert!(batch.len() <= MAX_BATCH_PUSHES);
            if batch.len() > 1 {
                assert!(changes <= MAX_BATCH_CHANGES && bytes <= MAX_BATCH_BYTES);
            }
        }

        /// Runs everything left to its end: every push is answered once, each user's in
        /// arrival order (the gone ones never).
        fn drain(mut self) {
            let mut rounds = 0;
            loop {
                rounds += 1;
                assert!(rounds < 10_000, "the schedule makes no progress");
                while let Some(b) = self.running.pop() {
                    let users: Vec<String> = b.iter().map(|p| p.user.clone()).collect();
                    self.answer(b);
                    self.schedule.release(users.iter().map(String::as_str));
                }
                while let Some(p) = self.handoffs.pop() {
                    let user = p.user.clone();
                    self.answer(vec![p]);
                    self.schedule.release([user.as_str()]);
                }
                while self.schedule.waiting() < MAX_BATCH_PUSHES && !self.queue.is_empty() {
                    self.step(Op::Recv);
                }
                if self.queue.is_empty() && self.schedule.waiting() == 0 {
                    break;
                }
                self.step(Op::Form);
            }
            for (user, arrived) in &self.arrived_of {
                let expected: Vec<usize> = arrived
                    .iter()
                    .copied()
                    .filter(|id| !self.gone.contains(id))
                    .collect();
                let got = self.answered_of.get(user).cloned().unwrap_or_default();
                assert_eq!(
                    got, expected,
                    "{user}'s pushes answered out of arrival order"
                );
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn every_interleaving_keeps_each_users_pushes_in_order_and_alone(
            ops in prop::collection::vec(op(), 0..200)
        ) {
            let mut m = Model::new();
            for op in ops {
                m.step(op);
            }
            m.drain();
        }
    }

    #[test]
    fn a_few_pushes_beside_a_running_batch_gather_until_the_linger() {
        let t0 = Instant::now();
        let mut s = Schedule::default();
        s.arrive(p_at(0, "a", t0));
        // No batch runs: at once.
        assert_eq!(s.start(0, t0), Start::Now);
        assert_eq!(s.next_batch(|| None).len(), 1);
        let t1 = t0 + Duration::from_millis(1);
        s.arrive(p_at(1, "b", t1));
        s.arrive(p_at(2, "c", t1 + Duration::from_millis(1)));
        // a's batch runs: b and c wait for more, until b has waited the linger.
        assert_eq!(s.start(1, t1), Start::At(t1 + LINGER));
        assert_eq!(
            s.start(1, t1 + LINGER - Duration::from_micros(1)),
            Start::At(t1 + LINGER)
        );
        assert_eq!(s.start(1, t1 + LINGER), Start::Now);
        // a's batch ended before: at once.
        assert_eq!(s.start(0, t1), Start::Now);
        let batch = s.next_batch(|| None);
        assert_eq!(batch.iter().map(|p| p.id).collect::<Vec<_>>(), [1, 2]);
        assert_eq!(s.start(1, t1), Start::Idle);
    }

    #[test]
    fn a_full_enough_batch_starts_beside_a_running_one_at_once() {
        let t0 = Instant::now();
        let mut s = Schedule::default();
        s.arrive(p_at(0, "busy", t0));
        assert_eq!(s.next_batch(|| None).len(), 1);
        // busy's next pushes cannot go into a batch yet: they do not count.
        for i in 1..FULL_ENOUGH {
            s.arrive(p_at(i, &format!("u{i}"), t0));
            s.arrive(p_at(1000 + i, "busy", t0));
        }
        // A second push of u1 waits behind its first: it does not count either.
        s.arrive(p_at(2000, "u1", t0));
        assert_eq!(s.start(1, t0), Start::At(t0 + LINGER));
        s.arrive(p_at(FULL_ENOUGH, "last", t0));
        assert_eq!(s.start(1, t0), Start::Now);
        assert_eq!(s.next_batch(|| None).len(), FULL_ENOUGH);
    }

    #[test]
    fn only_pushes_of_busy_users_or_gone_ones_do_not_wake_the_committer() {
        let t0 = Instant::now();
        let mut s = Schedule::default();
        s.arrive(p_at(0, "a", t0));
        assert_eq!(s.next_batch(|| None).len(), 1);
        s.arrive(p_at(1, "a", t0));
        let mut gone = p_at(2, "b", t0);
        gone.gone = true;
        s.arrive(gone);
        assert_eq!(s.start(1, t0 + LINGER), Start::Idle);
        // No batch runs (a's ended through a hand-off, say): a batch is formed, empty.
        assert_eq!(s.start(0, t0), Start::Now);
        assert!(s.next_batch(|| None).is_empty());
        assert_eq!(s.waiting(), 1);
    }

    #[test]
    fn a_handed_off_users_next_push_waits_for_its_own_push_only() {
        let mut s = Schedule::default();
        s.arrive(p(0, "contended"));
        s.arrive(p(1, "free"));
        assert_eq!(s.next_batch(|| None).len(), 2);
        // The batch was handed off; free's push was answered at once, contended's retries.
        s.release(["free"]);
        s.arrive(p(2, "free"));
        s.arrive(p(3, "contended"));
        let next = s.next_batch(|| None);
        assert_eq!(next.iter().map(|p| p.id).collect::<Vec<_>>(), [2]);
    }

    #[test]
    fn a_user_whose_push_was_handed_off_waits_until_it_is_answered() {
        let mut s = Schedule::default();
        s.arrive(p(0, "a"));
        let first = s.next_batch(|| None);
        assert_eq!(first.len(), 1);
        // The batch ended, but a's push runs on its own (handed off): a's next push waits.
        s.arrive(p(1, "a"));
        s.arrive(p(2, "b"));
        let second = s.next_batch(|| None);
        assert_eq!(second.iter().map(|p| p.id).collect::<Vec<_>>(), [2]);
        s.release(["b"]);
        // The hand-off answered: now a's next push runs.
        s.release(["a"]);
        let third = s.next_batch(|| None);
        assert_eq!(third.iter().map(|p| p.id).collect::<Vec<_>>(), [1]);
    }
}
