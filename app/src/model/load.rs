//! [`Load`]: a value read asynchronously, again whenever what its read tracks changes (or
//! on [`Load::refetch`]), with the newest read winning: the shape of Leptos's
//! `LocalResource`, for the screens that read on demand (a note's history, the trash, the
//! signed-in devices).
//!
//! Why not `LocalResource` itself: it brings Leptos's async-derived machinery into the
//! wasm, measured at 11.1 KB gzipped for the first use (release build, `gzip -9`, 565,551
//! bytes with one against 554,445 with none), and the release wasm must not grow. This is
//! one effect, two signals and a counter, the effect and its task of one type for every
//! `Load`. As with `LocalResource`, nothing is read on the
//! server (effects run in the browser only): the server renders the "not read yet" state.

use std::future::Future;
use std::pin::Pin;

use leptos::prelude::*;
use leptos::task::spawn_local;

/// A value read asynchronously (see the module docs). `Copy`: signals are handles.
pub struct Load<T: Send + Sync + 'static> {
    /// The last read's value (`None` until the first read lands).
    value: RwSignal<Option<T>>,
    /// Bumped by [`Load::refetch`].
    asked: RwSignal<u64>,
}

impl<T: Send + Sync + 'static> Clone for Load<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: Send + Sync + 'static> Copy for Load<T> {}

impl<T: Send + Sync + 'static> std::fmt::Debug for Load<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Load").finish_non_exhaustive()
    }
}

impl<T: Clone + Send + Sync + 'static> Load<T> {
    /// Reads with `read` now (in the browser) and whenever a signal it tracks changes; a
    /// read that a newer one overtook is dropped.
    pub fn new<F: Future<Output = T> + 'static>(read: impl Fn() -> F + 'static) -> Self {
        let value = RwSignal::new(None);
        let asked = RwSignal::new(0);
        let reads = StoredValue::new(0u64);
        follow(Box::new(move || {
            asked.track();
            let future = read();
            let n = reads.get_value() + 1;
            reads.set_value(n);
            Box::pin(async move {
                let got = future.await;
                if reads.get_value() == n {
                    value.set(Some(got));
                }
            })
        }));
        Self { value, asked }
    }

    /// The last read's value (tracked), `None` until the first read lands.
    pub fn get(&self) -> Option<T> {
        self.value.get()
    }

    /// Reads again (after a change the read does not track: a device signed out).
    pub fn refetch(&self) {
        self.asked.update(|n| *n += 1);
    }
}

/// Runs `start` now and whenever a signal it tracks changes, and spawns the read it
/// starts: one effect and one task type for every [`Load`], whatever it reads (each
/// generic effect would be code of its own in the wasm).
fn follow(start: Box<dyn Fn() -> Pin<Box<dyn Future<Output = ()>>>>) {
    Effect::new(move |_| spawn_local(start()));
}
