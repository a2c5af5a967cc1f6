//! The editor: title and text of the open note, saved as you type, never stale (the
//! state and its saves are [`crate::model::editor`]); its tools, and the conflict and
//! history panels of the open note below it.

use client::editor::Field;
use leptos::prelude::*;

use super::conflict::{Conflict, StrategyPicker};
use super::history::History;
use super::lazy::LazyScreen;
use super::links::{Backlinks, Completion, LinkSuggestions};
use super::preview::preview_screen;
use crate::model::{PageState, Pane, Ui, commands};

/// The editor form: title, text (or its Markdown preview), save label, and the open note's
/// tools (history, delete, and in the note's menu the rarely changed conflict strategy),
/// with the conflict and history panels below. On a phone it is a screen of its own, with
/// "Notes" to go back to the list.
#[component]
pub fn Editor() -> impl IntoView {
    let app = PageState::get();
    let ui = Ui::get();
    let ed = app.editor;
    let is_open = move || ed.open.get().is_some();
    let delete = move |_| commands::delete_open(app, ui);
    // The note's menu: settings of the note most people never change, out of the way.
    let (menu, set_menu) = signal(false);
    Effect::new(move |_| {
        ed.open.track();
        set_menu.set(false);
    });
    // `[[` in the text offers the notes to link to.
    let completion = Completion::new();
    Effect::new(move |_| {
        ed.open.track();
        completion.update();
    });
    let show_history = move |_| {
        let Some(id) = ed.open.get_untracked() else {
            return;
        };
        app.history.set(Some(id));
    };

    view! {
        <form class="editor" aria-label="Note" data-note=move || ed.open.get().unwrap_or_default()
            on:submit=|ev: leptos::ev::SubmitEvent| ev.prevent_default()>
            <div class="row toolbar">
                <button type="button" class="back" on:click=move |_| ui.pane.set(Pane::List)>
                    "← Notes"
                </button>
                // On a phone the list's "New note" is on the other screen; one here too
                // (hidden on wide screens, where the list's is in view).
                <button type="button" class="phone-only" on:click=move |_| commands::new_note(app, ui)>
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
                on:input=move |ev| ed.input(app, Field::Title, event_target_value(&ev))/>
            <label for="note-content">"Note"</label>
            <textarea id="note-content" name="content" rows="8" node_ref=ed.content_ref
                readonly=move || ed.deleted.get() hidden=move || ui.preview.get()
                prop:value=move || ed.content.get()
                on:input=move |ev| {
                    ed.input(app, Field::Content, event_target_value(&ev));
                    completion.update();
                }
                on:keydown=move |ev| completion.key(&ev)
                on:keyup=move |_| completion.update()
                on:click=move |_| completion.update()
                on:blur=move |_| completion.update()
            ></textarea>
            <LinkSuggestions completion/>
            <Show when=move || ui.preview.get()>
                <LazyScreen load=preview_screen/>
            </Show>
            <div class="row">
                <span class="saved" data-testid="saved" aria-live="polite">
                    {move || ed.label.get().text()}
                </span>
                <Show when=move || is_open() && !ed.deleted.get()>
                    <button type="button" on:click=show_history>"History"</button>
                    <button type="button" class="danger" on:click=delete>"Delete"</button>
                    <button type="button" class="note-menu" data-testid="note-menu"
                        aria-expanded=move || menu.get().to_string() aria-controls="note-menu"
                        aria-label="More for this note"
                        on:click=move |_| set_menu.update(|m| *m = !*m)>"⋯"</button>
                </Show>
            </div>
            <Show when=move || is_open() && !ed.deleted.get() && menu.get()>
                <div class="menu" id="note-menu" role="group" aria-label="More for this note">
                    <StrategyPicker/>
                </div>
            </Show>
            <Show when=move || is_open()>
                <Backlinks/>
            </Show>
            <Conflict/>
            <History/>
        </form>
    }
}
