//! Keyboard shortcuts: the one table of them, the matcher and what each does (the
//! listener and the help overlay, `?`, are `components::keys`).
//!
//! Single keys, as in Gmail or GitHub, so they never fight the browser's own shortcuts
//! (Ctrl+N, Ctrl+F…) or the text being typed: they act only when no text field has the
//! focus. In a text field, Escape leaves it (the focus goes to the open note in the list),
//! and then the keys work. [`SHORTCUTS`] is the one table of them: the matcher and the
//! help overlay both read it.
//!
//! Everything is also reachable with Tab: the list's notes are buttons, and every control
//! is a button, a field or a checkbox with a visible focus style.

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::commands;
use super::{PageState, Pane, Selection, SettingsTab, Ui};
use crate::io;

/// What a shortcut does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Start a new note (the title field gets the focus).
    NewNote,
    /// Focus the search box.
    Search,
    /// Open the next note of the list.
    Next,
    /// Open the previous note of the list.
    Previous,
    /// Focus the open note's text.
    Edit,
    /// Show the rendered Markdown, or the text again.
    TogglePreview,
    /// Delete the open note (with Undo).
    Delete,
    /// Undo the last delete.
    Undo,
    /// Sync now.
    SyncNow,
    /// Open or close the sync activity (in the settings view).
    Activity,
    /// Pin or unpin the open note, or the selected ones.
    Pin,
    /// Move the note (or the selected ones) to a notebook: the notebook picker.
    Move,
    /// Tag the note (or the selected ones): the tag field.
    Tag,
    /// Select or unselect the open note (multi-select).
    Select,
    /// Select the next note too.
    SelectDown,
    /// Select the previous note too.
    SelectUp,
    /// The sidebar (on a narrow screen, its drawer opens).
    Sidebar,
    /// Open or close the settings view.
    Settings,
    /// Open the shortcuts overlay.
    Help,
    /// Leave a text field; on a phone, back to the list.
    Escape,
}

/// Every shortcut: the key (`KeyboardEvent.key`), how the overlay writes it, what it does.
pub const SHORTCUTS: &[(&str, &str, Action, &str)] = &[
    ("n", "n", Action::NewNote, "New note"),
    ("/", "/", Action::Search, "Search"),
    ("j", "j", Action::Next, "Next note"),
    ("k", "k", Action::Previous, "Previous note"),
    ("e", "e", Action::Edit, "Edit the note's text"),
    (
        "p",
        "p",
        Action::TogglePreview,
        "Preview Markdown / back to the text",
    ),
    ("#", "#", Action::Delete, "Delete the open note"),
    ("z", "z", Action::Undo, "Undo the delete"),
    ("s", "s", Action::SyncNow, "Sync now"),
    ("a", "a", Action::Activity, "Sync activity"),
    (
        "*",
        "*",
        Action::Pin,
        "Pin or unpin the note (or the selected notes)",
    ),
    (
        "m",
        "m",
        Action::Move,
        "Move the note (or the selected notes) to a notebook",
    ),
    (
        "t",
        "t",
        Action::Tag,
        "Tag the note (or the selected notes)",
    ),
    (
        "x",
        "x",
        Action::Select,
        "Select the open note (for several)",
    ),
    (
        "Shift+ArrowDown",
        "Shift+↓",
        Action::SelectDown,
        "Select the next note too",
    ),
    (
        "Shift+ArrowUp",
        "Shift+↑",
        Action::SelectUp,
        "Select the previous note too",
    ),
    (
        "g",
        "g",
        Action::Sidebar,
        "Go to the sidebar (notebooks, tags, trash)",
    ),
    (",", ",", Action::Settings, "Settings"),
    ("?", "?", Action::Help, "These shortcuts"),
    (
        "Escape",
        "Esc",
        Action::Escape,
        "Leave the text field; clear the selection; close settings; on a phone, back to the list",
    ),
];

/// The name [`SHORTCUTS`] gives a key press: `KeyboardEvent.key`, with `Shift+` before
/// an arrow key pressed with Shift (for other keys Shift makes the character: `?`, `*`).
pub fn key_name(key: &str, shift: bool) -> String {
    if shift && key.starts_with("Arrow") {
        format!("Shift+{key}")
    } else {
        key.to_owned()
    }
}

/// The action of a key press (its [`key_name`]): `key` as `KeyboardEvent.key`, `modified` when Ctrl, Alt or
/// Meta is held (those belong to the browser and the system), `typing` when a text field
/// has the focus (only Escape acts there).
pub fn action(key: &str, modified: bool, typing: bool) -> Option<Action> {
    if modified {
        return None;
    }
    let found = SHORTCUTS
        .iter()
        .find(|(k, ..)| *k == key)
        .map(|(_, _, a, _)| *a)?;
    (!typing || found == Action::Escape).then_some(found)
}

/// Runs `action`.
pub fn run(app: PageState, ui: Ui, action: Action) {
    let ed = app.editor;
    match action {
        Action::NewNote => commands::new_note(app, ui),
        Action::Search => {
            ui.pane.set(Pane::List);
            io::page::focus("search");
        }
        Action::Next | Action::Previous => {
            let open = ed.open.get_untracked();
            let notes = app.snap.with_untracked(|s| s.notes.clone());
            if notes.is_empty() {
                return;
            }
            let at = open
                .as_ref()
                .and_then(|id| notes.iter().position(|n| &n.id == id));
            let i = match (at, action) {
                (None, _) => 0,
                (Some(i), Action::Next) => (i + 1).min(notes.len() - 1),
                (Some(i), _) => i.saturating_sub(1),
            };
            let note = &notes[i];
            ed.open_listed(app, note.id.clone(), note.text());
            ui.pane.set(Pane::Editor);
            let id = note.id.clone();
            spawn_local(async move {
                // After the list redraws the selection.
                io::page::sleep_ms(0).await;
                io::page::focus_note(&id);
            });
        }
        Action::Edit => {
            if ui.preview.get_untracked() {
                ui.preview.set(false);
            }
            ui.pane.set(Pane::Editor);
            io::page::focus("note-content");
        }
        Action::TogglePreview => ui.preview.update(|p| *p = !*p),
        Action::Delete => {
            if ed.open.get_untracked().is_some() {
                commands::delete_open(app, ui);
            }
        }
        Action::Undo => commands::undo_delete(app),
        Action::SyncNow => app.syncer.now(),
        Action::Activity => {
            ui.drawer.set(false);
            ui.toggle_settings(SettingsTab::Activity)
        }
        Action::Settings => {
            ui.drawer.set(false);
            ui.settings.update(|s| {
                *s = match s {
                    Some(_) => None,
                    None => Some(SettingsTab::default()),
                }
            })
        }
        Action::Pin => commands::toggle_pins(app, commands::targets(app)),
        Action::Move | Action::Tag => {
            let several = app.selection.with_untracked(|s| !s.is_empty());
            let field = match (action, several) {
                (Action::Move, true) => "selection-move",
                (Action::Move, false) => "note-notebook",
                (_, true) => "selection-tag",
                (_, false) => "note-tag",
            };
            if !several {
                ui.pane.set(Pane::Editor);
            }
            io::page::focus(field);
        }
        Action::Select => {
            if let Some(id) = ed.open.get_untracked() {
                app.selection.update(|s| s.toggle(&[], None, &id));
            }
        }
        Action::SelectDown | Action::SelectUp => {
            let order: Vec<String> = app
                .snap
                .with_untracked(|s| s.notes.iter().map(|n| n.id.clone()).collect());
            let open = ed.open.get_untracked();
            let mut to = None;
            app.selection
                .update(|s| to = s.extend(&order, open.as_deref(), action == Action::SelectDown));
            if let Some(id) = to {
                io::page::focus_note(&id);
            }
        }
        Action::Sidebar => {
            ui.drawer.set(true);
            spawn_local(async move {
                // After the drawer is drawn.
                io::page::sleep_ms(0).await;
                io::page::focus("sidebar-all");
            });
        }
        Action::Help => ui.help.set(true),
        Action::Escape => {
            if io::page::leave_field() {
                if let Some(id) = ed.open.get_untracked() {
                    io::page::focus_note(&id);
                }
            } else if app.selection.with_untracked(|s| !s.is_empty()) {
                app.selection.update(Selection::clear);
            } else if ui.drawer.get_untracked() {
                ui.drawer.set(false);
            } else if ui.settings.get_untracked().is_some() {
                ui.settings.set(None);
            } else {
                ui.pane.set(Pane::List);
                if let Some(id) = ed.open.get_untracked() {
                    io::page::focus_note(&id);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_act_only_outside_text_fields_and_without_modifiers() {
        assert_eq!(action("n", false, false), Some(Action::NewNote));
        assert_eq!(action("n", false, true), None, "typing an n");
        assert_eq!(action("n", true, false), None, "Ctrl+N is the browser's");
        assert_eq!(action("Escape", false, true), Some(Action::Escape));
        assert_eq!(action("?", false, false), Some(Action::Help));
        assert_eq!(action("y", false, false), None);
        assert_eq!(
            action(&key_name("ArrowDown", true), false, false),
            Some(Action::SelectDown)
        );
        assert_eq!(action(&key_name("ArrowDown", false), false, false), None);
        assert_eq!(
            action(&key_name("*", true), false, false),
            Some(Action::Pin)
        );
    }

    #[test]
    fn every_shortcut_has_one_key() {
        for (i, (k, ..)) in SHORTCUTS.iter().enumerate() {
            assert!(SHORTCUTS[i + 1..].iter().all(|(o, ..)| o != k), "{k} twice");
        }
    }
}
