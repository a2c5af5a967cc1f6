//! The list of notes with search, the sort selector, "New note", "Show more", the
//! multi-select's bar, and "Undo" after a delete.
//!
//! The list shows one page of notes read by the store's list index; scrolling near its end,
//! or "Show more", reads one page more. A row shows the start of the body (see
//! [`NoteView::snippet`]), so a page costs the same whatever the notes hold. The search asks the in-memory search index (see `client::search`) for
//! one page of results; the counts come from counters (the store's note counter, the
//! outbox's count, the search's total), not from reading notes.

use std::collections::HashMap;
use std::sync::Arc;

use leptos::prelude::*;

use crate::io::{self, FirstPage, FirstRow};
use crate::model::organize::{Organize, date_label};
use crate::model::{LIST_PAGE, NoteView, PageState, Pane, Selection, Sort, Ui, commands};

/// A row's date: when the note was created or last changed, as the list's sort says.
fn row_date(sort: Sort, note: &NoteView) -> String {
    let ms = match sort {
        Sort::Created => note.created_ms,
        _ => Some(note.modified_ms),
    };
    ms.map(|ms| {
        let now = io::page::now_ms();
        date_label(ms, now, io::page::utc_offset_minutes(ms))
    })
    .unwrap_or_default()
}

/// A row's place: its notebook's name, and its tags as `#a #b`.
fn row_place(o: &Organize, notebook: Option<&str>, tags: &[String]) -> (Option<String>, String) {
    let nb = notebook.and_then(|n| o.notebook(n)).map(|n| n.name.clone());
    let tags: Vec<String> = tags
        .iter()
        .filter_map(|t| o.tag(t))
        .map(|t| format!("#{}", t.name))
        .collect();
    (nb, tags.join(" "))
}

/// The list's count line: "12 notes", or "3 matching notes" while searching.
fn count_line(n: usize, searching: bool) -> String {
    let noun = if n == 1 { "note" } else { "notes" };
    if searching {
        format!("{n} matching {noun}")
    } else {
        format!("{n} {noun}")
    }
}

/// The list's first page as it shows now, for the next start's first paint (tracked: an
/// effect calling this runs again when the list changes).
pub fn first_page(app: PageState) -> FirstPage {
    let sort = app.sort.get();
    app.organize.with(|o| {
        app.snap.with(|s| {
            FirstPage {
                count: count_line(s.total, false),
                rows: s
                    .notes
                    .iter()
                    .take(FirstPage::ROWS)
                    .map(|n| {
                        let (notebook, tags) = row_place(o, n.notebook.as_deref(), &n.tags);
                        FirstRow {
                            id: n.id.clone(),
                            title: if n.title.is_empty() {
                                "Untitled".to_owned()
                            } else {
                                n.title.clone()
                            },
                            snippet: n.snippet().to_owned(),
                            date: row_date(sort, n),
                            pinned: n.pinned,
                            notebook: notebook.unwrap_or_default(),
                            tags,
                        }
                    })
                    .collect(),
            }
            .bounded()
        })
    })
}

/// The list's note ids, in its order.
fn listed(app: PageState) -> Vec<String> {
    app.snap
        .with_untracked(|s| s.notes.iter().map(|n| n.id.clone()).collect())
}

/// One note of the list: its title (a pin mark when pinned), the start of its body, its
/// date, notebook and tags. A click opens it; Ctrl/Cmd-click and Shift-click select
/// (see [`crate::model::Selection`]); it can be dragged onto a notebook of the sidebar.
#[component]
fn NoteItem(rows: Memo<Rows>, first: Arc<NoteView>) -> impl IntoView {
    let app = PageState::get();
    let ui = Ui::get();
    // The row lives as long as its note is listed, and shows the note as it is now: a row
    // made anew on each change (a sync state, a title) would take the keyboard's focus
    // with it.
    let id = first.id.clone();
    let row_id = id.clone();
    // (An `Arc` a row shares with the list's map: a snapshot copies each listed note once.)
    let note = Memo::new(move |prev: Option<&Arc<NoteView>>| {
        rows.with(|r| r.by_id.get(&row_id).cloned())
            .or_else(|| prev.cloned())
            .unwrap_or_else(|| first.clone())
    });
    let open_id = id.clone();
    let selected = Memo::new(move |_| app.editor.open.get().as_deref() == Some(open_id.as_str()));
    let check_id = id.clone();
    let checked = Memo::new(move |_| app.selection.with(|s| s.contains(&check_id)));
    let badge = move || {
        note.with(|n| {
            if n.reason.is_empty() {
                n.sync.as_str().to_owned()
            } else {
                format!("{}: {}", n.sync.as_str(), n.reason)
            }
        })
    };
    let open_id = id.clone();
    let open = move |ev: leptos::ev::MouseEvent| {
        let open = app.editor.open.get_untracked();
        if ev.ctrl_key() || ev.meta_key() {
            let order = listed(app);
            app.selection
                .update(|s| s.toggle(&order, open.as_deref(), &open_id));
            return;
        }
        if ev.shift_key() {
            let order = listed(app);
            app.selection
                .update(|s| s.range_to(&order, open.as_deref(), &open_id));
            return;
        }
        app.selection.update(Selection::clear);
        let text = note.with_untracked(|n| n.text());
        app.editor.open_listed(app, open_id.clone(), text);
        ui.pane.set(Pane::Editor);
    };
    let drag_id = id.clone();
    let drag = move |ev: leptos::ev::DragEvent| {
        // The selection moves together when the row dragged is in it.
        let ids = app.selection.with_untracked(|s| {
            if s.contains(&drag_id) {
                s.ids().to_vec()
            } else {
                vec![drag_id.clone()]
            }
        });
        io::page::start_drag(&ev, &ids);
    };
    let date = move || note.with(|n| row_date(app.sort.get(), n));
    let place = Memo::new(move |_| {
        note.with(|n| {
            app.organize
                .with(|o| row_place(o, n.notebook.as_deref(), &n.tags))
        })
    });
    let pinned = Memo::new(move |_| note.with(|n| n.pinned));
    let title = move || {
        note.with(|n| {
            if n.title.is_empty() {
                "Untitled".to_owned()
            } else {
                n.title.clone()
            }
        })
    };
    view! {
        <li class="note" data-id=id data-sync=move || note.with(|n| n.sync.as_str())
            data-pinned=move || pinned.get().to_string()
            class:selected=move || selected.get() class:checked=move || checked.get()
            aria-selected=move || checked.get().then_some("true")
            draggable="true" on:dragstart=drag on:dragend=|_| io::page::end_drag()>
            <button type="button" class="open" on:click=open aria-current=move || selected.get().then_some("true")>
                <h2>
                    {move || pinned.get().then(|| view! { <span class="pin-mark" title="Pinned" role="img" aria-label="Pinned">{pin_icon()}</span> })}
                    {title}
                </h2>
                <p>{move || note.with(|n| n.snippet().to_owned())}</p>
                <span class="meta" data-testid="note-row-meta">
                    <time>{date}</time>
                    {move || place.get().0.map(|n| view! { <span class="in-notebook">{n}</span> })}
                    {move || {
                        let t = place.get().1;
                        (!t.is_empty()).then(|| view! { <span class="row-tags">{t}</span> })
                    }}
                </span>
            </button>
            <span class="badge" title=move || note.with(|n| n.reason.clone())>{badge}</span>
        </li>
    }
}

/// The listed notes, once per snapshot: in the list's order, and by id for each row to read
/// its own note.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Rows {
    order: Vec<Arc<NoteView>>,
    by_id: HashMap<String, Arc<NoteView>>,
}

impl Rows {
    fn of(notes: &[NoteView]) -> Self {
        let order: Vec<Arc<NoteView>> = notes.iter().cloned().map(Arc::new).collect();
        let by_id = order.iter().map(|n| (n.id.clone(), n.clone())).collect();
        Self { order, by_id }
    }
}

/// The bar over the list while notes are selected: how many, and what to do with them.
#[component]
fn SelectionBar() -> impl IntoView {
    let app = PageState::get();
    let ui = Ui::get();
    let count = move || app.selection.with(|s| s.len());
    let ids = move || app.selection.with_untracked(|s| s.ids().to_vec());
    let tag = RwSignal::new(String::new());
    // The picker goes back to "Move to…" after each move (so the same notebook can be
    // picked again for other notes).
    let moves = RwSignal::new(0u32);
    let move_to = move |ev: leptos::ev::Event| {
        let v = event_target_value(&ev);
        match v.as_str() {
            "" => {}
            NO_NOTEBOOK => commands::move_notes(app, ids(), None),
            nb => commands::move_notes(app, ids(), Some(nb.to_owned())),
        }
        moves.update(|n| *n += 1);
    };
    let add_tag = move || {
        let name = tag.get_untracked();
        commands::tag_notes(app, ids(), name);
        tag.set(String::new());
    };
    view! {
        <Show when=move || { count() > 0 }>
            <div class="selection-bar" role="toolbar" aria-label="Selected notes"
                data-testid="selection-bar">
                <span class="selection-count" data-testid="selection-count">
                    {move || format!("{} selected", count())}
                </span>
                <label class="visually-hidden" for="selection-move">"Move the selected notes to"</label>
                <select id="selection-move" data-testid="selection-move"
                    prop:value=move || {
                        moves.track();
                        ""
                    }
                    on:change=move_to>
                    <option value="">"Move to…"</option>
                    // (Drawn again after a move: the chosen option goes, "Move to…" shows.)
                    {move || {
                        moves.track();
                        let notebooks = app.organize.with(|o| o.tree().into_iter().map(|(_, nb)| {
                            view! { <option value=nb.id.clone()>{o.path(&nb.id)}</option> }
                        }).collect_view());
                        view! {
                            <option value=NO_NOTEBOOK>"No notebook"</option>
                            {notebooks}
                        }
                    }}
                </select>
                <form class="selection-tag" on:submit=move |ev: leptos::ev::SubmitEvent| {
                    ev.prevent_default();
                    add_tag();
                }>
                    <label class="visually-hidden" for="selection-tag">"Tag the selected notes"</label>
                    <input id="selection-tag" data-testid="selection-tag" placeholder="Add tag…"
                        list="tag-names" autocomplete="off"
                        prop:value=move || tag.get()
                        on:input=move |ev| tag.set(event_target_value(&ev))/>
                </form>
                <button type="button" data-testid="selection-pin"
                    on:click=move |_| commands::toggle_pins(app, ids())>"Pin / unpin"</button>
                <button type="button" class="danger" data-testid="selection-delete"
                    on:click=move |_| commands::delete_selected(app, ui)>"Delete selected"</button>
                <button type="button" aria-label="Clear the selection"
                    on:click=move |_| app.selection.update(Selection::clear)>"✕"</button>
            </div>
        </Show>
    }
}

/// The pushpin's outline (`pin_icon`; the first-paint shell draws it too).
pub const PIN_PATH: &str =
    "M5 1h6v1.5l-1 .5v4l2.5 2.5V11H8.75v4L8 16l-.75-1v-4H3.5V9.5L6 7V3l-1-.5z";

/// A pushpin, drawn (an emoji needs a font the system may lack).
pub fn pin_icon() -> impl IntoView {
    view! {
        <svg class="pin-icon" viewBox="0 0 16 16" aria-hidden="true">
            <path d=PIN_PATH/>
        </svg>
    }
}

/// The `<select>` value of "No notebook" (no record id looks like it).
pub const NO_NOTEBOOK: &str = "-";

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
    let rows = Memo::new(move |_| app.snap.with(|s| Rows::of(&s.notes)));
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
        <section class="list" aria-label="Notes" data-testid="list">
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
            <div class="list-head">
            <p class="count" data-testid="count">
                {move || count_line(total(), searching())}
                <Show when=move || {
                    (searching() || app.sort.get() != Sort::Modified) && app.snap.with(|s| s.indexing)
                }>
                    " (still indexing your notes for search…)"
                </Show>
            </p>
            <SortSelect/>
            </div>
            <SelectionBar/>
            <datalist id="tag-names">
                {move || app.organize.with(|o| o.tags.iter().map(|t| view! {
                    <option value=t.name.clone()></option>
                }).collect_view())}
            </datalist>
            <ul class="notes" data-testid="notes" data-total=move || total().to_string()
                data-query=move || app.snap.with(|s| s.query.clone())
                data-page=LIST_PAGE.to_string()
                data-indexing=move || app.snap.with(|s| s.indexing).to_string()
                data-counts=move || app.snap.with(|s| s.counts.as_ref().map(counts_label))>
                <For
                    each=move || rows.with(|r| r.order.clone())
                    key=|n| n.id.clone()
                    children=move |n| view! { <NoteItem rows first=n/> }
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

/// "Note deleted. Undo" (or "3 notes deleted."), after a delete here.
#[component]
pub fn UndoDelete() -> impl IntoView {
    let app = PageState::get();
    let undo = move |_| commands::undo_delete(app);
    view! {
        <Show when=move || app.undo.with(|u| !u.is_empty())>
            <p class="undo" role="status">
                {move || match app.undo.with(Vec::len) {
                    1 => "Note deleted. ".to_owned(),
                    n => format!("{n} notes deleted. "),
                }}
                <button type="button" on:click=undo>"Undo"</button>
            </p>
        </Show>
    }
}
