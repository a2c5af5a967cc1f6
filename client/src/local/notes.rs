//! The edits a user makes ([`Notes`]): create, edit, resolve, the editor's saves; each a
//! pending edit stamped by the device clock. The trash's are in [`super::trash`].

use std::collections::BTreeMap;
use std::rc::Rc;

use sync_core::fields::FieldEdit;
use sync_core::{ChangeId, Conflict, Hlc, NoteId, Strategy, Text};

use super::meta::{corrected, node_id};
use super::stamp::{stamp, stamp_after};
use super::{LocalNote, LocalStore, StoreError, SyncState};
use crate::clock::{DeviceClock, META_DEVICE_CLOCK};
use crate::platform;

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
/// version, with the note's stamp, so the user chooses between them. `device_only`: the
/// server never had `theirs` (another tab's text, not synced), so only this device can show
/// it until the user chooses (`LocalNote::local_conflict`); the server's own text is left
/// to the server, which decides on the edit sent as concurrent with it (`typed_on`).
fn keep_beside(n: &mut LocalNote, theirs: Text, device_only: bool) {
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
    n.local_conflict |= device_only;
}

/// The edits a user makes, on top of a [`LocalStore`].
pub struct Notes<S> {
    pub(crate) store: S,
    node: String,
    pub(super) now: Rc<dyn Fn() -> u64>,
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

    /// Every live note, newest first (notebook and tag records are not notes: see
    /// [`Notes::records`]).
    pub async fn list(&self) -> Result<Vec<LocalNote>, StoreError> {
        let mut notes: Vec<LocalNote> = self
            .store
            .list()
            .await?
            .into_iter()
            .filter(|n| !n.deleted && n.is_note())
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
        let note = self.new_local(title, content).await?;
        self.store.put(&note).await?;
        Ok(note)
    }

    /// A new record, stamped now and pending, not stored yet (a note; a notebook or tag
    /// record once its kind is queued).
    pub(super) async fn new_local(
        &self,
        title: &str,
        content: &str,
    ) -> Result<LocalNote, StoreError> {
        let hlc = self.stamp(None, false).await?;
        // The creation date travels as a field, so every device shows the same one.
        let field_edits = BTreeMap::from([(
            "created".to_owned(),
            FieldEdit::Register(hlc.wall_ms.into()),
        )]);
        Ok(LocalNote {
            id: NoteId(platform::random_id()),
            title: title.to_owned(),
            content: content.to_owned(),
            deleted: false,
            hlc,
            base_version: None,
            pending: Some(ChangeId(platform::random_id())),
            sync: SyncState::Pending,
            base: None,
            strategy: Strategy::Default,
            strategy_changed: false,
            conflict: None,
            resolving: false,
            local_conflict: false,
            typed_on: None,
            purge: false,
            trash: None,
            fields: Default::default(),
            field_edits,
            edit_clocks: Default::default(),
        })
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
            n.typed_on = None;
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
    pub(super) async fn change_if(
        &self,
        id: &NoteId,
        mut f: impl FnMut(&mut LocalNote) -> bool,
    ) -> Result<Option<LocalNote>, StoreError> {
        loop {
            let Some(seen) = self.store.get(id).await? else {
                return Ok(None);
            };
            let mut note = seen.clone();
            // The field edits queued so far keep the clock they were made at; the new
            // stamp is for this edit.
            note.keep_edit_clocks();
            if !f(&mut note) {
                return Ok(Some(seen));
            }
            // A state from the server was accepted by it: always order after it. A local
            // state not accepted yet may carry a stamp from a clock that was wrong
            // (`stamp_after`).
            let from_server = seen.pending.is_none();
            let now = self.corrected_now().await?;
            // After its fields' clocks too: a field edit made here must win over the
            // field states this device has seen. Those came from the server (pending field
            // edits are apart, in `field_edits`), which accepted them: always order after
            // them, even while the text is a local edit not accepted yet.
            let after = stamp_after(Some(&seen.hlc), from_server, now)
                .into_iter()
                .chain(seen.fields.latest())
                .max();
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
                    note.tidy_edit_clocks();
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
    /// made on the note as it is at the moment of writing (see `Notes::change_if`).
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
                        // The text kept beside is the server's (no pending text edit over
                        // it): the typing was made on `base`, concurrently with it, and is
                        // sent so (`LocalNote::typed_on`). A text only this device has (another
                        // tab's, not synced) is no edit the server or another device knows.
                        let servers = n.typed_on.is_none()
                            && n.base_version.is_some()
                            && n.base.as_ref() == Some(&theirs);
                        if servers {
                            n.typed_on = Some(base.clone());
                        }
                        keep_beside(n, theirs, !servers);
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

    /// `n` new stamps in order, in one write of the device clock (an import).
    pub(crate) async fn stamps(&self, n: usize) -> Result<Vec<Hlc>, StoreError> {
        super::stamp::stamps(&self.store, &self.node, (self.now)(), n).await
    }

    /// The device's wall clock corrected by the last known server clock offset.
    async fn corrected_now(&self) -> Result<u64, StoreError> {
        corrected(&self.store, (self.now)()).await
    }
}
