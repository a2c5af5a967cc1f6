//! Waiting for a sync lock (the Web Lock of a database, `client::tabs::names_for`): a
//! session change (sign-in, sign-out) waits for the lock of the signed-in account's
//! database, so no sync of any tab or of the service worker runs while the session cookie
//! changes (syncs only take the lock when it is free).

use std::future::Future;

/// Runs `f` holding the Web Lock `name`, waiting for it when another context holds it.
/// Where Web Locks are missing, runs `f` unguarded.
pub(crate) async fn with_lock_wait<T, F: Future<Output = T>>(name: &str, f: F) -> T {
    use std::cell::RefCell;
    use std::rc::Rc;

    use js_sys::{Function, Promise, Reflect};
    use wasm_bindgen::JsCast;
    use wasm_bindgen::prelude::*;
    use wasm_bindgen_futures::JsFuture;

    let request = Reflect::get(&js_sys::global(), &"navigator".into())
        .and_then(|n| Reflect::get(&n, &"locks".into()))
        .ok()
        .filter(|l| !l.is_undefined())
        .and_then(|locks| {
            let r = Reflect::get(&locks, &"request".into()).ok()?;
            Some((locks, r.dyn_into::<Function>().ok()?))
        });
    let Some((locks, request)) = request else {
        return f.await;
    };
    // `request(name, cb)`: cb runs once the lock is granted; the lock is held until the
    // promise cb returns settles. We hand it `held`, resolved after `f`.
    let release: Rc<RefCell<Option<Function>>> = Rc::new(RefCell::new(None));
    let held = {
        let release = release.clone();
        Promise::new(&mut move |resolve, _| *release.borrow_mut() = Some(resolve))
    };
    let got: Rc<RefCell<Option<Function>>> = Rc::new(RefCell::new(None));
    let granted = {
        let got = got.clone();
        Promise::new(&mut move |resolve, _| *got.borrow_mut() = Some(resolve))
    };
    let callback = Closure::once(move |_lock: JsValue| -> Promise {
        if let Some(g) = got.borrow_mut().take() {
            let _ = g.call0(&JsValue::NULL);
        }
        held
    });
    if request
        .call2(&locks, &name.into(), callback.as_ref().unchecked_ref())
        .is_err()
    {
        return f.await;
    }
    let _ = JsFuture::from(granted).await;
    let result = f.await;
    if let Some(r) = release.borrow_mut().take() {
        let _ = r.call0(&JsValue::NULL);
    }
    drop(callback);
    result
}
