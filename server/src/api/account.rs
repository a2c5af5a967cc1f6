//! `/auth/*` and `/account/*`: sign-up, sign-in, sign-out, who is signed in, the session
//! list, password change and account deletion. The rules are [`crate::auth::Accounts`]';
//! here are the cookies, the token in the body, and ending live connections.

use axum::Json;
use axum::extract::State;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use sync_core::protocol::{
    AccountDeleted, Credentials, ErrorBody, PasswordChange, PasswordChanged, PasswordCheck,
    SessionRef, Sessions, SignedIn, SignedOut,
};

use super::extract::{AuthUser, check_same_origin, source_of};
use crate::auth::session::{clear_cookie, set_cookie};
use crate::auth::{SignedInSession, device_label};
use crate::error::ApiError;
use crate::http::ApiJson;
use crate::state::AppState;

/// Whether a request comes from a browser: browsers send `Origin` on every POST and
/// `Sec-Fetch-Site` on every request (Chromium, Firefox, Safari), and page scripts can
/// neither remove nor forge either header.
fn from_browser(parts: &Parts) -> bool {
    parts.headers.contains_key(header::ORIGIN) || parts.headers.contains_key("sec-fetch-site")
}

/// A signed-in answer: the session cookie, and the token in the body only for clients that
/// are not browsers (which send it as a bearer token). A browser gets the session only as
/// the `HttpOnly` cookie, out of reach of the page's scripts.
fn signed_in(state: &AppState, parts: &Parts, status: StatusCode, s: SignedInSession) -> Response {
    let cookie = set_cookie(&s.token, state.cookie_secure);
    let body = SignedIn {
        user: s.name,
        id: Some(s.user_id),
        token: (!from_browser(parts)).then_some(s.token),
        trash_days: Some(state.trash_days),
    };
    (status, [(header::SET_COOKIE, cookie)], Json(body)).into_response()
}

/// Create an account and sign in
#[utoipa::path(post, path = "/auth/signup", tag = "accounts",
    request_body = Credentials,
    responses(
        (status = 201, description = "signed in; sets the `tern_session` cookie", body = SignedIn),
        (status = 400, description = "invalid_request or invalid_account", body = ErrorBody),
        (status = 403, description = "csrf_rejected", body = ErrorBody),
        (status = 409, description = "name_taken", body = ErrorBody),
        (status = 408, description = "invalid_request: the body did not arrive within the body deadline (120 s)", body = ErrorBody),
        (status = 413, description = "payload_too_large", body = ErrorBody),
        (status = 429, description = "too_many_attempts: too many failed sign-ins (and sign-ups) from this source or for this account (Retry-After header)", body = ErrorBody),
        (status = 503, description = "unavailable: the database is unreachable, or too many passwords are being checked (Retry-After header)", body = ErrorBody),
    ))]
pub(crate) async fn sign_up(
    State(state): State<AppState>,
    parts: Parts,
    body: Result<ApiJson<Credentials>, ApiError>,
) -> Result<Response, ApiError> {
    account(state, parts, body, true).await
}

/// Sign in
#[utoipa::path(post, path = "/auth/signin", tag = "accounts",
    request_body = Credentials,
    responses(
        (status = 200, description = "signed in; sets the `tern_session` cookie", body = SignedIn),
        (status = 400, description = "invalid_request", body = ErrorBody),
        (status = 401, description = "invalid_credentials", body = ErrorBody),
        (status = 403, description = "csrf_rejected", body = ErrorBody),
        (status = 408, description = "invalid_request: the body did not arrive within the body deadline (120 s)", body = ErrorBody),
        (status = 413, description = "payload_too_large", body = ErrorBody),
        (status = 429, description = "too_many_attempts: too many failed sign-ins (and sign-ups) from this source or for this account (Retry-After header)", body = ErrorBody),
        (status = 503, description = "unavailable: the database is unreachable, or too many passwords are being checked (Retry-After header)", body = ErrorBody),
    ))]
pub(crate) async fn sign_in(
    State(state): State<AppState>,
    parts: Parts,
    body: Result<ApiJson<Credentials>, ApiError>,
) -> Result<Response, ApiError> {
    account(state, parts, body, false).await
}

/// Sign-up (`create`) or sign-in: same checks, same answer. The body's rejection is taken
/// as a value: the origin is checked first (`csrf_rejected` before `invalid_request`).
async fn account(
    state: AppState,
    parts: Parts,
    body: Result<ApiJson<Credentials>, ApiError>,
    create: bool,
) -> Result<Response, ApiError> {
    check_same_origin(&parts, state.public_origin.as_deref())?;
    let ApiJson(c) = body?;
    let source = source_of(&parts, &state);
    let device = device_label(
        parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok()),
    );
    let (session, status) = if create {
        (
            state
                .accounts
                .sign_up_on(&c.username, &c.password, &source, &device)
                .await?,
            StatusCode::CREATED,
        )
    } else {
        (
            state
                .accounts
                .sign_in_on(&c.username, &c.password, &source, &device)
                .await?,
            StatusCode::OK,
        )
    };
    Ok(signed_in(&state, &parts, status, session))
}

/// End the session
#[utoipa::path(post, path = "/auth/signout", tag = "accounts", security(("cookie" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "signed out; clears the cookie", body = SignedOut),
        (status = 401, description = "unauthorized", body = ErrorBody),
        (status = 403, description = "csrf_rejected", body = ErrorBody),
    ))]
pub(crate) async fn sign_out(
    State(state): State<AppState>,
    AuthUser(s): AuthUser,
) -> Result<Response, ApiError> {
    state.accounts.sign_out(&s.token).await?;
    let key = s.key();
    state.live.end(&s.user_id, |k| k == key);
    Ok((
        [(header::SET_COOKIE, clear_cookie())],
        Json(SignedOut { signed_out: true }),
    )
        .into_response())
}

/// The account's signed-in sessions, most recently used first
#[utoipa::path(get, path = "/account/sessions", tag = "accounts", security(("cookie" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "the sessions", body = Sessions),
        (status = 401, description = "unauthorized", body = ErrorBody),
    ))]
pub(crate) async fn sessions(
    State(state): State<AppState>,
    AuthUser(s): AuthUser,
) -> Result<Json<Sessions>, ApiError> {
    Ok(Json(Sessions {
        sessions: state.accounts.sessions(&s).await?,
    }))
}

/// End one session of the account
///
/// An id of another account's session ends nothing; the answer is the same.
#[utoipa::path(post, path = "/account/sessions/signout", tag = "accounts", security(("cookie" = []), ("bearer" = [])),
    request_body = SessionRef,
    responses(
        (status = 200, description = "ended (or already gone)", body = SignedOut),
        (status = 400, description = "invalid_request", body = ErrorBody),
        (status = 408, description = "invalid_request: the body did not arrive within the body deadline (120 s)", body = ErrorBody),
        (status = 401, description = "unauthorized", body = ErrorBody),
        (status = 403, description = "csrf_rejected: the session cookie from another site, or without Content-Type: application/json", body = ErrorBody),
    ))]
pub(crate) async fn end_session(
    State(state): State<AppState>,
    AuthUser(s): AuthUser,
    ApiJson(r): ApiJson<SessionRef>,
) -> Result<Json<SignedOut>, ApiError> {
    state.accounts.end_session(&s, &r.session).await?;
    state.live.end(&s.user_id, |k| k == r.session);
    Ok(Json(SignedOut { signed_out: true }))
}

/// End every session of the account, this one too; clears the cookie
#[utoipa::path(post, path = "/account/signout-everywhere", tag = "accounts", security(("cookie" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "every session ended", body = SignedOut),
        (status = 401, description = "unauthorized", body = ErrorBody),
        (status = 403, description = "csrf_rejected: the session cookie from another site, or without Content-Type: application/json", body = ErrorBody),
    ))]
pub(crate) async fn sign_out_everywhere(
    State(state): State<AppState>,
    AuthUser(s): AuthUser,
) -> Result<Response, ApiError> {
    state.accounts.end_all_sessions(&s).await?;
    state.live.end(&s.user_id, |_| true);
    Ok((
        [(header::SET_COOKIE, clear_cookie())],
        Json(SignedOut { signed_out: true }),
    )
        .into_response())
}

/// Change the password
///
/// The current password is checked (throttled like a sign-in); every other session ends;
/// this one stays.
#[utoipa::path(post, path = "/account/password", tag = "accounts", security(("cookie" = []), ("bearer" = [])),
    request_body = PasswordChange,
    responses(
        (status = 200, description = "changed", body = PasswordChanged),
        (status = 400, description = "invalid_request, or invalid_account: the new password breaks the rules", body = ErrorBody),
        (status = 408, description = "invalid_request: the body did not arrive within the body deadline (120 s)", body = ErrorBody),
        (status = 401, description = "unauthorized (no valid session), or invalid_credentials: the password sent is wrong", body = ErrorBody),
        (status = 403, description = "csrf_rejected: the session cookie from another site, or without Content-Type: application/json", body = ErrorBody),
        (status = 429, description = "too_many_attempts: too many wrong passwords for this account from this source (Retry-After header)", body = ErrorBody),
        (status = 503, description = "unavailable: the database is unreachable, or too many passwords are being checked (Retry-After header)", body = ErrorBody),
    ))]
pub(crate) async fn change_password(
    State(state): State<AppState>,
    AuthUser(s): AuthUser,
    parts: Parts,
    ApiJson(p): ApiJson<PasswordChange>,
) -> Result<Json<PasswordChanged>, ApiError> {
    let source = source_of(&parts, &state);
    // Read again, not from the session cache: the next credential epoch is the session's
    // plus one, and another process may have moved it on within the cache's time.
    let s = state
        .accounts
        .fresh_session(&s)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    let ended = state
        .accounts
        .change_password(&s, &p.current_password, &p.new_password, &source)
        .await?;
    let key = s.key();
    state.live.end(&s.user_id, |k| k != key);
    Ok(Json(PasswordChanged {
        sessions_ended: ended,
    }))
}

/// Delete the account
///
/// With the password (checked, throttled like a sign-in): removes every note, revision and
/// session of the account, and the account; clears the cookie.
#[utoipa::path(post, path = "/account/delete", tag = "accounts", security(("cookie" = []), ("bearer" = [])),
    request_body = PasswordCheck,
    responses(
        (status = 200, description = "deleted", body = AccountDeleted),
        (status = 400, description = "invalid_request", body = ErrorBody),
        (status = 408, description = "invalid_request: the body did not arrive within the body deadline (120 s)", body = ErrorBody),
        (status = 401, description = "unauthorized (no valid session), or invalid_credentials: the password sent is wrong", body = ErrorBody),
        (status = 403, description = "csrf_rejected: the session cookie from another site, or without Content-Type: application/json", body = ErrorBody),
        (status = 429, description = "too_many_attempts: too many wrong passwords for this account from this source (Retry-After header)", body = ErrorBody),
        (status = 503, description = "unavailable: the database is unreachable, or too many passwords are being checked (Retry-After header)", body = ErrorBody),
    ))]
pub(crate) async fn delete_account(
    State(state): State<AppState>,
    AuthUser(s): AuthUser,
    parts: Parts,
    ApiJson(p): ApiJson<PasswordCheck>,
) -> Result<Response, ApiError> {
    // Read again, not from the session cache: a session ended elsewhere within the cache's
    // time must not delete the account.
    let s = state
        .accounts
        .fresh_session(&s)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    // The notes go first: if a later step fails, the owner can still sign in and try again.
    let source = source_of(&parts, &state);
    state
        .accounts
        .check_password(&s, &p.password, &source)
        .await?;
    // `delete_user_notes` marks the account deleted in the notes' store first: a sync of
    // this account still in flight (it passed its session check, its body may still be
    // arriving) is refused inside its own transaction from then on, across restarts too.
    state.store.delete_user_notes(&s.user_id).await?;
    state.accounts.delete_user(&s).await?;
    state.live.end(&s.user_id, |_| true);
    Ok((
        [(header::SET_COOKIE, clear_cookie())],
        Json(AccountDeleted { deleted: true }),
    )
        .into_response())
}

/// Who is signed in
#[utoipa::path(get, path = "/auth/me", tag = "accounts", security(("cookie" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "the account (no token)", body = SignedIn),
        (status = 401, description = "unauthorized", body = ErrorBody),
    ))]
pub(crate) async fn me(State(state): State<AppState>, AuthUser(s): AuthUser) -> Json<SignedIn> {
    Json(SignedIn {
        user: s.name,
        id: Some(s.user_id),
        token: None,
        trash_days: Some(state.trash_days),
    })
}
