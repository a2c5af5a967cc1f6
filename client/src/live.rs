//! The live channel on the device: one `GET /live` connection per browser and account,
//! whose pokes make the runner sync at once (the runner's `Trigger::Poke`; the runner
//! starts the channel, the channel knows nothing of the runner).
//!
//! - **One per browser, not per tab.** The tab that holds the Web Lock `tern-live:<db>`
//!   keeps the connection; the other tabs wait in the lock's queue, and the next one takes
//!   over when that tab closes. The holder's runner syncs on a poke, and the other tabs
//!   learn of the new notes through the change channel, as after any sync.
//! - **Robust.** Any error closes the connection and a new one is opened after a delay
//!   with backoff and jitter ([`reconnect_delay_ms`]), at once when the browser comes back
//!   online. The server sends a heartbeat every 15 s; a connection silent for
//!   [`SILENCE_MS`] died without a word and is replaced. Every (re)connection is poked at
//!   once by the server, so a gap never loses a change.
//! - **A fallback, not a replacement.** While the channel is up, the runner's poll slows
//!   to `runner::LIVE_FALLBACK_MS`; while it is down, the 30 s poll goes on.
//!
//! The rules are pure functions here, tested natively; the browser part is below them.

use sync_core::protocol::{Cursor, Poke};

/// A connection that has heard nothing (not even a heartbeat) for this long is dead.
pub const SILENCE_MS: u64 = 45_000;
/// First delay before reconnecting after an error.
pub const RECONNECT_MIN_MS: u64 = 1_000;
/// Longest delay before reconnecting.
pub const RECONNECT_MAX_MS: u64 = 60_000;

/// The delay before reconnection attempt number `failures` (1 = the first after an error),
/// doubling from [`RECONNECT_MIN_MS`] up to [`RECONNECT_MAX_MS`], and jittered by `rand`
/// in [0, 1) to between half and all of it, so that devices cut off together (a server
/// restart) do not all come back at the same instant.
pub fn reconnect_delay_ms(failures: u32, rand: f64) -> u64 {
    let full = RECONNECT_MIN_MS
        .saturating_mul(1u64 << failures.saturating_sub(1).min(16))
        .min(RECONNECT_MAX_MS);
    let rand = rand.clamp(0.0, 1.0);
    full / 2 + ((full / 2) as f64 * rand) as u64
}

/// Whether a poke with this `data` (a [`Poke`], JSON) needs a sync, given the device's stored
/// pull cursor: a poke naming the cursor the device already has says nothing new (for
/// example the device's own push, already pulled in the same round). Data that does not
/// read as a poke needs a sync.
pub fn poke_needs_sync(data: &str, stored_cursor: Option<&str>) -> bool {
    serde_json::from_str::<Poke>(data).map_or(true, |poke| {
        poke.needs_sync(stored_cursor.map(|c| Cursor(c.to_owned())).as_ref())
    })
}

/// The name of the live channel's Web Lock for the local database `db`.
pub fn lock_name(db: &str) -> String {
    format!("tern-live:{db}")
}

#[cfg(target_arch = "wasm32")]
pub use browser::{Handlers, LiveChannel};

#[cfg(target_arch = "wasm32")]
mod browser {
    use std::cell::{Cell, RefCell};
    use std::rc::Rc;

    use js_sys::{Function, Promise, Reflect};
    use wasm_bindgen::JsCast;
    use wasm_bindgen::prelude::*;
    use wasm_bindgen_futures::spawn_local;
    use web_sys::{EventSource, MessageEvent};

    use super::{SILENCE_MS, reconnect_delay_ms};

    /// Callbacks of a [`LiveChannel`].
    pub struct Handlers {
        /// A poke arrived, with its data (JSON).
        pub on_poke: Box<dyn Fn(String)>,
        /// The channel went up (`true`) or down (`false`).
        pub on_state: Box<dyn Fn(bool)>,
    }

    impl std::fmt::Debug for Handlers {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("Handlers").finish_non_exhaustive()
        }
    }

    struct Inner {
        url: String,
        handlers: Handlers,
        source: RefCell<Option<EventSource>>,
        /// Closures the open connection calls; dropped with it.
        listeners: RefCell<Vec<Closure<dyn FnMut(JsValue)>>>,
        failures: Cell<u32>,
        stopped: Cell<bool>,
        /// Whether this tab holds the lock (or runs without Web Locks).
        leading: Cell<bool>,
        /// Bumped on every (re)connection: timers of an older one do nothing.
        generation: Cell<u32>,
        /// When the open connection last heard anything (ms since the epoch).
        heard_at: Cell<f64>,
        /// Releases the Web Lock (resolves the promise the lock is held by).
        release: RefCell<Option<Function>>,
    }

    /// The live connection of this browser for one account (see the module doc).
    #[derive(Clone)]
    pub struct LiveChannel(Rc<Inner>);

    impl std::fmt::Debug for LiveChannel {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("LiveChannel").finish_non_exhaustive()
        }
    }

    /// Runs `f` after `ms` milliseconds.
    fn after(ms: u64, f: impl FnOnce() + 'static) {
        spawn_local(async move {
            crate::platform::sleep_ms(ms).await;
            f();
        });
    }

    impl LiveChannel {
        /// Starts the channel at `url` once this tab holds the Web Lock `lock`.
        pub fn start(url: &str, lock: &str, handlers: Handlers) -> Self {
            let ch = Self(Rc::new(Inner {
                url: url.to_owned(),
                handlers,
                source: RefCell::new(None),
                listeners: RefCell::new(Vec::new()),
                failures: Cell::new(0),
                stopped: Cell::new(false),
                leading: Cell::new(false),
                generation: Cell::new(0),
                heard_at: Cell::new(0.0),
                release: RefCell::new(None),
            }));
            let me = ch.clone();
            let online = Closure::<dyn FnMut(JsValue)>::new(move |_| {
                if me.0.leading.get() {
                    me.0.failures.set(0);
                    me.connect();
                }
            });
            let _ = js_sys::global()
                .unchecked_into::<web_sys::EventTarget>()
                .add_event_listener_with_callback("online", online.as_ref().unchecked_ref());
            online.forget();
            ch.lead(lock);
            ch
        }

        /// Closes the connection for good and lets another tab take over (sign-out).
        pub fn stop(&self) {
            self.0.stopped.set(true);
            self.close();
            if let Some(r) = self.0.release.borrow_mut().take() {
                let _ = r.call0(&JsValue::NULL);
            }
        }

        /// Connects once this tab holds the lock `lock` (at once without Web Locks).
        fn lead(&self, lock: &str) {
            let locks = Reflect::get(&js_sys::global(), &"navigator".into())
                .and_then(|n| Reflect::get(&n, &"locks".into()))
                .ok()
                .filter(|l| !l.is_undefined());
            let request = locks.as_ref().and_then(|l| {
                Reflect::get(l, &"request".into())
                    .ok()?
                    .dyn_into::<Function>()
                    .ok()
            });
            let (Some(locks), Some(request)) = (locks, request) else {
                self.0.leading.set(true);
                self.connect();
                return;
            };
            let me = self.clone();
            // The lock is held until the promise the callback returns settles: resolved by
            // `stop`, or never (held until the tab closes; the next tab then takes over).
            let callback = Closure::once(move |_lock: JsValue| -> Promise {
                // Stopped while waiting for the lock: let it go at once.
                if me.0.stopped.get() {
                    return Promise::resolve(&JsValue::UNDEFINED);
                }
                // (The resolver goes into this channel's own cell, the one `stop` empties.)
                let held =
                    Promise::new(&mut |resolve, _| *me.0.release.borrow_mut() = Some(resolve));
                me.0.leading.set(true);
                me.connect();
                held
            });
            let _ = request.call2(&locks, &lock.into(), callback.as_ref().unchecked_ref());
            callback.forget();
        }

        fn close(&self) {
            if let Some(es) = self.0.source.borrow_mut().take() {
                es.close();
            }
            self.0.listeners.borrow_mut().clear();
            self.0
                .generation
                .set(self.0.generation.get().wrapping_add(1));
        }

        fn connect(&self) {
            if self.0.stopped.get() {
                return;
            }
            self.close();
            let Ok(es) = EventSource::new(&self.0.url) else {
                self.retry_later();
                return;
            };
            let generation = self.0.generation.get();
            let me = self.clone();
            let on_poke = Closure::<dyn FnMut(JsValue)>::new(move |e: JsValue| {
                me.heard(generation);
                let data = e
                    .dyn_into::<MessageEvent>()
                    .ok()
                    .and_then(|m| m.data().as_string())
                    .unwrap_or_default();
                (me.0.handlers.on_poke)(data);
            });
            let me = self.clone();
            let on_hb = Closure::<dyn FnMut(JsValue)>::new(move |_| me.heard(generation));
            let me = self.clone();
            let on_open = Closure::<dyn FnMut(JsValue)>::new(move |_| {
                me.0.failures.set(0);
                (me.0.handlers.on_state)(true);
                me.heard(generation);
            });
            let me = self.clone();
            let on_error = Closure::<dyn FnMut(JsValue)>::new(move |_| {
                // Our own backoff, not the browser's fixed retry: close and come back later.
                if me.0.generation.get() == generation {
                    (me.0.handlers.on_state)(false);
                    me.close();
                    me.retry_later();
                }
            });
            for (name, l) in [
                ("poke", &on_poke),
                ("hb", &on_hb),
                ("open", &on_open),
                ("error", &on_error),
            ] {
                let _ = es.add_event_listener_with_callback(name, l.as_ref().unchecked_ref());
            }
            *self.0.source.borrow_mut() = Some(es);
            *self.0.listeners.borrow_mut() = vec![on_poke, on_hb, on_open, on_error];
        }

        /// Connection `generation` heard something: it is alive. If it then stays silent
        /// for [`SILENCE_MS`] (heartbeats come every 15 s), it died without a word.
        fn heard(&self, generation: u32) {
            self.0.heard_at.set(js_sys::Date::now());
            let me = self.clone();
            after(SILENCE_MS, move || {
                let quiet = js_sys::Date::now() - me.0.heard_at.get();
                if me.0.generation.get() == generation && quiet >= SILENCE_MS as f64 {
                    (me.0.handlers.on_state)(false);
                    me.connect();
                }
            });
        }

        fn retry_later(&self) {
            let failures = self.0.failures.get() + 1;
            self.0.failures.set(failures);
            let delay = reconnect_delay_ms(failures, js_sys::Math::random());
            let me = self.clone();
            let generation = self.0.generation.get();
            after(delay, move || {
                if me.0.generation.get() == generation {
                    me.connect();
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconnects_back_off_with_jitter_and_a_cap() {
        assert_eq!(reconnect_delay_ms(1, 0.0), 500);
        assert_eq!(reconnect_delay_ms(1, 0.999_999), 999);
        assert_eq!(reconnect_delay_ms(3, 0.0), 2_000);
        assert_eq!(reconnect_delay_ms(30, 0.0), RECONNECT_MAX_MS / 2);
        assert!(reconnect_delay_ms(30, 0.999) < RECONNECT_MAX_MS);
        // Two devices cut off together come back at different times.
        assert_ne!(reconnect_delay_ms(2, 0.1), reconnect_delay_ms(2, 0.7));
    }

    #[test]
    fn a_poke_naming_the_stored_cursor_needs_no_sync() {
        assert!(!poke_needs_sync(r#"{"cursor":"v1.42"}"#, Some("v1.42")));
        assert!(poke_needs_sync(r#"{"cursor":"v1.43"}"#, Some("v1.42")));
        assert!(poke_needs_sync("{}", Some("v1.42")), "a poke after a gap");
        assert!(
            poke_needs_sync(r#"{"cursor":"v1.1"}"#, None),
            "nothing pulled yet"
        );
        assert!(poke_needs_sync("not json", Some("v1.1")), "unknown: sync");
    }
}
