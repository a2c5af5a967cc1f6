//! The settings view: the account (devices, password, account deletion), the sync
//! activity and export / import, as tabs of one view opened from the header's "Settings"
//! (`,`), instead of a stacked button for each. Each tab's screen is in a module of its
//! own, loaded on first use ([`super::lazy`]); the view itself (the tabs) is small and in
//! the start-up module.

use leptos::prelude::*;

use super::account_settings::settings_screen;
use super::activity::activity_screen;
use super::export::export_screen;
use super::lazy::LazyScreen;
use crate::model::{PageState, SettingsTab, Ui};

/// The header's "Settings" button.
#[component]
pub fn SettingsButton() -> impl IntoView {
    let ui = Ui::get();
    view! {
        <button type="button" class="settings-open" data-testid="settings-open"
            aria-controls="settings" aria-expanded=move || ui.settings.get().is_some().to_string()
            title="Settings (,)"
            on:click=move |_| {
                ui.drawer.set(false);
                ui.settings.update(|s| {
                    *s = match s {
                        Some(_) => None,
                        None => Some(SettingsTab::default()),
                    }
                })
            }>
            <span aria-hidden="true">"⚙ "</span>"Settings"
        </button>
    }
}

/// The settings view, while open.
#[component]
pub fn SettingsView() -> impl IntoView {
    let app = PageState::get();
    let ui = Ui::get();
    let tab = move || ui.settings.get().unwrap_or_default();
    view! {
        <Show when=move || ui.settings.get().is_some()>
            <section class="settings-view" id="settings" data-testid="settings" aria-label="Settings"
                data-tab=move || tab().as_str()>
                <div class="tabs" role="group" aria-label="Settings sections">
                    {SettingsTab::ALL.into_iter().map(|t| view! {
                        <button type="button" class="tab" data-tab=t.as_str()
                            aria-pressed=move || (tab() == t).to_string()
                            on:click=move |_| ui.settings.set(Some(t))>{t.label()}</button>
                    }).collect_view()}
                    <button type="button" class="close" aria-label="Close settings"
                        on:click=move |_| ui.settings.set(None)>"✕"</button>
                </div>
                {move || match tab() {
                    SettingsTab::Account => view! {
                        <Show
                            when=move || app.user.get().is_some()
                            fallback=move || view! {
                                <p class="muted" data-testid="settings-signed-out">
                                    "Nobody is signed in: your notes stay on this device. Sign in (at the \
                                     top) to sync them; your devices and password are then here."
                                </p>
                            }
                        >
                            <LazyScreen load=settings_screen/>
                        </Show>
                    }.into_any(),
                    SettingsTab::Activity => view! { <LazyScreen load=activity_screen/> }.into_any(),
                    SettingsTab::Export => view! { <LazyScreen load=export_screen/> }.into_any(),
                }}
            </section>
        </Show>
    }
}
