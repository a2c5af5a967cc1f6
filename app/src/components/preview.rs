//! The Markdown preview of the open note (see [`crate::model::markdown`]), with the
//! renderer in a module of its own, loaded on first use ([`super::lazy`]).

use leptos::prelude::*;

use super::lazy::split;
use crate::io;
use crate::model::markdown::{Lookup, render_with, toggle_task};
use crate::model::{PageState, Ui, commands};

/// The rendered text of the open note; a click on a checkbox toggles its task, saved as an
/// edit of the note; a link to another note opens it (or creates the note a title link
/// names).
#[component]
pub fn Preview() -> impl IntoView {
    let app = PageState::get();
    let ui = Ui::get();
    let ed = app.editor;
    // The notes the text links to, looked up while the text is shown as it is (its links
    // show their titles as written until then).
    let targets = Memo::new(move |_| {
        ed.content.with(|c| {
            let mut t: Vec<_> = client::links::links(c)
                .into_iter()
                .map(|l| l.target)
                .collect();
            t.dedup();
            t
        })
    });
    let resolved = LocalResource::new(move || io::links::resolve(targets.get()));
    let html = Memo::new(move |_| {
        let known = resolved.get().map(|r| r.to_vec()).unwrap_or_default();
        ed.content.with(|c| {
            render_with(c, &|t| match known.iter().find(|(k, _)| k == t) {
                Some((_, Some(n))) => Lookup::Found(n.clone()),
                Some((_, None)) => Lookup::Missing,
                None => Lookup::Unknown,
            })
        })
    });
    let on_click = move |ev: leptos::ev::MouseEvent| {
        use leptos::wasm_bindgen::JsCast;
        let link = ev
            .target()
            .and_then(|t| t.dyn_into::<leptos::web_sys::Element>().ok())
            .and_then(|e| e.closest("a.note-link").ok().flatten());
        if let Some(a) = link {
            ev.prevent_default();
            if let Some(id) = a.get_attribute("data-note") {
                commands::open_linked(app, ui, id);
            } else if let Some(title) = a.get_attribute("data-create") {
                commands::create_linked(app, ui, title);
            }
            return;
        }
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
