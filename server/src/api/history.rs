//! `GET /notes/{id}/history`: a note's kept revisions.

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use sync_core::NoteId;
use sync_core::protocol::{ErrorBody, HistoryResponse};

use super::extract::AuthUser;
use crate::error::ApiError;
use crate::state::AppState;

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
