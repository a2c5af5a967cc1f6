//! Browser-only operations behind plain async functions. With the `hydrate` feature they
//! use IndexedDB (through `tern-client`) and fetch; on the server they do nothing, because
//! the server never runs effects or event handlers.

/// A note as the list shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteView {
    /// Note id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Body.
    pub content: String,
    /// Synced, pending, failed or conflict.
    pub sync: NoteStatus,
    /// Why the server refused the last edit (failed notes only).
    pub reason: String,
    /// The note's conflict strategy.
    pub strategy: Strategy,
    /// The concurrent versions waiting for the user, if any.
    pub conflict: Option<ConflictView>,
}

/// One version of a note's text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextView {
    /// Title.
    pub title: String,
    /// Body.
    pub content: String,
    /// True for a delete.
    pub deleted: bool,
}

/// An unresolved conflict, as the conflict screen shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConflictView {
    /// The other versions (the note's own text is the first choice).
    pub versions: Vec<TextView>,
    /// The server's merge proposal, if it could make one.
    pub proposal: Option<TextView>,
}

/// One entry of a note's history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevisionView {
    /// The text.
    pub text: TextView,
    /// Why it was kept.
    pub reason: RevisionReason,
    /// When, in local time.
    pub saved: String,
}

/// What the page shows of the local store.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Live notes, newest first.
    pub notes: Vec<NoteView>,
    /// Notes (deletes included) with an edit the server has not accepted yet.
    pub unsynced: usize,
}

pub use client::engine::{FailureKind, SyncReport};
pub use client::local::NoteStatus;
pub use client::runner::{SyncStatus, Trigger};
pub use sync_core::Strategy;
pub use sync_core::protocol::RevisionReason;

/// What to tell the user after a sync run, if anything: edits that lost, deletes undone,
/// conflicts, notes refused on the device.
pub fn notice(r: &SyncReport) -> String {
    let mut notice = Vec::new();
    if r.superseded > 0 {
        notice.push(format!(
            "{} of your edits lost to newer edits from another device; open the note's \
             History to bring them back.",
            r.superseded
        ));
    }
    if r.deletes_undone > 0 {
        notice.push(format!(
            "{} note(s) you deleted were edited on another device meanwhile, so they were kept.",
            r.deletes_undone
        ));
    }
    if r.conflicts > 0 {
        notice.push(format!(
            "{} note(s) were edited on two devices at once: choose a version.",
            r.conflicts
        ));
    }
    if r.refused > 0 {
        notice.push(format!(
            "{} note(s) are over a size limit and stay on this device: see the note.",
            r.refused
        ));
    }
    notice.join(" ")
}

pub use imp::{
    account, delete_note, history, is_online, local_change, on_store_closed, resolve_note,
    restore_note, save_note, set_strategy, sign_out, snapshot, start_sync, time_label, trigger,
    whoami,
};

#[cfg(feature = "hydrate")]
mod imp {
    use std::rc::Rc;

    use client::http::FetchTransport;
    use client::idb::IdbStore;
    use client::local::{Notes, SyncState};
    use client::runner::{Runner, RunnerConfig, SyncStatus, Trigger};
    use gloo_net::http::Request;
    use sync_core::NoteId;
    use sync_core::protocol::{Credentials, ErrorBody, SignedIn};

    use super::{ConflictView, NoteView, RevisionView, Snapshot, TextView};

    /// The local database.
    const DB: &str = "tern";

    type PageRunner = Runner<IdbStore, FetchTransport>;

    thread_local! {
        static NOTES: std::cell::RefCell<Option<Rc<Notes<Rc<IdbStore>>>>> = const { std::cell::RefCell::new(None) };
        static RUNNER: std::cell::RefCell<Option<PageRunner>> = const { std::cell::RefCell::new(None) };
    }

    async fn notes() -> Result<Rc<Notes<Rc<IdbStore>>>, String> {
        if let Some(n) = NOTES.with(|n| n.borrow().clone()) {
            return Ok(n);
        }
        let store = Rc::new(IdbStore::open(DB).await.map_err(|e| e.to_string())?);
        let n = Rc::new(Notes::open(store).await.map_err(|e| e.to_string())?);
        // Another task may have opened it meanwhile: keep the first.
        Ok(NOTES.with(|slot| slot.borrow_mut().get_or_insert(n).clone()))
    }

    fn runner() -> Option<PageRunner> {
        RUNNER.with(|r| r.borrow().clone())
    }

    /// Starts the page's sync runner (once): `on_status` gets every [`SyncStatus`],
    /// `on_changed` is called when the store changed under the page (a sync here, another
    /// tab, the worker), with the ids a sync here wrote.
    pub async fn start_sync(
        signed_in: bool,
        on_status: impl Fn(SyncStatus) + 'static,
        on_changed: impl Fn(Vec<String>) + 'static,
    ) -> Result<(), String> {
        if runner().is_some() {
            return Ok(());
        }
        let notes = notes().await?;
        let r = Runner::new(
            notes.store().clone(),
            FetchTransport::same_origin(),
            RunnerConfig {
                db: DB.into(),
                signed_in,
                // The worker retries when back online.
                on_network_failure: Some(Rc::new(crate::pwa::request_background_sync)),
            },
        );
        r.subscribe(move |s| on_status(s.clone()));
        r.on_store_changed(move |ids| on_changed(ids.iter().map(|i| i.0.clone()).collect()));
        RUNNER.with(|slot| *slot.borrow_mut() = Some(r.clone()));
        r.start();
        Ok(())
    }

    /// Asks the runner to sync ("sync now"), or tells it about the session.
    pub fn trigger(t: Trigger) {
        if let Some(r) = runner() {
            r.trigger(t);
        }
    }

    /// After a local edit is saved: other tabs re-read it, and it is pushed shortly.
    pub fn local_change() {
        match runner() {
            Some(r) => r.local_change(),
            None => client::tabs::announce_change(),
        }
    }

    /// The live notes, newest first, and the count of unsynced ones.
    pub async fn snapshot() -> Result<Snapshot, String> {
        let notes = notes().await?;
        let list = notes.list().await.map_err(|e| e.to_string())?;
        let unsynced = notes.unsynced_count().await.map_err(|e| e.to_string())?;
        let notes = list
            .into_iter()
            .map(|n| {
                let reason = match &n.sync {
                    SyncState::Failed { message, .. } => message.clone(),
                    _ => String::new(),
                };
                let text = |title: &str, content: &str, deleted| TextView {
                    title: title.to_owned(),
                    content: content.to_owned(),
                    deleted,
                };
                NoteView {
                    sync: n.status(),
                    strategy: n.strategy,
                    conflict: n.conflict.as_ref().map(|c| ConflictView {
                        versions: c
                            .versions
                            .iter()
                            .map(|v| text(&v.title, &v.content, v.deleted))
                            .collect(),
                        proposal: c
                            .proposal
                            .as_ref()
                            .map(|p| text(&p.title, &p.content, false)),
                    }),
                    id: n.id.0,
                    title: n.title,
                    content: n.content,
                    reason,
                }
            })
            .collect();
        Ok(Snapshot { notes, unsynced })
    }

    /// Saves a note (creating it when `id` is `None`); durable in IndexedDB when this
    /// returns. Returns the note's id.
    pub async fn save_note(
        id: Option<String>,
        title: &str,
        content: &str,
    ) -> Result<String, String> {
        let _saving = crate::pwa::SaveGuard::new(); // an update reloads only after this
        let notes = notes().await?;
        let saved = match id {
            None => notes.create(title, content).await.map(Some),
            Some(id) => notes.edit(&NoteId(id), title, content).await,
        };
        match saved {
            Ok(Some(n)) => Ok(n.id.0),
            Ok(None) => Err("the note no longer exists".into()),
            Err(e) => Err(crate::pwa::describe_storage_error(&e.to_string())),
        }
    }

    /// Deletes a note (a pending tombstone until synced).
    pub async fn delete_note(id: &str) -> Result<(), String> {
        notes()
            .await?
            .delete(&NoteId(id.into()))
            .await
            .map(drop)
            .map_err(|e| e.to_string())
    }

    /// Undoes a delete.
    pub async fn restore_note(id: &str, title: &str, content: &str) -> Result<(), String> {
        notes()
            .await?
            .edit(&NoteId(id.into()), title, content)
            .await
            .map(drop)
            .map_err(|e| e.to_string())
    }

    /// Resolves the note's conflict with this version.
    pub async fn resolve_note(
        id: &str,
        title: &str,
        content: &str,
        deleted: bool,
    ) -> Result<(), String> {
        notes()
            .await?
            .resolve(&NoteId(id.into()), title, content, deleted)
            .await
            .map(drop)
            .map_err(|e| e.to_string())
    }

    /// Sets the note's conflict strategy.
    pub async fn set_strategy(id: &str, strategy: super::Strategy) -> Result<(), String> {
        notes()
            .await?
            .set_strategy(&NoteId(id.into()), strategy)
            .await
            .map(drop)
            .map_err(|e| e.to_string())
    }

    /// The note's history from the server, newest first.
    pub async fn history(id: &str) -> Result<Vec<RevisionView>, String> {
        let resp = Request::get(&format!("/notes/{id}/history"))
            .send()
            .await
            .map_err(|_| "History needs a connection to the server.".to_string())?;
        if resp.status() == 401 {
            return Err("Sign in to see the note's history.".into());
        }
        if !resp.ok() {
            return Err(format!("The server answered {}.", resp.status()));
        }
        let h: sync_core::protocol::HistoryResponse =
            resp.json().await.map_err(|e| e.to_string())?;
        Ok(h.revisions
            .into_iter()
            .map(|r| RevisionView {
                text: TextView {
                    title: r.version.title,
                    content: r.version.content,
                    deleted: r.version.deleted,
                },
                reason: r.reason,
                saved: js_sys::Date::new(&(r.saved_at_ms as f64).into())
                    .to_locale_string("default", &js_sys::Object::new())
                    .into(),
            })
            .collect())
    }

    /// `navigator.onLine`.
    pub fn is_online() -> bool {
        client::platform::is_online()
    }

    /// Calls `f` with what to tell the user when a newer build (another tab) upgrades the
    /// local database and this page's store closes.
    pub fn on_store_closed(f: impl Fn(String) + 'static) {
        let handle =
            leptos::prelude::window_event_listener_untyped(client::idb::CLOSED_EVENT, move |_| {
                f(client::idb::CLOSED_FOR_UPGRADE.to_owned())
            });
        std::mem::forget(handle); // for the page's lifetime
    }

    /// A time (ms since the epoch) as local time, for "last synced".
    pub fn time_label(ms: u64) -> String {
        js_sys::Date::new(&(ms as f64).into())
            .to_locale_time_string("default")
            .into()
    }

    /// `POST /auth/{action}` (`signin` or `signup`); returns the signed-in username.
    pub async fn account(action: &str, username: &str, password: &str) -> Result<String, String> {
        let body = Credentials {
            username: username.to_owned(),
            password: password.to_owned(),
        };
        let resp = Request::post(&format!("/auth/{action}"))
            .json(&body)
            .map_err(|e| e.to_string())?
            .send()
            .await
            .map_err(|e| format!("cannot reach the server: {e}"))?;
        if resp.ok() {
            let s: SignedIn = resp.json().await.map_err(|e| e.to_string())?;
            Ok(s.user)
        } else {
            Err(match resp.json::<ErrorBody>().await {
                Ok(e) => e.message,
                Err(_) => format!("the server answered {}", resp.status()),
            })
        }
    }

    /// The signed-in username, if the session is valid (and the server reachable).
    pub async fn whoami() -> Option<String> {
        let resp = Request::get("/auth/me").send().await.ok()?;
        if !resp.ok() {
            return None;
        }
        let s: SignedIn = resp.json().await.ok()?;
        Some(s.user)
    }

    /// Ends the session (local notes stay).
    pub async fn sign_out() {
        if let Ok(r) = Request::post("/auth/signout")
            .header("content-type", "application/json")
            .build()
        {
            let _ = r.send().await;
        }
    }
}

#[cfg(not(feature = "hydrate"))]
mod imp {
    use super::{Snapshot, SyncStatus, Trigger};

    /// Server side: there is no local store.
    pub async fn snapshot() -> Result<Snapshot, String> {
        Ok(Snapshot::default())
    }

    /// Server side: never called (event handlers run in the browser only).
    pub async fn save_note(_: Option<String>, _: &str, _: &str) -> Result<String, String> {
        Err("notes are saved in the browser".into())
    }

    /// Server side: never called.
    pub async fn delete_note(_: &str) -> Result<(), String> {
        Err("notes are deleted in the browser".into())
    }

    /// Server side: never called.
    pub async fn restore_note(_: &str, _: &str, _: &str) -> Result<(), String> {
        Err("notes are restored in the browser".into())
    }

    /// Server side: never called.
    pub async fn resolve_note(_: &str, _: &str, _: &str, _: bool) -> Result<(), String> {
        Err("conflicts are resolved in the browser".into())
    }

    /// Server side: never called.
    pub async fn set_strategy(_: &str, _: super::Strategy) -> Result<(), String> {
        Err("settings are changed in the browser".into())
    }

    /// Server side: never called.
    pub async fn history(_: &str) -> Result<Vec<super::RevisionView>, String> {
        Err("history is read in the browser".into())
    }

    /// Server side: render as online.
    pub fn is_online() -> bool {
        true
    }

    /// Server side: never called.
    pub fn on_store_closed(_: impl Fn(String) + 'static) {}

    /// Server side: nothing syncs.
    pub async fn start_sync(
        _: bool,
        _: impl Fn(SyncStatus) + 'static,
        _: impl Fn(Vec<String>) + 'static,
    ) -> Result<(), String> {
        Ok(())
    }

    /// Server side: never called.
    pub fn trigger(_: Trigger) {}

    /// Server side: never called.
    pub fn local_change() {}

    /// Server side: never called.
    pub fn time_label(_: u64) -> String {
        String::new()
    }

    /// Server side: never called.
    pub async fn account(_: &str, _: &str, _: &str) -> Result<String, String> {
        Err("accounts are used from the browser".into())
    }

    /// Server side: nobody is signed in to the renderer.
    pub async fn whoami() -> Option<String> {
        None
    }

    /// Server side: never called.
    pub async fn sign_out() {}
}
