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

use js_sys::{Array, JSON, Object, Reflect};
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

/// The page last written, if any reads.
pub fn read() -> Option<FirstPage> {
    let json = storage()?.get_item(KEY).ok()??;
    let v = JSON::parse(&json).ok()?;
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
            date: text(&r, "date")?,
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

/// Keeps `page` for the next start (quietly not, when the storage is full or off).
pub fn write(page: &FirstPage) {
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
    set(&o, "count", page.count.as_str());
    set(&o, "rows", rows);
    let Some(json) = JSON::stringify(&o).ok().and_then(|j| j.as_string()) else {
        return;
    };
    // (Unchanged: no write. The list re-renders far more often than it changes.)
    if s.get_item(KEY).ok().flatten().as_deref() != Some(json.as_str()) {
        let _ = s.set_item(KEY, &json);
    }
}

/// Forgets the page (a sign-out: the next start must not show the account's titles).
pub fn clear() {
    if let Some(s) = storage() {
        let _ = s.remove_item(KEY);
    }
}
