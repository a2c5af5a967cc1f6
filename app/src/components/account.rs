//! The account bar (signed out: one "Sign in" button that opens the form; signed in: who,
//! "Sync now", "Sign out" with a warning first when notes are not on the server yet), the
//! sign-in form, and the question whether notes written before any sign-in join the
//! account (the flows are [`crate::model::account`]).

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::io::{self, Access};
use crate::model::{PageState, Ui, account};

/// Signed out: "Sign in", which opens the form (the page opens on the notes, not on a
/// form). Signed in: who, "Sync now" and "Sign out".
#[component]
pub fn AccountBar() -> impl IntoView {
    let app = PageState::get();
    let ui = Ui::get();
    let (asking, set_asking) = signal(false);
    let sign_out = move || {
        set_asking.set(false);
        spawn_local(account::sign_out(
            app,
            "Signed out. Your notes stay on this device, apart: they show again when you \
             sign in.",
            "Not signed out",
        ));
    };
    let ask_first = move |_| {
        if app.snap.with_untracked(|s| s.unsynced) > 0 {
            set_asking.set(true);
        } else {
            sign_out();
        }
    };
    view! {
        <Show when=move || app.user.get().is_none() && !ui.signin.get()>
            <button type="button" class="signin-open" data-testid="signin-open"
                aria-controls="signin" on:click=move |_| open_signin(ui)>"Sign in"</button>
        </Show>
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

/// Opens the sign-in form with the focus in its first field.
pub fn open_signin(ui: Ui) {
    ui.signin.set(true);
    // After the form is drawn (the next frame).
    leptos::task::spawn_local(async {
        io::page::sleep_ms(0).await;
        io::page::focus("username");
    });
}

/// The sign-in form, while nobody is signed in and the user asked for it.
#[component]
pub fn SignInForm() -> impl IntoView {
    let app = PageState::get();
    let ui = Ui::get();
    let (username, set_username) = signal(String::new());
    let (password, set_password) = signal(String::new());
    let submit = move |access: Access| {
        let (u, p) = (username.get_untracked(), password.get_untracked());
        spawn_local(async move {
            match account::sign_in(app, access, &u, &p).await {
                Ok(()) => {
                    set_password.set(String::new());
                    ui.signin.set(false);
                }
                Err(e) => app.notice.set(e),
            }
        });
    };
    view! {
        <Show when=move || app.user.get().is_none() && ui.signin.get()>
            <form class="account" id="signin" aria-label="Sign in" on:submit=move |ev: leptos::ev::SubmitEvent| {
                ev.prevent_default();
                submit(Access::SignIn);
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
                    <button type="button" on:click=move |_| submit(Access::SignUp)>"Create account"</button>
                    <button type="button" on:click=move |_| ui.signin.set(false)>"Not now"</button>
                </div>
            </form>
        </Show>
    }
}

/// "Add the notes written before any sign-in to this account?", when not obvious.
#[component]
pub fn JoinOffer() -> impl IntoView {
    let app = PageState::get();
    let join = move |_| {
        let Some(account) = app.user.get_untracked() else {
            return;
        };
        app.join_offer.set(None);
        spawn_local(account::join_guest_notes(app, account));
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
