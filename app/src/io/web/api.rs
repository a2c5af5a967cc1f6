//! Every HTTP call of the page to the server's API other than `/sync` (the sync runner's),
//! each a typed function with a typed error ([`ApiError`]); the routes are
//! `docs/openapi.json`'s.

use gloo_net::http::{Request, Response};
use sync_core::protocol::{
    Credentials, ErrorBody, HistoryResponse, PasswordChange, PasswordChanged, PasswordCheck,
    Revision, SessionInfo, SessionRef, Sessions, SignedIn,
};

use crate::io::{ApiError, Entry};

/// The error of a non-2xx answer: 401 is [`ApiError::Unauthorized`].
async fn refused(resp: Response) -> ApiError {
    let status = resp.status();
    let message = resp.json::<ErrorBody>().await.ok().map(|e| e.message);
    if status == 401 {
        ApiError::Unauthorized(message)
    } else {
        ApiError::Server { status, message }
    }
}

/// Sends `req`; a 2xx answer, or the error.
async fn send(req: Result<Request, gloo_net::Error>) -> Result<Response, ApiError> {
    let resp = req
        .map_err(|e| ApiError::Decode(e.to_string()))?
        .send()
        .await
        .map_err(|e| ApiError::Offline(e.to_string()))?;
    if resp.ok() {
        Ok(resp)
    } else {
        Err(refused(resp).await)
    }
}

async fn get(path: &str) -> Result<Response, ApiError> {
    send(Request::get(path).build()).await
}

/// POSTs `body`, the JSON text of a `sync_core::protocol` value.
async fn post(path: &str, body: Result<String, serde_json::Error>) -> Result<Response, ApiError> {
    let body = body.map_err(|e| ApiError::Decode(e.to_string()))?;
    send(
        Request::post(path)
            .header("content-type", "application/json")
            .body(body),
    )
    .await
}

/// An answer that is not what the protocol says.
fn undecodable(e: gloo_net::Error) -> ApiError {
    ApiError::Decode(e.to_string())
}

/// `POST /auth/signin` or `/auth/signup`: the session cookie is set; who is signed in.
pub async fn sign_in(entry: Entry, credentials: &Credentials) -> Result<SignedIn, ApiError> {
    let path = match entry {
        Entry::SignIn => "/auth/signin",
        Entry::SignUp => "/auth/signup",
    };
    post(path, serde_json::to_string(credentials))
        .await?
        .json()
        .await
        .map_err(undecodable)
}

/// `GET /auth/me`: who the session cookie signs in.
pub async fn me() -> Result<SignedIn, ApiError> {
    get("/auth/me").await?.json().await.map_err(undecodable)
}

/// `POST /auth/signout`: ends this browser's session.
pub async fn sign_out() -> Result<(), ApiError> {
    // No body: the session cookie says whose.
    send(
        Request::post("/auth/signout")
            .header("content-type", "application/json")
            .build(),
    )
    .await
    .map(drop)
}

/// `GET /account/sessions`: the account's signed-in devices.
pub async fn sessions() -> Result<Vec<SessionInfo>, ApiError> {
    let s: Sessions = get("/account/sessions")
        .await?
        .json()
        .await
        .map_err(undecodable)?;
    Ok(s.sessions)
}

/// `POST /account/sessions/signout`: signs out one device.
pub async fn end_session(id: &str) -> Result<(), ApiError> {
    let body = SessionRef {
        session: id.to_owned(),
    };
    post("/account/sessions/signout", serde_json::to_string(&body))
        .await
        .map(drop)
}

/// `POST /account/signout-everywhere`.
pub async fn sign_out_everywhere() -> Result<(), ApiError> {
    post("/account/signout-everywhere", Ok("{}".to_owned()))
        .await
        .map(drop)
}

/// `POST /account/password`: how many other sessions were ended.
pub async fn change_password(current: &str, new: &str) -> Result<u64, ApiError> {
    let body = PasswordChange {
        current_password: current.to_owned(),
        new_password: new.to_owned(),
    };
    let r: PasswordChanged = post("/account/password", serde_json::to_string(&body))
        .await?
        .json()
        .await
        .map_err(undecodable)?;
    Ok(r.sessions_ended)
}

/// `POST /account/delete`: the account, its notes, their history and every session.
pub async fn delete_account(password: &str) -> Result<(), ApiError> {
    let body = PasswordCheck {
        password: password.to_owned(),
    };
    post("/account/delete", serde_json::to_string(&body))
        .await
        .map(drop)
}

/// `GET /notes/{id}/history`: the note's earlier versions, newest first.
pub async fn history(id: &str) -> Result<Vec<Revision>, ApiError> {
    let h: HistoryResponse = get(&format!("/notes/{id}/history"))
        .await?
        .json()
        .await
        .map_err(undecodable)?;
    Ok(h.revisions)
}
