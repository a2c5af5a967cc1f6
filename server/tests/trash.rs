//! The trash, against the real database over HTTP: "Delete forever" and the trash expiry
//! remove a note's text from the database (its document and every revision, read back from
//! the collections themselves), while other devices still learn the note is gone.

mod support;

use std::time::Duration;

use mongodb::bson::{Document, doc};
use support::*;
use sync_core::protocol::{Change, ChangeOutcome};
use sync_core::{ChangeId, Cursor, Hlc, NoteId, NoteState};

const DAY_MS: u64 = 24 * 3600 * 1000;

fn at(wall: u64, node: &str) -> Hlc {
    Hlc {
        wall_ms: wall,
        counter: 0,
        node: node.into(),
    }
}

fn edit(note: &str, hlc: Hlc, base: Option<u64>, content: &str) -> Change {
    Change::new(
        ChangeId(client::platform::random_id()),
        NoteId(note.into()),
        hlc,
        base,
        "Diary",
        content,
        false,
    )
}

fn delete(note: &str, hlc: Hlc, base: Option<u64>, purge: bool) -> Change {
    let mut c = Change::new(
        ChangeId(client::platform::random_id()),
        NoteId(note.into()),
        hlc,
        base,
        "",
        "",
        true,
    );
    c.purge = purge;
    c
}

fn version(o: &ChangeOutcome) -> u64 {
    match o {
        ChangeOutcome::Applied { version, .. } => *version,
        other => panic!("not applied: {other:?}"),
    }
}

/// Pushes one change and returns the version it got.
async fn push(app: &TestApp, c: Change) -> u64 {
    let r = app.sync_retrying(&request(None, vec![c])).await;
    version(&r.results[0].outcome)
}

/// Every document of `collection`, as JSON text, for searching the stored bytes.
async fn dump(app: &TestApp, collection: &str) -> String {
    let docs: Vec<Document> = futures::TryStreamExt::try_collect(
        app.store
            .database()
            .collection::<Document>(collection)
            .find(doc! {})
            .await
            .unwrap(),
    )
    .await
    .unwrap();
    serde_json::to_string(&docs).unwrap()
}

/// What another device pulls after `cursor`.
async fn pull_after(app: &TestApp, cursor: &Cursor) -> Vec<NoteState> {
    app.sync(&request(Some(cursor.clone()), vec![]))
        .await
        .changes
}

#[tokio::test]
async fn delete_forever_removes_the_text_from_the_database_and_other_devices_learn_it() {
    let app = spawn_app().await;
    let t = now() - 60_000;
    // Two devices write the note (the first text goes to history), then one deletes it.
    let v1 = push(&app, edit("n1", at(t, "laptop"), None, "secret one")).await;
    let v2 = push(&app, edit("n1", at(t + 1, "phone"), Some(v1), "secret two")).await;
    let v3 = push(&app, delete("n1", at(t + 2, "laptop"), Some(v2), false)).await;
    // A note that stays, to check nothing else is touched.
    push(&app, edit("keep", at(t + 3, "laptop"), None, "kept text")).await;
    let phone = app.sync(&request(None, vec![])).await.cursor;
    assert!(dump(&app, "revisions").await.contains("secret two"));
    assert_eq!(app.history("n1").await.len(), 2, "restorable from history");

    // "Delete forever" on the laptop.
    let purge = delete("n1", at(t + 4, "laptop"), Some(v3), true);
    let first = app.sync(&request(None, vec![purge.clone()])).await;
    version(&first.results[0].outcome);

    let (notes, revisions) = (dump(&app, "notes").await, dump(&app, "revisions").await);
    for text in ["secret one", "secret two"] {
        assert!(!notes.contains(text), "{text} in notes: {notes}");
        assert!(
            !revisions.contains(text),
            "{text} in revisions: {revisions}"
        );
    }
    assert!(notes.contains("kept text"));
    let stored = app
        .store
        .database()
        .collection::<Document>("notes")
        .find_one(doc! {"id": "n1"})
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.get_bool("pg"), Ok(true));
    assert_eq!(stored.get_bool("deleted"), Ok(true));
    assert!(app.history("n1").await.is_empty());

    // The phone learns the note is gone for good.
    let pulled = pull_after(&app, &phone).await;
    let n1 = pulled.iter().find(|n| n.id.0 == "n1").expect("pulled");
    assert!(n1.deleted && n1.purged, "{n1:?}");

    // Sent again (a lost answer): the same answer, nothing written.
    let again = app.sync(&request(None, vec![purge])).await;
    assert_eq!(again.results, first.results);
    assert_eq!(app.count("revisions").await, 0);
}

#[tokio::test]
async fn a_purge_that_missed_an_edit_keeps_that_edit() {
    let app = spawn_app().await;
    let t = now() - 60_000;
    let v1 = push(&app, edit("n2", at(t, "laptop"), None, "first")).await;
    // The phone edits; the laptop, not having seen it, deletes forever.
    push(
        &app,
        edit("n2", at(t + 1, "phone"), Some(v1), "phone's edit"),
    )
    .await;
    let r = app
        .sync_retrying(&request(
            None,
            vec![delete("n2", at(t + 2, "laptop"), Some(v1), true)],
        ))
        .await;
    // Merge (the default): the edit wins over the delete, which is superseded.
    assert!(matches!(
        r.results[0].outcome,
        ChangeOutcome::Superseded { .. }
    ));
    let all = app.pull_all().await;
    let n2 = all.iter().find(|n| n.id.0 == "n2").unwrap();
    assert!(!n2.deleted && !n2.purged, "{n2:?}");
    assert_eq!(n2.content, "phone's edit");
}

#[tokio::test]
async fn the_sweep_purges_expired_trash_only() {
    let app = spawn_app().await;
    let now_ms = now();
    let old = now_ms - 40 * DAY_MS;
    // Deleted 40 days ago: expires.
    let v = push(
        &app,
        edit("old", at(old - 1000, "laptop"), None, "old secret"),
    )
    .await;
    push(&app, delete("old", at(old, "laptop"), Some(v), false)).await;
    // Deleted 40 days ago, restored today: a live note again, untouched.
    let v = push(
        &app,
        edit("back", at(old - 1000, "laptop"), None, "restored text"),
    )
    .await;
    let v = push(&app, delete("back", at(old, "laptop"), Some(v), false)).await;
    push(
        &app,
        edit(
            "back",
            at(now_ms - 1000, "laptop"),
            Some(v),
            "restored text",
        ),
    )
    .await;
    // Deleted yesterday: still in the trash.
    let v = push(
        &app,
        edit(
            "recent",
            at(now_ms - 2 * DAY_MS, "laptop"),
            None,
            "recent text",
        ),
    )
    .await;
    push(
        &app,
        delete("recent", at(now_ms - DAY_MS, "laptop"), Some(v), false),
    )
    .await;
    let cursor = app.sync(&request(None, vec![])).await.cursor;

    let retention = Duration::from_secs(30 * 24 * 3600);
    let purged = server::trash::sweep_once(&*app.store, retention, now())
        .await
        .unwrap();
    assert_eq!(purged, 1);

    let (notes, revisions) = (dump(&app, "notes").await, dump(&app, "revisions").await);
    assert!(!notes.contains("old secret") && !revisions.contains("old secret"));
    assert!(notes.contains("restored text"));
    assert!(revisions.contains("recent text"), "still restorable");
    let pulled = pull_after(&app, &cursor).await;
    assert_eq!(pulled.len(), 1, "{pulled:?}");
    assert!(pulled[0].id.0 == "old" && pulled[0].purged && pulled[0].deleted);

    // Idempotent: nothing more to do.
    let again = server::trash::sweep_once(&*app.store, retention, now())
        .await
        .unwrap();
    assert_eq!(again, 0);
    assert!(
        pull_after(&app, &app.sync(&request(None, vec![])).await.cursor)
            .await
            .is_empty()
    );
}
