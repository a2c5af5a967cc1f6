//! The installable app.
//!
//! Page side ([`PwaBanner`]): registers the service worker (`/sw.js`, served by the server
//! with its build id), tells the user when an update is ready and applies it only when they
//! click "Reload" (after the last edit is saved), asks for persistent storage (the refusal
//! is told by [`crate::storage`]), and hands pending work to Background Sync when the
//! network is gone.
//!
//! Worker side ([`worker_sync`]): the service worker imports the same wasm as the page and
//! runs the same sync runner (`client::runner`) on the same IndexedDB store (the signed-in
//! account's, as this browser's records in the database `tern` name it), under the same
//! Web Lock, so a page and the worker never sync at once.
//!
//! Builds never mix: the worker serves the shell and `/pkg/*` of its own build only, a new
//! worker waits until the user applies it, and then every page it controls saves and
//! reloads, so a page always runs the build (and the local schema) of its worker.

use leptos::prelude::*;
use leptos::task::spawn_local;

/// The build id of the server that rendered the page; the server provides it as context.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildId(pub String);

/// The Background Sync tag the service worker answers.
pub const SYNC_TAG: &str = "tern-sync";

/// `<meta name="tern-build">`: which build this page is (for the head of the shell).
#[component]
pub fn BuildMeta() -> impl IntoView {
    use_context::<BuildId>().map(|b| view! { <meta name="tern-build" content=b.0/> })
}

/// Update offer and offline-support problems (the persistent-storage notice is
/// [`crate::storage::StorageNotice`]).
#[component]
pub fn PwaBanner() -> impl IntoView {
    let (update_ready, set_update_ready) = signal(false);
    let (applying, set_applying) = signal(false);
    let ui = crate::ui::Ui::get();
    let (problem, set_problem) = signal(None::<String>);

    Effect::new(move |_| {
        imp::start(
            move || set_update_ready.set(true),
            // Said by the storage notice (`crate::storage`), which knows who is signed in.
            move || ui.persisted.set(Some(false)),
            move |e| set_problem.set(Some(e)),
        );
    });
    let apply = move |_| {
        set_applying.set(true);
        spawn_local(async move {
            if let Err(e) = imp::apply_update().await {
                set_problem.set(Some(e));
                set_applying.set(false);
            }
        });
    };

    view! {
        <Show when=move || update_ready.get()>
            <p class="banner update" role="status" data-testid="update">
                "An update is ready. "
                <button type="button" on:click=apply disabled=move || applying.get()>
                    "Reload"
                </button>
            </p>
        </Show>
        <Show when=move || problem.get().is_some()>
            <p class="banner error" role="alert" data-testid="pwa-error">
                {move || problem.get().unwrap_or_default()}
            </p>
        </Show>
    }
}

/// Marks a local save in progress (page side): an update waits for it before reloading.
/// Hold it for the duration of the save.
pub struct SaveGuard(());

impl std::fmt::Debug for SaveGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SaveGuard").finish_non_exhaustive()
    }
}

impl SaveGuard {
    /// Starts a save.
    pub fn new() -> Self {
        imp::save_started();
        Self(())
    }
}

impl Default for SaveGuard {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for SaveGuard {
    fn drop(&mut self) {
        imp::save_finished();
    }
}

/// Asks the service worker to sync when connectivity returns (Background Sync), where the
/// browser supports it; elsewhere the app syncs on its next launch.
pub fn request_background_sync() {
    imp::request_background_sync();
}

/// A local-storage error as the user should read it: quota errors say that storage is full.
pub fn describe_storage_error(message: &str) -> String {
    let lower = message.to_ascii_lowercase();
    if lower.contains("quota") || lower.contains("storage is full") {
        "storage is full: free some space on this device, then edit again".to_owned()
    } else {
        message.to_owned()
    }
}

/// One sync run by the service worker (Background Sync): the page's engine on the page's
/// store, under the same lock. `Ok` with what happened (also when nobody is signed in:
/// there is nothing to retry), `Err` when the run failed, after a few attempts within the
/// event when offline or while another context held the lock, and the browser should
/// retry it later.
pub async fn worker_sync() -> Result<String, String> {
    imp::worker_sync().await
}

#[cfg(feature = "hydrate")]
mod imp {
    use std::cell::Cell;
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

    use super::SYNC_TAG;
    use crate::browser::WorkerTarget;

    /// How often an open page asks the server whether a new build is out.
    const UPDATE_CHECK_MS: i32 = 15 * 60_000;
    /// How long an update waits for the last edit to be saved before giving up.
    const FLUSH_TIMEOUT_MS: f64 = 10_000.0;

    thread_local! {
        static SAVES_IN_FLIGHT: Cell<u32> = const { Cell::new(0) };
        static LAST_INPUT_MS: Cell<f64> = const { Cell::new(f64::NEG_INFINITY) };
    }

    pub fn save_started() {
        SAVES_IN_FLIGHT.with(|n| n.set(n.get() + 1));
    }

    pub fn save_finished() {
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

    /// Waits `ms` milliseconds, in a page or in the worker (the global `setTimeout`).
    async fn sleep_ms(ms: i32) {
        let p = Promise::new(&mut |resolve, _| {
            let set_timeout = Reflect::get(&js_sys::global(), &"setTimeout".into())
                .ok()
                .and_then(|f| f.dyn_into::<Function>().ok());
            match set_timeout {
                Some(f) => drop(f.call2(&JsValue::NULL, &resolve, &JsValue::from(ms))),
                None => drop(resolve.call0(&JsValue::NULL)),
            }
        });
        let _ = JsFuture::from(p).await;
    }

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
        let _ = doc.add_event_listener_with_callback_and_bool(
            "input",
            cb.as_ref().unchecked_ref(),
            true,
        );
        cb.forget();
    }

    /// Waits until the editor's last keystroke has been saved to IndexedDB: no input for
    /// longer than the save debounce, and no save in flight.
    async fn flush_saves() -> Result<(), String> {
        let quiet_ms = crate::SAVE_DEBOUNCE.as_millis() as f64 + 50.0;
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

    /// One Background Sync event: the sync runner (the page's policy decides the retries
    /// within the event) on the signed-in account's database, as this browser's records
    /// name it, over a connection of its own that is closed at once afterwards, so this
    /// worker never holds up a schema upgrade by a new build.
    pub async fn worker_sync() -> Result<String, String> {
        let db = match crate::browser::worker_target().await? {
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
                guard: Some(crate::browser::guard_for(db, worker_records)),
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

    fn worker_records() -> crate::browser::GuardRead {
        Box::pin(async {
            let g = IdbStore::open(crate::browser::GUEST_DB)
                .await
                .map_err(|e| e.to_string())?;
            let records = crate::browser::records(&g).await;
            g.close();
            records
        })
    }
}

#[cfg(not(feature = "hydrate"))]
mod imp {
    //! Server side: nothing runs (effects and handlers run in the browser only).

    pub fn save_started() {}

    pub fn save_finished() {}

    pub fn start(_: impl Fn() + 'static, _: impl Fn() + 'static, _: impl Fn(String) + 'static) {}

    pub async fn apply_update() -> Result<(), String> {
        Err("updates are applied in the browser".into())
    }

    pub fn request_background_sync() {}

    pub async fn worker_sync() -> Result<String, String> {
        Err("the sync worker runs in the browser".into())
    }
}
