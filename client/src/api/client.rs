//! [`ApiClient`]: one method per route over an [`Http`].

use serde::Serialize;
use serde::de::DeserializeOwned;
use sync_core::NoteId;
use sync_core::protocol::{
    AccountDeleted, Credentials, HistoryResponse, PasswordChange, PasswordChanged, PasswordCheck,
    SessionRef, Sessions, SignedIn, SignedOut, SyncRequest, SyncResponse,
};

use super::error::ApiError;
use super::http::{Call, Http, Method};

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
