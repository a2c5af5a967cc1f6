//! The editor's state: title and text of the open note, saved as you type, never stale
//! (the form is `components::editor`).
//!
//! Everything the editor decides is made by one pure state machine,
//! [`client::editor::EditorModel`] (tested natively under random interleavings): this
//! module only feeds it events (a keystroke, the debounce timer, a save's answer, a click
//! on a note, "New note", a read of the store, a resolution, "Restore") and carries out
//! what it answers ([`Effect`]: write the fields, start the debounce or a failed save's
//! retry timer, run a save in the local store (a revive of a note deleted underneath
//! typing: `Notes::revive_editor`), restore a note, show a notice). The signals here mirror
//! the model for the components. What it needs of the page around it (a message, the
//! list's last read, "the store changed") it asks through [`EditorHost`], which the page
//! state implements: the page state owns the editor, and the editor never names it.
//!
//! Opening the note that is open changes nothing; opening another note or "New note"
//! switches at once (keystrokes that follow land in the new note) and the model hands the
//! text not yet saved to a save of its own note.

use client::editor::{
    Caret, EditorModel, Effect, Event, Field, SaveResult, byte_to_utf16, utf16_to_byte,
};
use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;
use sync_core::Text;

use super::copy;
use crate::io::{self, SAVE_DEBOUNCE, Saved};

pub use client::editor::SaveLabel;

/// What the editor needs of the page around it: the page state that owns the editor
/// ([`super::PageState`]) implements it, so the editor never names the page state.
pub trait EditorHost: Copy + 'static {
    /// A save or a restore changed the local store: other tabs, the list and the sync
    /// hear of it.
    fn changed(self);
    /// A message for the user.
    fn notice(self, message: String);
    /// Another note is shown: the history panel of the last one closes.
    fn close_history(self);
    /// [`EditorState::writes`] when the read the list shows began.
    fn list_read_at(self) -> u64;
    /// The text of note `id` as the last read of the store found it: `Some(None)` if
    /// deleted, `None` if that read did not read it.
    fn stored(self, id: &str) -> Option<Option<Text>>;
}

/// The open note's editor: the model and the signals the components read.
#[derive(Clone, Copy)]
pub struct EditorState {
    /// The open note (`None`: a new note, created by its first save).
    pub open: RwSignal<Option<String>>,
    /// The title field.
    pub title: RwSignal<String>,
    /// The text field.
    pub content: RwSignal<String>,
    /// The save label.
    pub label: RwSignal<SaveLabel>,
    /// The note was deleted underneath (another device or tab).
    pub deleted: RwSignal<bool>,
    /// The title input.
    pub title_ref: NodeRef<html::Input>,
    /// The text area.
    pub content_ref: NodeRef<html::Textarea>,
    /// The editor itself.
    model: StoredValue<EditorModel>,
}

impl std::fmt::Debug for EditorState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EditorState").finish_non_exhaustive()
    }
}

impl EditorState {
    /// An empty editor (a new note).
    pub fn new() -> Self {
        Self {
            open: RwSignal::new(None),
            title: RwSignal::new(String::new()),
            content: RwSignal::new(String::new()),
            label: RwSignal::new(SaveLabel::Quiet),
            deleted: RwSignal::new(false),
            title_ref: NodeRef::new(),
            content_ref: NodeRef::new(),
            model: StoredValue::new(EditorModel::new()),
        }
    }

    /// Save generation ([`EditorModel::writes`]), for the page state's reads.
    pub fn writes(self) -> u64 {
        self.model.with_value(EditorModel::writes)
    }

    /// Feeds the model `event` and carries out what it answers.
    fn send<H: EditorHost>(self, app: H, event: Event) {
        let Some(effects) = self.model.try_update_value(|m| m.step(event)) else {
            return;
        };
        let (open, deleted, label) = self.model.with_value(|m| {
            (
                m.open_id().map(str::to_owned),
                m.deleted(),
                m.label().clone(),
            )
        });
        if self.open.get_untracked() != open {
            self.open.set(open);
        }
        if self.deleted.get_untracked() != deleted {
            self.deleted.set(deleted);
        }
        if self.label.get_untracked() != label {
            self.label.set(label);
        }
        for effect in effects {
            self.run(app, effect);
        }
    }

    fn run<H: EditorHost>(self, app: H, effect: Effect) {
        match effect {
            Effect::Show { text, caret } => self.set_text(&text, caret),
            Effect::Debounce(generation) => set_timeout(
                move || self.send(app, Event::DebounceFired(generation)),
                SAVE_DEBOUNCE,
            ),
            Effect::Save(save) => spawn_local(async move {
                let id = save.target.id().map(str::to_owned);
                let saved = io::notes::save_draft(id, &save.base, &save.text, save.revive).await;
                let result = match saved {
                    Ok(Saved::Written { id, stored }) => SaveResult::Written { id, stored },
                    Ok(Saved::Conflict { id, stored }) => SaveResult::Conflict { id, stored },
                    Ok(Saved::Deleted) => SaveResult::Deleted,
                    Err(e) => SaveResult::Failed(copy::storage_error(&e)),
                };
                let caret = self.caret();
                self.send(
                    app,
                    Event::Saved {
                        ticket: save.ticket,
                        result,
                        caret,
                    },
                );
                app.changed();
            }),
            Effect::Retry {
                generation,
                after_ms,
            } => set_timeout(
                move || self.send(app, Event::RetryFired(generation)),
                std::time::Duration::from_millis(after_ms),
            ),
            Effect::Restore { id, text } => spawn_local(async move {
                let result = io::notes::restore(&id, &text).await;
                let ok = result.is_ok();
                self.send(app, Event::Restored { id, text, result });
                if ok {
                    app.changed();
                }
            }),
            Effect::Notice(message) => app.notice(message),
        }
    }

    /// A keystroke (or paste, cut, drop, checklist toggle): the field's value now. Constant
    /// work besides the value itself: the model takes it and starts the debounce.
    pub fn input<H: EditorHost>(self, app: H, field: Field, value: String) {
        match field {
            Field::Title => self.title.set(value.clone()),
            Field::Content => self.content.set(value.clone()),
        }
        self.send(app, Event::Input { field, value });
    }

    /// Opens note `id`, shown in the list with `text` as the read the list shows made it
    /// (the open note: nothing changes).
    pub fn open_listed<H: EditorHost>(self, app: H, id: String, text: Text) {
        let read_at = app.list_read_at();
        self.send(app, Event::Open { id, text, read_at });
        app.close_history();
    }

    /// Opens note `id`, just written with `text` (a shared note, an undone delete).
    pub fn load<H: EditorHost>(self, app: H, id: Option<String>, text: Text) {
        match id {
            Some(id) => {
                let read_at = self.writes();
                self.send(app, Event::Open { id, text, read_at });
            }
            None => self.send(app, Event::New),
        }
        app.close_history();
    }

    /// Opens note `id` with `text`, read from the store after save generation `read_at`
    /// ([`Self::writes`]): a save of it landing since is newer than the text.
    pub fn open_read<H: EditorHost>(self, app: H, id: String, text: Text, read_at: u64) {
        self.send(app, Event::Open { id, text, read_at });
        app.close_history();
    }

    /// "New note": an empty note at once, the open note's last keystrokes saved behind it.
    pub fn new_note<H: EditorHost>(self, app: H) {
        self.send(app, Event::New);
    }

    /// Saves what the editor holds and waits until every save has landed (or the store
    /// failed: the label says so, and the saves stay queued for their retry).
    pub async fn settle<H: EditorHost>(self, app: H) {
        self.send(app, Event::Flush);
        loop {
            let (idle, failed, waiting) = self.model.with_value(|m| {
                (
                    m.idle(),
                    m.retrying() && m.running().is_none(),
                    m.running().is_none() && m.dirty(),
                )
            });
            if idle || failed {
                return;
            }
            if waiting {
                self.send(app, Event::Flush);
            }
            io::page::sleep_ms(20).await;
        }
    }

    /// Every save has landed: nothing typed waits in the editor (a save the store refused
    /// stays queued and is retried until this holds).
    pub fn all_saved(self) -> bool {
        self.model.with_value(|m| m.idle())
    }

    /// The open note `id` was deleted here: the editor closes it without saving or
    /// reviving it.
    pub fn deleted_here<H: EditorHost>(self, app: H, id: String) {
        self.send(app, Event::DeletedHere { id });
    }

    /// The text the editor holds now.
    pub fn text(self) -> Text {
        self.model.with_value(|m| m.text().clone())
    }

    /// Closes the note (an empty new note), once the last keystrokes are saved.
    pub async fn close<H: EditorHost>(self, app: H) {
        self.settle(app).await;
        self.send(app, Event::New);
    }

    /// The store was read (when [`Self::writes`] was `read_at`): the open note, as the read
    /// found it, is folded into the editor.
    pub fn fold_in<H: EditorHost>(self, app: H, read_at: u64) {
        let Some(id) = self.open.get_untracked() else {
            return;
        };
        let Some(stored) = app.stored(&id) else {
            return; // read before the note was opened
        };
        let caret = self.caret();
        self.send(
            app,
            Event::Stored {
                id,
                stored,
                caret,
                read_at,
            },
        );
    }

    /// The selection, if an editor field has the focus.
    fn caret(self) -> Option<Caret> {
        let active = document().active_element()?;
        let (field, start, end) = if active.id() == "note-content" {
            let el = self.content_ref.get_untracked()?;
            (
                Field::Content,
                el.selection_start().ok()??,
                el.selection_end().ok()??,
            )
        } else if active.id() == "note-title" {
            let el = self.title_ref.get_untracked()?;
            (
                Field::Title,
                el.selection_start().ok()??,
                el.selection_end().ok()??,
            )
        } else {
            return None;
        };
        let text = match field {
            Field::Title => self.title.get_untracked(),
            Field::Content => self.content.get_untracked(),
        };
        Some(Caret {
            field,
            start: utf16_to_byte(&text, start as usize),
            end: utf16_to_byte(&text, end as usize),
        })
    }

    /// Shows `text`, the caret where `caret` says (the DOM is written at once, so the
    /// user's next keystroke lands in the new text).
    fn set_text(self, text: &Text, caret: Option<Caret>) {
        if let Some(el) = self.title_ref.get_untracked()
            && el.value() != text.title
        {
            el.set_value(&text.title);
        }
        if let Some(el) = self.content_ref.get_untracked()
            && el.value() != text.content
        {
            el.set_value(&text.content);
        }
        self.title.set(text.title.clone());
        self.content.set(text.content.clone());
        if let Some(c) = caret {
            let (s, e) = match c.field {
                Field::Title => (
                    byte_to_utf16(&text.title, c.start),
                    byte_to_utf16(&text.title, c.end),
                ),
                Field::Content => (
                    byte_to_utf16(&text.content, c.start),
                    byte_to_utf16(&text.content, c.end),
                ),
            };
            let _ = match c.field {
                Field::Title => self
                    .title_ref
                    .get_untracked()
                    .map(|el| el.set_selection_range(s as u32, e as u32)),
                Field::Content => self
                    .content_ref
                    .get_untracked()
                    .map(|el| el.set_selection_range(s as u32, e as u32)),
            };
        }
    }

    /// Brings a note deleted underneath back, with the text the editor shows.
    pub fn restore<H: EditorHost>(self, app: H) {
        self.send(app, Event::Restore);
    }

    /// Note `id` now holds a version the user chose (a resolution or a restored revision),
    /// already written to the store: the editor shows it (typing made meanwhile is merged
    /// into it).
    pub fn chosen<H: EditorHost>(self, app: H, id: String, text: Text, label: SaveLabel) {
        let caret = self.caret();
        self.send(
            app,
            Event::Chosen {
                id,
                text,
                label,
                caret,
            },
        );
    }
}

impl Default for EditorState {
    fn default() -> Self {
        Self::new()
    }
}
