//! The storage notice: what eviction puts at risk for this user (see
//! [`crate::model::storage`]), with what to do about it.

use leptos::prelude::*;

use crate::components::account::open_signin;
use crate::io::{self, ExportKind};
use crate::model::storage::{Case, Notice, Threats, notice, safari_like};
use crate::model::{PageState, Ui};

/// Safari's 7-day cap applies: a WebKit browser, not a Home Screen app.
fn seven_day_cap() -> bool {
    let (ua, standalone) = io::page::user_agent();
    safari_like(&ua) && !standalone
}

/// The storage notice (see the module docs).
#[component]
pub fn StorageNotice() -> impl IntoView {
    let app = PageState::get();
    let ui = Ui::get();
    let (dismissed, set_dismissed) = signal(None::<String>);
    let (seven_days, set_seven_days) = signal(false);
    Effect::new(move |_| {
        set_dismissed.set(io::page::notice_dismissed());
        set_seven_days.set(seven_day_cap());
    });
    let case = move || {
        if app.user.get().is_some() {
            Case::Account
        } else {
            Case::NoAccount
        }
    };
    let text = move || -> Option<Notice> {
        let threats = Threats {
            refused: ui.persisted.get() == Some(false),
            seven_days: seven_days.get(),
        };
        let (unsynced, total) = app.snap.with(|s| (s.unsynced, s.total));
        notice(case(), threats, unsynced, total)
    };
    let shown = move || {
        app.ready.get() && text().is_some() && dismissed.get().as_deref() != Some(case().as_str())
    };
    let dismiss = move |_| {
        let c = case().as_str();
        io::page::dismiss_notice(c);
        set_dismissed.set(Some(c.to_owned()));
    };
    let create_account = move |_| open_signin(ui);
    let (exported, set_exported) = signal(String::new());
    let export = move |_| {
        set_exported.set("Exporting…".into());
        leptos::task::spawn_local(async move {
            set_exported.set(match io::export::export(ExportKind::Json, false).await {
                Ok(n) => format!(
                    "Exported {n} {} to a file.",
                    if n == 1 { "note" } else { "notes" }
                ),
                Err(e) => format!("Not exported: {e}"),
            });
        });
    };
    view! {
        <Show when=shown>
            // One compact line; why, and what to do, a click away.
            <div class="banner storage" role="status" data-testid="storage-notice"
                data-case=move || case().as_str()>
                <details>
                    <summary>
                        {move || text().map(|t| t.line).unwrap_or_default()}
                        <span class="more">" Details"</span>
                    </summary>
                    <p>{move || text().map(|t| t.details).unwrap_or_default()}</p>
                    <div class="row">
                        <Show when=move || case() == Case::NoAccount>
                            <button type="button" on:click=create_account>"Create an account"</button>
                            <button type="button" on:click=export>"Export my notes"</button>
                        </Show>
                        <Show when=move || { case() == Case::Account && app.snap.with(|s| s.unsynced) > 0 }>
                            <button type="button" on:click=move |_| app.syncer.now()>"Sync them now"</button>
                        </Show>
                    </div>
                </details>
                <button type="button" class="dismiss" on:click=dismiss>"Dismiss"</button>
                <Show when=move || !exported.get().is_empty()>
                    <p data-testid="storage-export">{move || exported.get()}</p>
                </Show>
            </div>
        </Show>
    }
}
