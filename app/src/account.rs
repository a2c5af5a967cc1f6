//! The account: sign-in and sign-up, who is signed in, sign-out (warning first when notes
//! are not on the server yet), and the question whether notes written before any sign-in
//! join the account. Each account's notes are kept apart (see [`crate::browser`]).

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::browser::{self, Account, Joining, Session};
use crate::state::AppState;

const SIGN_IN_TO_SYNC: &str = "Notes are saved on this device. Sign in to sync them.";

/// The account this browser shows is signed in: show its notes (asking about notes written
/// before any sign-in when that is not obvious) and sync.
async fn signed_in(app: AppState, account: Account, joining: Joining) {
    app.show_account(Some(account)).await;
    browser::announce_change(); // other tabs follow
    app.notice.set(String::new());
    if let Joining::Ask(n) = joining {
        app.join_offer.set(Some(n));
    }
}

/// Finds out who is signed in (at start, and when the network returns): the server
/// session, unless a sign-out made here has not reached the server yet (it wins, and is
/// sent now).
pub async fn check_session(app: AppState) {
    let records = browser::records_now().await;
    if records.signed_out {
        browser::end_pending_sign_out().await;
        app.notice.set(SIGN_IN_TO_SYNC.into());
        return;
    }
    // Nobody has signed in on this browser (or the last account signed out): there is no
    // session to ask about. Asking anyway is a 401, which browsers log as a console error on
    // every signed-out page load. (A session cookie without these records could only come
    // from a build older than per-account databases; such a user signs in again.)
    if records.account.is_none() {
        app.user.set(None);
        app.notice.set(SIGN_IN_TO_SYNC.into());
        return;
    }
    match browser::whoami().await {
        Session::SignedIn(a) if records.account.as_ref() == Some(&a) => {
            app.user.set(Some(a));
            app.notice.set(String::new());
            app.syncer.signed_in();
        }
        // Signed in by an earlier build, or the account's name changed.
        Session::SignedIn(a) => match browser::adopt(&a).await {
            Ok(joining) => signed_in(app, a, joining).await,
            Err(e) => app.notice.set(format!("Local storage: {e}")),
        },
        Session::SignedOut => {
            app.user.set(None);
            app.notice.set(SIGN_IN_TO_SYNC.into());
        }
        Session::Unknown => app.user.set(None), // offline: asked again when back online
    }
}

/// Another tab signed in or out: show what this browser's records now say.
pub async fn follow_records(app: AppState) {
    let records = browser::records_now().await;
    let want = records.account.filter(|_| !records.signed_out);
    if browser::db_of(want.as_ref()) != app.store.get_untracked() {
        app.show_account(want).await;
    }
}

/// The sign-in form (signed out), or who is signed in with "Sync now" and "Sign out".
#[component]
pub fn AccountBar() -> impl IntoView {
    let app = AppState::get();
    let (asking, set_asking) = signal(false);
    let sign_out = move || {
        set_asking.set(false);
        spawn_local(async move {
            app.editor.close(app).await;
            if let Err(e) = browser::sign_out().await {
                app.notice.set(format!("Not signed out: {e}"));
                return;
            }
            app.join_offer.set(None);
            app.show_account(None).await;
            app.notice.set(
                "Signed out. Your notes stay on this device, apart: they show again when you \
                 sign in."
                    .into(),
            );
        });
    };
    let ask_first = move |_| {
        if app.snap.with_untracked(|s| s.unsynced) > 0 {
            set_asking.set(true);
        } else {
            sign_out();
        }
    };
    view! {
        <Show when=move || app.user.get().is_some()>
            // One group, so that a narrow header wraps it as a whole, never "Sign out" alone.
            <div class="account-bar">
                <span class="who" data-testid="user">
                    {move || format!("Signed in as {}", app.user.get().map(|a| a.name).unwrap_or_default())}
                </span>
                <button type="button" on:click=move |_| app.syncer.now()>"Sync now"</button>
                <button type="button" on:click=ask_first>"Sign out"</button>
            </div>
        </Show>
        <Show when=move || asking.get()>
            <div class="warning" role="alertdialog" data-testid="signout-warning"
                aria-label="Notes not synced">
                <p>{move || {
                    let n = app.snap.with(|s| s.unsynced);
                    if n == 0 {
                        "Every note is on the server now.".to_owned()
                    } else {
                        format!("{n} note(s) are not on the server yet. If you sign out now, \
                                 they wait on this device for your next sign-in here.")
                    }
                }}</p>
                <button type="button" on:click=move |_| app.syncer.now()>"Sync first"</button>
                <button type="button" on:click=move |_| sign_out()>"Sign out anyway"</button>
                <button type="button" on:click=move |_| set_asking.set(false)>"Stay signed in"</button>
            </div>
        </Show>
    }
}

/// The sign-in form, while nobody is signed in.
#[component]
pub fn SignInForm() -> impl IntoView {
    let app = AppState::get();
    let (username, set_username) = signal(String::new());
    let (password, set_password) = signal(String::new());
    let submit = move |action: &'static str| {
        let (u, p) = (username.get_untracked(), password.get_untracked());
        spawn_local(async move {
            app.editor.close(app).await;
            match browser::account(action, &u, &p).await {
                Ok((account, joining)) => {
                    set_password.set(String::new());
                    signed_in(app, account, joining).await;
                }
                Err(e) => app.notice.set(e),
            }
        });
    };
    view! {
        <Show when=move || app.user.get().is_none()>
            <form class="account" on:submit=move |ev: leptos::ev::SubmitEvent| {
                ev.prevent_default();
                submit("signin");
            }>
                <label for="username">"Username"</label>
                <input id="username" autocomplete="username"
                    prop:value=move || username.get()
                    on:input=move |ev| set_username.set(event_target_value(&ev))/>
                <label for="password">"Password"</label>
                <input id="password" type="password" autocomplete="current-password"
                    prop:value=move || password.get()
                    on:input=move |ev| set_password.set(event_target_value(&ev))/>
                <div class="row">
                    <button type="submit">"Sign in"</button>
                    <button type="button" on:click=move |_| submit("signup")>"Create account"</button>
                </div>
            </form>
        </Show>
    }
}

/// "Add the notes written before any sign-in to this account?", when not obvious.
#[component]
pub fn JoinOffer() -> impl IntoView {
    let app = AppState::get();
    let join = move |_| {
        let Some(account) = app.user.get_untracked() else {
            return;
        };
        app.join_offer.set(None);
        spawn_local(async move {
            match browser::join_guest_notes(&account).await {
                Ok(_) => app.changed(),
                Err(e) => app.notice.set(format!("Local storage: {e}")),
            }
        });
    };
    view! {
        <Show when=move || app.join_offer.get().is_some() && app.user.get().is_some()>
            <div class="offer" role="alertdialog" data-testid="join-offer"
                aria-label="Notes written while signed out">
                <p>{move || format!(
                    "{} note(s) on this device were written while nobody was signed in. \
                     Add them to {}'s notes?",
                    app.join_offer.get().unwrap_or(0),
                    app.user.get().map(|a| a.name).unwrap_or_default(),
                )}</p>
                <button type="button" on:click=join>"Add them to my notes"</button>
                <button type="button" on:click=move |_| app.join_offer.set(None)>
                    "Keep them apart"
                </button>
            </div>
        </Show>
    }
}
