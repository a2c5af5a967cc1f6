//! The list's first page for the next start's first paint, in `localStorage` (key
//! [`KEY`]): read synchronously by the shell before any IndexedDB database is open, so the
//! list is on screen as soon as the start-up module runs.
//!
//! Written and read with the browser's `JSON` and `Reflect`, not `serde_json`: the reader
//! is in the start-up module, which must stay small. A value that does not read (written
//! by hand, cut short, an older shape) is no page: the shell then shows an empty list
//! until the app takes over.
//!
//! What an attacker can do with it: only a script of this origin can read or write it (it
//! could read the notes anyway); a hostile note's text is shown as text (never HTML), cut
//! to [`FirstPage::TEXT`] characters, at most [`FirstPage::ROWS`] rows, also when a stored
//! value says otherwise.

use std::cell::RefCell;

use js_sys::{Array, Date, JSON, Object, Reflect};
use leptos::task::spawn_local;
use wasm_bindgen::{JsCast, JsValue};

use crate::io::{FirstPage, FirstRow};

/// The `localStorage` key.
pub const KEY: &str = "tern-first-page";

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

fn text(o: &JsValue, k: &str) -> Option<String> {
    Reflect::get(o, &k.into()).ok()?.as_string()
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

/// The local calendar day of `ms`, as the browser names it.
fn day_of(ms: f64) -> String {
    String::from(Date::new(&JsValue::from_f64(ms)).to_date_string())
}

/// The page last written, if any reads. Its rows' dates ("Today 14:05") are dropped when
/// it was written on another day than today (the app shows the right ones).
pub fn read() -> Option<FirstPage> {
    let json = storage()?.get_item(KEY).ok()??;
    let v = JSON::parse(&json).ok()?;
    let written = Reflect::get(&v, &"written".into()).ok()?.as_f64()?;
    let today = day_of(written) == day_of(Date::now());
    let rows: Array = Reflect::get(&v, &"rows".into()).ok()?.dyn_into().ok()?;
    let mut page = FirstPage {
        count: text(&v, "count")?,
        rows: Vec::new(),
    };
    for r in rows.iter().take(FirstPage::ROWS) {
        page.rows.push(FirstRow {
            id: text(&r, "id")?,
            title: text(&r, "title")?,
            snippet: text(&r, "snippet")?,
            date: if today {
                text(&r, "date")?
            } else {
                String::new()
            },
            pinned: Reflect::get(&r, &"pinned".into()).ok()?.as_bool()?,
            notebook: text(&r, "notebook")?,
            tags: text(&r, "tags")?,
        });
    }
    Some(page.bounded())
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
    let _ = s.set_item(KEY, &json);
}

/// Forgets the page, and one waiting to be written (a sign-out or another account: the
/// next start must not show the account's titles).
pub fn clear() {
    PENDING.with(|p| p.borrow_mut().take());
    if let Some(s) = storage() {
        let _ = s.remove_item(KEY);
    }
}
