//! # app: Tern's user interface
//!
//! Leptos components shared by the server (feature `ssr`: renders the first paint) and the
//! browser (feature `hydrate`: takes it over). The UI reads and writes only the local
//! store (IndexedDB); the network is the sync engine's business, but for the account's
//! requests and a note's history.
//!
//! ## Layout: three layers, imports pointing down only
//! - [`io`] (bottom): everything that leaves the page's memory: IndexedDB and the
//!   accounts' databases, the server's API, timers, the page's singletons, the search
//!   index, the service worker. Its one `cfg` switch picks the browser's functions
//!   (`hydrate`) or the server's stubs of them; nothing above it names `web_sys`.
//! - [`model`]: the state the components share ([`model::PageState`], the editor, the
//!   view state, the sync status line and activity log), the typed views, the actions
//!   and the user-facing copy. It imports [`io`] only.
//! - [`components`]: one file per screen or part; they read the model and call it (and
//!   [`io`] for what only they need).
//! - [`App`] (here, on top) is the first-paint shell of the start-up module
//!   (`components::first_paint`), which loads [`FullApp`] from a module of its own; that
//!   lays the components out and starts the page's work. [`shell`] and [`not_found`] are
//!   the HTML documents the server renders.

// The editor's view is one nested type (title, bar, text, completion, backlinks, panels):
// computing its layout needs more than the default 128 levels.
#![recursion_limit = "256"]

pub mod components;
pub mod io;
pub mod model;

use leptos::prelude::*;
use leptos::task::spawn_local;

use components::{
    account, activity, editor, first_paint, keys, list, pwa_banner, settings, share_offer, sidebar,
    status, storage_notice, trash,
};
use model::share::Shared;
use model::take_over::{self, Handoff, Intent};
use model::{PageState, Ui};

pub use io::pwa::worker_sync;
pub use io::{BuildId, SAVE_DEBOUNCE};
pub use model::{LIST_PAGE, NoteView};

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
                <pwa_banner::BuildMeta/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
            </head>
            <body>
                <App/>
                // The shell's rows, drawn before any wasm runs (`first_paint::rows_script`).
                <script nonce=use_nonce() inner_html=first_paint::rows_script()></script>
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

/// The root component: the first-paint shell, which loads the app ([`FullApp`]) from a
/// module of its own and hands over to it (`components::first_paint`). Only the shell is
/// in the start-up module.
#[component]
pub fn App() -> impl IntoView {
    view! { <first_paint::FirstPaint load=load_app/> }
}

/// Starts loading the app's module (compiled off the main thread) before the shell is
/// hydrated; the shell's own load ([`first_paint::FirstPaint`]) then waits for the same
/// attempt (the split loader runs one at a time) or retries it if it failed.
pub fn start_loading_app() {
    #[cfg(feature = "hydrate")]
    {
        use std::future::Future;
        let mut load = Box::pin(async {
            let _ = load_app().await;
        });
        // Polled once now, so the loader's fetches start before hydration (a task's first
        // poll waits for the current one to end); the task polls it from then on.
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        if load.as_mut().poll(&mut cx).is_pending() {
            wasm_bindgen_futures::spawn_local(load);
        }
    }
}

components::lazy::split!(
    /// The app's module: everything but the first-paint shell.
    load_app,
    app_full,
    || view! { <FullApp/> }.into_any()
);

/// The longest the first-paint shell stays once the app's module is loaded (ms).
const TAKE_OVER_BY: u64 = 3_000;

/// The app takes over from the shell (the first call only), then does what was clicked
/// there: once the page shows the app, so that the focus can land; a row of the list just
/// read opens at once (as its click would), so no click or keystroke can come between.
async fn take_over(app: PageState, ui: Ui, handoff: Option<Handoff>) {
    let Some(replay) = handoff.and_then(|h| h.step(take_over::Event::Painted)) else {
        return;
    };
    leptos::task::tick().await;
    match replay {
        Intent::Open(id) => {
            let listed = app
                .snap
                .with_untracked(|s| s.notes.iter().find(|n| n.id == id).map(|n| n.text()));
            match listed {
                Some(text) => {
                    app.editor.open_listed(app, id, text);
                    ui.pane.set(model::Pane::Editor);
                }
                // (Not in the list read: the stored page was older. Read it.)
                None => model::commands::open_linked(app, ui, id),
            }
        }
        Intent::New => model::commands::new_note(app, ui),
    }
}

/// The app: Tern is one page, so there is no client-side router (it would cost the wasm
/// bundle tens of kilobytes for nothing). It provides the [`PageState`] and the [`Ui`],
/// starts the page's work, lays out the components, and takes over from the shell once it
/// has drawn its list (hidden until then), doing what was clicked in the shell.
#[component]
pub fn FullApp() -> impl IntoView {
    let handoff = Handoff::get();
    let app = PageState::new();
    provide_context(app);
    let ui = Ui::new();
    provide_context(ui);
    let shared = Shared::new();
    provide_context(shared);
    // The activity log keeps every run the page's runner finishes.
    Effect::new(move |_| {
        if let Some(run) = app.sync.with(|s| s.last_run.clone()) {
            ui.activity.update(|log| log.push(run));
        }
    });

    // Opening the store can wait on another tab (a schema upgrade): the app takes over
    // after `TAKE_OVER_BY` whatever (and shows what it shows while its store is blocked).
    Effect::new(move |_| {
        spawn_local(async move {
            io::page::sleep_ms(TAKE_OVER_BY).await;
            take_over(app, ui, handoff).await;
        })
    });
    // In the browser only, after hydration: show this browser's notes (the signed-in
    // account's, or nobody's), then find out who is signed in and sync.
    Effect::new(move |_| {
        app.sync.update(|s| s.online = io::page::is_online());
        spawn_local(async move {
            io::accounts::start().await;
            app.store.set(io::accounts::store_name());
            // The list says "still indexing" until the search index is ready: then re-read.
            io::notes::on_search_ready(move || {
                app.refresh();
                // The sidebar's notebooks and tags come from the index once it is built.
                app.refresh_records();
            });
            if let Ok(read) = io::notes::read(&app.view()).await {
                app.snap.set(read.into());
            }
            // The list is drawn (or could not be read: the app says so).
            take_over(app, ui, handoff).await;
            io::notes::list_shown();
            app.refresh_records();
            // Syncs once the session is known to be valid (`check_session`).
            app.attach_sync(false).await;
            io::page::on_change(move || {
                app.refresh();
                app.refresh_records();
                spawn_local(model::account::follow_records(app));
            });
            io::page::on_store_closed(move |m| app.notice.set(m));
            app.ready.set(true);
            model::share::receive(shared);
            model::account::check_session(app).await;
        });
    });
    // The list's first page, for the next start's shell: the list as a start shows it (no
    // search), once the first read is in.
    // (Only the list a start shows: no search, the default sort; and only the notes of
    // the store the page is switching to, never the last ones of an account left.)
    Effect::new(move |_| {
        if app.ready.get()
            && app.query.with(|q| q.trim().is_empty())
            && app.sort.get() == model::Sort::default()
            && app.store.get() == io::accounts::store_name()
        {
            io::first_page::write(list::first_page(app));
        }
    });
    // (The runner hears these too, and syncs when back online.)
    let _ = window_event_listener(leptos::ev::online, move |_| {
        app.sync.update(|s| s.online = true);
        if app.user.get_untracked().is_none() {
            // Started offline: the session could not be checked then (nor a sign-out made
            // offline sent); now it can.
            spawn_local(model::account::check_session(app));
        }
    });
    let _ = window_event_listener(leptos::ev::offline, move |_| {
        app.sync.update(|s| s.online = false)
    });

    view! {
        <main style:display=move || (!handoff.is_none_or(|h| h.taken())).then_some("none")
            data-ready=move || app.ready.get().to_string() data-store=move || app.store.get()
            data-pane=move || ui.pane.get().as_str() data-drawer=move || ui.drawer.get().to_string()>
            <pwa_banner::PwaBanner/>
            <storage_notice::StorageNotice/>
            <header>
                <button type="button" class="sidebar-open" data-testid="sidebar-open"
                    aria-controls="sidebar" aria-expanded=move || ui.drawer.get().to_string()
                    aria-label="Notebooks and tags" title="Notebooks and tags (g)"
                    on:click=move |_| ui.drawer.update(|d| *d = !*d)>"☰"</button>
                <h1>"Tern"</h1>
                <account::AccountBar/>
                <settings::SettingsButton/>
                <status::Status/>
            </header>
            <activity::Attention/>
            <status::Messages/>
            <account::SignInForm/>
            <account::JoinOffer/>
            <share_offer::ShareOffer/>
            <list::UndoDelete/>
            {view! { <settings::SettingsView/> }.into_any()}
            {view! { <trash::Trash/> }.into_any()}
            // Three panes on a wide screen: the sidebar, the list, the note; the sidebar is a
            // drawer on a narrower one, and a phone shows the list or the note.
            <div class="layout">
                // Type-erased parts (`into_any`): one concrete view type for the whole page is
                // too deep for the compiler's release build.
                {view! { <sidebar::Sidebar/> }.into_any()}
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
