//! Note commands several components (and the keyboard shortcuts) give: "New note",
//! "Delete" with its "Undo".

use leptos::prelude::*;
use leptos::task::spawn_local;
use sync_core::Text;

use super::editor::SaveLabel;
use super::{PageState, Pane, Ui};
use crate::io;

/// "New note": the editor shows an empty note at once, with the focus in its title (the
/// open note's last keystrokes are saved behind it), so every key typed next is the new
/// note's.
pub fn new_note(app: PageState, ui: Ui) {
    ui.pane.set(Pane::Editor);
    ui.preview.set(false);
    app.editor.new_note(app);
    app.history.set(None);
    io::page::focus("note-title");
}

/// Deletes the open note (after saving its last keystrokes), offering "Undo"; a phone goes
/// back to the list.
pub fn delete_open(app: PageState, ui: Ui) {
    let ed = app.editor;
    let Some(id) = ed.open.get_untracked() else {
        return;
    };
    spawn_local(async move {
        ed.settle(app).await;
        if ed.open.get_untracked().as_deref() != Some(id.as_str()) {
            return; // another note was opened meanwhile
        }
        if let Err(e) = io::notes::delete(&id).await {
            ed.label.set(SaveLabel::Failed(format!("Not deleted: {e}")));
            return;
        }
        // The text as it is now (with keys pressed while the delete was written) goes to
        // "Undo"; the model closes the note without saving or reviving it.
        app.undo.set(Some((id.clone(), ed.text())));
        ed.deleted_here(app, id);
        app.history.set(None);
        ui.pane.set(Pane::List);
        app.changed();
    });
}

/// Brings the last deleted note back ("Undo").
pub fn undo_delete(app: PageState) {
    let Some((id, text)) = app.undo.get_untracked() else {
        return;
    };
    spawn_local(async move {
        if io::notes::restore(&id, &text).await.is_ok() {
            app.undo.set(None);
            app.editor.load(app, Some(id), Text::clone(&text));
            app.changed();
        }
    });
}

/// Opens note `id`, followed from a link (the preview's, or "Linked from"); a note no longer
/// here is left alone.
pub fn open_linked(app: PageState, ui: Ui, id: String) {
    // The save generation before the read: a save landing meanwhile is newer than it.
    let read_at = app.editor.writes();
    spawn_local(async move {
        if let Some(text) = io::links::open(&id).await {
            app.editor.open_read(app, id, text, read_at);
            ui.pane.set(Pane::Editor);
        }
    });
}

/// Creates the note a link names but no note has: a new note titled `title`, open to type
/// (or opens it, if one was written since the preview looked).
pub fn create_linked(app: PageState, ui: Ui, title: String) {
    spawn_local(async move {
        let target = client::links::Target::Title(title.trim().to_owned());
        let found = io::links::resolve(vec![target]).await;
        if let Some((_, Some(n))) = found.into_iter().next() {
            return open_linked(app, ui, n.id);
        }
        new_note(app, ui);
        app.editor
            .input(app, client::editor::Field::Title, title.trim().to_owned());
        io::page::focus("note-content");
    });
}
