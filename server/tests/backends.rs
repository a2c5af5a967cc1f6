//! One story, every backend: what a user's devices do and must see, told once against the
//! storage traits and run on MongoDB (the real wire-protocol database) and on the in-memory
//! stores (`server::storage::memory`), so the two answer alike. The in-memory stores are beside
//! MongoDB, never instead of it: every other server test runs on the database.

mod support;

use std::sync::Arc;
use std::time::Duration;

use server::auth::throttle::{Limits, Rate};
use server::auth::{Accounts, AuthError};
use server::storage::memory::{MemoryAccounts, MemoryBuckets, MemoryStore};
use server::storage::mongo::MongoStore;
use server::storage::{
    BoxStream, Conflicts, HeadEvent, SessionEvent, StoredSession, Stores, SyncStore, memory,
};
use support::*;
use sync_core::protocol::{Change, ChangeOutcome, RevisionReason};
use sync_core::{ChangeId, Hlc, NoteId, NoteState, Strategy};

fn conflicts() -> Conflicts {
    Conflicts {
        default: Strategy::Merge,
        history_limit: 3,
    }
}

async fn mongo_store() -> MongoStore {
    let store = MongoStore::connect(shared_db().uri(), &fresh_db_name())
        .await
        .unwrap()
        .with_conflicts(conflicts());
    store.ensure_indexes().await.unwrap();
    store
}

fn edit(id: &str, cid: &str, wall: u64, node: &str, base: Option<u64>, content: &str) -> Change {
    Change::new(
        ChangeId(cid.into()),
        NoteId(id.into()),
        Hlc {
            wall_ms: wall,
            counter: 0,
            node: node.into(),
        },
        base,
        "Title",
        content,
        false,
    )
}

fn version(o: &ChangeOutcome) -> u64 {
    match o {
        ChangeOutcome::Applied { version, .. } => *version,
        other => panic!("not applied: {other:?}"),
    }
}

/// Every note of `user`, paging `limit` at a time, as a client pulls them.
async fn pull_all(store: &dyn SyncStore, user: &str, limit: u32) -> (Vec<NoteState>, u32) {
    let (mut notes, mut after, mut pages) = (Vec::new(), 0, 0);
    loop {
        let page = store.pull(user, after, limit).await.unwrap();
        pages += 1;
        assert!(page.last >= after && page.last <= page.head);
        notes.extend(page.notes);
        after = page.last;
        if !page.has_more {
            return (notes, pages);
        }
    }
}

/// The notes story (see the module doc).
async fn notes_story(store: &dyn SyncStore) {
    store.ping().await.unwrap();
    let t = now() - 60_000;
    // A new user has nothing.
    assert_eq!(store.head("alice").await.unwrap(), 0);
    let page = store.pull("alice", 0, 100).await.unwrap();
    assert!(page.notes.is_empty() && !page.has_more);

    // Three notes and an invalid change in one push: one answer each, in order; the
    // invalid one is rejected, the others applied with increasing versions.
    let batch = vec![
        edit("a", "c1", t, "laptop", None, "alpha"),
        edit("b", "c2", t, "laptop", None, "beta"),
        edit("bad id!", "c3", t, "laptop", None, "never"),
        edit("c", "c4", t, "laptop", None, "gamma"),
    ];
    let r = store.push("alice", &batch, now()).await.unwrap().results;
    assert_eq!(r.len(), 4);
    assert!(matches!(r[2].outcome, ChangeOutcome::Rejected { .. }));
    let vs: Vec<u64> = [0, 1, 3].iter().map(|&i| version(&r[i].outcome)).collect();
    assert!(vs[0] < vs[1] && vs[1] < vs[2]);
    assert!(store.head("alice").await.unwrap() >= vs[2]);

    // Pulled back in pages of two: every note once, in version order.
    let (notes, pages) = pull_all(store, "alice", 2).await;
    let ids: Vec<&str> = notes.iter().map(|n| n.id.as_str()).collect();
    assert_eq!(ids, ["a", "b", "c"]);
    assert!(pages >= 2);

    // The same push again (a retry after a lost answer): the same answers, nothing new.
    let head = store.head("alice").await.unwrap();
    let again = store.push("alice", &batch, now()).await.unwrap().results;
    assert_eq!(again, r);
    assert!(
        store
            .pull("alice", head, 100)
            .await
            .unwrap()
            .notes
            .is_empty()
    );

    // Another user sees none of it.
    assert!(pull_all(store, "bob", 100).await.0.is_empty());
    assert!(
        store
            .history("bob", &NoteId("a".into()))
            .await
            .unwrap()
            .is_empty()
    );

    // Two devices edit note `a` on the same base: under "manual" both are kept, as a
    // conflict; the one that lost the note's own place is in the conflict.
    let mut laptop = edit("a", "c5", t + 10, "laptop", Some(vs[0]), "alpha, laptop");
    laptop.strategy = Some(Strategy::Manual);
    store.push("alice", &[laptop], now()).await.unwrap();
    let phone = edit("a", "c6", t + 11, "phone", Some(vs[0]), "alpha, phone");
    let r = store.push("alice", &[phone], now()).await.unwrap().results;
    let ChangeOutcome::Applied {
        current: Some(a), ..
    } = &r[0].outcome
    else {
        panic!("a conflict answers with the note: {:?}", r[0].outcome);
    };
    let conflict = a.conflict.as_ref().expect("a conflict");
    let mut sides: Vec<&str> = conflict
        .versions
        .iter()
        .map(|v| v.content.as_str())
        .chain([a.content.as_str()])
        .collect();
    sides.sort();
    assert_eq!(sides, ["alpha, laptop", "alpha, phone"]);

    // Deleting `b`: a tombstone is pulled, the text is in its history.
    let mut del = edit("b", "c7", t + 20, "laptop", Some(vs[1]), "");
    del.deleted = true;
    del.title = String::new();
    store.push("alice", &[del], now()).await.unwrap();
    let (notes, _) = pull_all(store, "alice", 100).await;
    let b = notes.iter().find(|n| n.id.as_str() == "b").unwrap();
    assert!(b.deleted);
    let h = store.history("alice", &NoteId("b".into())).await.unwrap();
    assert_eq!(h.len(), 1);
    assert_eq!(
        (h[0].version.content.as_str(), h[0].reason),
        ("beta", RevisionReason::Deleted)
    );

    // Under last-write-wins, the older of two concurrent edits is superseded by the newer,
    // and kept in history.
    let mut newer = edit("c", "c8", t + 40, "laptop", Some(vs[2]), "gamma, newer");
    newer.strategy = Some(Strategy::Lww);
    store.push("alice", &[newer], now()).await.unwrap();
    let older = edit("c", "c9", t + 30, "phone", Some(vs[2]), "gamma, older");
    let r = store.push("alice", &[older], now()).await.unwrap().results;
    let ChangeOutcome::Superseded { current } = &r[0].outcome else {
        panic!("superseded: {:?}", r[0].outcome);
    };
    assert_eq!(current.content, "gamma, newer");
    let h = store.history("alice", &NoteId("c".into())).await.unwrap();
    assert!(h.iter().any(|r| r.version.content == "gamma, older"));

    // More edits than the history limit (3): the newest three are listed, newest first.
    let mut base = current.version;
    for i in 0..5u64 {
        let node = if i % 2 == 0 { "tablet" } else { "laptop" };
        let c = edit(
            "c",
            &format!("h{i}"),
            t + 50 + i,
            node,
            Some(base),
            &format!("c{i}"),
        );
        base = version(&store.push("alice", &[c], now()).await.unwrap().results[0].outcome);
    }
    let h = store.history("alice", &NoteId("c".into())).await.unwrap();
    let texts: Vec<&str> = h.iter().map(|r| r.version.content.as_str()).collect();
    assert_eq!(texts, ["c3", "c2", "c1"]);
}

#[tokio::test]
async fn notes_story_on_mongodb() {
    notes_story(&mongo_store().await).await;
}

#[tokio::test]
async fn notes_story_in_memory() {
    notes_story(&MemoryStore::new().with_conflicts(conflicts())).await;
}

/// The trash: a delete keeps the text in history; "Delete forever" (a purge change) and
/// the expiry ([`SyncStore::purge_expired`]) drop it, leave a `purged` tombstone at a new
/// version for other devices, and never touch a restored note.
async fn trash_story(store: &dyn SyncStore) {
    let u = "trash-user";
    let day = 24 * 3600 * 1000;
    let now = 1_800_000_000_000;
    let push = |c: Change| async move { store.push(u, &[c], now).await.unwrap().results };
    let delete = |id: &str, cid: &str, wall: u64, base: u64, purge: bool| {
        let mut c = edit(id, cid, wall, "a", Some(base), "");
        c.title.clear();
        c.deleted = true;
        c.purge = purge;
        c
    };
    // "Delete forever" of a note whose delete synced earlier.
    let v = version(&push(edit("f", "f1", now - 3000, "a", None, "forever")).await[0].outcome);
    let v = version(&push(delete("f", "f2", now - 2000, v, false)).await[0].outcome);
    assert_eq!(
        store.history(u, &NoteId("f".into())).await.unwrap().len(),
        1
    );
    let v = version(&push(delete("f", "f3", now - 1000, v, true)).await[0].outcome);
    assert!(
        store
            .history(u, &NoteId("f".into()))
            .await
            .unwrap()
            .is_empty()
    );
    let (notes, _) = pull_all(store, u, 1000).await;
    let f = notes.iter().find(|n| n.id.0 == "f").unwrap();
    assert!(f.deleted && f.purged && f.version == v && f.title.is_empty());

    // The expiry: deleted 40 days ago, 31 days ago then restored, and yesterday.
    for (id, deleted_at) in [
        ("old", now - 40 * day),
        ("back", now - 31 * day),
        ("new", now - day),
    ] {
        let v = version(
            &push(edit(id, &format!("{id}1"), deleted_at - 1, "a", None, id)).await[0].outcome,
        );
        let v =
            version(&push(delete(id, &format!("{id}2"), deleted_at, v, false)).await[0].outcome);
        if id == "back" {
            push(edit(id, "back3", now - 10, "a", Some(v), "restored")).await;
        }
    }
    let head = store.head(u).await.unwrap();
    assert_eq!(store.purge_expired(now - 30 * day, 10).await.unwrap(), 1);
    assert_eq!(
        store.purge_expired(now - 30 * day, 10).await.unwrap(),
        0,
        "idempotent"
    );
    let page = store.pull(u, head, 1000).await.unwrap();
    let ids: Vec<(&str, bool)> = page
        .notes
        .iter()
        .map(|n| (n.id.as_str(), n.purged))
        .collect();
    assert_eq!(ids, [("old", true)], "other devices pull the purge");
    assert!(
        store
            .history(u, &NoteId("old".into()))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.history(u, &NoteId("new".into())).await.unwrap().len(),
        1
    );
    assert!(
        !store
            .history(u, &NoteId("back".into()))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn trash_story_on_mongodb() {
    trash_story(&mongo_store().await).await;
}

#[tokio::test]
async fn trash_story_in_memory() {
    trash_story(&MemoryStore::new().with_conflicts(conflicts())).await;
}

/// Throttling periods of an hour: nothing leaks out of a bucket while the story runs.
/// The fields story: a note's tags, notebook and pin are stored and returned by the
/// backend, merged with concurrent edits, kept by a change without fields, and dropped
/// with the text by the trash expiry.
async fn fields_story(store: &dyn SyncStore) {
    let (u, now) = ("fiona", now());
    let with = |mut c: Change, f: serde_json::Value| {
        c.fields = serde_json::from_value(f).unwrap();
        c
    };
    let push = |c: Change| async move { store.push(u, &[c], now).await.unwrap().results };
    let created = with(
        edit("n", "n1", now - 5000, "a", None, "text"),
        serde_json::json!({"tags": {"add": ["t1", "t2"]}, "notebook": "nb", "pinned": true}),
    );
    let v = version(&push(created).await[0].outcome);
    // Two devices on version v: one drops t1 and adds t3, the other adds t4 and unpins.
    let mut a = with(
        edit("n", "n2", now - 4000, "a", Some(v), "text"),
        serde_json::json!({"tags": {"add": ["t3"], "remove": ["t1"]}}),
    );
    let mut b = with(
        edit("n", "n3", now - 3000, "b", Some(v), "text"),
        serde_json::json!({"tags": {"add": ["t4"]}, "pinned": false}),
    );
    for c in [&mut a, &mut b] {
        c.base_title = Some("Title".into());
        c.base_content = Some("text".into());
    }
    push(a).await;
    push(b).await;
    // Today's client edits the body: the fields stay.
    let (notes, _) = pull_all(store, u, 100).await;
    let before = notes[0].clone();
    push(edit(
        "n",
        "n4",
        now - 2000,
        "old",
        Some(before.version),
        "new text",
    ))
    .await;
    let (notes, _) = pull_all(store, u, 100).await;
    let n = &notes[0];
    assert_eq!(n.content, "new text");
    assert_eq!(n.fields, before.fields);
    let tags: Vec<String> = n.fields.set("tags").into_iter().collect();
    assert_eq!(tags, ["t2", "t3", "t4"]);
    assert_eq!(n.fields.id("notebook").as_deref(), Some("nb"));
    assert!(!n.fields.pinned());
    // Deleted, then expired: the fields go with the text.
    let mut del = edit("n", "n5", now - 1000, "a", Some(n.version), "");
    del.title.clear();
    del.deleted = true;
    let r = push(del).await;
    assert!(
        matches!(r[0].outcome, ChangeOutcome::Applied { .. }),
        "{r:?}"
    );
    assert_eq!(store.purge_expired(now, 10).await.unwrap(), 1);
    let (notes, _) = pull_all(store, u, 100).await;
    assert!(
        notes[0].purged && notes[0].fields.is_empty(),
        "{:?}",
        notes[0]
    );
}

/// Fields as the store writes them (MongoDB: `fd`) read back equal to the same edits
/// applied in memory by `sync_core::fields`, registers of every type and a set that has
/// forgotten removals past `MAX_SET_REMOVED`, through a pull and through the next push
/// (which reads the stored note to merge on it).
async fn fields_round_trip(store: &dyn SyncStore) {
    use sync_core::fields::{Fields, MAX_SET_ITEMS, MAX_SET_REMOVED};
    let (u, now) = ("rita", now());
    let mut expected = Fields::default();
    let mut seen = None;
    let mut present: Vec<String> = Vec::new();
    let mut next_tag = 0;
    let rounds = 2 + MAX_SET_REMOVED / 40;
    for round in 0..=rounds {
        let mut c = edit(
            "r",
            &format!("r{round}"),
            now - 10_000 + round as u64,
            "dev",
            seen,
            "text",
        );
        c.base_title = seen.map(|_| "Title".to_owned());
        c.base_content = seen.map(|_| "text".to_owned());
        // Each round removes 40 tags and adds 40 new ones (the first adds the set full).
        let adds = if round == 0 { MAX_SET_ITEMS } else { 40 };
        let removed: Vec<String> = present.drain(..present.len().min(40)).collect();
        let added: Vec<String> = (0..adds)
            .map(|_| {
                next_tag += 1;
                format!("tag-{next_tag}")
            })
            .collect();
        present.extend(added.iter().cloned());
        let mut fields = serde_json::json!({"tags": {"add": added, "remove": removed}});
        if round == 0 {
            fields["notebook"] = serde_json::json!("nb-1");
            fields["pinned"] = serde_json::json!(true);
            fields["created"] = serde_json::json!(1_764_064_589_123_u64);
            fields["kind"] = serde_json::json!("note");
            fields["parent"] = serde_json::Value::Null;
        }
        if round == rounds {
            fields["pinned"] = serde_json::json!(false);
            fields["notebook"] = serde_json::Value::Null;
        }
        c.fields = serde_json::from_value(fields).unwrap();
        expected.apply_change(&c);
        let r = store.push(u, &[c], now).await.unwrap().results;
        seen = Some(version(&r[0].outcome));
    }
    let removals = match expected.0.get("tags") {
        Some(sync_core::fields::FieldState::Set(s)) => {
            s.elements.values().filter(|e| !e.present).count()
        }
        _ => 0,
    };
    assert_eq!(removals, MAX_SET_REMOVED, "the set has forgotten removals");
    let (notes, _) = pull_all(store, u, 100).await;
    assert_eq!(notes[0].fields, expected, "read back equal");
    assert_eq!(notes[0].fields.set("tags").len(), MAX_SET_ITEMS);
}

#[tokio::test]
async fn fields_round_trip_on_mongodb() {
    fields_round_trip(&mongo_store().await).await;
}

#[tokio::test]
async fn fields_round_trip_in_memory() {
    fields_round_trip(&MemoryStore::new().with_conflicts(conflicts())).await;
}

#[tokio::test]
async fn fields_story_on_mongodb() {
    fields_story(&mongo_store().await).await;
}

#[tokio::test]
async fn fields_story_in_memory() {
    fields_story(&MemoryStore::new().with_conflicts(conflicts())).await;
}

fn hourly() -> Limits {
    let rate = |burst| Rate {
        burst,
        every: Duration::from_secs(3600),
    };
    Limits {
        per_pair: rate(2),
        per_source: rate(100),
        per_account: rate(100),
        known_for: Duration::from_secs(3600),
    }
}

/// The accounts story (see the module doc).
async fn accounts_story(accounts: Accounts) {
    let accounts = accounts.with_limits(hourly());
    accounts.ensure_indexes().await.unwrap();
    let home = "198.51.100.1";

    let s = accounts.sign_up("Alice", PASSWORD, home).await.unwrap();
    assert_eq!(s.name, "alice");
    let found = accounts
        .session(&s.token)
        .await
        .unwrap()
        .expect("a session");
    assert_eq!(
        (found.user_id.as_str(), found.name.as_str()),
        (s.user_id.as_str(), "alice")
    );
    assert!(matches!(
        accounts.sign_up("alice", PASSWORD, home).await,
        Err(AuthError::NameTaken)
    ));

    // Signing in again: another session, same user.
    let s2 = accounts.sign_in("alice", PASSWORD, home).await.unwrap();
    assert_eq!(s2.user_id, s.user_id);
    assert_ne!(s2.token, s.token);

    // Signed out: the token no longer works; the other session does.
    accounts.sign_out(&s.token).await.unwrap();
    assert!(accounts.session(&s.token).await.unwrap().is_none());
    assert!(accounts.session(&s2.token).await.unwrap().is_some());
    assert!(accounts.session("no such token").await.unwrap().is_none());

    // Guessing from elsewhere: two wrong passwords, then refused even with the right one,
    // for that address only; the owner at home still gets in.
    let away = "203.0.113.5";
    for _ in 0..2 {
        assert!(matches!(
            accounts.sign_in("alice", "wrong password", away).await,
            Err(AuthError::InvalidCredentials)
        ));
    }
    assert!(matches!(
        accounts.sign_in("alice", PASSWORD, away).await,
        Err(AuthError::TooManyAttempts(_))
    ));
    accounts.sign_in("alice", PASSWORD, home).await.unwrap();
    // An unknown name is answered like a wrong password, and throttled alike.
    assert!(matches!(
        accounts.sign_in("nobody", PASSWORD, home).await,
        Err(AuthError::InvalidCredentials)
    ));
}

#[tokio::test]
async fn accounts_story_on_mongodb() {
    let store = mongo_store().await;
    accounts_story(Accounts::new(&store.stores())).await;
}

#[tokio::test]
async fn accounts_story_in_memory() {
    accounts_story(Accounts::with_stores(
        Arc::new(MemoryAccounts::new()),
        Arc::new(MemoryBuckets::new()),
    ))
    .await;
}

/// Account management: the session list, ending one or all sessions, a password change
/// (other sessions end), and deleting the account with its notes.
async fn account_management_story(accounts: Accounts, store: &dyn SyncStore) {
    let accounts = accounts.with_limits(hourly());
    accounts.ensure_indexes().await.unwrap();
    let home = "198.51.100.2";
    let a = accounts
        .sign_up_on("carol", PASSWORD, home, "Firefox on Linux")
        .await
        .unwrap();
    let b = accounts
        .sign_in_on("carol", PASSWORD, home, "Safari on iOS")
        .await
        .unwrap();
    let c = accounts.sign_in("carol", PASSWORD, home).await.unwrap();
    let other = accounts.sign_up("dave", PASSWORD, home).await.unwrap();

    let list = accounts.sessions(&a).await.unwrap();
    assert_eq!(list.len(), 3);
    let mut devices: Vec<&str> = list.iter().map(|s| s.device.as_str()).collect();
    devices.sort();
    assert_eq!(devices, ["API client", "Firefox on Linux", "Safari on iOS"]);
    assert!(
        list.iter()
            .all(|s| s.last_used_ms.is_some() && s.created_ms.is_some())
    );
    assert_eq!(list.iter().filter(|s| s.current).count(), 1);

    // Ending one: only its own user's.
    let b_id = list
        .iter()
        .find(|s| s.device == "Safari on iOS")
        .unwrap()
        .id
        .clone();
    accounts.end_session(&other, &b_id).await.unwrap();
    assert!(accounts.session(&b.token).await.unwrap().is_some());
    accounts.end_session(&a, &b_id).await.unwrap();
    assert!(accounts.session(&b.token).await.unwrap().is_none());

    // A password change: the current one is checked; other sessions end.
    assert!(matches!(
        accounts
            .change_password(&a, "wrong password", "another password", home)
            .await,
        Err(AuthError::WrongPassword)
    ));
    assert!(accounts.session(&c.token).await.unwrap().is_some());
    let ended = accounts
        .change_password(&a, PASSWORD, "another password", home)
        .await
        .unwrap();
    assert_eq!(ended, 1);
    assert!(accounts.session(&c.token).await.unwrap().is_none());
    assert!(accounts.session(&a.token).await.unwrap().is_some());
    assert!(accounts.sign_in("carol", PASSWORD, home).await.is_err());
    let a = accounts
        .sign_in("carol", "another password", home)
        .await
        .unwrap();

    // Deleting: notes and history (the counter becomes a tombstone at 0), sessions, the
    // user; dave's stay.
    store
        .push(
            &a.user_id,
            &[edit("n", "c1", 1000, "x", None, "carol's")],
            2000,
        )
        .await
        .unwrap();
    store
        .push(
            &a.user_id,
            &[edit("n", "c2", 1001, "y", Some(1), "edited")],
            2000,
        )
        .await
        .unwrap();
    store
        .push(
            &other.user_id,
            &[edit("n", "d1", 1000, "x", None, "dave's")],
            2000,
        )
        .await
        .unwrap();
    accounts
        .check_password(&a, "another password", home)
        .await
        .unwrap();
    store.delete_user_notes(&a.user_id).await.unwrap();
    accounts.delete_user(&a).await.unwrap();
    assert_eq!(store.head(&a.user_id).await.unwrap(), 0);
    assert!(pull_all(store, &a.user_id, 1000).await.0.is_empty());
    assert!(
        store
            .history(&a.user_id, &NoteId("n".into()))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(accounts.session(&a.token).await.unwrap().is_none());
    assert!(
        accounts
            .sign_in("carol", "another password", home)
            .await
            .is_err()
    );
    assert_eq!(pull_all(store, &other.user_id, 1000).await.0.len(), 1);
    assert!(accounts.session(&other.token).await.unwrap().is_some());
}

#[tokio::test]
async fn account_management_story_on_mongodb() {
    let store = mongo_store().await;
    account_management_story(Accounts::new(&store.stores()), &store).await;
}

#[tokio::test]
async fn account_management_story_in_memory() {
    account_management_story(
        Accounts::with_stores(
            Arc::new(MemoryAccounts::new()),
            Arc::new(MemoryBuckets::new()),
        ),
        &MemoryStore::new().with_conflicts(conflicts()),
    )
    .await;
}

/// The next event of `feed` that `keep` keeps, within the wait.
async fn next_of<T: std::fmt::Debug>(
    feed: &mut BoxStream<'static, T>,
    keep: impl Fn(&T) -> bool,
) -> T {
    use futures::StreamExt;
    tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let e = feed.next().await.expect("the feed goes on");
            if keep(&e) {
                return e;
            }
        }
    })
    .await
    .expect("an event within the wait")
}

fn session(key: &str, user: &str) -> StoredSession {
    StoredSession {
        key: key.into(),
        user_id: user.into(),
        name: user.into(),
        expires_ms: i64::MAX / 2,
        created_ms: None,
        last_used_ms: None,
        device: None,
        epoch: 0,
    }
}

/// The change feeds `GET /live` follows: once a feed says it is open, every commit that
/// moves a user's head is told, with whose head and where it is now; every ended session is
/// told by its key; a feed opened later tells what comes after it.
async fn feed_story(stores: Stores) {
    let notes = &*stores.notes;
    let mut heads = notes.heads();
    assert_eq!(next_of(&mut heads, |_| true).await, HeadEvent::Reopened);
    let moved = |e: &HeadEvent| matches!(e, HeadEvent::Moved { .. });

    let r = notes
        .push("ann", &[edit("n1", "c1", 1000, "phone", None, "a")], 2000)
        .await
        .unwrap();
    let v1 = version(&r.results[0].outcome);
    assert_eq!(
        next_of(&mut heads, moved).await,
        HeadEvent::Moved {
            user: "ann".into(),
            head: v1
        }
    );
    // Another user's commit moves their head, not ann's.
    notes
        .push(
            "bob",
            &[
                edit("m1", "d1", 1000, "laptop", None, "x"),
                edit("m2", "d2", 1001, "laptop", None, "y"),
            ],
            2000,
        )
        .await
        .unwrap();
    assert_eq!(
        next_of(&mut heads, moved).await,
        HeadEvent::Moved {
            user: "bob".into(),
            head: 2
        }
    );
    // A second follower (another server process) hears the commits after it opened.
    let mut later = notes.heads();
    assert_eq!(next_of(&mut later, |_| true).await, HeadEvent::Reopened);
    notes
        .push(
            "ann",
            &[edit("n1", "c2", 1002, "phone", Some(v1), "b")],
            3000,
        )
        .await
        .unwrap();
    let ann2 = HeadEvent::Moved {
        user: "ann".into(),
        head: v1 + 1,
    };
    assert_eq!(next_of(&mut heads, moved).await, ann2);
    assert_eq!(next_of(&mut later, moved).await, ann2);

    // Sessions: one signed out, then the others of the account, then the account.
    let accounts = &*stores.accounts;
    let mut ended = accounts.ended_sessions();
    assert_eq!(next_of(&mut ended, |_| true).await, SessionEvent::Reopened);
    for key in ["k1", "k2", "k3", "k4"] {
        accounts.insert_session(&session(key, "ann")).await.unwrap();
    }
    let is_ended = |e: &SessionEvent| matches!(e, SessionEvent::Ended { .. });
    let key = |e: SessionEvent| match e {
        SessionEvent::Ended { key } => key,
        SessionEvent::Reopened => unreachable!(),
    };
    accounts.delete_session("k1").await.unwrap();
    assert_eq!(key(next_of(&mut ended, is_ended).await), "k1");
    accounts
        .delete_sessions_of("ann", Some("k4"))
        .await
        .unwrap();
    let mut two = vec![
        key(next_of(&mut ended, is_ended).await),
        key(next_of(&mut ended, is_ended).await),
    ];
    two.sort();
    assert_eq!(two, ["k2", "k3"], "every other session, not the one kept");
    accounts.delete_user("ann").await.unwrap();
    assert_eq!(key(next_of(&mut ended, is_ended).await), "k4");
}

#[tokio::test]
async fn feed_story_on_mongodb() {
    feed_story(mongo_store().await.stores()).await;
}

#[tokio::test]
async fn feed_story_in_memory() {
    feed_story(memory::stores()).await;
}
