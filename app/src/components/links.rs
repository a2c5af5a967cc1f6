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
}

impl Completion {
    /// No link being typed.
    pub fn new() -> Self {
        Self {
            query: RwSignal::new(None),
            items: RwSignal::new(Vec::new()),
            pick: RwSignal::new(0),
        }
    }

    fn open(self) -> bool {
        self.query.with_untracked(Option::is_some) && self.items.with_untracked(|i| !i.is_empty())
    }

    fn close(self) {
        self.query.set(None);
        self.items.set(Vec::new());
    }

    /// Looks at the text before the caret (after an input, a click, a caret move): a `[[`
    /// not closed yet opens the list, with the notes whose titles have what follows it.
    pub fn update(self) {
        let app = PageState::get();
        let ed = app.editor;
        let Some(el) = ed.content_ref.get_untracked() else {
            return;
        };
        let text = el.value();
        let caret = el
            .selection_start()
            .ok()
            .flatten()
            .map(|c| utf16_to_byte(&text, c as usize));
        let found = caret.and_then(|c| typing(&text[..c]).map(|(at, q)| (at, q.to_owned())));
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
        if !self.open() {
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
            "Escape" => self.close(),
            _ => return,
        }
        ev.prevent_default();
        ev.stop_propagation();
    }

    /// Replaces the `[[` being typed (and what follows it up to the caret) by a link to
    /// `note`, the caret after it.
    fn insert(self, note: &LinkedNote) {
        let app = PageState::get();
        let ed = app.editor;
        let (Some((at, _)), Some(el)) =
            (self.query.get_untracked(), ed.content_ref.get_untracked())
        else {
            return;
        };
        let text = el.value();
        let caret = el
            .selection_start()
            .ok()
            .flatten()
            .map_or(text.len(), |c| utf16_to_byte(&text, c as usize));
        if at > caret || !text.is_char_boundary(at) {
            return;
        }
        let link = link_text(&sync_core::NoteId(note.id.clone()), &note.title);
        let next = format!("{}{link}{}", &text[..at], &text[caret..]);
        let to = byte_to_utf16(&next, at + link.len()) as u32;
        el.set_value(&next);
        let _ = el.set_selection_range(to, to);
        ed.input(app, Field::Content, next);
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
    let found = LocalResource::new(move || {
        let id = ed.open.get();
        // Read again whenever the page re-reads the store (a save here, a sync).
        app.snap.track();
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
