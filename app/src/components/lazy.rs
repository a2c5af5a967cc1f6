//! Screens and parts of screens in wasm modules of their own, loaded on first use or right
//! after the first paint.
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
//! Parts of the page that the first paint of the list and the editor does not need (the
//! sidebar's menus and name fields, the selection bar, the note's bar, the link completion
//! and "Linked from", the keyboard help, the sign-in form and sign-out warning, the settings
//! view's tabs, the offers, banners and notices) are split points too, returning a
//! builder that takes the part's arguments (`fn(A) -> AnyView`); [`lazy_part`] shows one,
//! with the same retries. While it loads a part shows nothing or an empty box of its size
//! ([`Until`]); if its module cannot be loaded, a part the user asked for says so with
//! "Retry", a notice or offer stays quiet until it comes. The parts used soon after the
//! first paint are loaded right after it, in the background ([`warm`], from `App`).
//!
//! Each screen's file declares its split point with [`split!`] (so that the screens import
//! this module, not the other way round). Split points are called through `extern "C"`
//! functions that the `wasm_split` macro writes (the link between two wasm modules), hence
//! the macro's `unsafe_code` allow. Off the wasm target (the server, native tests) they are
//! plain calls.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};

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

/// Builds a part of a screen from its arguments (its code is in the part's module).
pub type BuildWith<A> = fn(A) -> AnyView;

/// Loads a part's module, then gives its builder.
pub type LoaderWith<A> = fn() -> Pin<Box<dyn Future<Output = Result<BuildWith<A>, NotLoaded>>>>;

/// Loads a module and gives what its split point returns.
type Load<B> = fn() -> Pin<Box<dyn Future<Output = Result<B, NotLoaded>>>>;

/// `split!(name, module, builder)`, in a screen's file: the split point `name` (a
/// [`Loader`]) whose code goes into the module `module` (its file: `pkg/split_module.wasm`).
/// `split!(name, module, Args => builder)`: the same for a part built from arguments (a
/// [`LoaderWith<Args>`], shown by [`lazy_part`]).
macro_rules! split {
    ($(#[$doc:meta])* $name:ident, $module:ident, $args:ty => $build:expr) => {
        $(#[$doc])*
        // (The link between two wasm modules: `extern "C"` functions the macro writes.)
        #[allow(unsafe_code)]
        pub fn $name() -> ::std::pin::Pin<
            Box<dyn ::std::future::Future<Output = Result<$crate::components::lazy::BuildWith<$args>, $crate::components::lazy::NotLoaded>>>,
        > {
            #[::leptos::wasm_split::wasm_split($module, wasm_split_path = ::leptos::wasm_split, fallible)]
            fn load() -> Result<$crate::components::lazy::BuildWith<$args>, $crate::components::lazy::NotLoaded> {
                Ok($build)
            }
            Box::pin(load())
        }
    };
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

/// Loads a module, type-erased: `Ok` once what its split point returns is kept (see
/// [`erase`]). The code that loads and retries is then one copy for every screen and part,
/// not one per builder's type (they add up in the start-up module).
type ErasedLoad =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<(), NotLoaded>>>> + Send + Sync>;

/// Starts over after a failure.
type Again = Arc<dyn Fn() + Send + Sync>;

/// What a lazy screen or part shows: `None` while loading.
type State = RwSignal<Option<Result<(), NotLoaded>>>;

/// `load`, type-erased, and where it keeps what the split point returns.
fn erase<B: Copy + Send + Sync + 'static>(load: Load<B>) -> (ErasedLoad, Arc<OnceLock<B>>) {
    let slot = Arc::new(OnceLock::new());
    let kept = slot.clone();
    let erased: ErasedLoad = Arc::new(move || {
        let kept = kept.clone();
        Box::pin(async move {
            let got = load().await?;
            let _ = kept.set(got);
            Ok(())
        })
    });
    (erased, slot)
}

/// Starts loading with `load` once the page is hydrated and `when` holds, for one place of
/// the page: its state, and "again", which starts a new round of attempts (after a
/// failure).
fn loading(load: ErasedLoad, when: Signal<bool>) -> (State, Again) {
    let state: State = RwSignal::new(None);
    // Each round of attempts (the first, "Retry", `online`) has a number; an older round
    // stops at its next pause, so one round runs at a time.
    let round = StoredValue::new(0u32);
    let again: Again = {
        let load = load.clone();
        Arc::new(move || {
            let Some(n) = round.try_get_value() else {
                return;
            };
            round.set_value(n + 1);
            state.set(None);
            spawn_local(attempts(load.clone(), state, round, n + 1));
        })
    };
    // In the browser only (effects do not run on the server, which renders what shows
    // while loading), once `when` first holds.
    Effect::new(move |started: Option<bool>| {
        if started == Some(true) {
            return true;
        }
        let now = when.get();
        if now {
            spawn_local(attempts(load.clone(), state, round, 0));
        }
        now
    });
    let on_online = again.clone();
    let online = window_event_listener(leptos::ev::online, move |_| {
        if matches!(state.try_get_untracked(), Some(Some(Err(NotLoaded)))) {
            on_online();
        }
    });
    // (A part comes and goes with what shows it, a menu at each opening: its listener goes
    // with it.)
    on_cleanup(move || online.remove());
    (state, again)
}

/// A screen loaded with `load` on first use: "Loading…", then the screen; if its module
/// cannot be loaded, a message, automatic retries and "Retry" (see the module docs).
#[component]
pub fn LazyScreen(
    /// The screen's split point.
    load: Loader,
) -> impl IntoView {
    let (load, slot) = erase(load);
    let (state, again) = loading(load, Signal::stored(true));
    move || match state.get() {
        None => {
            view! { <p class="lazy-loading" data-testid="lazy-loading">"Loading…"</p> }.into_any()
        }
        Some(Ok(())) => slot.get().map_or_else(|| ().into_any(), |build| build()),
        Some(Err(NotLoaded)) => {
            let again = again.clone();
            view! {
                <p class="error lazy-failed" role="alert" data-testid="lazy-failed">
                    "This part of Tern could not be loaded (are you offline?). Retrying… "
                    <button type="button" on:click=move |_| again()>"Retry"</button>
                </p>
            }
            .into_any()
        }
    }
}

/// What a [`lazy_part`] shows before its module is there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Until {
    /// Nothing while loading; if the module cannot be loaded, a short message with
    /// "Retry" (a part the user asked for: a menu, a form, a bar).
    Asked,
    /// Nothing, also when the module cannot be loaded (retried all the same): a part that
    /// shows itself when it has something to say (a notice, an offer, a banner).
    Quiet,
    /// An empty box of this CSS class (sized like the part: no layout jump when it comes),
    /// also when the module cannot be loaded (retried all the same).
    Blank(&'static str),
}

/// A part of a screen in a module of its own, shown while `when` holds, built with `args`
/// once `load` has loaded it (asked for when `when` first holds; the modules of the parts
/// are also loaded right after the first paint: [`warm`]). A failed load is retried as
/// for a [`LazyScreen`]. Nothing else of the page waits for it. Like `Show`, the part is
/// built anew each time `when` becomes true.
pub fn lazy_part<A: Clone + Send + Sync + 'static>(
    load: LoaderWith<A>,
    args: A,
    until: Until,
    when: impl Fn() -> bool + Send + Sync + 'static,
) -> AnyView {
    let (load, slot) = erase(load);
    let build: Arc<dyn Fn() -> AnyView + Send + Sync> = Arc::new(move || {
        slot.get()
            .map_or_else(|| ().into_any(), |build| build(args.clone()))
    });
    part_view(load, build, until, Box::new(when))
}

/// The view of a [`lazy_part`]: one copy for every part (the view code of one per part's
/// type adds up in the start-up module).
fn part_view(
    load: ErasedLoad,
    build: Arc<dyn Fn() -> AnyView + Send + Sync>,
    until: Until,
    when: Box<dyn Fn() -> bool + Send + Sync>,
) -> AnyView {
    let when = Signal::from(Memo::new(move |_| when()));
    let (state, again) = loading(load, when);
    (move || {
        if !when.get() {
            return ().into_any();
        }
        match (state.get(), until) {
            (Some(Ok(())), _) => build(),
            (Some(Err(NotLoaded)), Until::Asked) => {
                let again = again.clone();
                view! {
                    <span class="error lazy-failed" role="alert" data-testid="lazy-failed">
                        "Could not be loaded (are you offline?). Retrying… "
                        <button type="button" on:click=move |_| again()>"Retry"</button>
                    </span>
                }
                .into_any()
            }
            (_, Until::Blank(class)) => {
                view! { <div class=class aria-hidden="true"></div> }.into_any()
            }
            _ => ().into_any(),
        }
    })
    .into_any()
}

/// Loads a part's module, if it is not loaded yet, without showing it (for [`warm`]).
pub fn warming<A: 'static>(load: LoaderWith<A>) -> Pin<Box<dyn Future<Output = ()>>> {
    Box::pin(async move {
        let _ = load().await;
    })
}

/// Loads these modules one after the other, in the background (right after the first
/// paint: the parts used soon after it then show at once). A failure is left to the part,
/// which retries when shown.
pub fn warm(modules: Vec<Pin<Box<dyn Future<Output = ()>>>>) {
    spawn_local(async move {
        for m in modules {
            m.await;
        }
    });
}

/// Round `me` of load attempts: until one loads, with a pause after each failure, while
/// the screen is shown and no newer round started.
async fn attempts(load: ErasedLoad, state: State, round: StoredValue<u32>, me: u32) {
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
