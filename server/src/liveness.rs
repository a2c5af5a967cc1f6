//! Whether the database answers ([`Liveness`]), for requests that wait on it: the API's
//! watchdog answers `503` as soon as it is found stopped.

use std::time::Duration;

use crate::storage::{PING_TIMEOUT, SyncStore};

/// How long an API request runs before [`Liveness::stalled`] asks whether the database
/// answers (most requests are done well before).
pub const STALL_CHECK_AFTER: Duration = Duration::from_millis(250);

/// Whether the database answers, asked at most once a second per process however many
/// requests wait ([`Liveness::stalled`]).
#[derive(Debug, Default)]
pub struct Liveness {
    /// When the database last answered a ping or failed to, and which.
    last: tokio::sync::Mutex<Option<(tokio::time::Instant, bool)>>,
}

impl Liveness {
    /// Resolves when the database stops answering: once a request has run for
    /// [`STALL_CHECK_AFTER`], the database is pinged (then again every second while the
    /// request goes on), and a ping unanswered within the server-selection timeout (or
    /// failed) ends it. One ping serves every request waiting at the time. A database that
    /// answers slowly is waited for (a sync up to `api::sync::SYNC_DEADLINE`).
    pub async fn stalled(&self, store: &dyn SyncStore) {
        tokio::time::sleep(STALL_CHECK_AFTER).await;
        loop {
            let answers = {
                let mut last = self.last.lock().await;
                match *last {
                    Some((at, ok)) if at.elapsed() < Duration::from_secs(1) => ok,
                    _ => {
                        let ok = matches!(
                            tokio::time::timeout(PING_TIMEOUT, store.ping()).await,
                            Ok(Ok(()))
                        );
                        *last = Some((tokio::time::Instant::now(), ok));
                        ok
                    }
                }
            };
            if !answers {
                return;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}
