//! The editor: title and text of the open note, saved as you type, never stale.
//!
//! The editor remembers its base (the text it last loaded or saved). Whenever the store is
//! read again ([`EditorState::fold_in`]) or a save returns, what the store holds is folded
//! into the editor by [`client::editor::fold`]: new text is shown at once, unsaved typing
//! is merged into it (caret kept), a true overlap becomes a conflict with both versions,
//! and a delete underneath is shown and offered back, never undone by a keystroke. Saves
//! run one at a time; keystrokes made while one runs (also while a new note is being
//! created) are saved by the next.

use client::editor::{Caret, Field, Fold, Stored, byte_to_utf16, fold, utf16_to_byte};
use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;
use sync_core::Text;

use crate::browser::{self, Saved};
use crate::state::AppState;
use crate::ui::{Pane, Ui};

use crate::SAVE_DEBOUNCE;

/// No text (a new note).
fn empty() -> Text {
    Text {
        title: String::new(),
        content: String::new(),
    }
}

/// What the save label says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum SaveLabel {
    /// Nothing to say (a note just opened).
    #[default]
    Quiet,
    /// Typing, or a save under way.
    Saving,
    /// Every keystroke is in the local store.
    Saved,
    /// Changes from elsewhere were merged into the typing.
    Merged,
    /// The typing overlapped changes from elsewhere: both versions are kept.
    Conflict,
    /// A version was restored.
    Restored,
    /// A failure, with its reason.
    Failed(String),
}

impl SaveLabel {
    fn text(&self) -> String {
        match self {
            Self::Quiet => String::new(),
            Self::Saving => "Saving…".into(),
            Self::Saved => "Saved on this device".into(),
            Self::Merged => "Merged with changes from elsewhere; saved on this device".into(),
            Self::Conflict => "Changed elsewhere while you typed: both versions kept".into(),
            Self::Restored => "Restored; saved on this device".into(),
            Self::Failed(e) => e.clone(),
        }
    }
}

/// The open note's editor.
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
    /// What the editor last loaded or saved.
    base: StoredValue<Text>,
    /// Bumped on each open/new/close: answers for an earlier note change nothing here.
    session: StoredValue<u64>,
    /// A save is running.
    saving: StoredValue<bool>,
    /// Keystrokes arrived while a save ran: save again after it.
    again: StoredValue<bool>,
    /// Debounce generation.
    debounce: StoredValue<u64>,
    /// Bumped at each save's start and end: a store read overlapping a save is stale.
    writes: StoredValue<u64>,
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
            base: StoredValue::new(empty()),
            session: StoredValue::new(0),
            saving: StoredValue::new(false),
            again: StoredValue::new(false),
            debounce: StoredValue::new(0),
            writes: StoredValue::new(0),
        }
    }

    /// Save generation, for [`AppState::refresh`].
    pub fn writes(self) -> u64 {
        self.writes.get_value()
    }

    fn text(self) -> Text {
        Text {
            title: self.title.get_untracked(),
            content: self.content.get_untracked(),
        }
    }

    fn dirty(self) -> bool {
        self.text() != self.base.get_value()
    }

    /// Shows `id` with `text` (after saving what the editor held).
    pub fn load(self, app: AppState, id: Option<String>, text: Text) {
        spawn_local(async move {
            self.settle(app).await;
            self.show(id, text);
            app.history.set(None);
        });
    }

    fn show(self, id: Option<String>, text: Text) {
        self.session.update_value(|s| *s += 1);
        self.debounce.update_value(|d| *d += 1);
        self.open.set(id);
        self.title.set(text.title.clone());
        self.content.set(text.content.clone());
        self.base.set_value(text);
        self.deleted.set(false);
        self.label.set(SaveLabel::Quiet);
    }

    /// Saves what the editor holds and waits until no save runs.
    pub async fn settle(self, app: AppState) {
        if self.dirty() && !self.deleted.get_untracked() {
            self.save(app);
        }
        while self.saving.get_value() {
            browser::sleep_ms(20).await;
        }
    }

    /// Closes the note (an empty new note), once the last keystrokes are saved.
    pub async fn close(self, app: AppState) {
        self.settle(app).await;
        self.show(None, empty());
    }

    /// A keystroke: save after a quiet moment.
    pub fn typed(self, app: AppState) {
        if self.deleted.get_untracked() {
            return; // nothing is saved over a delete; the banner offers the note back
        }
        self.label.set(SaveLabel::Saving);
        let generation = self.debounce.get_value() + 1;
        self.debounce.set_value(generation);
        set_timeout(
            move || {
                if self.debounce.get_value() == generation {
                    self.save(app);
                }
            },
            SAVE_DEBOUNCE,
        );
    }

    /// Saves the editor's text now (or right after the save that is running).
    pub fn save(self, app: AppState) {
        if self.saving.get_value() {
            self.again.set_value(true);
            return;
        }
        let (id, base, text) = (
            self.open.get_untracked(),
            self.base.get_value(),
            self.text(),
        );
        let nothing = match &id {
            Some(_) => text == base,
            None => text == empty(),
        };
        if nothing || self.deleted.get_untracked() {
            if self.label.get_untracked() == SaveLabel::Saving {
                self.label.set(SaveLabel::Saved);
            }
            return;
        }
        let session = self.session.get_value();
        self.saving.set_value(true);
        self.writes.update_value(|w| *w += 1);
        spawn_local(async move {
            let result = browser::save_draft(id, &base, &text).await;
            self.saving.set_value(false);
            self.writes.update_value(|w| *w += 1);
            if self.session.get_value() == session {
                self.saved(app, &text, result);
            }
            app.changed();
            if self.again.get_value() {
                self.again.set_value(false);
                self.save(app);
            }
        });
    }

    /// A save returned: `sent` is what it saved.
    fn saved(self, app: AppState, sent: &Text, result: Result<Saved, String>) {
        match result {
            Ok(Saved::Written { id, stored }) => {
                if self.open.get_untracked().is_none() {
                    self.open.set(Some(id));
                }
                // The store may hold `sent` merged with what arrived meanwhile; typing made
                // since the save began is folded into that.
                self.base.set_value(sent.clone());
                let merged = stored != *sent;
                self.apply(app, Stored::Live(&stored));
                if self.again.get_value() || self.dirty() {
                    self.label.set(SaveLabel::Saving);
                } else if merged {
                    self.label.set(SaveLabel::Merged);
                } else {
                    self.label.set(SaveLabel::Saved);
                }
            }
            Ok(Saved::Conflict { stored, .. }) => {
                self.base.set_value(stored);
                self.label.set(SaveLabel::Conflict);
            }
            Ok(Saved::Deleted) => self.apply(app, Stored::Deleted),
            Err(e) => self.label.set(SaveLabel::Failed(format!("Not saved: {e}"))),
        }
    }

    /// The store was read again: fold the open note, as it is there now, into the editor.
    pub fn fold_in(self, app: AppState) {
        if self.saving.get_value() {
            return; // the save's answer folds it in
        }
        let Some(id) = self.open.get_untracked() else {
            return;
        };
        let stored = app
            .snap
            .with_untracked(|s| s.stored(&id).map(|n| n.map(|n| n.text())));
        match &stored {
            Some(Some(t)) => self.apply(app, Stored::Live(t)),
            Some(None) => self.apply(app, Stored::Deleted),
            None => {} // read before the note was opened
        }
    }

    fn apply(self, app: AppState, stored: Stored<'_>) {
        if let (Stored::Live(t), true) = (stored, self.deleted.get_untracked()) {
            // Brought back (restored here or elsewhere): show it as it is now.
            self.deleted.set(false);
            self.base.set_value(t.clone());
            if !self.dirty() {
                return;
            }
        }
        match fold(&self.base.get_value(), &self.text(), self.caret(), stored) {
            Fold::Same => {}
            Fold::Show {
                text,
                caret,
                unsaved,
            } => {
                if let Stored::Live(t) = stored {
                    self.base.set_value(t.clone());
                }
                self.set_text(&text, caret);
                if unsaved {
                    self.label.set(SaveLabel::Merged);
                    self.save(app);
                }
            }
            // Saved now, against the base it was typed on: both versions are kept.
            Fold::Overlap { .. } => self.save(app),
            Fold::Deleted => {
                self.debounce.update_value(|d| *d += 1);
                self.deleted.set(true);
                self.label.set(SaveLabel::Quiet);
            }
        }
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
        if let Some(el) = self.title_ref.get_untracked() {
            el.set_value(&text.title);
        }
        if let Some(el) = self.content_ref.get_untracked() {
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
    pub fn restore(self, app: AppState) {
        let Some(id) = self.open.get_untracked() else {
            return;
        };
        let text = self.text();
        spawn_local(async move {
            match browser::restore_note(&id, &text).await {
                Ok(()) => {
                    self.base.set_value(text);
                    self.deleted.set(false);
                    self.label.set(SaveLabel::Restored);
                    app.changed();
                }
                Err(e) => self
                    .label
                    .set(SaveLabel::Failed(format!("Not restored: {e}"))),
            }
        });
    }

    /// Replaces the editor's text with a version the user chose (a resolution or a
    /// restored revision), already written to the store.
    pub fn chosen(self, text: Text, label: SaveLabel) {
        self.debounce.update_value(|d| *d += 1);
        self.set_text(&text, None);
        self.base.set_value(text);
        self.deleted.set(false);
        self.label.set(label);
    }
}

impl Default for EditorState {
    fn default() -> Self {
        Self::new()
    }
}

/// Deletes the open note (after saving its last keystrokes), offering "Undo"; a phone goes
/// back to the list.
pub fn delete_open(app: AppState, ui: Ui) {
    let ed = app.editor;
    let Some(id) = ed.open.get_untracked() else {
        return;
    };
    spawn_local(async move {
        ed.settle(app).await;
        let text = ed.text();
        if let Err(e) = browser::delete_note(&id).await {
            ed.label.set(SaveLabel::Failed(format!("Not deleted: {e}")));
            return;
        }
        app.undo.set(Some((id, text)));
        ed.show(None, empty());
        app.history.set(None);
        ui.pane.set(Pane::List);
        app.changed();
    });
}

/// The editor form: title, text (or its Markdown preview), save label, and the open note's
/// tools (history, delete, strategy), with the conflict and history panels below. On a
/// phone it is a screen of its own, with "Notes" to go back to the list.
#[component]
pub fn Editor() -> impl IntoView {
    let app = AppState::get();
    let ui = Ui::get();
    let ed = app.editor;
    let is_open = move || ed.open.get().is_some();
    let delete = move |_| delete_open(app, ui);
    let show_history = move |_| {
        let Some(id) = ed.open.get_untracked() else {
            return;
        };
        spawn_local(async move { app.history.set(Some(browser::history(&id).await)) });
    };

    view! {
        <form class="editor" aria-label="Note" on:submit=|ev: leptos::ev::SubmitEvent| ev.prevent_default()>
            <div class="row toolbar">
                <button type="button" class="back" on:click=move |_| ui.pane.set(Pane::List)>
                    "← Notes"
                </button>
                // On a phone the list's "New note" is on the other screen; one here too
                // (hidden on wide screens, where the list's is in view).
                <button type="button" class="phone-only" on:click=move |_| crate::list::new_note(app, ui)>
                    "New note"
                </button>
                <button type="button" class="preview-toggle" data-testid="preview-toggle"
                    aria-pressed=move || ui.preview.get().to_string()
                    on:click=move |_| ui.preview.update(|p| *p = !*p)>
                    {move || if ui.preview.get() { "Edit text" } else { "Preview" }}
                </button>
            </div>
            <Show when=move || ed.deleted.get()>
                <p class="deleted" role="alert" data-testid="deleted-underneath">
                    "This note was deleted on another device. Nothing you type here is saved "
                    "unless you bring it back. "
                    <button type="button" on:click=move |_| ed.restore(app)>"Restore"</button>
                </p>
            </Show>
            <label for="note-title">"Title"</label>
            <input id="note-title" name="title" node_ref=ed.title_ref
                readonly=move || ed.deleted.get()
                prop:value=move || ed.title.get()
                on:input=move |ev| { ed.title.set(event_target_value(&ev)); ed.typed(app); }/>
            <label for="note-content">"Note"</label>
            <textarea id="note-content" name="content" rows="8" node_ref=ed.content_ref
                readonly=move || ed.deleted.get() hidden=move || ui.preview.get()
                prop:value=move || ed.content.get()
                on:input=move |ev| { ed.content.set(event_target_value(&ev)); ed.typed(app); }
            ></textarea>
            <Show when=move || ui.preview.get()>
                <crate::markdown::Preview/>
            </Show>
            <div class="row">
                <span class="saved" data-testid="saved" aria-live="polite">
                    {move || ed.label.get().text()}
                </span>
                <Show when=move || is_open() && !ed.deleted.get()>
                    <button type="button" on:click=show_history>"History"</button>
                    <button type="button" class="danger" on:click=delete>"Delete"</button>
                </Show>
            </div>
            <Show when=move || is_open() && !ed.deleted.get()>
                <crate::conflict::StrategyPicker/>
            </Show>
            <crate::conflict::Conflict/>
            <crate::history::History/>
        </form>
    }
}
