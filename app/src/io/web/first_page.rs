//! The list's first page for the next start's first paint, in `localStorage` (key
//! [`FirstPage::KEY`]), written here; read by the shell's script in the page's HTML
//! (`crate::components::first_paint::rows_script`) before any wasm runs, so the list is on
//! screen as soon as the HTML is. Written with the browser's `JSON` and `Reflect`, not
//! `serde_json` (the start-up module holds what the shell calls, and must stay small).
//! And the shell's clicks on those rows.
//!
//! What an attacker can do with it: only a script of this origin can read or write it (it
//! could read the notes anyway); a hostile note's text is shown as text (never HTML), cut
//! to [`FirstPage::TEXT`] characters, at most [`FirstPage::ROWS`] rows, also when a stored
//! value says otherwise.

use std::cell::RefCell;

use js_sys::{Array, Date, JSON, Object, Reflect};
use leptos::task::spawn_local;
use wasm_bindgen::{JsCast, JsValue};

use crate::io::FirstPage;

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

/// The pause between a change of the list and its write (the list changes with every
/// save while typing, and with every page of a sync).
const WRITE_AFTER_MS: u64 = 1_000;

thread_local! {
    /// The page to write, while a write is scheduled.
    static PENDING: RefCell<Option<FirstPage>> = const { RefCell::new(None) };
    /// Whether the page's `pagehide` writes the pending page at once.
    static FLUSH_ON_HIDE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Writes the pending page now, if any.
fn flush() {
    if let Some(page) = PENDING.with(|p| p.borrow_mut().take()) {
        store(&page);
    }
}

/// The id of the shell's row a click landed in, if any.
pub fn row_clicked(ev: &leptos::ev::MouseEvent) -> Option<String> {
    let target: web_sys::Element = ev.target()?.dyn_into().ok()?;
    target.closest("li.note").ok()??.get_attribute("data-id")
}

/// What was clicked in the shell before it hydrated (the page's script keeps it): a row
/// (`Some(Some(id))`), "New note" (`Some(None)`), or nothing.
pub fn clicked_before() -> Option<Option<String>> {
    let doc = web_sys::window()?.document()?;
    let main = doc.query_selector("main.first-paint").ok()??;
    match main.get_attribute("data-intent")?.as_str() {
        "open" => Some(Some(main.get_attribute("data-chosen")?)),
        "new" => Some(None),
        _ => None,
    }
}

/// Shows the shell's row of note `id` as the one chosen, and no other (`None`: none).
pub fn mark_chosen(id: Option<&str>) {
    let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let Ok(rows) = doc.query_selector_all("main.first-paint li.note") else {
        return;
    };
    for i in 0..rows.length() {
        if let Some(li) = rows
            .get(i)
            .and_then(|n| n.dyn_into::<web_sys::Element>().ok())
        {
            let chosen = id.is_some() && li.get_attribute("data-id").as_deref() == id;
            let _ = li.class_list().toggle_with_force("selected", chosen);
        }
    }
}

fn set(o: &Object, k: &str, v: impl Into<JsValue>) {
    let _ = Reflect::set(o, &k.into(), &v.into());
}

/// Keeps `page` for the next start, [`WRITE_AFTER_MS`] from now (the last page given by
/// then is written; quietly not, when the storage is full or off).
/// A page that is closed or reloaded meanwhile writes it at once (`pagehide`).
pub fn write(page: FirstPage) {
    if !FLUSH_ON_HIDE.replace(true) {
        let _ = leptos::prelude::window_event_listener(leptos::ev::pagehide, |_| flush());
    }
    let scheduled = PENDING.with(|p| p.borrow_mut().replace(page).is_some());
    if !scheduled {
        spawn_local(async {
            super::page::sleep_ms(WRITE_AFTER_MS).await;
            flush();
        });
    }
}

fn store(page: &FirstPage) {
    let Some(s) = storage() else { return };
    let rows = Array::new();
    for r in page.rows.iter().take(FirstPage::ROWS) {
        let o = Object::new();
        set(&o, "id", r.id.as_str());
        set(&o, "title", r.title.as_str());
        set(&o, "snippet", r.snippet.as_str());
        set(&o, "date", r.date.as_str());
        set(&o, "pinned", r.pinned);
        set(&o, "notebook", r.notebook.as_str());
        set(&o, "tags", r.tags.as_str());
        rows.push(&o);
    }
    let o = Object::new();
    set(&o, "written", Date::now());
    set(&o, "count", page.count.as_str());
    set(&o, "rows", rows);
    let Some(json) = JSON::stringify(&o).ok().and_then(|j| j.as_string()) else {
        return;
    };
    let _ = s.set_item(FirstPage::KEY, &json);
}

/// Forgets the page, and one waiting to be written (a sign-out or another account: the
/// next start must not show the account's titles).
pub fn clear() {
    PENDING.with(|p| p.borrow_mut().take());
    if let Some(s) = storage() {
        let _ = s.remove_item(FirstPage::KEY);
    }
}
