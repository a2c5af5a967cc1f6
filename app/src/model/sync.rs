//! The page's side of syncing: the sync runner (`client::runner`: triggers, backoff, one
//! syncer per browser, 401) syncs the shown account's database (`io::sync` runs it); this
//! module passes it the page's triggers and turns its status into the typed [`SyncLine`]
//! the status line shows.

use leptos::prelude::*;

use client::engine::FailureKind;
use client::runner::{SyncStatus as RunnerStatus, Trigger};

use super::copy;
use crate::io;

/// Where sync stands, as the status line shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum SyncPhase {
    /// Not syncing; the last run (if any) succeeded.
    #[default]
    Idle,
    /// A run is under way.
    Syncing,
    /// The last run failed; the runner tries again with backoff.
    Failed {
        /// What went wrong.
        message: String,
        /// Failed runs in a row.
        failures: u32,
    },
}

/// The sync status line (the runner's status, `client::runner::SyncStatus`, as the page
/// shows it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncLine {
    /// `navigator.onLine`.
    pub online: bool,
    /// The current phase.
    pub phase: SyncPhase,
    /// When the last run succeeded (local time).
    pub last_synced: Option<String>,
    /// Runs finished since the page opened (tests wait for the next one).
    pub runs: u64,
    /// Notes received so far by the running sync (0 when none runs).
    pub received: usize,
    /// This tab holds the browser's live channel and it is up.
    pub live: bool,
    /// The runner's last finished attempt (the activity log keeps the recent ones).
    pub last_run: Option<client::runner::RunRecord>,
}

impl Default for SyncLine {
    fn default() -> Self {
        Self {
            online: true,
            phase: SyncPhase::Idle,
            last_synced: None,
            runs: 0,
            received: 0,
            live: false,
            last_run: None,
        }
    }
}

impl SyncLine {
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

/// The page's handle on the runner.
#[derive(Clone, Copy)]
pub struct SyncLoop {
    /// The runner's last status, to tell what changed.
    last: StoredValue<Option<RunnerStatus>>,
}

impl std::fmt::Debug for SyncLoop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncLoop").finish_non_exhaustive()
    }
}

impl SyncLoop {
    /// No runner yet.
    pub fn new() -> Self {
        Self {
            last: StoredValue::new(None),
        }
    }

    /// A new runner starts (another account is shown): no status of it yet.
    pub fn reset(self) {
        self.last.set_value(None);
    }

    /// The session is known to be valid now.
    pub fn signed_in(self) {
        io::sync::trigger(Trigger::SignedIn);
    }

    /// "Sync now".
    pub fn now(self) {
        io::sync::trigger(Trigger::Now);
    }

    /// After a local change: pushed shortly (other tabs hear of it at once).
    pub fn soon(self) {
        io::sync::local_change();
    }

    /// The runner's status changed: `line` shows it, and the page learns what else to do.
    pub fn take(self, line: RwSignal<SyncLine>, s: RunnerStatus) -> SyncNews {
        let before = self.last.get_value().unwrap_or_default();
        let notice = s
            .last_report
            .as_ref()
            .filter(|_| s.last_synced_ms != before.last_synced_ms)
            .map(copy::sync_notice)
            .filter(|n| !n.is_empty());
        let signed_out = s.signed_out
            && !before.signed_out
            && s.last_error.as_ref().map(|e| e.kind) == Some(FailureKind::SignedOut);
        let finished = before.running && !s.running;
        line.update(|v| {
            v.online = s.online;
            v.live = s.live;
            v.phase = match &s.last_error {
                _ if s.running => SyncPhase::Syncing,
                Some(e) if e.kind != FailureKind::SignedOut => SyncPhase::Failed {
                    message: e.message.clone(),
                    failures: s.failures,
                },
                _ => SyncPhase::Idle,
            };
            v.last_synced = s.last_synced_ms.map(io::page::time_label);
            v.received = s.received;
            v.last_run = s.last_run.clone();
            if finished {
                v.runs += 1;
            }
        });
        // A run that changed the store has said so (`on_store_changed`); a run that changed
        // nothing (the idle sync every 30 s) reads nothing more.
        let idle =
            s.last_error.is_none() && s.last_report.as_ref().is_some_and(|r| !r.changed_store());
        self.last.set_value(Some(s));
        SyncNews {
            notice,
            signed_out,
            reread: finished && !idle,
        }
    }
}

/// What a new runner status means for the page beyond the status line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncNews {
    /// What to tell the user about the run that ended, if anything.
    pub notice: Option<String>,
    /// The server no longer knows the session.
    pub signed_out: bool,
    /// A run ended that may have changed the store: read it again.
    pub reread: bool,
}

impl Default for SyncLoop {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use client::engine::SyncReport;
    use client::runner::Failure;
    use sync_core::NoteId;

    use super::*;

    #[test]
    fn the_runner_status_becomes_the_status_line_and_what_the_page_does() {
        // Signals need an owner: with the server's features unified into a workspace
        // test build, Leptos' `sandboxed-arenas` refuses to make one without it.
        Owner::new().with(the_runner_status_cases);
    }

    fn the_runner_status_cases() {
        let syncer = SyncLoop::new();
        let line = RwSignal::new(SyncLine::default());
        let running = RunnerStatus {
            online: true,
            running: true,
            ..RunnerStatus::default()
        };
        assert_eq!(syncer.take(line, running), SyncNews::default());
        assert!(line.get_untracked().syncing());

        // A run that pulled a conflict ends: said, counted, and the store is read again.
        let report = SyncReport {
            conflicts: 1,
            changed: vec![NoteId("n".into())],
            ..SyncReport::default()
        };
        let synced = RunnerStatus {
            online: true,
            last_synced_ms: Some(5),
            last_report: Some(report),
            ..RunnerStatus::default()
        };
        let news = syncer.take(line, synced.clone());
        assert_eq!(
            news.notice.as_deref(),
            Some("1 note(s) were edited on two devices at once: choose a version.")
        );
        assert!(news.reread && !news.signed_out);
        assert_eq!(
            (line.get_untracked().runs, line.get_untracked().syncing()),
            (1, false)
        );
        // The same status published again says nothing twice.
        assert_eq!(syncer.take(line, synced), SyncNews::default());

        // A 401: the page signs out; it is no sync failure on the status line.
        let refused = RunnerStatus {
            signed_out: true,
            last_error: Some(Failure {
                kind: FailureKind::SignedOut,
                message: "sign in again".into(),
            }),
            failures: 1,
            ..RunnerStatus::default()
        };
        assert!(syncer.take(line, refused).signed_out);
        assert_eq!(line.get_untracked().error(), None);
        let failed = RunnerStatus {
            last_error: Some(Failure {
                kind: FailureKind::Server,
                message: "the server answered 503".into(),
            }),
            failures: 2,
            ..RunnerStatus::default()
        };
        syncer.take(line, failed);
        assert_eq!(
            line.get_untracked().error(),
            Some("the server answered 503")
        );
    }
}
