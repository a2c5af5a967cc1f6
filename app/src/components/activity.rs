//! The "Sync activity" screen of the settings view (recent sync runs, with "Sync now"),
//! and the attention line under the header (see [`crate::model::activity`]).

use client::runner::RunResult;
use leptos::prelude::*;

use super::lazy::split;
use crate::io;
use crate::model::activity::{ACTIVITY_LIMIT, ActivityLog, attention, describe, next_step};
use crate::model::{PageState, SettingsTab, SyncPhase, Ui};

/// The open "Sync activity" panel (in a module of its own, loaded on first use:
/// [`super::lazy`]).
#[component]
pub fn ActivityScreen() -> impl IntoView {
    let app = PageState::get();
    let ui = Ui::get();
    let rows = move || {
        ui.activity.with(|log| {
            log.runs()
                .map(|r| {
                    let kind = match r.result {
                        RunResult::Synced { .. } => "synced",
                        RunResult::Busy => "busy",
                        RunResult::Failed(_) => "failed",
                    };
                    (
                        r.seq,
                        r.ended_ms,
                        kind,
                        io::page::time_label(r.ended_ms),
                        describe(r),
                        next_step(r, io::page::time_label),
                    )
                })
                .collect::<Vec<_>>()
        })
    };
    view! {
            <section id="sync-activity" class="activity" aria-label="Sync activity"
                data-testid="activity">
                <div class="row">
                    <h2>"Sync activity"</h2>
                    <button type="button" on:click=move |_| app.syncer.now()>"Sync now"</button>
                    <button type="button" on:click=move |_| ui.settings.set(None)>"Close"</button>
                </div>
                <p class="muted">{move || {
                    if app.user.get().is_none() {
                        "Nobody is signed in: notes stay on this device and nothing syncs. \
                         Sign in or create an account to sync them."
                            .to_owned()
                    } else {
                        format!(
                            "The last {ACTIVITY_LIMIT} sync runs of this page, newest first. \
                             Tern syncs on launch, after an edit, when the server says \
                             something changed, and every 30 s (5 min while live)."
                        )
                    }
                }}</p>
                <Show when=move || ui.activity.with(ActivityLog::is_empty)>
                    <p data-testid="activity-empty">"No sync has run since this page opened."</p>
                </Show>
                <ol class="runs" data-testid="runs">
                    <For each=rows key=|r| (r.0, r.1)
                        children=move |(_, _, kind, when, what, next)| view! {
                            <li class="run" data-result=kind>
                                <span class="when">{when}</span>" "
                                <span class="what">{what}</span>" "
                                <span class="next">{next}</span>
                            </li>
                        }
                    />
                </ol>
            </section>
    }
}

/// The attention line under the header.
#[component]
pub fn Attention() -> impl IntoView {
    let app = PageState::get();
    let ui = Ui::get();
    let text = move || {
        // A run refused for want of a session is `Idle` here: the account notice asks the
        // user to sign in.
        let (online, failure) = app.sync.with(|s| {
            let failure = match &s.phase {
                SyncPhase::Failed { message, failures } => {
                    Some((message.clone(), (*failures).max(1)))
                }
                _ => None,
            };
            (s.online, failure)
        });
        attention(
            app.user.get().is_some(),
            online,
            app.snap.with(|s| s.unsynced),
            failure.as_ref().map(|(m, n)| (m.as_str(), *n)),
        )
    };
    view! {
        <Show when=move || text().is_some()>
            <p class="attention" role="alert" data-testid="attention">
                {move || text().unwrap_or_default()}" "
                <button type="button" on:click=move |_| ui.settings.set(Some(SettingsTab::Activity))>
                    "Sync activity"
                </button>
            </p>
        </Show>
    }
}

split!(
    /// The open sync activity panel.
    activity_screen,
    activity,
    || view! { <ActivityScreen/> }.into_any()
);
