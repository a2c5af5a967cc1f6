//! The HTTP errors of the API, turned into responses in exactly one place.
//!
//! Every error body is `{"error": "<code>", "message": "<what to do>"}` ([`ErrorBody`]).
//! Internal details (database errors) are logged here and never sent.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use sync_core::limits::MAX_CHANGES_PER_REQUEST;
use sync_core::protocol::{ErrorBody, ErrorCode, PROTOCOL_VERSION};

use crate::auth::AuthError;
use crate::storage::StoreError;

/// An API error.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The body is not the JSON the endpoint expects.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// Unsupported protocol version.
    #[error("unsupported protocol {0}")]
    UnsupportedProtocol(u64),
    /// The body is over the endpoint's limit (`limit` bytes); `hint` says what to send.
    #[error("payload too large")]
    PayloadTooLarge {
        /// The endpoint's body limit, in bytes.
        limit: usize,
        /// What to do instead, ending the message.
        hint: &'static str,
    },
    /// The body did not arrive within the body deadline.
    #[error("body not received within {0:?}")]
    BodyTimeout(std::time::Duration),
    /// Too many changes in one request.
    #[error("too many changes: {0}")]
    TooManyChanges(usize),
    /// A known API path asked with a method it does not answer.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// A cursor this server did not issue.
    #[error("invalid cursor")]
    InvalidCursor,
    /// A cursor above the user's head: issued to another account, or by another server.
    #[error("cursor ahead of the user's changes")]
    CursorAhead,
    /// The database cannot be reached.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// Anything else.
    #[error("internal: {0}")]
    Internal(String),
    /// No valid session.
    #[error("unauthorized")]
    Unauthorized,
    /// Cross-site request with a cookie.
    #[error("csrf rejected: {0}")]
    CsrfRejected(&'static str),
    /// Account errors.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// A live connection past its limits, or during shutdown.
    #[error("live connection refused: {0}")]
    LiveRefused(crate::live::LiveRefused),
}

/// What a failed request was, left on its response for the metrics ([`crate::metrics`]);
/// never sent.
#[derive(Clone, Copy, Debug)]
pub struct Failure {
    /// The code of the error body.
    pub code: ErrorCode,
    /// What failed.
    pub cause: Cause,
}

/// What made a request fail, where its code alone does not tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cause {
    /// The database (unreachable, or an unexpected error).
    Database,
    /// Too many password hashes waiting: a throttle, answered as `unavailable`.
    HashesBusy,
    /// The request itself (its code says how).
    Request,
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(m) => Self::Unavailable(m),
            StoreError::Internal(m) => Self::Internal(m),
            // The account was deleted while this request ran: its session is gone too.
            StoreError::Gone => Self::Unauthorized,
            StoreError::CursorAhead => Self::CursorAhead,
        }
    }
}

impl ApiError {
    /// Status, code and the message sent to the client.
    fn parts(&self) -> (StatusCode, ErrorCode, String) {
        match self {
            Self::InvalidRequest(why) => (
                StatusCode::BAD_REQUEST,
                ErrorCode::InvalidRequest,
                format!(
                    "the request body is not a valid sync request ({why}); see docs/sync-protocol.md"
                ),
            ),
            Self::UnsupportedProtocol(v) => (
                StatusCode::UPGRADE_REQUIRED,
                ErrorCode::UnsupportedProtocol,
                format!(
                    "protocol version {v} is not supported; this server speaks version \
                     {PROTOCOL_VERSION}: update the app (reload the page)"
                ),
            ),
            Self::PayloadTooLarge { limit, hint } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorCode::PayloadTooLarge,
                format!("the request body is over {limit} bytes; {hint}"),
            ),
            Self::BodyTimeout(d) => (
                StatusCode::REQUEST_TIMEOUT,
                ErrorCode::InvalidRequest,
                format!(
                    "the request body did not arrive within {} s; send it again (or send fewer changes per request)",
                    d.as_secs_f64()
                ),
            ),
            Self::TooManyChanges(n) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorCode::TooManyChanges,
                format!(
                    "{n} changes in one request; send at most {MAX_CHANGES_PER_REQUEST} per request"
                ),
            ),
            Self::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                ErrorCode::InvalidRequest,
                "this endpoint does not answer that HTTP method; see docs/sync-protocol.md".into(),
            ),
            Self::InvalidCursor => (
                StatusCode::BAD_REQUEST,
                ErrorCode::InvalidCursor,
                "the cursor was not issued by this server; send no cursor to sync from the start"
                    .into(),
            ),
            Self::CursorAhead => (
                StatusCode::BAD_REQUEST,
                ErrorCode::InvalidCursor,
                "the cursor was not issued to this account; send no cursor to sync from the start"
                    .into(),
            ),
            Self::Unavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::Unavailable,
                "the database is unavailable; your changes are kept, retry later".into(),
            ),
            Self::Internal(_) | Self::Auth(AuthError::Store(StoreError::Internal(_))) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorCode::Internal,
                "the server failed unexpectedly; your changes are kept, retry later".into(),
            ),
            Self::Auth(AuthError::Store(StoreError::Unavailable(_))) => {
                Self::Unavailable(String::new()).parts()
            }
            Self::Auth(AuthError::Store(StoreError::Gone)) => Self::Unauthorized.parts(),
            Self::Auth(AuthError::Store(StoreError::CursorAhead)) => Self::CursorAhead.parts(),
            Self::Auth(AuthError::Busy) => (
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::Unavailable,
                "the server is busy checking other passwords; try again in a second".into(),
            ),
            Self::LiveRefused(why) => (
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::Unavailable,
                format!("{why}; sync keeps working by polling, retry the live connection later"),
            ),
            Self::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                ErrorCode::Unauthorized,
                "sign in to sync; notes on this device are kept".into(),
            ),
            Self::CsrfRejected(why) => (
                StatusCode::FORBIDDEN,
                ErrorCode::CsrfRejected,
                (*why).into(),
            ),
            Self::Auth(AuthError::InvalidAccount(why)) => (
                StatusCode::BAD_REQUEST,
                ErrorCode::InvalidAccount,
                why.clone(),
            ),
            Self::Auth(AuthError::NameTaken) => (
                StatusCode::CONFLICT,
                ErrorCode::NameTaken,
                "that username is taken; choose another or sign in".into(),
            ),
            Self::Auth(AuthError::InvalidCredentials) => (
                StatusCode::UNAUTHORIZED,
                ErrorCode::InvalidCredentials,
                "wrong username or password".into(),
            ),
            Self::Auth(AuthError::WrongPassword) => (
                StatusCode::UNAUTHORIZED,
                ErrorCode::InvalidCredentials,
                "the password is wrong; nothing was changed".into(),
            ),
            Self::Auth(AuthError::TooManyAttempts(secs)) => (
                StatusCode::TOO_MANY_REQUESTS,
                ErrorCode::TooManyAttempts,
                format!("too many failed sign-ins; try again in {secs} s"),
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            Self::Unavailable(detail)
            | Self::Auth(AuthError::Store(StoreError::Unavailable(detail))) => {
                tracing::warn!(%detail, "database unavailable")
            }
            Self::Internal(detail) | Self::Auth(AuthError::Store(StoreError::Internal(detail))) => {
                tracing::error!(%detail, "internal error")
            }
            other => tracing::debug!(error = %other, "rejected request"),
        }
        let cause = match &self {
            Self::Auth(AuthError::Store(StoreError::Gone | StoreError::CursorAhead)) => {
                Cause::Request
            }
            Self::Unavailable(_) | Self::Internal(_) | Self::Auth(AuthError::Store(_)) => {
                Cause::Database
            }
            Self::Auth(AuthError::Busy) => Cause::HashesBusy,
            _ => Cause::Request,
        };
        let (status, error, message) = self.parts();
        let mut resp = (status, Json(ErrorBody { error, message })).into_response();
        resp.extensions_mut().insert(Failure { code: error, cause });
        let retry_after = match self {
            Self::Auth(AuthError::TooManyAttempts(secs)) => Some(secs),
            Self::Auth(AuthError::Busy) => Some(1),
            Self::LiveRefused(_) => Some(30),
            _ => None,
        };
        if let Some(secs) = retry_after {
            resp.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        resp
    }
}
