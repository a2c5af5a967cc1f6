//! The installable app's plumbing: the service worker's registration and updates (an
//! update is applied only when the user says so, after the last edit is saved),
//! persistent storage, Background Sync, and the worker's own sync run.
//!
//! The service worker imports the same wasm as the page and runs the same sync runner
//! (`client::runner`) on the same IndexedDB store (the signed-in account's, as this
//! browser's records in the database `tern` name it), under the same Web Lock, so a page
//! and the worker never sync at once. Builds never mix: the worker serves the shell and
//! `/pkg/*` of its own build only, a new worker waits until the user applies it, and then
//! every page it controls saves and reloads, so a page always runs the build (and the
//! local schema) of its worker.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use client::http::FetchTransport;
use client::idb::IdbStore;
use client::runner::{Runner, RunnerConfig};
use js_sys::{Function, Object, Promise, Reflect};
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    RegistrationOptions, ServiceWorkerContainer, ServiceWorkerRegistration, ServiceWorkerState,
    ServiceWorkerUpdateViaCache,
};

use super::accounts::{WorkerTarget, guard_for, worker_records, worker_target};
use super::page::sleep_ms;
use crate::io::SAVE_DEBOUNCE;

/// How often an open page asks the server whether a new build is out.
const UPDATE_CHECK_MS: i32 = 15 * 60_000;
/// How long an update waits for the last edit to be saved before giving up.
const FLUSH_TIMEOUT_MS: f64 = 10_000.0;

thread_local! {
    static SAVES_IN_FLIGHT: Cell<u32> = const { Cell::new(0) };
    static LAST_INPUT_MS: Cell<f64> = const { Cell::new(f64::NEG_INFINITY) };
}

/// The Background Sync tag the service worker answers.
const SYNC_TAG: &str = "tern-sync";

/// Marks a local save in progress: an update waits for it before reloading. Held for the
/// duration of the save.
pub(crate) struct SaveGuard(());

impl SaveGuard {
    /// Starts a save.
    pub(crate) fn new() -> Self {
        save_started();
        Self(())
    }
}

impl Drop for SaveGuard {
    fn drop(&mut self) {
        save_finished();
    }
}

fn save_started() {
    SAVES_IN_FLIGHT.with(|n| n.set(n.get() + 1));
}

fn save_finished() {
    SAVES_IN_FLIGHT.with(|n| n.set(n.get().saturating_sub(1)));
}

fn js_error(e: JsValue) -> String {
    e.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| e.as_string())
        .or_else(|| js_sys::JSON::stringify(&e).ok().map(String::from))
        .unwrap_or_else(|| "unknown error".into())
}

fn container() -> Option<ServiceWorkerContainer> {
    let nav = web_sys::window()?.navigator();
    // Missing outside secure contexts (plain http other than localhost).
    Reflect::has(&nav, &"serviceWorker".into())
        .unwrap_or(false)
        .then(|| nav.service_worker())
}

/// Registers the service worker and asks for persistent storage: `on_update` when an
/// update is ready, `on_refused` when the browser refused persistent storage,
/// `on_problem` when offline use is not available. Edits made while offline are handed to
/// Background Sync.
pub fn start(
    on_update: impl Fn() + 'static,
    on_refused: impl Fn() + 'static,
    on_problem: impl Fn(String) + 'static,
) {
    track_input();
    spawn_local(async move {
        if persist_storage().await == Some(false) {
            on_refused();
        }
    });
    let on_update: Rc<dyn Fn()> = Rc::new(on_update);
    spawn_local(async move {
        if let Err(e) = register(on_update).await {
            on_problem(format!("Offline use is not available: {e}"));
        }
    });
    // Edits made while offline are pushed by the worker once the network is back.
    if !client::platform::is_online() {
        request_background_sync();
    }
    if let Some(w) = web_sys::window() {
        let cb = Closure::<dyn Fn()>::new(request_background_sync);
        let _ = w.add_event_listener_with_callback("offline", cb.as_ref().unchecked_ref());
        cb.forget();
    }
}

/// Remembers when the user last typed, so an update can wait for the debounced save.
fn track_input() {
    let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let cb = Closure::<dyn Fn()>::new(|| LAST_INPUT_MS.with(|t| t.set(js_sys::Date::now())));
    let _ =
        doc.add_event_listener_with_callback_and_bool("input", cb.as_ref().unchecked_ref(), true);
    cb.forget();
}

/// Waits until the editor's last keystroke has been saved to IndexedDB: no input for
/// longer than the save debounce, and no save in flight.
async fn flush_saves() -> Result<(), String> {
    let quiet_ms = SAVE_DEBOUNCE.as_millis() as f64 + 50.0;
    let deadline = js_sys::Date::now() + FLUSH_TIMEOUT_MS;
    loop {
        let now = js_sys::Date::now();
        let quiet = now - LAST_INPUT_MS.with(Cell::get) >= quiet_ms;
        if quiet && SAVES_IN_FLIGHT.with(Cell::get) == 0 {
            return Ok(());
        }
        if now > deadline {
            return Err("Your last edit is still being saved; try again in a moment.".into());
        }
        sleep_ms(25).await;
    }
}

/// Makes the page's text fields read-only (the page is about to reload): what they hold is
/// final, and a key pressed meanwhile changes nothing (a read-only field keeps the focus, so
/// the key is not taken as a shortcut either).
fn hold_input() {
    let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let Some(select) = Reflect::get(&doc, &"querySelectorAll".into())
        .ok()
        .and_then(|f| f.dyn_into::<Function>().ok())
    else {
        return;
    };
    let Ok(fields) = select.call1(&doc, &"input, textarea".into()) else {
        return;
    };
    for f in js_sys::Array::from(&fields).iter() {
        let _ = Reflect::set(&f, &"readOnly".into(), &true.into());
    }
}

async fn register(on_update: Rc<dyn Fn()>) -> Result<(), String> {
    let container = container().ok_or("this browser has no service workers here")?;

    // After the user applied an update (here or in another tab), the new worker takes
    // over: save, then reload into its build. The first worker taking control of a
    // page that had none (first visit) changes nothing.
    let was_controlled = Rc::new(Cell::new(container.controller().is_some()));
    let on_change = Closure::<dyn Fn()>::new(move || {
        if was_controlled.replace(true) {
            spawn_local(async {
                let _ = flush_saves().await;
                // A key typed after the saves were flushed and before the page goes away
                // would be lost (the flush saw a pause between two keys, as a loaded
                // machine makes): the fields take no more keys, then what they hold is
                // saved, then the page reloads.
                hold_input();
                let _ = flush_saves().await;
                if let Some(w) = web_sys::window() {
                    let _ = w.location().reload();
                }
            });
        }
    });
    container.set_oncontrollerchange(Some(on_change.as_ref().unchecked_ref()));
    on_change.forget();

    let options = RegistrationOptions::new();
    options.set_type("module");
    // The worker's imports (/pkg/tern.js) always come from the server, never from an
    // HTTP cache holding another build.
    options.set_update_via_cache(ServiceWorkerUpdateViaCache::None);
    let reg: ServiceWorkerRegistration =
        JsFuture::from(container.register_with_options("/sw.js", &options))
            .await
            .map_err(js_error)?
            .unchecked_into();

    let offer = {
        let reg = reg.clone();
        let container = container.clone();
        Rc::new(move || {
            // A waiting worker with a controller in place is an update; without a
            // controller it is the first install and activates by itself.
            if reg.waiting().is_some() && container.controller().is_some() {
                on_update();
            }
        })
    };
    offer(); // waiting since an earlier visit
    let found = {
        let reg = reg.clone();
        let offer = offer.clone();
        Closure::<dyn Fn()>::new(move || {
            let Some(worker) = reg.installing() else {
                return;
            };
            let offer = offer.clone();
            let w = worker.clone();
            let changed = Closure::<dyn Fn()>::new(move || {
                if w.state() == ServiceWorkerState::Installed {
                    offer();
                }
            });
            worker.set_onstatechange(Some(changed.as_ref().unchecked_ref()));
            changed.forget();
        })
    };
    reg.set_onupdatefound(Some(found.as_ref().unchecked_ref()));
    found.forget();

    // New deployments are also looked for while the app stays open.
    if let Some(w) = web_sys::window() {
        let reg = reg.clone();
        let check = Closure::<dyn Fn()>::new(move || {
            let _ = reg.update();
        });
        let _ = w.set_interval_with_callback_and_timeout_and_arguments_0(
            check.as_ref().unchecked_ref(),
            UPDATE_CHECK_MS,
        );
        let _ = w.add_event_listener_with_callback("online", check.as_ref().unchecked_ref());
        check.forget();
    }
    Ok(())
}

/// Saves, then lets the waiting worker take over; the `controllerchange` handler
/// reloads the page into the new build.
pub async fn apply_update() -> Result<(), String> {
    flush_saves().await?;
    let container = container().ok_or("no service worker")?;
    let reg: ServiceWorkerRegistration = JsFuture::from(container.get_registration())
        .await
        .map_err(js_error)?
        .dyn_into()
        .map_err(|_| "the service worker is no longer registered; reload the page")?;
    let waiting = reg
        .waiting()
        .ok_or("the update is no longer waiting; reload the page")?;
    let msg = Object::new();
    let _ = Reflect::set(&msg, &"type".into(), &"skip-waiting".into());
    waiting.post_message(&msg).map_err(js_error)
}

/// `navigator.storage.persist()` unless already persisted: `Some(granted)`, or `None`
/// where the browser has no storage manager.
async fn persist_storage() -> Option<bool> {
    let nav = web_sys::window()?.navigator();
    if !Reflect::has(&nav, &"storage".into()).unwrap_or(false) {
        return None;
    }
    let storage = nav.storage();
    if JsFuture::from(storage.persisted().ok()?)
        .await
        .ok()?
        .as_bool()
        == Some(true)
    {
        return Some(true);
    }
    JsFuture::from(storage.persist().ok()?)
        .await
        .ok()?
        .as_bool()
}

/// Asks the service worker to sync when connectivity returns (Background Sync), where the
/// browser supports it; elsewhere the app syncs on its next launch.
pub fn request_background_sync() {
    let Some(container) = container() else { return };
    spawn_local(async move {
        let Ok(ready) = container.ready() else { return };
        let Ok(reg) = JsFuture::from(ready).await else {
            return;
        };
        // `registration.sync` (SyncManager) exists in Chromium only.
        let Ok(sync) = Reflect::get(&reg, &"sync".into()) else {
            return;
        };
        if sync.is_undefined() {
            return;
        }
        let register = Reflect::get(&sync, &"register".into())
            .ok()
            .and_then(|f| f.dyn_into::<Function>().ok());
        if let Some(register) = register
            && let Ok(p) = register.call1(&sync, &SYNC_TAG.into())
            && let Ok(p) = p.dyn_into::<Promise>()
        {
            let _ = JsFuture::from(p).await;
        }
    });
}

/// One Background Sync event, [`sync_run`], whose code is in a wasm module of its own
/// (`pkg/split_worker.wasm`, and chunks it shares with other split modules): the start-up
/// module holds only this loader, so the page's first paint does not download what only
/// the worker runs (the store and the sync engine leave the start-up module once the
/// page's own start-up code no longer reaches them either). The service worker precaches
/// the module and loads it from its cache (`self.fetch` in `server/src/sw.js`). A module
/// that cannot be loaded rejects the run with [`NOT_LOADED`], never a panic (the browser
/// retries the Background Sync later); a failed load is not remembered, a later call
/// loads it again.
// (The link between two wasm modules: `extern "C"` functions the macro writes.)
#[allow(unsafe_code)]
pub async fn worker_sync() -> Result<String, String> {
    #[leptos::wasm_split::wasm_split(worker, wasm_split_path = ::leptos::wasm_split, fallible)]
    fn load() -> Result<Run, NotLoaded> {
        Ok(Box::pin(sync_run()))
    }
    match load().await {
        Ok(run) => run.await,
        Err(NotLoaded) => Err(NOT_LOADED.into()),
    }
}

/// Why a run failed when its module could not be loaded (the split loader logged why).
const NOT_LOADED: &str =
    "the sync engine's module (pkg/split_worker.wasm) could not be loaded; the console says why";

/// A run of [`sync_run`], handed over by its module.
type Run = Pin<Box<dyn Future<Output = Result<String, String>>>>;

/// The module of [`sync_run`] could not be loaded.
struct NotLoaded;

impl From<leptos::wasm_split::SplitLoaderError> for NotLoaded {
    fn from(_: leptos::wasm_split::SplitLoaderError) -> Self {
        Self
    }
}

/// One Background Sync event: the sync runner (the page's policy decides the retries
/// within the event) on the signed-in account's database, as this browser's records
/// name it, over a connection of its own that is closed at once afterwards, so this
/// worker never holds up a schema upgrade by a new build.
async fn sync_run() -> Result<String, String> {
    let db = match worker_target().await? {
        WorkerTarget::Sync(db) => db,
        WorkerTarget::Nobody => return Ok("not signed in: nothing to sync".into()),
        WorkerTarget::SignOut { ended: true } => {
            return Ok("signed out: the session is ended".into());
        }
        WorkerTarget::SignOut { ended: false } => {
            return Err("the sign-out has not reached the server yet".into());
        }
    };
    let store = match IdbStore::open(&db).await {
        Ok(s) => Rc::new(s),
        Err(e) => return Err(format!("local storage: {e}")),
    };
    let runner = Runner::new(
        store.clone(),
        FetchTransport::same_origin(),
        RunnerConfig {
            db: db.clone(),
            signed_in: true,
            on_network_failure: None,
            // Under the lock: the account still is the one signed in here.
            guard: Some(guard_for(db, worker_records)),
            // The worker syncs on its events only; the page keeps the live channel.
            live_url: None,
        },
    );
    let result = runner.run_background().await;
    runner.stop();
    drop(runner);
    if let Ok(store) = Rc::try_unwrap(store) {
        store.close();
    }
    result
}
