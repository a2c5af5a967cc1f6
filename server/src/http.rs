//! The HTTP layer every API request goes through, written once:
//!
//! - [`ApiJson`]: the JSON body extractor of every API handler. Its rejection is the API's
//!   own error ([`ApiError`]), so a body that is too large, not JSON, of the wrong shape or
//!   of another protocol version gets the same JSON error body on every endpoint (axum's
//!   `error-handling` example). What a body must satisfy beyond its shape is its
//!   [`ApiBody`] impl.
//! - [`trace`]: a request id on every request (`x-request-id`: kept when a proxy set one,
//!   else a new UUID), sent back on the response, and a tracing span per request that
//!   carries it, so every log line of a request (its errors included) names it.
//!
//! The content type is not checked here: it matters only for a cookie-authenticated POST
//! (a cross-site form cannot send JSON), and that rule is the CSRF check of
//! `api::extract::AuthUser`, which must answer `csrf_rejected` before the session is looked
//! up. Bearer clients may send a body without `Content-Type`, as they always could.

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;
use sync_core::limits::{MAX_CHANGES_PER_REQUEST, MAX_REQUEST_BYTES};
use sync_core::protocol::{
    Credentials, PROTOCOL_VERSION, PasswordChange, PasswordCheck, SessionRef, SyncRequest,
};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::error::ApiError;

/// Largest body of the account endpoints: a 64-character name and a 1024-character
/// password, or two passwords (a change), each character escaped in JSON (12 bytes for a
/// character outside the BMP), fit with room to spare.
pub const MAX_CREDENTIALS_BYTES: usize = 32 * 1024;

/// A JSON request body of the API.
pub trait ApiBody: DeserializeOwned {
    /// Largest body, in bytes: the route's `DefaultBodyLimit`, named in the 413 answer.
    const LIMIT: usize;
    /// What to do about a body over [`Self::LIMIT`].
    const TOO_LARGE_HINT: &'static str;

    /// Whether the body carries `protocol`, the protocol version. It is checked before the
    /// shape, so that a newer client gets `unsupported_protocol`, not `invalid_request`.
    const VERSIONED: bool = false;

    /// Rules beyond the shape (counts, limits), checked once the body is parsed.
    fn check(&self) -> Result<(), ApiError> {
        Ok(())
    }
}

impl ApiBody for SyncRequest {
    const LIMIT: usize = MAX_REQUEST_BYTES;
    const TOO_LARGE_HINT: &'static str = "send fewer changes per request";
    const VERSIONED: bool = true;

    fn check(&self) -> Result<(), ApiError> {
        if self.changes.len() > MAX_CHANGES_PER_REQUEST {
            return Err(ApiError::TooManyChanges(self.changes.len()));
        }
        Ok(())
    }
}

impl ApiBody for Credentials {
    const LIMIT: usize = MAX_CREDENTIALS_BYTES;
    const TOO_LARGE_HINT: &'static str = "send only a username and a password";
}

impl ApiBody for PasswordChange {
    const LIMIT: usize = MAX_CREDENTIALS_BYTES;
    const TOO_LARGE_HINT: &'static str = "send only the current and the new password";
}

impl ApiBody for PasswordCheck {
    const LIMIT: usize = MAX_CREDENTIALS_BYTES;
    const TOO_LARGE_HINT: &'static str = "send only the password";
}

impl ApiBody for SessionRef {
    const LIMIT: usize = MAX_CREDENTIALS_BYTES;
    const TOO_LARGE_HINT: &'static str = "send only the session's id";
}

/// Parses and checks a body of type `T` ([`ApiBody`]).
pub fn parse_body<T: ApiBody>(body: &[u8]) -> Result<T, ApiError> {
    // serde's message may quote the offending value (a string of megabytes): cut, as it
    // is both answered and logged.
    let invalid = |e: serde_json::Error| ApiError::InvalidRequest(cut(&e.to_string()).to_owned());
    let t: T = if T::VERSIONED {
        let value: serde_json::Value = serde_json::from_slice(body).map_err(invalid)?;
        match value.get("protocol").and_then(serde_json::Value::as_u64) {
            Some(v) if v == u64::from(PROTOCOL_VERSION) => {}
            Some(v) => return Err(ApiError::UnsupportedProtocol(v)),
            None => {
                return Err(ApiError::InvalidRequest(
                    "missing `protocol`: a number, the protocol version".into(),
                ));
            }
        }
        serde_json::from_value(value).map_err(invalid)?
    } else {
        serde_json::from_slice(body).map_err(invalid)?
    };
    t.check()?;
    Ok(t)
}

/// Longest time a request body may take to arrive (`408`, `invalid_request` past it): a
/// request holds its place (and, for `/sync`, its session check) no longer than this. The
/// largest body (8 MiB) arrives within it at 70 KB/s.
pub const BODY_DEADLINE: std::time::Duration = std::time::Duration::from_secs(120);

/// The body deadline of this server ([`BODY_DEADLINE`] unless set otherwise), as a request
/// extension that [`ApiJson`] reads.
#[derive(Debug, Clone, Copy)]
pub struct BodyDeadline(pub std::time::Duration);

/// A JSON body of type `T`, read within the route's `DefaultBodyLimit` (which must be
/// [`ApiBody::LIMIT`]) and the body deadline ([`BodyDeadline`]), and checked
/// ([`ApiBody`]). Rejects with the API's error: `payload_too_large` past the limit,
/// `unsupported_protocol` or `invalid_request` for a body that does not parse, or what
/// [`ApiBody::check`] says.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: ApiBody> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let deadline = req
            .extensions()
            .get::<BodyDeadline>()
            .map_or(BODY_DEADLINE, |d| d.0);
        let bytes = tokio::time::timeout(deadline, Bytes::from_request(req, state))
            .await
            .map_err(|_| ApiError::BodyTimeout(deadline))?
            .map_err(|r| match r.status() {
                StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge {
                    limit: T::LIMIT,
                    hint: T::TOO_LARGE_HINT,
                },
                _ => ApiError::InvalidRequest(r.body_text()),
            })?;
        parse_body(&bytes).map(Self)
    }
}

/// Longest part of a client-chosen value (path, request id) written to a log line.
pub const LOGGED_BYTES: usize = 256;

/// `s` cut at [`LOGGED_BYTES`] (on a character boundary).
fn cut(s: &str) -> &str {
    if s.len() <= LOGGED_BYTES {
        return s;
    }
    let mut end = LOGGED_BYTES;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The header that carries a request's id, both ways.
pub const REQUEST_ID: &str = "x-request-id";

/// Wraps `app` in the request id and tracing layers (outermost first): set the request id
/// (a proxy's is kept), open the request's span (`request{id method path}`; tower-http logs
/// the response and its latency in it at DEBUG), and copy the id onto the response.
pub fn trace(app: Router) -> Router {
    app.layer(PropagateRequestIdLayer::x_request_id())
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &Request<Body>| {
                let id = req
                    .headers()
                    .get(REQUEST_ID)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                // What a client sends is logged bounded: the method as the metrics name it,
                // the path and the request id cut at LOGGED_BYTES.
                tracing::info_span!(
                    "request",
                    id = cut(id),
                    method = crate::metrics::method_label(req.method()),
                    path = cut(req.uri().path()),
                )
            }),
        )
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}
