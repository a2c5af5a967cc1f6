//! The first paint: a small shell in the start-up module, the app in a module of its own.
//!
//! The start-up wasm module holds only this shell (and Leptos): the list's first page as
//! the app last showed it (`io::first_page`, read synchronously from `localStorage`, no
//! database opened), a note field that says "Opening…", and the loader of the app's module
//! (`crate::App`'s split point). The app mounts hidden beside the shell and takes over when
//! it has drawn its own list, in one update ([`crate::model::take_over`]): until then the
//! shell cannot be typed in, and what is clicked there (a row, "New note") is done by the
//! app when it takes over. A module that fails to load is said so, with automatic retries
//! and "Retry" ([`super::lazy::loading`]); the rows stay.
//!
//! The shell's markup and classes are the list's and the editor's, so nothing moves when
//! the app takes over; its elements have no ids or test ids of the app's (both are in the
//! page for a moment).

use leptos::prelude::*;

use super::lazy::{Loader, NotLoaded, loading};
use super::list::pin_icon;
use crate::io::{self, FirstPage, FirstRow};
use crate::model::LIST_PAGE;
use crate::model::take_over::{Event, Handoff, Intent};

/// The shell, then the app `load` gives (see the module's docs).
#[component]
pub fn FirstPaint(
    /// The app's split point.
    load: Loader,
) -> impl IntoView {
    let handoff = Handoff::new();
    provide_context(handoff);
    let page = RwSignal::new(FirstPage::default());
    // (After hydration: the server rendered an empty list.)
    Effect::new(move |_| page.set(io::first_page::read().unwrap_or_default()));
    let (state, again) = loading(load);
    Effect::new(move |_| {
        let event = match state.get() {
            Some(Err(NotLoaded)) => Event::Failed,
            None => Event::Retry,
            Some(Ok(_)) => return,
        };
        handoff.step(event);
    });
    let app = move || match state.get() {
        Some(Ok(build)) => Some(build()),
        _ => None,
    };
    view! {
        <Show when=move || !handoff.taken()>
            <Shell page handoff again/>
        </Show>
        {app}
    }
}

#[component]
fn Shell(
    page: RwSignal<FirstPage>,
    handoff: Handoff,
    again: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let click = move |i: Intent| handoff.step(Event::Click(i));
    let failed = move || handoff.0.with(|m| m.failed());
    view! {
        <main class="first-paint" data-pane="list" data-drawer="false" aria-busy="true">
            <header>
                <button type="button" class="sidebar-open" aria-label="Notebooks and tags">"☰"</button>
                <h1>"Tern"</h1>
            </header>
            <Show when=failed>
                <p class="error lazy-failed" role="alert" data-testid="app-failed">
                    "Tern could not be loaded (are you offline?). Retrying… "
                    <button type="button" on:click=move |_| again()>"Retry"</button>
                </p>
            </Show>
            <div class="layout">
                <aside class="sidebar" aria-label="Notebooks and tags"></aside>
                <section class="list" aria-label="Notes">
                    <div class="row">
                        <button type="button" on:click=move |_| { click(Intent::New); }>"New note"</button>
                        <input type="search" placeholder="Search" aria-label="Search notes" readonly/>
                    </div>
                    <div class="list-head">
                        <p class="count">{move || page.with(|p| p.count.clone())}</p>
                    </div>
                    <ul class="notes" data-page=LIST_PAGE.to_string()>
                        <For each=move || page.get().rows key=|r| r.id.clone() let:row>
                            <Row row handoff click/>
                        </For>
                    </ul>
                </section>
                <form class="editor" aria-label="Note">
                    <label for="first-paint-title">"Title"</label>
                    <input id="first-paint-title" placeholder="Opening…" readonly/>
                    <label for="first-paint-content">"Note"</label>
                    <textarea id="first-paint-content" rows="8" placeholder="Opening…" readonly></textarea>
                </form>
            </div>
        </main>
    }
}

#[component]
fn Row(
    row: FirstRow,
    handoff: Handoff,
    click: impl Fn(Intent) -> Option<Intent> + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let id = row.id.clone();
    let chosen = move || handoff.0.with(|m| m.chosen() == Some(id.as_str()));
    let id = row.id.clone();
    view! {
        <li class="note" data-id=row.id.clone() class:selected=chosen>
            <button type="button" class="open" on:click=move |_| { click(Intent::Open(id.clone())); }>
                <h2>
                    {row.pinned.then(|| view! { <span class="pin-mark" title="Pinned">{pin_icon()}</span> })}
                    {row.title}
                </h2>
                <p>{row.snippet}</p>
                <span class="meta">
                    <time>{row.date}</time>
                    {(!row.notebook.is_empty()).then(|| view! { <span class="in-notebook">{row.notebook}</span> })}
                    {(!row.tags.is_empty()).then(|| view! { <span class="row-tags">{row.tags}</span> })}
                </span>
            </button>
        </li>
    }
}
