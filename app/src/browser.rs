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
    /// `synced`, `pending` or `failed`.
    pub sync: String,
}

pub use imp::{create_note, list_notes, sync_now};

#[cfg(feature = "hydrate")]
mod imp {
    use std::rc::Rc;

    use client::engine;
    use client::http::FetchTransport;
    use client::idb::IdbStore;
    use client::local::{Notes, SyncState};

    use super::NoteView;

    thread_local! {
        static NOTES: std::cell::RefCell<Option<Rc<Notes<IdbStore>>>> = const { std::cell::RefCell::new(None) };
    }

    async fn notes() -> Result<Rc<Notes<IdbStore>>, String> {
        if let Some(n) = NOTES.with(|n| n.borrow().clone()) {
            return Ok(n);
        }
        let store = IdbStore::open("tern").await.map_err(|e| e.to_string())?;
        let n = Rc::new(Notes::open(store).await.map_err(|e| e.to_string())?);
        NOTES.with(|slot| *slot.borrow_mut() = Some(n.clone()));
        Ok(n)
    }

    /// The live notes, newest first.
    pub async fn list_notes() -> Result<Vec<NoteView>, String> {
        let notes = notes().await?;
        let list = notes.list().await.map_err(|e| e.to_string())?;
        Ok(list
            .into_iter()
            .map(|n| NoteView {
                id: n.id.0,
                title: n.title,
                content: n.content,
                sync: match n.sync {
                    SyncState::Synced => "synced".into(),
                    SyncState::Pending => "pending".into(),
                    SyncState::Failed { .. } => "failed".into(),
                },
            })
            .collect())
    }

    /// Creates a note in IndexedDB (durable when this returns).
    pub async fn create_note(title: &str, content: &str) -> Result<(), String> {
        notes().await?.create(title, content).await.map(drop).map_err(|e| e.to_string())
    }

    /// One sync run; returns a summary for the status line.
    pub async fn sync_now() -> Result<String, String> {
        let notes = notes().await?;
        let report = engine::sync(notes.store(), &FetchTransport::same_origin())
            .await
            .map_err(|e| e.to_string())?;
        Ok(format!("Synced: {} sent, {} received", report.pushed, report.pulled))
    }
}

#[cfg(not(feature = "hydrate"))]
mod imp {
    use super::NoteView;

    /// Server side: there is no local store.
    pub async fn list_notes() -> Result<Vec<NoteView>, String> {
        Ok(Vec::new())
    }

    /// Server side: never called (event handlers run in the browser only).
    pub async fn create_note(_: &str, _: &str) -> Result<(), String> {
        Err("notes are created in the browser".into())
    }

    /// Server side: never called (effects run in the browser only).
    pub async fn sync_now() -> Result<String, String> {
        Err("sync runs in the browser".into())
    }
}
