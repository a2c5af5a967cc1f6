//! # server: Tern's HTTP server
//!
//! Hosts the Leptos app (server-side rendering, then hydration in the browser) and the sync
//! API, over storage that is MongoDB in production.
//!
//! ## Layout
//! Rooms with one-way doors: each layer imports only from the layers below it, never up.
//!
//! 1. **Start-up** (`main.rs`, [`config`], [`embedded`]): reads the settings, starts the
//!    embedded database, and is the one place that picks a storage backend.
//! 2. **Routes** ([`routes`]): the route table, in one file, and the layers every request
//!    goes through ([`headers`], [`metrics`]' tracking, [`drain`], [`http::trace`]).
//! 3. **API** ([`api`]): the handlers, one module per area (sync, history, live,
//!    account, meta, the API document), and what they read off a request.
//! 4. **State** ([`state`]): [`AppState`], what every handler shares, built from storage
//!    trait objects.
//! 5. **HTTP plumbing** ([`error`]: API errors and their one mapping to HTTP; [`http`]: the
//!    JSON body extractor, request ids and tracing spans).
//! 6. **Services**: [`auth`] (passwords, sessions, throttling, the accounts service),
//!    [`live`] (open live connections and their pokes), [`liveness`] (whether the database
//!    answers), [`metrics`], [`pwa`] (the service worker of this build), [`trash`] (the
//!    trash expiry).
//! 7. **Storage** ([`storage`]): the traits ([`storage::SyncStore`],
//!    [`storage::AccountStore`], [`storage::BucketStore`], with their change feeds) and
//!    their error; beside them the backends [`storage::memory`] and [`storage::mongo`]
//!    (the only place the MongoDB driver's types appear).
//! 8. **Leaves** ([`clock`], [`cursor`]): the wall clock and the pull cursors.
//!
//! [`router`] builds the whole app over an [`AppState`]; [`serve`] runs it on a listener
//! until a shutdown future resolves. Tests bind port 0 and use a fresh database each, or
//! [`storage::memory`]'s stores.

pub mod api;
pub mod auth;
pub mod clock;
pub mod config;
pub mod cursor;
pub mod drain;
pub mod embedded;
pub mod error;
pub mod headers;
pub mod http;
pub mod live;
pub mod liveness;
pub mod metrics;
pub mod pwa;
pub mod routes;
pub mod state;
pub mod storage;
pub mod trash;

use std::future::Future;

use axum::Router;

pub use routes::router;
pub use state::AppState;

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
