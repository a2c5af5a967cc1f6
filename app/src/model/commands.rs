//! Note commands several components (and the keyboard shortcuts) give: "New note",
//! "Delete" with its "Undo", and the organizing ones (notebooks, tags, pins), for the open
//! note or the notes selected in the list ([`targets`]).

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::editor::SaveLabel;
use super::{PageState, Pane, Selection, Ui};
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
        app.undo.set(vec![(id.clone(), ed.text())]);
        ed.deleted_here(app, id);
        app.history.set(None);
        ui.pane.set(Pane::List);
        app.changed();
    });
}

/// Brings the notes of the last delete back ("Undo"); the first of them opens.
pub fn undo_delete(app: PageState) {
    let notes = app.undo.get_untracked();
    let Some((first, first_text)) = notes.first().cloned() else {
        return;
    };
    spawn_local(async move {
        let mut failed = 0;
        for (id, text) in &notes {
            if io::notes::restore(id, text).await.is_err() {
                failed += 1;
            }
        }
        if failed > 0 {
            app.notice
                .set(format!("{failed} note(s) could not be brought back."));
        }
        app.undo.set(Vec::new());
        app.editor.load(app, Some(first), first_text);
        app.changed();
    });
}

/// The notes an organizing action applies to: the selected ones, else the open one.
pub fn targets(app: PageState) -> Vec<String> {
    let selected = app.selection.with_untracked(|s| s.ids().to_vec());
    if !selected.is_empty() {
        return selected;
    }
    app.editor.open.get_untracked().into_iter().collect()
}

/// After an organizing edit: the list and the editor bar show it, it syncs, and an error
/// says what was not done.
fn organized(app: PageState, result: Result<(), String>, what: &str, records: bool) {
    match result {
        Ok(()) => {
            app.changed();
            if records {
                app.refresh_records();
            }
        }
        Err(e) => app.notice.set(format!("{what}: {e}")),
    }
}

/// Moves the notes `ids` into `notebook` (`None`: out of every notebook).
pub fn move_notes(app: PageState, ids: Vec<String>, notebook: Option<String>) {
    if ids.is_empty() {
        return;
    }
    spawn_local(async move {
        let r = io::notes::set_notebook(&ids, notebook.as_deref()).await;
        organized(app, r, "Not moved", false);
    });
}

/// Creates a notebook named `name` inside `parent` and, if `ids` are given, moves those
/// notes into it.
pub fn new_notebook(app: PageState, name: String, parent: Option<String>, ids: Vec<String>) {
    let name = name.trim().to_owned();
    if name.is_empty() {
        return;
    }
    spawn_local(async move {
        let r = async {
            let nb = io::notes::create_notebook(&name, parent.as_deref()).await?;
            if !ids.is_empty() {
                io::notes::set_notebook(&ids, Some(&nb)).await?;
            }
            Ok(())
        }
        .await;
        organized(app, r, "Notebook not created", true);
    });
}

/// Renames a notebook or a tag.
pub fn rename(app: PageState, id: String, name: String) {
    let name = name.trim().to_owned();
    if name.is_empty() {
        return;
    }
    spawn_local(async move {
        let r = io::notes::rename(&id, &name).await;
        organized(app, r, "Not renamed", true);
    });
}

/// Moves notebook `id` into `parent` (`None`: to the top level).
pub fn move_notebook(app: PageState, id: String, parent: Option<String>) {
    spawn_local(async move {
        let r = io::notes::move_notebook(&id, parent.as_deref()).await;
        organized(app, r, "Notebook not moved", true);
    });
}

/// Deletes a notebook or a tag (its record goes to the trash; its notes stay, shown
/// without it, and get it back if it is restored).
pub fn delete_record(app: PageState, id: String) {
    spawn_local(async move {
        let r = io::notes::delete(&id).await;
        organized(app, r, "Not deleted", true);
    });
}

/// Tags the notes `ids` with the tag named `name`, created if there is none.
pub fn tag_notes(app: PageState, ids: Vec<String>, name: String) {
    let name = name.trim().to_owned();
    if name.is_empty() || ids.is_empty() {
        return;
    }
    let known = app
        .organize
        .with_untracked(|o| o.tag_named(&name).map(|t| t.id.clone()));
    spawn_local(async move {
        let created = known.is_none();
        let r = async {
            let tag = match known {
                Some(t) => t,
                None => io::notes::create_tag(&name).await?,
            };
            io::notes::add_tag(&ids, &tag).await
        }
        .await;
        organized(app, r, "Not tagged", created);
    });
}

/// Creates a tag (the sidebar's "Add tag").
pub fn new_tag(app: PageState, name: String) {
    let name = name.trim().to_owned();
    if name.is_empty()
        || app
            .organize
            .with_untracked(|o| o.tag_named(&name).is_some())
    {
        return;
    }
    spawn_local(async move {
        let r = io::notes::create_tag(&name).await.map(drop);
        organized(app, r, "Tag not created", true);
    });
}

/// Removes tag `tag` from note `id`.
pub fn untag(app: PageState, id: String, tag: String) {
    spawn_local(async move {
        let r = io::notes::remove_tag(&id, &tag).await;
        organized(app, r, "Tag not removed", false);
    });
}

/// Pins the notes `ids`, or unpins them when every one is pinned already.
pub fn toggle_pins(app: PageState, ids: Vec<String>) {
    if ids.is_empty() {
        return;
    }
    let all_pinned = app
        .snap
        .with_untracked(|s| ids.iter().all(|id| s.find(id).is_some_and(|n| n.pinned)));
    spawn_local(async move {
        let r = io::notes::set_pinned(&ids, !all_pinned).await;
        organized(app, r, "Not pinned", false);
    });
}

/// Deletes the selected notes (after saving the open note's last keystrokes), offering
/// one "Undo" for all of them.
pub fn delete_selected(app: PageState, ui: Ui) {
    let ids = app.selection.with_untracked(|s| s.ids().to_vec());
    if ids.is_empty() {
        return;
    }
    let ed = app.editor;
    spawn_local(async move {
        ed.settle(app).await;
        let open = ed.open.get_untracked();
        let mut undo = Vec::new();
        for id in &ids {
            // The text as shown: the editor's for the open note, else the list's.
            let text = if open.as_deref() == Some(id.as_str()) {
                Some(ed.text())
            } else {
                app.snap.with_untracked(|s| s.find(id).map(|n| n.text()))
            };
            match io::notes::delete(id).await {
                Ok(()) => undo.extend(text.map(|t| (id.clone(), t))),
                Err(e) => {
                    app.notice.set(format!("Not deleted: {e}"));
                    break;
                }
            }
        }
        if let Some(open) = open
            && ids.contains(&open)
        {
            ed.deleted_here(app, open);
            app.history.set(None);
            ui.pane.set(Pane::List);
        }
        app.selection.update(Selection::clear);
        app.undo.set(undo);
        app.changed();
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
