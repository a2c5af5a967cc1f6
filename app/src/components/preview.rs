//! The Markdown preview of the open note (see [`crate::model::markdown`]), with the
//! renderer in a module of its own, loaded on first use ([`super::lazy`]).

use leptos::prelude::*;

use super::lazy::split;
use crate::model::PageState;
use crate::model::markdown::{render, toggle_task};

/// The rendered text of the open note; a click on a checkbox toggles its task, saved as an
/// edit of the note.
#[component]
pub fn Preview() -> impl IntoView {
    let app = PageState::get();
    let ed = app.editor;
    let html = Memo::new(move |_| ed.content.with(|c| render(c)));
    let on_click = move |ev: leptos::ev::MouseEvent| {
        use leptos::wasm_bindgen::JsCast;
        let Some(input) = ev
            .target()
            .and_then(|t| t.dyn_into::<leptos::web_sys::HtmlInputElement>().ok())
        else {
            return;
        };
        let Some(at) = input
            .get_attribute("data-task")
            .and_then(|a| a.parse::<usize>().ok())
        else {
            return;
        };
        if ed.deleted.get_untracked() {
            ev.prevent_default();
            return;
        }
        match ed.content.with_untracked(|c| toggle_task(c, at)) {
            Some(next) => {
                ed.input(app, client::editor::Field::Content, next);
            }
            None => ev.prevent_default(),
        }
    };
    view! {
        <div class="preview" data-testid="preview" aria-label="Preview" on:click=on_click
            inner_html=move || html.get()></div>
    }
}

split!(
    /// The Markdown preview of the open note (and the Markdown renderer).
    preview_screen,
    preview,
    || view! { <Preview/> }.into_any()
);
