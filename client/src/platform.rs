//! What the client needs from its platform: the wall clock, random ids, and (in the
//! browser) whether it is online and a timer.

/// Milliseconds since the Unix epoch.
#[cfg(target_arch = "wasm32")]
pub fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

/// Milliseconds since the Unix epoch.
#[cfg(not(target_arch = "wasm32"))]
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// A random id of 22 characters from `[A-Za-z0-9_-]` (128 bits, like a UUID).
pub fn random_id() -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut bytes = [0u8; 22];
    fill_random(&mut bytes);
    bytes
        .iter()
        .map(|b| ALPHABET[(b & 63) as usize] as char)
        .collect()
}

#[cfg(target_arch = "wasm32")]
fn fill_random(buf: &mut [u8]) {
    use wasm_bindgen::JsCast;
    // `crypto` exists on both Window and WorkerGlobalScope.
    let crypto = js_sys::Reflect::get(&js_sys::global(), &"crypto".into())
        .ok()
        .and_then(|c| c.dyn_into::<web_sys::Crypto>().ok());
    match crypto {
        Some(c) if c.get_random_values_with_u8_array(buf).is_ok() => {}
        _ => {
            for b in buf.iter_mut() {
                *b = (js_sys::Math::random() * 256.0) as u8;
            }
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn fill_random(buf: &mut [u8]) {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    for chunk in buf.chunks_mut(8) {
        let mut h = RandomState::new().build_hasher();
        h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
        h.write_u64(now_ms());
        let v = h.finish().to_le_bytes();
        chunk.copy_from_slice(&v[..chunk.len()]);
    }
}

/// A uniformly random number in [0, 1).
pub fn random_unit() -> f64 {
    let mut b = [0u8; 8];
    fill_random(&mut b);
    (u64::from_le_bytes(b) >> 11) as f64 / (1u64 << 53) as f64
}

/// Whether the browser believes it is online (`navigator.onLine`); always true natively.
#[cfg(target_arch = "wasm32")]
pub fn is_online() -> bool {
    let nav = js_sys::Reflect::get(&js_sys::global(), &"navigator".into()).ok();
    nav.and_then(|n| js_sys::Reflect::get(&n, &"onLine".into()).ok())
        .and_then(|v| v.as_bool())
        .unwrap_or(true)
}

/// Whether the browser believes it is online (`navigator.onLine`); always true natively.
#[cfg(not(target_arch = "wasm32"))]
pub fn is_online() -> bool {
    true
}

/// Waits `ms` milliseconds, in the page or a worker (`setTimeout`; at once where there is
/// none).
#[cfg(target_arch = "wasm32")]
pub async fn sleep_ms(ms: u64) {
    use js_sys::{Function, Promise, Reflect};
    use wasm_bindgen::{JsCast, JsValue};
    let set_timeout = Reflect::get(&js_sys::global(), &"setTimeout".into())
        .ok()
        .and_then(|f| f.dyn_into::<Function>().ok());
    let p = Promise::new(&mut |resolve, _| match &set_timeout {
        Some(f) => drop(f.call2(&JsValue::NULL, &resolve, &JsValue::from(ms as f64))),
        None => drop(resolve.call0(&JsValue::NULL)),
    });
    let _ = wasm_bindgen_futures::JsFuture::from(p).await;
}
