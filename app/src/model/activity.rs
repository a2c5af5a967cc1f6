//! Sync you can see: the log of recent sync runs the "Sync activity" panel shows (when,
//! what was pushed and pulled, conflicts, errors with their message, and what the app will
//! do next), and the attention line, which says plainly when syncing needs the user or is
//! not working (the components are `components::activity`).
//!
//! The runs come from the sync runner (`client::runner::RunRecord`, one per finished
//! attempt of this page's runner). The log keeps the last [`ACTIVITY_LIMIT`] in memory, for
//! the life of the page: it explains what the open app is doing now, which is what a stuck
//! sync needs; keeping it in IndexedDB would write to the notes' database on every idle
//! sync (every 30 s, from every tab) for little use after a reload, when the status line
//! already tells the current state.

use std::collections::VecDeque;

use client::runner::{NextStep, RunRecord, RunResult};

/// Sync runs the activity log keeps (the oldest go first).
pub const ACTIVITY_LIMIT: usize = 50;

/// The recent runs, newest first, at most [`ACTIVITY_LIMIT`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ActivityLog {
    runs: VecDeque<RunRecord>,
}

impl ActivityLog {
    /// Adds `run` unless it is the newest already (the status is published more than once
    /// per run); drops the oldest beyond the limit.
    pub fn push(&mut self, run: RunRecord) {
        if self.runs.front() == Some(&run) {
            return;
        }
        self.runs.push_front(run);
        self.runs.truncate(ACTIVITY_LIMIT);
    }

    /// The runs, newest first.
    pub fn runs(&self) -> impl Iterator<Item = &RunRecord> {
        self.runs.iter()
    }

    /// How many runs are kept.
    pub fn len(&self) -> usize {
        self.runs.len()
    }

    /// True when no run is kept.
    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }
}

/// What a run did, in words: "sent 2, received 3, 1 conflict", or the error.
pub fn describe(run: &RunRecord) -> String {
    match &run.result {
        RunResult::Synced {
            pushed,
            pulled,
            conflicts,
            refused,
        } => {
            let mut parts = vec![format!("sent {pushed}"), format!("received {pulled}")];
            if *conflicts > 0 {
                parts.push(format!(
                    "{conflicts} conflict{} to resolve",
                    if *conflicts == 1 { "" } else { "s" }
                ));
            }
            if *refused > 0 {
                parts.push(format!("{refused} over a size limit (kept on this device)"));
            }
            format!("Synced: {}", parts.join(", "))
        }
        RunResult::Busy => "Another tab (or the background worker) was syncing".to_owned(),
        RunResult::Failed(f) => format!("Failed: {}", f.message),
    }
}

/// What the app does next, in words; `at` formats a time of day.
pub fn next_step(run: &RunRecord, at: impl Fn(u64) -> String) -> String {
    match run.next {
        NextStep::Now => "Syncs again now (something changed meanwhile).".to_owned(),
        NextStep::WhenOnline => {
            "Waits until this device is back online; your notes are kept here.".to_owned()
        }
        NextStep::WhenSignedIn => {
            "Waits for you to sign in again; your notes are kept here.".to_owned()
        }
        NextStep::At(t) => {
            let secs = t.saturating_sub(run.ended_ms).div_ceil(1000);
            match &run.result {
                RunResult::Failed(_) => format!(
                    "Tries again at {} (in {secs} s; failure {} in a row), or when you press \
                     Sync now.",
                    at(t),
                    run.failures
                ),
                RunResult::Busy => format!("Checks again at {} (in {secs} s).", at(t)),
                RunResult::Synced { .. } => format!(
                    "Next check at {}, or at once after an edit or a change on another device.",
                    at(t)
                ),
            }
        }
    }
}

/// Says plainly when syncing needs the user or is not working; empty otherwise.
pub fn attention(
    signed_in: bool,
    online: bool,
    unsynced: usize,
    failure: Option<(&str, u32)>,
) -> Option<String> {
    let notes = |n: usize| format!("{n} note{}", if n == 1 { "" } else { "s" });
    if !signed_in {
        return None; // the account notice says "sign in to sync"
    }
    if !online && unsynced > 0 {
        return Some(format!(
            "Offline: {} wait on this device and sync when the connection returns.",
            notes(unsynced)
        ));
    }
    failure.map(|(message, failures)| {
        format!(
            "Sync is not working ({failures} failed {} in a row): {message}. Your notes are \
             kept on this device; see Sync activity for when Tern tries again.",
            if failures == 1 { "try" } else { "tries" }
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use client::engine::FailureKind;
    use client::runner::Failure;

    fn run(seq: u64, result: RunResult, next: NextStep) -> RunRecord {
        RunRecord {
            seq,
            started_ms: 1_000,
            ended_ms: 2_000,
            result,
            next,
            failures: 0,
        }
    }

    #[test]
    fn the_log_is_bounded_and_newest_first() {
        let mut log = ActivityLog::default();
        for i in 1..=ACTIVITY_LIMIT as u64 + 7 {
            let r = run(i, RunResult::Busy, NextStep::Now);
            log.push(r.clone());
            log.push(r); // published twice: kept once
        }
        assert_eq!(log.len(), ACTIVITY_LIMIT);
        let seqs: Vec<u64> = log.runs().map(|r| r.seq).collect();
        assert_eq!(seqs.first(), Some(&(ACTIVITY_LIMIT as u64 + 7)));
        assert_eq!(seqs.last(), Some(&8));
    }

    #[test]
    fn runs_are_described_with_what_happens_next() {
        let ok = run(
            1,
            RunResult::Synced {
                pushed: 2,
                pulled: 3,
                conflicts: 1,
                refused: 0,
            },
            NextStep::At(32_000),
        );
        assert_eq!(
            describe(&ok),
            "Synced: sent 2, received 3, 1 conflict to resolve"
        );
        assert!(next_step(&ok, |t| format!("T{t}")).starts_with("Next check at T32000"));
        let mut failed = run(
            2,
            RunResult::Failed(Failure {
                kind: FailureKind::Server,
                message: "the server answered 503: busy".into(),
            }),
            NextStep::At(10_000),
        );
        failed.failures = 3;
        assert_eq!(describe(&failed), "Failed: the server answered 503: busy");
        assert_eq!(
            next_step(&failed, |t| format!("T{t}")),
            "Tries again at T10000 (in 8 s; failure 3 in a row), or when you press Sync now."
        );
        let offline = run(3, RunResult::Busy, NextStep::WhenOnline);
        assert!(next_step(&offline, |_| String::new()).contains("back online"));
    }

    #[test]
    fn attention_only_when_something_needs_the_user() {
        assert_eq!(attention(true, true, 3, None), None);
        assert_eq!(attention(false, false, 3, Some(("x", 1))), None);
        assert!(
            attention(true, false, 2, None)
                .unwrap()
                .starts_with("Offline: 2 notes")
        );
        assert_eq!(attention(true, false, 0, None), None);
        let failing = attention(true, true, 0, Some(("cannot reach the server", 2))).unwrap();
        assert!(failing.contains("2 failed tries in a row"), "{failing}");
    }
}
