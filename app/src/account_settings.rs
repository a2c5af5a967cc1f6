//! Account settings, while signed in: the signed-in devices (when each was last used) with
//! "Sign out" per device and "Sign out everywhere", "Change password" (every other device
//! is signed out), and "Delete account" (asks for the password, then removes every note,
//! its history, every session and the account from the server, and this browser's copy of
//! the account's notes).
//!
//! The requests are the `/account/*` routes (`docs/openapi.json`); they need the network.

use leptos::prelude::*;
use leptos::task::spawn_local;
use sync_core::protocol::SessionInfo;

use crate::state::AppState;

#[cfg(feature = "hydrate")]
mod io {
    use gloo_net::http::{Request, Response};
    use sync_core::protocol::{
        ErrorBody, PasswordChange, PasswordChanged, PasswordCheck, SessionInfo, SessionRef,
        Sessions,
    };

    const OFFLINE: &str = "This needs a connection to the server; try again when online.";

    async fn error_of(resp: Response) -> String {
        match resp.json::<ErrorBody>().await {
            Ok(e) => e.message,
            Err(_) => format!("the server answered {}", resp.status()),
        }
    }

    /// POSTs `body` (JSON text, the type's serialization) to `path`.
    async fn post(path: &str, body: String) -> Result<Response, String> {
        let resp = Request::post(path)
            .header("content-type", "application/json")
            .body(body)
            .map_err(|e| e.to_string())?
            .send()
            .await
            .map_err(|_| OFFLINE.to_owned())?;
        if resp.ok() {
            Ok(resp)
        } else {
            Err(error_of(resp).await)
        }
    }

    pub async fn sessions() -> Result<Vec<SessionInfo>, String> {
        let resp = Request::get("/account/sessions")
            .send()
            .await
            .map_err(|_| OFFLINE.to_owned())?;
        if !resp.ok() {
            return Err(error_of(resp).await);
        }
        let s: Sessions = resp.json().await.map_err(|e| e.to_string())?;
        Ok(s.sessions)
    }

    pub async fn end_session(id: &str) -> Result<(), String> {
        post(
            "/account/sessions/signout",
            serde_json::to_string(&SessionRef {
                session: id.to_owned(),
            })
            .unwrap_or_default(),
        )
        .await
        .map(|_| ())
    }

    pub async fn sign_out_everywhere() -> Result<(), String> {
        post("/account/signout-everywhere", "{}".into())
            .await
            .map(|_| ())
    }

    pub async fn change_password(current: &str, new: &str) -> Result<u64, String> {
        let resp = post(
            "/account/password",
            serde_json::to_string(&PasswordChange {
                current_password: current.to_owned(),
                new_password: new.to_owned(),
            })
            .unwrap_or_default(),
        )
        .await?;
        let r: PasswordChanged = resp.json().await.map_err(|e| e.to_string())?;
        Ok(r.sessions_ended)
    }

    pub async fn delete_account(password: &str) -> Result<(), String> {
        post(
            "/account/delete",
            serde_json::to_string(&PasswordCheck {
                password: password.to_owned(),
            })
            .unwrap_or_default(),
        )
        .await
        .map(|_| ())
    }

    /// Deletes this browser's database of a deleted account, once the page no longer
    /// shows it (the deletion waits for open connections to close).
    pub fn forget_local(db: String) {
        wasm_bindgen_futures::spawn_local(async move {
            if let Err(e) = client::idb::IdbStore::delete(&db).await {
                leptos::logging::warn!("the deleted account's local notes stay: {e}");
            }
        });
    }

    pub fn date_label(ms: u64) -> String {
        js_sys::Date::new(&(ms as f64).into())
            .to_locale_string("default", &wasm_bindgen::JsValue::UNDEFINED)
            .into()
    }
}

#[cfg(not(feature = "hydrate"))]
mod io {
    use sync_core::protocol::SessionInfo;

    pub async fn sessions() -> Result<Vec<SessionInfo>, String> {
        Ok(Vec::new())
    }
    pub async fn end_session(_: &str) -> Result<(), String> {
        Ok(())
    }
    pub async fn sign_out_everywhere() -> Result<(), String> {
        Ok(())
    }
    pub async fn change_password(_: &str, _: &str) -> Result<u64, String> {
        Ok(0)
    }
    pub async fn delete_account(_: &str) -> Result<(), String> {
        Ok(())
    }
    pub fn forget_local(_: String) {}
    pub fn date_label(_: u64) -> String {
        String::new()
    }
}

/// This browser forgets the account (its session is over on the server already) and shows
/// nobody's notes, as "Sign out" does.
async fn signed_out_here(app: AppState, message: &str) {
    app.editor.close(app).await;
    if let Err(e) = crate::browser::sign_out().await {
        app.notice
            .set(format!("Not signed out on this device: {e}"));
        return;
    }
    app.join_offer.set(None);
    app.show_account(None).await;
    app.notice.set(message.to_owned());
}

type Loaded = RwSignal<Option<Result<Vec<SessionInfo>, String>>>;

fn reload(sessions: Loaded) {
    spawn_local(async move {
        let read = io::sessions().await;
        if sessions.get_untracked().is_some() {
            sessions.set(Some(read));
        }
    });
}

fn session_view(app: AppState, s: SessionInfo, sessions: Loaded) -> impl IntoView {
    let used = s
        .last_used_ms
        .map(|t| format!("last used {}", io::date_label(t)))
        .unwrap_or_else(|| "not used since this list began".into());
    let since = s
        .created_ms
        .map(|t| format!(" · signed in {}", io::date_label(t)))
        .unwrap_or_default();
    let id = s.id.clone();
    let end = move |_| {
        let id = id.clone();
        spawn_local(async move {
            match io::end_session(&id).await {
                Ok(()) => {
                    app.notice.set("That device is signed out.".into());
                    reload(sessions);
                }
                Err(e) => app.notice.set(format!("Not signed out: {e}")),
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

/// The "Account" button and, while open, the account settings (signed in only).
#[component]
pub fn AccountSettings() -> impl IntoView {
    let app = AppState::get();
    let sessions: Loaded = RwSignal::new(None);
    let (current_pw, set_current_pw) = signal(String::new());
    let (new_pw, set_new_pw) = signal(String::new());
    let (delete_pw, set_delete_pw) = signal(String::new());
    let confirming_delete = RwSignal::new(false);
    let message = RwSignal::new(String::new());
    // Closed when the account changes (signed out here or in another tab).
    Effect::new(move |_| {
        app.user.track();
        sessions.set(None);
    });
    let toggle = move |_| {
        if sessions.get_untracked().is_some() {
            sessions.set(None);
        } else {
            message.set(String::new());
            sessions.set(Some(Ok(Vec::new())));
            reload(sessions);
        }
    };
    let everywhere = move |_| {
        spawn_local(async move {
            match io::sign_out_everywhere().await {
                Ok(()) => {
                    signed_out_here(
                        app,
                        "Signed out on every device. Your notes stay on this device, apart.",
                    )
                    .await
                }
                Err(e) => message.set(format!("Not signed out: {e}")),
            }
        });
    };
    let change = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (cur, new) = (current_pw.get_untracked(), new_pw.get_untracked());
        spawn_local(async move {
            match io::change_password(&cur, &new).await {
                Ok(n) => {
                    set_current_pw.set(String::new());
                    set_new_pw.set(String::new());
                    message.set(format!(
                        "Password changed. {n} other session{} signed out.",
                        if n == 1 { " was" } else { "s were" }
                    ));
                    reload(sessions);
                }
                Err(e) => message.set(format!("Password not changed: {e}")),
            }
        });
    };
    let delete = move |_| {
        let pw = delete_pw.get_untracked();
        confirming_delete.set(false);
        spawn_local(async move {
            let db = crate::browser::store_name();
            match io::delete_account(&pw).await {
                Ok(()) => {
                    set_delete_pw.set(String::new());
                    signed_out_here(
                        app,
                        "Account deleted: its notes, their history and every session are gone \
                         from the server and from this browser.",
                    )
                    .await;
                    io::forget_local(db);
                }
                Err(e) => message.set(format!("Account not deleted: {e}")),
            }
        });
    };
    let open = move || sessions.with(Option::is_some);
    view! {
        <Show when=move || app.user.get().is_some()>
            <div class="trash-bar">
                <button type="button" aria-expanded=move || open().to_string() on:click=toggle>
                    {move || if open() { "Close account settings" } else { "Account" }}
                </button>
            </div>
        </Show>
        {move || sessions.get().map(|read| view! {
            <section class="settings" data-testid="account-settings" aria-label="Account settings">
                <h2>"Signed-in devices"</h2>
                {match read {
                    Err(e) => view! { <p class="error" role="alert">{e}</p> }.into_any(),
                    Ok(list) => view! {
                        <ul class="sessions">
                            {list.into_iter().map(|s| session_view(app, s, sessions)).collect_view()}
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
        })}
    }
}
