//! The page itself: timers, the clock, local time labels and the time zone's offset,
//! focus, `localStorage`, the address, the list's drag of notes (kept in the page: see
//! [`start_drag`]), and events of the page and of other tabs.

use js_sys::Promise;
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

/// Waits `ms` milliseconds, in a page or in the service worker (the client's timer).
pub use client::platform::sleep_ms;

/// Waits for the next animation frame (at once where there are none).
pub(crate) async fn next_frame() {
    let p = Promise::new(&mut |resolve, _| match web_sys::window() {
        Some(w) => {
            if w.request_animation_frame(&resolve).is_err() {
                let _ = resolve.call0(&JsValue::NULL);
            }
        }
        None => {
            let _ = resolve.call0(&JsValue::NULL);
        }
    });
    let _ = JsFuture::from(p).await;
}

/// Now, in ms since the epoch (the client's clock).
pub use client::platform::now_ms;

/// A time (ms since the epoch) as local time of day, for "last synced".
pub fn time_label(ms: u64) -> String {
    js_sys::Date::new(&(ms as f64).into())
        .to_locale_time_string("default")
        .into()
}

/// A time (ms since the epoch) as local date and time, in the browser's locale (trash
/// entries, sessions and history can be weeks old).
pub fn date_label(ms: u64) -> String {
    js_sys::Date::new(&(ms as f64).into())
        .to_locale_string("default", &JsValue::UNDEFINED)
        .into()
}

/// `navigator.onLine`.
pub fn is_online() -> bool {
    client::platform::is_online()
}

/// Calls `f` with what to tell the user when a newer build (another tab) upgrades the
/// local database and this page's store closes.
pub fn on_store_closed(f: impl Fn(String) + 'static) {
    let handle = window_event_listener_untyped(client::idb::CLOSED_EVENT, move |_| {
        f(client::idb::CLOSED_FOR_UPGRADE.to_owned())
    });
    // Never dropped: the listener lives as long as the page.
    #[allow(clippy::mem_forget)]
    std::mem::forget(handle);
}

/// Tells other tabs the local store changed.
pub fn announce_change() {
    client::tabs::announce_change();
}

/// Calls `f` when another tab changed the local store (or the account).
pub fn on_change(f: impl Fn() + 'static) {
    client::tabs::on_change(f);
}

fn active() -> Option<web_sys::Element> {
    web_sys::window()?.document()?.active_element()
}

/// Moves keyboard focus to the element with `id`.
pub fn focus(id: &str) {
    if let Some(el) = document().get_element_by_id(id)
        && let Ok(f) = el.dyn_into::<web_sys::HtmlElement>()
    {
        let _ = f.focus();
    }
}

/// Types `text` into the focused field over its selection, as the user typing it would:
/// the browser's undo takes it back, and the field's `input` event fires. False when the
/// browser would not (then nothing changed).
pub fn type_text(text: &str) -> bool {
    let doc = document();
    let Ok(exec) = js_sys::Reflect::get(&doc, &"execCommand".into()) else {
        return false;
    };
    let Ok(exec) = exec.dyn_into::<js_sys::Function>() else {
        return false;
    };
    exec.call3(&doc, &"insertText".into(), &false.into(), &text.into())
        .is_ok_and(|done| done.as_bool() == Some(true))
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

/// Calls `more` whenever the element of `node` comes within 600 px of the screen (an
/// `IntersectionObserver`), and again after each change `watch` tracks while it stays
/// there (the observer reports at once when asked to observe anew).
pub fn load_on_sight(
    node: NodeRef<leptos::html::P>,
    watch: impl Fn() + 'static,
    more: impl Fn() + 'static,
) {
    use web_sys::{IntersectionObserver, IntersectionObserverEntry, IntersectionObserverInit};

    let cb = Closure::<dyn Fn(js_sys::Array)>::new(move |entries: js_sys::Array| {
        let seen = entries.iter().any(|e| {
            e.unchecked_into::<IntersectionObserverEntry>()
                .is_intersecting()
        });
        if seen {
            more();
        }
    });
    let init = IntersectionObserverInit::new();
    init.set_root_margin("600px");
    let Ok(observer) = IntersectionObserver::new_with_options(cb.as_ref().unchecked_ref(), &init)
    else {
        return; // no observer: the button still works
    };
    let observer = StoredValue::new_local(Some((observer, cb)));
    Effect::new(move |_| {
        watch();
        if let Some(el) = node.get() {
            observer.with_value(|o| {
                if let Some((o, _)) = o {
                    o.unobserve(&el);
                    o.observe(&el);
                }
            });
        }
    });
    on_cleanup(move || {
        if let Some((o, _cb)) = observer.try_update_value(Option::take).flatten() {
            o.disconnect();
        }
    });
}

/// The query parameters of the share target (the manifest's `params`).
pub const SHARE_PARAMS: [&str; 3] = ["share_title", "share_text", "share_url"];

/// The shared title, text and link, if the address carries any; the address becomes `/`
/// (keeping no share parameters for a reload).
pub fn take_share_params() -> Option<(String, String, String)> {
    let w = web_sys::window()?;
    let search = w.location().search().ok()?;
    let params = web_sys::UrlSearchParams::new_with_str(&search).ok()?;
    if !SHARE_PARAMS.iter().any(|p| params.has(p)) {
        return None;
    }
    let get = |k| params.get(k).unwrap_or_default();
    let found = (
        get(SHARE_PARAMS[0]),
        get(SHARE_PARAMS[1]),
        get(SHARE_PARAMS[2]),
    );
    if let Ok(h) = w.history() {
        let _ = h.replace_state_with_url(&JsValue::NULL, "", Some("/"));
    }
    Some(found)
}

/// `localStorage` key holding the storage notice's case last dismissed.
const DISMISSED_KEY: &str = "tern-storage-notice-dismissed";

fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

/// The storage notice's case the user dismissed last, in this browser.
pub fn notice_dismissed() -> Option<String> {
    local_storage()?.get_item(DISMISSED_KEY).ok()?
}

/// Remembers that the user dismissed the storage notice of `case`.
pub fn dismiss_notice(case: &str) {
    if let Some(s) = local_storage() {
        let _ = s.set_item(DISMISSED_KEY, case);
    }
}

/// The browser's user agent, and whether the page runs as an installed (Home Screen) app.
pub fn user_agent() -> (String, bool) {
    let Some(w) = web_sys::window() else {
        return (String::new(), false);
    };
    let ua = w.navigator().user_agent().unwrap_or_default();
    let standalone = w
        .match_media("(display-mode: standalone)")
        .ok()
        .flatten()
        .is_some_and(|m| m.matches());
    (ua, standalone)
}

/// The local time's offset from UTC at `ms` (ms since the epoch), in minutes east (the
/// browser's time zone, daylight saving included).
pub fn utc_offset_minutes(ms: u64) -> i32 {
    let west = js_sys::Date::new(&(ms as f64).into()).get_timezone_offset();
    -(west as i32)
}

/// The drag's data type (a type of Tern's own: a target elsewhere takes it for nothing).
const NOTES_TYPE: &str = "application/x-tern-notes";

thread_local! {
    /// The notes of the drag this page started, until it ends. A drop takes its notes from
    /// here, never from the drag's data: another site (or window) can drag in data of any
    /// type, and must not move the user's notes by it.
    static DRAGGED: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A drag of the list's notes `ids` starts.
pub fn start_drag(ev: &leptos::ev::DragEvent, ids: &[String]) {
    DRAGGED.with(|d| *d.borrow_mut() = ids.to_vec());
    if let Some(dt) = ev.data_transfer() {
        // (Something for the drag to carry; the ids themselves stay in the page.)
        let _ = dt.set_data(NOTES_TYPE, &ids.len().to_string());
        dt.set_effect_allowed("move");
    }
}

/// The drag of notes ended (dropped anywhere, or cancelled).
pub fn end_drag() {
    DRAGGED.with(|d| d.borrow_mut().clear());
}

/// True when the drag over a drop target carries notes of this page (the target then
/// accepts it).
pub fn accept_drop(ev: &leptos::ev::DragEvent) -> bool {
    let ours = DRAGGED.with(|d| !d.borrow().is_empty());
    if ours {
        ev.prevent_default();
        if let Some(dt) = ev.data_transfer() {
            dt.set_drop_effect("move");
        }
    }
    ours
}

/// The notes a drop carries: those of this page's drag (none for anything else dropped).
pub fn dragged_notes(ev: &leptos::ev::DragEvent) -> Vec<String> {
    ev.prevent_default();
    DRAGGED.with(|d| std::mem::take(&mut *d.borrow_mut()))
}
