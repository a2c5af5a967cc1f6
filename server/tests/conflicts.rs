//! Conflicts, end to end: devices (the client's real engine and local store rules, in
//! memory) edit the same notes concurrently and sync through the real server over HTTP,
//! under each conflict strategy. In every scenario all devices converge to the same state
//! and every version that lost is in the note's history (or still in its conflict).

mod support;

use client::engine;
use client::local::{LocalNote, LocalStore, META_CLOCK_OFFSET, Notes};
use client::memory::MemoryStore;
use server::storage::Conflicts;
use support::*;
use sync_core::protocol::RevisionReason;
use sync_core::{NoteId, Strategy};

const STRATEGIES: [Strategy; 3] = [Strategy::Lww, Strategy::Merge, Strategy::Manual];

type Device = Notes<MemoryStore>;

async fn device() -> Device {
    Notes::open(MemoryStore::new()).await.unwrap()
}

async fn app(strategy: Strategy) -> TestApp {
    spawn_app_with(Conflicts {
        default: strategy,
        history_limit: 50,
    })
    .await
}

async fn sync(app: &TestApp, d: &Device) -> engine::SyncReport {
    engine::sync(d.store(), &app.api()).await.unwrap()
}

/// The note as `d` has it.
async fn note(d: &Device, id: &NoteId) -> LocalNote {
    d.store()
        .get(id)
        .await
        .unwrap()
        .expect("the device has the note")
}

/// A note created on `devices[0]` and synced to all of them.
async fn shared_note(app: &TestApp, devices: &[&Device], title: &str, content: &str) -> NoteId {
    let id = devices[0].create(title, content).await.unwrap().id;
    for d in devices {
        sync(app, d).await;
    }
    id
}

/// Syncs every device twice over, then checks that all of them hold the same notes, with
/// nothing pending. Returns the converged state of note `id`.
async fn converge(app: &TestApp, devices: &[&Device], id: &NoteId) -> LocalNote {
    for _ in 0..2 {
        for d in devices {
            sync(app, d).await;
        }
    }
    let view = |n: &LocalNote| {
        (
            n.id.clone(),
            n.title.clone(),
            n.content.clone(),
            n.deleted,
            n.conflict.clone(),
        )
    };
    let mut first = None;
    for d in devices {
        let mut all: Vec<_> = d.store().list().await.unwrap();
        assert!(
            all.iter().all(|n| n.pending.is_none()),
            "everything synced: {all:?}"
        );
        all.sort_by(|a, b| a.id.cmp(&b.id));
        let v: Vec<_> = all.iter().map(view).collect();
        match &first {
            None => first = Some(v),
            Some(f) => assert_eq!(f, &v, "devices disagree"),
        }
    }
    note(devices[0], id).await
}

/// Makes `d`'s clock run `ms` ahead of the server's, so that edits made one after the
/// other in a test get clocks in that order even within one millisecond.
async fn ahead(d: &Device, ms: i64) {
    d.store()
        .set_meta(META_CLOCK_OFFSET, &ms.to_string())
        .await
        .unwrap();
}

/// True when `content` survives: in the note, in its conflict, or in its history.
async fn kept(app: &TestApp, n: &LocalNote, content: &str) -> bool {
    n.content == content
        || n.conflict
            .as_ref()
            .is_some_and(|c| c.versions.iter().any(|v| v.content == content))
        || app
            .history(n.id.as_str())
            .await
            .iter()
            .any(|r| r.version.content == content)
}

#[tokio::test]
async fn the_same_field_edited_on_two_devices() {
    for st in STRATEGIES {
        let app = app(st).await;
        let (a, b) = (device().await, device().await);
        let id = shared_note(&app, &[&a, &b], "Title", "body").await;
        a.edit(&id, "Title from A", "body").await.unwrap();
        ahead(&b, 1000).await;
        b.edit(&id, "Title from B", "body").await.unwrap();
        sync(&app, &a).await;
        sync(&app, &b).await;
        let n = converge(&app, &[&a, &b], &id).await;
        match st {
            // B's edit has the later clock.
            Strategy::Lww | Strategy::Merge => {
                assert_eq!(
                    (n.title.as_str(), n.conflict.is_none()),
                    ("Title from B", true),
                    "{st:?}"
                );
            }
            _ => {
                let c = n.conflict.as_ref().expect("a conflict for the user");
                assert_eq!(n.title, "Title from B");
                assert_eq!(c.versions[0].title, "Title from A");
            }
        }
        let titles: Vec<String> = app
            .history(id.as_str())
            .await
            .into_iter()
            .map(|r| r.version.title)
            .collect();
        assert!(
            titles.contains(&"Title from A".to_owned()),
            "{st:?}: {titles:?}"
        );
    }
}

#[tokio::test]
async fn different_fields_edited_on_two_devices() {
    for st in STRATEGIES {
        let app = app(st).await;
        let (a, b) = (device().await, device().await);
        let id = shared_note(&app, &[&a, &b], "Title", "body").await;
        a.edit(&id, "New title", "body").await.unwrap();
        ahead(&b, 1000).await;
        b.edit(&id, "Title", "new body").await.unwrap();
        sync(&app, &a).await;
        sync(&app, &b).await;
        let n = converge(&app, &[&a, &b], &id).await;
        match st {
            Strategy::Lww => assert_eq!(
                (n.title.as_str(), n.content.as_str()),
                ("Title", "new body")
            ),
            Strategy::Merge => {
                assert_eq!(
                    (n.title.as_str(), n.content.as_str(), n.conflict.is_none()),
                    ("New title", "new body", true)
                );
            }
            _ => {
                let c = n.conflict.as_ref().expect("conflict");
                let p = c.proposal.as_ref().expect("a merge is proposed");
                assert_eq!(
                    (p.title.as_str(), p.content.as_str()),
                    ("New title", "new body")
                );
            }
        }
        assert!(
            kept(&app, &n, "body").await || n.title == "New title",
            "{st:?}"
        );
    }
}

#[tokio::test]
async fn different_parts_of_the_content() {
    for st in STRATEGIES {
        let app = app(st).await;
        let (a, b) = (device().await, device().await);
        let base = "Monday: gym\nTuesday: piano\nWednesday: rest";
        let id = shared_note(&app, &[&a, &b], "Week", base).await;
        let from_a = "Monday: swim\nTuesday: piano\nWednesday: rest";
        let from_b = "Monday: gym\nTuesday: piano\nWednesday: cinema";
        a.edit(&id, "Week", from_a).await.unwrap();
        ahead(&b, 1000).await;
        b.edit(&id, "Week", from_b).await.unwrap();
        sync(&app, &a).await;
        sync(&app, &b).await;
        let n = converge(&app, &[&a, &b], &id).await;
        let both = "Monday: swim\nTuesday: piano\nWednesday: cinema";
        match st {
            Strategy::Lww => assert_eq!(n.content, from_b),
            Strategy::Merge => assert_eq!((n.content.as_str(), n.conflict.is_none()), (both, true)),
            _ => assert_eq!(
                n.conflict
                    .as_ref()
                    .unwrap()
                    .proposal
                    .as_ref()
                    .unwrap()
                    .content,
                both
            ),
        }
        for v in [from_a, from_b] {
            assert!(kept(&app, &n, v).await, "{st:?} lost {v:?}");
        }
    }
}

#[tokio::test]
async fn overlapping_content_edits_go_to_the_user_unless_lww() {
    for st in STRATEGIES {
        let app = app(st).await;
        let (a, b) = (device().await, device().await);
        let id = shared_note(&app, &[&a, &b], "Dinner", "at 7 pm").await;
        a.edit(&id, "Dinner", "at 8 pm").await.unwrap();
        ahead(&b, 1000).await;
        b.edit(&id, "Dinner", "at 6 pm").await.unwrap();
        sync(&app, &a).await;
        let report = sync(&app, &b).await;
        let n = converge(&app, &[&a, &b], &id).await;
        if st == Strategy::Lww {
            assert_eq!(
                (n.content.as_str(), n.conflict.is_none()),
                ("at 6 pm", true)
            );
        } else {
            assert_eq!(report.conflicts, 1, "{st:?}: the sync reports the conflict");
            let c = n.conflict.as_ref().expect("a conflict for the user");
            assert_eq!(n.state_label(), "conflict");
            assert_eq!(c.versions.len(), 1);
            assert_eq!(c.proposal, None, "overlapping edits have no clean merge");
            // The user picks A's version on device B: resolved everywhere.
            b.resolve(&id, "Dinner", "at 8 pm", false).await.unwrap();
            let n = converge(&app, &[&a, &b], &id).await;
            assert_eq!(
                (n.content.as_str(), n.conflict.is_none()),
                ("at 8 pm", true),
                "{st:?}"
            );
        }
        for v in ["at 8 pm", "at 6 pm"] {
            let n = note(&a, &id).await;
            assert!(kept(&app, &n, v).await, "{st:?} lost {v:?}");
        }
    }
}

#[tokio::test]
async fn edit_versus_delete() {
    for st in STRATEGIES {
        let app = app(st).await;
        let (a, b) = (device().await, device().await);
        let id = shared_note(&app, &[&a, &b], "Keep?", "original").await;
        a.edit(&id, "Keep?", "edited on A").await.unwrap();
        ahead(&b, 1000).await;
        b.delete(&id).await.unwrap(); // the later change
        sync(&app, &a).await;
        let report = sync(&app, &b).await;
        if st == Strategy::Merge {
            // b is told its delete did not happen (not that an edit of its was lost).
            assert_eq!((report.deletes_undone, report.superseded), (1, 0));
        }
        let n = converge(&app, &[&a, &b], &id).await;
        match st {
            Strategy::Lww => assert!(n.deleted, "the later delete wins"),
            Strategy::Merge => assert_eq!((n.deleted, n.content.as_str()), (false, "edited on A")),
            _ => {
                assert_eq!((n.deleted, n.content.as_str()), (false, "edited on A"));
                assert!(
                    n.conflict
                        .as_ref()
                        .unwrap()
                        .versions
                        .iter()
                        .any(|v| v.deleted)
                );
            }
        }
        // Whatever happened, the edit can be recovered from history.
        let h = app.history(id.as_str()).await;
        assert!(
            n.content == "edited on A" || h.iter().any(|r| r.version.content == "edited on A"),
            "{st:?}: {h:?}"
        );
    }
}

#[tokio::test]
async fn delete_versus_delete() {
    for st in STRATEGIES {
        let app = app(st).await;
        let (a, b) = (device().await, device().await);
        let id = shared_note(&app, &[&a, &b], "Old", "stuff").await;
        a.delete(&id).await.unwrap();
        b.delete(&id).await.unwrap();
        sync(&app, &a).await;
        sync(&app, &b).await;
        let n = converge(&app, &[&a, &b], &id).await;
        assert!(n.deleted && n.conflict.is_none(), "{st:?}");
        let h = app.history(id.as_str()).await;
        assert!(
            h.iter()
                .any(|r| r.reason == RevisionReason::Deleted && r.version.content == "stuff"),
            "{st:?}: the deleted text is in history: {h:?}"
        );
    }
}

#[tokio::test]
async fn three_devices() {
    for st in STRATEGIES {
        let app = app(st).await;
        let (a, b, c) = (device().await, device().await, device().await);
        let id = shared_note(&app, &[&a, &b, &c], "List", "one\ntwo\nthree").await;
        a.edit(&id, "List", "ONE\ntwo\nthree").await.unwrap();
        ahead(&b, 1000).await;
        b.edit(&id, "List", "one\nTWO\nthree").await.unwrap();
        ahead(&c, 2000).await;
        c.edit(&id, "List", "one\ntwo\nTHREE").await.unwrap();
        for d in [&a, &b, &c] {
            sync(&app, d).await;
        }
        let n = converge(&app, &[&a, &b, &c], &id).await;
        match st {
            Strategy::Lww => assert_eq!(n.content, "one\ntwo\nTHREE"),
            Strategy::Merge => assert_eq!(n.content, "ONE\nTWO\nTHREE"),
            _ => {
                assert_eq!(
                    n.conflict.as_ref().unwrap().versions.len(),
                    2,
                    "all three kept"
                );
            }
        }
        for v in ["ONE\ntwo\nthree", "one\nTWO\nthree", "one\ntwo\nTHREE"] {
            assert!(kept(&app, &n, v).await, "{st:?} lost {v:?}");
        }
    }
}

#[tokio::test]
async fn a_device_offline_for_days_with_a_skewed_clock() {
    for st in STRATEGIES {
        let app = app(st).await;
        let (away, home) = (device().await, device().await);
        let id = shared_note(&app, &[&away, &home], "Trip", "pack\nbook hotel").await;
        // Offline for days, with a clock three days behind: its edit carries an old time.
        ahead(&away, -3 * 86_400_000).await;
        away.edit(&id, "Trip", "pack sunscreen\nbook hotel")
            .await
            .unwrap();
        home.edit(&id, "Trip", "pack\nbook hotel by the sea")
            .await
            .unwrap();
        sync(&app, &home).await;
        // Days later it comes back online.
        let report = sync(&app, &away).await;
        let n = converge(&app, &[&away, &home], &id).await;
        match st {
            Strategy::Lww => {
                assert_eq!(
                    n.content, "pack\nbook hotel by the sea",
                    "the older clock loses"
                );
                assert_eq!(report.superseded, 1, "and the device is told");
            }
            Strategy::Merge => assert_eq!(n.content, "pack sunscreen\nbook hotel by the sea"),
            _ => assert!(n.conflict.is_some()),
        }
        for v in ["pack sunscreen\nbook hotel", "pack\nbook hotel by the sea"] {
            assert!(kept(&app, &n, v).await, "{st:?} lost {v:?}");
        }
    }
}

#[tokio::test]
async fn a_device_with_a_clock_days_behind_can_still_edit() {
    for st in STRATEGIES {
        let app = app(st).await;
        let (slow, other) = (device().await, device().await);
        let id = shared_note(&app, &[&slow, &other], "Note", "v1").await;
        ahead(&slow, -3 * 86_400_000).await;
        slow.edit(&id, "Note", "v2 from the slow clock")
            .await
            .unwrap();
        let n = converge(&app, &[&slow, &other], &id).await;
        assert_eq!(
            (n.content.as_str(), n.conflict.is_none()),
            ("v2 from the slow clock", true),
            "{st:?}"
        );
    }
}

#[tokio::test]
async fn a_per_note_strategy_overrides_the_server_default() {
    let app = app(Strategy::Merge).await;
    let (a, b) = (device().await, device().await);
    let id = shared_note(&app, &[&a, &b], "Careful", "line one\nline two").await;
    a.set_strategy(&id, Strategy::Manual).await.unwrap();
    converge(&app, &[&a, &b], &id).await;
    assert_eq!(
        note(&b, &id).await.strategy,
        Strategy::Manual,
        "the setting syncs"
    );
    a.edit(&id, "Careful", "line ONE\nline two").await.unwrap();
    b.edit(&id, "Careful", "line one\nline TWO").await.unwrap();
    sync(&app, &a).await;
    sync(&app, &b).await;
    let n = converge(&app, &[&a, &b], &id).await;
    let c = n
        .conflict
        .expect("manual for this note, although the server merges");
    assert_eq!(c.proposal.unwrap().content, "line ONE\nline TWO");
}

#[tokio::test]
async fn an_edit_typed_while_a_sync_is_in_flight_does_not_conflict_with_itself() {
    let app = app(Strategy::Manual).await;
    let a = device().await;
    let id = shared_note(&app, &[&a], "Draft", "one").await;
    a.edit(&id, "Draft", "one two").await.unwrap();
    // The push of "one two" is answered while "one two three" was typed meanwhile.
    let sent = pending(&a).await;
    let resp = app
        .sync(&request(a.store().cursor().await.unwrap(), sent.clone()))
        .await;
    a.edit(&id, "Draft", "one two three").await.unwrap();
    a.store().commit_sync(&sent, &resp).await.unwrap();
    sync(&app, &a).await;
    let n = note(&a, &id).await;
    assert_eq!(
        (n.content.as_str(), n.conflict.is_none()),
        ("one two three", true)
    );
}

#[tokio::test]
async fn history_keeps_only_the_configured_number_of_revisions() {
    let app = spawn_app_with(Conflicts {
        default: Strategy::Lww,
        history_limit: 3,
    })
    .await;
    let (a, b) = (device().await, device().await);
    let id = shared_note(&app, &[&a, &b], "Ping", "0").await;
    // Alternating devices: every edit keeps the previous version.
    for i in 1..=6 {
        let d = if i % 2 == 0 { &a } else { &b };
        sync(&app, d).await;
        d.edit(&id, "Ping", &i.to_string()).await.unwrap();
        sync(&app, d).await;
    }
    let h = app.history(id.as_str()).await;
    let contents: Vec<&str> = h.iter().map(|r| r.version.content.as_str()).collect();
    assert_eq!(contents, ["5", "4", "3"], "newest first, at most 3");
    assert_eq!(
        app.count("revisions").await,
        3,
        "older revisions are removed"
    );
}

#[tokio::test]
async fn history_is_private_and_checks_ids() {
    let app = app(Strategy::Merge).await;
    let a = device().await;
    let id = shared_note(&app, &[&a], "Mine", "secret").await;
    a.delete(&id).await.unwrap();
    sync(&app, &a).await;
    assert_eq!(app.history(id.as_str()).await.len(), 1);
    let mallory = app.as_user("mallory").await;
    assert!(
        mallory.history(id.as_str()).await.is_empty(),
        "another user sees nothing"
    );
    let r = app
        .http
        .get(format!("{}/notes/bad%20id/history", app.base))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = app
        .http
        .get(format!("{}/notes/{id}/history", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn a_retried_merged_change_gets_the_same_answer() {
    let app = app(Strategy::Merge).await;
    let (a, b) = (device().await, device().await);
    let id = shared_note(&app, &[&a, &b], "T", "one\ntwo").await;
    a.edit(&id, "T", "ONE\ntwo").await.unwrap();
    sync(&app, &a).await;
    ahead(&b, 1000).await;
    b.edit(&id, "T", "one\nTWO").await.unwrap();
    let sent = pending(&b).await;
    // The response is lost; the device sends the same push again.
    let first = app.sync(&request(None, sent.clone())).await;
    let again = app.sync(&request(None, sent)).await;
    assert_eq!(first.results, again.results);
    let sync_core::protocol::ChangeOutcome::Applied {
        current: Some(n), ..
    } = &again.results[0].outcome
    else {
        panic!("merged: {:?}", again.results[0]);
    };
    assert_eq!(n.content, "ONE\nTWO");
}

/// The pending changes of `d`, as its engine would send them.
async fn pending(d: &Device) -> Vec<sync_core::protocol::Change> {
    d.store()
        .list()
        .await
        .unwrap()
        .iter()
        .filter_map(|n| n.pending_change())
        .collect()
}

#[tokio::test]
async fn a_lost_answer_then_more_typing_is_not_a_conflict_with_yourself() {
    for st in STRATEGIES {
        let app = app(st).await;
        let (a, b) = (device().await, device().await);
        let id = shared_note(&app, &[&a, &b], "Plan", "meet at 10").await;
        a.edit(&id, "Plan", "meet at 11").await.unwrap();
        // The server applies the push, but the answer never reaches the device.
        app.sync(&request(None, pending(&a).await)).await;
        // The user keeps typing in the same words, then the device syncs again.
        a.edit(&id, "Plan", "meet at 11:30").await.unwrap();
        sync(&app, &a).await;
        let n = converge(&app, &[&a, &b], &id).await;
        assert_eq!(
            (n.content.as_str(), n.conflict.is_none()),
            ("meet at 11:30", true),
            "{st:?}"
        );
    }
}

#[tokio::test]
async fn a_retried_losing_change_is_kept_in_history_once() {
    let app = app(Strategy::Lww).await;
    let (a, b) = (device().await, device().await);
    let id = shared_note(&app, &[&a, &b], "T", "base").await;
    ahead(&b, 1000).await;
    b.edit(&id, "T", "from b (later)").await.unwrap();
    sync(&app, &b).await;
    a.edit(&id, "T", "from a (earlier)").await.unwrap();
    let sent = pending(&a).await;
    let first = app.sync(&request(None, sent.clone())).await;
    assert!(
        matches!(
            first.results[0].outcome,
            sync_core::protocol::ChangeOutcome::Superseded { .. }
        ),
        "{first:?}"
    );
    // Lost answers, retried twice: the same outcome, and one copy in history.
    for _ in 0..2 {
        let again = app.sync(&request(None, sent.clone())).await;
        assert_eq!(first.results, again.results);
    }
    assert_eq!(
        app.count("revisions").await,
        2,
        "{:?}",
        app.history(id.as_str()).await
    );
}
