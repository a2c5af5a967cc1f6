//! Screens in wasm modules of their own, loaded on first use.
//!
//! The start-up module holds what the first paint of the list and the editor needs; each
//! screen opened later (the Markdown preview, the trash, a note's history and conflict,
//! the account settings, export and import, the sync activity) is a split point, a
//! `wasm_split` function that `cargo leptos build --split` cuts, with every function only
//! it reaches, into a module of its own (`pkg/split_<module>.wasm`; code two screens share
//! goes into a chunk, `pkg/chunk_<n>.wasm`, that both load). The service worker precaches every module, so each screen
//! also opens offline.
//!
//! A split point returns the screen's builder (`fn() -> AnyView`, code in the split
//! module); [`LazyScreen`] loads it on first use and builds the screen under its own
//! reactive owner, like any child. Until then it says "Loading…"; a module that fails to
//! load (the network) is never cached as failed: the screen says so, retries on its own
//! (after 1, 2, 4 ... 30 s, and when the browser comes back online) and offers "Retry".
//! Nothing else of the page waits for it.
//!
//! Each screen's file declares its split point with [`split!`] (so that the screens import
//! this module, not the other way round). Split points are called through `extern "C"`
//! functions that the `wasm_split` macro writes (the link between two wasm modules), hence
//! the macro's `unsafe_code` allow. Off the wasm target (the server, native tests) they are
//! plain calls.

use std::future::Future;
use std::pin::Pin;

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::io;

/// A screen's module could not be loaded (the browser logged why: a network error, most
/// likely).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotLoaded;

impl From<leptos::wasm_split::SplitLoaderError> for NotLoaded {
    fn from(_: leptos::wasm_split::SplitLoaderError) -> Self {
        Self
    }
}

/// Builds a screen (its code is in the screen's module).
pub type Build = fn() -> AnyView;

/// Loads a screen's module, then gives its builder.
pub type Loader = fn() -> Pin<Box<dyn Future<Output = Result<Build, NotLoaded>>>>;

/// `split!(name, module, builder)`, in a screen's file: the split point `name` (a
/// [`Loader`]) whose code goes into the module `module` (its file: `pkg/split_module.wasm`).
macro_rules! split {
    ($(#[$doc:meta])* $name:ident, $module:ident, $build:expr) => {
        $(#[$doc])*
        // (The link between two wasm modules: `extern "C"` functions the macro writes.)
        #[allow(unsafe_code)]
        pub fn $name() -> ::std::pin::Pin<
            Box<dyn ::std::future::Future<Output = Result<$crate::components::lazy::Build, $crate::components::lazy::NotLoaded>>>,
        > {
            #[::leptos::wasm_split::wasm_split($module, wasm_split_path = ::leptos::wasm_split, fallible)]
            fn load() -> Result<$crate::components::lazy::Build, $crate::components::lazy::NotLoaded> {
                Ok($build)
            }
            Box::pin(load())
        }
    };
}
pub(crate) use split;

/// The pause before the `n`th automatic retry (from 0): 1, 2, 4, 8, 16, then 30 s.
fn retry_ms(n: u32) -> u64 {
    (1000u64 << n.min(5)).min(30_000)
}

/// What [`LazyScreen`] shows: `None` while loading.
pub(crate) type State = RwSignal<Option<Result<Build, NotLoaded>>>;

/// Loads with `load` once the component is in the browser (effects do not run on the
/// server), retrying after failures and when the browser comes back online; gives the
/// state and the "Retry" action (a new round of attempts).
pub(crate) fn loading(load: Loader) -> (State, impl Fn() + Copy + Send + Sync + 'static) {
    let state: State = RwSignal::new(None);
    // Each round of attempts (the first, "Retry", `online`) has a number; an older round
    // stops at its next pause, so one round runs at a time.
    let round = StoredValue::new(0u32);
    let again = move || {
        let Some(n) = round.try_get_value() else {
            return;
        };
        round.set_value(n + 1);
        state.set(None);
        spawn_local(attempts(load, state, round, n + 1));
    };
    Effect::new(move |_| spawn_local(attempts(load, state, round, 0)));
    let _ = window_event_listener(leptos::ev::online, move |_| {
        if matches!(state.get_untracked(), Some(Err(NotLoaded))) {
            again();
        }
    });
    (state, again)
}

/// A screen loaded with `load` on first use: "Loading…", then the screen; if its module
/// cannot be loaded, a message, automatic retries and "Retry" (see the module docs).
#[component]
pub fn LazyScreen(
    /// The screen's split point.
    load: Loader,
) -> impl IntoView {
    let (state, again) = loading(load);
    move || match state.get() {
        None => {
            view! { <p class="lazy-loading" data-testid="lazy-loading">"Loading…"</p> }.into_any()
        }
        Some(Ok(build)) => build(),
        Some(Err(NotLoaded)) => view! {
            <p class="error lazy-failed" role="alert" data-testid="lazy-failed">
                "This part of Tern could not be loaded (are you offline?). Retrying… "
                <button type="button" on:click=move |_| again()>"Retry"</button>
            </p>
        }
        .into_any(),
    }
}

/// Round `me` of load attempts: until one loads, with a pause after each failure, while
/// the screen is shown and no newer round started.
async fn attempts(load: Loader, state: State, round: StoredValue<u32>, me: u32) {
    let mut failures = 0;
    loop {
        let got = load().await;
        if round.try_get_value() != Some(me) {
            return;
        }
        state.set(Some(got));
        if got.is_ok() {
            return;
        }
        io::page::sleep_ms(retry_ms(failures)).await;
        failures += 1;
        if round.try_get_value() != Some(me) {
            return;
        }
        state.set(None);
    }
}

#[cfg(test)]
mod tests {
    use super::retry_ms;

    #[test]
    fn retries_back_off_to_thirty_seconds() {
        let pauses: Vec<u64> = (0..8).map(retry_ms).collect();
        assert_eq!(
            pauses,
            [1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000]
        );
        assert_eq!(retry_ms(u32::MAX), 30_000);
    }
}
