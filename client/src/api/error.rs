//! [`ApiError`]: what went wrong with a call, as a caller tells it apart.

use sync_core::protocol::{ErrorBody, ErrorCode};

/// Why a call did not return what its route answers on success.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// No answer: offline, DNS, connection refused or reset, timeout.
    #[error("cannot reach the server: {0}")]
    Offline(String),
    /// `401`: no valid session (`unauthorized`), or the password sent is wrong
    /// (`invalid_credentials`).
    #[error("{}", answered(401, body.as_ref()))]
    Unauthorized {
        /// The JSON error body, when there was one.
        body: Option<ErrorBody>,
    },
    /// Any other error status: the request was refused (4xx) or failed on the server (5xx).
    #[error("{}", answered(*status, body.as_ref()))]
    Server {
        /// The HTTP status.
        status: u16,
        /// The JSON error body, when there was one (a proxy's error page has none).
        body: Option<ErrorBody>,
    },
    /// A success status whose body is not what the route answers (a captive portal's page,
    /// a server of another version).
    #[error("unexpected answer from the server: {0}")]
    Decode(String),
}

/// The status and the server's words: "the server answered 503: <message>" (the sync
/// status shows this).
fn answered(status: u16, body: Option<&ErrorBody>) -> String {
    let message = body.map_or("", |b| b.message.as_str());
    format!("the server answered {status}: {message}")
}

impl ApiError {
    /// What to tell the user: the server's own words when it sent them ("the password is
    /// wrong; nothing was changed"), else its status ("the server answered 502"), else what
    /// went wrong on the way.
    pub fn message(&self) -> String {
        match (self.body(), self.status()) {
            (Some(b), _) => b.message.clone(),
            (None, Some(status)) => format!("the server answered {status}"),
            (None, None) => self.to_string(),
        }
    }

    /// The error body's code, when the server answered with one.
    pub fn code(&self) -> Option<ErrorCode> {
        self.body().map(|b| b.error)
    }

    /// The server's JSON error body, when it answered with one.
    pub fn body(&self) -> Option<&ErrorBody> {
        match self {
            Self::Unauthorized { body } | Self::Server { body, .. } => body.as_ref(),
            Self::Offline(_) | Self::Decode(_) => None,
        }
    }

    /// The HTTP status of an error answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Unauthorized { .. } => Some(401),
            Self::Server { status, .. } => Some(*status),
            Self::Offline(_) | Self::Decode(_) => None,
        }
    }

    /// The error for an answer with this status and body (not a success).
    pub fn from_answer(status: u16, body: &str) -> Self {
        let body = serde_json::from_str::<ErrorBody>(body).ok();
        match status {
            401 => Self::Unauthorized { body },
            _ => Self::Server { status, body },
        }
    }
}
