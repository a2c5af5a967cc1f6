//! The keyboard shortcuts' listener and their help overlay (`?`); the table and the
//! actions are [`crate::model::keys`].

use leptos::html;
use leptos::prelude::*;

use crate::io;
use crate::model::keys::{SHORTCUTS, action, key_name, run};
use crate::model::take_over::Handoff;
use crate::model::{PageState, Ui};

/// Listens for the shortcuts, and the overlay that lists them.
#[component]
pub fn Shortcuts() -> impl IntoView {
    let app = PageState::get();
    let ui = Ui::get();
    let dialog = NodeRef::<html::Dialog>::new();
    let handoff = Handoff::get();
    let _ = window_event_listener(leptos::ev::keydown, move |ev| {
        // The app is still hidden behind the first-paint shell: its keys are not the
        // user's yet (`n` would start a note nobody sees, `?` open a hidden dialog).
        if handoff.is_some_and(|h| !h.0.with_untracked(|m| m.taken())) {
            return;
        }
        // The dialog itself says whether it is open: its `close` event (which clears
        // `ui.help`) is a task of its own, and browsers run input events first, so a key
        // pressed right after Esc can arrive while `ui.help` still says open.
        let overlay_open = dialog.get_untracked().is_some_and(|d| d.open());
        if ev.default_prevented() || ev.is_composing() || overlay_open {
            return; // the open overlay (a modal dialog) handles its own keys
        }
        let modified = ev.ctrl_key() || ev.alt_key() || ev.meta_key();
        let key = key_name(&ev.key(), ev.shift_key());
        if let Some(a) = action(&key, modified, io::page::typing()) {
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
