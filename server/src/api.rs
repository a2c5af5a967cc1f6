//! The HTTP API: `POST /sync` and `GET /healthz`.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use sync_core::NoteId;
use sync_core::limits::{
    MAX_CHANGES_PER_REQUEST, MAX_PULL_LIMIT, MAX_REQUEST_BYTES, MAX_RESULT_BYTES, json_len,
};
use sync_core::protocol::{
    ChangeResult, Cursor, HistoryResponse, PROTOCOL_VERSION, SignedIn, SyncRequest, SyncResponse,
};

use crate::AppState;
use crate::auth::{SESSION_COOKIE, SESSION_TTL, Session};
use crate::error::ApiError;
use crate::store::SERVER_SELECTION_TIMEOUT;

/// The API routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/sync",
            post(sync).layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES)),
        )
        .route("/healthz", get(healthz))
        .route(
            "/auth/signup",
            post(sign_up).layer(DefaultBodyLimit::max(MAX_CREDENTIALS_BYTES)),
        )
        .route(
            "/auth/signin",
            post(sign_in).layer(DefaultBodyLimit::max(MAX_CREDENTIALS_BYTES)),
        )
        .route("/auth/signout", post(sign_out))
        .route("/auth/me", get(me))
        .route("/live", get(live))
        .route("/notes/{id}/history", get(history))
        .route("/api/openapi.json", get(openapi))
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

/// Parses a sync request, checking the protocol version before the shape so that a newer
/// client gets `unsupported_protocol`, not `invalid_request`.
pub fn parse_request(body: &[u8]) -> Result<SyncRequest, ApiError> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| ApiError::InvalidRequest(e.to_string()))?;
    match value.get("protocol").and_then(|p| p.as_u64()) {
        Some(v) if v == u64::from(PROTOCOL_VERSION) => {}
        Some(v) => return Err(ApiError::UnsupportedProtocol(v)),
        None => {
            return Err(ApiError::InvalidRequest(
                "missing `protocol`: a number, the protocol version".into(),
            ));
        }
    }
    let req: SyncRequest =
        serde_json::from_value(value).map_err(|e| ApiError::InvalidRequest(e.to_string()))?;
    if req.changes.len() > MAX_CHANGES_PER_REQUEST {
        return Err(ApiError::TooManyChanges(req.changes.len()));
    }
    Ok(req)
}

/// The body, or the endpoint's error for one over its `limit` (what `hint` says to send).
fn body_bytes(
    body: Result<Bytes, BytesRejection>,
    limit: usize,
    hint: &'static str,
) -> Result<Bytes, ApiError> {
    body.map_err(|r| match r.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge { limit, hint },
        _ => ApiError::InvalidRequest(r.body_text()),
    })
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

async fn sync(
    State(state): State<AppState>,
    AuthUser(session): AuthUser,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<SyncResponse>, ApiError> {
    let body = body_bytes(body, MAX_REQUEST_BYTES, "send fewer changes per request")?;
    let req = parse_request(&body)?;
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
        let results = state.store.push(user, &req.changes, now_ms()).await?;
        let page = state.store.pull(user, after, limit).await?;
        Ok((results, page))
    };
    let (mut results, page) = tokio::time::timeout(SYNC_DEADLINE, work)
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
    let answered = results_that_fit(&results);
    let cut = answered < results.len();
    results.truncate(answered);
    Ok(Json(SyncResponse {
        protocol: PROTOCOL_VERSION,
        results,
        changes: page.notes,
        cursor: encode_cursor(page.last),
        has_more: page.has_more || cut,
        server_time_ms: now_ms(),
    }))
}

/// `GET /live`: Server-Sent Events that poke the user's device when their notes change
/// (see [`crate::live`]). Past the connection limits: `503 unavailable` with `Retry-After`;
/// the device polls meanwhile.
async fn live(State(state): State<AppState>, AuthUser(session): AuthUser) -> Response {
    match state.live.subscribe(&session.user_id) {
        Ok(sub) => crate::live::sse(sub).into_response(),
        Err(why) => ApiError::LiveRefused(why).into_response(),
    }
}

/// `GET /notes/{id}/history`: the note's newest revisions (versions replaced by conflicts,
/// merges, deletes and edits from other devices), newest first.
async fn history(
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

fn parse_credentials(body: Result<Bytes, BytesRejection>) -> Result<Credentials, ApiError> {
    let body = body_bytes(
        body,
        MAX_CREDENTIALS_BYTES,
        "send only a username and a password",
    )?;
    serde_json::from_slice(&body).map_err(|e| ApiError::InvalidRequest(e.to_string()))
}

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
    };
    (status, [(header::SET_COOKIE, cookie)], Json(body)).into_response()
}

async fn sign_up(
    State(state): State<AppState>,
    parts: Parts,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    account(state, parts, body, true).await
}

async fn sign_in(
    State(state): State<AppState>,
    parts: Parts,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    account(state, parts, body, false).await
}

/// Sign-up (`create`) or sign-in: same checks, same answer.
async fn account(
    state: AppState,
    parts: Parts,
    body: Result<Bytes, BytesRejection>,
    create: bool,
) -> Result<Response, ApiError> {
    check_same_origin(&parts, state.public_origin.as_deref())?;
    let c = parse_credentials(body)?;
    let source = source_of(&parts, &state);
    let (session, status) = if create {
        (
            state
                .accounts
                .sign_up(&c.username, &c.password, &source)
                .await?,
            StatusCode::CREATED,
        )
    } else {
        (
            state
                .accounts
                .sign_in(&c.username, &c.password, &source)
                .await?,
            StatusCode::OK,
        )
    };
    Ok(signed_in(&state, &parts, status, session))
}

async fn sign_out(
    State(state): State<AppState>,
    AuthUser(s): AuthUser,
) -> Result<Response, ApiError> {
    state.accounts.sign_out(&s.token).await?;
    let clear = format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
    Ok((
        [(header::SET_COOKIE, clear)],
        Json(json!({"signed_out": true})),
    )
        .into_response())
}

async fn me(AuthUser(s): AuthUser) -> Json<serde_json::Value> {
    Json(json!({"user": s.name, "id": s.user_id}))
}

async fn openapi() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        include_str!("../../docs/openapi.json"),
    )
        .into_response()
}

/// `GET /healthz`: 200 when the database answers a ping, 503 when it does not answer
/// within the server-selection timeout. The driver has no socket timeout: a database that
/// accepts connections but stops answering (stopped, or overloaded) would otherwise keep
/// this request waiting until the next heartbeat fails (about 11 s).
async fn healthz(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    tokio::time::timeout(SERVER_SELECTION_TIMEOUT, state.store.ping())
        .await
        .map_err(|_| {
            ApiError::Unavailable(format!(
                "no answer to ping within {SERVER_SELECTION_TIMEOUT:?}"
            ))
        })??;
    Ok(Json(json!({"status": "ok", "database": "reachable"})))
}
