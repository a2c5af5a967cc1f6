//! # app: Tern's user interface
//!
//! Leptos components shared by the server (feature `ssr`: renders the first paint) and the
//! browser (feature `hydrate`: takes it over). The UI reads and writes only the local
//! store (IndexedDB); the network is the sync engine's business.
//!
//! Browser-only work (IndexedDB, fetch) lives behind the small async functions of
//! [`browser`], which do nothing on the server, so components carry no `cfg`.
//!
//! ## Layout
//! - [`state`]: the [`state::AppState`] every component reads (provided as context).
//! - [`status`]: the sync status line and messages; [`sync`]: the page's handle on the
//!   sync runner (`client::runner`).
//! - [`account`]: sign-in, sign-out, and notes written before any sign-in;
//!   [`account_settings`]: signed-in devices, password change, account deletion.
//! - [`list`]: the notes with search; [`editor`]: the open note, never stale;
//!   [`conflict`]: its conflict and strategy; [`history`]: its earlier versions.
//! - [`pwa`]: install, updates, storage, and the service worker's sync.
//! - [`trash`]: deleted notes, "Restore" and "Delete forever"; [`export`]: export and
//!   import of every note (JSON, Markdown, folders of files).
//! - [`ui`]: view state beside the notes (phone screen, preview, overlays, sync activity);
//!   [`markdown`]: the preview and its checklists; [`keys`]: keyboard shortcuts and their
//!   overlay; [`activity`]: the sync activity panel and the attention line; [`storage`]:
//!   what eviction puts at risk; [`share`]: text shared in from other apps, saved as a note when the user says so.

pub mod account;
pub mod account_settings;
pub mod activity;
pub mod browser;
pub mod conflict;
pub mod editor;
pub mod export;
pub mod history;
pub mod keys;
pub mod list;
#[cfg(feature = "hydrate")]
mod lock;
pub mod markdown;
pub mod pwa;
pub mod share;
pub mod state;
pub mod status;
pub mod storage;
pub mod sync;
pub mod trash;
pub mod ui;

use leptos::prelude::*;
use leptos::task::spawn_local;

pub use browser::NoteView;
pub use list::LIST_PAGE;

use std::time::Duration;

use state::AppState;

/// Quiet time after a keystroke before the note is saved locally.
pub const SAVE_DEBOUNCE: Duration = Duration::from_millis(250);

/// The HTML document around the app.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <meta name="theme-color" content="#0b5cad"/>
                <link rel="manifest" href="/manifest.webmanifest"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <link rel="apple-touch-icon" href="/icons/icon-192.png"/>
                <link id="leptos" rel="stylesheet" href="/pkg/tern.css"/>
                <title>"Tern"</title>
                <pwa::BuildMeta/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The page for any path that is neither the app (`/`), the API nor a static file.
pub fn not_found(_options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <title>"Not found · Tern"</title>
            </head>
            <body>
                <main>
                    <h1>"Page not found."</h1>
                    <p><a href="/">"Open your notes"</a></p>
                </main>
            </body>
        </html>
    }
}

/// The root component: Tern is one page, so there is no client-side router (it would cost
/// the wasm bundle tens of kilobytes for nothing). It provides the [`AppState`], starts the
/// page's work once hydrated, and lays out the components.
#[component]
pub fn App() -> impl IntoView {
    let app = AppState::new();
    provide_context(app);
    let ui = ui::Ui::new();
    provide_context(ui);
    let shared = share::Shared::new();
    provide_context(shared);
    activity::follow(app, ui);

    // In the browser only, after hydration: show this browser's notes (the signed-in
    // account's, or nobody's), then find out who is signed in and sync.
    Effect::new(move |_| {
        app.sync.update(|s| s.online = browser::is_online());
        spawn_local(async move {
            browser::start().await;
            app.store.set(browser::store_name());
            // The list says "still indexing" until the search index is ready: then re-read.
            browser::on_search_ready(move || app.refresh());
            if let Ok(s) = browser::snapshot(&app.view()).await {
                app.snap.set(s);
            }
            browser::list_shown();
            // Syncs once the session is known to be valid (`check_session`).
            app.syncer.attach(app, false).await;
            browser::on_change(move || {
                app.refresh();
                spawn_local(account::follow_records(app));
            });
            browser::on_store_closed(move |m| app.notice.set(m));
            app.ready.set(true);
            share::receive(shared);
            account::check_session(app).await;
        });
    });
    // (The runner hears these too, and syncs when back online.)
    let _ = window_event_listener(leptos::ev::online, move |_| {
        app.sync.update(|s| s.online = true);
        if app.user.get_untracked().is_none() {
            // Started offline: the session could not be checked then (nor a sign-out made
            // offline sent); now it can.
            spawn_local(account::check_session(app));
        }
    });
    let _ = window_event_listener(leptos::ev::offline, move |_| {
        app.sync.update(|s| s.online = false)
    });

    view! {
        <main data-ready=move || app.ready.get().to_string() data-store=move || app.store.get()
            data-pane=move || ui.pane.get().as_str()>
            <pwa::PwaBanner/>
            <storage::StorageNotice/>
            <header>
                <h1>"Tern"</h1>
                <activity::ActivityButton/>
                <account::AccountBar/>
                <status::Status/>
            </header>
            <activity::Attention/>
            {view! { <activity::ActivityPanel/> }.into_any()}
            <status::Messages/>
            <account::SignInForm/>
            <account::JoinOffer/>
            <share::ShareOffer/>
            <list::UndoDelete/>
            {view! { <trash::Trash/> }.into_any()}
            {view! { <account_settings::AccountSettings/> }.into_any()}
            {view! { <export::ExportImport/> }.into_any()}
            <div class="layout">
                // Type-erased halves (`into_any`): one concrete view type for the whole page is
                // too deep for the compiler's release build.
                {view! { <list::NoteList/> }.into_any()}
                {view! { <editor::Editor/> }.into_any()}
            </div>
            <p class="footer">
                <button type="button" on:click=move |_| ui.help.set(true)>"Keyboard shortcuts (?)"</button>
            </p>
            {view! { <keys::Shortcuts/> }.into_any()}
        </main>
    }
}
