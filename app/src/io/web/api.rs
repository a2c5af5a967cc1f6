//! Every HTTP call of the page to the server's API other than `/sync` (the sync runner's):
//! the typed API client of the `client` crate (`client::api::ApiClient`, over `fetch` with
//! the session cookie), with its typed error ([`ApiError`]).

use client::api::{ApiClient, BrowserHttp};
use sync_core::NoteId;
use sync_core::protocol::{
    Credentials, PasswordChange, PasswordCheck, Revision, SessionInfo, SessionRef, SignedIn,
};

use crate::io::{Access, ApiError};

fn server() -> ApiClient<BrowserHttp> {
    ApiClient::same_origin()
}

/// `POST /auth/signin` or `/auth/signup`: the session cookie is set; who is signed in.
pub async fn sign_in(access: Access, credentials: &Credentials) -> Result<SignedIn, ApiError> {
    server().access(access, credentials).await
}

/// `GET /auth/me`: who the session cookie signs in.
pub async fn me() -> Result<SignedIn, ApiError> {
    server().me().await
}

/// `POST /auth/signout`: ends this browser's session ([`ApiError::Unauthorized`]: it was
/// over already).
pub async fn sign_out() -> Result<(), ApiError> {
    server().sign_out().await.map(drop)
}

/// `GET /account/sessions`: the account's signed-in devices.
pub async fn sessions() -> Result<Vec<SessionInfo>, ApiError> {
    Ok(server().sessions().await?.sessions)
}

/// `POST /account/sessions/signout`: signs out one device.
pub async fn end_session(id: &str) -> Result<(), ApiError> {
    let session = SessionRef {
        session: id.to_owned(),
    };
    server().end_session(&session).await.map(drop)
}

/// `POST /account/signout-everywhere`.
pub async fn sign_out_everywhere() -> Result<(), ApiError> {
    server().sign_out_everywhere().await.map(drop)
}

/// `POST /account/password`: how many other sessions were ended.
pub async fn change_password(current: &str, new: &str) -> Result<u64, ApiError> {
    let change = PasswordChange {
        current_password: current.to_owned(),
        new_password: new.to_owned(),
    };
    Ok(server().change_password(&change).await?.sessions_ended)
}

/// `POST /account/delete`: the account, its notes, their history and every session.
pub async fn delete_account(password: &str) -> Result<(), ApiError> {
    let check = PasswordCheck {
        password: password.to_owned(),
    };
    server().delete_account(&check).await.map(drop)
}

/// `GET /notes/{id}/history`: the note's earlier versions, newest first.
pub async fn history(id: &str) -> Result<Vec<Revision>, ApiError> {
    Ok(server().history(&NoteId(id.into())).await?.revisions)
}
