//! The HTTP API: `POST /sync` and `GET /healthz`.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use sync_core::limits::{MAX_CHANGES_PER_REQUEST, MAX_PULL_LIMIT, MAX_REQUEST_BYTES};
use sync_core::protocol::{Cursor, SyncRequest, SyncResponse, PROTOCOL_VERSION};

use crate::error::ApiError;
use crate::store::SyncStore;
use crate::AppState;

/// Until accounts exist, every client syncs the notes of this one user.
pub const DEFAULT_USER: &str = "local";

/// The API routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/sync", post(sync).layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES)))
        .route("/healthz", get(healthz))
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
        Some(c) => c
            .0
            .strip_prefix("v1.")
            .and_then(|v| v.parse().ok())
            .ok_or(ApiError::InvalidCursor),
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
            ))
        }
    }
    let req: SyncRequest =
        serde_json::from_value(value).map_err(|e| ApiError::InvalidRequest(e.to_string()))?;
    if req.changes.len() > MAX_CHANGES_PER_REQUEST {
        return Err(ApiError::TooManyChanges(req.changes.len()));
    }
    Ok(req)
}

async fn sync(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<SyncResponse>, ApiError> {
    let body = body.map_err(|r| match r.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
        _ => ApiError::InvalidRequest(r.body_text()),
    })?;
    let req = parse_request(&body)?;
    let after = decode_cursor(req.cursor.as_ref())?;
    let limit = req.limit.unwrap_or(MAX_PULL_LIMIT).clamp(1, MAX_PULL_LIMIT);
    let user = DEFAULT_USER;
    let results = state.store.push(user, &req.changes, now_ms()).await?;
    let page = state.store.pull(user, after, limit).await?;
    Ok(Json(SyncResponse {
        protocol: PROTOCOL_VERSION,
        results,
        changes: page.notes,
        cursor: encode_cursor(page.last),
        has_more: page.has_more,
        server_time_ms: now_ms(),
    }))
}

async fn healthz(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    state.store.ping().await?;
    Ok(Json(json!({"status": "ok", "database": "reachable"})))
}
