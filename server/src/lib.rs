//! # server: Tern's HTTP server
//!
//! Hosts the Leptos app (server-side rendering, then hydration in the browser) and the
//! MongoDB-backed sync API.
//!
//! ## Layout
//! - [`config`]: settings from environment variables.
//! - [`embedded`]: the embedded default database (a child process).
//! - [`store`]: the [`store::SyncStore`] trait and its MongoDB implementation.
//! - [`docs`]: the MongoDB documents, typed: the one description of the stored data.
//! - [`memory`]: every storage trait in memory, for tests (no database process).
//! - [`auth`]: accounts (argon2id) and sessions (cookie or bearer token), behind
//!   [`auth::AccountStore`].
//! - [`throttle`]: sign-in throttling by source and account, behind
//!   [`throttle::BucketStore`]; the bound on hashes.
//! - [`headers`]: security headers (CSP with the page's nonce, nosniff, framing, HSTS).
//! - [`api`]: `POST /sync`, `/auth/*`, `/account/*`, `GET /healthz`, `GET /api/openapi.json`;
//!   every API answer is `Cache-Control: no-store`, and a request that waits on a stopped
//!   database answers 503 ([`api::Liveness`]).
//! - [`error`]: API errors and their one mapping to HTTP.
//! - [`http`]: the JSON body extractor of every API handler, request ids and tracing spans.
//! - [`metrics`]: Prometheus metrics, `GET /metrics`.
//! - [`pwa`]: `GET /sw.js`, the service worker of this build.
//! - [`live`]: `GET /live`, pokes to a user's open devices from a MongoDB change stream.
//! - [`trash`]: the trash expiry, a background sweep that deletes old tombstones forever.
//! - [`drain`]: reads the unread rest of a refused request's body, so its client gets the answer.
//!
//! [`router`] builds the whole app over an [`AppState`], which holds its stores as trait
//! objects (`Arc<dyn SyncStore>`, [`auth::Accounts`] over `Arc<dyn AccountStore>` and
//! `Arc<dyn BucketStore>`): MongoDB in production ([`AppState::new`]), or any stores
//! ([`AppState::with_stores`]; tests use [`memory`]'s). [`serve`] runs it on a listener
//! until a shutdown future resolves. Tests bind port 0 and use a fresh database each.

pub mod api;
pub mod auth;
pub mod config;
pub mod docs;
pub mod drain;
pub mod embedded;
pub mod error;
pub mod headers;
pub mod http;
pub mod live;
pub mod memory;
pub mod metrics;
pub mod openapi;
pub mod pwa;
pub mod store;
pub mod throttle;
pub mod trash;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{FromRef, Request};
use axum::routing::get;
use leptos::config::LeptosOptions;

use crate::store::{MongoStore, SyncStore};

impl AppState {
    /// State on MongoDB: notes in `store`, accounts in the same database.
    pub fn new(store: Arc<MongoStore>, leptos: LeptosOptions, cookie_secure: bool) -> Self {
        let accounts = Arc::new(auth::Accounts::new(store.database().clone()));
        let state = Self::with_stores(store.clone(), accounts, leptos, cookie_secure);
        // The feed runs as long as the process: one change stream per process, whatever the
        // number of open devices (see `live`).
        if tokio::runtime::Handle::try_current().is_ok() {
            tokio::spawn(live::run_feed(store.database().clone(), state.live.clone()));
            tokio::spawn(live::run_session_feed(
                store.database().clone(),
                state.live.clone(),
            ));
        }
        state
    }

    /// State on any stores (tests use [`memory`]'s). The live feed is MongoDB's change
    /// stream, so here `/live` connections get only their poke on connect (see
    /// [`store::SyncStore`] for where a store-generic feed would go).
    pub fn with_stores(
        store: Arc<dyn SyncStore>,
        accounts: Arc<auth::Accounts>,
        leptos: LeptosOptions,
        cookie_secure: bool,
    ) -> Self {
        let sw = Arc::new(pwa::ServiceWorker::new(&leptos, None));
        let metrics = Arc::new(metrics::Metrics::new());
        let live = Arc::new(
            live::Hub::new(live::LiveLimits::default()).counted_by(metrics.live_connections()),
        );
        Self {
            store,
            accounts,
            live,
            cookie_secure,
            public_origin: None,
            client_ip_header: None,
            leptos,
            sw,
            metrics,
            serve_metrics: true,
            trash_days: sync_core::limits::TRASH_DAYS,
            body_deadline: http::BODY_DEADLINE,
            liveness: Arc::default(),
        }
    }

    /// Takes the public origin and the trusted client-address header from `config`.
    pub fn with_proxy(mut self, config: &config::Config) -> Self {
        self.public_origin = config.public_origin.clone();
        self.client_ip_header = config.client_ip_header.clone();
        self.serve_metrics = config.metrics;
        self.metrics.set_recording(config.metrics);
        self.trash_days = config.trash_days;
        self
    }

    /// Uses these limits for live connections (set before any connection is open).
    pub fn with_live_limits(self, limits: live::LiveLimits) -> Self {
        self.live.set_limits(limits);
        self
    }

    /// Uses the build id `id` (from `TERN_BUILD_ID`) instead of the hash of the site's files.
    pub fn with_build_id(mut self, id: Option<String>) -> Self {
        if id.is_some() {
            self.sw = Arc::new(pwa::ServiceWorker::new(&self.leptos, id));
        }
        self
    }
}

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    /// Note storage (MongoDB in production).
    pub store: Arc<dyn SyncStore>,
    /// Accounts and sessions.
    pub accounts: Arc<auth::Accounts>,
    /// Open live connections (`GET /live`) and what they wait for.
    pub live: Arc<live::Hub>,
    /// Whether the session cookie is marked `Secure` (HTTPS only); HSTS is sent then.
    pub cookie_secure: bool,
    /// The origin browsers use (`TERN_PUBLIC_ORIGIN`); `None`: compare with `Host`.
    pub public_origin: Option<String>,
    /// Header with the client's address from a trusted proxy (`TERN_CLIENT_IP_HEADER`).
    pub client_ip_header: Option<axum::http::HeaderName>,
    /// Leptos' settings (site root, output name).
    pub leptos: LeptosOptions,
    /// The service worker of this build.
    pub sw: Arc<pwa::ServiceWorker>,
    /// The server's metrics.
    pub metrics: Arc<metrics::Metrics>,
    /// Whether `GET /metrics` is served (`TERN_METRICS`).
    pub serve_metrics: bool,
    /// Days a deleted note stays restorable (`TERN_TRASH_DAYS`), told to devices when they
    /// sign in and by `GET /auth/me`.
    pub trash_days: u32,
    /// Longest time a request body may take to arrive ([`http::BODY_DEADLINE`]).
    pub body_deadline: std::time::Duration,
    /// Whether the database answers, for requests that wait on it ([`api::watchdog`]).
    pub liveness: Arc<api::Liveness>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").finish_non_exhaustive()
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(s: &AppState) -> Self {
        s.leptos.clone()
    }
}

/// The whole application: the API routes, the server-rendered pages, and the static files
/// of the site (wasm, JS, CSS, icons) with an HTML 404 for anything else.
pub fn router(state: AppState) -> Router {
    let leptos = state.leptos.clone();
    let build = app::pwa::BuildId(state.sw.build().to_owned());
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
        .merge(api::routes(&state))
        .merge(pwa::routes())
        .route("/", get(move |req: Request<Body>| page(req)));
    if state.serve_metrics {
        app = app.route(
            "/metrics",
            get(metrics::serve).layer(axum::middleware::map_response(api::no_store)),
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

/// Serves `app` on `listener` until `shutdown` resolves, then finishes open requests.
/// Handlers see the peer's address (`ConnectInfo`), the source for sign-in throttling.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
