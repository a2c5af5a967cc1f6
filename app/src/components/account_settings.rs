//! Account settings, while signed in: the signed-in devices (when each was last used) with
//! "Sign out" per device and "Sign out everywhere", "Change password" (every other device
//! is signed out), and "Delete account" (asks for the password, then removes every note,
//! its history, every session and the account from the server, and this browser's copy of
//! the account's notes).
//!
//! The requests are the `/account/*` routes (`io::api`); they need the network. The
//! settings view's "Account" tab is in the start-up module; its screen ([`SettingsScreen`]) is
//! in a module of their own, loaded on first use ([`super::lazy`]), and read the devices
//! (a Leptos `LocalResource`) while open.

use leptos::prelude::*;
use leptos::task::spawn_local;
use sync_core::protocol::SessionInfo;

use super::lazy::split;
use crate::io;
use crate::model::{PageState, account, copy};

/// The signed-in devices as last read, or why they could not be read.
type Sessions = LocalResource<Result<Vec<SessionInfo>, String>>;

fn session_view(app: PageState, s: SessionInfo, sessions: Sessions) -> impl IntoView {
    let used = s
        .last_used_ms
        .map(|t| format!("last used {}", io::page::date_label(t)))
        .unwrap_or_else(|| "not used since this list began".into());
    let since = s
        .created_ms
        .map(|t| format!(" · signed in {}", io::page::date_label(t)))
        .unwrap_or_default();
    let id = s.id.clone();
    let end = move |_| {
        let id = id.clone();
        spawn_local(async move {
            match io::api::end_session(&id).await {
                Ok(()) => {
                    app.notice.set("That device is signed out.".into());
                    sessions.refetch();
                }
                Err(e) => app
                    .notice
                    .set(format!("Not signed out: {}", copy::settings_error(&e))),
            }
        });
    };
    view! {
        <li class="session" data-current=s.current.to_string()>
            <strong>{s.device.clone()}</strong>
            {s.current.then_some(" (this device)")}
            <span class="session-when">{format!(" — {used}{since}")}</span>
            {(!s.current).then(|| view! {
                <button type="button" on:click=end.clone()>"Sign out"</button>
            })}
        </li>
    }
}

/// The open account settings.
#[component]
pub fn SettingsScreen() -> impl IntoView {
    let app = PageState::get();
    let sessions: Sessions = LocalResource::new(move || async move {
        io::api::sessions()
            .await
            .map_err(|e| copy::settings_error(&e))
    });
    let (current_pw, set_current_pw) = signal(String::new());
    let (new_pw, set_new_pw) = signal(String::new());
    let (delete_pw, set_delete_pw) = signal(String::new());
    let confirming_delete = RwSignal::new(false);
    let message = RwSignal::new(String::new());
    let everywhere = move |_| {
        spawn_local(async move {
            match io::api::sign_out_everywhere().await {
                Ok(()) => {
                    account::sign_out(
                        app,
                        "Signed out on every device. Your notes stay on this device, apart.",
                        "Not signed out on this device",
                    )
                    .await
                }
                Err(e) => message.set(format!("Not signed out: {}", copy::settings_error(&e))),
            }
        });
    };
    let change = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (cur, new) = (current_pw.get_untracked(), new_pw.get_untracked());
        spawn_local(async move {
            match io::api::change_password(&cur, &new).await {
                Ok(n) => {
                    set_current_pw.set(String::new());
                    set_new_pw.set(String::new());
                    message.set(format!(
                        "Password changed. {n} other session{} signed out.",
                        if n == 1 { " was" } else { "s were" }
                    ));
                    sessions.refetch();
                }
                Err(e) => message.set(format!(
                    "Password not changed: {}",
                    copy::settings_error(&e)
                )),
            }
        });
    };
    let delete = move |_| {
        let pw = delete_pw.get_untracked();
        confirming_delete.set(false);
        spawn_local(async move {
            let db = io::accounts::store_name();
            match io::api::delete_account(&pw).await {
                Ok(()) => {
                    set_delete_pw.set(String::new());
                    account::sign_out(
                        app,
                        "Account deleted: its notes, their history and every session are gone \
                         from the server and from this browser.",
                        "Not signed out on this device",
                    )
                    .await;
                    io::accounts::forget_local(db);
                }
                Err(e) => message.set(format!("Account not deleted: {}", copy::settings_error(&e))),
            }
        });
    };
    view! {
            <section class="settings" data-testid="account-settings" aria-label="Account settings">
                <h2>"Signed-in devices"</h2>
                {move || match sessions.get() {
                    Some(Err(e)) => view! { <p class="error" role="alert">{e}</p> }.into_any(),
                    // (An empty list while the first read is under way.)
                    list => view! {
                        <ul class="sessions">
                            {list.and_then(Result::ok).unwrap_or_default()
                                .into_iter().map(|s| session_view(app, s, sessions)).collect_view()}
                        </ul>
                    }.into_any(),
                }}
                <div class="row">
                    <button type="button" on:click=everywhere>"Sign out everywhere"</button>
                </div>
                <h2>"Change password"</h2>
                <form on:submit=change>
                    <label for="current-password">"Current password"</label>
                    <input id="current-password" type="password" autocomplete="current-password"
                        prop:value=move || current_pw.get()
                        on:input=move |ev| set_current_pw.set(event_target_value(&ev))/>
                    <label for="new-password">"New password"</label>
                    <input id="new-password" type="password" autocomplete="new-password"
                        prop:value=move || new_pw.get()
                        on:input=move |ev| set_new_pw.set(event_target_value(&ev))/>
                    <button type="submit">"Change password"</button>
                </form>
                <h2>"Delete account"</h2>
                <p>"Removes every note, its history and every session from the server, and \
                    this browser's copy of the notes. This cannot be undone."</p>
                <div class="row">
                    <label for="delete-password">"Password"</label>
                    <input id="delete-password" type="password" autocomplete="current-password"
                        prop:value=move || delete_pw.get()
                        on:input=move |ev| set_delete_pw.set(event_target_value(&ev))/>
                    <Show
                        when=move || confirming_delete.get()
                        fallback=move || view! {
                            <button type="button" class="danger"
                                on:click=move |_| confirming_delete.set(true)>"Delete account"</button>
                        }
                    >
                        <span class="confirm" role="alert">
                            <button type="button" class="danger" on:click=delete>
                                "Yes, delete my account and every note"
                            </button>
                            <button type="button" on:click=move |_| confirming_delete.set(false)>
                                "Cancel"
                            </button>
                        </span>
                    </Show>
                </div>
                <p class="settings-message" role="status" data-testid="settings-message">
                    {move || message.get()}
                </p>
            </section>
    }
}

split!(
    /// The open account settings.
    settings_screen,
    settings,
    || view! { <SettingsScreen/> }.into_any()
);
