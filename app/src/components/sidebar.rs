//! The sidebar: "All notes", "Pinned", the notebooks (a tree, collapsible, with counts;
//! add, rename, add inside, delete), the tags (with counts; add, rename, delete) and
//! "Trash". On a wide screen it is the first of three panes; on a narrower one a drawer
//! (`ui.drawer`) opened from the header's button.
//!
//! Selecting an entry sets the search box's query (see [`crate::model::organize`]'s
//! filters); the entry whose query the box holds is highlighted, and a notebook or tag
//! renamed while chosen updates the query. Notes dragged from the
//! list onto a notebook move into it; onto a tag, they are tagged.

use std::collections::{BTreeSet, HashMap};

use leptos::prelude::*;

use crate::io;
use crate::model::organize::{Filter, filter_query, is_filter};
use crate::model::{LIST_PAGE, PageState, Pane, Selection, Ui, commands};

/// Deepest level of notebooks indented (deeper ones are shown at this indent; CSS rules
/// per level: the page's Content-Security-Policy allows no inline style).
const MAX_SHOWN_DEPTH: usize = 8;

/// What an inline name field of the sidebar is for.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Naming {
    /// A new notebook inside this one (`None`: at the top level).
    NewNotebook(Option<String>),
    /// A new tag.
    NewTag,
    /// A new name for this notebook or tag.
    Rename(String),
}

/// Shows the notes of `filter` (sets the search box's query).
fn select(app: PageState, ui: Ui, filter: &Filter) {
    app.query.set(filter_query(filter));
    app.limit.set(LIST_PAGE);
    app.selection.update(Selection::clear);
    app.refresh();
    ui.trash.set(false);
    ui.drawer.set(false);
    ui.pane.set(Pane::List);
}

/// A count beside an entry: none while unknown (the search index is being built, or it
/// does not count that filter yet) or zero.
fn count_view(n: Option<usize>) -> impl IntoView {
    n.filter(|n| *n > 0)
        .map(|n| view! { <span class="count" data-testid="entry-count">{n.to_string()}</span> })
}

/// The inline field that names a new notebook or tag, or renames one: Enter keeps the
/// name, Escape (or leaving it empty) drops it.
fn name_field(app: PageState, naming: RwSignal<Option<Naming>>, initial: String) -> impl IntoView {
    let draft = RwSignal::new(initial);
    let input = NodeRef::<leptos::html::Input>::new();
    Effect::new(move |_| {
        if let Some(el) = input.get() {
            let _ = el.focus();
            el.select();
        }
    });
    let done = move || {
        let name = draft.get_untracked();
        match naming.get_untracked() {
            Some(Naming::NewNotebook(parent)) => {
                commands::new_notebook(app, name, parent, Vec::new())
            }
            Some(Naming::NewTag) => commands::new_tag(app, name),
            Some(Naming::Rename(id)) => commands::rename(app, id, name),
            None => {}
        }
        naming.set(None);
    };
    let placeholder = move || match naming.get() {
        Some(Naming::NewTag) => "Tag name",
        Some(Naming::Rename(_)) => "New name",
        _ => "Notebook name",
    };
    view! {
        <form class="name-field" on:submit=move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            done();
        }>
            <input node_ref=input data-testid="name-field" aria-label=placeholder
                placeholder=placeholder
                prop:value=move || draft.get()
                on:input=move |ev| draft.set(event_target_value(&ev))
                on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                    if ev.key() == "Escape" {
                        ev.prevent_default();
                        naming.set(None);
                    }
                }
                on:blur=move |_| {
                    // (Chromium blurs a field it removes: after Enter, the field and its
                    // draft are gone already.)
                    if draft.try_get_untracked().is_some_and(|d| d.trim().is_empty()) {
                        naming.try_set(None);
                    }
                }/>
        </form>
    }
}

/// An entry's "⋯" menu: rename, add a notebook inside, move to the top level or into
/// another notebook, remove.
fn menu_view(
    app: PageState,
    id: String,
    name: String,
    tag: bool,
    nested: bool,
    // The sidebar's name field and open menu.
    (naming, menu): (RwSignal<Option<Naming>>, RwSignal<Option<String>>),
    // The notebooks it may move into: (id, path), none below itself.
    into: Vec<(String, String)>,
) -> impl IntoView {
    let (rid, aid, mid, did, vid) = (id.clone(), id.clone(), id.clone(), id.clone(), id);
    let what = if tag { "tag" } else { "notebook" };
    view! {
        <div class="entry-menu" role="group" aria-label=format!("{name}: {what}")>
            <button type="button" on:click=move |_| {
                menu.set(None);
                naming.set(Some(Naming::Rename(rid.clone())));
            }>"Rename"</button>
            {(!tag).then(|| view! {
                <button type="button" on:click=move |_| {
                    menu.set(None);
                    naming.set(Some(Naming::NewNotebook(Some(aid.clone()))));
                }>"Add a notebook inside"</button>
            })}
            {(!tag && nested).then(|| view! {
                <button type="button" on:click=move |_| {
                    menu.set(None);
                    commands::move_notebook(app, mid.clone(), None);
                }>"Move to the top level"</button>
            })}
            {(!tag && !into.is_empty()).then(|| view! {
                <label class="visually-hidden" for="notebook-move-into">"Move this notebook into"</label>
                <select id="notebook-move-into" data-testid="notebook-move-into" on:change=move |ev| {
                    let to = event_target_value(&ev);
                    if !to.is_empty() {
                        menu.set(None);
                        commands::move_notebook(app, vid.clone(), Some(to));
                    }
                }>
                    <option value="">"Move into…"</option>
                    {into.into_iter().map(|(id, path)| view! { <option value=id>{path}</option> }).collect_view()}
                </select>
            })}
            <button type="button" class="danger" on:click=move |_| {
                menu.set(None);
                commands::delete_record(app, did.clone());
            }>{format!("Remove {what}")}</button>
        </div>
    }
}

/// Whether `filter` is what the list shows (the entry is highlighted).
fn is_current(app: PageState, ui: Ui, filter: &Filter) -> bool {
    !ui.trash.get() && app.query.with(|q| is_filter(q, filter))
}

/// What the sidebar's rows share: the page, and the sidebar's own state.
#[derive(Clone, Copy)]
struct Rows {
    app: PageState,
    ui: Ui,
    /// The name field open, if any.
    naming: RwSignal<Option<Naming>>,
    /// The entry whose "⋯" menu is open.
    menu: RwSignal<Option<String>>,
    /// The entry a drag of notes is over.
    hover: RwSignal<Option<String>>,
    /// The notebooks collapsed.
    collapsed: RwSignal<BTreeSet<String>>,
    /// The notebook or tag chosen here, and the query it set.
    chosen: StoredValue<Option<(String, String)>>,
}

impl Rows {
    /// Shows the notes of entry `id` (filter `f`), and remembers it, so that the search box
    /// follows a rename.
    fn choose(self, id: &str, f: &Filter) {
        self.chosen
            .set_value(Some((id.to_owned(), filter_query(f))));
        select(self.app, self.ui, f);
    }

    /// Whether `id`'s menu is open (tracked).
    fn menu_open(self, id: &str) -> bool {
        self.menu.with(|m| m.as_deref() == Some(id))
    }

    /// Opens `id`'s menu, or closes it if open.
    fn toggle_menu(self, id: &str) {
        self.menu.update(|m| {
            *m = if m.as_deref() == Some(id) {
                None
            } else {
                Some(id.to_owned())
            }
        });
    }
}

/// One notebook of the tree as the sidebar shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct NotebookRow {
    id: String,
    name: String,
    /// Its path of names (`A/B`).
    path: String,
    /// Its filter (`notebook:"A/B"`).
    filter: Filter,
    depth: usize,
    /// Whether notebooks are inside it.
    children: bool,
    /// Whether it is inside another.
    nested: bool,
}

/// The notebooks shown, in the tree's order: those inside a collapsed one are not.
fn notebook_rows(
    o: &crate::model::organize::Organize,
    closed: &BTreeSet<String>,
) -> Vec<NotebookRow> {
    let mut hidden_below: Option<usize> = None;
    o.tree()
        .into_iter()
        .filter_map(|(depth, nb)| {
            match hidden_below {
                Some(d) if depth > d => return None,
                _ => hidden_below = None,
            }
            if closed.contains(&nb.id) {
                hidden_below = Some(depth);
            }
            Some(NotebookRow {
                id: nb.id.clone(),
                name: nb.name.clone(),
                path: o.path(&nb.id),
                filter: Filter::Notebook(o.path_names(&nb.id)),
                depth,
                children: o.has_children(&nb.id),
                nested: nb.parent.is_some(),
            })
        })
        .collect()
}

/// One tag as the sidebar shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct TagRow {
    id: String,
    name: String,
}

/// The rows of `list` by id, once per change of the list (each row reads its own).
fn by_id<T: Clone + PartialEq + Send + Sync + 'static>(
    list: Memo<Vec<T>>,
    id: fn(&T) -> &str,
) -> Memo<HashMap<String, T>> {
    Memo::new(move |_| list.with(|l| l.iter().map(|r| (id(r).to_owned(), r.clone())).collect()))
}

/// Row `id` as it is now in `rows` (kept as it last was while it leaves them).
fn row_now<T: Clone + PartialEq + Send + Sync + 'static>(
    rows: Memo<HashMap<String, T>>,
    id: String,
    first: T,
) -> Memo<T> {
    Memo::new(move |prev: Option<&T>| {
        rows.with(|r| r.get(&id).cloned())
            .or_else(|| prev.cloned())
            .unwrap_or_else(|| first.clone())
    })
}

/// What a notebook's row and a tag's row both show: the entry (or the field renaming it)
/// and the "⋯" button, with the state they read.
#[derive(Clone, Copy)]
struct Entry {
    rows: Rows,
    /// The record's id.
    id: StoredValue<String>,
    /// Its name (what a rename starts from).
    name: Memo<String>,
    /// The name as shown (`#name` for a tag).
    label: Memo<String>,
    /// What choosing it shows.
    filter: Memo<Filter>,
    /// Its live notes (none while unknown).
    count: Memo<Option<usize>>,
    /// Whether the name field renames it.
    renaming: Memo<bool>,
    /// Whether its menu is open.
    menu_open: Memo<bool>,
    /// Whether a drag of notes is over it.
    hovered: Memo<bool>,
}

impl Entry {
    fn new(
        rows: Rows,
        id: &str,
        name: Memo<String>,
        label: Memo<String>,
        filter: Memo<Filter>,
        // Its count among the search index's counts.
        count: fn(&crate::model::Counts, &str) -> Option<usize>,
    ) -> Self {
        let (app, naming, hover) = (rows.app, rows.naming, rows.hover);
        let id = StoredValue::new(id.to_owned());
        let count = Memo::new(move |_| {
            app.snap.with(|s| {
                s.counts
                    .as_ref()
                    .and_then(|c| id.with_value(|id| count(c, id)))
            })
        });
        Entry {
            rows,
            id,
            name,
            label,
            filter,
            count,
            renaming: Memo::new(move |_| {
                naming.with(|n| matches!(n, Some(Naming::Rename(r)) if id.with_value(|id| r == id)))
            }),
            menu_open: Memo::new(move |_| id.with_value(|id| rows.menu_open(id))),
            hovered: Memo::new(move |_| {
                hover.with(|h| id.with_value(|id| h.as_deref() == Some(id.as_str())))
            }),
        }
    }

    /// The entry: a click chooses it, a double click renames it (the name field then).
    fn view(self) -> impl IntoView {
        let Rows {
            app, ui, naming, ..
        } = self.rows;
        move || {
            if self.renaming.get() {
                return name_field(app, naming, self.name.get_untracked()).into_any();
            }
            let current = move || self.filter.with(|f| is_current(app, ui, f));
            view! {
                <button type="button" class="entry"
                    class:current=current
                    aria-current=move || current().then_some("true")
                    title="Double-click to rename"
                    on:click=move |_| self.id.with_value(|id| self.rows.choose(id, &self.filter.get_untracked()))
                    on:dblclick=move |_| naming.set(Some(Naming::Rename(self.id.get_value())))>
                    <span class="name">{move || self.label.get()}</span>
                    {move || count_view(self.count.get())}
                </button>
            }
            .into_any()
        }
    }

    /// A drag of notes over the row: taken when it carries notes.
    fn drag_over(self, ev: &leptos::ev::DragEvent) {
        if io::page::accept_drop(ev) {
            self.rows.hover.set(Some(self.id.get_value()));
        }
    }

    /// The drag left the row.
    fn drag_leave(self) {
        self.rows.hover.set(None);
    }

    /// The notes dropped on the row.
    fn dropped(self, ev: &leptos::ev::DragEvent) -> Vec<String> {
        self.rows.hover.set(None);
        io::page::dragged_notes(ev)
    }

    /// The "⋯" button, which opens and closes its menu.
    fn more(self) -> impl IntoView {
        view! {
            <button type="button" class="more" aria-label=move || format!("More for {}", self.label.get())
                aria-expanded=move || self.menu_open.get().to_string()
                on:click=move |_| self.id.with_value(|id| self.rows.toggle_menu(id))>"⋯"</button>
        }
    }
}

/// A notebook of the tree: its twisty (when notebooks are inside it), its entry (or the
/// field renaming it), its "⋯" button and menu, and the field naming a notebook inside it.
/// The row lives as long as the notebook is shown: its menu, a collapse, a count or a drag
/// over another row change what it shows, not the row, so the keyboard's focus stays where
/// it is.
#[component]
fn NotebookEntry(
    rows: Rows,
    list: Memo<HashMap<String, NotebookRow>>,
    first: NotebookRow,
) -> impl IntoView {
    let Rows {
        app,
        naming,
        collapsed,
        ..
    } = rows;
    let id = first.id.clone();
    let row = row_now(list, id.clone(), first);
    let aid = id.clone();
    let adding_inside = Memo::new(move |_| {
        naming.with(|n| matches!(n, Some(Naming::NewNotebook(Some(p))) if p == &aid))
    });
    let kid = id.clone();
    let is_closed = Memo::new(move |_| collapsed.with(|c| c.contains(&kid)));
    let name = Memo::new(move |_| row.with(|r| r.name.clone()));
    let filter = Memo::new(move |_| row.with(|r| r.filter.clone()));
    let entry = Entry::new(rows, &id, name, name, filter, |c, id| {
        c.notebooks.get(id).copied()
    });
    let Entry {
        menu_open, hovered, ..
    } = entry;
    let (did, cid) = (id.clone(), id.clone());
    // What the open menu offers, followed while it is open (a notebook renamed, added or
    // moved by a sync): drawn again only when that changes.
    let offers = Memo::new(move |_| {
        menu_open.get().then(|| {
            let r = row.get();
            let into: Vec<(String, String)> = app.organize.with(|o| {
                let below = o.below(&r.id);
                let parent = o.notebook(&r.id).and_then(|n| n.parent.clone());
                o.tree()
                    .into_iter()
                    .filter(|(_, n)| {
                        !below.contains(&n.id) && parent.as_deref() != Some(n.id.as_str())
                    })
                    .map(|(_, n)| (n.id.clone(), o.path(&n.id)))
                    .collect()
            });
            (r.id, r.name, r.nested, into)
        })
    });
    let menu = move || {
        offers.get().map(|(id, name, nested, into)| {
            menu_view(app, id, name, false, nested, (naming, rows.menu), into)
        })
    };
    view! {
        <li class="notebook" data-id=id data-testid="notebook"
            data-path=move || row.with(|r| r.path.clone())
            data-depth=move || row.with(|r| r.depth.min(MAX_SHOWN_DEPTH).to_string())
            class:drop-hover=move || hovered.get()
            on:dragover=move |ev| entry.drag_over(&ev)
            on:dragleave=move |_| entry.drag_leave()
            on:drop=move |ev| commands::move_notes(app, entry.dropped(&ev), Some(did.clone()))>
            <div class="entry-row">
                <Show when=move || row.with(|r| r.children)>
                    <button type="button" class="twisty"
                        aria-label=move || format!("{} {}", if is_closed.get() { "Expand" } else { "Collapse" }, name.get())
                        aria-expanded=move || (!is_closed.get()).to_string()
                        on:click={
                            let cid = cid.clone();
                            move |_| collapsed.update(|c| {
                                if !c.remove(&cid) {
                                    c.insert(cid.clone());
                                }
                            })
                        }>
                        {move || if is_closed.get() { "▸" } else { "▾" }}
                    </button>
                </Show>
                {entry.view()}
                {entry.more()}
            </div>
            {menu}
            {move || adding_inside.get().then(|| view! {
                <div class="inside">{name_field(app, naming, String::new())}</div>
            })}
        </li>
    }
}

/// A tag: its entry (or the field renaming it), its "⋯" button and menu. Like
/// [`NotebookEntry`], the row lives as long as the tag is listed.
#[component]
fn TagEntry(rows: Rows, list: Memo<HashMap<String, TagRow>>, first: TagRow) -> impl IntoView {
    let Rows { app, naming, .. } = rows;
    let id = first.id.clone();
    let row = row_now(list, id.clone(), first);
    let name = Memo::new(move |_| row.with(|r| r.name.clone()));
    let label = Memo::new(move |_| format!("#{}", name.get()));
    let filter = Memo::new(move |_| Filter::Tag(name.get()));
    let entry = Entry::new(rows, &id, name, label, filter, |c, id| {
        c.tags.get(id).copied()
    });
    let Entry {
        menu_open, hovered, ..
    } = entry;
    let menu = move || {
        menu_open.get().then(|| {
            let r = row.get();
            menu_view(
                app,
                r.id,
                r.name,
                true,
                false,
                (naming, rows.menu),
                Vec::new(),
            )
        })
    };
    view! {
        <li class="tag" data-id=id data-testid="tag"
            class:drop-hover=move || hovered.get()
            on:dragover=move |ev| entry.drag_over(&ev)
            on:dragleave=move |_| entry.drag_leave()
            on:drop=move |ev| commands::tag_notes(app, entry.dropped(&ev), name.get_untracked())>
            <div class="entry-row">
                {entry.view()}
                {entry.more()}
            </div>
            {menu}
        </li>
    }
}

/// The sidebar, and the backdrop behind it while it is an open drawer.
#[component]
pub fn Sidebar() -> impl IntoView {
    let app = PageState::get();
    let ui = Ui::get();
    let naming: RwSignal<Option<Naming>> = RwSignal::new(None);
    let menu: RwSignal<Option<String>> = RwSignal::new(None);
    let collapsed: RwSignal<BTreeSet<String>> = RwSignal::new(BTreeSet::new());
    // The entry a drag of notes is over.
    let hover: RwSignal<Option<String>> = RwSignal::new(None);
    let current = move |f: &Filter| is_current(app, ui, f);
    // A notebook or tag chosen here and renamed (here or elsewhere) since, or a notebook
    // above it: the search box follows it while it holds that filter alone.
    let chosen: StoredValue<Option<(String, String)>> = StoredValue::new(None);
    Effect::new(move |_| {
        app.organize.track(); // (before any return: an effect that read nothing never runs again)
        let Some((id, query)) = chosen.get_value() else {
            return;
        };
        let now = app.organize.with(|o| {
            o.notebook(&id)
                .map(|_| Filter::Notebook(o.path_names(&id)))
                .or_else(|| o.tag(&id).map(|t| Filter::Tag(t.name.clone())))
                .map(|f| filter_query(&f))
        });
        if let Some(now) = now
            && now != query
            && app.query.get_untracked().trim() == query
        {
            chosen.set_value(Some((id, now.clone())));
            app.query.set(now);
            app.refresh();
        }
    });
    let rows = Rows {
        app,
        ui,
        naming,
        menu,
        hover,
        collapsed,
        chosen,
    };
    let notebooks = Memo::new(move |_| {
        let closed = collapsed.get();
        app.organize.with(|o| notebook_rows(o, &closed))
    });
    let notebook_rows = by_id(notebooks, |r| &r.id);
    let tags = Memo::new(move |_| {
        app.organize.with(|o| {
            o.tags
                .iter()
                .map(|t| TagRow {
                    id: t.id.clone(),
                    name: t.name.clone(),
                })
                .collect::<Vec<_>>()
        })
    });
    let tag_rows = by_id(tags, |t| &t.id);

    let entry =
        move |filter: Filter, label: &'static str, testid: &'static str, id: &'static str| {
            let f = filter.clone();
            let count = move || {
                app.snap.with(|s| {
                    s.counts.as_ref().map(|c| match f {
                        Filter::Pinned => c.pinned,
                        _ => c.all,
                    })
                })
            };
            let (on, aria) = (filter.clone(), filter.clone());
            view! {
                <button type="button" class="entry" id=id data-testid=testid
                    class:current=move || current(&on)
                    aria-current=move || current(&aria).then_some("true")
                    on:click={
                        let f = filter.clone();
                        move |_| select(app, ui, &f)
                    }>
                    <span class="name">{label}</span>
                    {move || count_view(count())}
                </button>
            }
        };

    view! {
        <aside class="sidebar" id="sidebar" data-testid="sidebar" aria-label="Notebooks and tags"
            data-open=move || ui.drawer.get().to_string()>
            <div class="sidebar-head">
                <span class="sidebar-title">"Tern"</span>
                <button type="button" class="drawer-close" aria-label="Close the sidebar"
                    on:click=move |_| ui.drawer.set(false)>"✕"</button>
            </div>
            <nav class="filters">
                {entry(Filter::All, "All notes", "filter-all", "sidebar-all")}
                {entry(Filter::Pinned, "Pinned", "filter-pinned", "sidebar-pinned")}
            </nav>
            <div class="group">
                <h2 class="group-head">
                    <span>"Notebooks"</span>
                    <button type="button" class="add" aria-label="Add notebook" data-testid="notebook-add"
                        title="Add notebook"
                        on:click=move |_| naming.set(Some(Naming::NewNotebook(None)))>"+"</button>
                </h2>
                <Show when=move || naming.get() == Some(Naming::NewNotebook(None))>
                    {name_field(app, naming, String::new())}
                </Show>
                <ul class="tree" data-testid="notebooks">
                    <For each=move || notebooks.get() key=|r| r.id.clone()
                        children=move |r| view! { <NotebookEntry rows list=notebook_rows first=r/> }/>
                </ul>
                <Show when=move || app.organize.with(|o| o.notebooks.is_empty())
                    && naming.get() != Some(Naming::NewNotebook(None))>
                    <p class="muted hint">"No notebooks yet."</p>
                </Show>
            </div>
            <div class="group">
                <h2 class="group-head">
                    <span>"Tags"</span>
                    <button type="button" class="add" aria-label="Add tag" data-testid="tag-add"
                        title="Add tag"
                        on:click=move |_| naming.set(Some(Naming::NewTag))>"+"</button>
                </h2>
                <Show when=move || naming.get() == Some(Naming::NewTag)>
                    {name_field(app, naming, String::new())}
                </Show>
                <ul class="tags" data-testid="tags">
                    <For each=move || tags.get() key=|t| t.id.clone()
                        children=move |t| view! { <TagEntry rows list=tag_rows first=t/> }/>
                </ul>
                <Show when=move || app.organize.with(|o| o.tags.is_empty())
                    && naming.get() != Some(Naming::NewTag)>
                    <p class="muted hint">"No tags yet."</p>
                </Show>
            </div>
            <nav class="filters bottom">
                <button type="button" class="entry" data-testid="filter-trash"
                    class:current=move || ui.trash.get()
                    aria-current=move || ui.trash.get().then_some("true")
                    aria-expanded=move || ui.trash.get().to_string()
                    on:click=move |_| {
                        ui.trash.update(|t| *t = !*t);
                        ui.drawer.set(false);
                    }>
                    <span class="name">"Trash"</span>
                </button>
            </nav>
        </aside>
        <div class="backdrop" data-open=move || ui.drawer.get().to_string()
            on:click=move |_| ui.drawer.set(false)></div>
    }
}
