//! `GET /healthz`, `GET /metrics` and `GET /sw.js`: the server's own state.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use sync_core::protocol::{ErrorBody, Health};

use crate::error::ApiError;
use crate::state::AppState;
use crate::storage::PING_TIMEOUT;

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
    tokio::time::timeout(PING_TIMEOUT, state.store.ping())
        .await
        .map_err(|_| {
            ApiError::Unavailable(format!("no answer to ping within {PING_TIMEOUT:?}"))
        })??;
    Ok(Json(Health {
        status: "ok".into(),
        database: "reachable".into(),
    }))
}

/// Prometheus metrics
///
/// The metrics are listed in the README (Metrics). Not served when `TERN_METRICS=off`.
#[utoipa::path(get, path = "/metrics", tag = "meta", operation_id = "serve",
    responses((status = 200, description = "OpenMetrics text", content_type = "application/openmetrics-text", body = String)))]
pub async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.encode(),
    )
        .into_response()
}

/// `GET /sw.js`: the service worker of this build ([`crate::pwa`]).
pub async fn service_worker(State(state): State<AppState>) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            // Always revalidated: a new deployment must be seen at the next update check.
            (header::CACHE_CONTROL, "no-cache"),
        ],
        state.sw.script().to_owned(),
    )
}
