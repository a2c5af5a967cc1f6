//! The list of notes with search, "New note", "Show more", and "Undo" after a delete.
//!
//! The list shows one page of notes read by the store's list index; scrolling near its end,
//! or "Show more", reads one page more. A row shows the start of the body (see
//! [`NoteView::snippet`]), so a page costs the same whatever the notes hold. The search asks the in-memory search index (see `client::search`) for
//! one page of results; the counts come from counters (the store's note counter, the
//! outbox's count, the search's total), not from reading notes.

use leptos::prelude::*;
use leptos::task::spawn_local;
use sync_core::Text;

use crate::browser::{self, NoteView};
use crate::state::AppState;
use crate::ui::{Pane, Ui};

/// Notes rendered at a time in the list (scrolling or "Show more" renders the next page):
/// a few screens' worth, so that what a start, a search or a sync's re-read renders is
/// about what is on the screen.
pub const LIST_PAGE: usize = 50;

/// One note of the list.
#[component]
fn NoteItem(note: NoteView) -> impl IntoView {
    let app = AppState::get();
    let ui = Ui::get();
    let id = note.id.clone();
    let selected = Memo::new(move |_| app.editor.open.get().as_deref() == Some(id.as_str()));
    let badge = if note.reason.is_empty() {
        note.sync.as_str().to_owned()
    } else {
        format!("{}: {}", note.sync.as_str(), note.reason)
    };
    let (open_id, text) = (note.id.clone(), note.text());
    let open = move |_| {
        app.editor.open_listed(app, open_id.clone(), text.clone());
        ui.pane.set(Pane::Editor);
    };
    view! {
        <li class="note" data-id=note.id.clone() data-sync=note.sync.as_str() class:selected=move || selected.get()>
            <button type="button" class="open" on:click=open aria-current=move || selected.get().then_some("true")>
                <h2>{if note.title.is_empty() { "Untitled".to_owned() } else { note.title.clone() }}</h2>
                <p>{note.snippet().to_owned()}</p>
            </button>
            <span class="badge" title=note.reason.clone()>{badge}</span>
        </li>
    }
}

/// The notes (one page at a time, newest first), or the search's results (title matches
/// first, then newest). Both are read from the local store's indexes by
/// [`AppState::refresh`]; nothing here holds every note.
#[component]
pub fn NoteList() -> impl IntoView {
    let app = AppState::get();
    let ui = Ui::get();
    let visible = move || app.snap.with(|s| s.notes.clone());
    let total = move || app.snap.with(|s| s.total);
    let shown = move || app.snap.with(|s| s.notes.len());
    let searching = move || !app.query.with(|q| q.trim().is_empty());
    let new_note = move |_| new_note(app, ui);
    let more = move || {
        app.limit.update(|l| *l += LIST_PAGE);
        app.refresh();
    };
    let more_ref = NodeRef::<leptos::html::P>::new();
    // Near the end of the list, the next page; only once the page asked for last is shown
    // (a read under way has not grown the list yet).
    sight::load_on_sight(more_ref, move || {
        let (shown, total) = app.snap.with_untracked(|s| (s.notes.len(), s.total));
        if shown < total && shown >= app.limit.get_untracked() {
            more();
        }
    });

    view! {
        <section class="list" aria-label="Notes">
            <div class="row">
                <button type="button" on:click=new_note>"New note"</button>
                <label class="visually-hidden" for="search">"Search notes"</label>
                <input id="search" type="search" placeholder="Search"
                    prop:value=move || app.query.get()
                    on:input=move |ev| {
                        app.limit.set(LIST_PAGE);
                        app.query.set(event_target_value(&ev));
                        app.refresh();
                    }/>
            </div>
            <p class="count" data-testid="count">
                {move || {
                    let n = total();
                    let noun = if n == 1 { "note" } else { "notes" };
                    if searching() {
                        format!("{n} matching {noun}")
                    } else {
                        format!("{n} {noun}")
                    }
                }}
                <Show when=move || searching() && app.snap.with(|s| s.indexing)>
                    " (still indexing your notes for search…)"
                </Show>
            </p>
            <ul class="notes" data-testid="notes" data-total=move || total().to_string()
                data-page=LIST_PAGE.to_string()
                data-indexing=move || app.snap.with(|s| s.indexing).to_string()>
                <For
                    each=visible
                    key=|n| (n.id.clone(), n.sync, n.title.clone(), n.snippet().to_owned())
                    children=move |n| view! { <NoteItem note=n/> }
                />
            </ul>
            <Show when=move || { total() > shown() }>
                <p class="more" node_ref=more_ref>
                    {move || format!("Showing {} of {} notes. ", shown(), total())}
                    <button type="button" on:click=move |_| more()>"Show more"</button>
                </p>
            </Show>
        </section>
    }
}

/// "New note": the editor shows an empty note at once, with the focus in its title (the
/// open note's last keystrokes are saved behind it), so every key typed next is the new
/// note's.
pub fn new_note(app: AppState, ui: Ui) {
    ui.pane.set(Pane::Editor);
    ui.preview.set(false);
    app.editor.new_note(app);
    app.history.set(None);
    focus("note-title");
}

/// Brings the last deleted note back ("Undo").
pub fn undo_delete(app: AppState) {
    let Some((id, text)) = app.undo.get_untracked() else {
        return;
    };
    spawn_local(async move {
        if browser::restore_note(&id, &text).await.is_ok() {
            app.undo.set(None);
            app.editor.load(app, Some(id), Text::clone(&text));
            app.changed();
        }
    });
}

/// "Note deleted. Undo", after a delete here.
#[component]
pub fn UndoDelete() -> impl IntoView {
    let app = AppState::get();
    let undo = move |_| undo_delete(app);
    view! {
        <Show when=move || app.undo.get().is_some()>
            <p class="undo" role="status">
                "Note deleted. "
                <button type="button" on:click=undo>"Undo"</button>
            </p>
        </Show>
    }
}

/// Moves keyboard focus to the element with `id` (browser only; nothing on the server).
pub fn focus(id: &str) {
    if let Some(el) = document().get_element_by_id(id)
        && let Ok(f) = leptos::wasm_bindgen::JsCast::dyn_into::<leptos::web_sys::HtmlElement>(el)
    {
        let _ = f.focus();
    }
}

/// "Show more" by scrolling: an `IntersectionObserver` on the "Show more" line.
mod sight {
    use leptos::prelude::*;

    /// Calls `more` whenever the element of `node` comes within 600 px of the screen, and
    /// again after each read of the store while it stays there (the observer reports at
    /// once when asked to observe anew).
    #[cfg(feature = "hydrate")]
    pub fn load_on_sight(node: NodeRef<leptos::html::P>, more: impl Fn() + 'static) {
        use leptos::wasm_bindgen::{JsCast, closure::Closure};
        use leptos::web_sys::{
            IntersectionObserver, IntersectionObserverEntry, IntersectionObserverInit,
        };

        let app = crate::state::AppState::get();
        let cb = Closure::<dyn Fn(js_sys::Array)>::new(move |entries: js_sys::Array| {
            let seen = entries.iter().any(|e| {
                e.unchecked_into::<IntersectionObserverEntry>()
                    .is_intersecting()
            });
            if seen {
                more();
            }
        });
        let init = IntersectionObserverInit::new();
        init.set_root_margin("600px");
        let Ok(observer) =
            IntersectionObserver::new_with_options(cb.as_ref().unchecked_ref(), &init)
        else {
            return; // no observer: the button still works
        };
        let observer = StoredValue::new_local(Some((observer, cb)));
        Effect::new(move |_| {
            app.snap.track();
            if let Some(el) = node.get() {
                observer.with_value(|o| {
                    if let Some((o, _)) = o {
                        o.unobserve(&el);
                        o.observe(&el);
                    }
                });
            }
        });
        on_cleanup(move || {
            if let Some((o, _cb)) = observer.try_update_value(Option::take).flatten() {
                o.disconnect();
            }
        });
    }

    /// No scrolling on the server.
    #[cfg(not(feature = "hydrate"))]
    pub fn load_on_sight(_: NodeRef<leptos::html::P>, _: impl Fn() + 'static) {}
}
