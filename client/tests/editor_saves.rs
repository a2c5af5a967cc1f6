//! Saves of the open editor ([`Notes::save_editor`]) while the store changes under them:
//! a sync or another tab writing the note between a save's read and its write is merged,
//! or kept beside the typing as a conflict; typing over an unseen delete brings the note
//! back; versions only this device has outlive the next pull.

use std::cell::RefCell;

use client::local::{
    EditorSave, LocalNote, LocalStore, Notes, StoreError, SyncState, Trashed, reconcile,
};
use client::memory::MemoryStore;
use sync_core::protocol::{Change, ChangeOutcome, ChangeResult, Cursor, SyncResponse};
use sync_core::{Hlc, NoteId, NoteState, Strategy, Text};

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
            fields_refused: None,
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
            fields: Default::default(),
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

fn titled(title: &str, content: &str) -> Text {
    Text {
        title: title.into(),
        content: content.into(),
    }
}

/// The editor's plan and the save that follows it agree.
#[test]
fn an_overlapping_save_keeps_both_versions_in_the_store() {
    use client::editor::{SavePlan, Stored, plan_save};
    let t = titled;
    futures::executor::block_on(async {
        let notes = Notes::open(MemoryStore::new()).await.unwrap();
        let n = notes.create("T", "meet at 7").await.unwrap();
        // Another tab (or a pull) changed it while this editor typed on "meet at 7".
        notes.edit(&n.id, "T", "meet at 9").await.unwrap();
        let stored = notes.store().get(&n.id).await.unwrap().unwrap();
        let theirs = t(&stored.title, &stored.content);
        let plan = plan_save(
            &t("T", "meet at 7"),
            &t("T", "meet at 8"),
            Stored::Live(&theirs),
        );
        assert_eq!(plan, SavePlan::WriteWithConflict { theirs });
        let saved = notes
            .save_editor(&n.id, &t("T", "meet at 7"), &t("T", "meet at 8"))
            .await
            .unwrap();
        assert_eq!(saved, EditorSave::Conflict(t("T", "meet at 8")));
        let after = notes.store().get(&n.id).await.unwrap().unwrap();
        assert_eq!(after.content, "meet at 8");
        assert_eq!(after.sync, SyncState::Pending);
        assert_eq!(after.state_label(), "conflict");
        let versions = &after.conflict.unwrap().versions;
        assert_eq!(versions.len(), 1);
        assert_eq!(versions[0].content, "meet at 9", "nothing lost");
    });
}
