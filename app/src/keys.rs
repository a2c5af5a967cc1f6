//! Keyboard shortcuts and their help overlay (`?`).
//!
//! Single keys, as in Gmail or GitHub, so they never fight the browser's own shortcuts
//! (Ctrl+N, Ctrl+F…) or the text being typed: they act only when no text field has the
//! focus. In a text field, Escape leaves it (the focus goes to the open note in the list),
//! and then the keys work. [`SHORTCUTS`] is the one table of them: the matcher and the
//! help overlay both read it.
//!
//! Everything is also reachable with Tab: the list's notes are buttons, and every control
//! is a button, a field or a checkbox with a visible focus style.

use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::state::AppState;
use crate::ui::{Pane, Ui};

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
    /// Open or close the sync activity panel.
    Activity,
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
    ("?", "?", Action::Help, "These shortcuts"),
    (
        "Escape",
        "Esc",
        Action::Escape,
        "Leave the text field; on a phone, back to the list",
    ),
];

/// The action of a key press: `key` as `KeyboardEvent.key`, `modified` when Ctrl, Alt or
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
fn run(app: AppState, ui: Ui, action: Action) {
    let ed = app.editor;
    match action {
        Action::NewNote => crate::list::new_note(app, ui),
        Action::Search => {
            ui.pane.set(Pane::List);
            crate::list::focus("search");
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
                crate::browser::sleep_ms(0).await;
                imp::focus_note(&id);
            });
        }
        Action::Edit => {
            if ui.preview.get_untracked() {
                ui.preview.set(false);
            }
            ui.pane.set(Pane::Editor);
            crate::list::focus("note-content");
        }
        Action::TogglePreview => ui.preview.update(|p| *p = !*p),
        Action::Delete => {
            if ed.open.get_untracked().is_some() {
                crate::editor::delete_open(app, ui);
            }
        }
        Action::Undo => crate::list::undo_delete(app),
        Action::SyncNow => app.syncer.now(),
        Action::Activity => ui.activity_open.update(|o| *o = !*o),
        Action::Help => ui.help.set(true),
        Action::Escape => {
            if imp::leave_field() {
                if let Some(id) = ed.open.get_untracked() {
                    imp::focus_note(&id);
                }
            } else if ui.activity_open.get_untracked() {
                ui.activity_open.set(false);
            } else {
                ui.pane.set(Pane::List);
                if let Some(id) = ed.open.get_untracked() {
                    imp::focus_note(&id);
                }
            }
        }
    }
}

/// Listens for the shortcuts, and the overlay that lists them.
#[component]
pub fn Shortcuts() -> impl IntoView {
    let app = AppState::get();
    let ui = Ui::get();
    let dialog = NodeRef::<html::Dialog>::new();
    let _ = window_event_listener(leptos::ev::keydown, move |ev| {
        // The dialog itself says whether it is open: its `close` event (which clears
        // `ui.help`) is a task of its own, and browsers run input events first, so a key
        // pressed right after Esc can arrive while `ui.help` still says open.
        let overlay_open = dialog.get_untracked().is_some_and(|d| d.open());
        if ev.default_prevented() || ev.is_composing() || overlay_open {
            return; // the open overlay (a modal dialog) handles its own keys
        }
        let modified = ev.ctrl_key() || ev.alt_key() || ev.meta_key();
        if let Some(a) = action(&ev.key(), modified, imp::typing()) {
            ev.prevent_default();
            run(app, ui, a);
        }
    });
    // The overlay is a native modal dialog: it keeps the focus inside and closes on Escape.
    Effect::new(move |_| {
        let open = ui.help.get();
        if let Some(d) = dialog.get() {
            if open && !d.open() {
                let _ = d.show_modal();
            } else if !open && d.open() {
                d.close();
            }
        }
    });
    view! {
        <dialog class="help" node_ref=dialog aria-labelledby="help-title" data-testid="help"
            on:close=move |_| ui.help.set(false)>
            <h2 id="help-title">"Keyboard shortcuts"</h2>
            <p>"They work when no text field has the focus; Esc leaves a text field. \
                Tab reaches every control."</p>
            <table>
                <tbody>
                    {SHORTCUTS
                        .iter()
                        .map(|(_, shown, _, what)| view! {
                            <tr><td><kbd>{*shown}</kbd></td><td>{*what}</td></tr>
                        })
                        .collect_view()}
                </tbody>
            </table>
            <form method="dialog">
                <button type="submit" autofocus>"Close"</button>
            </form>
        </dialog>
    }
}

#[cfg(feature = "hydrate")]
mod imp {
    use wasm_bindgen::JsCast;

    fn active() -> Option<web_sys::Element> {
        web_sys::window()?.document()?.active_element()
    }

    /// A text field (or anything editable) has the focus: keys are text there.
    pub fn typing() -> bool {
        let Some(el) = active() else { return false };
        match el.tag_name().as_str() {
            "TEXTAREA" | "SELECT" => true,
            "INPUT" => {
                let t = el.get_attribute("type").unwrap_or_default();
                !matches!(t.as_str(), "checkbox" | "radio" | "button" | "submit")
            }
            _ => el
                .dyn_ref::<web_sys::HtmlElement>()
                .is_some_and(|h| h.is_content_editable()),
        }
    }

    /// Takes the focus out of a text field; true if there was one.
    pub fn leave_field() -> bool {
        if !typing() {
            return false;
        }
        if let Some(h) = active().and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok()) {
            let _ = h.blur();
        }
        true
    }

    /// Focuses the list's button of note `id`, if it is listed.
    pub fn focus_note(id: &str) {
        let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
            return;
        };
        let sel = format!("li.note[data-id=\"{}\"] button.open", id.replace('"', ""));
        if let Some(h) = doc
            .query_selector(&sel)
            .ok()
            .flatten()
            .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
        {
            let _ = h.focus();
        }
    }
}

#[cfg(not(feature = "hydrate"))]
mod imp {
    pub fn typing() -> bool {
        false
    }
    pub fn leave_field() -> bool {
        false
    }
    pub fn focus_note(_: &str) {}
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
        assert_eq!(action("x", false, false), None);
    }

    #[test]
    fn every_shortcut_has_one_key() {
        for (i, (k, ..)) in SHORTCUTS.iter().enumerate() {
            assert!(SHORTCUTS[i + 1..].iter().all(|(o, ..)| o != k), "{k} twice");
        }
    }
}
