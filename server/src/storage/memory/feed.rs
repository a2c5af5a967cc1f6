//! The change feeds in memory: a broadcast channel per store.

use futures::StreamExt;
use tokio::sync::broadcast;

use crate::storage::error::BoxStream;

/// Events a follower may fall behind by; past that it is told it missed some (`reopened`).
pub const BACKLOG: usize = 1024;

/// A feed following `rx`: `reopened` first (the feed is open), then every event sent, and
/// `reopened` again whenever the follower fell more than [`BACKLOG`] events behind.
pub fn follow<T: Clone + Send + 'static>(
    rx: broadcast::Receiver<T>,
    reopened: T,
) -> BoxStream<'static, T> {
    let first = futures::stream::once(futures::future::ready(reopened.clone()));
    let rest = futures::stream::unfold(rx, move |mut rx| {
        let reopened = reopened.clone();
        async move {
            match rx.recv().await {
                Ok(event) => Some((event, rx)),
                Err(broadcast::error::RecvError::Lagged(_)) => Some((reopened, rx)),
                Err(broadcast::error::RecvError::Closed) => None,
            }
        }
    });
    first.chain(rest).boxed()
}
