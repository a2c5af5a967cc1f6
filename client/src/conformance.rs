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
        purged: false,
        fields: Default::default(),
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
            fields_refused: None,
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
/// failed ones included; atomic updates change a note, a meta value or both, or leave them; the
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
            fields_refused: None,
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

    // A note and a meta value together, or neither.
    let both = notes
        .store()
        .update_note_and_meta(&b.id, "counter", &mut |n, v| {
            n.title = "B with the counter".into();
            Some(format!("{}+", v.unwrap_or_default()))
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(both.title, "B with the counter");
    assert_eq!(notes.store().get(&b.id).await.unwrap(), Some(both.clone()));
    let left = notes
        .store()
        .update_note_and_meta(&b.id, "counter", &mut |_, _| None)
        .await
        .unwrap();
    assert_eq!(left, Some(both));
    assert_eq!(
        notes
            .store()
            .update_note_and_meta(&"missing".into(), "counter", &mut |_, _| Some("x".into()))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        notes.store().get_meta("counter").await.unwrap().as_deref(),
        Some("3+")
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

/// The indexes follow every write: the outbox holds exactly the notes with an unaccepted
/// edit, the list's pages hold exactly the live notes, newest first, without overlap, the
/// live count matches, chunks by id cover every note (tombstones included) once, and the
/// change sequence hands out each written note once, in the order written.
pub async fn indexes_follow_every_write<S: LocalStore>(store: S) {
    let notes = Notes::open(store).await.unwrap();
    let mut made = Vec::new();
    for i in 0..6 {
        made.push(notes.create(&format!("N{i}"), "").await.unwrap());
    }
    notes.delete(&made[1].id).await.unwrap();
    notes.edit(&made[0].id, "N0 again", "").await.unwrap(); // now the newest
    // The server accepts N2 and N1's delete, and sends two notes of its own (older stamps),
    // one of them a tombstone.
    let mut gone = remote("gone", "Gone", 3);
    gone.deleted = true;
    let answered = |n: &crate::local::LocalNote, version| ChangeResult {
        change_id: n.pending.clone().unwrap(),
        note_id: n.id.clone(),
        outcome: ChangeOutcome::Applied {
            version,
            current: None,
        },
        fields_refused: None,
    };
    let deleted_b = notes.store().get(&made[1].id).await.unwrap().unwrap();
    let sent: Vec<_> = [&made[2], &deleted_b]
        .iter()
        .filter_map(|n| n.pending_change())
        .collect();
    let resp = response(
        vec![answered(&made[2], 1), answered(&deleted_b, 2)],
        vec![remote("pulled", "Pulled", 4), gone],
        "v1.4",
    );
    notes.store().commit_sync(&sent, &resp).await.unwrap();

    let titles =
        |v: &[crate::local::LocalNote]| v.iter().map(|n| n.title.clone()).collect::<Vec<_>>();
    let first = notes.page(None, 3).await.unwrap();
    assert_eq!(titles(&first), ["N0 again", "N5", "N4"]);
    let rest = notes.page(Some(&first[2].hlc), 10).await.unwrap();
    assert_eq!(
        titles(&rest),
        ["N3", "N2", "Pulled"],
        "older pages, no tombstone"
    );
    assert_eq!(notes.count().await.unwrap(), 6);
    let all = notes.list().await.unwrap();
    assert_eq!(titles(&all), [titles(&first), titles(&rest)].concat());

    let mut outbox: Vec<String> = notes
        .store()
        .pending()
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.title)
        .collect();
    outbox.sort();
    assert_eq!(outbox, ["N0 again", "N3", "N4", "N5"]);
    assert_eq!(notes.store().pending_count().await.unwrap(), 4);

    // A note brought back from the dead is listed again; one deleted leaves the list.
    notes.edit(&made[1].id, "N1 back", "").await.unwrap();
    notes.delete(&made[3].id).await.unwrap();
    let first = notes.page(None, 2).await.unwrap();
    assert_eq!(titles(&first), ["N1 back", "N0 again"]);
    assert_eq!(notes.count().await.unwrap(), 6);
    assert_eq!(notes.store().pending_count().await.unwrap(), 5);

    // Several notes at once, in the order asked; missing ones left out.
    let got = notes
        .store()
        .get_many(&[made[4].id.clone(), "missing".into(), made[0].id.clone()])
        .await
        .unwrap();
    assert_eq!(titles(&got), ["N4", "N0 again"]);

    // Chunks by id: every note once, tombstones included.
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let chunk = notes.store().chunk(after.as_ref(), 3).await.unwrap();
        let Some(last) = chunk.last() else { break };
        after = Some(last.id.clone());
        seen.extend(chunk.into_iter().map(|n| n.id.0));
    }
    let mut expected: Vec<String> = made.iter().map(|n| n.id.0.clone()).collect();
    expected.extend(["gone".to_owned(), "pulled".to_owned()]);
    expected.sort();
    assert_eq!(seen, expected);

    // The change sequence: every note once, as it is now, last written last; then only
    // what is written after.
    let seq = notes.store().change_seq().await.unwrap();
    let changed = notes.store().changed_since(0, 100).await.unwrap();
    assert_eq!(changed.last().map(|(s, _)| *s), Some(seq));
    assert!(changed.windows(2).all(|w| w[0].0 < w[1].0), "ascending");
    let mut ids: Vec<String> = changed.iter().map(|(_, n)| n.id.0.clone()).collect();
    ids.sort();
    assert_eq!(ids, expected, "each note once, tombstones included");
    for (_, n) in &changed {
        assert_eq!(Some(n), notes.store().get(&n.id).await.unwrap().as_ref());
    }
    let last_two: Vec<String> = changed[changed.len() - 2..]
        .iter()
        .map(|(_, n)| n.title.clone())
        .collect();
    assert_eq!(
        last_two,
        ["N1 back", ""],
        "the last edit and the last delete"
    );
    let limited = notes.store().changed_since(0, 3).await.unwrap();
    assert_eq!(limited, changed[..3]);
    assert!(
        notes
            .store()
            .changed_since(seq, 100)
            .await
            .unwrap()
            .is_empty()
    );
    notes.edit(&made[4].id, "N4 later", "").await.unwrap();
    let after = notes.store().changed_since(seq, 100).await.unwrap();
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].1.title, "N4 later");
    assert!(after[0].0 > seq);
    assert_eq!(notes.store().change_seq().await.unwrap(), after[0].0);
    assert_eq!(notes.count().await.unwrap(), 6);
}

/// The trash: a deleted note keeps its text on the device until "Restore" (an edit that
/// syncs) or "Delete forever" (a pending purge, its text gone at once); a delete pulled
/// from another device keeps the text this device had; a purge pulled from the server
/// drops it; entries older than the trash period are hidden, then expired.
pub async fn the_trash_keeps_deleted_text<S: LocalStore>(store: S) {
    use crate::local::{TRASH_DAYS, TRASH_MS};
    let notes = Notes::open(store).await.unwrap();
    let a = notes.create("Groceries", "eggs, milk").await.unwrap();
    let deleted = notes.delete(&a.id).await.unwrap().unwrap();
    assert!(deleted.deleted && deleted.title.is_empty());
    let now = deleted.trash.as_ref().expect("in the trash").deleted_ms;
    let trash = notes.trash(now, TRASH_DAYS).await.unwrap();
    assert_eq!(trash.len(), 1);
    assert_eq!(trash[0].trash.as_ref().unwrap().content, "eggs, milk");
    assert!(notes.list().await.unwrap().is_empty());

    // Restore: the note is back with its text, as a pending edit.
    let back = notes.restore(&a.id).await.unwrap().expect("restored");
    assert!(!back.deleted && back.trash.is_none());
    assert_eq!(
        (back.title.as_str(), back.content.as_str()),
        ("Groceries", "eggs, milk")
    );
    let change = back.pending_change().unwrap();
    assert!(!change.deleted && !change.purge);
    assert!(notes.trash(now, TRASH_DAYS).await.unwrap().is_empty());

    // Delete forever: the text leaves the device; the purge waits to be pushed.
    notes.delete(&a.id).await.unwrap();
    let gone = notes.delete_forever(&a.id).await.unwrap().unwrap();
    assert!(gone.trash.is_none() && gone.title.is_empty() && gone.content.is_empty());
    assert!(gone.base.is_none(), "no copy of the text left");
    let change = gone.pending_change().unwrap();
    assert!(change.deleted && change.purge);
    assert!(notes.trash(now, TRASH_DAYS).await.unwrap().is_empty());
    assert!(
        notes.restore(&a.id).await.unwrap().is_none(),
        "nothing to restore"
    );

    // Deleted on another device: the text this device had goes to its trash.
    let mut b = remote("b", "Plans", 5);
    b.hlc.wall_ms = now;
    notes
        .store()
        .commit_sync(&[], &response(vec![], vec![b.clone()], "v1.5"))
        .await
        .unwrap();
    let mut b_deleted = b.clone();
    b_deleted.deleted = true;
    b_deleted.title.clear();
    b_deleted.content.clear();
    b_deleted.version = 6;
    b_deleted.hlc.wall_ms += 1;
    notes
        .store()
        .commit_sync(&[], &response(vec![], vec![b_deleted.clone()], "v1.6"))
        .await
        .unwrap();
    let trash = notes.trash(now, TRASH_DAYS).await.unwrap();
    assert_eq!(trash.len(), 1);
    let t = trash[0].trash.as_ref().unwrap();
    assert_eq!(
        (t.title.as_str(), t.content.as_str()),
        ("Plans", "Plans body")
    );

    // Purged there: gone from this trash too.
    let mut b_purged = b_deleted.clone();
    b_purged.purged = true;
    b_purged.version = 7;
    notes
        .store()
        .commit_sync(&[], &response(vec![], vec![b_purged], "v1.7"))
        .await
        .unwrap();
    assert!(notes.trash(now, TRASH_DAYS).await.unwrap().is_empty());

    // Expiry: hidden past the trash period, then its text dropped.
    let c = notes.create("Old", "old text").await.unwrap();
    let c_deleted = notes.delete(&c.id).await.unwrap().unwrap();
    let at = c_deleted.trash.as_ref().unwrap().deleted_ms;
    let later = at + TRASH_MS + 1;
    assert_eq!(notes.trash(at, TRASH_DAYS).await.unwrap().len(), 1);
    assert!(notes.trash(later, TRASH_DAYS).await.unwrap().is_empty());
    assert_eq!(notes.expire_trash(later, TRASH_DAYS).await.unwrap(), 1);
    let c = notes.store().get(&c.id).await.unwrap().unwrap();
    assert!(c.trash.is_none() && c.deleted);
    assert!(notes.store().trashed().await.unwrap().is_empty());

    // A server with a shorter period (`trash_days` from `/auth/me`): by that period.
    let d = notes.create("Week", "text").await.unwrap();
    let d_deleted = notes.delete(&d.id).await.unwrap().unwrap();
    let at = d_deleted.trash.as_ref().unwrap().deleted_ms;
    let eight_days = at + 8 * 24 * 3600 * 1000;
    assert_eq!(notes.trash(eight_days, TRASH_DAYS).await.unwrap().len(), 1);
    assert!(notes.trash(eight_days, 7).await.unwrap().is_empty());
    assert_eq!(notes.expire_trash(at + 1, 7).await.unwrap(), 0);
    assert_eq!(notes.expire_trash(eight_days, 7).await.unwrap(), 1);
}

/// The ids of [`LocalStore::trashed`], sorted, each checked to be a trash entry.
async fn trashed_ids<S: LocalStore>(notes: &Notes<S>) -> Vec<String> {
    let mut ids: Vec<String> = notes
        .store()
        .trashed()
        .await
        .unwrap()
        .into_iter()
        .map(|n| {
            assert!(n.deleted && n.trash.is_some(), "{n:?}");
            n.id.0
        })
        .collect();
    ids.sort();
    ids
}

/// What the trash view reads ([`LocalStore::trashed`]) is the trash: exactly the deleted
/// notes whose text the device keeps, never the live notes or tombstones without text,
/// and it follows every way in and out (a delete, a pulled delete, a restore, "delete
/// forever", a pulled purge).
pub async fn the_trash_is_read_alone<S: LocalStore>(store: S) {
    let notes = Notes::open(store).await.unwrap();
    let mut made = Vec::new();
    for i in 0..8 {
        made.push(notes.create(&format!("N{i}"), "text").await.unwrap().id);
    }
    assert!(trashed_ids(&notes).await.is_empty());
    for id in &made[..4] {
        notes.delete(id).await.unwrap();
    }
    let ids = |of: &[NoteId]| {
        let mut ids: Vec<String> = of.iter().map(|i| i.0.clone()).collect();
        ids.sort();
        ids
    };
    assert_eq!(trashed_ids(&notes).await, ids(&made[..4]));
    notes.restore(&made[0]).await.unwrap().unwrap();
    notes.delete_forever(&made[1]).await.unwrap().unwrap();
    let mut want = ids(&made[2..4]);
    assert_eq!(trashed_ids(&notes).await, want);
    // A delete pulled from another device: its text goes to the trash.
    let mut r = remote("r", "Remote", 2);
    notes
        .store()
        .commit_sync(&[], &response(vec![], vec![r.clone()], "v1.2"))
        .await
        .unwrap();
    r.deleted = true;
    r.title.clear();
    r.content.clear();
    r.version = 3;
    r.hlc.wall_ms += 1;
    notes
        .store()
        .commit_sync(&[], &response(vec![], vec![r.clone()], "v1.3"))
        .await
        .unwrap();
    want.push("r".into());
    want.sort();
    assert_eq!(trashed_ids(&notes).await, want);
    // Purged at the server: out of the trash.
    r.purged = true;
    r.version = 4;
    notes
        .store()
        .commit_sync(&[], &response(vec![], vec![r], "v1.4"))
        .await
        .unwrap();
    want.retain(|i| i != "r");
    assert_eq!(trashed_ids(&notes).await, want);
    assert_eq!(notes.count().await.unwrap(), 5, "N0 and N4 to N7");
}

/// Notebook and tag records are stored and synced like notes, but stay out of the notes
/// list, its pages, its count; a note's field edits are stored, pending, and sent.
pub async fn records_stay_out_of_the_notes_list<S: LocalStore>(store: S) {
    use sync_core::fields::Kind;
    let notes = Notes::open(store).await.unwrap();
    let n = notes.create("A note", "text").await.unwrap();
    let tag = notes.create_tag("work").await.unwrap();
    let nb = notes.create_notebook("Projects", None).await.unwrap();
    notes.add_tag(&n.id, &tag.id).await.unwrap();
    notes.set_notebook(&n.id, Some(&nb.id)).await.unwrap();
    notes.set_pinned(&n.id, true).await.unwrap();

    let ids = |v: Vec<crate::local::LocalNote>| v.into_iter().map(|n| n.id).collect::<Vec<_>>();
    assert_eq!(ids(notes.list().await.unwrap()), vec![n.id.clone()]);
    assert_eq!(ids(notes.page(None, 10).await.unwrap()), vec![n.id.clone()]);
    assert_eq!(notes.count().await.unwrap(), 1);
    assert_eq!(
        ids(notes.records(Kind::Tag).await.unwrap()),
        vec![tag.id.clone()]
    );
    assert_eq!(
        ids(notes.records(Kind::Notebook).await.unwrap()),
        vec![nb.id.clone()]
    );
    // All three wait to be pushed, the note with its field edits.
    assert_eq!(notes.unsynced_count().await.unwrap(), 3);
    let stored = notes.store().get(&n.id).await.unwrap().unwrap();
    assert!(stored.pinned());
    assert_eq!(stored.tag_ids(), [tag.id.0.clone()].into());
    let sent = stored.pending_change().unwrap();
    // tags, notebook, pinned, and the creation date every new note carries.
    assert_eq!(sent.fields.len(), 4, "{:?}", sent.fields);
    assert_eq!(
        notes.notebook_of(&stored).await.unwrap().map(|b| b.title),
        Some("Projects".to_owned())
    );
    // A deleted notebook: the note stays, in no notebook, and counts as before.
    notes.delete(&nb.id).await.unwrap();
    assert!(notes.notebook_of(&stored).await.unwrap().is_none());
    assert_eq!(notes.count().await.unwrap(), 1);
}

/// An import's write ([`LocalStore::add_new`]): notes whose id is new are written, pending,
/// listed, counted and seen by the change sequence; a note already on the device is left
/// as it is, and an id twice in one call is written once.
pub async fn an_import_never_overwrites<S: LocalStore>(store: S) {
    let notes = Notes::open(store).await.unwrap();
    let here = notes.create("Mine", "keep me").await.unwrap();
    let before = notes.store().change_seq().await.unwrap();
    let mut imported = here.clone();
    imported.title = "Imported".into();
    imported.content = "must not replace mine".into();
    let mut new = here.clone();
    new.id = NoteId("imported-1".into());
    new.title = "New".into();
    let mut twice = new.clone();
    twice.title = "New again".into();
    let added = notes
        .store()
        .add_new(&[imported, new.clone(), twice])
        .await
        .unwrap();
    assert_eq!(added, [false, true, false]);
    assert_eq!(notes.store().get(&here.id).await.unwrap(), Some(here));
    assert_eq!(notes.store().get(&new.id).await.unwrap(), Some(new.clone()));
    assert_eq!(notes.count().await.unwrap(), 2);
    assert_eq!(notes.unsynced_count().await.unwrap(), 2);
    let changed = notes.store().changed_since(before, 10).await.unwrap();
    assert_eq!(
        changed.iter().map(|(_, n)| &n.id).collect::<Vec<_>>(),
        [&new.id]
    );
    assert_eq!(
        notes.store().add_new(&[]).await.unwrap(),
        Vec::<bool>::new()
    );
}

/// A page of the list is its first notes, however many share a stamp (a server's batch
/// can give many notes one): the app asks for a growing page, and a note of the page
/// before must not leave it for one of its equals.
pub async fn a_page_is_the_lists_first_notes<S: LocalStore>(store: S) {
    let notes = Notes::open(store).await.unwrap();
    let note =
        |id: String, version| crate::local::LocalNote::from_remote(&remote(&id, "Tied", version));
    let mut batch: Vec<_> = (0..60).map(|i| note(format!("t{i:03}"), 1)).collect();
    batch.extend((0..5).map(|i| note(format!("n{i}"), 2)));
    notes.store().add_new(&batch).await.unwrap();
    let ids = |v: Vec<crate::local::LocalNote>| v.into_iter().map(|n| n.id).collect::<Vec<_>>();
    let all = ids(notes.page(None, 1000).await.unwrap());
    assert_eq!(all.len(), 65);
    for limit in [1, 5, 6, 30, 64, 65, 70] {
        assert_eq!(
            ids(notes.page(None, limit).await.unwrap()),
            all[..limit.min(65)],
            "a page of {limit}"
        );
    }
}

/// A long pull (pages of many notes, `has_more` until the last) keeps every edit made
/// between its pages, by this page, another tab or the service worker, whether or not
/// the note came in an earlier page: the IndexedDB store writes such pages without
/// reading the notes it knows it does not hold, and must notice the writes of others.
/// The counter, the change sequence and the cursor come out as if every page were read.
/// Returns the store (the IndexedDB test checks which pages were written unread).
pub async fn a_long_pull_keeps_the_edits_made_between_its_pages<S: LocalStore>(store: S) -> S {
    let notes = Notes::open(store).await.unwrap();
    let id = |i: usize| NoteId(format!("n{i:04}"));
    let page = |ids: std::ops::Range<usize>, version: u64, cursor: &str, more: bool| {
        let changes = ids
            .map(|i| remote(id(i).as_str(), &format!("Note {i}"), version))
            .collect();
        SyncResponse {
            has_more: more,
            ..response(vec![], changes, cursor)
        }
    };
    {
        let notes = &notes;
        let commit =
            |r: SyncResponse| async move { notes.store().commit_sync(&[], &r).await.unwrap() };
        commit(page(0..150, 1, "v1.1", true)).await;
        // A hostile note in a page written without reads: its text must stay text (the
        // records of such a page are one JSON array made by hand around each note's JSON).
        let mut second = page(150..300, 2, "v1.2", true);
        let hostile = "\"},{\"id\":\"n0001\",\"pending\":\"x\"}]\\\u{0}\u{2028}é🦀";
        second.changes[0].title = hostile.into();
        second.changes[0].content = format!("{hostile}\n{hostile}");
        commit(second).await;
        // Between pages: an edit of a pulled note, here; a note the next page brings,
        // written pending by another tab (pushed there, not answered yet).
        notes
            .edit(&id(5), "Mine", "edited here")
            .await
            .unwrap()
            .unwrap();
        let mut theirs = crate::local::LocalNote::from_remote(&remote(id(350).as_str(), "Tab", 1));
        theirs.pending = Some("c-tab".into());
        theirs.sync = SyncState::Pending;
        theirs.title = "Edited in another tab".into();
        notes.store().put(&theirs).await.unwrap();
        commit(page(300..450, 3, "v1.3", true)).await;
        commit(page(450..600, 4, "v1.4", true)).await;
        // The last page: new notes, and two of the first page again (changed on the server
        // meanwhile).
        let mut last = page(600..650, 5, "v1.5", false);
        last.changes
            .push(remote(id(10).as_str(), "Changed on the server", 9));
        last.changes.push(remote(id(5).as_str(), "Theirs", 9));
        commit(last).await;

        let store = notes.store();
        let kept = store.get(&id(5)).await.unwrap().unwrap();
        assert_eq!(
            (kept.title.as_str(), kept.sync.clone()),
            ("Mine", SyncState::Pending),
            "an edit made between pages is kept"
        );
        let other = store.get(&id(350)).await.unwrap().unwrap();
        assert_eq!(other, theirs, "another tab's pending note is kept");
        let odd = store.get(&id(150)).await.unwrap().unwrap();
        assert_eq!(
            (odd.title.as_str(), odd.sync, odd.pending),
            (hostile, SyncState::Synced, None)
        );
        assert_eq!(odd.content, format!("{hostile}\n{hostile}"));
        let first = store.get(&id(1)).await.unwrap().unwrap();
        assert_eq!((first.title.as_str(), first.pending), ("Note 1", None));
        let changed = store.get(&id(10)).await.unwrap().unwrap();
        assert_eq!(changed.title, "Changed on the server");
        for (i, version) in [(200, 2), (460, 4), (620, 5)] {
            let plain = store.get(&id(i)).await.unwrap().unwrap();
            assert_eq!(
                (plain.title, plain.sync, plain.base_version),
                (format!("Note {i}"), SyncState::Synced, Some(version))
            );
        }
        let mut pending: Vec<_> = store
            .pending()
            .await
            .unwrap()
            .into_iter()
            .map(|n| n.id)
            .collect();
        pending.sort();
        assert_eq!(pending, [id(5), id(350)]);
        assert_eq!(notes.count().await.unwrap(), 650);
        assert_eq!(store.cursor().await.unwrap(), Some(Cursor("v1.5".into())));
        // Every note once in the change sequence, in the order written, numbers unique.
        let seqs = store.changed_since(0, usize::MAX).await.unwrap();
        let mut ids: Vec<_> = seqs.iter().map(|(_, n)| n.id.clone()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!((ids.len(), seqs.len()), (650, 650));
        assert!(seqs.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(seqs.last().unwrap().0, store.change_seq().await.unwrap());
        assert_eq!(store.page(None, 1000).await.unwrap().len(), 650);
    }
    notes.into_store()
}
