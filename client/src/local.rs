//! The device's copy of the notes, and the rules that keep it honest.
//!
//! Every edit is written to the local store first, marked pending, and only later pushed.
//! A pending edit is never overwritten by a pulled change; it stays until the server has
//! answered for that exact change.

use serde::{Deserialize, Serialize};
use std::rc::Rc;

use sync_core::protocol::{Change, ChangeOutcome, ChangeResult, Cursor, RejectCode, SyncResponse};
use sync_core::{ChangeId, Conflict, Hlc, NoteId, NoteState, Strategy, Text};

use crate::clock::{CARRY_AHEAD_MS, DeviceClock, META_DEVICE_CLOCK};

use crate::platform;

/// A note as this device keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalNote {
    /// The note's id.
    pub id: NoteId,
    /// Title.
    pub title: String,
    /// Body.
    pub content: String,
    /// True once deleted (kept as a tombstone until the delete is synced).
    pub deleted: bool,
    /// Clock of this state (local edit or remote change).
    pub hlc: Hlc,
    /// The server version this state derives from; `None` if the server never had it.
    pub base_version: Option<u64>,
    /// The change id of the local edit not yet accepted by the server, if any.
    pub pending: Option<ChangeId>,
    /// What the user sees about this note's sync.
    pub sync: SyncState,
    /// The text of the server version `base_version` (sent with edits so the server can
    /// merge concurrent ones three ways). Added in local schema 2.
    #[serde(default)]
    pub base: Option<Text>,
    /// The note's conflict strategy, as last known from the server or set here.
    #[serde(default)]
    pub strategy: Strategy,
    /// True when the user changed the strategy here and the change is not synced yet.
    #[serde(default)]
    pub strategy_changed: bool,
    /// Concurrent versions waiting for the user to choose, as the server last sent them.
    #[serde(default)]
    pub conflict: Option<Conflict>,
    /// True when the pending edit is the user's resolution of the conflict.
    #[serde(default)]
    pub resolving: bool,
    /// True when `conflict` holds versions only this device has: text another tab wrote
    /// and the editor's typing overlapped before either was synced (see
    /// [`Notes::save_editor`]). The server never saw them, so a state from the server
    /// does not replace them ([`reconcile`] carries them over) until the user chooses.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub local_conflict: bool,
    /// The text of a deleted note, kept on the device for the trash ("Restore") until it
    /// is deleted forever or expires ([`TRASH_DAYS`] after `deleted_ms`). Never sent: the
    /// server keeps its own copy in the note's history. Absent on live notes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trash: Option<Trashed>,
    /// True when the pending delete is "Delete forever" (sent as `purge`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub purge: bool,
}

/// A deleted note's text, as the trash shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trashed {
    /// Title when deleted.
    pub title: String,
    /// Body when deleted.
    pub content: String,
    /// When it was deleted (the delete's clock), ms since the epoch.
    pub deleted_ms: u64,
}

pub use sync_core::limits::TRASH_DAYS;

/// How long a deleted note stays in the trash, in ms.
pub const TRASH_MS: u64 = trash_ms(TRASH_DAYS);

/// A trash period of `days` days, in ms.
pub const fn trash_ms(days: u32) -> u64 {
    days as u64 * 24 * 3600 * 1000
}

/// Sync state of one note, as shown to the user. Stored as `{"state": "synced"}`,
/// `{"state": "pending"}` or `{"state": "failed", "code": …, "message": …}`, through the flat
/// [`StoredSyncState`] (an internally tagged enum would cost the wasm serde's buffering).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "StoredSyncState", into = "StoredSyncState")]
pub enum SyncState {
    /// The server has exactly this version.
    Synced,
    /// A local edit waits to be pushed.
    Pending,
    /// The server refused the last edit; it stays here, with the reason.
    Failed {
        /// The server's reject code.
        code: String,
        /// What to do about it.
        message: String,
    },
}

/// What the user sees about a note's sync, in one value (see [`LocalNote::status`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NoteStatus {
    /// The server has exactly this version.
    Synced,
    /// A local edit waits to be pushed.
    Pending,
    /// The last edit was refused (by the server or by the device's limits); it stays here.
    Failed,
    /// Concurrent versions wait for the user to choose.
    Conflict,
}

impl NoteStatus {
    /// The label used in the page's markup (`data-sync`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Synced => "synced",
            Self::Pending => "pending",
            Self::Failed => "failed",
            Self::Conflict => "conflict",
        }
    }
}

/// The stored shape of a [`SyncState`].
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StoredSyncState {
    state: StateTag,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    message: Option<String>,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum StateTag {
    Synced,
    Pending,
    Failed,
}

impl TryFrom<StoredSyncState> for SyncState {
    type Error = &'static str;
    fn try_from(s: StoredSyncState) -> Result<Self, &'static str> {
        Ok(match s.state {
            StateTag::Synced => Self::Synced,
            StateTag::Pending => Self::Pending,
            StateTag::Failed => Self::Failed {
                code: s.code.ok_or("missing field `code`")?,
                message: s.message.ok_or("missing field `message`")?,
            },
        })
    }
}

impl From<SyncState> for StoredSyncState {
    fn from(s: SyncState) -> Self {
        let (state, code, message) = match s {
            SyncState::Synced => (StateTag::Synced, None, None),
            SyncState::Pending => (StateTag::Pending, None, None),
            SyncState::Failed { code, message } => (StateTag::Failed, Some(code), Some(message)),
        };
        Self {
            state,
            code,
            message,
        }
    }
}

impl LocalNote {
    /// The note as the server sent it, with nothing pending.
    pub fn from_remote(s: &NoteState) -> Self {
        Self {
            id: s.id.clone(),
            title: s.title.clone(),
            content: s.content.clone(),
            deleted: s.deleted,
            hlc: s.hlc.clone(),
            base_version: Some(s.version),
            pending: None,
            sync: SyncState::Synced,
            base: Some(Text {
                title: s.title.clone(),
                content: s.content.clone(),
            }),
            strategy: s.strategy,
            strategy_changed: false,
            conflict: s.conflict.clone(),
            resolving: false,
            local_conflict: false,
            purge: false,
            trash: None,
        }
    }

    /// The state shown on the note: [`NoteStatus::Conflict`] while concurrent versions wait
    /// for the user, else synced, pending or failed.
    pub fn status(&self) -> NoteStatus {
        match (&self.conflict, &self.sync) {
            (Some(_), _) => NoteStatus::Conflict,
            (None, SyncState::Synced) => NoteStatus::Synced,
            (None, SyncState::Pending) => NoteStatus::Pending,
            (None, SyncState::Failed { .. }) => NoteStatus::Failed,
        }
    }

    /// [`LocalNote::status`] as its label: `synced`, `pending`, `failed` or `conflict`.
    pub fn state_label(&self) -> &'static str {
        self.status().as_str()
    }

    /// The change to push for this note's pending edit, if there is one to push.
    pub fn pending_change(&self) -> Option<Change> {
        if matches!(self.sync, SyncState::Failed { .. }) {
            return None; // refused as sent: waits for the user to edit it again
        }
        let base = self.base.as_ref().filter(|_| self.base_version.is_some());
        Some(Change {
            change_id: self.pending.clone()?,
            note_id: self.id.clone(),
            hlc: self.hlc.clone(),
            base_version: self.base_version,
            title: self.title.clone(),
            content: self.content.clone(),
            deleted: self.deleted,
            base_title: base.map(|b| b.title.clone()),
            base_content: base.map(|b| b.content.clone()),
            strategy: self.strategy_changed.then_some(self.strategy),
            resolve: self.resolving,
            purge: self.purge && self.deleted,
        })
    }
}

/// Why the local store failed.
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
    /// Writes these notes (an import); durable when this returns. IndexedDB writes them in
    /// one transaction.
    async fn put_many(&self, notes: &[LocalNote]) -> Result<(), StoreError> {
        for n in notes {
            self.put(n).await?;
        }
        Ok(())
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
    /// holds [`TRASH_DAYS`] of deletes, not the notebook); this default filters
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
    /// Folds a sync response into the store with [`reconcile`] (`sent` are the changes the
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
    async fn put_many(&self, notes: &[LocalNote]) -> Result<(), StoreError> {
        (**self).put_many(notes).await
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

/// The version of the shape of stored records. Each bump comes with a step in
/// [`migrate_note`], which every backend runs over its old records when it opens.
pub const DATA_VERSION: u32 = 5;
/// The meta key of the data version the store's records have.
pub const META_DATA_VERSION: &str = "data_version";

/// Upgrades one stored [`LocalNote`] from data version `from` to [`DATA_VERSION`]. Stores
/// without a recorded version are at version 1. Every older record still reads as a
/// `LocalNote` (fields added since have serde defaults); a future change of shape that
/// does not would read such records through a type of their own.
///
/// - 1 → 2: conflict support. New fields (`base`, `strategy`, `conflict`, ...) get their
///   defaults, and a note that is synced gets `base`, the text of its server version (its
///   own text), so that its next edit can be merged three ways.
/// - 2 → 3: indexes for a device with many notes. The note itself is unchanged; the
///   IndexedDB backend writes every record again so that it carries `order` (the stamp of a
///   live note, indexed for the list's pages) and adds the `pending` (outbox) and `order`
///   indexes (see [`crate::idb`]).
/// - 3 → 4: the change sequence and the live count. The note itself is unchanged; the
///   IndexedDB backend adds the `seq` index and the `search` object store, and counts the
///   live notes once into its `note_stats` record (kept up to date by every write since;
///   see [`crate::idb`]). Records written before carry no sequence number: whoever catches
///   up by sequence reads them once in full first.
/// - 4 → 5: the trash index. The note itself is unchanged; the IndexedDB backend adds the
///   `trashed` index (the delete's time on the records of deleted notes whose text the
///   device keeps) and writes those records again so that they carry it, so the trash view
///   reads the trash, not the notebook.
pub fn migrate_note(from: u32, note: &mut LocalNote) {
    if from < 2 && note.pending.is_none() && note.base_version.is_some() && note.base.is_none() {
        note.base = Some(Text {
            title: note.title.clone(),
            content: note.content.clone(),
        });
    }
}

/// The meta key of the device's node id.
pub const META_NODE_ID: &str = "node_id";
/// The meta key of the pull cursor.
pub const META_CURSOR: &str = "cursor";
/// The meta key of the estimated offset of the server clock, in ms (server minus device).
pub const META_CLOCK_OFFSET: &str = "clock_offset_ms";

/// The note ids a response touches, each once.
pub fn affected_ids(response: &SyncResponse) -> Vec<NoteId> {
    let mut ids: Vec<NoteId> = response
        .results
        .iter()
        .map(|r| r.note_id.clone())
        .chain(response.changes.iter().map(|n| n.id.clone()))
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

/// The new local state of one note after a sync response. `sent` is the change this
/// device pushed for the note in the request (if any) and `result` the server's answer to
/// it; `pulled` is the note's state in the response's remote changes (if present). Returns
/// `None` when the note should stay as it is.
///
/// The rules: an answer only settles the exact change it answers (a newer local edit made
/// while the request was in flight stays pending, now based on what the server stored); a
/// pulled state never replaces a pending local edit; a rejected edit stays local, marked
/// failed with the reason; a merged or conflicting outcome brings the server's state (the
/// edit is part of it, or kept in the note's conflict and history).
pub fn reconcile(
    current: Option<&LocalNote>,
    sent: Option<&Change>,
    result: Option<&ChangeResult>,
    pulled: Option<&NoteState>,
) -> Option<LocalNote> {
    let mut note = current.cloned();
    if let (Some(n), Some(r)) = (note.as_mut(), result) {
        let answers_pending = n.pending.as_ref() == Some(&r.change_id);
        match &r.outcome {
            ChangeOutcome::Applied {
                current: Some(stored),
                ..
            } if answers_pending => {
                *n = LocalNote::from_remote(stored);
            }
            ChangeOutcome::Applied {
                version,
                current: None,
            } if answers_pending => {
                n.pending = None;
                n.sync = SyncState::Synced;
                n.base_version = Some(*version);
                n.base = Some(Text {
                    title: n.title.clone(),
                    content: n.content.clone(),
                });
                n.strategy_changed = false;
                n.resolving = false;
                n.purge = false;
                if n.deleted {
                    n.conflict = None;
                    n.local_conflict = false;
                }
            }
            ChangeOutcome::Applied {
                version,
                current: None,
            } => {
                // The server stored exactly what was sent; the newer local edit builds on it.
                if let Some(c) = sent.filter(|c| c.change_id == r.change_id) {
                    n.base_version = Some(*version);
                    n.base = Some(Text {
                        title: c.title.clone(),
                        content: c.content.clone(),
                    });
                }
            }
            // Merged or superseded while a newer edit was made here: keep the old base, so
            // the newer edit reaches the server as concurrent and is merged, not overwritten.
            ChangeOutcome::Applied {
                current: Some(_), ..
            } => {}
            ChangeOutcome::Superseded { current } if answers_pending => {
                *n = LocalNote::from_remote(current);
            }
            ChangeOutcome::Superseded { .. } => {}
            ChangeOutcome::Rejected { code, message } if answers_pending => {
                n.sync = SyncState::Failed {
                    code: code.as_str().to_owned(),
                    message: message.clone(),
                };
            }
            ChangeOutcome::Rejected { .. } => {}
        }
    }
    if let Some(p) = pulled {
        match note.as_ref() {
            None => note = Some(LocalNote::from_remote(p)),
            Some(n) if n.pending.is_some() => {}
            Some(n) if n.base_version.is_none_or(|v| p.version >= v) => {
                note = Some(LocalNote::from_remote(p));
            }
            Some(_) => {}
        }
    }
    // Versions only this device has (`local_conflict`) outlive a state from the server.
    if let (Some(c), Some(n)) = (current, note.as_mut())
        && c.local_conflict
        && !n.local_conflict
        && let Some(kept) = &c.conflict
    {
        let conflict = n.conflict.get_or_insert_with(|| Conflict {
            versions: Vec::new(),
            proposal: None,
        });
        for v in &kept.versions {
            if !conflict.versions.contains(v) {
                conflict.versions.push(v.clone());
            }
        }
        n.local_conflict = true;
    }
    // A delete that arrived from the server keeps the text this device had, for its trash;
    // a purge (deleted forever, here or elsewhere) drops it.
    let purged = pulled.is_some_and(|p| p.purged)
        || result.is_some_and(
            |r| matches!(&r.outcome, ChangeOutcome::Applied { current: Some(s), .. } if s.purged),
        );
    if let Some(n) = note.as_mut()
        && n.deleted
    {
        if purged {
            n.trash = None;
        } else if n.trash.is_none()
            && let Some(c) = current
        {
            n.trash = c.trash.clone().or_else(|| {
                (!c.deleted && (!c.title.is_empty() || !c.content.is_empty())).then(|| Trashed {
                    title: c.title.clone(),
                    content: c.content.clone(),
                    deleted_ms: n.hlc.wall_ms,
                })
            });
        }
    }
    match (current, note) {
        (Some(c), Some(n)) if *c == n => None,
        (_, n) => n,
    }
}

/// What [`Notes::save_editor`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EditorSave {
    /// The note holds this text now (the editor's, merged with what arrived meanwhile).
    Written(Text),
    /// The editor's text is the note's, and the stored text it overlapped is kept beside
    /// it as a conflict version for the user to choose.
    Conflict(Text),
    /// The note was deleted (or is gone): nothing written; the editor offers it back.
    Deleted,
}

/// Keeps `theirs` (the note's stored text, about to be replaced) beside it as a conflict
/// version, with the note's stamp, so the user chooses between them.
fn keep_beside(n: &mut LocalNote, theirs: Text) {
    let version = sync_core::Version {
        title: theirs.title,
        content: theirs.content,
        deleted: false,
        hlc: n.hlc.clone(),
    };
    let conflict = n.conflict.get_or_insert_with(|| Conflict {
        versions: Vec::new(),
        proposal: None,
    });
    conflict.versions.push(version);
    conflict.proposal = None;
    n.local_conflict = true;
}

/// The edits a user makes, on top of a [`LocalStore`].
pub struct Notes<S> {
    pub(crate) store: S,
    node: String,
    now: Rc<dyn Fn() -> u64>,
}

impl<S> std::fmt::Debug for Notes<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notes").finish_non_exhaustive()
    }
}

impl<S: LocalStore> Notes<S> {
    /// Opens the notes of `store`, giving the device a node id on first use.
    pub async fn open(store: S) -> Result<Self, StoreError> {
        Self::open_with_clock(store, Rc::new(platform::now_ms)).await
    }

    /// Opens the notes of `store` with `now` as the device's wall clock (ms since the
    /// epoch); tests inject a skewed or simulated one.
    pub async fn open_with_clock(store: S, now: Rc<dyn Fn() -> u64>) -> Result<Self, StoreError> {
        let node = node_id(&store).await?;
        Ok(Self { store, node, now })
    }

    /// The underlying store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// This device's node id.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// Every live note, newest first.
    pub async fn list(&self) -> Result<Vec<LocalNote>, StoreError> {
        let mut notes: Vec<LocalNote> = self
            .store
            .list()
            .await?
            .into_iter()
            .filter(|n| !n.deleted)
            .collect();
        notes.sort_by(|a, b| b.hlc.cmp(&a.hlc));
        Ok(notes)
    }

    /// One page of the live notes, newest first (see [`LocalStore::page`]).
    pub async fn page(
        &self,
        before: Option<&Hlc>,
        limit: usize,
    ) -> Result<Vec<LocalNote>, StoreError> {
        self.store.page(before, limit).await
    }

    /// How many live notes there are.
    pub async fn count(&self) -> Result<usize, StoreError> {
        self.store.live_count().await
    }

    /// Creates a note; it is durable and pending when this returns.
    pub async fn create(&self, title: &str, content: &str) -> Result<LocalNote, StoreError> {
        let note = LocalNote {
            id: NoteId(platform::random_id()),
            title: title.to_owned(),
            content: content.to_owned(),
            deleted: false,
            hlc: self.stamp(None, false).await?,
            base_version: None,
            pending: Some(ChangeId(platform::random_id())),
            sync: SyncState::Pending,
            base: None,
            strategy: Strategy::Default,
            strategy_changed: false,
            conflict: None,
            resolving: false,
            local_conflict: false,
            purge: false,
            trash: None,
        };
        self.store.put(&note).await?;
        Ok(note)
    }

    /// Replaces a note's title and content; on a deleted note, brings it back with that
    /// text (the undo of a delete). Returns `None` if there is no such note.
    pub async fn edit(
        &self,
        id: &NoteId,
        title: &str,
        content: &str,
    ) -> Result<Option<LocalNote>, StoreError> {
        self.change(id, |n| {
            n.deleted = false;
            n.title = title.to_owned();
            n.content = content.to_owned();
            n.trash = None;
            n.purge = false;
        })
        .await
    }

    /// Resolves the note's conflict with this text (one of the versions, the proposal, or
    /// the user's own merge). The conflict disappears here at once; the server clears it
    /// for every device when the resolution syncs, unless yet another concurrent version
    /// arrived meanwhile (then the conflict comes back with it).
    pub async fn resolve(
        &self,
        id: &NoteId,
        title: &str,
        content: &str,
        deleted: bool,
    ) -> Result<Option<LocalNote>, StoreError> {
        self.change(id, |n| {
            n.deleted = deleted;
            n.title = if deleted {
                String::new()
            } else {
                title.to_owned()
            };
            n.content = if deleted {
                String::new()
            } else {
                content.to_owned()
            };
            n.conflict = None;
            n.local_conflict = false;
            n.resolving = true;
        })
        .await
    }

    /// Sets how the note's concurrent edits are resolved (synced like an edit).
    pub async fn set_strategy(
        &self,
        id: &NoteId,
        strategy: Strategy,
    ) -> Result<Option<LocalNote>, StoreError> {
        self.change(id, |n| {
            n.strategy = strategy;
            n.strategy_changed = true;
        })
        .await
    }

    /// Deletes a note (a pending tombstone until synced). Its text stays in the trash.
    pub async fn delete(&self, id: &NoteId) -> Result<Option<LocalNote>, StoreError> {
        let now = (self.now)();
        self.change_if(id, |n| {
            if n.deleted {
                // Deleted already: nothing to do, unless the server refused that delete
                // (say `clock_ahead`): deleting again sends it again, newly stamped.
                return matches!(n.sync, SyncState::Failed { .. });
            }
            n.trash = Some(Trashed {
                title: std::mem::take(&mut n.title),
                content: std::mem::take(&mut n.content),
                deleted_ms: now,
            });
            n.deleted = true;
            true
        })
        .await
    }

    /// "Restore" in the trash: the note comes back with the text it had when deleted, as
    /// a new edit that syncs like any other. `None` if it is not in the trash.
    pub async fn restore(&self, id: &NoteId) -> Result<Option<LocalNote>, StoreError> {
        let mut restored = false;
        let note = self
            .change_if(id, |n| {
                let Some(t) = n.trash.take().filter(|_| n.deleted) else {
                    restored = false;
                    return false;
                };
                n.deleted = false;
                n.title = t.title;
                n.content = t.content;
                n.purge = false;
                restored = true;
                true
            })
            .await?;
        Ok(note.filter(|_| restored))
    }

    /// "Delete forever" in the trash: the text leaves this device at once, and the server
    /// drops the note's text and history when the purge syncs (see `Change::purge`).
    pub async fn delete_forever(&self, id: &NoteId) -> Result<Option<LocalNote>, StoreError> {
        self.change_if(id, |n| {
            if !n.deleted {
                return false;
            }
            n.trash = None;
            n.purge = true;
            // The server version's text goes too: the purge needs only `base_version` to
            // be applied (see `Change::purge`).
            n.base = None;
            true
        })
        .await
    }

    /// The trash: deleted notes whose text this device has, newest delete first, without
    /// those older than the trash period (`days`: the server's, see
    /// [`sync_core::protocol::SignedIn::trash_days`]; [`TRASH_DAYS`] by default) at
    /// `now_ms`. Reads only the trash ([`LocalStore::trashed`]).
    pub async fn trash(&self, now_ms: u64, days: u32) -> Result<Vec<LocalNote>, StoreError> {
        let period = trash_ms(days);
        let mut notes: Vec<LocalNote> = self
            .store
            .trashed()
            .await?
            .into_iter()
            .filter(|n| {
                n.deleted
                    && n.trash
                        .as_ref()
                        .is_some_and(|t| t.deleted_ms.saturating_add(period) > now_ms)
            })
            .collect();
        notes.sort_by_key(|n| std::cmp::Reverse(n.trash.as_ref().map(|t| t.deleted_ms)));
        Ok(notes)
    }

    /// Drops the text of trash entries older than the trash period (`days`, as for
    /// [`Notes::trash`]) from this device (the server's sweep purges its copy; this device
    /// hears of it by a pull). Local only: no change is made or synced. Returns how many it
    /// dropped.
    pub async fn expire_trash(&self, now_ms: u64, days: u32) -> Result<usize, StoreError> {
        let period = trash_ms(days);
        let expired: Vec<NoteId> = self
            .store
            .trashed()
            .await?
            .into_iter()
            .filter(|n| {
                n.trash
                    .as_ref()
                    .is_some_and(|t| t.deleted_ms.saturating_add(period) <= now_ms)
            })
            .map(|n| n.id)
            .collect();
        for id in &expired {
            self.store
                .update_note(id, &mut |n| {
                    // Only if still expired: it may have been restored and deleted again.
                    let expired = n
                        .trash
                        .as_ref()
                        .is_some_and(|t| t.deleted_ms.saturating_add(period) <= now_ms);
                    if expired {
                        n.trash = None;
                    }
                    expired
                })
                .await?;
        }
        Ok(expired.len())
    }

    /// How many notes (tombstones included) have an edit the server has not accepted yet.
    pub async fn unsynced_count(&self) -> Result<usize, StoreError> {
        self.store.pending_count().await
    }

    async fn change(
        &self,
        id: &NoteId,
        mut f: impl FnMut(&mut LocalNote),
    ) -> Result<Option<LocalNote>, StoreError> {
        self.change_if(id, |n| {
            f(n);
            true
        })
        .await
    }

    /// Changes a note as `f` says (`f` returns false to leave it), as a new pending edit.
    /// Read, change and write are one compare-and-swap: if the note changed in the store
    /// between the read and the write (a sync, another tab), `f` runs again on what is
    /// stored now, so a change is never made on a stale copy and written over a newer one.
    async fn change_if(
        &self,
        id: &NoteId,
        mut f: impl FnMut(&mut LocalNote) -> bool,
    ) -> Result<Option<LocalNote>, StoreError> {
        loop {
            let Some(seen) = self.store.get(id).await? else {
                return Ok(None);
            };
            let mut note = seen.clone();
            if !f(&mut note) {
                return Ok(Some(seen));
            }
            // A state from the server was accepted by it: always order after it. A local
            // state not accepted yet may carry a stamp from a clock that was wrong
            // (`stamp_after`).
            let from_server = seen.pending.is_none();
            let now = self.corrected_now().await?;
            let after = stamp_after(Some(&seen.hlc), from_server, now);
            let node = self.node.as_str();
            note.pending = Some(ChangeId(platform::random_id()));
            note.sync = SyncState::Pending;
            let mut raced = false;
            // The clock ticks in the transaction that writes the edit.
            let stored = self
                .store
                .update_note_and_meta(id, META_DEVICE_CLOCK, &mut |n, clock| {
                    raced = *n != seen;
                    if raced {
                        return None;
                    }
                    let mut clock: DeviceClock =
                        clock.and_then(|v| v.parse().ok()).unwrap_or_default();
                    note.hlc = clock.tick(node, now, after);
                    *n = note.clone();
                    Some(clock.to_string())
                })
                .await?;
            if !raced {
                return Ok(stored);
            }
        }
    }

    /// Saves the open editor's text over note `id`: `base` is the text the editor last
    /// loaded or saved, `editor` what it shows. What reached the store since (a pull,
    /// another tab) is merged with the editor's typing, or kept beside it as a conflict
    /// when they overlap ([`crate::editor::plan_save`]); never written over. The plan is
    /// made on the note as it is at the moment of writing (see [`Notes::change_if`]).
    pub async fn save_editor(
        &self,
        id: &NoteId,
        base: &Text,
        editor: &Text,
    ) -> Result<EditorSave, StoreError> {
        self.save_editor_as(id, base, editor, false).await
    }

    /// [`Notes::save_editor`] of typing made before the editor learnt the note was deleted
    /// (see [`crate::editor::Save::revive`]): if the note is deleted when this writes, it
    /// comes back with `editor`'s text, as an edit that syncs like any other and wins over
    /// the concurrent delete (what the `merge` strategy does with an edit and a delete; the
    /// deleted text stays in the note's history). A live note is saved as usual.
    pub async fn revive_editor(
        &self,
        id: &NoteId,
        base: &Text,
        editor: &Text,
    ) -> Result<EditorSave, StoreError> {
        self.save_editor_as(id, base, editor, true).await
    }

    async fn save_editor_as(
        &self,
        id: &NoteId,
        base: &Text,
        editor: &Text,
        revive: bool,
    ) -> Result<EditorSave, StoreError> {
        use crate::editor::{SavePlan, Stored, plan_save};
        let mut outcome = EditorSave::Deleted;
        let note = self
            .change_if(id, |n| {
                if revive && n.deleted {
                    n.deleted = false;
                    n.title.clone_from(&editor.title);
                    n.content.clone_from(&editor.content);
                    n.trash = None;
                    n.purge = false;
                    outcome = EditorSave::Written(editor.clone());
                    return true;
                }
                let stored_text = Text {
                    title: n.title.clone(),
                    content: n.content.clone(),
                };
                let stored = if n.deleted {
                    Stored::Deleted
                } else {
                    Stored::Live(&stored_text)
                };
                match plan_save(base, editor, stored) {
                    SavePlan::Deleted => {
                        outcome = EditorSave::Deleted;
                        false
                    }
                    SavePlan::Nothing => {
                        outcome = EditorSave::Written(stored_text);
                        false
                    }
                    SavePlan::Write(t) => {
                        n.title.clone_from(&t.title);
                        n.content.clone_from(&t.content);
                        outcome = EditorSave::Written(t);
                        true
                    }
                    SavePlan::WriteWithConflict { theirs } => {
                        keep_beside(n, theirs);
                        n.title.clone_from(&editor.title);
                        n.content.clone_from(&editor.content);
                        outcome = EditorSave::Conflict(editor.clone());
                        true
                    }
                }
            })
            .await?;
        Ok(if note.is_none() {
            EditorSave::Deleted
        } else {
            outcome
        })
    }

    /// A timestamp from the device clock ([`DeviceClock`]), after everything the device
    /// has seen and after `after` (the state being edited), with the device's wall clock
    /// corrected by the last known server clock offset.
    pub(crate) async fn stamp(
        &self,
        after: Option<&Hlc>,
        from_server: bool,
    ) -> Result<Hlc, StoreError> {
        stamp(&self.store, &self.node, (self.now)(), after, from_server).await
    }

    /// The device's wall clock corrected by the last known server clock offset.
    async fn corrected_now(&self) -> Result<u64, StoreError> {
        corrected(&self.store, (self.now)()).await
    }
}

/// The wall clock `now` corrected by the last known server clock offset.
async fn corrected<S: LocalStore>(store: &S, now: u64) -> Result<u64, StoreError> {
    let offset: i64 = store
        .get_meta(META_CLOCK_OFFSET)
        .await?
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Ok(now.saturating_add_signed(offset))
}

/// The device's node id, made up and kept on first use.
async fn node_id<S: LocalStore>(store: &S) -> Result<String, StoreError> {
    Ok(match store.get_meta(META_NODE_ID).await? {
        Some(n) => n,
        None => {
            let n = platform::random_id();
            store.set_meta(META_NODE_ID, &n).await?;
            n
        }
    })
}

/// A timestamp from the device clock of `store` (see [`Notes::stamp`]), with the wall clock
/// `now` corrected by the last known server clock offset.
async fn stamp<S: LocalStore>(
    store: &S,
    node: &str,
    now: u64,
    after: Option<&Hlc>,
    from_server: bool,
) -> Result<Hlc, StoreError> {
    let now = corrected(store, now).await?;
    let after = stamp_after(after, from_server, now);
    let mut stamped = None;
    store
        .update_meta(META_DEVICE_CLOCK, &mut |v| {
            let mut clock: DeviceClock = v.and_then(|v| v.parse().ok()).unwrap_or_default();
            stamped = Some(clock.tick(node, now, after));
            Some(clock.to_string())
        })
        .await?;
    Ok(stamped.expect("the clock ticked"))
}

/// True when the server refused the note's pending edit because this device's clock was
/// ahead of the server's (`clock_ahead`).
pub fn refused_for_clock(note: &LocalNote) -> bool {
    note.pending.is_some()
        && matches!(&note.sync, SyncState::Failed { code, .. } if code == RejectCode::ClockAhead.as_str())
}

/// Stamps `note`'s edit again, refused because this device's clock was ahead of the
/// server's ([`refused_for_clock`]): with the device clock corrected by the offset learnt
/// since (every response carries the server's time) and under a new change id, so it is
/// pending again and the next request sends it. The edit keeps its text, base and trash
/// entry; its stamp is now the time it is sent again, not the time it was made, which the
/// wrong clock hid. Left alone if the note changed meanwhile (a newer edit is stamped
/// anew anyway). True if it was stamped again.
pub async fn restamp_refused<S: LocalStore>(
    store: &S,
    now: u64,
    note: &LocalNote,
) -> Result<bool, StoreError> {
    let node = node_id(store).await?;
    let hlc = stamp(store, &node, now, Some(&note.hlc), false).await?;
    let refused = note.pending.clone();
    let change = ChangeId(platform::random_id());
    let stored = store
        .update_note(&note.id, &mut |n| {
            if n.pending != refused || !refused_for_clock(n) {
                return false;
            }
            n.hlc = hlc.clone();
            n.pending = Some(change.clone());
            n.sync = SyncState::Pending;
            true
        })
        .await?;
    Ok(stored.is_some_and(|n| n.pending.as_ref() == Some(&change)))
}

/// What a new stamp must order after, given the stamp `after` of the state being edited:
/// a state from the server was accepted by it, so always. A local state not accepted yet
/// may carry a stamp made while this device's clock was wrong (refused with
/// `clock_ahead`): it is not carried forward, or every later edit of the note would
/// inherit it and be refused too.
fn stamp_after(after: Option<&Hlc>, from_server: bool, now: u64) -> Option<&Hlc> {
    after.filter(|h| from_server || h.wall_ms <= now.saturating_add(CARRY_AHEAD_MS))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sync_states_are_stored_in_their_documented_shape() {
        let failed = SyncState::Failed {
            code: "too_large".into(),
            message: "shorten it".into(),
        };
        for (state, json) in [
            (SyncState::Synced, serde_json::json!({"state": "synced"})),
            (SyncState::Pending, serde_json::json!({"state": "pending"})),
            (
                failed,
                serde_json::json!({"state": "failed", "code": "too_large", "message": "shorten it"}),
            ),
        ] {
            assert_eq!(serde_json::to_value(&state).unwrap(), json);
            assert_eq!(serde_json::from_value::<SyncState>(json).unwrap(), state);
        }
        assert!(
            serde_json::from_value::<SyncState>(serde_json::json!({"state": "failed"})).is_err()
        );
    }
    use sync_core::protocol::RejectCode;

    fn hlc(w: u64) -> Hlc {
        Hlc {
            wall_ms: w,
            counter: 0,
            node: "d".into(),
        }
    }

    fn pending_note(change: &str) -> LocalNote {
        LocalNote {
            id: "n".into(),
            title: "mine".into(),
            content: String::new(),
            deleted: false,
            hlc: hlc(10),
            base_version: Some(3),
            pending: Some(change.into()),
            sync: SyncState::Pending,
            base: Some(Text {
                title: "base".into(),
                content: String::new(),
            }),
            strategy: Strategy::Default,
            strategy_changed: false,
            conflict: None,
            resolving: false,
            local_conflict: false,
            purge: false,
            trash: None,
        }
    }

    fn remote(v: u64) -> NoteState {
        NoteState {
            id: "n".into(),
            title: "theirs".into(),
            content: String::new(),
            deleted: false,
            hlc: hlc(20),
            version: v,
            strategy: Strategy::Default,
            conflict: None,
            purged: false,
        }
    }

    fn result(change: &str, outcome: ChangeOutcome) -> ChangeResult {
        ChangeResult {
            change_id: change.into(),
            note_id: "n".into(),
            outcome,
        }
    }

    #[test]
    fn version_1_records_are_migrated() {
        let synced = serde_json::json!({
            "id": "n", "title": "T", "content": "C", "deleted": false,
            "hlc": "1764064589123-00000000-d", "base_version": 4, "pending": null,
            "sync": {"state": "synced"}
        });
        let mut pending = synced.clone();
        pending["pending"] = "c1".into();
        pending["sync"] = serde_json::json!({"state": "pending"});
        let mut synced: LocalNote = serde_json::from_value(synced).unwrap();
        let mut pending: LocalNote = serde_json::from_value(pending).unwrap();
        migrate_note(1, &mut synced);
        migrate_note(1, &mut pending);
        assert_eq!(
            synced.base,
            Some(Text {
                title: "T".into(),
                content: "C".into()
            })
        );
        assert_eq!(pending.base, None, "the base of a pending edit is unknown");
        assert!(synced.pending_change().is_none());
        assert_eq!(
            (synced.strategy, synced.conflict),
            (Strategy::Default, None)
        );
    }

    #[test]
    fn a_pulled_change_never_replaces_a_pending_edit() {
        let n = pending_note("c1");
        assert_eq!(reconcile(Some(&n), None, None, Some(&remote(9))), None);
    }

    #[test]
    fn an_answer_to_an_older_change_keeps_the_newer_edit_pending() {
        let n = pending_note("c2");
        let mut sent = n.pending_change().unwrap();
        sent.change_id = "c1".into();
        sent.content = "what was sent".into();
        let r = result(
            "c1",
            ChangeOutcome::Applied {
                version: 7,
                current: None,
            },
        );
        let after = reconcile(Some(&n), Some(&sent), Some(&r), None).unwrap();
        assert_eq!(after.pending, Some("c2".into()));
        assert_eq!(after.sync, SyncState::Pending);
        assert_eq!(after.base_version, Some(7));
        assert_eq!(
            after.base.unwrap().content,
            "what was sent",
            "the newer edit builds on it"
        );
    }

    #[test]
    fn a_merged_answer_brings_the_merged_note() {
        let n = pending_note("c1");
        let mut merged = remote(9);
        merged.content = "both edits".into();
        let r = result(
            "c1",
            ChangeOutcome::Applied {
                version: 9,
                current: Some(merged),
            },
        );
        let after = reconcile(Some(&n), None, Some(&r), None).unwrap();
        assert_eq!(
            (after.content.as_str(), after.pending, after.base_version),
            ("both edits", None, Some(9))
        );
        assert_eq!(after.base.unwrap().content, "both edits");
    }

    #[test]
    fn a_rejected_edit_stays_with_its_reason() {
        let n = pending_note("c1");
        let r = result(
            "c1",
            ChangeOutcome::Rejected {
                code: RejectCode::TooLarge,
                message: "shorten".into(),
            },
        );
        let after = reconcile(Some(&n), None, Some(&r), None).unwrap();
        assert_eq!(after.title, "mine");
        assert_eq!(after.pending, Some("c1".into()));
        assert_eq!(
            after.sync,
            SyncState::Failed {
                code: "too_large".into(),
                message: "shorten".into()
            }
        );
        assert_eq!(
            after.pending_change(),
            None,
            "a refused change is not pushed again as is"
        );
    }

    #[test]
    fn an_applied_edit_becomes_synced() {
        let n = pending_note("c1");
        let r = result(
            "c1",
            ChangeOutcome::Applied {
                version: 8,
                current: None,
            },
        );
        let after = reconcile(Some(&n), None, Some(&r), None).unwrap();
        assert_eq!(
            (after.pending, after.sync, after.base_version),
            (None, SyncState::Synced, Some(8))
        );
    }

    #[test]
    fn an_older_pulled_version_does_not_replace_a_newer_synced_one() {
        let mut n = LocalNote::from_remote(&remote(9));
        n.title = "v9".into();
        assert_eq!(reconcile(Some(&n), None, None, Some(&remote(4))), None);
        assert_eq!(
            reconcile(Some(&n), None, None, Some(&remote(12)))
                .unwrap()
                .base_version,
            Some(12)
        );
    }
}

#[cfg(test)]
mod save_tests {
    use std::cell::RefCell;

    use super::*;
    use crate::memory::MemoryStore;

    /// A memory store where another writer (a sync, another tab) replaces a note with
    /// `theirs` at the worst moment: when the device clock ticks, between a change's read
    /// of the note and its write.
    #[derive(Default)]
    struct Racing {
        inner: MemoryStore,
        theirs: RefCell<Option<LocalNote>>,
    }

    impl LocalStore for Racing {
        async fn get(&self, id: &NoteId) -> Result<Option<LocalNote>, StoreError> {
            self.inner.get(id).await
        }
        async fn put(&self, note: &LocalNote) -> Result<(), StoreError> {
            self.inner.put(note).await
        }
        async fn list(&self) -> Result<Vec<LocalNote>, StoreError> {
            self.inner.list().await
        }
        async fn change_seq(&self) -> Result<u64, StoreError> {
            self.inner.change_seq().await
        }
        async fn changed_since(
            &self,
            after: u64,
            limit: usize,
        ) -> Result<Vec<(u64, LocalNote)>, StoreError> {
            self.inner.changed_since(after, limit).await
        }
        async fn update_note_and_meta(
            &self,
            id: &NoteId,
            key: &str,
            f: &mut dyn FnMut(&mut LocalNote, Option<&str>) -> Option<String>,
        ) -> Result<Option<LocalNote>, StoreError> {
            let theirs = self.theirs.borrow_mut().take();
            if let Some(t) = theirs {
                self.inner.put(&t).await?;
            }
            self.inner.update_note_and_meta(id, key, f).await
        }
        async fn update_meta(
            &self,
            key: &str,
            f: &mut dyn FnMut(Option<&str>) -> Option<String>,
        ) -> Result<(), StoreError> {
            let theirs = self.theirs.borrow_mut().take();
            if let Some(t) = theirs {
                self.inner.put(&t).await?;
            }
            self.inner.update_meta(key, f).await
        }
        async fn get_meta(&self, key: &str) -> Result<Option<String>, StoreError> {
            self.inner.get_meta(key).await
        }
        async fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
            self.inner.set_meta(key, value).await
        }
        async fn cursor(&self) -> Result<Option<Cursor>, StoreError> {
            self.inner.cursor().await
        }
        async fn commit_sync(
            &self,
            sent: &[Change],
            response: &SyncResponse,
        ) -> Result<(), StoreError> {
            self.inner.commit_sync(sent, response).await
        }
    }

    /// Notes with one note of `content`, and another writer armed to change it as `other`
    /// says at the worst moment of the next change.
    async fn racing(content: &str, other: impl FnOnce(&mut LocalNote)) -> (Notes<Racing>, NoteId) {
        let notes = Notes::open(Racing::default()).await.unwrap();
        let id = notes.create("t", content).await.unwrap().id;
        let mut theirs = notes.store().get(&id).await.unwrap().unwrap();
        other(&mut theirs);
        *notes.store().theirs.borrow_mut() = Some(theirs);
        (notes, id)
    }

    fn text(content: &str) -> Text {
        Text {
            title: "t".into(),
            content: content.into(),
        }
    }

    #[test]
    fn a_sync_landing_during_a_save_is_merged_not_written_over() {
        futures::executor::block_on(async {
            // Another device's edit of the start of the note is pulled while this device
            // saves its edit of the end.
            let (notes, id) = racing("alpha beta gamma", |pulled| {
                pulled.content = "ALPHA beta gamma".into();
                pulled.pending = None;
                pulled.sync = SyncState::Synced;
                pulled.base_version = Some(7);
            })
            .await;

            let saved = notes
                .save_editor(
                    &id,
                    &text("alpha beta gamma"),
                    &text("alpha beta gamma delta"),
                )
                .await
                .unwrap();
            assert_eq!(saved, EditorSave::Written(text("ALPHA beta gamma delta")));
            let stored = notes.store().get(&id).await.unwrap().unwrap();
            assert_eq!(
                stored.content, "ALPHA beta gamma delta",
                "both edits are kept"
            );
            assert_eq!(
                stored.base_version,
                Some(7),
                "an edit of the pulled version"
            );
            assert!(stored.pending.is_some());
        });
    }

    #[test]
    fn an_overlapping_edit_landing_during_a_save_becomes_a_conflict() {
        futures::executor::block_on(async {
            let (notes, id) = racing("one", |pulled| {
                pulled.content = "uno".into();
                pulled.pending = None;
            })
            .await;

            let saved = notes
                .save_editor(&id, &text("one"), &text("eins"))
                .await
                .unwrap();
            assert_eq!(saved, EditorSave::Conflict(text("eins")));
            let stored = notes.store().get(&id).await.unwrap().unwrap();
            assert_eq!(stored.content, "eins");
            let kept: Vec<_> = stored.conflict.unwrap().versions;
            assert_eq!(kept.len(), 1);
            assert_eq!(
                kept[0].content, "uno",
                "the other version is kept for the user"
            );
        });
    }

    #[test]
    fn typing_saved_over_a_delete_it_did_not_see_brings_the_note_back() {
        futures::executor::block_on(async {
            // Another device's delete is pulled while this device saves typing made on
            // "one" (in a note the user has left).
            let deleted = |pulled: &mut LocalNote| {
                pulled.trash = Some(Trashed {
                    title: std::mem::take(&mut pulled.title),
                    content: std::mem::take(&mut pulled.content),
                    deleted_ms: 1,
                });
                pulled.deleted = true;
                pulled.pending = None;
            };
            let (notes, id) = racing("one", deleted).await;
            let saved = notes
                .save_editor(&id, &text("one"), &text("one two"))
                .await
                .unwrap();
            assert_eq!(
                saved,
                EditorSave::Deleted,
                "a plain save never undoes a delete"
            );

            let (notes, id) = racing("one", deleted).await;
            let saved = notes
                .revive_editor(&id, &text("one"), &text("one two"))
                .await
                .unwrap();
            assert_eq!(saved, EditorSave::Written(text("one two")));
            let stored = notes.store().get(&id).await.unwrap().unwrap();
            assert!(!stored.deleted, "back");
            assert_eq!(stored.content, "one two", "with the typing");
            assert!(stored.trash.is_none(), "out of the trash");
            let change = stored.pending_change().unwrap();
            assert!(
                !change.deleted,
                "syncs as an edit, which wins over the delete"
            );
            assert_eq!(change.content, "one two");

            // Live again meanwhile: saved as usual (merged with what it holds).
            let (notes, id) = racing("one", |pulled| pulled.content = "zero one".into()).await;
            let saved = notes
                .revive_editor(&id, &text("one"), &text("one two"))
                .await
                .unwrap();
            assert_eq!(saved, EditorSave::Written(text("zero one two")));
        });
    }

    #[test]
    fn versions_only_this_device_has_outlive_the_next_pull_until_the_user_chooses() {
        futures::executor::block_on(async {
            // Another tab's unsynced edit, which the editor's typing overlaps.
            let (notes, id) = racing("one", |other_tab| other_tab.content = "uno".into()).await;
            notes
                .save_editor(&id, &text("one"), &text("eins"))
                .await
                .unwrap();
            let saved = notes.store().get(&id).await.unwrap().unwrap();

            // The push is answered (stored as sent), then another device's edit is pulled:
            // the server never saw "uno", so it must stay beside the note.
            let sent = saved.pending_change().unwrap();
            let applied = ChangeResult {
                change_id: sent.change_id.clone(),
                note_id: id.clone(),
                outcome: ChangeOutcome::Applied {
                    version: 9,
                    current: None,
                },
            };
            let pushed = reconcile(Some(&saved), Some(&sent), Some(&applied), None).unwrap();
            let remote = NoteState {
                id: id.clone(),
                title: "t".into(),
                content: "eins zwei".into(),
                deleted: false,
                hlc: Hlc {
                    wall_ms: u64::MAX / 2,
                    counter: 0,
                    node: "phone".into(),
                },
                version: 10,
                strategy: Strategy::Default,
                conflict: None,
                purged: false,
            };
            let pulled = reconcile(Some(&pushed), None, None, Some(&remote)).unwrap();
            assert_eq!(pulled.content, "eins zwei");
            let kept = pulled
                .conflict
                .as_ref()
                .expect("still shown")
                .versions
                .clone();
            assert_eq!(kept.len(), 1);
            assert_eq!(kept[0].content, "uno");

            // Once the user chooses, the local versions go.
            notes.store().put(&pulled).await.unwrap();
            let chosen = notes
                .resolve(&id, "t", "eins zwei uno", false)
                .await
                .unwrap()
                .unwrap();
            assert!(chosen.conflict.is_none() && !chosen.local_conflict);
        });
    }
}
