//! `GET /live`: the live connection ([`crate::live`]).

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use sync_core::protocol::ErrorBody;

use super::extract::AuthUser;
use crate::error::ApiError;
use crate::state::AppState;

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
