//! Reading what a refused request still sends, so that its client reads the answer.
//!
//! A handler may answer before it has read the request body: an unknown session is refused
//! before the body is looked at, and a body over its limit is refused once the limit is
//! reached. hyper then closes the connection with bytes still unread, the kernel answers
//! the client's further writes with a reset, and a client still sending its body gets a
//! broken pipe instead of the JSON error (seen by the HTTP fuzz campaign with a 7 MB body
//! and a bad session). [`layer`] reads and discards what is left of such a body, at most
//! [`DRAIN_MAX_BYTES`] for at most [`DRAIN_MAX_TIME`], before the answer goes out; past
//! either bound the connection is closed as before. These bounds are in the protocol doc's
//! limits table.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use http_body::{Frame, SizeHint};
use http_body_util::BodyExt;

/// Most bytes of a refused request's unread body that are read (and thrown away).
pub const DRAIN_MAX_BYTES: usize = sync_core::limits::MAX_REQUEST_BYTES;
/// Longest time spent reading a refused request's unread body.
pub const DRAIN_MAX_TIME: Duration = Duration::from_secs(5);

/// Where a request body that was dropped unread ends up.
type Slot = Arc<Mutex<Option<Body>>>;

/// A request body that, when dropped before its end, leaves the rest in its slot.
struct Tracked {
    inner: Option<Body>,
    slot: Slot,
}

impl http_body::Body for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        match self.inner.as_mut() {
            Some(body) => Pin::new(body).poll_frame(cx),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner
            .as_ref()
            .is_none_or(http_body::Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.inner
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), http_body::Body::size_hint)
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        if let Some(body) = self.inner.take()
            && !http_body::Body::is_end_stream(&body)
        {
            *self.slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(body);
        }
    }
}

/// Middleware: after the handler has answered, reads the rest of a body it left unread.
pub async fn layer(req: Request, next: Next) -> Response {
    let slot = Slot::default();
    let req = req.map(|body| {
        Body::new(Tracked {
            inner: Some(body),
            slot: slot.clone(),
        })
    });
    let response = next.run(req).await;
    let rest = slot.lock().unwrap_or_else(|e| e.into_inner()).take();
    if let Some(body) = rest {
        discard(body).await;
    }
    response
}

async fn discard(body: Body) {
    let mut body = http_body_util::Limited::new(body, DRAIN_MAX_BYTES);
    let read_all = async { while let Some(Ok(_)) = body.frame().await {} };
    // Past either bound hyper closes the connection, as it would have without this layer.
    let _ = tokio::time::timeout(DRAIN_MAX_TIME, read_all).await;
}
