//! `POST /sync`: push, then pull, in one round trip.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use sync_core::limits::{MAX_PULL_LIMIT, MAX_RESULT_BYTES, json_len};
use sync_core::protocol::{
    ChangeResult, Cursor, ErrorBody, PROTOCOL_VERSION, SyncRequest, SyncResponse,
};

use super::extract::AuthUser;
use crate::clock::now_ms;
use crate::error::ApiError;
use crate::http::{ApiJson, parse_body};
use crate::state::AppState;

/// The cursor of `version` ([`crate::cursor`]).
pub fn encode_cursor(version: u64) -> Cursor {
    crate::cursor::encode(version)
}

/// The version a cursor stands for.
pub fn decode_cursor(c: Option<&Cursor>) -> Result<u64, ApiError> {
    match c {
        None => Ok(0),
        Some(c) => crate::cursor::decode(c).ok_or(ApiError::InvalidCursor),
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
/// budget ([`crate::storage::mongo::notes::PUSH_RETRY_BUDGET`]) fits well inside it.
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
        // signed in on the same device) or by another server: the push refuses it before
        // anything is written. Without changes to push, the pull's own read of the head
        // decides.
        let (pushed, page) = state
            .store
            .push_pull(user, after, limit, &req.changes, now_ms())
            .await?;
        Ok::<_, ApiError>((pushed, page))
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
