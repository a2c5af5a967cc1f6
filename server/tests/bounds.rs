//! Bounded work per request, over HTTP against the real database: base texts are limited
//! like texts, a merge past its budget is a conflict with nothing lost, pull pages are
//! bounded in bytes (and still always progress), so are push answers, a pull reads one
//! snapshot, and a large body refused before it is read still gets its answer.

mod support;

use std::sync::{Arc, Mutex};

use mongodb::bson::Document;
use mongodb::event::EventHandler;
use mongodb::event::command::CommandEvent;
use mongodb::options::ClientOptions;
use serde_json::json;
use server::storage::mongo::MongoStore;
use server::storage::{Conflicts, SyncStore};
use support::*;
use sync_core::limits::{MAX_CONTENT_BYTES, MAX_PULL_BYTES, MAX_RESULT_BYTES};
use sync_core::protocol::ChangeOutcome;
use sync_core::{NoteState, Strategy};

fn applied_version(r: &sync_core::protocol::SyncResponse) -> u64 {
    match &r.results[0].outcome {
        ChangeOutcome::Applied { version, .. } => *version,
        other => panic!("not applied: {other:?}"),
    }
}

#[tokio::test]
async fn a_base_text_over_the_limit_is_rejected_as_too_large() {
    let app = spawn_app().await;
    let mut c = change("n1", "d", now(), "t");
    c.base_version = Some(1);
    c.base_content = Some("x".repeat(MAX_CONTENT_BYTES + 1));
    let (status, body) = app
        .post_raw(serde_json::to_vec(&request(None, vec![c])).unwrap())
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["results"][0],
        json!({
            "change_id": body["results"][0]["change_id"],
            "note_id": "n1",
            "status": "rejected",
            "code": "too_large",
            "message": "base_content is 262145 bytes; at most 262144 (the content of the base version)"
        })
    );
    assert_eq!(
        app.count("notes").await,
        0,
        "a rejected change writes nothing"
    );
}

/// Words over `alphabet`, `n` of them, separated by spaces (deterministic).
fn words(n: usize, alphabet: &[u8], seed: u64) -> String {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = 1 + (x % 3) as usize;
            (0..len)
                .map(|i| alphabet[((x >> (8 * i + 8)) % alphabet.len() as u64) as usize] as char)
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[tokio::test]
async fn a_merge_past_its_budget_is_a_conflict_that_keeps_both_versions() {
    // Two devices each rewrote a different half of a long note completely. An unbounded
    // merge of the halves lands both (after quadratic work: seconds to minutes); past the
    // budget the change is a conflict for the user instead, with both texts kept.
    let app = spawn_app().await;
    let (head, tail) = (words(3000, b"abcdef", 1), words(3000, b"ghijkl", 2));
    let base = format!("{head}\nMIDDLE\n{tail}");
    let t = now();
    let mut c = change("big", "origin", t, "Big");
    c.content = base.clone();
    let v1 = applied_version(&app.sync(&request(None, vec![c])).await);

    let ours = format!("{}\nMIDDLE\n{tail}", words(3000, b"mnopqr", 3));
    let theirs = format!("{head}\nMIDDLE\n{}", words(3000, b"stuvwx", 4));
    for (node, content, at) in [("laptop", &ours, t + 1), ("phone", &theirs, t + 2)] {
        let mut c = change("big", node, at, "Big");
        c.content = content.clone();
        c.base_version = Some(v1);
        c.base_title = Some("Big".into());
        c.base_content = Some(base.clone());
        app.sync(&request(None, vec![c])).await;
    }
    let notes = app.pull_all().await;
    let n = notes.iter().find(|n| n.id.0 == "big").unwrap();
    let conflict = n.conflict.as_ref().expect("past the budget: a conflict");
    let mut texts: Vec<&str> = conflict
        .versions
        .iter()
        .map(|v| v.content.as_str())
        .collect();
    texts.push(&n.content);
    assert!(texts.contains(&ours.as_str()) && texts.contains(&theirs.as_str()));
    assert_eq!(
        conflict.proposal, None,
        "no merge was found within the budget"
    );
    // And an operator can see it happen: the refused merge is counted.
    assert_eq!(
        app.metric("tern_sync_merges_over_budget_total").await,
        Some("1".into())
    );
}

/// A note whose JSON is about 1.5 MiB: 256 KiB of a control character (6 bytes escaped).
fn heavy(id: &str, node: &str, at: u64) -> sync_core::Change {
    let mut c = change(id, node, at, id);
    c.content = "\u{1}".repeat(MAX_CONTENT_BYTES);
    c
}

fn json_len(n: &NoteState) -> usize {
    serde_json::to_vec(n).unwrap().len()
}

#[tokio::test]
async fn pull_pages_are_bounded_in_bytes_and_a_device_still_gets_every_note() {
    let app = spawn_app().await;
    let t = now();
    for i in 0..7 {
        app.sync(&request(None, vec![heavy(&format!("h{i}"), "d", t + i)]))
            .await;
    }
    // A fresh device pulls page after page: none over the bound, every note once.
    let mut cursor = None;
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let r = app.sync(&request(cursor, vec![])).await;
        pages += 1;
        let bytes: usize = r.changes.iter().map(json_len).sum();
        assert!(!r.changes.is_empty(), "every page makes progress");
        assert!(
            bytes <= MAX_PULL_BYTES,
            "page {pages}: {bytes} bytes of notes"
        );
        seen.extend(r.changes.into_iter().map(|n| n.id.0));
        cursor = Some(r.cursor);
        if !r.has_more {
            break;
        }
    }
    seen.sort();
    assert_eq!(seen, (0..7).map(|i| format!("h{i}")).collect::<Vec<_>>());
    assert!(pages >= 3, "7 notes of 1.5 MiB take several pages: {pages}");

    // The client's sync engine, on a fresh device, gets every note over the split pages.
    let device = client::local::Notes::open(client::memory::MemoryStore::new())
        .await
        .unwrap();
    client::engine::sync(device.store(), &app.api())
        .await
        .unwrap();
    let notes = device.list().await.unwrap();
    assert_eq!(notes.len(), 7);
    assert!(notes.iter().all(|n| n.content.len() == MAX_CONTENT_BYTES));
}

#[tokio::test]
async fn a_note_larger_than_a_page_still_comes_whole() {
    // Conflict versions make one note larger than MAX_PULL_BYTES: it comes alone.
    let app = spawn_app_with(Conflicts {
        default: Strategy::Manual,
        history_limit: 50,
    })
    .await;
    let t = now();
    let r = app
        .sync(&request(None, vec![heavy("h", "origin", t)]))
        .await;
    let v1 = applied_version(&r);
    for (i, node) in ["a", "b", "c"].into_iter().enumerate() {
        let mut c = heavy("h", node, t + 1 + i as u64);
        c.content = format!("{node}{}", &c.content[1..]);
        c.base_version = Some(v1);
        app.sync(&request(None, vec![c])).await;
    }
    app.sync(&request(None, vec![heavy("after", "d", t + 10)]))
        .await;
    let first = app.sync(&request(None, vec![])).await;
    assert_eq!(first.changes.len(), 1);
    assert_eq!(first.changes[0].id.0, "h");
    assert!(json_len(&first.changes[0]) > MAX_PULL_BYTES);
    assert!(first.has_more);
    let second = app.sync(&request(Some(first.cursor), vec![])).await;
    assert_eq!(second.changes.len(), 1);
    assert_eq!(second.changes[0].id.0, "after");
    assert!(!second.has_more);
}

#[tokio::test]
async fn pulls_read_the_head_and_the_notes_in_one_snapshot() {
    let seen: Arc<Mutex<Vec<(String, Document)>>> = Arc::default();
    let mut opts = ClientOptions::parse(shared_db().uri()).await.unwrap();
    let log = seen.clone();
    opts.command_event_handler = Some(EventHandler::callback(move |e| {
        if let CommandEvent::Started(s) = e {
            log.lock().unwrap().push((s.command_name, s.command));
        }
    }));
    let store = MongoStore::with_options(opts, &fresh_db_name()).unwrap();
    store
        .push("u", &[change("n1", "d", now(), "one")], now())
        .await
        .unwrap();
    seen.lock().unwrap().clear();
    let page = store.pull("u", 0, 100).await.unwrap();
    assert_eq!(page.notes.len(), 1);

    let cmds = seen.lock().unwrap().clone();
    let names: Vec<&str> = cmds.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["find", "find", "commitTransaction"], "{cmds:?}");
    let (_, head) = &cmds[0];
    assert_eq!(head.get_str("find").unwrap(), "counters");
    assert_eq!(head.get_bool("startTransaction").ok(), Some(true));
    assert_eq!(
        head.get_document("readConcern")
            .unwrap()
            .get_str("level")
            .unwrap(),
        "snapshot"
    );
    let txn = |d: &Document| (d.get("lsid").cloned(), d.get("txnNumber").cloned());
    assert_eq!(cmds[1].1.get_str("find").unwrap(), "notes");
    assert_eq!(
        txn(&cmds[1].1),
        txn(head),
        "the notes are read in the same transaction"
    );
    assert_eq!(txn(&cmds[2].1), txn(head));
    assert_eq!(
        cmds[2]
            .1
            .get_document("writeConcern")
            .unwrap()
            .get_str("w")
            .ok(),
        Some("majority"),
        "committed with majority: the snapshot is majority-committed data"
    );
}

#[tokio::test]
async fn a_push_answer_is_bounded_in_bytes_and_changes_left_unanswered_are_answered_when_sent_again()
 {
    let app = spawn_app().await;
    let t = now();
    for i in 0..7 {
        let mut c = heavy(&format!("h{i}"), "a", t);
        c.strategy = Some(Strategy::Lww);
        app.sync(&request(None, vec![c])).await;
    }
    // Another device's older edits of all seven: each loses (last-write-wins), and its
    // result carries the 1.5 MiB note that won, 10 MiB of results for one small request.
    let stale: Vec<sync_core::Change> = (0..7)
        .map(|i| change(&format!("h{i}"), "b", t - 60_000, "old"))
        .collect();
    let mut outcomes = std::collections::HashMap::new();
    let mut to_send = stale.clone();
    let mut rounds = 0;
    while !to_send.is_empty() {
        rounds += 1;
        assert!(rounds <= 7, "every answer makes progress");
        let (status, body) = app
            .post_raw(serde_json::to_vec(&request(None, to_send.clone())).unwrap())
            .await;
        assert_eq!(status, 200);
        let r: sync_core::protocol::SyncResponse = serde_json::from_value(body).unwrap();
        assert!(!r.results.is_empty(), "at least one result per answer");
        let results_bytes = serde_json::to_vec(&r.results).unwrap().len();
        assert!(
            r.results.len() == 1 || results_bytes <= MAX_RESULT_BYTES,
            "{results_bytes} bytes of results"
        );
        let all_answered = r.results.len() == to_send.len();
        assert!(r.has_more || all_answered, "a cut answer says has_more");
        for (res, sent) in r.results.iter().zip(&to_send) {
            assert_eq!(
                res.change_id, sent.change_id,
                "results come in request order"
            );
        }
        for res in r.results {
            outcomes.insert(res.change_id, res.outcome);
        }
        to_send.retain(|c| !outcomes.contains_key(&c.change_id));
    }
    assert!(
        rounds >= 3,
        "10 MiB of results take several answers: {rounds}"
    );
    for c in &stale {
        match &outcomes[&c.change_id] {
            ChangeOutcome::Superseded { current } => {
                assert_eq!(
                    current.content.len(),
                    MAX_CONTENT_BYTES,
                    "the note that won"
                )
            }
            other => panic!("{}: {other:?}", c.note_id),
        }
    }
    let notes = app.pull_all().await;
    assert_eq!(notes.len(), 7);
    assert!(notes.iter().all(|n| n.title != "old"), "no older edit won");
}

/// Sends a `POST /sync` with a `len`-byte body the way a client on a real network does:
/// in pieces, over time, reading the answer only once all is sent. Returns the answer's
/// status line and body, or the error that stopped the exchange.
async fn post_slowly(base: &str, token: &str, len: usize) -> std::io::Result<(String, String)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = base.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(addr).await?;
    let head = format!(
        "POST /sync HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\n\
         authorization: Bearer {token}\r\ncontent-length: {len}\r\nconnection: close\r\n\r\n"
    );
    s.write_all(head.as_bytes()).await?;
    let piece = vec![b' '; 256 * 1024];
    let mut sent = 0;
    while sent < len {
        let n = piece.len().min(len - sent);
        s.write_all(&piece[..n]).await?;
        sent += n;
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let mut answer = Vec::new();
    s.read_to_end(&mut answer).await?;
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer.lines().next().unwrap_or_default().to_owned();
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

#[tokio::test]
async fn a_large_body_refused_before_it_is_read_still_gets_its_json_answer() {
    let app = spawn_app().await;
    // Refused for its session as soon as the headers are in: the client is still sending.
    let (status, body) = post_slowly(&app.base, "not-a-session", 7 * 1024 * 1024)
        .await
        .expect("the answer, not a broken pipe");
    assert_eq!(status, "HTTP/1.1 401 Unauthorized");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&body).unwrap()["error"],
        "unauthorized"
    );

    // Refused once the body limit is reached, with more still to come.
    let (status, body) = post_slowly(&app.base, &app.token, 12 * 1024 * 1024)
        .await
        .expect("the answer, not a broken pipe");
    assert_eq!(status, "HTTP/1.1 413 Payload Too Large");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&body).unwrap(),
        json!({"error": "payload_too_large", "message": "the request body is over 8388608 bytes; send fewer changes per request"})
    );
    assert_eq!(app.count("notes").await, 0);
}
