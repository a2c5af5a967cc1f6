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
    leptos::mount::hydrate_body(app::App);
}

/// One sync run from the service worker. Resolves with what happened; rejects (so the
/// browser retries the Background Sync later) when the run failed.
#[wasm_bindgen]
pub async fn worker_sync() -> Result<String, JsValue> {
    console_panics();
    app::pwa::worker_sync()
        .await
        .map_err(|e| JsValue::from(js_sys::Error::new(&e)))
}

/// Sends panic messages to the browser console.
#[cfg(not(panic = "immediate-abort"))]
fn console_panics() {
    console_error_panic_hook::set_once();
}

/// The size-optimised release wasm (`scripts/build-release.sh`) aborts on a panic without
/// formatting a message, so there is nothing to send to the console.
#[cfg(panic = "immediate-abort")]
fn console_panics() {}
