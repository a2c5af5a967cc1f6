//! When to sync, and what the UI sees of it: the one sync runner of the page and of the
//! service worker.
//!
//! - [`Scheduler`] (pure): the triggers (launch, online, a 30-second fallback interval, an
//!   edit after a short debounce, "sync now", a server poke), backoff with jitter after a
//!   failure, nothing while offline or signed out.
//! - [`SyncStatus`] (pure): what the UI shows, as typed values, with the [`RunRecord`] of
//!   the last attempt (when, what it did, [`NextStep`]) for the page's activity log.
//! - `Runner` (wasm32): drives the scheduler with timers, runs [`crate::engine::sync`] under
//!   the Web Lock of its database (one syncer per browser), tells other tabs and workers
//!   what changed (BroadcastChannel) and listens to them, turns a 401 into the signed-out
//!   state, and publishes [`SyncStatus`] to subscribers. The page keeps one for its life;
//!   the service worker makes one per Background Sync event
//!   (`Runner::run_background`).
//!
//! A live channel (a server "poke") plugs in as [`Trigger::Poke`]; a store with an indexed
//! outbox plugs in behind [`crate::local::LocalStore::pending`].

use crate::engine::{FailureKind, SyncError, SyncReport, backoff_delay_ms};

/// The fallback interval between syncs while the app is open and the live channel is down.
pub const SYNC_INTERVAL_MS: u64 = 30_000;
/// The interval between syncs while the live channel is up: a safety net only, since every
/// commit of the user's notes pokes the device (see [`crate::live`]).
pub const LIVE_FALLBACK_MS: u64 = 5 * 60_000;
/// The least time between the starts of two runs that push local edits: an edit is pushed
/// at once unless a run started less than this long ago, then when this much has passed.
/// While someone types, the editor saves about every quarter second and each save asks for
/// a push, so this bounds a typing device to about three `/sync` requests a second, and an
/// edit waits at most this long before it leaves the device (another open device shows it
/// after the server's poke and its pull: see `scripts/perf.sh`'s typing figures).
pub const PUSH_SPACING_MS: u64 = 300;
/// After a failed run, an edit waits this long (or for the backoff, if that is sooner)
/// instead: a server that fails is not asked again at typing speed.
pub const EDIT_AFTER_FAILURE_MS: u64 = 2_000;
/// While a long pull runs, its committed pages are announced to the page at most this
/// often (the first at once): each announcement re-reads and redraws the list and feeds
/// the search index, which per page of 1,000 notes cost more than the page's writes.
pub const PAGES_SHOWN_EVERY_MS: u64 = 1_000;
/// Wait before trying again when another tab or the worker held the sync lock (it pushes
/// what it read; an edit made after its last round is pushed by this retry).
pub const LOCK_BUSY_RETRY_MS: u64 = 2_000;

/// What asks for a sync.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Trigger {
    /// The app (or the worker's event) started.
    Launch,
    /// The browser came back online.
    Online,
    /// The browser went offline.
    Offline,
    /// The fallback interval or a retry timer fired.
    Timer,
    /// A local edit was saved (pushed at once, or [`PUSH_SPACING_MS`] after the last run
    /// started).
    Edited,
    /// The user pressed "Sync now".
    Now,
    /// The server said this user's notes changed (live channel).
    Poke,
    /// The user signed in (again).
    SignedIn,
    /// The user signed out.
    SignedOut,
}

/// What the runner should do next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wake {
    /// Sync now.
    Now,
    /// Sync at this time (ms since the epoch), unless something comes first.
    At(u64),
    /// Nothing until the next trigger.
    Idle,
}

/// How one attempt ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The run finished.
    Synced(SyncReport),
    /// Another tab or the worker holds the sync lock: it is syncing.
    Busy,
    /// The run failed (local data is kept).
    Failed(SyncError),
}

/// The scheduling rules, without timers (pure).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scheduler {
    online: bool,
    signed_out: bool,
    running: bool,
    /// Something asked for a run while one ran: run again at once after it.
    again: bool,
    /// A local edit was saved while a run ran: run again after it, spaced.
    again_edit: bool,
    /// When the last run started.
    last_start: Option<u64>,
    failures: u32,
    due: Option<u64>,
    live: bool,
}

impl Scheduler {
    /// A scheduler; `signed_in` false until the session is known to be valid.
    pub fn new(online: bool, signed_in: bool) -> Self {
        Self {
            online,
            signed_out: !signed_in,
            running: false,
            again: false,
            again_edit: false,
            last_start: None,
            failures: 0,
            due: None,
            live: false,
        }
    }

    /// The live channel went up (`true`: pokes come, so the poll slows to
    /// [`LIVE_FALLBACK_MS`]) or down (the [`SYNC_INTERVAL_MS`] poll is the fallback).
    /// Returns the new wake-up when it changes the one due.
    pub fn set_live(&mut self, up: bool, now: u64) -> Option<Wake> {
        let was = std::mem::replace(&mut self.live, up);
        if was == up || self.running || !self.online || self.signed_out {
            return None;
        }
        if up {
            // The next run comes with the next poke, or at the slow fallback.
            return None;
        }
        // Down: poll again at the normal pace from now on.
        let at = now + SYNC_INTERVAL_MS;
        let due = self.due.map_or(at, |d| d.min(at));
        self.due = Some(due);
        Some(Wake::At(due))
    }

    /// Failed attempts in a row.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// True while a run is in progress.
    pub fn running(&self) -> bool {
        self.running
    }

    fn run_now(&mut self) -> Wake {
        if self.running {
            // What the run in progress read may predate this: run again after it.
            self.again = true;
            Wake::Idle
        } else {
            Wake::Now
        }
    }

    /// A trigger arrived at `now`.
    pub fn on(&mut self, t: Trigger, now: u64) -> Wake {
        match t {
            Trigger::Offline => {
                self.online = false;
                self.due = None;
                return Wake::Idle;
            }
            Trigger::SignedOut => {
                self.signed_out = true;
                self.due = None;
                return Wake::Idle;
            }
            Trigger::Online => self.online = true,
            Trigger::SignedIn => {
                self.signed_out = false;
                self.failures = 0;
            }
            _ => {}
        }
        // "Sync now" is tried even when signed out: the session may be back (another tab).
        if !self.online || (self.signed_out && t != Trigger::Now) {
            return Wake::Idle;
        }
        match t {
            Trigger::Edited if self.running => {
                self.again_edit = true;
                Wake::Idle
            }
            Trigger::Edited => {
                let at = if self.failures > 0 {
                    now + EDIT_AFTER_FAILURE_MS
                } else {
                    self.spaced(now)
                };
                if at <= now {
                    return Wake::Now;
                }
                let due = self.due.map_or(at, |d| d.min(at));
                self.due = Some(due);
                Wake::At(due)
            }
            // A timer that fires early or late: run if it is the one due.
            Trigger::Timer if self.due.is_some_and(|d| d > now) => {
                Wake::At(self.due.unwrap_or(now))
            }
            _ => self.run_now(),
        }
    }

    /// When a push of an edit made at `now` may start: [`PUSH_SPACING_MS`] after the last
    /// run started, or `now`.
    fn spaced(&self, now: u64) -> u64 {
        self.last_start
            .map_or(now, |s| now.max(s.saturating_add(PUSH_SPACING_MS)))
    }

    /// Call before starting a run at `now`: false if one is running already (it will run
    /// again).
    pub fn start(&mut self, now: u64) -> bool {
        if self.running {
            self.again = true;
            return false;
        }
        self.running = true;
        self.again = false;
        self.again_edit = false;
        self.last_start = Some(now);
        self.due = None;
        true
    }

    /// A run ended at `now`; `rand` in [0, 1) jitters the backoff.
    pub fn finish(&mut self, outcome: &Outcome, now: u64, rand: f64) -> Wake {
        self.running = false;
        let again = std::mem::take(&mut self.again);
        let again_edit = std::mem::take(&mut self.again_edit);
        let wake = match outcome {
            Outcome::Synced(_) => {
                self.failures = 0;
                if again {
                    return Wake::Now;
                }
                if again_edit {
                    // An edit saved during the run: pushed by the next, spaced.
                    let at = self.spaced(now);
                    if at <= now {
                        return Wake::Now;
                    }
                    Wake::At(at)
                } else if self.live {
                    Wake::At(now + LIVE_FALLBACK_MS)
                } else {
                    Wake::At(now + SYNC_INTERVAL_MS)
                }
            }
            Outcome::Busy => Wake::At(now + LOCK_BUSY_RETRY_MS),
            Outcome::Failed(e) if e.kind() == FailureKind::SignedOut => {
                self.signed_out = true;
                return Wake::Idle;
            }
            Outcome::Failed(_) => {
                self.failures += 1;
                if !self.online {
                    return Wake::Idle;
                }
                Wake::At(now + backoff_delay_ms(self.failures, rand))
            }
        };
        if let Wake::At(t) = wake {
            self.due = Some(self.due.map_or(t, |d| d.min(t)));
            return Wake::At(self.due.unwrap_or(t));
        }
        wake
    }
}

/// Why the last sync failed, for the UI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// What kind of failure.
    pub kind: FailureKind,
    /// What went wrong, for people.
    pub message: String,
}

/// What the UI shows of syncing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncStatus {
    /// The browser believes it is online.
    pub online: bool,
    /// A sync is in progress here.
    pub running: bool,
    /// The server said the session is missing or expired: sign in to sync (notes are kept).
    pub signed_out: bool,
    /// Notes with an edit the server has not accepted yet (failed ones included).
    pub pending: usize,
    /// When the last successful sync ended (ms since the epoch, device clock).
    pub last_synced_ms: Option<u64>,
    /// Why the last attempt failed; `None` after a success.
    pub last_error: Option<Failure>,
    /// Failed attempts in a row.
    pub failures: u32,
    /// When the next attempt is due (ms since the epoch), if one is scheduled.
    pub next_attempt_ms: Option<u64>,
    /// What the last successful run did (superseded edits, conflicts, refused notes… for
    /// the UI's notices).
    pub last_report: Option<SyncReport>,
    /// Note states received so far by the running sync (a long first sync shows its
    /// progress); 0 when none runs.
    pub received: usize,
    /// The live channel is up in this browser (changes arrive at once, not by polling).
    /// Only the tab holding the channel knows; the others show `false`.
    pub live: bool,
    /// The last attempt this runner finished, for the page's activity log (its `seq` tells
    /// a new one from one seen before).
    pub last_run: Option<RunRecord>,
}

/// How one finished attempt ended, for the activity log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunResult {
    /// The run finished: what it did.
    Synced {
        /// Changes pushed.
        pushed: usize,
        /// Note states pulled.
        pulled: usize,
        /// Notes left in conflict for the user.
        conflicts: usize,
        /// Notes refused on this device (over a limit).
        refused: usize,
    },
    /// Another tab or the service worker held the sync lock (it was syncing).
    Busy,
    /// The run failed; local data is kept.
    Failed(Failure),
}

/// What the runner will do after an attempt, for people.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NextStep {
    /// Run again at once (something changed during the run).
    Now,
    /// Try (after a failure) or check (after a success) again at this time, or sooner on an
    /// edit, a poke from the server or "Sync now".
    At(u64),
    /// Nothing until the device is back online.
    WhenOnline,
    /// Nothing until the user signs in (again).
    WhenSignedIn,
}

/// One finished attempt: when, what it did, what happens next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunRecord {
    /// Counts this runner's attempts (1, 2, …).
    pub seq: u64,
    /// When the attempt started (ms since the epoch, device clock).
    pub started_ms: u64,
    /// When it ended.
    pub ended_ms: u64,
    /// How it ended.
    pub result: RunResult,
    /// What the runner does next.
    pub next: NextStep,
    /// Failed attempts in a row, this one included (0 after a success).
    pub failures: u32,
}

impl RunRecord {
    /// The record of an attempt that ended with `outcome`, after which the scheduler
    /// decided `wake`. `online`: the browser believes it is online.
    pub fn new(
        seq: u64,
        (started_ms, ended_ms): (u64, u64),
        outcome: &Outcome,
        wake: Wake,
        online: bool,
        failures: u32,
    ) -> Self {
        let result = match outcome {
            Outcome::Synced(r) => RunResult::Synced {
                pushed: r.pushed,
                pulled: r.pulled,
                conflicts: r.conflicts,
                refused: r.refused,
            },
            Outcome::Busy => RunResult::Busy,
            Outcome::Failed(e) => RunResult::Failed(Failure {
                kind: e.kind(),
                message: e.to_string(),
            }),
        };
        let signed_out =
            matches!(outcome, Outcome::Failed(e) if e.kind() == FailureKind::SignedOut);
        let next = match wake {
            Wake::Now => NextStep::Now,
            Wake::At(t) => NextStep::At(t),
            Wake::Idle if signed_out => NextStep::WhenSignedIn,
            Wake::Idle if !online => NextStep::WhenOnline,
            // Idle otherwise: a trigger during the run is already queued as "again".
            Wake::Idle => NextStep::Now,
        };
        Self {
            seq,
            started_ms,
            ended_ms,
            result,
            next,
            failures,
        }
    }
}

impl SyncStatus {
    /// Records how an attempt ended at `now`.
    pub fn record(&mut self, outcome: &Outcome, now: u64, failures: u32) {
        self.running = false;
        self.received = 0;
        self.failures = failures;
        match outcome {
            Outcome::Synced(r) => {
                self.signed_out = false;
                self.last_synced_ms = Some(now);
                self.last_error = None;
                self.last_report = Some(r.clone());
            }
            Outcome::Busy => {}
            Outcome::Failed(e) => {
                if e.kind() == FailureKind::SignedOut {
                    self.signed_out = true;
                }
                self.last_error = Some(Failure {
                    kind: e.kind(),
                    message: e.to_string(),
                });
            }
        }
    }
}

#[cfg(target_arch = "wasm32")]
#[cfg(target_arch = "wasm32")]
pub use browser::{Guard, Runner, RunnerConfig};

#[cfg(target_arch = "wasm32")]
mod browser {
    use std::cell::{Cell, RefCell};
    use std::rc::{Rc, Weak};

    use js_sys::{Function, Reflect};
    use wasm_bindgen::JsCast;
    use wasm_bindgen::prelude::*;
    use wasm_bindgen_futures::spawn_local;

    use super::{Outcome, PAGES_SHOWN_EVERY_MS, RunRecord, Scheduler, SyncStatus, Trigger, Wake};
    use crate::engine::{self, FailureKind, SyncError, Transport};
    use crate::local::LocalStore;
    use crate::{platform, tabs};

    /// How a runner is set up.
    pub struct RunnerConfig {
        /// The IndexedDB database name: the sync lock and the change channel are named
        /// after it ([`tabs::names_for`]).
        pub db: String,
        /// Whether a valid session is known (false: wait for [`Trigger::SignedIn`]).
        pub signed_in: bool,
        /// Called after a failure to reach the server (the page hands pending work to
        /// Background Sync).
        pub on_network_failure: Option<Rc<dyn Fn()>>,
        /// Checked under the lock before each run: `false` skips the run as signed out.
        /// The page passes "this browser's records still name this database's account", so
        /// a tab still showing one account never syncs it with the session of another
        /// that signed in meanwhile in another tab.
        pub guard: Option<Guard>,
        /// The live channel's URL (`/live`): the page passes it, so that the server's pokes
        /// make it sync at once; the worker passes `None`.
        pub live_url: Option<String>,
    }

    impl std::fmt::Debug for RunnerConfig {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("RunnerConfig").finish_non_exhaustive()
        }
    }

    /// See [`RunnerConfig::guard`].
    pub type Guard = Rc<dyn Fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = bool>>>>;

    type Subscriber = Rc<dyn Fn(&SyncStatus)>;
    type ChangeListener = Rc<dyn Fn(&[sync_core::NoteId])>;

    struct Inner<S, T> {
        store: Rc<S>,
        transport: T,
        lock: String,
        channel: String,
        on_network_failure: Option<Rc<dyn Fn()>>,
        guard: Option<Guard>,
        sched: RefCell<Scheduler>,
        status: RefCell<SyncStatus>,
        subscribers: RefCell<Vec<Subscriber>>,
        changes: RefCell<Vec<ChangeListener>>,
        timer: Cell<Option<JsValue>>,
        timer_cb: RefCell<Option<Closure<dyn FnMut()>>>,
        listener: RefCell<Option<tabs::Listener>>,
        events: RefCell<Vec<(&'static str, Closure<dyn Fn()>)>>,
        stopped: Cell<bool>,
        live_url: Option<String>,
        db: String,
        live: RefCell<Option<crate::live::LiveChannel>>,
        /// The last poke that came during a run, checked when the run ends: the run may
        /// have pulled that change, or pushed it (a device is poked for its own pushes too),
        /// and running again for it would be one wasted request per push while typing.
        poke_after_run: RefCell<Option<String>>,
    }

    /// The sync runner (see the module docs). Cheap to clone; every clone is the same
    /// runner.
    pub struct Runner<S: LocalStore + 'static, T: Transport + 'static> {
        inner: Rc<Inner<S, T>>,
    }

    impl<S: LocalStore + 'static, T: Transport + 'static> std::fmt::Debug for Runner<S, T> {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("Runner").finish_non_exhaustive()
        }
    }

    impl<S: LocalStore + 'static, T: Transport + 'static> Clone for Runner<S, T> {
        fn clone(&self) -> Self {
            Self {
                inner: self.inner.clone(),
            }
        }
    }

    fn global_fn(name: &str) -> Option<Function> {
        Reflect::get(&js_sys::global(), &name.into())
            .ok()
            .and_then(|f| f.dyn_into::<Function>().ok())
    }

    impl<S: LocalStore + 'static, T: Transport + 'static> Runner<S, T> {
        /// A runner over `store` and `transport`; nothing runs until [`Runner::start`] (page)
        /// or [`Runner::run_background`] (worker).
        pub fn new(store: Rc<S>, transport: T, config: RunnerConfig) -> Self {
            let (lock, channel) = tabs::names_for(&config.db);
            let online = platform::is_online();
            let status = SyncStatus {
                online,
                signed_out: !config.signed_in,
                ..SyncStatus::default()
            };
            Self {
                inner: Rc::new(Inner {
                    store,
                    transport,
                    lock,
                    channel,
                    on_network_failure: config.on_network_failure,
                    guard: config.guard,
                    sched: RefCell::new(Scheduler::new(online, config.signed_in)),
                    status: RefCell::new(status),
                    subscribers: RefCell::new(Vec::new()),
                    changes: RefCell::new(Vec::new()),
                    timer: Cell::new(None),
                    timer_cb: RefCell::new(None),
                    listener: RefCell::new(None),
                    events: RefCell::new(Vec::new()),
                    stopped: Cell::new(false),
                    live_url: config.live_url,
                    db: config.db,
                    live: RefCell::new(None),
                    poke_after_run: RefCell::new(None),
                }),
            }
        }

        /// The store it syncs.
        pub fn store(&self) -> &Rc<S> {
            &self.inner.store
        }

        /// The current status.
        pub fn status(&self) -> SyncStatus {
            self.inner.status.borrow().clone()
        }

        /// True while a run is in a sync of several pages (pages committed, more coming):
        /// what can wait for its end may (without copying the status).
        pub fn pulling(&self) -> bool {
            let s = self.inner.status.borrow();
            s.running && s.received > 0
        }

        /// Calls `f` with the status now and whenever it changes.
        pub fn subscribe(&self, f: impl Fn(&SyncStatus) + 'static) {
            let f: Subscriber = Rc::new(f);
            f(&self.status());
            self.inner.subscribers.borrow_mut().push(f);
        }

        /// Calls `f` whenever the local store changed under the page: a sync here wrote
        /// these notes, or another tab or the worker changed the store (then the list is
        /// empty: re-read what is shown).
        pub fn on_store_changed(&self, f: impl Fn(&[sync_core::NoteId]) + 'static) {
            self.inner.changes.borrow_mut().push(Rc::new(f));
        }

        /// Page side: listens to online/offline and to other tabs, and syncs (launch).
        pub fn start(&self) {
            let weak = Rc::downgrade(&self.inner);
            let listener = tabs::listen(&self.inner.channel, {
                let weak = weak.clone();
                move || {
                    if let Some(inner) = weak.upgrade() {
                        let r = Runner { inner };
                        r.notify_changes(&[]);
                        r.refresh_pending();
                    }
                }
            });
            *self.inner.listener.borrow_mut() = listener;
            if let Ok(target) = js_sys::global().dyn_into::<web_sys::EventTarget>() {
                for (event, trigger) in [("online", Trigger::Online), ("offline", Trigger::Offline)]
                {
                    let weak = weak.clone();
                    let cb = Closure::<dyn Fn()>::new(move || {
                        if let Some(inner) = weak.upgrade() {
                            Runner { inner }.trigger(trigger);
                        }
                    });
                    let _ =
                        target.add_event_listener_with_callback(event, cb.as_ref().unchecked_ref());
                    self.inner.events.borrow_mut().push((event, cb));
                }
            }
            self.refresh_pending();
            self.trigger(Trigger::Launch);
            self.start_live(weak);
        }

        /// Syncs for a poke unless the store already holds the cursor it names.
        fn check_poke(&self, data: String) {
            let r = self.clone();
            spawn_local(async move {
                let stored = r.inner.store.cursor().await.ok().flatten();
                if crate::live::poke_needs_sync(&data, stored.as_ref().map(|c| c.0.as_str())) {
                    r.trigger(Trigger::Poke);
                }
            });
        }

        /// Opens the live channel (one per browser and account; see [`crate::live`]).
        fn start_live(&self, weak: Weak<Inner<S, T>>) {
            let Some(url) = self.inner.live_url.clone() else {
                return;
            };
            let on_poke = {
                let weak = weak.clone();
                move |data: String| {
                    let Some(inner) = weak.upgrade() else { return };
                    let r = Runner { inner };
                    if r.inner.sched.borrow().running() {
                        *r.inner.poke_after_run.borrow_mut() = Some(data);
                        return;
                    }
                    r.check_poke(data);
                }
            };
            let on_state = move |up: bool| {
                let Some(inner) = weak.upgrade() else { return };
                let r = Runner { inner };
                let wake = r.inner.sched.borrow_mut().set_live(up, platform::now_ms());
                r.inner.status.borrow_mut().live = up;
                r.publish();
                if let Some(wake) = wake {
                    r.wake(wake);
                }
            };
            let live = crate::live::LiveChannel::start(
                &url,
                &crate::live::lock_name(&self.inner.db),
                crate::live::Handlers {
                    on_poke: Box::new(on_poke),
                    on_state: Box::new(on_state),
                },
            );
            *self.inner.live.borrow_mut() = Some(live);
        }

        /// Stops: no more timers, listeners or runs (a run in progress finishes).
        pub fn stop(&self) {
            self.inner.stopped.set(true);
            if let Some(live) = self.inner.live.borrow_mut().take() {
                live.stop();
            }
            self.clear_timer();
            self.inner.listener.borrow_mut().take();
            if let Ok(target) = js_sys::global().dyn_into::<web_sys::EventTarget>() {
                for (event, cb) in self.inner.events.borrow_mut().drain(..) {
                    let _ = target
                        .remove_event_listener_with_callback(event, cb.as_ref().unchecked_ref());
                }
            }
            self.inner.subscribers.borrow_mut().clear();
            self.inner.changes.borrow_mut().clear();
        }

        /// Something asks for a sync (or reports offline / signed in / signed out).
        pub fn trigger(&self, t: Trigger) {
            if self.inner.stopped.get() {
                return;
            }
            let now = platform::now_ms();
            let wake = self.inner.sched.borrow_mut().on(t, now);
            {
                let mut s = self.inner.status.borrow_mut();
                match t {
                    Trigger::Online => s.online = true,
                    Trigger::Offline => s.online = false,
                    Trigger::SignedIn => {
                        s.signed_out = false;
                        s.failures = 0;
                        s.last_error = None;
                    }
                    Trigger::SignedOut => s.signed_out = true,
                    _ => {}
                }
            }
            self.wake(wake);
            self.publish();
        }

        /// After a local edit is saved: other tabs re-read, the pending count is refreshed,
        /// and the edit is pushed after a short quiet time.
        pub fn local_change(&self) {
            tabs::announce(&self.inner.channel);
            self.refresh_pending();
            self.trigger(Trigger::Edited);
        }

        fn wake(&self, wake: Wake) {
            match wake {
                Wake::Idle => {}
                Wake::Now => self.fire(),
                Wake::At(t) => {
                    let delay = t.saturating_sub(platform::now_ms());
                    self.inner.status.borrow_mut().next_attempt_ms = Some(t);
                    self.set_timer(delay);
                }
            }
        }

        fn clear_timer(&self) {
            if let (Some(id), Some(clear)) = (self.inner.timer.take(), global_fn("clearTimeout")) {
                let _ = clear.call1(&JsValue::NULL, &id);
            }
        }

        fn set_timer(&self, delay_ms: u64) {
            self.clear_timer();
            let Some(set) = global_fn("setTimeout") else {
                return;
            };
            let weak: Weak<Inner<S, T>> = Rc::downgrade(&self.inner);
            let cb = Closure::<dyn FnMut()>::new(move || {
                if let Some(inner) = weak.upgrade() {
                    inner.timer.set(None);
                    Runner { inner }.trigger(Trigger::Timer);
                }
            });
            let id = set.call2(
                &JsValue::NULL,
                cb.as_ref().unchecked_ref(),
                &JsValue::from(delay_ms.min(i32::MAX as u64) as f64),
            );
            if let Ok(id) = id {
                self.inner.timer.set(Some(id));
            }
            *self.inner.timer_cb.borrow_mut() = Some(cb);
        }

        fn fire(&self) {
            if !self.inner.sched.borrow_mut().start(platform::now_ms()) {
                return;
            }
            self.clear_timer();
            let this = self.clone();
            spawn_local(async move {
                let started = platform::now_ms();
                let outcome = this.attempt().await;
                let now = platform::now_ms();
                let wake =
                    this.inner
                        .sched
                        .borrow_mut()
                        .finish(&outcome, now, platform::random_unit());
                {
                    let failures = this.inner.sched.borrow().failures();
                    let mut s = this.inner.status.borrow_mut();
                    let seq = s.last_run.as_ref().map_or(1, |r| r.seq + 1);
                    let record =
                        RunRecord::new(seq, (started, now), &outcome, wake, s.online, failures);
                    s.last_run = Some(record);
                }
                if let Wake::Idle = wake {
                    this.inner.status.borrow_mut().next_attempt_ms = None;
                }
                let poke = this.inner.poke_after_run.borrow_mut().take();
                if !this.inner.stopped.get() {
                    this.wake(wake);
                    // After a failure the backoff stands (the poke is pulled by the retry).
                    if let Some(data) = poke
                        && wake != Wake::Now
                        && matches!(outcome, Outcome::Synced(_))
                    {
                        this.check_poke(data);
                    }
                }
                this.publish();
            });
        }

        /// One attempt under the lock: the engine's run, the status, the notices.
        async fn attempt(&self) -> Outcome {
            self.inner.status.borrow_mut().running = true;
            self.publish();
            let inner = &self.inner;
            let notified = std::cell::Cell::new(0);
            let shown_at = std::cell::Cell::new(None::<u64>);
            let run = tabs::with_lock(&inner.lock, async {
                if let Some(guard) = &inner.guard
                    && !guard().await
                {
                    return Err(SyncError::NotThisAccount);
                }
                // The committed pages are shown (the first at once, then at most every
                // `PAGES_SHOWN_EVERY_MS`) and counted while the rest downloads; the rest
                // when the run ends (a failed run: the page re-reads when it ends).
                let mut on_round = |r: &engine::SyncReport| {
                    let now = platform::now_ms();
                    if shown_at
                        .get()
                        .is_none_or(|t| now.saturating_sub(t) >= PAGES_SHOWN_EVERY_MS)
                    {
                        shown_at.set(Some(now));
                        self.notify_changes(&r.changed[notified.get()..]);
                        notified.set(r.changed.len());
                    }
                    self.inner.status.borrow_mut().received = r.pulled;
                    self.publish();
                };
                engine::sync_observed(
                    &*inner.store,
                    &inner.transport,
                    engine::Limits::default(),
                    &platform::now_ms,
                    &mut on_round,
                )
                .await
            })
            .await;
            let outcome = match run {
                None => Outcome::Busy,
                Some(Ok(r)) => Outcome::Synced(r),
                Some(Err(e)) => Outcome::Failed(e),
            };
            if notified.get() > 0 && !matches!(outcome, Outcome::Synced(_)) {
                tabs::announce(&inner.channel); // pages were committed before it failed
            }
            match &outcome {
                Outcome::Synced(r) if r.changed_store() => {
                    tabs::announce(&inner.channel);
                    self.notify_changes(&r.changed[notified.get().min(r.changed.len())..]);
                }
                Outcome::Failed(e) if e.kind() == FailureKind::Network => {
                    if let Some(f) = &inner.on_network_failure {
                        f();
                    }
                }
                _ => {}
            }
            let failures = inner.sched.borrow().failures();
            inner
                .status
                .borrow_mut()
                .record(&outcome, platform::now_ms(), failures);
            if let Ok(n) = inner.store.pending_count().await {
                inner.status.borrow_mut().pending = n;
            }
            outcome
        }

        fn refresh_pending(&self) {
            let this = self.clone();
            spawn_local(async move {
                if let Ok(n) = this.inner.store.pending_count().await {
                    let changed = {
                        let mut s = this.inner.status.borrow_mut();
                        std::mem::replace(&mut s.pending, n) != n
                    };
                    if changed {
                        this.publish();
                    }
                }
            });
        }

        fn publish(&self) {
            if self.inner.stopped.get() {
                return;
            }
            let status = self.status();
            let subs: Vec<Subscriber> = self.inner.subscribers.borrow().clone();
            for f in subs {
                f(&status);
            }
        }

        fn notify_changes(&self, ids: &[sync_core::NoteId]) {
            let ls: Vec<ChangeListener> = self.inner.changes.borrow().clone();
            for f in ls {
                f(ids);
            }
        }

        /// Service worker side: one Background Sync event. Tries up to
        /// [`WORKER_ATTEMPTS`] times, 2, 4 and 8 s apart, while offline or while another
        /// context holds the lock (the event fires as the connection returns, when the
        /// network may not answer yet, or while a closing page still syncs; a rejected
        /// event is retried by the browser only minutes later), and starts no attempt
        /// [`WORKER_BUDGET_MS`] after the event began. `Ok` with what happened (also when
        /// nobody is signed in: there is nothing to retry), `Err` for the browser to retry
        /// the event later.
        pub async fn run_background(&self) -> Result<String, String> {
            let started = platform::now_ms();
            let mut attempt = 0;
            let result = loop {
                attempt += 1;
                let outcome = self.attempt().await;
                let retry = match &outcome {
                    Outcome::Busy => Some("another tab or worker is syncing".to_owned()),
                    Outcome::Failed(e) if e.kind() == FailureKind::Network => Some(e.to_string()),
                    _ => None,
                };
                match (outcome, retry) {
                    (_, Some(why))
                        if attempt < WORKER_ATTEMPTS
                            && platform::now_ms().saturating_sub(started) < WORKER_BUDGET_MS =>
                    {
                        web_sys::console::log_1(
                            &format!("tern sync worker: {why}; retrying").into(),
                        );
                        platform::sleep_ms(1000 << attempt).await;
                    }
                    (_, Some(why)) => break Err(why),
                    (Outcome::Synced(r), None) => {
                        break Ok(format!("synced: {} sent, {} received", r.pushed, r.pulled));
                    }
                    (Outcome::Failed(e), None) if e.kind() == FailureKind::SignedOut => {
                        break Ok("not signed in: nothing to sync".into());
                    }
                    (Outcome::Failed(e), None) => break Err(e.to_string()),
                    (Outcome::Busy, None) => break Err("busy".into()),
                }
            };
            if attempt > 1 {
                // An earlier attempt may have applied some rounds before it failed: open
                // pages re-read the store.
                tabs::announce(&self.inner.channel);
            }
            result
        }
    }

    /// Attempts of one Background Sync event.
    pub const WORKER_ATTEMPTS: u32 = 4;
    /// No new attempt starts this long after the event began (a fetch that hangs on a
    /// half-open network must not carry the event past the browser's time limit).
    pub const WORKER_BUDGET_MS: u64 = 60_000;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::ApiError;

    fn net() -> Outcome {
        Outcome::Failed(SyncError::Transport(ApiError::Offline("down".into())))
    }

    fn unauthorized() -> Outcome {
        Outcome::Failed(SyncError::Transport(ApiError::Unauthorized { body: None }))
    }

    #[test]
    fn launch_syncs_then_the_interval_is_the_fallback() {
        let mut s = Scheduler::new(true, true);
        assert_eq!(s.on(Trigger::Launch, 0), Wake::Now);
        assert!(s.start(0));
        let ok = Outcome::Synced(SyncReport::default());
        assert_eq!(s.finish(&ok, 100, 0.5), Wake::At(100 + SYNC_INTERVAL_MS));
        // An edit soon after a run started waits for the spacing, before the interval.
        assert_eq!(s.on(Trigger::Edited, 200), Wake::At(PUSH_SPACING_MS));
        assert_eq!(s.on(Trigger::Edited, 250), Wake::At(PUSH_SPACING_MS));
        // A timer firing early waits for what is due.
        assert_eq!(s.on(Trigger::Timer, 280), Wake::At(PUSH_SPACING_MS));
        assert_eq!(s.on(Trigger::Timer, PUSH_SPACING_MS), Wake::Now);
        assert!(s.start(PUSH_SPACING_MS));
        assert_eq!(s.finish(&ok, 400, 0.5), Wake::At(400 + SYNC_INTERVAL_MS));
        // An edit long after the last run is pushed at once.
        assert_eq!(s.on(Trigger::Edited, 5_000), Wake::Now);
        assert_eq!(s.on(Trigger::Poke, 5_100), Wake::Now);
    }

    #[test]
    fn an_edit_saved_during_a_run_is_pushed_after_it_spaced() {
        let mut s = Scheduler::new(true, true);
        let ok = Outcome::Synced(SyncReport::default());
        assert!(s.start(1_000));
        assert_eq!(s.on(Trigger::Edited, 1_050), Wake::Idle);
        // The run ended 100 ms after it started: the next starts 300 ms after it started.
        assert_eq!(s.finish(&ok, 1_100, 0.5), Wake::At(1_000 + PUSH_SPACING_MS));
        assert!(s.start(1_000 + PUSH_SPACING_MS));
        // A slow run: the edit made during it goes as soon as it ends.
        assert_eq!(s.on(Trigger::Edited, 1_400), Wake::Idle);
        assert_eq!(s.finish(&ok, 2_000, 0.5), Wake::Now);
        // A poke during a run is pulled at once after it, not spaced.
        assert!(s.start(2_000));
        assert_eq!(s.on(Trigger::Poke, 2_010), Wake::Idle);
        assert_eq!(s.on(Trigger::Edited, 2_020), Wake::Idle);
        assert_eq!(s.finish(&ok, 2_050, 0.5), Wake::Now);
    }

    #[test]
    fn after_a_failure_an_edit_is_not_pushed_at_typing_speed() {
        let mut s = Scheduler::new(true, true);
        assert!(s.start(0));
        let Wake::At(retry) = s.finish(&net(), 100, 0.0) else {
            panic!("a failure retries later")
        };
        assert_eq!(retry, 600);
        // The backoff (sooner) stays what is due.
        assert_eq!(s.on(Trigger::Edited, 200), Wake::At(600));
        assert!(s.start(600));
        let Wake::At(retry) = s.finish(&net(), 700, 0.0) else {
            panic!("a failure retries later")
        };
        assert_eq!(retry, 1_700);
        assert_eq!(s.on(Trigger::Edited, 800), Wake::At(1_700));
    }

    #[cfg(not(target_arch = "wasm32"))]
    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(500))]
        /// Someone types (edits saved at random moments) while runs take random times: runs
        /// start at least [`PUSH_SPACING_MS`] apart (a bound on requests per second), and
        /// every edit is pushed by a run that starts no later than the spacing after the
        /// run before it, or the end of the run under way when it was saved.
        #[test]
        fn typing_is_pushed_promptly_and_spaced(
            gaps in proptest::collection::vec(1u64..700, 1..60),
            durations in proptest::collection::vec(5u64..900, 60),
        ) {
            let ok = Outcome::Synced(SyncReport::default());
            let mut s = Scheduler::new(true, true);
            s.on(Trigger::Launch, 0);
            s.start(0);
            let mut starts = vec![0u64];
            let mut running_until = Some(durations[0]);
            let mut timer: Option<u64> = None;
            let mut edits = Vec::new();
            let mut t = 0;
            for g in &gaps {
                t += g;
                edits.push(t);
            }
            let mut next_edit = 0;
            // Advance event by event: the next of an edit, the run's end, the timer. `Now`
            // starts a run at once, as the runner does.
            let fire = |s: &mut Scheduler, now: u64, starts: &mut Vec<u64>| -> Option<u64> {
                assert!(s.start(now), "Now never comes during a run");
                starts.push(now);
                let d = durations[(starts.len() - 1) % durations.len()];
                Some(now + d)
            };
            loop {
                let e = edits.get(next_edit).copied();
                let candidates = [e, running_until, timer];
                let Some(now) = candidates.iter().flatten().copied().min() else { break };
                let wake = if running_until == Some(now) {
                    running_until = None;
                    s.finish(&ok, now, 0.5)
                } else if e == Some(now) {
                    next_edit += 1;
                    s.on(Trigger::Edited, now)
                } else {
                    timer = None;
                    s.on(Trigger::Timer, now)
                };
                match wake {
                    Wake::Now => {
                        timer = None;
                        running_until = fire(&mut s, now, &mut starts);
                    }
                    // The interval's poll is not what this test is about: the test ends
                    // when only it is left.
                    Wake::At(at) if at < now + SYNC_INTERVAL_MS => timer = Some(at),
                    Wake::At(_) => timer = None,
                    Wake::Idle => {}
                }
            }
            for w in starts.windows(2) {
                proptest::prop_assert!(w[1] - w[0] >= PUSH_SPACING_MS, "runs at {w:?}");
            }
            // Each edit: the first run starting at or after it, and the bound.
            let mut end_of = std::collections::BTreeMap::new();
            for (i, st) in starts.iter().enumerate() {
                end_of.insert(*st, st + durations[i % durations.len()]);
            }
            for &e in &edits {
                let pushed = starts.iter().copied().find(|&st| st >= e);
                let pushed = pushed.expect("every edit is pushed");
                let prev = starts.iter().copied().filter(|&st| st < e).max().unwrap_or(0);
                let bound = e.max(prev + PUSH_SPACING_MS).max(end_of[&prev]);
                proptest::prop_assert!(pushed <= bound, "edit at {e} pushed at {pushed}, bound {bound}");
            }
        }
    }

    #[test]
    fn with_the_live_channel_up_the_poll_is_only_a_slow_safety_net() {
        let mut s = Scheduler::new(true, true);
        let ok = Outcome::Synced(SyncReport::default());
        assert_eq!(s.set_live(true, 0), None);
        assert!(s.start(0));
        assert_eq!(s.finish(&ok, 100, 0.5), Wake::At(100 + LIVE_FALLBACK_MS));
        // A poke syncs at once.
        assert_eq!(s.on(Trigger::Poke, 200), Wake::Now);
        assert!(s.start(0));
        assert_eq!(s.finish(&ok, 300, 0.5), Wake::At(300 + LIVE_FALLBACK_MS));
        // The channel drops: the 30 s poll is back at once.
        assert_eq!(
            s.set_live(false, 1_000),
            Some(Wake::At(1_000 + SYNC_INTERVAL_MS))
        );
        assert!(s.start(0));
        assert_eq!(
            s.finish(&ok, 2_000, 0.5),
            Wake::At(2_000 + SYNC_INTERVAL_MS)
        );
    }

    #[test]
    fn a_trigger_during_a_run_runs_again_after_it() {
        let mut s = Scheduler::new(true, true);
        assert!(s.start(0));
        assert_eq!(s.on(Trigger::Now, 1), Wake::Idle);
        assert!(!s.start(0), "never two runs at once");
        let ok = Outcome::Synced(SyncReport::default());
        assert_eq!(s.finish(&ok, 2, 0.0), Wake::Now);
    }

    #[test]
    fn failures_back_off_with_jitter_and_a_success_resets() {
        let mut s = Scheduler::new(true, true);
        let mut delays = Vec::new();
        for _ in 0..4 {
            assert!(s.start(0));
            match s.finish(&net(), 0, 0.0) {
                Wake::At(t) => delays.push(t),
                w => panic!("{w:?}"),
            }
        }
        assert_eq!(delays, [500, 1_000, 2_000, 4_000]);
        assert_eq!(s.failures(), 4);
        assert!(s.start(0));
        s.finish(&Outcome::Synced(SyncReport::default()), 0, 0.0);
        assert_eq!(s.failures(), 0);
    }

    #[test]
    fn offline_and_signed_out_stop_syncing_until_back() {
        let mut s = Scheduler::new(true, true);
        assert_eq!(s.on(Trigger::Offline, 0), Wake::Idle);
        assert_eq!(s.on(Trigger::Edited, 0), Wake::Idle);
        assert_eq!(s.on(Trigger::Online, 0), Wake::Now);
        assert!(s.start(0));
        assert_eq!(s.finish(&unauthorized(), 0, 0.0), Wake::Idle);
        assert_eq!(s.on(Trigger::Timer, 0), Wake::Idle);
        assert_eq!(s.on(Trigger::Edited, 0), Wake::Idle);
        assert_eq!(s.on(Trigger::Now, 0), Wake::Now, "the user may retry");
        assert_eq!(s.on(Trigger::SignedIn, 0), Wake::Now);
    }

    #[test]
    fn a_store_of_another_account_waits_for_a_sign_in_like_a_401() {
        let mut s = Scheduler::new(true, true);
        assert!(s.start(0));
        let refused = Outcome::Failed(SyncError::NotThisAccount);
        assert_eq!(s.finish(&refused, 0, 0.0), Wake::Idle);
        assert_eq!(s.on(Trigger::Timer, 0), Wake::Idle);
        assert_eq!(s.on(Trigger::SignedIn, 0), Wake::Now);
        // Said as what happened, not as an HTTP status that never came.
        let e = SyncError::NotThisAccount;
        assert_eq!(e.kind(), FailureKind::SignedOut);
        assert!(!e.to_string().contains("401"), "{e}");
    }

    #[test]
    fn a_busy_lock_retries_soon_without_counting_a_failure() {
        let mut s = Scheduler::new(true, true);
        assert!(s.start(0));
        assert_eq!(
            s.finish(&Outcome::Busy, 10, 0.0),
            Wake::At(10 + LOCK_BUSY_RETRY_MS)
        );
        assert_eq!(s.failures(), 0);
    }

    #[test]
    fn a_run_record_says_what_happens_next() {
        let ok = Outcome::Synced(SyncReport {
            pushed: 2,
            pulled: 3,
            conflicts: 1,
            ..SyncReport::default()
        });
        let r = RunRecord::new(1, (10, 20), &ok, Wake::At(30_020), true, 0);
        assert_eq!(
            r.result,
            RunResult::Synced {
                pushed: 2,
                pulled: 3,
                conflicts: 1,
                refused: 0
            }
        );
        assert_eq!(r.next, NextStep::At(30_020));
        let down = RunRecord::new(2, (0, 1), &net(), Wake::Idle, false, 1);
        assert_eq!(down.next, NextStep::WhenOnline);
        match &down.result {
            RunResult::Failed(f) => assert!(f.message.contains("down"), "{f:?}"),
            r => panic!("{r:?}"),
        }
        let out = RunRecord::new(3, (0, 1), &unauthorized(), Wake::Idle, true, 0);
        assert_eq!(out.next, NextStep::WhenSignedIn);
        let busy = RunRecord::new(4, (0, 1), &Outcome::Busy, Wake::At(2_001), true, 0);
        assert_eq!(
            (busy.result, busy.next),
            (RunResult::Busy, NextStep::At(2_001))
        );
    }

    #[test]
    fn the_status_tells_failures_apart() {
        let mut st = SyncStatus::default();
        st.record(&unauthorized(), 5, 0);
        assert!(st.signed_out);
        assert_eq!(st.last_error.as_ref().unwrap().kind, FailureKind::SignedOut);
        st.record(&net(), 6, 1);
        assert_eq!(st.last_error.as_ref().unwrap().kind, FailureKind::Network);
        st.record(&Outcome::Synced(SyncReport::default()), 7, 0);
        assert_eq!(
            (st.last_error, st.last_synced_ms, st.signed_out),
            (None, Some(7), false)
        );
    }
}
