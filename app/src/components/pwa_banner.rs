//! The installable app's banners: "An update is ready. Reload" (applied only when the
//! user clicks, after the last edit is saved) and offline-support problems; and the
//! build's `<meta>` in the page's head. The service worker's plumbing is `io::pwa`; the
//! persistent-storage refusal is told by the storage notice.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::io::{self, BuildId};
use crate::model::Ui;

/// `<meta name="tern-build">`: which build this page is (for the head of the shell).
#[component]
pub fn BuildMeta() -> impl IntoView {
    use_context::<BuildId>().map(|b| view! { <meta name="tern-build" content=b.0/> })
}

/// Update offer and offline-support problems (the persistent-storage notice is
/// [`super::storage_notice::StorageNotice`]).
#[component]
pub fn PwaBanner() -> impl IntoView {
    let (update_ready, set_update_ready) = signal(false);
    let (applying, set_applying) = signal(false);
    let ui = Ui::get();
    let (problem, set_problem) = signal(None::<String>);

    Effect::new(move |_| {
        io::pwa::start(
            move || set_update_ready.set(true),
            // Said by the storage notice (`components::storage_notice`), which knows who is signed in.
            move || ui.persisted.set(Some(false)),
            move |e| set_problem.set(Some(e)),
        );
    });
    let apply = move |_| {
        set_applying.set(true);
        spawn_local(async move {
            if let Err(e) = io::pwa::apply_update().await {
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
