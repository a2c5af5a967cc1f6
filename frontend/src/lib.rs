//! The wasm entry points. cargo-leptos builds this crate to `/pkg/tern.wasm`:
//! - the page's hydration script calls [`hydrate`], which takes over the server-rendered
//!   HTML;
//! - the service worker (`/sw.js`, a module that imports `/pkg/tern.js`) calls
//!   [`worker_sync`] on Background Sync: the same engine and store as the page.

use wasm_bindgen::prelude::*;

/// Hydrates the server-rendered page.
#[wasm_bindgen]
pub fn hydrate() {
    console_panics();
    app::start_loading_app();
    leptos::mount::hydrate_body(app::App);
}

/// One sync run from the service worker (its code is in a module loaded on first use,
/// `pkg/split_worker.wasm`: `app::worker_sync`). Resolves with what happened; rejects (so
/// the browser retries the Background Sync later) when the run failed, or its module could
/// not be loaded.
#[wasm_bindgen]
pub async fn worker_sync() -> Result<String, JsValue> {
    console_panics();
    app::worker_sync()
        .await
        .map_err(|e| JsValue::from(js_sys::Error::new(&e)))
}

/// Panics, for the browser test of [`report_panic`] (`end2end/tests/panic.test.mjs`), in
/// the release wasm too, where the hook matters most. (A script of the page could stop the
/// app anyway: this gives it nothing new.)
#[wasm_bindgen]
pub fn panic_for_tests() {
    panic!("a panic for the tests");
}

/// Makes a panic say where it happened, in every build: the message and its location
/// (`file:line:column`; `file:line` in the release wasm) go to the console, to
/// `globalThis.ternPanic` (for a test or a bug report to read) and, in a page, to a banner
/// at the top that tells the user to reload. The app cannot go on after a panic (the wasm
/// aborts: `unreachable` in the console), so the banner is plain DOM, written before the
/// abort.
///
/// The release wasm is built with `-Cpanic=abort` and locations kept
/// (`scripts/build-release.sh`): this hook runs there too. Aborts that are no panic (an
/// allocation failure) bypass it. Debug builds also print the stack
/// (`console_error_panic_hook`).
fn console_panics() {
    static SET: std::sync::Once = std::sync::Once::new();
    SET.call_once(|| std::panic::set_hook(Box::new(report_panic)));
}

fn report_panic(info: &std::panic::PanicHookInfo<'_>) {
    #[cfg(debug_assertions)]
    console_error_panic_hook::hook(info);
    // "panicked at src/x.rs:1:2:\nthe message", cut short: a banner, not a dump.
    let mut text = info.to_string();
    if let Some((cut, _)) = text.char_indices().nth(300) {
        text.truncate(cut);
    }
    let text = format!("Tern stopped after an internal error ({text}).");
    web_sys::console::error_1(&text.as_str().into());
    let _ = js_sys::Reflect::set(
        &js_sys::global(),
        &"ternPanic".into(),
        &text.as_str().into(),
    );
    let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
        return; // the service worker: the console and the global only
    };
    if doc.get_element_by_id("tern-panic").is_some() {
        return; // the first panic is the one that matters
    }
    if let (Some(body), Ok(el)) = (doc.body(), doc.create_element("p")) {
        el.set_id("tern-panic");
        el.set_class_name("banner error");
        let _ = el.set_attribute("role", "alert");
        el.set_text_content(Some(&format!(
            "{text} Reload the page: notes saved on this device are kept."
        )));
        let _ = body.insert_adjacent_element("afterbegin", &el);
    }
}
