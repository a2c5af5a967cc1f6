//! The route table, in one place: every API route ([`table`]), the API's layers
//! ([`api_routes`]), and the whole application around them ([`router`]): the service
//! worker, the metrics, the server-rendered page, the static files, and the layers every
//! request goes through.

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::Method;
use axum::routing::{MethodRouter, get, post};
use sync_core::limits::MAX_REQUEST_BYTES;

use crate::api::layers::{method_not_allowed, no_store, watchdog};
use crate::api::{account, history, live, meta, openapi, sync};
use crate::http::MAX_CREDENTIALS_BYTES;
use crate::state::AppState;
use crate::{drain, headers, http, metrics};

/// Every API route: its path, its method and its handler. [`api_routes`] serves exactly these,
/// and the API document ([`crate::api::openapi`], generated from each handler's
/// `#[utoipa::path]`) must describe each one (tested in `server/tests/openapi.rs`).
pub fn table() -> Vec<(&'static str, Method, MethodRouter<AppState>)> {
    vec![
        (
            "/sync",
            Method::POST,
            post(sync::sync).layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES)),
        ),
        ("/healthz", Method::GET, get(meta::healthz)),
        (
            "/auth/signup",
            Method::POST,
            post(account::sign_up).layer(DefaultBodyLimit::max(MAX_CREDENTIALS_BYTES)),
        ),
        (
            "/auth/signin",
            Method::POST,
            post(account::sign_in).layer(DefaultBodyLimit::max(MAX_CREDENTIALS_BYTES)),
        ),
        ("/auth/signout", Method::POST, post(account::sign_out)),
        ("/auth/me", Method::GET, get(account::me)),
        ("/account/sessions", Method::GET, get(account::sessions)),
        (
            "/account/sessions/signout",
            Method::POST,
            post(account::end_session).layer(DefaultBodyLimit::max(MAX_CREDENTIALS_BYTES)),
        ),
        (
            "/account/signout-everywhere",
            Method::POST,
            post(account::sign_out_everywhere).layer(DefaultBodyLimit::max(MAX_CREDENTIALS_BYTES)),
        ),
        (
            "/account/password",
            Method::POST,
            post(account::change_password).layer(DefaultBodyLimit::max(MAX_CREDENTIALS_BYTES)),
        ),
        (
            "/account/delete",
            Method::POST,
            post(account::delete_account).layer(DefaultBodyLimit::max(MAX_CREDENTIALS_BYTES)),
        ),
        ("/live", Method::GET, get(live::live)),
        ("/notes/{id}/history", Method::GET, get(history::history)),
        ("/api/openapi.json", Method::GET, get(openapi::openapi)),
    ]
}

/// The API routes ([`table`]). A request whose database work outlasts a stopped database
/// answers `503` ([`watchdog`]). Every answer says `Cache-Control: no-store`: most carry
/// private data (the account, sessions, note text, tokens), which must not stay in a
/// browser's or a proxy's cache after sign-out or account deletion.
pub fn api_routes(state: &AppState) -> Router<AppState> {
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

/// The whole application: the API routes, the server-rendered pages, and the static files
/// of the site (wasm, JS, CSS, icons) with an HTML 404 for anything else.
pub fn router(state: AppState) -> Router {
    let leptos = state.leptos.clone();
    let build = app::BuildId(state.sw.build().to_owned());
    // Tern is one page: `/` is server-rendered (then hydrated); there is no route table.
    // Rendering spawns tasks on Leptos' executor: tokio's (an error means it is set already).
    let _ = any_spawner::Executor::init_tokio();
    let page = leptos_axum::render_app_to_stream_with_context(
        move || {
            leptos::prelude::provide_context(build.clone());
            page_csp();
        },
        move || app::shell(leptos.clone()),
    );
    let hsts = state.cookie_secure;
    let metrics = state.metrics.clone();
    let record = state.serve_metrics;
    let deadline = http::BodyDeadline(state.body_deadline);
    let mut app = Router::new()
        .merge(api_routes(&state))
        .route("/sw.js", get(meta::service_worker))
        .route("/", get(move |req: Request<Body>| page(req)));
    if state.serve_metrics {
        app = app.route(
            "/metrics",
            get(meta::metrics).layer(axum::middleware::map_response(no_store)),
        );
    }
    let app = app
        .route_layer(axum::middleware::from_fn(metrics::stamp_route))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(
            app::not_found,
        ))
        .layer(axum::middleware::from_fn(move |req, next| {
            headers::layer(hsts, req, next)
        }))
        .layer(axum::middleware::from_fn(move |req, next| {
            metrics::track(metrics.clone(), record, req, next)
        }))
        .layer(axum::Extension(deadline))
        .layer(axum::middleware::from_fn(drain::layer))
        .with_state(state);
    http::trace(app)
}

/// Sends the page's Content-Security-Policy with the nonce Leptos puts on the hydration
/// script of this response (leptos_axum provides a fresh one per render).
fn page_csp() {
    use leptos::prelude::use_context;
    let nonce = leptos::nonce::use_nonce();
    let options = use_context::<leptos_axum::ResponseOptions>();
    if let (Some(nonce), Some(options)) = (nonce, options)
        && let Ok(v) = axum::http::HeaderValue::from_str(&headers::csp(Some(&nonce)))
    {
        options.insert_header(axum::http::header::CONTENT_SECURITY_POLICY, v);
    }
}
