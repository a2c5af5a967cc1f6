//! The layers around every API route: the database watchdog, `Cache-Control: no-store`, and
//! the JSON answer to a known path asked with another method.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::state::AppState;
use crate::storage::PING_TIMEOUT;

/// Middleware of every API request: the request, or `503 unavailable` as soon as the
/// database is found stopped ([`crate::liveness::Liveness::stalled`]). The driver has no socket timeout, so
/// without this a database that accepts connections but answers nothing kept a request
/// (its session lookup, a sync's push) waiting until the driver's next failed heartbeat
/// and the push's retries (7.7 to 11.3 s measured), where `/healthz` answers in 2 s.
pub async fn watchdog(
    State(state): State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    tokio::select! {
        res = next.run(req) => res,
        () = state.liveness.stalled(&*state.store) => ApiError::Unavailable(format!(
            "the database did not answer a ping within {PING_TIMEOUT:?}"
        ))
        .into_response(),
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

/// A known API path asked with another method: the JSON error body too, not an empty 405.
pub async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}
