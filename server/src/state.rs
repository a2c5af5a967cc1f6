//! [`AppState`]: what every handler shares, built from storage trait objects. Which backend
//! the stores are is start-up's choice (`main.rs`, tests); nothing here names one.

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;

use crate::auth::Accounts;
use crate::liveness::Liveness;
use crate::storage::{Stores, SyncStore};
use crate::{config, http, live, metrics, pwa};

impl AppState {
    /// State on one backend's stores (start-up picks it: `storage::mongo::MongoStore::stores`
    /// in production, `storage::memory::stores` in tests), with the default accounts rules.
    pub fn new(stores: impl Into<Stores>, leptos: LeptosOptions, cookie_secure: bool) -> Self {
        let stores = stores.into();
        let accounts = Arc::new(Accounts::new(&stores));
        Self::with_stores(stores.notes, accounts, leptos, cookie_secure)
    }

    /// State on a notes store and an accounts service (tests choose its limits). Under a
    /// tokio runtime, live updates follow the stores' change feeds for as long as the
    /// process runs: one feed per state, whatever the number of open devices (see
    /// [`live`]).
    pub fn with_stores(
        store: Arc<dyn SyncStore>,
        accounts: Arc<Accounts>,
        leptos: LeptosOptions,
        cookie_secure: bool,
    ) -> Self {
        let sw = Arc::new(pwa::ServiceWorker::new(&leptos, None));
        let metrics = Arc::new(metrics::Metrics::new());
        let live = Arc::new(
            live::Hub::new(live::LiveLimits::default()).counted_by(metrics.live_connections()),
        );
        if tokio::runtime::Handle::try_current().is_ok() {
            tokio::spawn(live::follow_heads(store.heads(), live.clone()));
            // One feed of ended sessions for both: the sessions kept as checked
            // (`auth::cache`) and the live connections.
            let checked = accounts.clone();
            let ended = futures::StreamExt::boxed(futures::StreamExt::inspect(
                accounts.ended_sessions(),
                move |e| checked.session_ended(e),
            ));
            tokio::spawn(live::follow_sessions(ended, live.clone()));
        }
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
    pub accounts: Arc<Accounts>,
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
    /// Whether the database answers, for requests that wait on it (the API's watchdog).
    pub liveness: Arc<Liveness>,
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
