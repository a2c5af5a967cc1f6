//! An in-memory [`LocalStore`], for native tests of the engine.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;

use sync_core::protocol::{Change, Cursor, SyncResponse};
use sync_core::{Hlc, NoteId};

use crate::local::{LocalNote, LocalStore, META_CURSOR, StoreError, affected_ids, reconcile};

/// Notes and metadata in memory; `commit_sync` is trivially atomic.
#[derive(Default)]
pub struct MemoryStore {
    notes: RefCell<BTreeMap<NoteId, LocalNote>>,
    /// Each note's change sequence number (see [`LocalStore::change_seq`]).
    seqs: RefCell<BTreeMap<NoteId, u64>>,
    seq: Cell<u64>,
    meta: RefCell<BTreeMap<String, String>>,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore").finish_non_exhaustive()
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl MemoryStore {
    /// The note was written: it takes the next sequence number.
    fn wrote(&self, id: &NoteId) {
        let seq = self.seq.get() + 1;
        self.seq.set(seq);
        self.seqs.borrow_mut().insert(id.clone(), seq);
    }
}

impl LocalStore for MemoryStore {
    async fn get(&self, id: &NoteId) -> Result<Option<LocalNote>, StoreError> {
        Ok(self.notes.borrow().get(id).cloned())
    }

    async fn put(&self, note: &LocalNote) -> Result<(), StoreError> {
        self.notes
            .borrow_mut()
            .insert(note.id.clone(), note.clone());
        self.wrote(&note.id);
        Ok(())
    }

    async fn change_seq(&self) -> Result<u64, StoreError> {
        Ok(self.seq.get())
    }

    async fn changed_since(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<(u64, LocalNote)>, StoreError> {
        let notes = self.notes.borrow();
        let mut changed: Vec<(u64, LocalNote)> = self
            .seqs
            .borrow()
            .iter()
            .filter(|(_, s)| **s > after)
            .filter_map(|(id, s)| Some((*s, notes.get(id)?.clone())))
            .collect();
        changed.sort_by_key(|(s, _)| *s);
        changed.truncate(limit);
        Ok(changed)
    }

    async fn list(&self) -> Result<Vec<LocalNote>, StoreError> {
        Ok(self.notes.borrow().values().cloned().collect())
    }

    async fn pending(&self) -> Result<Vec<LocalNote>, StoreError> {
        let notes = self.notes.borrow();
        Ok(notes
            .values()
            .filter(|n| n.pending.is_some())
            .cloned()
            .collect())
    }

    async fn page(&self, before: Option<&Hlc>, limit: usize) -> Result<Vec<LocalNote>, StoreError> {
        let notes = self.notes.borrow();
        let mut live: Vec<&LocalNote> = notes
            .values()
            .filter(|n| !n.deleted && n.is_note() && before.is_none_or(|b| n.hlc < *b))
            .collect();
        live.sort_by(|a, b| b.hlc.cmp(&a.hlc));
        Ok(live.into_iter().take(limit).cloned().collect())
    }

    async fn live_count(&self) -> Result<usize, StoreError> {
        Ok(self
            .notes
            .borrow()
            .values()
            .filter(|n| !n.deleted && n.is_note())
            .count())
    }

    async fn chunk(
        &self,
        after: Option<&NoteId>,
        limit: usize,
    ) -> Result<Vec<LocalNote>, StoreError> {
        use std::ops::Bound;
        let notes = self.notes.borrow();
        let from = after.map_or(Bound::Unbounded, |a| Bound::Excluded(a.clone()));
        Ok(notes
            .range((from, Bound::Unbounded))
            .take(limit)
            .map(|(_, n)| n.clone())
            .collect())
    }

    async fn get_meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self.meta.borrow().get(key).cloned())
    }

    async fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.meta
            .borrow_mut()
            .insert(key.to_owned(), value.to_owned());
        Ok(())
    }

    async fn cursor(&self) -> Result<Option<Cursor>, StoreError> {
        Ok(self.meta.borrow().get(META_CURSOR).cloned().map(Cursor))
    }

    async fn commit_sync(
        &self,
        sent: &[Change],
        response: &SyncResponse,
    ) -> Result<(), StoreError> {
        let mut notes = self.notes.borrow_mut();
        for id in affected_ids(response) {
            let result = response.results.iter().find(|r| r.note_id == id);
            let pulled = response.changes.iter().find(|n| n.id == id);
            let change = sent.iter().find(|c| c.note_id == id);
            if let Some(n) = reconcile(notes.get(&id), change, result, pulled) {
                self.wrote(&id);
                notes.insert(id, n);
            }
        }
        self.meta
            .borrow_mut()
            .insert(META_CURSOR.to_owned(), response.cursor.0.clone());
        Ok(())
    }
}
