//! `/sync` over HTTP against the real database server, a fresh database per test.

mod support;

use std::collections::HashMap;

use serde_json::json;
use support::*;
use sync_core::NoteState;
use sync_core::protocol::{ChangeOutcome, RejectCode};

#[tokio::test]
async fn a_note_pushed_by_one_device_reaches_another() {
    let app = spawn_app().await;
    let c = change("note-1", "laptop", now(), "Groceries");
    let r = app.sync(&request(None, vec![c.clone()])).await;
    assert!(
        matches!(r.results[0].outcome, ChangeOutcome::Applied { .. }),
        "{r:?}"
    );

    let phone = app.sync(&request(None, vec![])).await;
    assert_eq!(phone.changes.len(), 1);
    assert_eq!(phone.changes[0].title, "Groceries");
    assert_eq!(phone.changes[0].content, "Groceries body");
    assert!(!phone.has_more);

    // The cursor it got covers that note: the next pull brings nothing new.
    let again = app.sync(&request(Some(phone.cursor), vec![])).await;
    assert!(again.changes.is_empty());
}

#[tokio::test]
async fn pushing_the_same_changes_twice_changes_nothing_the_second_time() {
    let app = spawn_app().await;
    let changes = vec![change("a", "d1", now(), "A"), change("b", "d1", now(), "B")];
    let first = app.sync(&request(None, changes.clone())).await;
    let notes_before = app.pull_all().await;
    let second = app.sync(&request(None, changes)).await;
    assert_eq!(
        first.results, second.results,
        "a retry returns the same outcome"
    );
    assert_eq!(app.pull_all().await, notes_before, "and writes nothing");
    assert_eq!(app.count("notes").await, 2);
}

#[tokio::test]
async fn a_retried_change_is_still_applied_after_a_newer_one_won() {
    let app = spawn_app().await;
    let old = change("n", "d1", now() - 1000, "old");
    let first = app.sync(&request(None, vec![old.clone()])).await;
    app.sync(&request(None, vec![change("n", "d2", now(), "new")]))
        .await;
    let retry = app.sync(&request(None, vec![old])).await;
    assert_eq!(retry.results, first.results);
    assert_eq!(app.pull_all().await[0].title, "new");
}

#[tokio::test]
async fn one_bad_note_never_blocks_the_others() {
    let app = spawn_app().await;
    let good = change("good-1", "d", now(), "fine");
    let bad_id = change("bad id!", "d", now(), "x");
    let mut too_big = change("big", "d", now(), "x");
    too_big.content = "x".repeat(sync_core::limits::MAX_CONTENT_BYTES + 1);
    let future = change(
        "future",
        "d",
        now() + 3 * 24 * 3600 * 1000,
        "from the future",
    );
    let r = app
        .sync(&request(None, vec![bad_id, good, too_big, future]))
        .await;
    let codes: Vec<_> = r
        .results
        .iter()
        .map(|r| match &r.outcome {
            ChangeOutcome::Rejected { code, .. } => Some(*code),
            _ => None,
        })
        .collect();
    assert_eq!(
        codes,
        vec![
            Some(RejectCode::InvalidId),
            None,
            Some(RejectCode::TooLarge),
            Some(RejectCode::ClockAhead)
        ]
    );
    let all = app.pull_all().await;
    assert_eq!(
        all.iter().map(|n| n.id.as_str()).collect::<Vec<_>>(),
        vec!["good-1"]
    );
}

fn lww() -> server::storage::Conflicts {
    server::storage::Conflicts {
        default: sync_core::Strategy::Lww,
        history_limit: 50,
    }
}

#[tokio::test]
async fn last_write_wins_by_clock_not_by_arrival() {
    let app = spawn_app_with(lww()).await;
    let t = now();
    app.sync(&request(None, vec![change("n", "phone", t, "later edit")]))
        .await;
    let r = app
        .sync(&request(
            None,
            vec![change("n", "laptop", t - 5000, "earlier edit")],
        ))
        .await;
    match &r.results[0].outcome {
        ChangeOutcome::Superseded { current } => assert_eq!(current.title, "later edit"),
        o => panic!("expected superseded, got {o:?}"),
    }
    assert_eq!(app.pull_all().await[0].title, "later edit");
}

#[tokio::test]
async fn a_delete_reaches_every_device_as_a_tombstone_and_a_late_edit_does_not_revive_it() {
    // Under last-write-wins (under merge, an edit wins over a concurrent delete: see
    // tests/conflicts.rs).
    let app = spawn_app_with(lww()).await;
    let t = now();
    let created = change("n", "a", t - 2000, "to delete");
    app.sync(&request(None, vec![created])).await;
    let phone = app.sync(&request(None, vec![])).await;

    let mut del = change("n", "a", t, "");
    del.deleted = true;
    del.content.clear();
    app.sync(&request(None, vec![del])).await;

    // A device that edited before the delete, offline, pushes late.
    let late = app
        .sync(&request(
            None,
            vec![change("n", "b", t - 1000, "offline edit")],
        ))
        .await;
    assert!(matches!(
        late.results[0].outcome,
        ChangeOutcome::Superseded { .. }
    ));

    let r = app.sync(&request(Some(phone.cursor), vec![])).await;
    assert_eq!(r.changes.len(), 1);
    assert!(r.changes[0].deleted, "the phone learns of the delete");
    assert!(r.changes[0].title.is_empty());
}

#[tokio::test]
async fn pulls_come_in_pages_until_nothing_is_waiting() {
    let app = spawn_app().await;
    let t = now();
    let changes: Vec<_> = (0..25)
        .map(|i| change(&format!("n{i}"), "d", t, "x"))
        .collect();
    app.sync(&request(None, changes)).await;
    let mut cursor = None;
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let mut req = request(cursor, vec![]);
        req.limit = Some(10);
        let r = app.sync(&req).await;
        pages += 1;
        seen.extend(r.changes.into_iter().map(|n| n.id));
        cursor = Some(r.cursor);
        if !r.has_more {
            break;
        }
    }
    assert_eq!(pages, 3);
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 25);
}

/// Many devices push at once while another keeps pulling. The puller must end up with
/// every note's final state: a version handed out before its write commits would let the
/// puller's cursor pass a change that becomes visible only later, and it would be missed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_concurrent_puller_never_misses_a_committed_change() {
    let app = std::sync::Arc::new(spawn_app().await);
    let pushers = 12;
    let rounds = 40;
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut tasks = Vec::new();
    for p in 0..pushers {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            for r in 0..rounds {
                let t = now();
                let changes = (0..3)
                    .map(|k| {
                        change(
                            &format!("p{p}-n{k}"),
                            &format!("dev{p}"),
                            t + r,
                            &format!("r{r}"),
                        )
                    })
                    .collect();
                // Twelve pushers of one user contend for its counter: on a busy machine a
                // push can lose past its retry budget (503), and is sent again, as a
                // client does.
                app.sync_retrying(&request(None, changes)).await;
            }
        }));
    }
    let puller = {
        let app = app.clone();
        let done = done.clone();
        tokio::spawn(async move {
            let mut cursor = None;
            let mut seen: HashMap<String, NoteState> = HashMap::new();
            loop {
                // Read the flag before pulling: a pull that starts after every push has
                // finished and finds nothing more means the puller is complete.
                let finished = done.load(std::sync::atomic::Ordering::SeqCst);
                let r = app.sync(&request(cursor.clone(), vec![])).await;
                let got = r.changes.len();
                for n in r.changes {
                    seen.insert(n.id.0.clone(), n);
                }
                cursor = Some(r.cursor);
                if got == 0 && !r.has_more {
                    if finished {
                        return seen;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                }
            }
        })
    };
    for t in tasks {
        t.await.unwrap();
    }
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let seen = puller.await.unwrap();
    let truth = app.pull_all().await;
    assert_eq!(truth.len(), pushers * 3);
    for n in truth {
        let s = seen
            .get(n.id.as_str())
            .unwrap_or_else(|| panic!("puller missed {}", n.id));
        assert_eq!(s, &n, "puller has a stale state of {}", n.id);
        assert_eq!(n.title, format!("r{}", rounds - 1));
    }
}

#[tokio::test]
async fn two_server_processes_on_one_database_behave_like_one() {
    let db = fresh_db_name();
    let a = spawn_app_on(shared_db().uri(), &db).await;
    let b = spawn_app_on(shared_db().uri(), &db).await;
    let t = now();
    let r1 = a
        .sync(&request(None, vec![change("n1", "d", t, "via a")]))
        .await;
    let r2 = b
        .sync(&request(
            Some(r1.cursor.clone()),
            vec![change("n2", "d", t, "via b")],
        ))
        .await;
    assert_eq!(
        r2.changes.len(),
        1,
        "b sees only what came after a's cursor"
    );
    assert_eq!(r2.changes[0].title, "via b");
    let other = a.sync(&request(Some(r1.cursor), vec![])).await;
    assert_eq!(other.changes, r2.changes);
}

#[tokio::test]
async fn malformed_requests_get_a_json_error_and_write_nothing() {
    let app = spawn_app().await;
    let good = serde_json::to_value(change("n", "d", now(), "t")).unwrap();
    let cases: Vec<(Vec<u8>, u16, serde_json::Value)> = vec![
        (
            b"{not json".to_vec(),
            400,
            json!({"error": "invalid_request", "message": "the request body is not a valid sync request (key must be a string at line 1 column 2); see docs/sync-protocol.md"}),
        ),
        (
            serde_json::to_vec(&json!({"protocol": 1, "changes": [good, {"note_id": 5}]})).unwrap(),
            400,
            json!({"error": "invalid_request", "message": "the request body is not a valid sync request (invalid type: integer `5`, expected a string); see docs/sync-protocol.md"}),
        ),
        (
            serde_json::to_vec(&json!({"protocol": 2, "changes": [good]})).unwrap(),
            426,
            json!({"error": "unsupported_protocol", "message": "protocol version 2 is not supported; this server speaks version 1: update the app (reload the page)"}),
        ),
        (
            serde_json::to_vec(&json!({"protocol": 1, "cursor": "yesterday", "changes": [good]}))
                .unwrap(),
            400,
            json!({"error": "invalid_cursor", "message": "the cursor was not issued by this server; send no cursor to sync from the start"}),
        ),
        (
            serde_json::to_vec(&json!({"protocol": 1, "changes": vec![good.clone(); 1001]}))
                .unwrap(),
            413,
            json!({"error": "too_many_changes", "message": "1001 changes in one request; send at most 1000 per request"}),
        ),
        (
            vec![b' '; sync_core::limits::MAX_REQUEST_BYTES + 1],
            413,
            json!({"error": "payload_too_large", "message": "the request body is over 8388608 bytes; send fewer changes per request"}),
        ),
    ];
    for (body, status, expected) in cases {
        let (got_status, got) = app.post_raw(body).await;
        assert_eq!((got_status, &got), (status, &expected));
    }
    assert_eq!(
        app.count("notes").await,
        0,
        "no rejected request wrote anything"
    );
}

#[tokio::test]
async fn a_cursor_above_the_users_head_is_refused_and_writes_nothing() {
    let app = spawn_app().await;
    // Account A's device has synced three notes: its cursor is above B's head.
    let a = app.as_user("cursor-a").await;
    let changes = vec![
        change("a1", "d", now(), "A1"),
        change("a2", "d", now(), "A2"),
        change("a3", "d", now(), "A3"),
    ];
    let cursor = a.sync(&request(None, changes)).await.cursor;
    let b = app.as_user("cursor-b").await;
    b.sync(&request(None, vec![change("b1", "d", now(), "B1")]))
        .await;
    let expected = json!({"error": "invalid_cursor", "message": "the cursor was not issued to this account; send no cursor to sync from the start"});
    // B signs in on A's device: a pull with A's cursor, then a push with it.
    for changes in [vec![], vec![change("b2", "d", now(), "B2")]] {
        let body = serde_json::to_vec(&request(Some(cursor.clone()), changes)).unwrap();
        assert_eq!(b.post_raw(body).await, (400, expected.clone()));
    }
    let titles: Vec<String> = b.pull_all().await.into_iter().map(|n| n.title).collect();
    assert_eq!(titles, ["B1"], "the refused push wrote nothing");
    // The cursor at the head itself is fine.
    let head = b.sync(&request(None, vec![])).await.cursor;
    assert!(
        b.sync(&request(Some(head), vec![]))
            .await
            .changes
            .is_empty()
    );
}
