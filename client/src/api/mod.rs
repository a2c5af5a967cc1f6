//! The API client: every conversation with the server but the live stream (`GET /live`,
//! [`crate::live`]), typed, with one error type.
//!
//! - [`ApiClient`]: one method per route (`POST /sync`, `/auth/*`, `/account/*`,
//!   `GET /notes/{id}/history`), taking and returning the [`sync_core::protocol`] types.
//!   It also is the sync engine's transport (`engine::Transport`, implemented there).
//! - [`ApiError`]: what went wrong, as a caller tells it apart: no answer
//!   ([`ApiError::Offline`]), no valid session or wrong password ([`ApiError::Unauthorized`]),
//!   any other error answer with the server's JSON error body ([`ApiError::Server`]), an
//!   answer that is not what the route returns ([`ApiError::Decode`]).
//! - [`Http`]: how one request is sent. Two implementations: `BrowserHttp` (wasm32 only,
//!   `gloo-net`, the session cookie) and `NativeHttp` (the `native` feature, `reqwest`, a
//!   bearer token), used by the server's tests and benches. The status and body are mapped
//!   to [`ApiError`] once, here ([`ApiClient::call`]), whatever sends them.

#[cfg(target_arch = "wasm32")]
mod browser;
#[cfg(feature = "native")]
mod native;

#[cfg(target_arch = "wasm32")]
pub use browser::BrowserHttp;
#[cfg(feature = "native")]
pub use native::NativeHttp;

use serde::Serialize;
use serde::de::DeserializeOwned;
use sync_core::NoteId;
use sync_core::protocol::{
    AccountDeleted, Credentials, ErrorBody, ErrorCode, HistoryResponse, PasswordChange,
    PasswordChanged, PasswordCheck, SessionRef, Sessions, SignedIn, SignedOut, SyncRequest,
    SyncResponse,
};

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

/// `s` as one URL path segment: every byte but `[A-Za-z0-9_-]` (all a valid id holds)
/// percent-encoded.
fn path_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// An HTTP method the API uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// `GET`.
    Get,
    /// `POST` (always with `Content-Type: application/json`, which the server asks of a
    /// cookie-authenticated POST).
    Post,
}

/// One request, as [`Http`] sends it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call<'a> {
    /// The method.
    pub method: Method,
    /// The route, from the origin: `/auth/me`.
    pub path: &'a str,
    /// The JSON body (`None`: no body).
    pub body: Option<String>,
}

/// The server's answer to one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The body, as text.
    pub body: String,
}

/// Sends one request; a failure to get an answer is [`ApiError::Offline`].
#[allow(async_fn_in_trait)]
pub trait Http {
    /// Sends `call` and reads the whole answer.
    async fn send(&self, call: Call<'_>) -> Result<Answer, ApiError>;
}

/// Sign in to an account, or create it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// `POST /auth/signin`.
    SignIn,
    /// `POST /auth/signup`.
    SignUp,
}

impl Access {
    /// The route.
    pub fn path(self) -> &'static str {
        match self {
            Self::SignIn => "/auth/signin",
            Self::SignUp => "/auth/signup",
        }
    }
}

/// The typed API client over an [`Http`] (see the module docs).
#[derive(Clone, Debug)]
pub struct ApiClient<H> {
    http: H,
}

impl<H: Http> ApiClient<H> {
    /// A client sending through `http`.
    pub fn new(http: H) -> Self {
        Self { http }
    }

    /// The [`Http`] it sends through.
    pub fn http(&self) -> &H {
        &self.http
    }

    /// Sends one request and reads its answer: a success status with a body of type `T`,
    /// or the [`ApiError`] the answer says.
    pub async fn call<T: DeserializeOwned>(&self, call: Call<'_>) -> Result<T, ApiError> {
        let answer = self.http.send(call).await?;
        if !(200..300).contains(&answer.status) {
            return Err(ApiError::from_answer(answer.status, &answer.body));
        }
        serde_json::from_str(&answer.body).map_err(|e| ApiError::Decode(e.to_string()))
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ApiError> {
        self.call(Call {
            method: Method::Get,
            path,
            body: None,
        })
        .await
    }

    async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, ApiError> {
        let body = serde_json::to_string(body).map_err(|e| ApiError::Decode(e.to_string()))?;
        self.call(Call {
            method: Method::Post,
            path,
            body: Some(body),
        })
        .await
    }

    /// `POST /sync`: push changes, pull what changed since the cursor.
    pub async fn sync(&self, request: &SyncRequest) -> Result<SyncResponse, ApiError> {
        self.post("/sync", request).await
    }

    /// `POST /auth/signin` or `POST /auth/signup`. A browser gets the session cookie; a
    /// client that is not a browser gets [`SignedIn::token`].
    pub async fn access(
        &self,
        access: Access,
        credentials: &Credentials,
    ) -> Result<SignedIn, ApiError> {
        self.post(access.path(), credentials).await
    }

    /// `POST /auth/signin`.
    pub async fn sign_in(&self, credentials: &Credentials) -> Result<SignedIn, ApiError> {
        self.access(Access::SignIn, credentials).await
    }

    /// `POST /auth/signup`.
    pub async fn sign_up(&self, credentials: &Credentials) -> Result<SignedIn, ApiError> {
        self.access(Access::SignUp, credentials).await
    }

    /// `GET /auth/me`: who the session signs in ([`ApiError::Unauthorized`]: nobody).
    pub async fn me(&self) -> Result<SignedIn, ApiError> {
        self.get("/auth/me").await
    }

    /// `POST /auth/signout` (no body): ends this session. An [`ApiError::Unauthorized`]
    /// means it was over already.
    pub async fn sign_out(&self) -> Result<SignedOut, ApiError> {
        self.call(Call {
            method: Method::Post,
            path: "/auth/signout",
            body: None,
        })
        .await
    }

    /// `GET /account/sessions`: the account's sessions, most recently used first.
    pub async fn sessions(&self) -> Result<Sessions, ApiError> {
        self.get("/account/sessions").await
    }

    /// `POST /account/sessions/signout`: ends one session of the account.
    pub async fn end_session(&self, session: &SessionRef) -> Result<SignedOut, ApiError> {
        self.post("/account/sessions/signout", session).await
    }

    /// `POST /account/signout-everywhere`: ends every session of the account, this one too.
    pub async fn sign_out_everywhere(&self) -> Result<SignedOut, ApiError> {
        self.post("/account/signout-everywhere", &serde_json::Map::new())
            .await
    }

    /// `POST /account/password`: every other session ends.
    pub async fn change_password(
        &self,
        change: &PasswordChange,
    ) -> Result<PasswordChanged, ApiError> {
        self.post("/account/password", change).await
    }

    /// `POST /account/delete`: the account, its notes, their history and its sessions go.
    pub async fn delete_account(&self, check: &PasswordCheck) -> Result<AccountDeleted, ApiError> {
        self.post("/account/delete", check).await
    }

    /// `GET /notes/{id}/history`: the note's revisions, newest first (export reads it too).
    /// The id is one path segment whatever it holds (an id from an imported file cannot
    /// reach another route).
    pub async fn history(&self, note: &NoteId) -> Result<HistoryResponse, ApiError> {
        self.get(&format!("/notes/{}/history", path_segment(note.as_str())))
            .await
    }
}

#[cfg(test)]
mod tests;
