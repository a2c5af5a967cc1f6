//! Links between notes in the editor ([`client::links`]): the completion list shown while a
//! `[[link]]` is typed, and the notes that link to the open one.

use client::editor::Field;
use client::editor::{byte_to_utf16, utf16_to_byte};
use client::links::{link_text, typing};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::io::{self, LinkedNote};
use crate::model::{PageState, Ui, commands};

/// Notes offered at a time while a link is typed.
const SUGGESTIONS: usize = 8;
/// Notes listed under "Linked from" at most.
const BACKLINKS: usize = 50;

/// The state of the link completion of the open note's text.
#[derive(Clone, Copy, Debug)]
pub struct Completion {
    /// The `[[` being completed (byte offset) and what was typed after it.
    query: RwSignal<Option<(usize, String)>>,
    /// The notes offered for it.
    items: RwSignal<Vec<LinkedNote>>,
    /// Which of them Enter picks.
    pick: RwSignal<usize>,
    /// The `[[` whose list Escape closed: not offered again until the caret leaves it.
    dismissed: RwSignal<Option<usize>>,
}

impl Completion {
    /// No link being typed.
    pub fn new() -> Self {
        Self {
            query: RwSignal::new(None),
            items: RwSignal::new(Vec::new()),
            pick: RwSignal::new(0),
            dismissed: RwSignal::new(None),
        }
    }

    fn open(self) -> bool {
        self.query.with_untracked(Option::is_some) && self.items.with_untracked(|i| !i.is_empty())
    }

    fn close(self) {
        self.query.set(None);
        self.items.set(Vec::new());
    }

    /// The `[[` before the caret and what follows it, in the text as it is now (`None` on
    /// a note that cannot be edited).
    fn typed(self) -> Option<(usize, String)> {
        let ed = PageState::get().editor;
        if ed.deleted.get_untracked() {
            return None;
        }
        let caret = ed.content_ref.get_untracked()?.selection_start().ok()??;
        // The editor's copy of the text (the field's is the same after its input event),
        // not a copy of the field's value at each key.
        ed.content.with_untracked(|text| {
            let caret = utf16_to_byte(text, caret as usize);
            typing(&text[..caret]).map(|(at, q)| (at, q.to_owned()))
        })
    }

    /// Looks at the text before the caret (after an input, a click, a caret move): a `[[`
    /// not closed yet opens the list, with the notes whose titles have what follows it.
    pub fn update(self) {
        let ed = PageState::get().editor;
        let mut found = self.typed();
        match (&found, self.dismissed.get_untracked()) {
            (Some((at, _)), Some(d)) if *at == d => found = None,
            (Some(_), Some(_)) | (None, _) => self.dismissed.set(None),
            _ => {}
        }
        if found == self.query.get_untracked() {
            return;
        }
        self.query.set(found.clone());
        self.pick.set(0);
        let Some((_, q)) = found else {
            self.items.set(Vec::new());
            return;
        };
        let except = ed.open.get_untracked();
        spawn_local(async move {
            let items = io::links::suggest(&q, except, SUGGESTIONS).await;
            // Only the answer to what is typed now is shown.
            if self
                .query
                .with_untracked(|now| now.as_ref().map(|n| &n.1) == Some(&q))
            {
                self.items.set(items);
            }
        });
    }

    /// The keys of the list while it is open: Up and Down choose, Enter and Tab take the
    /// note, Escape closes it. Other keys go to the text.
    pub fn key(self, ev: &leptos::ev::KeyboardEvent) {
        if !self.open() || ev.is_composing() {
            return;
        }
        let n = self.items.with_untracked(Vec::len);
        match ev.key().as_str() {
            "ArrowDown" => self.pick.update(|p| *p = (*p + 1) % n),
            "ArrowUp" => self.pick.update(|p| *p = (*p + n - 1) % n),
            "Enter" | "Tab" => {
                let note = self
                    .items
                    .with_untracked(|i| i.get(self.pick.get_untracked()).cloned());
                if let Some(note) = note {
                    self.insert(&note);
                }
            }
            "Escape" => {
                self.dismissed
                    .set(self.query.get_untracked().map(|(at, _)| at));
                self.close();
            }
            _ => return,
        }
        ev.prevent_default();
        ev.stop_propagation();
    }

    /// Replaces the `[[` being typed (and what follows it up to the caret), as the text is
    /// now, by a link to `note`, the caret after it. Typed into the text as an edit of the
    /// browser's (undoable, and the editor hears it as any input).
    fn insert(self, note: &LinkedNote) {
        let ed = PageState::get().editor;
        let (Some((at, _)), Some(el)) = (self.typed(), ed.content_ref.get_untracked()) else {
            self.close();
            return;
        };
        let text = el.value();
        let Some(caret) = el.selection_start().ok().flatten() else {
            return;
        };
        let link = link_text(&sync_core::NoteId(note.id.clone()), &note.title);
        let from = byte_to_utf16(&text, at) as u32;
        if el.set_selection_range(from, caret).is_ok() && io::page::type_text(&link) {
            self.close();
            return;
        }
        // The browser would not type it: write the text.
        let caret = utf16_to_byte(&text, caret as usize);
        let next = format!("{}{link}{}", &text[..at], &text[caret..]);
        let to = byte_to_utf16(&next, at + link.len()) as u32;
        el.set_value(&next);
        let _ = el.set_selection_range(to, to);
        ed.input(PageState::get(), Field::Content, next);
        self.close();
    }
}

impl Default for Completion {
    fn default() -> Self {
        Self::new()
    }
}

/// The notes offered while a link is typed, under the text.
#[component]
pub fn LinkSuggestions(completion: Completion) -> impl IntoView {
    let c = completion;
    view! {
        <Show when=move || c.query.with(Option::is_some) && c.items.with(|i| !i.is_empty())>
            <ul class="link-suggestions" role="listbox" data-testid="link-suggestions"
                aria-label="Link to a note">
                <For each=move || c.items.get().into_iter().enumerate()
                    key=|(i, n)| (*i, n.id.clone())
                    children=move |(i, n)| {
                        let note = n.clone();
                        view! {
                            <li role="option" aria-selected=move || (c.pick.get() == i).to_string()
                                data-id=n.id.clone()
                                // Not a click: the text keeps the focus and the caret.
                                on:mousedown=move |ev| {
                                    ev.prevent_default();
                                    c.insert(&note);
                                }>
                                {if n.title.trim().is_empty() { "Untitled".to_owned() } else { n.title.clone() }}
                            </li>
                        }
                    }/>
            </ul>
        </Show>
    }
}

/// "Linked from": the notes whose text links to the open note, each a button that opens it.
#[component]
pub fn Backlinks() -> impl IntoView {
    let app = PageState::get();
    let ui = Ui::get();
    let ed = app.editor;
    // Read when a note opens, when its title changes (title links) and after each sync
    // run (other devices' links), not at each save of the text typed here, which changes
    // no other note's links: each read searches and reads up to 400 notes.
    let key = Memo::new(move |_| (ed.open.get(), ed.title.get(), app.sync.with(|s| s.runs)));
    let found = LocalResource::new(move || {
        let (id, _, _) = key.get();
        async move {
            match id {
                Some(id) => io::links::backlinks(&id, BACKLINKS).await,
                None => Vec::new(),
            }
        }
    });
    let shown = move || found.get().map(|f| f.to_vec()).unwrap_or_default();
    view! {
        <Show when=move || !shown().is_empty()>
            <section class="backlinks" data-testid="backlinks" aria-label="Linked from">
                <h3>"Linked from"</h3>
                <ul>
                    <For each=shown key=|n| n.id.clone() children=move |n| {
                        let id = n.id.clone();
                        view! {
                            <li>
                                <button type="button" class="link" data-id=n.id.clone()
                                    on:click=move |_| commands::open_linked(app, ui, id.clone())>
                                    {if n.title.trim().is_empty() { "Untitled".to_owned() } else { n.title.clone() }}
                                </button>
                            </li>
                        }
                    }/>
                </ul>
            </section>
        </Show>
    }
}
