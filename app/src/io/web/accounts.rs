//! Accounts on one browser, and the page's open store.
//!
//! Each account's notes, cursor and outbox live in an IndexedDB database of their own,
//! `tern-<account id>`; notes written while nobody is signed in live in `tern` (the
//! database of earlier builds, so their notes are found there). The page shows and syncs
//! exactly one of them: the account's while one is signed in on this browser, else `tern`.
//! Which one that is, and whether a sign-out still has to reach the server, is written in
//! `tern`'s meta (`client::local::AccountRecords`) (the service worker reads it too: it has no `localStorage`). Every session
//! change (sign-in, sign-out) happens while holding the sync lock, so no sync (page, other
//! tab or worker) ever runs across it and pushes one account's notes with another's cookie.

use std::cell::RefCell;
use std::rc::Rc;

use client::idb::IdbStore;
use client::local::{AccountRecords, LocalStore, Notes, SyncState};
use client::runner::Guard;
use futures::FutureExt;
use futures::future::{LocalBoxFuture, Shared};
use sync_core::protocol::{Credentials, SignedIn};
use sync_core::{ChangeId, NoteId};

use super::{api, lock};
use crate::io::{
    Access, Account, ApiError, GUEST_DB, Joining, SessionCheck, SignInError, Start, db_of,
};

/// The notes service of the database the page shows.
pub(crate) type PageNotes = Notes<Rc<IdbStore>>;

/// The store of a database, opened once: every caller that asks while it opens awaits the
/// same open, and every later one gets its result at once. (Two callers at a sign-in, the
/// list's read and the sync's start, once opened the store twice, each writing a node id
/// of its own into a fresh database and leaving a second connection open.)
type Opening = Shared<LocalBoxFuture<'static, Result<Rc<PageNotes>, String>>>;

thread_local! {
    /// The database the page shows, with its store (opened or opening). Only a switch of
    /// account or a failed open replaces it.
    static CURRENT: RefCell<Option<(String, Opening)>> = const { RefCell::new(None) };
    static WANTED: RefCell<String> = RefCell::new(GUEST_DB.to_owned());
    static GUEST: RefCell<Option<Rc<IdbStore>>> = const { RefCell::new(None) };
}

/// The database the page shows now.
pub fn store_name() -> String {
    WANTED.with(|w| w.borrow().clone())
}

/// The notes of the database the page shows (opened once).
pub(crate) async fn notes() -> Result<Rc<PageNotes>, String> {
    loop {
        let wanted = store_name();
        let opening = CURRENT.with(|c| {
            let mut c = c.borrow_mut();
            match c.as_ref().filter(|(name, _)| *name == wanted) {
                Some((_, f)) => f.clone(),
                None => {
                    let f = open(wanted.clone()).boxed_local().shared();
                    *c = Some((wanted.clone(), f.clone()));
                    f
                }
            }
        });
        let got = opening.clone().await;
        if store_name() != wanted {
            return Err("the account changed".into());
        }
        let the_page_s = CURRENT.with(|c| {
            let mut c = c.borrow_mut();
            match c.as_ref() {
                // (Compared by the open, not the name: a waiter resuming late must not drop
                // a newer open of the same database.)
                Some((_, f)) if f.ptr_eq(&opening) => {
                    if got.is_err() {
                        *c = None; // the next caller tries again
                    }
                    true
                }
                // The account was switched away and back while it opened: still the one.
                None if got.is_ok() => {
                    *c = Some((wanted.clone(), opening.clone()));
                    true
                }
                _ => false,
            }
        });
        if the_page_s {
            return got;
        }
        // Another open of the same database replaced this one meanwhile (a switch away and
        // back, then a caller): the page uses that one, never two stores.
    }
}

async fn open(name: String) -> Result<Rc<PageNotes>, String> {
    let store = IdbStore::open(&name).await.map_err(|e| e.to_string())?;
    Ok(Rc::new(
        Notes::open(Rc::new(store))
            .await
            .map_err(|e| e.to_string())?,
    ))
}

async fn guest() -> Result<Rc<IdbStore>, String> {
    if let Some(g) = GUEST.with(|g| g.borrow().clone()) {
        return Ok(g);
    }
    let g = Rc::new(IdbStore::open(GUEST_DB).await.map_err(|e| e.to_string())?);
    GUEST.with(|slot| *slot.borrow_mut() = Some(g.clone()));
    Ok(g)
}

/// The account records of this browser (in `tern`'s meta), as the page and the worker
/// read them.
pub(crate) async fn records(store: &IdbStore) -> Result<Start, String> {
    let r = AccountRecords(store)
        .read()
        .await
        .map_err(|e| e.to_string())?;
    Ok(Start {
        account: r.shown().cloned(),
        signed_out: r.signed_out,
    })
}

/// This browser's account records now (another tab may have changed them).
pub async fn records_now() -> Start {
    match guest().await {
        Ok(g) => records(&g).await.unwrap_or_default(),
        Err(_) => Start::default(),
    }
}

/// Reads this browser's account records and shows the database they name.
pub async fn start() -> Start {
    let start = records_now().await;
    WANTED.with(|w| *w.borrow_mut() = db_of(start.account.as_ref()));
    start
}

/// Shows (and syncs) this account's notes, or the notes of nobody's (`None`).
pub fn switch_account(account: Option<&Account>) {
    let name = db_of(account);
    // The next start's shell must not show the notes of the account left (the list
    // writes the new one's).
    if WANTED.with(|w| *w.borrow() != name) {
        super::first_page::clear();
    }
    WANTED.with(|w| *w.borrow_mut() = name.clone());
    // The old connection closes; a sync still running on it finishes on its own store.
    CURRENT.with(|c| {
        if c.borrow().as_ref().is_some_and(|(open, _)| *open != name) {
            *c.borrow_mut() = None;
        }
    });
}

/// Records `account` as the one signed in on this browser (and no sign-out pending),
/// and says what becomes of the notes written before any sign-in. The page then shows
/// the account's notes ([`switch_account`]).
pub async fn adopt(account: &Account) -> Result<Joining, String> {
    let g = guest().await?;
    let others = AccountRecords(&*g)
        .adopt(account)
        .await
        .map_err(|e| e.to_string())?;
    let waiting = guest_notes(&g).await?.len();
    if waiting == 0 {
        return Ok(Joining::Nothing);
    }
    // Synced under some account by an earlier build: whose is not known here.
    let synced_before = g.cursor().await.map_err(|e| e.to_string())?.is_some();
    if others || synced_before {
        return Ok(Joining::Ask(waiting));
    }
    join_guest_notes(account).await.map(Joining::Joined)
}

/// The live notes of `tern` (written before any sign-in).
async fn guest_notes(g: &IdbStore) -> Result<Vec<client::local::LocalNote>, String> {
    Ok(g.list()
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .filter(|n| !n.deleted)
        .collect())
}

/// Moves the notes written before any sign-in into `account`, as new edits of
/// it (each pushed like a note written there). Returns how many moved.
pub async fn join_guest_notes(account: &Account) -> Result<usize, String> {
    let g = guest().await?;
    let target = IdbStore::open(&db_of(Some(account)))
        .await
        .map_err(|e| e.to_string())?;
    let moved = move_notes(&g, &target).await;
    target.close();
    moved
}

async fn move_notes(g: &IdbStore, target: &IdbStore) -> Result<usize, String> {
    let moving = guest_notes(g).await?;
    for n in &moving {
        if target
            .get(&n.id)
            .await
            .map_err(|e| e.to_string())?
            .is_some()
        {
            continue; // already there (joined from another tab)
        }
        let mut joined = n.clone();
        // New to this account: the server never had it under this account.
        joined.base_version = None;
        joined.base = None;
        joined.conflict = None;
        joined.resolving = false;
        joined.pending = Some(ChangeId(client::platform::random_id()));
        joined.sync = SyncState::Pending;
        target.put(&joined).await.map_err(|e| e.to_string())?;
    }
    let all: Vec<NoteId> = g
        .list()
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|n| n.id)
        .collect();
    g.remove(&all).await.map_err(|e| e.to_string())?;
    Ok(moving.len())
}

/// The sync lock of the account signed in on this browser (a session change waits for
/// it: no sync runs while the cookie changes).
async fn signed_in_lock() -> String {
    let records = records_now().await;
    let account = records.account.filter(|_| !records.signed_out);
    client::tabs::names_for(&db_of(account.as_ref())).0
}

/// Reads this browser's records, for a [`guard_for`].
pub(crate) type GuardRead =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<Start, String>>>>;

/// "This browser's records still name `db`'s account", checked by a runner under its
/// lock before each run (`read` reads the records).
pub(crate) fn guard_for(db: String, read: fn() -> GuardRead) -> Guard {
    Rc::new(move || {
        let db = db.clone();
        Box::pin(async move {
            match read().await {
                Ok(r) => !r.signed_out && db_of(r.account.as_ref()) == db,
                Err(_) => false,
            }
        })
    })
}

/// The page's [`GuardRead`]: through its open connection to `tern`.
pub(crate) fn page_records() -> GuardRead {
    Box::pin(async { records(&*guest().await?).await })
}

/// The service worker's [`GuardRead`]: over a connection of its own, closed at once.
pub(crate) fn worker_records() -> GuardRead {
    Box::pin(async {
        let g = IdbStore::open(GUEST_DB).await.map_err(|e| e.to_string())?;
        let records = records(&g).await;
        g.close();
        records
    })
}

fn account_of(s: SignedIn) -> Account {
    Account {
        // Servers before account ids: the name (unique) names the database.
        id: s.id.unwrap_or_else(|| format!("user-{}", s.user)),
        name: s.user,
    }
}

/// Signs in (or up), under the sync lock (no sync runs with a session changing under
/// it); then the account is this browser's (see [`adopt`]).
pub async fn sign_in(
    access: Access,
    username: &str,
    password: &str,
) -> Result<(Account, Joining), SignInError> {
    let credentials = Credentials {
        username: username.to_owned(),
        password: password.to_owned(),
    };
    let lock = signed_in_lock().await;
    lock::with_lock_wait(&lock, async {
        let s = api::sign_in(access, &credentials)
            .await
            .map_err(SignInError::Api)?;
        keep_trash_days(&s).await;
        let a = account_of(s);
        let joining = adopt(&a).await.map_err(SignInError::Storage)?;
        Ok((a, joining))
    })
    .await
}

/// Who the session cookie signs in.
pub async fn whoami() -> SessionCheck {
    match api::me().await {
        Ok(s) => {
            keep_trash_days(&s).await;
            SessionCheck::SignedIn(account_of(s))
        }
        Err(ApiError::Unauthorized { .. }) => SessionCheck::SignedOut,
        Err(_) => SessionCheck::Unknown,
    }
}

/// Keeps the server's trash period from a sign-in's or `/auth/me`'s answer, for the
/// trash view (kept in `tern`'s meta: it works offline).
async fn keep_trash_days(s: &SignedIn) {
    if let Some(days) = s.trash_days
        && let Ok(g) = guest().await
    {
        let _ = AccountRecords(&*g).set_trash_days(days).await;
    }
}

/// The trash period in days: the server's, as it last told it, else
/// [`client::local::TRASH_DAYS`].
pub async fn trash_days() -> u32 {
    match guest().await {
        Ok(g) => AccountRecords(&*g)
            .trash_days()
            .await
            .ok()
            .flatten()
            .unwrap_or(client::local::TRASH_DAYS),
        Err(_) => client::local::TRASH_DAYS,
    }
}

/// Signs out on this browser at once: this browser forgets the account (its notes stay
/// in its own database for its next sign-in; the page then shows nobody's notes); the
/// server session is ended now if the server answers, else by [`end_pending_sign_out`]
/// later (until then the marker wins over the cookie).
pub async fn sign_out() -> Result<(), String> {
    let lock = signed_in_lock().await;
    lock::with_lock_wait(&lock, async {
        let g = guest().await?;
        AccountRecords(&*g)
            .sign_out()
            .await
            .map_err(|e| e.to_string())
    })
    .await?;
    client::tabs::announce_change();
    end_pending_sign_out().await;
    Ok(())
}

/// What the service worker syncs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum WorkerTarget {
    /// This database (the signed-in account's).
    Sync(String),
    /// Nobody is signed in: nothing to sync.
    Nobody,
    /// A sign-out still had to reach the server (`ended`: it has now).
    SignOut {
        /// The server session is ended.
        ended: bool,
    },
}

/// What the service worker should sync: it reads this browser's account records
/// (closing the connection at once, so it never holds up an upgrade by a newer build).
pub(crate) async fn worker_target() -> Result<WorkerTarget, String> {
    let g = IdbStore::open(GUEST_DB).await.map_err(|e| e.to_string())?;
    let records = records(&g).await;
    let target = match records {
        Ok(r) if r.signed_out => {
            // A sign-out made offline: end the session now (under the lock a sign-in
            // takes, so a new session is never the one ended), and sync nobody's notes.
            let lock = client::tabs::names_for(GUEST_DB).0;
            let ended = lock::with_lock_wait(&lock, end_sign_out_on(&g)).await;
            Ok(WorkerTarget::SignOut { ended })
        }
        Ok(Start {
            account: Some(a), ..
        }) => Ok(WorkerTarget::Sync(db_of(Some(&a)))),
        Ok(_) => Ok(WorkerTarget::Nobody),
        Err(e) => Err(e),
    };
    g.close();
    target
}

/// Ends the server session of a sign-out made while offline; true once it is ended
/// (or there was none to end).
pub async fn end_pending_sign_out() -> bool {
    let Ok(g) = guest().await else { return false };
    // Under a lock a sign-in also takes (nobody is signed in: the lock of `tern`), so a
    // sign-in made meanwhile (which clears the mark) is not ended.
    let lock = client::tabs::names_for(GUEST_DB).0;
    lock::with_lock_wait(&lock, end_sign_out_on(&g)).await
}

async fn end_sign_out_on(g: &IdbStore) -> bool {
    let records = AccountRecords(g);
    if records.sign_out_pending().await.ok() != Some(true) {
        return true;
    }
    match api::sign_out().await {
        // 401: that session is over already.
        Ok(()) | Err(ApiError::Unauthorized { .. }) => {
            let _ = records.sign_out_reached_server().await;
            true
        }
        Err(_) => false,
    }
}

/// Deletes this browser's database of a deleted account, once the page no longer shows
/// it (the deletion waits for open connections to close).
pub fn forget_local(db: String) {
    wasm_bindgen_futures::spawn_local(async move {
        if let Err(e) = IdbStore::delete(&db).await {
            leptos::logging::warn!("the deleted account's local notes stay: {e}");
        }
    });
}
