//! Coordination between tabs (and the service worker) of the same origin.
//!
//! - [`with_sync_lock`]: runs a sync only while holding the Web Lock `tern-sync`, so two
//!   tabs never sync at the same time. When another context holds it, the call returns
//!   `None` at once: that context is syncing, and will announce what changed.
//! - [`announce_change`] / [`on_change`]: a `BroadcastChannel` named `tern` on which every
//!   context says "the local store changed", so the others re-read it without a reload.

use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;

use js_sys::{Function, Object, Promise, Reflect};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

/// Name of the lock held while syncing.
pub const SYNC_LOCK: &str = "tern-sync";
/// Name of the channel of change notices.
pub const CHANNEL: &str = "tern";

/// Runs `f` while holding the sync lock, or returns `None` without running it if another
/// tab holds the lock. Where Web Locks are missing, runs `f` unguarded.
pub async fn with_sync_lock<T, F: Future<Output = T>>(f: F) -> Option<T> {
    with_lock(SYNC_LOCK, f).await
}

/// The names of the sync lock and the change channel of the local database `db`: the
/// historical `tern-sync` and `tern` for the database `tern`, suffixed for any other (one
/// database per account: syncing one never waits for another's).
pub fn names_for(db: &str) -> (String, String) {
    if db == "tern" {
        (SYNC_LOCK.to_owned(), CHANNEL.to_owned())
    } else {
        (format!("{SYNC_LOCK}:{db}"), format!("{CHANNEL}:{db}"))
    }
}

/// Runs `f` while holding the Web Lock `name`, or returns `None` without running it if
/// another context holds it. Where Web Locks are missing, runs `f` unguarded.
pub async fn with_lock<T, F: Future<Output = T>>(name: &str, f: F) -> Option<T> {
    let locks = Reflect::get(&js_sys::global(), &"navigator".into())
        .and_then(|n| Reflect::get(&n, &"locks".into()))
        .ok()
        .filter(|l| !l.is_undefined());
    let Some(locks) = locks else {
        return Some(f.await);
    };
    let Ok(request) = Reflect::get(&locks, &"request".into()) else {
        return Some(f.await);
    };
    let Ok(request) = request.dyn_into::<Function>() else {
        return Some(f.await);
    };

    // `request(name, {ifAvailable: true}, cb)`: cb gets the lock (or null) and the lock is
    // held until the promise cb returns settles. We hand it `held`, resolved after `f`.
    let release: Rc<RefCell<Option<Function>>> = Rc::new(RefCell::new(None));
    let held = {
        let release = release.clone();
        Promise::new(&mut move |resolve, _| *release.borrow_mut() = Some(resolve))
    };
    let got: Rc<RefCell<Option<Function>>> = Rc::new(RefCell::new(None));
    let acquired = {
        let got = got.clone();
        Promise::new(&mut move |resolve, _| *got.borrow_mut() = Some(resolve))
    };
    let callback = Closure::once(move |lock: JsValue| -> Promise {
        let have = !lock.is_null();
        if let Some(g) = got.borrow_mut().take() {
            let _ = g.call1(&JsValue::NULL, &JsValue::from_bool(have));
        }
        if have {
            held
        } else {
            Promise::resolve(&JsValue::NULL)
        }
    });
    let options = Object::new();
    let _ = Reflect::set(&options, &"ifAvailable".into(), &JsValue::TRUE);
    if request
        .call3(
            &locks,
            &name.into(),
            &options,
            callback.as_ref().unchecked_ref(),
        )
        .is_err()
    {
        return Some(f.await);
    }
    let have = JsFuture::from(acquired)
        .await
        .ok()
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    let result = if have { Some(f.await) } else { None };
    if let Some(r) = release.borrow_mut().take() {
        let _ = r.call0(&JsValue::NULL);
    }
    drop(callback);
    result
}

/// Tells the other tabs that the local store changed.
pub fn announce_change() {
    announce(CHANNEL);
}

/// Posts "changed" on the channel `name`.
pub fn announce(name: &str) {
    if let Ok(ch) = web_sys::BroadcastChannel::new(name) {
        let _ = ch.post_message(&JsValue::from_str("changed"));
        ch.close();
    }
}

/// Calls `f` whenever another tab announces a change. Lives as long as the page.
pub fn on_change(f: impl Fn() + 'static) {
    // Never dropped: the listener (its channel and closure) lives as long as the page.
    #[allow(clippy::mem_forget)]
    std::mem::forget(listen(CHANNEL, f));
}

/// A listener on a change channel; dropping it stops listening.
pub struct Listener {
    channel: web_sys::BroadcastChannel,
    _cb: Closure<dyn Fn(web_sys::MessageEvent)>,
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listener").finish_non_exhaustive()
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.channel.set_onmessage(None);
        self.channel.close();
    }
}

/// Calls `f` whenever another context posts on the channel `name`, until the returned
/// listener is dropped.
pub fn listen(name: &str, f: impl Fn() + 'static) -> Option<Listener> {
    let channel = web_sys::BroadcastChannel::new(name).ok()?;
    let cb = Closure::<dyn Fn(web_sys::MessageEvent)>::new(move |_| f());
    channel.set_onmessage(Some(cb.as_ref().unchecked_ref()));
    Some(Listener { channel, _cb: cb })
}
