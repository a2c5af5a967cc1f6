//! The list of notes with search, "New note", "Show more", and "Undo" after a delete.
//!
//! The list shows one page of notes read by the store's list index; scrolling near its end,
//! or "Show more", reads one page more. A row shows the start of the body (see
//! [`NoteView::snippet`]), so a page costs the same whatever the notes hold. The search asks the in-memory search index (see `client::search`) for
//! one page of results; the counts come from counters (the store's note counter, the
//! outbox's count, the search's total), not from reading notes.

use leptos::prelude::*;

use crate::io;
use crate::model::{LIST_PAGE, NoteView, PageState, Pane, Sort, Ui, commands};

/// One note of the list.
#[component]
fn NoteItem(note: NoteView) -> impl IntoView {
    let app = PageState::get();
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

/// The list's order: last changed, created, or title (`<select data-testid=sort>`).
#[component]
pub fn SortSelect() -> impl IntoView {
    let app = PageState::get();
    let label = |s: Sort| match s {
        Sort::Modified => "Last changed",
        Sort::Created => "Created",
        Sort::Title => "Title",
    };
    view! {
        <label class="visually-hidden" for="sort">"Sort notes by"</label>
        <select id="sort" data-testid="sort"
            on:change=move |ev| app.set_sort(Sort::parse(&event_target_value(&ev)))>
            {Sort::ALL.into_iter().map(|s| view! {
                <option value=s.as_str() selected=move || app.sort.get() == s>{label(s)}</option>
            }).collect_view()}
        </select>
    }
}

/// The notes (one page at a time, newest first, or in the order chosen), or what the
/// search box asks for (words and filters; title matches first, then newest). Both are read from the local store's indexes by
/// [`PageState::refresh`]; nothing here holds every note.
#[component]
pub fn NoteList() -> impl IntoView {
    let app = PageState::get();
    let ui = Ui::get();
    let visible = move || app.snap.with(|s| s.notes.clone());
    let total = move || app.snap.with(|s| s.total);
    let shown = move || app.snap.with(|s| s.notes.len());
    let searching = move || !app.query.with(|q| q.trim().is_empty());
    let new_note = move |_| commands::new_note(app, ui);
    let more = move || {
        app.limit.update(|l| *l += LIST_PAGE);
        app.refresh();
    };
    let more_ref = NodeRef::<leptos::html::P>::new();
    // Near the end of the list, the next page; only once the page asked for last is shown
    // (a read under way has not grown the list yet).
    io::page::load_on_sight(
        more_ref,
        move || app.snap.track(),
        move || {
            let (shown, total) = app.snap.with_untracked(|s| (s.notes.len(), s.total));
            if shown < total && shown >= app.limit.get_untracked() {
                more();
            }
        },
    );

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
                <SortSelect/>
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
                <Show when=move || {
                    (searching() || app.sort.get() != Sort::Modified) && app.snap.with(|s| s.indexing)
                }>
                    " (still indexing your notes for search…)"
                </Show>
            </p>
            <ul class="notes" data-testid="notes" data-total=move || total().to_string()
                data-page=LIST_PAGE.to_string()
                data-indexing=move || app.snap.with(|s| s.indexing).to_string()
                data-counts=move || app.snap.with(|s| s.counts.as_ref().map(counts_label))>
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

/// The sidebar's counts as one attribute (`all:5 pinned:1 notebook:ID:2 tag:ID:3`, sorted),
/// for tests and tools: the sidebar shows them by name.
fn counts_label(c: &crate::model::Counts) -> String {
    let mut parts = vec![format!("all:{}", c.all), format!("pinned:{}", c.pinned)];
    let mut rest: Vec<String> = c
        .notebooks
        .iter()
        .map(|(id, n)| format!("notebook:{id}:{n}"))
        .chain(c.tags.iter().map(|(id, n)| format!("tag:{id}:{n}")))
        .collect();
    rest.sort();
    parts.extend(rest);
    parts.join(" ")
}

/// "Note deleted. Undo", after a delete here.
#[component]
pub fn UndoDelete() -> impl IntoView {
    let app = PageState::get();
    let undo = move |_| commands::undo_delete(app);
    view! {
        <Show when=move || app.undo.get().is_some()>
            <p class="undo" role="status">
                "Note deleted. "
                <button type="button" on:click=undo>"Undo"</button>
            </p>
        </Show>
    }
}
