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

/// The API routes ([`table`]). A request whose database work outlasts a stopped database
/// answers `503` ([`watchdog`]). Every answer says `Cache-Control: no-store`: most carry
/// private data (the account, sessions, note text, tokens), which must not stay in a
/// browser's or a proxy's cache after sign-out or account deletion.
pub fn routes(state: &AppState) -> Router<AppState> {
    table()
        .into_iter()
        .fold(Router::new(), |r, (path, _, handler)| {
            r.route(path, handler)
        })
        // A known path with another method: the JSON error body too, not an empty 405.
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            watchdog,
        ))
        .layer(axum::middleware::map_response(no_store))
}

/// Middleware of every API request: the request, or `503 unavailable` as soon as the
/// database is found stopped ([`Liveness::stalled`]). The driver has no socket timeout, so
/// without this a database that accepts connections but answers nothing kept a request
/// (its session lookup, a sync's push) waiting until the driver's next failed heartbeat
/// and the push's retries (7.7 to 11.3 s measured), where `/healthz` answers in 2 s.
async fn watchdog(
    State(state): State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    tokio::select! {
        res = next.run(req) => res,
        () = state.liveness.stalled(&*state.store) => ApiError::Unavailable(format!(
            "the database did not answer a ping within {SERVER_SELECTION_TIMEOUT:?}"
        ))
        .into_response(),
    }
}

/// Whether the database answers, asked at most once a second per process however many
/// requests wait ([`Liveness::stalled`]).
#[derive(Debug, Default)]
pub struct Liveness {
    /// When the database last answered a ping or failed to, and which.
    last: tokio::sync::Mutex<Option<(tokio::time::Instant, bool)>>,
}

impl Liveness {
    /// Resolves when the database stops answering: once a request has run for
    /// [`STALL_CHECK_AFTER`], the database is pinged (then again every second while the
    /// request goes on), and a ping unanswered within the server-selection timeout (or
    /// failed) ends it. One ping serves every request waiting at the time. A database that
    /// answers slowly is waited for (a sync up to [`SYNC_DEADLINE`]).
    pub async fn stalled(&self, store: &dyn crate::store::SyncStore) {
        tokio::time::sleep(STALL_CHECK_AFTER).await;
        loop {
            let answers = {
                let mut last = self.last.lock().await;
                match *last {
                    Some((at, ok)) if at.elapsed() < Duration::from_secs(1) => ok,
                    _ => {
                        let ok = matches!(
                            tokio::time::timeout(SERVER_SELECTION_TIMEOUT, store.ping()).await,
                            Ok(Ok(()))
                        );
                        *last = Some((tokio::time::Instant::now(), ok));
                        ok
                    }
                }
            };
            if !answers {
                return;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}

/// Marks an answer as not to be cached anywhere.
pub async fn no_store(mut res: Response) -> Response {
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    res
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

/// Largest body of the account endpoints: a 64-character name and a 1024-character
/// password, or two passwords (a change), each character escaped in JSON (12 bytes for a
/// character outside the BMP), fit with room to spare.
pub const MAX_CREDENTIALS_BYTES: usize = 32 * 1024;

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

/// The client's address in the last element of a client-address header (the element the
/// trusted proxy itself added): `203.0.113.9`, `203.0.113.9:4711`, `2001:db8::1`,
/// `[2001:db8::1]:4711`, or RFC 7239 `Forwarded` (`for=203.0.113.9;proto=https`,
/// `for="[2001:db8::1]:4711"`). `Err` with the element for anything else (`unknown`, an
/// obfuscated identifier, garbage).
pub fn client_ip(header: &str) -> Result<IpAddr, &str> {
    let last = header.rsplit(',').next().unwrap_or("").trim();
    let addr = last
        .split(';')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("for"))
        .map_or(last, |(_, v)| v.trim().trim_matches('"'));
    addr.parse::<IpAddr>()
        .or_else(|_| addr.parse::<SocketAddr>().map(|a| a.ip()))
        .or_else(|_| {
            addr.strip_prefix('[')
                .and_then(|a| a.strip_suffix(']'))
                .ok_or(())
                .and_then(|a| a.parse::<IpAddr>().map_err(|_| ()))
        })
        .map_err(|()| last)
}

/// The client's throttling key ([`crate::throttle::source_key`]): the address in the
/// trusted header `TERN_CLIENT_IP_HEADER` when one is configured ([`client_ip`]), else the
/// address of the TCP peer.
///
/// A header that is there but names no address is logged (at most once a minute) and is
/// not taken as the peer's address, which behind a proxy is the proxy's, shared by every
/// user (one attacker's failures would throttle them all): the source is then the header's
/// last element itself, hashed (`h|…`), which the proxy wrote, so one client cannot
/// choose a new source per request.
fn source_of(parts: &Parts, state: &AppState) -> String {
    if let Some(v) = state.client_ip_header.as_ref().and_then(|name| {
        let v = parts.headers.get_all(name).iter().next_back()?;
        Some(String::from_utf8_lossy(v.as_bytes()).into_owned())
    }) {
        match client_ip(&v) {
            Ok(ip) => return crate::throttle::source_key(ip),
            Err(last) => {
                unparsed_header_logged(state, last);
                return crate::throttle::unparsed_source_key(last);
            }
        }
    }
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    match peer {
        Some(ip) => crate::throttle::source_key(ip),
        // Served without connection info (not through `serve`): one shared source.
        None => "unknown".into(),
    }
}

/// Logs a client-address header that names no address, at most once a minute (a proxy
/// that sends such values sends them on every request).
fn unparsed_header_logged(state: &AppState, last: &str) {
    use std::sync::atomic::{AtomicU64, Ordering};
    static LAST_LOGGED_S: AtomicU64 = AtomicU64::new(0);
    let now_s = now_ms() / 1000;
    let before = LAST_LOGGED_S.load(Ordering::Relaxed);
    if now_s >= before + 60
        && LAST_LOGGED_S
            .compare_exchange(before, now_s, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    {
        let shown: String = last.chars().take(64).collect();
        tracing::warn!(
            header = state.client_ip_header.as_ref().map_or("", |h| h.as_str()),
            value = %shown,
            "the client-address header names no address; each such value throttles as a source of its own (check the proxy's TERN_CLIENT_IP_HEADER setup)"
        );
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

/// How long an API request runs before [`Liveness::stalled`] asks whether the database
/// answers (most requests are done well before).
pub const STALL_CHECK_AFTER: Duration = Duration::from_millis(250);

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
        (status = 408, description = "invalid_request: the body did not arrive within the body deadline (120 s)", body = ErrorBody),
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
    match state.live.subscribe(&session.user_id, &session.key()) {
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
    let key = s.key();
    state.live.end(&s.user_id, |k| k == key);
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
