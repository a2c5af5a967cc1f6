//! The [`LocalStore`] trait every backend implements (IndexedDB, memory), and its error.

use std::rc::Rc;

use sync_core::protocol::{Change, Cursor, SyncResponse};
use sync_core::{Hlc, NoteId};

use super::LocalNote;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The browser refused to open or use the database (private mode, quota, blocked upgrade).
    #[error("the local database is unavailable: {0}")]
    Unavailable(String),
    /// A stored record could not be read back.
    #[error("a stored record is corrupt: {0}")]
    Corrupt(String),
}

/// Storage of the device's notes and sync metadata. One implementation per backend
/// (IndexedDB in the browser, memory in tests), all held to the same test suite.
#[allow(async_fn_in_trait)]
pub trait LocalStore {
    /// One note.
    async fn get(&self, id: &NoteId) -> Result<Option<LocalNote>, StoreError>;
    /// These notes, those that exist, in the order asked (one read for a page of search
    /// results; a backend may read them in one transaction).
    async fn get_many(&self, ids: &[NoteId]) -> Result<Vec<LocalNote>, StoreError> {
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            out.extend(self.get(id).await?);
        }
        Ok(out)
    }
    /// Writes one note; durable when this returns.
    async fn put(&self, note: &LocalNote) -> Result<(), StoreError>;
    /// Writes those of `notes` whose id is not in the store yet (an import: a note already
    /// on the device is never overwritten); durable when this returns. Says, note by note,
    /// which were written. IndexedDB checks and writes them in one transaction.
    async fn add_new(&self, notes: &[LocalNote]) -> Result<Vec<bool>, StoreError> {
        let mut added = Vec::with_capacity(notes.len());
        for n in notes {
            let new = self.get(&n.id).await?.is_none();
            if new {
                self.put(n).await?;
            }
            added.push(new);
        }
        Ok(added)
    }
    /// Every note, tombstones included, in no particular order.
    async fn list(&self) -> Result<Vec<LocalNote>, StoreError>;
    /// The outbox: every note with an edit the server has not accepted yet (`pending` set,
    /// failed ones included), in no particular order. The sync engine reads only this, so a
    /// backend with an index on `pending` makes a sync cost what changed; this default
    /// filters [`LocalStore::list`].
    async fn pending(&self) -> Result<Vec<LocalNote>, StoreError> {
        let mut all = self.list().await?;
        all.retain(|n| n.pending.is_some());
        Ok(all)
    }
    /// The trash: every deleted note whose text this device keeps ([`LocalNote::trash`]),
    /// in no particular order. A backend with an index on it reads only these (the trash
    /// holds [`super::TRASH_DAYS`] of deletes, not the notebook); this default filters
    /// [`LocalStore::list`].
    async fn trashed(&self) -> Result<Vec<LocalNote>, StoreError> {
        let mut all = self.list().await?;
        all.retain(|n| n.deleted && n.trash.is_some());
        Ok(all)
    }
    /// How many notes [`LocalStore::pending`] holds (a backend may count without reading).
    async fn pending_count(&self) -> Result<usize, StoreError> {
        Ok(self.pending().await?.len())
    }
    /// One page of the live notes (tombstones left out), newest first (by [`LocalNote::hlc`]):
    /// at most `limit` notes older than `before` (the stamp of the last note of the page
    /// before; `None` for the first page). A backend with an index on the stamp of live
    /// notes reads only the page; this default sorts [`LocalStore::list`].
    async fn page(&self, before: Option<&Hlc>, limit: usize) -> Result<Vec<LocalNote>, StoreError> {
        let mut all = self.list().await?;
        all.retain(|n| !n.deleted && before.is_none_or(|b| n.hlc < *b));
        all.sort_by(|a, b| b.hlc.cmp(&a.hlc));
        all.truncate(limit);
        Ok(all)
    }
    /// How many live notes there are (a backend may keep a count instead of reading).
    async fn live_count(&self) -> Result<usize, StoreError> {
        Ok(self.list().await?.iter().filter(|n| !n.deleted).count())
    }
    /// Every note, tombstones included, in chunks by id: at most `limit` notes with an id
    /// after `after` (`None`: from the first), in id order. For work over all notes done
    /// in the background (building the search index) without holding them all at once.
    async fn chunk(
        &self,
        after: Option<&NoteId>,
        limit: usize,
    ) -> Result<Vec<LocalNote>, StoreError> {
        let mut all = self.list().await?;
        all.retain(|n| after.is_none_or(|a| n.id > *a));
        all.sort_by(|a, b| a.id.cmp(&b.id));
        all.truncate(limit);
        Ok(all)
    }
    /// The store's change sequence: every write of a note record (a local edit, a sync,
    /// another tab's write) stamps the record with the next number of one counter kept by
    /// the store. This is the counter's last value (0 for a store never written since the
    /// counter exists).
    async fn change_seq(&self) -> Result<u64, StoreError>;
    /// The notes written after sequence number `after` (see [`LocalStore::change_seq`]),
    /// tombstones included, oldest write first, at most `limit`, each with its sequence
    /// number. Whoever keeps something derived from the notes (the search index) catches up
    /// by reading only what changed since it last looked; a backend with an index on the
    /// sequence reads only those records.
    async fn changed_since(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<(u64, LocalNote)>, StoreError>;
    /// Reads, changes and writes one note atomically (no other write to it in between):
    /// `f` returns false to leave it as it is. Returns the note as stored afterwards.
    /// This default is atomic only on a backend whose `get` and `put` do not interleave
    /// with other writers (memory); IndexedDB runs it in one transaction.
    async fn update_note(
        &self,
        id: &NoteId,
        f: &mut dyn FnMut(&mut LocalNote) -> bool,
    ) -> Result<Option<LocalNote>, StoreError> {
        let Some(mut note) = self.get(id).await? else {
            return Ok(None);
        };
        if f(&mut note) {
            self.put(&note).await?;
        }
        Ok(Some(note))
    }
    /// Reads, changes and writes one note and one metadata value together, atomically: `f`
    /// gets the note and the value, changes the note and returns the value to write, or
    /// `None` to leave both as they were (it must not change the note then). Returns the
    /// note as stored afterwards (`None`: no such note). An edit ticks the device clock in
    /// the transaction that writes it, so a save is one read-write transaction (one commit
    /// to disk), not two. This default is atomic only on a backend whose calls do not
    /// interleave with other writers (memory); IndexedDB runs it in one transaction.
    async fn update_note_and_meta(
        &self,
        id: &NoteId,
        key: &str,
        f: &mut dyn FnMut(&mut LocalNote, Option<&str>) -> Option<String>,
    ) -> Result<Option<LocalNote>, StoreError> {
        let Some(mut note) = self.get(id).await? else {
            return Ok(None);
        };
        let original = note.clone();
        let current = self.get_meta(key).await?;
        match f(&mut note, current.as_deref()) {
            Some(v) => {
                self.put(&note).await?;
                self.set_meta(key, &v).await?;
                Ok(Some(note))
            }
            None => Ok(Some(original)),
        }
    }
    /// Reads, changes and writes one metadata value atomically (the device clock is
    /// changed by the page and the service worker): `f` gets the current value and returns
    /// the new one, or `None` to leave it.
    async fn update_meta(
        &self,
        key: &str,
        f: &mut dyn FnMut(Option<&str>) -> Option<String>,
    ) -> Result<(), StoreError> {
        let current = self.get_meta(key).await?;
        if let Some(v) = f(current.as_deref()) {
            self.set_meta(key, &v).await?;
        }
        Ok(())
    }
    /// A metadata value (device id, clock offset).
    async fn get_meta(&self, key: &str) -> Result<Option<String>, StoreError>;
    /// Writes a metadata value.
    async fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError>;
    /// The cursor of the last applied pull.
    async fn cursor(&self) -> Result<Option<Cursor>, StoreError>;
    /// Folds a sync response into the store with [`super::reconcile()`] (`sent` are the changes the
    /// request pushed): every affected note and the new cursor are written in one
    /// transaction, or none of them is.
    async fn commit_sync(&self, sent: &[Change], response: &SyncResponse)
    -> Result<(), StoreError>;
}

/// A shared store is a store (the page's notes and its sync runner share one connection).
impl<S: LocalStore> LocalStore for Rc<S> {
    async fn get(&self, id: &NoteId) -> Result<Option<LocalNote>, StoreError> {
        (**self).get(id).await
    }
    async fn get_many(&self, ids: &[NoteId]) -> Result<Vec<LocalNote>, StoreError> {
        (**self).get_many(ids).await
    }
    async fn put(&self, note: &LocalNote) -> Result<(), StoreError> {
        (**self).put(note).await
    }
    async fn add_new(&self, notes: &[LocalNote]) -> Result<Vec<bool>, StoreError> {
        (**self).add_new(notes).await
    }
    async fn list(&self) -> Result<Vec<LocalNote>, StoreError> {
        (**self).list().await
    }
    async fn pending(&self) -> Result<Vec<LocalNote>, StoreError> {
        (**self).pending().await
    }
    async fn trashed(&self) -> Result<Vec<LocalNote>, StoreError> {
        (**self).trashed().await
    }
    async fn pending_count(&self) -> Result<usize, StoreError> {
        (**self).pending_count().await
    }
    async fn page(&self, before: Option<&Hlc>, limit: usize) -> Result<Vec<LocalNote>, StoreError> {
        (**self).page(before, limit).await
    }
    async fn live_count(&self) -> Result<usize, StoreError> {
        (**self).live_count().await
    }
    async fn chunk(
        &self,
        after: Option<&NoteId>,
        limit: usize,
    ) -> Result<Vec<LocalNote>, StoreError> {
        (**self).chunk(after, limit).await
    }
    async fn change_seq(&self) -> Result<u64, StoreError> {
        (**self).change_seq().await
    }
    async fn changed_since(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<(u64, LocalNote)>, StoreError> {
        (**self).changed_since(after, limit).await
    }
    async fn update_note(
        &self,
        id: &NoteId,
        f: &mut dyn FnMut(&mut LocalNote) -> bool,
    ) -> Result<Option<LocalNote>, StoreError> {
        (**self).update_note(id, f).await
    }
    async fn update_note_and_meta(
        &self,
        id: &NoteId,
        key: &str,
        f: &mut dyn FnMut(&mut LocalNote, Option<&str>) -> Option<String>,
    ) -> Result<Option<LocalNote>, StoreError> {
        (**self).update_note_and_meta(id, key, f).await
    }
    async fn update_meta(
        &self,
        key: &str,
        f: &mut dyn FnMut(Option<&str>) -> Option<String>,
    ) -> Result<(), StoreError> {
        (**self).update_meta(key, f).await
    }
    async fn get_meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        (**self).get_meta(key).await
    }
    async fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        (**self).set_meta(key, value).await
    }
    async fn cursor(&self) -> Result<Option<Cursor>, StoreError> {
        (**self).cursor().await
    }
    async fn commit_sync(
        &self,
        sent: &[Change],
        response: &SyncResponse,
    ) -> Result<(), StoreError> {
        (**self).commit_sync(sent, response).await
    }
}
