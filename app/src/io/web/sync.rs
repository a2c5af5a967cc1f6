//! The page's sync runner (`client::runner`: triggers, backoff, one syncer per browser,
//! 401, the live channel) on the shown account's database: one per page, replaced when
//! the account shown changes.

use std::cell::RefCell;
use std::rc::Rc;

use client::http::FetchTransport;
use client::idb::IdbStore;
use client::runner::{Runner, RunnerConfig, SyncStatus, Trigger};

use super::accounts::{guard_for, notes, page_records, store_name};
use super::pwa;
use crate::io::GUEST_DB;

type PageRunner = Runner<IdbStore, FetchTransport>;

thread_local! {
    static RUNNER: RefCell<Option<PageRunner>> = const { RefCell::new(None) };
}

/// Syncs the shown account's notes with the sync runner, replacing the runner of the
/// account shown before; none while nobody's notes are shown. `on_status` gets every
/// status, `on_changed` is called when a sync or another tab changed the store.
pub async fn start(
    signed_in: bool,
    on_status: impl Fn(SyncStatus) + 'static,
    on_changed: impl Fn() + 'static,
) -> Result<(), String> {
    if let Some(old) = RUNNER.with(|r| r.borrow_mut().take()) {
        old.stop();
    }
    let db = store_name();
    if db == GUEST_DB {
        return Ok(());
    }
    let notes = notes().await?;
    if store_name() != db {
        return Ok(()); // switched again meanwhile; that switch starts its own
    }
    let r = Runner::new(
        notes.store().clone(),
        FetchTransport::same_origin(),
        RunnerConfig {
            db: db.clone(),
            signed_in,
            // The worker retries when back online.
            on_network_failure: Some(Rc::new(pwa::request_background_sync)),
            guard: Some(guard_for(db.clone(), page_records)),
            // The server pokes this browser when the account's notes change.
            live_url: Some("/live".into()),
        },
    );
    r.subscribe(move |s| on_status(s.clone()));
    // The page re-reads (and its search index catches up with what the sync wrote).
    r.on_store_changed(move |_| on_changed());
    if let Some(old) = RUNNER.with(|slot| slot.borrow_mut().replace(r.clone())) {
        old.stop();
    }
    r.start();
    Ok(())
}

/// True while the page's runner is in the middle of a sync of several pages (an initial
/// sync): work that can wait (the search index's catch-up) waits for its end, when the
/// page reads the store again.
pub fn pulling() -> bool {
    RUNNER.with(|r| r.borrow().as_ref().is_some_and(PageRunner::pulling))
}

/// Asks the runner to sync ("sync now"), or tells it about the session.
pub fn trigger(t: Trigger) {
    if let Some(r) = RUNNER.with(|r| r.borrow().clone()) {
        r.trigger(t);
    }
}

/// After a local edit is saved: other tabs re-read it, and it is pushed shortly.
pub fn local_change() {
    client::tabs::announce_change();
    if let Some(r) = RUNNER.with(|r| r.borrow().clone()) {
        r.local_change();
    }
}
