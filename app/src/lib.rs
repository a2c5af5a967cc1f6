//! # app: Tern's user interface
//!
//! Leptos components shared by the server (feature `ssr`: renders the first paint) and the
//! browser (feature `hydrate`: takes it over). The UI reads and writes only the local
//! store (IndexedDB); the network is the sync engine's business.
//!
//! Browser-only work (IndexedDB, fetch) lives behind the small async functions of
//! [`browser`], which do nothing on the server, so components carry no `cfg`.

pub mod browser;
pub mod pwa;

use leptos::prelude::*;
use leptos::task::spawn_local;

pub use browser::NoteView;

use std::time::Duration;

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
/// the wasm bundle tens of kilobytes for nothing).
#[component]
pub fn App() -> impl IntoView {
    view! { <HomePage/> }
}

/// Notes rendered at a time in the list ("Show more" renders the next page).
pub const LIST_PAGE: usize = 200;
/// Quiet time after a keystroke before the note is saved locally.
pub const SAVE_DEBOUNCE: Duration = Duration::from_millis(250);

/// The notes page: the list with search, an editor that saves as you type, the account
/// form and the sync status.
#[component]
fn HomePage() -> impl IntoView {
    let (snap, set_snap) = signal(browser::Snapshot::default());
    let (query, set_query) = signal(String::new());
    let (selected, set_selected) = signal(None::<String>);
    let (title, set_title) = signal(String::new());
    let (content, set_content) = signal(String::new());
    let (saved_label, set_saved_label) = signal(String::new());
    let (undo, set_undo) = signal(None::<(String, String, String)>);
    let (ready, set_ready) = signal(false);
    // Sync status, as the runner (`client::runner`) publishes it.
    let (status, set_status) = signal(browser::SyncStatus {
        online: true,
        ..Default::default()
    });
    // A local storage problem (sync failures come with the status).
    let (last_error, set_last_error) = signal(None::<String>);
    let (message, set_message) = signal(String::new());
    // How many notes of the (filtered) list are rendered; "Show more" adds a page.
    let (limit, set_limit) = signal(LIST_PAGE);
    // The open note's history: None = closed.
    let (history, set_history) = signal(None::<Result<Vec<browser::RevisionView>, String>>);
    // Account: None = not signed in (notes still work locally).
    let (user, set_user) = signal(None::<String>);
    let (username, set_username) = signal(String::new());
    let (password, set_password) = signal(String::new());
    // Generation, to drop stale debounced saves.
    let save_gen = StoredValue::new(0u64);
    let creating = StoredValue::new(false);

    let refresh = move || {
        spawn_local(async move {
            match browser::snapshot().await {
                Ok(s) => set_snap.set(s),
                Err(e) => set_last_error.set(Some(format!("Local storage: {e}"))),
            }
        })
    };

    // Sync is the runner's business (triggers, backoff, one syncer per browser); the page
    // shows its status and asks it to sync.
    let sync_now = move || browser::trigger(browser::Trigger::Now);
    let on_status = move |s: browser::SyncStatus| {
        let before = status.get_untracked();
        if s.last_synced_ms != before.last_synced_ms
            && let Some(r) = &s.last_report
        {
            let notice = browser::notice(r);
            if !notice.is_empty() {
                set_message.set(notice);
            }
        }
        let newly_signed_out = s.signed_out
            && !before.signed_out
            && s.last_error.as_ref().map(|e| e.kind) == Some(browser::FailureKind::SignedOut);
        if newly_signed_out && user.get_untracked().is_some() {
            set_user.set(None);
            set_message.set("Sign in to sync. Your notes stay on this device.".into());
        }
        set_status.set(s);
    };

    // In the browser only, after hydration: show the local notes, then start syncing.
    Effect::new(move |_| {
        set_status.update(|s| s.online = browser::is_online());
        spawn_local(async move {
            if let Ok(s) = browser::snapshot().await {
                set_snap.set(s);
            }
            set_user.set(browser::whoami().await);
            browser::on_store_closed(move |m| set_last_error.set(Some(m)));
            set_ready.set(true);
            if user.get_untracked().is_none() {
                set_message.set("Notes are saved on this device. Sign in to sync them.".into());
            }
            let signed_in = user.get_untracked().is_some();
            if let Err(e) = browser::start_sync(signed_in, on_status, move |_| refresh()).await {
                set_last_error.set(Some(format!("Local storage: {e}")));
            }
        });
    });
    // Started offline: the session could not be checked then; check it now (the runner
    // itself syncs when the browser is back online).
    let _ = window_event_listener(leptos::ev::online, move |_| {
        if user.get_untracked().is_some() {
            return;
        }
        spawn_local(async move {
            if let Some(name) = browser::whoami().await {
                set_user.set(Some(name));
                set_message.set(String::new());
                browser::trigger(browser::Trigger::SignedIn);
            }
        });
    });

    // Save the editor's text locally (debounced), then push it soon after.
    let save = move || {
        let generation = save_gen.get_value() + 1;
        save_gen.set_value(generation);
        set_saved_label.set("Saving…".into());
        set_timeout(
            move || {
                if save_gen.get_value() != generation {
                    return;
                }
                let (t, c, id) = (
                    title.get_untracked(),
                    content.get_untracked(),
                    selected.get_untracked(),
                );
                if id.is_none() && creating.get_value() {
                    return; // the note is being created; the next keystroke saves it
                }
                creating.set_value(id.is_none());
                spawn_local(async move {
                    let result = browser::save_note(id.clone(), &t, &c).await;
                    creating.set_value(false);
                    match result {
                        Ok(new_id) => {
                            if id.is_none() {
                                set_selected.set(Some(new_id));
                            }
                            set_saved_label.set("Saved on this device".into());
                            browser::local_change();
                            refresh();
                        }
                        Err(e) => set_saved_label.set(format!("Not saved: {e}")),
                    }
                });
            },
            SAVE_DEBOUNCE,
        );
    };

    let open = move |n: &NoteView| {
        set_history.set(None);
        set_selected.set(Some(n.id.clone()));
        set_title.set(n.title.clone());
        set_content.set(n.content.clone());
        set_saved_label.set(String::new());
    };
    let new_note = move |_| {
        set_selected.set(None);
        set_title.set(String::new());
        set_content.set(String::new());
        set_saved_label.set(String::new());
        focus("note-title");
    };
    let delete = move |_| {
        let Some(id) = selected.get_untracked() else {
            return;
        };
        let (t, c) = (title.get_untracked(), content.get_untracked());
        spawn_local(async move {
            if let Err(e) = browser::delete_note(&id).await {
                set_saved_label.set(format!("Not deleted: {e}"));
                return;
            }
            set_undo.set(Some((id, t, c)));
            set_selected.set(None);
            set_title.set(String::new());
            set_content.set(String::new());
            set_saved_label.set(String::new());
            browser::local_change();
            refresh();
        });
    };
    let undo_delete = move |_| {
        let Some((id, t, c)) = undo.get_untracked() else {
            return;
        };
        spawn_local(async move {
            if browser::restore_note(&id, &t, &c).await.is_ok() {
                set_undo.set(None);
                set_selected.set(Some(id));
                set_title.set(t);
                set_content.set(c);
                browser::local_change();
                refresh();
            }
        });
    };

    // The open note as the local store has it (sync state, conflict, strategy).
    let current = move || {
        let id = selected.get()?;
        snap.with(|s| s.notes.iter().find(|n| n.id == id).cloned())
    };
    // After a local change that should reach the server soon.
    let changed = move || {
        browser::local_change();
        refresh();
    };
    // Resolves the open note's conflict with one version (a delete removes the note).
    let resolve = move |t: String, c: String, deleted: bool| {
        let Some(id) = selected.get_untracked() else {
            return;
        };
        spawn_local(async move {
            match browser::resolve_note(&id, &t, &c, deleted).await {
                Ok(()) => {
                    if deleted {
                        set_selected.set(None);
                        set_title.set(String::new());
                        set_content.set(String::new());
                    } else {
                        set_title.set(t);
                        set_content.set(c);
                    }
                    set_saved_label.set("Saved on this device".into());
                    changed();
                }
                Err(e) => set_saved_label.set(format!("Not saved: {e}")),
            }
        });
    };
    let set_note_strategy = move |value: String| {
        let Some(id) = selected.get_untracked() else {
            return;
        };
        let Ok(value) = value.parse::<browser::Strategy>() else {
            return;
        };
        spawn_local(async move {
            match browser::set_strategy(&id, value).await {
                Ok(()) => changed(),
                Err(e) => set_saved_label.set(format!("Not saved: {e}")),
            }
        });
    };
    let show_history = move |_| {
        let Some(id) = selected.get_untracked() else {
            return;
        };
        spawn_local(async move { set_history.set(Some(browser::history(&id).await)) });
    };
    let restore_revision = move |t: String, c: String| {
        let Some(id) = selected.get_untracked() else {
            return;
        };
        spawn_local(async move {
            match browser::restore_note(&id, &t, &c).await {
                Ok(()) => {
                    set_title.set(t);
                    set_content.set(c);
                    set_history.set(None);
                    set_saved_label.set("Restored; saved on this device".into());
                    changed();
                }
                Err(e) => set_saved_label.set(format!("Not restored: {e}")),
            }
        });
    };

    let account = move |action: &'static str| {
        let (u, p) = (username.get_untracked(), password.get_untracked());
        spawn_local(async move {
            match browser::account(action, &u, &p).await {
                Ok(name) => {
                    set_password.set(String::new());
                    set_user.set(Some(name));
                    set_message.set(String::new());
                    browser::trigger(browser::Trigger::SignedIn);
                }
                Err(e) => set_message.set(e),
            }
        });
    };
    let sign_out = move |_| {
        spawn_local(async move {
            browser::sign_out().await;
            browser::trigger(browser::Trigger::SignedOut);
            set_user.set(None);
            set_message.set("Signed out. Notes stay on this device.".into());
        });
    };

    // The notes matching the search; only the first `limit` are rendered, so a list of
    // thousands stays fast.
    let matching = Memo::new(move |_| {
        let q = query.get().to_lowercase();
        snap.with(|s| {
            s.notes
                .iter()
                .filter(|n| {
                    q.is_empty()
                        || n.title.to_lowercase().contains(&q)
                        || n.content.to_lowercase().contains(&q)
                })
                .cloned()
                .collect::<Vec<_>>()
        })
    });
    let visible =
        move || matching.with(|m| m.iter().take(limit.get()).cloned().collect::<Vec<_>>());
    let total = move || matching.with(Vec::len);
    let online = move || status.with(|s| s.online);
    let syncing = move || status.with(|s| s.running);
    let shown_error = move || {
        last_error.get().or_else(|| {
            status.with(|s| {
                // Signed out is not a failure to show: the account form asks to sign in.
                s.last_error
                    .as_ref()
                    .filter(|e| e.kind != browser::FailureKind::SignedOut)
                    .map(|e| e.message.clone())
            })
        })
    };
    let status_line = move || {
        let mut parts = vec![if online() { "Online" } else { "Offline" }.to_string()];
        if syncing() {
            parts.push("syncing…".into());
        }
        let unsynced = snap.get().unsynced;
        parts.push(format!("{unsynced} pending"));
        if let Some(t) = status.with(|s| s.last_synced_ms) {
            parts.push(format!("last synced {}", browser::time_label(t)));
        }
        parts.join(" · ")
    };

    view! {
        <main data-ready=move || ready.get().to_string()>
            <pwa::PwaBanner/>
            <header>
                <h1>"Tern"</h1>
                <p class="status" role="status" data-testid="status"
                   data-online=move || online().to_string()
                   data-syncing=move || syncing().to_string()>
                    {status_line}
                </p>
                <Show when=move || user.get().is_some()>
                    <span class="who" data-testid="user">
                        {move || format!("Signed in as {}", user.get().unwrap_or_default())}
                    </span>
                    <button type="button" on:click=move |_| sync_now()>"Sync now"</button>
                    <button type="button" on:click=sign_out>"Sign out"</button>
                </Show>
            </header>
            <Show when=move || shown_error().is_some()>
                <p class="error" role="alert" data-testid="error">
                    {move || format!("Sync failed: {}", shown_error().unwrap_or_default())}
                </p>
            </Show>
            <Show when=move || !message.get().is_empty()>
                <p class="message" data-testid="message">{move || message.get()}</p>
            </Show>
            <Show when=move || user.get().is_none()>
                <form class="account" on:submit=move |ev: leptos::ev::SubmitEvent| {
                    ev.prevent_default();
                    account("signin");
                }>
                    <label for="username">"Username"</label>
                    <input id="username" autocomplete="username"
                        prop:value=move || username.get()
                        on:input=move |ev| set_username.set(event_target_value(&ev))/>
                    <label for="password">"Password"</label>
                    <input id="password" type="password" autocomplete="current-password"
                        prop:value=move || password.get()
                        on:input=move |ev| set_password.set(event_target_value(&ev))/>
                    <div class="row">
                        <button type="submit">"Sign in"</button>
                        <button type="button" on:click=move |_| account("signup")>
                            "Create account"
                        </button>
                    </div>
                </form>
            </Show>
            <Show when=move || undo.get().is_some()>
                <p class="undo" role="status">
                    "Note deleted. "
                    <button type="button" on:click=undo_delete>"Undo"</button>
                </p>
            </Show>
            <div class="layout">
                // Type-erased halves (`into_any`): one concrete view type for the whole page is
                // too deep for the compiler's release build.
                {view! {
                <section class="list" aria-label="Notes">
                    <div class="row">
                        <button type="button" on:click=new_note>"New note"</button>
                        <label class="visually-hidden" for="search">"Search notes"</label>
                        <input id="search" type="search" placeholder="Search"
                            prop:value=move || query.get()
                            on:input=move |ev| {
                                set_limit.set(LIST_PAGE);
                                set_query.set(event_target_value(&ev));
                            }/>
                    </div>
                    <ul class="notes" data-testid="notes" data-total=move || total().to_string()>
                        <For
                            each=visible
                            key=|n| (n.id.clone(), n.sync, n.title.clone(), n.content.clone())
                            children=move |n| {
                                let id = n.id.clone();
                                let is_selected = move || selected.get().as_deref() == Some(id.as_str());
                                let view_note = n.clone();
                                view! {
                                    <li class="note" data-id=n.id.clone() data-sync=n.sync.as_str()
                                        class:selected=is_selected>
                                        <button type="button" class="open"
                                            on:click=move |_| open(&view_note)>
                                            <h2>{if n.title.is_empty() { "Untitled".to_string() } else { n.title.clone() }}</h2>
                                            <p>{n.content.clone()}</p>
                                        </button>
                                        <span class="badge" title=n.reason.clone()>
                                            {if n.reason.is_empty() { n.sync.as_str().to_owned() } else { format!("{}: {}", n.sync.as_str(), n.reason) }}
                                        </span>
                                    </li>
                                }
                            }
                        />
                    </ul>
                    <Show when=move || { total() > limit.get() }>
                        <p class="more">
                            {move || format!("Showing {} of {} notes. ", limit.get(), total())}
                            <button type="button"
                                on:click=move |_| set_limit.update(|l| *l += LIST_PAGE)>
                                "Show more"
                            </button>
                        </p>
                    </Show>
                </section>
                }.into_any()}
                {view! {
                <form class="editor" on:submit=|ev: leptos::ev::SubmitEvent| ev.prevent_default()>
                    <label for="note-title">"Title"</label>
                    <input id="note-title" name="title"
                        prop:value=move || title.get()
                        on:input=move |ev| { set_title.set(event_target_value(&ev)); save(); }/>
                    <label for="note-content">"Note"</label>
                    <textarea id="note-content" name="content" rows="8"
                        prop:value=move || content.get()
                        on:input=move |ev| { set_content.set(event_target_value(&ev)); save(); }
                    ></textarea>
                    <div class="row">
                        <span class="saved" data-testid="saved" aria-live="polite">
                            {move || saved_label.get()}
                        </span>
                        <Show when=move || selected.get().is_some()>
                            <button type="button" on:click=show_history>"History"</button>
                            <button type="button" class="danger" on:click=delete>"Delete"</button>
                        </Show>
                    </div>
                    <Show when=move || selected.get().is_some()>
                        <label for="strategy">"When edited on two devices at once"</label>
                        <select id="strategy"
                            prop:value=move || current().map_or("default", |n| n.strategy.as_str())
                            on:change=move |ev| set_note_strategy(event_target_value(&ev))>
                            <option value="default">"Use the server's setting"</option>
                            <option value="lww">"Keep the newest edit"</option>
                            <option value="merge">"Merge the edits"</option>
                            <option value="manual">"Ask me"</option>
                        </select>
                    </Show>
                    {move || current().and_then(|n| n.conflict.clone().map(|c| (n, c))).map(|(n, c)| {
                        let (t0, c0) = (n.title.clone(), n.content.clone());
                        view! {
                            <section class="conflict" data-testid="conflict" aria-label="Conflicting versions">
                                <h2>"Edited on two devices at once"</h2>
                                <p>"Choose the version to keep, or edit the text above and keep that. "
                                   "The others stay in the note's history."</p>
                                <ul>
                                    <li class="version">
                                        <h3>"Shown version"</h3>
                                        <p class="version-title">{n.title.clone()}</p>
                                        <pre>{n.content.clone()}</pre>
                                        <button type="button"
                                            on:click=move |_| resolve(t0.clone(), c0.clone(), false)>
                                            "Keep this version"
                                        </button>
                                    </li>
                                    {c.versions.into_iter().map(|v| {
                                        let (t, b, d) = (v.title.clone(), v.content.clone(), v.deleted);
                                        view! {
                                            <li class="version">
                                                <h3>{if d { "Deleted on another device" } else { "Other version" }}</h3>
                                                <p class="version-title">{v.title}</p>
                                                <pre>{v.content}</pre>
                                                <button type="button"
                                                    on:click=move |_| resolve(t.clone(), b.clone(), d)>
                                                    {if d { "Delete the note" } else { "Keep this version" }}
                                                </button>
                                            </li>
                                        }
                                    }).collect_view()}
                                    {c.proposal.map(|p| {
                                        let (t, b) = (p.title.clone(), p.content.clone());
                                        view! {
                                            <li class="version">
                                                <h3>"Both edits merged"</h3>
                                                <p class="version-title">{p.title}</p>
                                                <pre>{p.content}</pre>
                                                <button type="button"
                                                    on:click=move |_| resolve(t.clone(), b.clone(), false)>
                                                    "Keep the merge"
                                                </button>
                                            </li>
                                        }
                                    })}
                                </ul>
                                <button type="button" on:click=move |_| {
                                    resolve(title.get_untracked(), content.get_untracked(), false)
                                }>"Keep the text in the editor"</button>
                            </section>
                        }
                        .into_any()
                    })}
                    {move || history.get().map(|h| match h {
                        Err(e) => view! { <p class="error" role="alert" data-testid="history-error">{e}</p> }.into_any(),
                        Ok(list) => view! {
                            <section class="history" data-testid="history" aria-label="History">
                                <h2>"History"</h2>
                                <Show when={let empty = list.is_empty(); move || empty}>
                                    <p>"No earlier versions of this note yet."</p>
                                </Show>
                                <ul>
                                    {list.into_iter().map(|r| {
                                        let (t, b) = (r.text.title.clone(), r.text.content.clone());
                                        let why = match r.reason {
                                            browser::RevisionReason::Deleted => "before it was deleted",
                                            browser::RevisionReason::Conflict => "from a conflict",
                                            browser::RevisionReason::Merged => "before a merge",
                                            browser::RevisionReason::Edited => "earlier version",
                                        };
                                        view! {
                                            <li class="revision">
                                                <h3>{format!("{} · {why}", r.saved)}</h3>
                                                <p class="version-title">{r.text.title}</p>
                                                <pre>{r.text.content}</pre>
                                                <button type="button"
                                                    on:click=move |_| restore_revision(t.clone(), b.clone())>
                                                    "Restore"
                                                </button>
                                            </li>
                                        }
                                    }).collect_view()}
                                </ul>
                                <button type="button" on:click=move |_| set_history.set(None)>"Close history"</button>
                            </section>
                        }.into_any(),
                    })}
                </form>
                }.into_any()}
            </div>
        </main>
    }
}

/// Moves keyboard focus to the element with `id` (browser only; nothing on the server).
fn focus(id: &str) {
    if let Some(el) = document().get_element_by_id(id) {
        if let Ok(f) = leptos::wasm_bindgen::JsCast::dyn_into::<leptos::web_sys::HtmlElement>(el) {
            let _ = f.focus();
        }
    }
}
