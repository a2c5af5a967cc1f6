//! The behaviour every [`LocalStore`] backend must have, as one suite of checks. Run
//! natively against [`crate::memory::MemoryStore`] and in headless Chromium against the
//! IndexedDB store, so the two cannot drift apart. Each check panics on failure.

use sync_core::protocol::{ChangeOutcome, ChangeResult, Cursor, PROTOCOL_VERSION, SyncResponse};
use sync_core::{Hlc, NoteId, NoteState};

use crate::local::{LocalStore, Notes, SyncState};

fn remote(id: &str, title: &str, version: u64) -> NoteState {
    NoteState {
        id: NoteId(id.into()),
        title: title.into(),
        content: format!("{title} body"),
        deleted: false,
        hlc: Hlc {
            wall_ms: 1_000 + version,
            counter: 0,
            node: "server-side".into(),
        },
        version,
        strategy: Default::default(),
        conflict: None,
    }
}

fn response(results: Vec<ChangeResult>, changes: Vec<NoteState>, cursor: &str) -> SyncResponse {
    SyncResponse {
        protocol: PROTOCOL_VERSION,
        results,
        changes,
        cursor: Cursor(cursor.into()),
        has_more: false,
        server_time_ms: 0,
    }
}

/// A created note is stored, pending, and listed; edits and deletes are durable.
pub async fn edits_are_stored_and_pending<S: LocalStore>(store: S) {
    let notes = Notes::open(store).await.unwrap();
    let a = notes.create("First", "hello").await.unwrap();
    assert_eq!(a.sync, SyncState::Pending);
    assert!(a.pending.is_some());
    let got = notes.store().get(&a.id).await.unwrap().expect("stored");
    assert_eq!(got, a);

    let b = notes.create("Second", "").await.unwrap();
    let edited = notes
        .edit(&a.id, "First, edited", "hello again")
        .await
        .unwrap()
        .unwrap();
    assert!(
        edited.hlc > a.hlc,
        "an edit orders after the state it edits"
    );
    assert_ne!(edited.pending, a.pending, "every edit is a new change");
    let list = notes.list().await.unwrap();
    assert_eq!(
        list.iter().map(|n| n.title.as_str()).collect::<Vec<_>>(),
        ["First, edited", "Second"]
    );

    notes.delete(&b.id).await.unwrap();
    let list = notes.list().await.unwrap();
    assert_eq!(list.len(), 1, "deleted notes leave the list");
    let tomb = notes.store().get(&b.id).await.unwrap().unwrap();
    assert!(
        tomb.deleted && tomb.pending.is_some(),
        "the delete waits to be synced"
    );
}

/// The device's node id is created once and kept.
pub async fn the_node_id_is_stable<S: LocalStore>(store: S) {
    let first = Notes::open(store).await.unwrap();
    let id = first.node().to_owned();
    let store = first_into_store(first);
    let again = Notes::open(store).await.unwrap();
    assert_eq!(again.node(), id);
}

fn first_into_store<S>(n: Notes<S>) -> S {
    n.into_store()
}

/// A sync response is applied with its cursor; pulled notes appear; a pending local edit
/// survives a pull of the same note; an answered edit becomes synced.
pub async fn commit_sync_applies_data_and_cursor<S: LocalStore>(store: S) {
    let notes = Notes::open(store).await.unwrap();
    assert_eq!(notes.store().cursor().await.unwrap(), None);
    let mine = notes.create("Mine", "local text").await.unwrap();
    let other = notes.create("Other", "").await.unwrap();

    let resp = response(
        vec![ChangeResult {
            change_id: other.pending.clone().unwrap(),
            note_id: other.id.clone(),
            outcome: ChangeOutcome::Applied {
                version: 7,
                current: None,
            },
        }],
        vec![
            remote("from-elsewhere", "Remote", 5),
            remote(mine.id.as_str(), "Theirs", 6),
        ],
        "v1.7",
    );
    notes.store().commit_sync(&[], &resp).await.unwrap();

    assert_eq!(
        notes.store().cursor().await.unwrap(),
        Some(Cursor("v1.7".into()))
    );
    let pulled = notes
        .store()
        .get(&"from-elsewhere".into())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (pulled.title.as_str(), &pulled.sync),
        ("Remote", &SyncState::Synced)
    );
    let kept = notes.store().get(&mine.id).await.unwrap().unwrap();
    assert_eq!(kept, mine, "a pending edit is never overwritten by a pull");
    let answered = notes.store().get(&other.id).await.unwrap().unwrap();
    assert_eq!(
        (answered.sync, answered.base_version),
        (SyncState::Synced, Some(7))
    );
}

/// The outbox ([`LocalStore::pending`]) holds exactly the notes with an unaccepted edit,
/// failed ones included; atomic updates change a note or a meta value, or leave it; the
/// device clock persists and orders every edit after what the device has seen.
pub async fn outbox_and_atomic_updates<S: LocalStore>(store: S) {
    let notes = Notes::open(store).await.unwrap();
    let a = notes.create("A", "").await.unwrap();
    let b = notes.create("B", "").await.unwrap();
    let resp = response(
        vec![ChangeResult {
            change_id: b.pending.clone().unwrap(),
            note_id: b.id.clone(),
            outcome: ChangeOutcome::Applied {
                version: 1,
                current: None,
            },
        }],
        vec![remote("r", "Remote", 2)],
        "v1.2",
    );
    notes.store().commit_sync(&[], &resp).await.unwrap();
    let ids = |v: Vec<crate::local::LocalNote>| {
        let mut ids: Vec<String> = v.into_iter().map(|n| n.id.0).collect();
        ids.sort();
        ids
    };
    assert_eq!(
        ids(notes.store().pending().await.unwrap()),
        std::slice::from_ref(&a.id.0)
    );
    assert_eq!(notes.store().pending_count().await.unwrap(), 1);

    // A refused edit is marked failed in place: still in the outbox, not pushed again.
    let marked = notes
        .store()
        .update_note(&a.id, &mut |n| {
            n.sync = SyncState::Failed {
                code: "too_large".into(),
                message: "shorten it".into(),
            };
            true
        })
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(marked.sync, SyncState::Failed { .. }));
    assert_eq!(notes.store().get(&a.id).await.unwrap(), Some(marked));
    assert_eq!(notes.store().pending_count().await.unwrap(), 1);
    let untouched = notes
        .store()
        .update_note(&b.id, &mut |n| {
            n.title = "not written".into();
            false
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        notes.store().get(&b.id).await.unwrap().unwrap().title,
        "B",
        "{untouched:?}"
    );
    assert_eq!(
        notes
            .store()
            .update_note(&"missing".into(), &mut |_| true)
            .await
            .unwrap(),
        None
    );

    // Meta: read-modify-write, or left alone.
    for _ in 0..3 {
        notes
            .store()
            .update_meta("counter", &mut |v| {
                Some((v.map_or(0, |v| v.parse::<u32>().unwrap()) + 1).to_string())
            })
            .await
            .unwrap();
    }
    notes
        .store()
        .update_meta("counter", &mut |_| None)
        .await
        .unwrap();
    assert_eq!(
        notes.store().get_meta("counter").await.unwrap().as_deref(),
        Some("3")
    );

    // The device clock is persisted: an edit orders after a remote stamp far ahead that the
    // device observed while the note itself was pending.
    let ahead = Hlc {
        wall_ms: crate::platform::now_ms() + 60_000,
        counter: 7,
        node: "elsewhere".into(),
    };
    notes
        .store()
        .update_meta(crate::clock::META_DEVICE_CLOCK, &mut |v| {
            let mut c: crate::clock::DeviceClock =
                v.and_then(|v| v.parse().ok()).unwrap_or_default();
            c.observe(&ahead);
            Some(c.to_string())
        })
        .await
        .unwrap();
    let edited = notes.edit(&a.id, "A2", "").await.unwrap().unwrap();
    assert!(edited.hlc > ahead, "{} after {}", edited.hlc, ahead);
}

impl<S> Notes<S> {
    /// Gives the store back (used to reopen it).
    pub fn into_store(self) -> S {
        self.store
    }
}
