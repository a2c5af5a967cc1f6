//! `server`: runs Tern. See the crate docs of the library and the README for settings.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use leptos::config::get_configuration;
use server::config::{Config, redact_uri};
use server::embedded::{EmbeddedDb, find_binary};
use server::storage::mongo::MongoStore;
use server::{AppState, router, serve};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let config = Config::from_env()?;
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_new(&config.log).unwrap_or_else(|_| EnvFilter::new("info")))
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .init();

    // Declared before the listener so it is dropped (the child stopped) after serving ends.
    let embedded;
    let uri = match &config.mongodb_uri {
        Some(uri) => {
            tracing::info!(uri = %redact_uri(uri), "using the MongoDB at MONGODB_URI");
            uri.clone()
        }
        None => {
            let bin = find_binary(config.db_bin.as_deref())?;
            embedded = EmbeddedDb::start(&bin, &config.data_dir)?;
            tracing::info!(
                uri = embedded.uri(),
                data_dir = %config.data_dir.display(),
                "MONGODB_URI is unset: started the embedded database (secantusd-rs)"
            );
            embedded.uri().to_owned()
        }
    };
    let store = Arc::new(
        MongoStore::connect(&uri, &config.db_name)
            .await?
            .with_conflicts(config.conflicts),
    );
    let mut leptos = get_configuration(None)?.leptos_options;
    leptos.site_addr = config.addr;
    // The one place a backend is picked: MongoDB, for notes, accounts and throttling.
    let state = AppState::new(store.stores(), leptos, config.cookie_secure)
        .with_proxy(&config)
        .with_live_limits(config.live)
        .with_build_id(config.build_id.clone());
    tracing::info!(build = state.sw.build(), "service worker build");
    tokio::spawn(ensure_indexes(state.clone()));
    tokio::spawn(server::trash::sweep(
        state.store.clone(),
        Duration::from_secs(u64::from(config.trash_days) * 24 * 3600),
    ));
    let live = state.live.clone();
    let app = router(state);
    let listener = tokio::net::TcpListener::bind(config.addr).await?;
    tracing::info!("listening on http://{}", listener.local_addr()?);
    // Live connections never end by themselves: end them, or shutdown would wait on them.
    serve(listener, app, async move {
        shutdown_signal().await;
        live.close_all();
    })
    .await?;
    tracing::info!("stopped");
    Ok(())
}

/// Creates the indexes, retrying while the database is unreachable.
async fn ensure_indexes(state: AppState) {
    let mut delay = Duration::from_millis(500);
    loop {
        let r = match state.store.ensure_indexes().await {
            Ok(()) => state.accounts.ensure_indexes().await,
            e => e,
        };
        match r {
            Ok(()) => return,
            Err(e) => {
                tracing::warn!("cannot create indexes yet ({e}); retrying in {delay:?}");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(30));
            }
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = term => {} }
    tracing::info!("shutting down");
}
