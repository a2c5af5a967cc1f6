//! The sync status line, the last sync error, and messages for the user.

use leptos::prelude::*;

use crate::model::PageState;

/// "Online · live · syncing… · 2 pending · last synced 10:42", the error of a failed sync, and
/// the current message.
#[component]
pub fn Status() -> impl IntoView {
    let app = PageState::get();
    let line = move || {
        let s = app.sync.get();
        let mut parts = vec![if s.online { "Online" } else { "Offline" }.to_owned()];
        if s.online && s.live {
            parts.push("live".into());
        }
        if s.syncing() && s.received > 0 {
            parts.push(format!("syncing… {} notes received", s.received));
        } else if s.syncing() {
            parts.push("syncing…".into());
        }
        parts.push(format!("{} pending", app.snap.with(|s| s.unsynced)));
        if let Some(t) = &s.last_synced {
            parts.push(format!("last synced {t}"));
        }
        parts.join(" · ")
    };
    view! {
        <p class="status" role="status" data-testid="status"
           data-online=move || app.sync.with(|s| s.online).to_string()
           data-live=move || app.sync.with(|s| s.live).to_string()
           data-syncing=move || app.sync.with(|s| s.syncing()).to_string()
           data-runs=move || app.sync.with(|s| s.runs).to_string()
           data-received=move || app.sync.with(|s| s.received).to_string()>
            {line}
        </p>
    }
}

/// The last sync error and the current message, below the header.
#[component]
pub fn Messages() -> impl IntoView {
    let app = PageState::get();
    let error = move || app.sync.with(|s| s.error().map(str::to_owned));
    view! {
        <Show when=move || error().is_some()>
            <p class="error" role="alert" data-testid="error">
                {move || format!("Sync failed: {}", error().unwrap_or_default())}
            </p>
        </Show>
        <Show when=move || !app.notice.get().is_empty()>
            <p class="message" data-testid="message">{move || app.notice.get()}</p>
        </Show>
    }
}
