//! The HTTP API: `POST /sync`, `/auth/*`, `/account/*` (sessions, password, deletion),
//! `GET /notes/{id}/history`, `GET /live`, `GET /healthz`; every route is in [`table`].

use axum::extract::rejection::PathRejection;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequestParts, Path, State};
use axum::http::Method;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use axum::{Json, Router};
use sync_core::NoteId;
use sync_core::limits::{MAX_PULL_LIMIT, MAX_REQUEST_BYTES, MAX_RESULT_BYTES, json_len};
use sync_core::protocol::{
    AccountDeleted, ChangeResult, Cursor, ErrorBody, Health, HistoryResponse, PROTOCOL_VERSION,
    PasswordChange, PasswordChanged, PasswordCheck, SessionRef, Sessions, SignedIn, SignedOut,
    SyncRequest, SyncResponse,
};

use crate::AppState;
use crate::auth::{SESSION_COOKIE, SESSION_TTL, Session};
use crate::error::ApiError;
use crate::http::{ApiJson, parse_body};
use crate::store::SERVER_SELECTION_TIMEOUT;

/// Every API route: its path, its method and its handler. [`routes`] serves exactly these,
/// and the API document ([`crate::openapi`], generated from each handler's
/// `#[utoipa::path]`) must describe each one (tested in `server/tests/openapi.rs`).
pub fn table() -> Vec<(&'static str, Method, MethodRouter<AppState>)> {
    vec![
        (
            "/sync",
            Method::POST,
            post(sync).layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES)),
        ),
        ("/healthz", Method::GET, get(healthz)),
        (
            "/auth/signup",
            Method::POST,
            post(sign_up).layer(DefaultBodyLimit::max(MAX_CREDENTIALS_BYTES)),
        ),
        (
            "/auth/signin",
            Method::POST,
            post(sign_in).layer(DefaultBodyLimit::max(MAX_CREDENTIALS_BYTES)),
        ),
        ("/auth/signout", Method::POST, post(sign_out)),
        ("/auth/me", Method::GET, get(me)),
        ("/account/sessions", Method::GET, get(sessions)),
        (
            "/account/sessions/signout",
            Method::POST,
            post(end_session).layer(DefaultBodyLimit::max(MAX_CREDENTIALS_BYTES)),
        ),
        (
            "/account/signout-everywhere",
            Method::POST,
            post(sign_out_everywhere).layer(DefaultBodyLimit::max(MAX_CREDENTIALS_BYTES)),
        ),
        (
            "/account/password",
            Method::POST,
            post(change_password).layer(DefaultBodyLimit::max(MAX_CREDENTIALS_BYTES)),
        ),
        (
            "/account/delete",
            Method::POST,
            post(delete_account).layer(DefaultBodyLimit::max(MAX_CREDENTIALS_BYTES)),
        ),
        ("/live", Method::GET, get(live)),
        ("/notes/{id}/history", Method::GET, get(history)),
        ("/api/openapi.json", Method::GET, get(openapi)),
    ]
}

/// The API routes ([`table`]).
pub fn routes() -> Router<AppState> {
    table()
        .into_iter()
        .fold(Router::new(), |r, (path, _, handler)| {
            r.route(path, handler)
        })
        // A known path with another method: the JSON error body too, not an empty 405.
        .method_not_allowed_fallback(method_not_allowed)
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

/// Largest sign-in or sign-up body: a 64-character name and a 1024-character password,
/// each character escaped in JSON, fit with room to spare.
pub const MAX_CREDENTIALS_BYTES: usize = 16 * 1024;

/// How a request proved who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Via {
    Cookie,
    Bearer,
}

/// The signed-in user of a request: from `Authorization: Bearer <token>` or the session
/// cookie. Rejects with 401 `unauthorized`, or 403 `csrf_rejected` for a cookie sent by
/// another site.
pub struct AuthUser(pub Session);

impl std::fmt::Debug for AuthUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("AuthUser").field(&self.0).finish()
    }
}

fn token_of(parts: &Parts) -> Option<(String, Via)> {
    if let Some(h) = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        return h
            .strip_prefix("Bearer ")
            .map(|t| (t.trim().to_owned(), Via::Bearer));
    }
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == SESSION_COOKIE)
        .map(|(_, v)| (v.to_owned(), Via::Cookie))
}

/// A browser request's `Origin`, if any, must be this server's own: `TERN_PUBLIC_ORIGIN`
/// when set (behind a proxy, `Host` may not be what the browser used), else the `Host`.
fn check_same_origin(parts: &Parts, public_origin: Option<&str>) -> Result<(), ApiError> {
    let Some(origin) = parts
        .headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
    else {
        return Ok(());
    };
    let same = match public_origin {
        Some(public) => origin.eq_ignore_ascii_case(public),
        None => {
            let host = parts
                .headers
                .get(header::HOST)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            let origin_host = origin.split_once("://").map_or("", |(_, h)| h);
            !host.is_empty() && origin_host.eq_ignore_ascii_case(host)
        }
    };
    if same {
        Ok(())
    } else {
        Err(ApiError::CsrfRejected(
            "cross-site request refused; use the app's own origin",
        ))
    }
}

/// The client's throttling key ([`crate::throttle::source_key`]): the address in the
/// trusted header `TERN_CLIENT_IP_HEADER` when one is configured (the last address in it,
/// the one the proxy itself added), else the address of the TCP peer.
fn source_of(parts: &Parts, state: &AppState) -> String {
    let from_header = state.client_ip_header.as_ref().and_then(|name| {
        let v = parts
            .headers
            .get_all(name)
            .iter()
            .next_back()?
            .to_str()
            .ok()?;
        v.rsplit(',').next()?.trim().parse::<IpAddr>().ok()
    });
    let peer = || {
        parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
    };
    match from_header.or_else(peer) {
        Some(ip) => crate::throttle::source_key(ip),
        // Served without connection info (not through `serve`): one shared source.
        None => "unknown".into(),
    }
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let (token, via) = token_of(parts).ok_or(ApiError::Unauthorized)?;
        if via == Via::Cookie {
            check_same_origin(parts, state.public_origin.as_deref())?;
            if parts.method == axum::http::Method::POST {
                let json = parts
                    .headers
                    .get(header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v.starts_with("application/json"));
                if !json {
                    return Err(ApiError::CsrfRejected(
                        "send Content-Type: application/json with the session cookie",
                    ));
                }
            }
        }
        let session = state
            .accounts
            .session(&token)
            .await?
            .ok_or(ApiError::Unauthorized)?;
        Ok(Self(session))
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Cursors are `v1.<version>`; clients treat them as opaque.
pub fn encode_cursor(version: u64) -> Cursor {
    Cursor(format!("v1.{version}"))
}

/// The version a cursor stands for.
pub fn decode_cursor(c: Option<&Cursor>) -> Result<u64, ApiError> {
    match c {
        None => Ok(0),
        Some(c) => {
            c.0.strip_prefix("v1.")
                .and_then(|v| v.parse().ok())
                .ok_or(ApiError::InvalidCursor)
        }
    }
}

/// Parses a sync request as [`ApiJson`] does: the protocol version before the shape, then
/// the number of changes.
pub fn parse_request(body: &[u8]) -> Result<SyncRequest, ApiError> {
    parse_body(body)
}

/// Longest time the database work of one `POST /sync` (push, then pull) may take before
/// the request answers `503 unavailable`. A push that committed meanwhile is not lost: the
/// client sends it again and its change ids get their first outcome. The push's own retry
/// budget ([`crate::store::PUSH_RETRY_BUDGET`]) fits well inside it.
pub const SYNC_DEADLINE: Duration = Duration::from_secs(30);

/// How many of `results`, from the first, fit in [`MAX_RESULT_BYTES`] of JSON (at least
/// one). Counting stops at the budget, so it costs at most the budget plus one result.
fn results_that_fit(results: &[ChangeResult]) -> usize {
    let mut bytes = 0;
    for (i, r) in results.iter().enumerate() {
        bytes += json_len(r);
        if bytes > MAX_RESULT_BYTES && i > 0 {
            return i;
        }
    }
    results.len()
}

/// Push local changes and pull remote ones
///
/// One round trip: the request's changes are applied (each gets one result, in request
/// order) and the remote changes after `cursor` come back. See docs/sync-protocol.md.
#[utoipa::path(post, path = "/sync", tag = "sync", security(("cookie" = []), ("bearer" = [])),
    request_body = SyncRequest,
    responses(
        (status = 200, description = "results, remote changes, the new cursor", body = SyncResponse),
        (status = 400, description = "invalid_request or invalid_cursor", body = ErrorBody),
        (status = 401, description = "unauthorized", body = ErrorBody),
        (status = 403, description = "csrf_rejected", body = ErrorBody),
        (status = 413, description = "payload_too_large or too_many_changes", body = ErrorBody),
        (status = 426, description = "unsupported_protocol", body = ErrorBody),
        (status = 500, description = "internal", body = ErrorBody),
        (status = 503, description = "unavailable: the database did not answer (retry later)", body = ErrorBody),
    ))]
pub(crate) async fn sync(
    State(state): State<AppState>,
    AuthUser(session): AuthUser,
    ApiJson(req): ApiJson<SyncRequest>,
) -> Result<Json<SyncResponse>, ApiError> {
    let after = decode_cursor(req.cursor.as_ref())?;
    let limit = req.limit.unwrap_or(MAX_PULL_LIMIT).clamp(1, MAX_PULL_LIMIT);
    let user = session.user_id.as_str();
    let work = async {
        // A cursor above the user's head was issued to someone else (another account
        // signed in on the same device) or by another server: refused before anything is
        // written. Without changes to push, the pull's own read of the head decides.
        if after > 0 && !req.changes.is_empty() && after > state.store.head(user).await? {
            return Err(ApiError::CursorAhead);
        }
        let pushed = state.store.push(user, &req.changes, now_ms()).await?;
        let page = state.store.pull(user, after, limit).await?;
        Ok((pushed, page))
    };
    let (pushed, page) = tokio::time::timeout(SYNC_DEADLINE, work)
        .await
        .map_err(|_| {
            ApiError::Unavailable(format!(
                "no answer from the database within {SYNC_DEADLINE:?}"
            ))
        })??;
    if after > page.head {
        return Err(ApiError::CursorAhead);
    }
    // An answer carrying many large notes (`current` of merged or superseded changes) is
    // cut at MAX_RESULT_BYTES: the client sends the changes left without a result again.
    let mut results = pushed.results;
    let answered = results_that_fit(&results);
    let cut = answered < results.len();
    results.truncate(answered);
    state.metrics.sync(&results, pushed.merges_over_budget);
    Ok(Json(SyncResponse {
        protocol: PROTOCOL_VERSION,
        results,
        changes: page.notes,
        cursor: encode_cursor(page.last),
        has_more: page.has_more || cut,
        server_time_ms: now_ms(),
    }))
}

/// Live updates: Server-Sent Events that poke the device to sync
///
/// The stream pokes the user's device when their notes change (docs/sync-protocol.md, Live
/// updates; [`crate::live`]). Past the connection limits: `503 unavailable` with
/// `Retry-After`; the device polls meanwhile.
#[utoipa::path(get, path = "/live", tag = "sync", security(("cookie" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "an event stream: `event: poke` with data `{}` or `{\"cursor\"}`, and `event: hb` heartbeats every 15 s", content_type = "text/event-stream", body = String),
        (status = 401, description = "unauthorized", body = ErrorBody),
        (status = 503, description = "unavailable: too many live connections (Retry-After: 30); poll meanwhile", body = ErrorBody),
    ))]
pub(crate) async fn live(State(state): State<AppState>, AuthUser(session): AuthUser) -> Response {
    match state.live.subscribe(&session.user_id) {
        Ok(sub) => crate::live::sse(sub).into_response(),
        Err(why) => ApiError::LiveRefused(why).into_response(),
    }
}

/// A note's history, newest first
///
/// The note's newest revisions: versions replaced by conflicts, merges, deletes and edits
/// from other devices.
#[utoipa::path(get, path = "/notes/{id}/history", tag = "sync", security(("cookie" = []), ("bearer" = [])),
    params(("id" = NoteId, Path, description = "the note's id")),
    responses(
        (status = 200, description = "the revisions, newest first", body = HistoryResponse),
        (status = 400, description = "invalid_request: the note id is malformed", body = ErrorBody),
        (status = 401, description = "unauthorized", body = ErrorBody),
        (status = 503, description = "unavailable", body = ErrorBody),
    ))]
pub(crate) async fn history(
    State(state): State<AppState>,
    AuthUser(session): AuthUser,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<HistoryResponse>, ApiError> {
    // A path that does not decode (percent-encoded bytes that are not UTF-8) is no valid id.
    let id = NoteId(id.map(|Path(id)| id).unwrap_or_default());
    if !id.is_valid() {
        return Err(ApiError::InvalidRequest(
            "note id must be 1 to 64 characters of A-Z, a-z, 0-9, '-' or '_'".into(),
        ));
    }
    let revisions = state.store.history(session.user_id.as_str(), &id).await?;
    Ok(Json(HistoryResponse { revisions }))
}

pub use sync_core::protocol::Credentials;

/// Whether a request comes from a browser: browsers send `Origin` on every POST and
/// `Sec-Fetch-Site` on every request (Chromium, Firefox, Safari), and page scripts can
/// neither remove nor forge either header.
fn from_browser(parts: &Parts) -> bool {
    parts.headers.contains_key(header::ORIGIN) || parts.headers.contains_key("sec-fetch-site")
}

/// A signed-in answer: the session cookie, and the token in the body only for clients that
/// are not browsers (which send it as a bearer token). A browser gets the session only as
/// the `HttpOnly` cookie, out of reach of the page's scripts.
fn signed_in(state: &AppState, parts: &Parts, status: StatusCode, s: Session) -> Response {
    let cookie = format!(
        "{SESSION_COOKIE}={}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{}",
        s.token,
        SESSION_TTL.as_secs(),
        if state.cookie_secure { "; Secure" } else { "" }
    );
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
    let device = crate::auth::device_label(
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
    let clear = format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
    Ok((
        [(header::SET_COOKIE, clear)],
        Json(SignedOut { signed_out: true }),
    )
        .into_response())
}

/// The cookie that ends the browser's session.
fn clear_cookie() -> (header::HeaderName, String) {
    (
        header::SET_COOKIE,
        format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"),
    )
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
        (status = 401, description = "unauthorized", body = ErrorBody),
        (status = 403, description = "csrf_rejected: the session cookie from another site, or without Content-Type: application/json", body = ErrorBody),
    ))]
pub(crate) async fn end_session(
    State(state): State<AppState>,
    AuthUser(s): AuthUser,
    ApiJson(r): ApiJson<SessionRef>,
) -> Result<Json<SignedOut>, ApiError> {
    state.accounts.end_session(&s, &r.session).await?;
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
    Ok(([clear_cookie()], Json(SignedOut { signed_out: true })).into_response())
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
    let ended = state
        .accounts
        .change_password(&s, &p.current_password, &p.new_password, &source)
        .await?;
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
    // The notes go first: if a later step fails, the owner can still sign in and try again.
    let source = source_of(&parts, &state);
    state
        .accounts
        .check_password(&s, &p.password, &source)
        .await?;
    let user = s.user_id.clone();
    state.store.delete_user_notes(&user).await?;
    state.accounts.delete_user(&s).await?;
    // A sync of this account that passed its session check just before may still commit
    // within its deadline; once that has passed, its writes go too.
    let store = state.store.clone();
    tokio::spawn(async move {
        tokio::time::sleep(SYNC_DEADLINE + Duration::from_secs(1)).await;
        if let Err(e) = store.delete_user_notes(&user).await {
            tracing::warn!("deleted account: second sweep of its notes failed: {e}");
        }
    });
    Ok(([clear_cookie()], Json(AccountDeleted { deleted: true })).into_response())
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

/// This document
#[utoipa::path(get, path = "/api/openapi.json", tag = "meta",
    responses((status = 200, description = "OpenAPI 3.1, generated from the wire types", content_type = "application/json", body = Object)))]
pub(crate) async fn openapi() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        crate::openapi::json(),
    )
        .into_response()
}

/// Liveness and database reachability
///
/// 200 when the database answers a ping, 503 when it does not answer within the
/// server-selection timeout (2 s).
#[utoipa::path(get, path = "/healthz", tag = "meta",
    responses(
        (status = 200, description = "the database is reachable", body = Health),
        (status = 503, description = "unavailable: the database did not answer within 2 s", body = ErrorBody),
    ))]
pub(crate) async fn healthz(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    // The driver has no socket timeout: a database that accepts connections but stops
    // answering (stopped, or overloaded) would otherwise keep this request waiting until the
    // next heartbeat fails (about 11 s).
    tokio::time::timeout(SERVER_SELECTION_TIMEOUT, state.store.ping())
        .await
        .map_err(|_| {
            ApiError::Unavailable(format!(
                "no answer to ping within {SERVER_SELECTION_TIMEOUT:?}"
            ))
        })??;
    Ok(Json(Health {
        status: "ok".into(),
        database: "reachable".into(),
    }))
}
