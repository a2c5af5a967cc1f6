//! The trash: a deleted note's text stays on the device ([`super::Trashed`]) for
//! [`TRASH_DAYS`] (or the server's period), to restore, delete forever, or expire.

use sync_core::NoteId;
use sync_core::fields::Kind;

use super::{LocalNote, LocalStore, Notes, StoreError, SyncState, Trashed};

pub use sync_core::limits::TRASH_DAYS;

/// How long a deleted note stays in the trash, in ms.
pub const TRASH_MS: u64 = trash_ms(TRASH_DAYS);

/// A trash period of `days` days, in ms.
pub const fn trash_ms(days: u32) -> u64 {
    days as u64 * 24 * 3600 * 1000
}

impl<S: LocalStore> Notes<S> {
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
            // Deleted with the conflict's versions in view: on the server's text.
            n.typed_on = None;
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
            n.typed_on = None;
            true
        })
        .await
    }

    /// The trash: deleted notes whose text this device has, newest delete first, without
    /// those older than the trash period (`days`: the server's, see
    /// [`sync_core::protocol::SignedIn::trash_days`]; [`TRASH_DAYS`] by default) at
    /// `now_ms`. Reads only the trash ([`LocalStore::trashed`]).
    ///
    /// Notes only: deleted notebook and tag records are not in it (the sidebar offers them
    /// back: [`Notes::deleted_records`]).
    pub async fn trash(&self, now_ms: u64, days: u32) -> Result<Vec<LocalNote>, StoreError> {
        self.trashed_of(now_ms, days, Kind::Note).await
    }

    /// The deleted records of `kind` (notebooks or tags) whose text this device has, newest
    /// delete first, within the trash period as for [`Notes::trash`]: what can be restored
    /// ([`Notes::restore`]).
    pub async fn deleted_records(
        &self,
        kind: Kind,
        now_ms: u64,
        days: u32,
    ) -> Result<Vec<LocalNote>, StoreError> {
        self.trashed_of(now_ms, days, kind).await
    }

    async fn trashed_of(
        &self,
        now_ms: u64,
        days: u32,
        kind: Kind,
    ) -> Result<Vec<LocalNote>, StoreError> {
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
                    && n.kind() == kind
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
}
