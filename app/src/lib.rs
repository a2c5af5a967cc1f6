//! # app: Tern's user interface
//!
//! Leptos components shared by the server (feature `ssr`: renders the first paint) and the
//! browser (feature `hydrate`: takes it over). The UI reads and writes only the local
//! store (IndexedDB); the network is the sync engine's business.
//!
//! Browser-only work (IndexedDB, fetch) lives behind the small async functions of
//! [`browser`], which do nothing on the server, so components carry no `cfg`.

pub mod browser;

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::StaticSegment;

pub use browser::NoteView;

/// The HTML document around the app.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The root component.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="leptos" href="/pkg/tern.css"/>
        <Title text="Tern"/>
        <Router>
            <Routes fallback=|| "Page not found.".into_view()>
                <Route path=StaticSegment("") view=HomePage/>
            </Routes>
        </Router>
    }
}

/// The notes page: add a note, see the local notes and their sync state, sync.
#[component]
fn HomePage() -> impl IntoView {
    let (notes, set_notes) = signal(Vec::<NoteView>::new());
    let (title, set_title) = signal(String::new());
    let (content, set_content) = signal(String::new());
    let (status, set_status) = signal(String::from("Loading local notes…"));
    let (ready, set_ready) = signal(false);
    // None: not signed in (or not known yet); notes still work locally.
    let (user, set_user) = signal(None::<String>);
    let (username, set_username) = signal(String::new());
    let (password, set_password) = signal(String::new());

    let reload = move || {
        spawn_local(async move {
            match browser::list_notes().await {
                Ok(list) => set_notes.set(list),
                Err(e) => set_status.set(format!("Local storage error: {e}")),
            }
        })
    };
    let sync = move || {
        spawn_local(async move {
            set_status.set("Syncing…".into());
            match browser::sync_now().await {
                Ok(msg) => set_status.set(msg),
                Err(f) => {
                    if f.needs_sign_in {
                        set_user.set(None);
                    }
                    set_status.set(f.message);
                }
            }
            if let Ok(list) = browser::list_notes().await {
                set_notes.set(list);
            }
        })
    };

    // Runs in the browser only, after hydration: show the local notes, then sync.
    Effect::new(move |_| {
        spawn_local(async move {
            match browser::list_notes().await {
                Ok(list) => {
                    set_notes.set(list);
                    set_status.set("Local notes loaded".into());
                }
                Err(e) => set_status.set(format!("Local storage error: {e}")),
            }
            set_user.set(browser::whoami().await);
            set_ready.set(true);
            if user.get_untracked().is_some() {
                sync();
            } else {
                set_status.set("Notes are saved on this device. Sign in to sync them.".into());
            }
        });
    });

    let account = move |action: &'static str| {
        let (u, p) = (username.get_untracked(), password.get_untracked());
        spawn_local(async move {
            match browser::account(action, &u, &p).await {
                Ok(name) => {
                    set_password.set(String::new());
                    set_user.set(Some(name));
                    sync();
                }
                Err(e) => set_status.set(e),
            }
        });
    };
    let sign_out = move |_| {
        spawn_local(async move {
            browser::sign_out().await;
            set_user.set(None);
            set_status.set("Signed out. Notes stay on this device.".into());
        });
    };

    let add = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (t, c) = (title.get_untracked(), content.get_untracked());
        if t.trim().is_empty() && c.trim().is_empty() {
            set_status.set("Write a title or some text first".into());
            return;
        }
        spawn_local(async move {
            match browser::create_note(&t, &c).await {
                Ok(()) => {
                    set_title.set(String::new());
                    set_content.set(String::new());
                    set_status.set("Saved on this device".into());
                    reload();
                }
                Err(e) => set_status.set(format!("Not saved: {e}")),
            }
        });
    };

    view! {
        <main data-ready=move || ready.get().to_string()>
            <header>
                <h1>"Tern"</h1>
                <Show when=move || user.get().is_some()>
                    <span class="who" data-testid="user">
                        {move || format!("Signed in as {}", user.get().unwrap_or_default())}
                    </span>
                    <button type="button" on:click=move |_| sync()>"Sync now"</button>
                    <button type="button" on:click=sign_out>"Sign out"</button>
                </Show>
            </header>
            <Show when=move || user.get().is_none()>
                <form class="account" on:submit=move |ev: leptos::ev::SubmitEvent| {
                    ev.prevent_default();
                    account("signin");
                }>
                    <label for="username">"Username"</label>
                    <input
                        id="username"
                        autocomplete="username"
                        prop:value=move || username.get()
                        on:input=move |ev| set_username.set(event_target_value(&ev))
                    />
                    <label for="password">"Password"</label>
                    <input
                        id="password"
                        type="password"
                        autocomplete="current-password"
                        prop:value=move || password.get()
                        on:input=move |ev| set_password.set(event_target_value(&ev))
                    />
                    <div class="row">
                        <button type="submit">"Sign in"</button>
                        <button type="button" on:click=move |_| account("signup")>
                            "Create account"
                        </button>
                    </div>
                </form>
            </Show>
            <p class="status" role="status" data-testid="status">{move || status.get()}</p>
            <form class="editor" on:submit=add>
                <label for="note-title">"Title"</label>
                <input
                    id="note-title"
                    name="title"
                    prop:value=move || title.get()
                    on:input=move |ev| set_title.set(event_target_value(&ev))
                />
                <label for="note-content">"Note"</label>
                <textarea
                    id="note-content"
                    name="content"
                    rows="4"
                    prop:value=move || content.get()
                    on:input=move |ev| set_content.set(event_target_value(&ev))
                ></textarea>
                <button type="submit">"Add note"</button>
            </form>
            <ul class="notes" data-testid="notes">
                <For
                    each=move || notes.get()
                    key=|n| (n.id.clone(), n.sync.clone(), n.title.clone(), n.content.clone())
                    children=move |n| {
                        view! {
                            <li class="note" data-id=n.id.clone() data-sync=n.sync.clone()>
                                <h2>{n.title.clone()}</h2>
                                <p>{n.content.clone()}</p>
                                <span class="badge">{n.sync.clone()}</span>
                            </li>
                        }
                    }
                />
            </ul>
        </main>
    }
}
