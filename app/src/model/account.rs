//! The account's flows: who is signed in (at start, when the network returns, when
//! another tab signs in or out), what follows a sign-in, and the sign-out. Each account's
//! notes are kept apart (see `io::accounts`).

use leptos::prelude::*;

use super::PageState;
use super::copy::{self, SIGN_IN_TO_SYNC};
use crate::io::{self, Access, Account, Joining, SessionCheck};

/// The account this browser shows is signed in: show its notes (asking about notes written
/// before any sign-in when that is not obvious) and sync.
async fn signed_in(app: PageState, account: Account, joining: Joining) {
    app.show_account(Some(account)).await;
    io::page::announce_change(); // other tabs follow
    app.notice.set(String::new());
    if let Joining::Ask(n) = joining {
        app.join_offer.set(Some(n));
    }
}

/// Finds out who is signed in (at start, and when the network returns): the server
/// session, unless a sign-out made here has not reached the server yet (it wins, and is
/// sent now).
pub async fn check_session(app: PageState) {
    let records = io::accounts::records_now().await;
    if records.signed_out {
        io::accounts::end_pending_sign_out().await;
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
    match io::accounts::whoami().await {
        SessionCheck::SignedIn(a) if records.account.as_ref() == Some(&a) => {
            app.user.set(Some(a));
            app.notice.set(String::new());
            app.syncer.signed_in();
        }
        // Signed in by an earlier build, or the account's name changed.
        SessionCheck::SignedIn(a) => match io::accounts::adopt(&a).await {
            Ok(joining) => signed_in(app, a, joining).await,
            Err(e) => app.notice.set(format!("Local storage: {e}")),
        },
        SessionCheck::SignedOut => {
            app.user.set(None);
            app.notice.set(SIGN_IN_TO_SYNC.into());
        }
        SessionCheck::Unknown => app.user.set(None), // offline: asked again when back online
    }
}

/// Another tab signed in or out: show what this browser's records now say.
pub async fn follow_records(app: PageState) {
    let records = io::accounts::records_now().await;
    let want = records.account.filter(|_| !records.signed_out);
    if io::db_of(want.as_ref()) != app.store.get_untracked() {
        app.show_account(want).await;
    }
}

/// Signs in (or creates the account), then shows its notes; the error, as the user should
/// read it.
pub async fn sign_in(
    app: PageState,
    access: Access,
    username: &str,
    password: &str,
) -> Result<(), String> {
    app.editor.close(app).await;
    let (account, joining) = io::accounts::sign_in(access, username, password)
        .await
        .map_err(|e| copy::sign_in_error(&e))?;
    signed_in(app, account, joining).await;
    Ok(())
}

/// This browser forgets the account (and ends its session on the server if it still has
/// one) and shows nobody's notes, then says `message`. `failed` prefixes the error when
/// this browser's records could not be written.
pub async fn sign_out(app: PageState, message: &str, failed: &str) {
    app.editor.close(app).await;
    if let Err(e) = io::accounts::sign_out().await {
        app.notice.set(format!("{failed}: {e}"));
        return;
    }
    // The next start's shell must not show the account's titles (the list rewrites it).
    io::first_page::clear();
    app.join_offer.set(None);
    app.show_account(None).await;
    app.notice.set(message.to_owned());
}

/// "Add them to my notes": the notes written before any sign-in join `account`.
pub async fn join_guest_notes(app: PageState, account: Account) {
    match io::accounts::join_guest_notes(&account).await {
        Ok(_) => app.changed(),
        Err(e) => app.notice.set(format!("Local storage: {e}")),
    }
}
