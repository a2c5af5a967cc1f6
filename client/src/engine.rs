//! The sync engine: push pending edits, pull remote changes, until nothing is waiting.
//!
//! Written once against [`LocalStore`] and [`Transport`]; the browser plugs in IndexedDB
//! and `gloo-net`, native tests plug in memory and an HTTP client against a real server.

use sync_core::limits::{MAX_CHANGES_PER_REQUEST, MAX_REQUEST_BYTES};
use sync_core::protocol::{ChangeOutcome, ErrorBody, PROTOCOL_VERSION, SyncRequest, SyncResponse};

use crate::local::{LocalStore, META_CLOCK_OFFSET, StoreError};
use crate::platform;

/// Sends one sync request.
#[allow(async_fn_in_trait)]
pub trait Transport {
    /// `POST /sync`.
    async fn sync(&self, request: &SyncRequest) -> Result<SyncResponse, TransportError>;
}

/// Why a request did not produce a sync response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// No answer: offline, DNS, connection refused, timeout.
    #[error("cannot reach the server: {0}")]
    Network(String),
    /// The server answered with an error status.
    #[error("the server answered {status}: {}", body.as_ref().map_or("", |b| b.message.as_str()))]
    Http {
        /// HTTP status.
        status: u16,
        /// The JSON error body, when there was one.
        body: Option<ErrorBody>,
    },
    /// The server's answer was not a sync response.
    #[error("unexpected answer from the server: {0}")]
    Decode(String),
}

/// Why a sync run stopped early. Local data is never lost by a failed run: the local store
/// is only written with complete, successful responses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SyncError {
    /// The request failed.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The local store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The server keeps saying there is more after many rounds.
    #[error("sync did not finish after {0} rounds; it continues next time")]
    TooManyRounds(usize),
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

/// Pushes every pending change and pulls until the server has nothing more.
pub async fn sync<S: LocalStore, T: Transport>(
    store: &S,
    transport: &T,
) -> Result<SyncReport, SyncError> {
    let mut report = SyncReport::default();
    while report.rounds < MAX_ROUNDS {
        let mut changes: Vec<_> = store
            .list()
            .await?
            .iter()
            .filter_map(|n| n.pending_change())
            .collect();
        changes.sort_by(|a, b| a.hlc.cmp(&b.hlc));
        // At most MAX_CHANGES_PER_REQUEST changes and about half the body limit per
        // request (large notes carry their base text too); the rest go in the next round.
        let mut bytes = 0;
        let fits = changes
            .iter()
            .take(MAX_CHANGES_PER_REQUEST)
            .take_while(|c| {
                bytes += serde_json::to_vec(c).map_or(0, |v| v.len());
                bytes <= REQUEST_BUDGET_BYTES
            })
            .count()
            .max(1);
        let more_to_push = changes.len() > fits;
        changes.truncate(fits);
        let request = SyncRequest {
            protocol: PROTOCOL_VERSION,
            cursor: store.cursor().await?,
            changes,
            limit: None,
        };
        let sent_at = platform::now_ms();
        let response = transport.sync(&request).await?;
        let offset = response.server_time_ms as i64 - sent_at as i64;
        store
            .set_meta(META_CLOCK_OFFSET, &offset.to_string())
            .await?;
        store.commit_sync(&request.changes, &response).await?;
        report.rounds += 1;
        report.pushed += request.changes.len();
        report.pulled += response.changes.len();
        for r in &response.results {
            match &r.outcome {
                ChangeOutcome::Superseded { current } => {
                    let was_delete = request
                        .changes
                        .iter()
                        .any(|c| c.change_id == r.change_id && c.deleted);
                    if was_delete && !current.deleted {
                        report.deletes_undone += 1;
                    } else {
                        report.superseded += 1;
                    }
                }
                ChangeOutcome::Applied {
                    current: Some(c), ..
                } if c.conflict.is_some() => {
                    report.conflicts += 1;
                }
                _ => {}
            }
        }
        if !response.has_more && !more_to_push {
            return Ok(report);
        }
    }
    Err(SyncError::TooManyRounds(MAX_ROUNDS))
}

#[cfg(test)]
mod tests {
    use super::*;

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
