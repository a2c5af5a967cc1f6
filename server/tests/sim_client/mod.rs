#![allow(dead_code)] // Shared by test files that each use a part of it.
//! The simulation's only contact with the client crate: a device (the real local-first
//! client, `client::local::Notes` on the in-memory store, synced by the real engine
//! `client::engine::sync`) behind a small API of wire-level types.
//!
//! When the client engine's API changes, this file is the one to port: the simulation
//! itself speaks only `sync_core` types ([`Net`] is a `POST /sync` exchange).

use client::api::ApiError;
use client::engine::{self, Transport};
use client::local::{LocalStore, META_NODE_ID, Notes, SyncState};
use client::memory::MemoryStore;
use sync_core::protocol::{SyncRequest, SyncResponse};
use sync_core::{Conflict, NoteId, Strategy};

/// How a `POST /sync` exchange failed, as the device sees it.
#[derive(Debug, Clone)]
pub enum NetError {
    /// No answer (offline, dropped request, dropped answer, timeout).
    NoAnswer(String),
    /// An HTTP error status.
    Status(u16),
}

/// One `POST /sync` exchange.
#[allow(async_fn_in_trait)]
pub trait Net {
    /// Sends `req`; the answer, or why there is none.
    async fn exchange(&self, req: &SyncRequest) -> Result<SyncResponse, NetError>;
}

struct Via<'a, N>(&'a N);

impl<N: Net> Transport for Via<'_, N> {
    async fn sync(&self, req: &SyncRequest) -> Result<SyncResponse, ApiError> {
        self.0.exchange(req).await.map_err(|e| match e {
            NetError::NoAnswer(m) => ApiError::Offline(m),
            NetError::Status(status) => ApiError::from_answer(status, ""),
        })
    }
}

/// A note as the device shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteView {
    /// The note's id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Content.
    pub content: String,
    /// A tombstone.
    pub deleted: bool,
    /// Concurrent versions shown for the user to choose.
    pub conflict: Option<Conflict>,
    /// An edit waits to be pushed (or was refused: see `failed`).
    pub pending: bool,
    /// The server refused the pending edit with this code.
    pub failed: Option<String>,
}

/// One device.
pub struct Device {
    notes: Notes<MemoryStore>,
}

impl Device {
    /// A device whose clock node is `node`.
    pub async fn new(node: &str) -> Self {
        let store = MemoryStore::new();
        store.set_meta(META_NODE_ID, node).await.unwrap();
        Self {
            notes: Notes::open(store).await.unwrap(),
        }
    }

    /// Sets the device clock to the system clock plus `ms` (until the next sync corrects
    /// it).
    pub async fn set_clock_offset(&self, ms: i64) {
        client::local::set_clock_offset(self.notes.store(), ms)
            .await
            .unwrap();
    }

    /// Creates a note; its id.
    pub async fn create(&self, title: &str, content: &str) -> String {
        self.notes.create(title, content).await.unwrap().id.0
    }

    /// Edits (or undeletes) a note.
    pub async fn edit(&self, id: &str, title: &str, content: &str) {
        self.notes
            .edit(&NoteId(id.into()), title, content)
            .await
            .unwrap();
    }

    /// Saves an open editor's text over a note, as the app's editor does: `base` is the
    /// (title, content) the typing was made on, `editor` what the editor shows. Returns
    /// whether the typing overlapped the stored text (both kept as a conflict) and the
    /// content the editor shows after the save (its typing merged with the stored text).
    pub async fn save_editor(
        &self,
        id: &str,
        base: (&str, &str),
        editor: (&str, &str),
    ) -> (bool, String) {
        let text = |(title, content): (&str, &str)| sync_core::Text {
            title: title.into(),
            content: content.into(),
        };
        let saved = self
            .notes
            .save_editor(&NoteId(id.into()), &text(base), &text(editor))
            .await
            .unwrap();
        match saved {
            client::local::EditorSave::Conflict(t) => (true, t.content),
            client::local::EditorSave::Written(t) => (false, t.content),
            client::local::EditorSave::Deleted => (false, editor.1.to_owned()),
        }
    }

    /// Deletes a note.
    pub async fn delete(&self, id: &str) {
        self.notes.delete(&NoteId(id.into())).await.unwrap();
    }

    /// Sets a note's conflict strategy.
    pub async fn set_strategy(&self, id: &str, s: Strategy) {
        self.notes
            .set_strategy(&NoteId(id.into()), s)
            .await
            .unwrap();
    }

    /// Resolves a note's conflict with this text.
    pub async fn resolve(&self, id: &str, title: &str, content: &str, deleted: bool) {
        self.notes
            .resolve(&NoteId(id.into()), title, content, deleted)
            .await
            .unwrap();
    }

    /// Every note, tombstones included, by id.
    pub async fn notes(&self) -> Vec<NoteView> {
        let mut all: Vec<NoteView> = self
            .notes
            .store()
            .list()
            .await
            .unwrap()
            .into_iter()
            .map(|n| NoteView {
                id: n.id.0,
                title: n.title,
                content: n.content,
                deleted: n.deleted,
                conflict: n.conflict,
                pending: n.pending.is_some(),
                failed: match n.sync {
                    SyncState::Failed { code, .. } => Some(code),
                    _ => None,
                },
            })
            .collect();
        all.sort_by(|a, b| a.id.cmp(&b.id));
        all
    }

    /// One sync run of the real engine over `net`.
    pub async fn sync(&self, net: &impl Net) -> Result<(), String> {
        engine::sync(self.notes.store(), &Via(net))
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}
