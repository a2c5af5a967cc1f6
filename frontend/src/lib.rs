//! The wasm entry point. cargo-leptos builds this crate to `/pkg/tern.wasm`; the page's
//! hydration script calls [`hydrate`], which takes over the server-rendered HTML.

/// Hydrates the server-rendered page.
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
