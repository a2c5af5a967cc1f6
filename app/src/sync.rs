//! The page's sync loop and its typed status: one run at a time; the next one after the
//! regular interval, after a local change (debounced), or with backoff after a failure;
//! nothing while offline or signed out.

use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::browser;
use crate::state::AppState;

/// How often the app syncs while open, when nothing else triggers it.
pub const SYNC_INTERVAL: Duration = Duration::from_secs(30);
/// Quiet time after a local save before it is pushed.
pub const PUSH_DEBOUNCE: Duration = Duration::from_secs(2);

/// Where sync stands, as the status line shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum SyncPhase {
    /// Not syncing; the last run (if any) succeeded.
    #[default]
    Idle,
    /// A run is under way.
    Syncing,
    /// The last run failed; the next one comes with backoff.
    Failed {
        /// What went wrong.
        message: String,
        /// Failed runs in a row.
        failures: u32,
    },
}

/// The sync status line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncStatus {
    /// `navigator.onLine`.
    pub online: bool,
    /// The current phase.
    pub phase: SyncPhase,
    /// When the last run succeeded (local time).
    pub last_synced: Option<String>,
    /// Runs finished since the page opened (tests wait for the next one).
    pub runs: u64,
}

impl Default for SyncStatus {
    fn default() -> Self {
        Self {
            online: true,
            phase: SyncPhase::Idle,
            last_synced: None,
            runs: 0,
        }
    }
}

impl SyncStatus {
    /// True while a run is under way.
    pub fn syncing(&self) -> bool {
        self.phase == SyncPhase::Syncing
    }

    /// The failure to show, if the last run failed.
    pub fn error(&self) -> Option<&str> {
        match &self.phase {
            SyncPhase::Failed { message, .. } => Some(message),
            _ => None,
        }
    }
}

/// The page's sync loop (its timer generation, so only the latest scheduled run fires).
#[derive(Clone, Copy)]
pub struct SyncLoop {
    generation: StoredValue<u64>,
}

impl SyncLoop {
    /// A loop with nothing scheduled.
    pub fn new() -> Self {
        Self {
            generation: StoredValue::new(0),
        }
    }

    /// Runs `app`'s sync after `delay`, replacing whatever was scheduled.
    pub fn schedule(self, app: AppState, delay: Duration) {
        let generation = self.generation.get_value() + 1;
        self.generation.set_value(generation);
        set_timeout(
            move || {
                if self.generation.get_value() == generation {
                    self.now(app);
                }
            },
            delay,
        );
    }

    /// A push soon (after a local change).
    pub fn soon(self, app: AppState) {
        self.schedule(app, PUSH_DEBOUNCE);
    }

    /// One run now (unless one is under way, nobody is signed in, or the browser is
    /// offline: the `online` event starts it again), then the next one scheduled.
    pub fn now(self, app: AppState) {
        if app.sync.with_untracked(SyncStatus::syncing) || app.user.get_untracked().is_none() {
            return;
        }
        if !browser::is_online() {
            app.sync.update(|s| s.online = false);
            return;
        }
        app.sync.update(|s| {
            s.online = true;
            s.phase = SyncPhase::Syncing;
        });
        spawn_local(async move {
            let result = browser::sync_now().await;
            app.sync.update(|s| s.runs += 1);
            let failures = match app.sync.get_untracked().phase {
                SyncPhase::Failed { failures, .. } => failures,
                _ => 0,
            };
            match result {
                Ok(notice) => {
                    if !notice.is_empty() {
                        app.notice.set(notice);
                    }
                    app.sync.update(|s| {
                        s.phase = SyncPhase::Idle;
                        s.last_synced = Some(browser::time_label());
                    });
                    self.schedule(app, SYNC_INTERVAL);
                }
                Err(f) if f.needs_sign_in => {
                    app.sync.update(|s| s.phase = SyncPhase::Idle);
                    app.user.set(None);
                    app.notice.set(f.message);
                }
                Err(f) => {
                    let failures = failures + 1;
                    app.sync.update(|s| {
                        s.phase = SyncPhase::Failed {
                            message: f.message,
                            failures,
                        }
                    });
                    self.schedule(app, Duration::from_millis(browser::backoff_ms(failures)));
                }
            }
            app.refresh();
        });
    }
}

impl Default for SyncLoop {
    fn default() -> Self {
        Self::new()
    }
}
