//! Group commit (`storage::mongo::commit`): concurrent pushes of many accounts share
//! transactions. Each push still lands in its own account, each answer says what was stored,
//! a push that fails fails alone, and a batch that cannot commit answers every one of its
//! requests with a JSON error and loses nothing that was answered `applied`.

mod support;

use std::collections::HashMap;
use std::time::Duration;

use futures::future::join_all;
use mongodb::bson::{Document, doc};
use support::*;
use sync_core::protocol::{ChangeOutcome, SyncResponse};

/// The note ids every account uses: the same ids in every account, so a batch that mixed
/// accounts up would show.
fn ids(round: usize) -> [String; 2] {
    [format!("r{round}-a"), format!("r{round}-b")]
}

/// Versions answered for each note of a response, checking every change was applied as
/// sent.
fn applied(r: &SyncResponse) -> Vec<u64> {
    r.results
        .iter()
        .map(|res| match &res.outcome {
            ChangeOutcome::Applied {
                version,
                current: None,
            } => *version,
            other => panic!("expected applied as sent, got {other:?}"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_pushes_of_many_accounts_all_land_in_their_own_account() {
    let app = spawn_app().await;
    const USERS: usize = 40;
    const ROUNDS: usize = 3;
    let mut users = Vec::new();
    for i in 0..USERS {
        users.push(app.as_user(&format!("batch{i}")).await);
    }
    // Every account pushes from two devices at once, round after round: the pushes of one
    // round arrive together, so they share batches (and two pushes of one account never
    // share one).
    let tasks = users.iter().enumerate().flat_map(|(i, u)| {
        (0..2).map(move |device| async move {
            let mut answered: HashMap<String, (u64, String)> = HashMap::new();
            // What this device received, as a device keeps it: each note's latest state.
            let mut seen: HashMap<String, (u64, String)> = HashMap::new();
            let mut cursor = None;
            for round in 0..ROUNDS {
                let changes: Vec<_> = ids(round)
                    .iter()
                    .map(|id| {
                        let id = format!("{id}{device}");
                        let title = format!("user {i} device {device} {id}");
                        change(&id, &format!("d{device}"), now(), &title)
                    })
                    .collect();
                let titles: Vec<_> = changes.iter().map(|c| c.title.clone()).collect();
                let r = u.sync(&request(cursor.clone(), changes.clone())).await;
                for ((c, v), title) in changes.iter().zip(applied(&r)).zip(titles) {
                    answered.insert(c.note_id.0.clone(), (v, title));
                }
                for n in r.changes {
                    seen.insert(n.id.0.clone(), (n.version, n.title));
                }
                cursor = Some(r.cursor);
            }
            (answered, seen, cursor)
        })
    });
    let mut answered = join_all(tasks).await;
    // Once every push is answered, each device pulls the rest since its last answer.
    for (k, (_, seen, cursor)) in answered.iter_mut().enumerate() {
        loop {
            let r = users[k / 2].sync(&request(cursor.clone(), vec![])).await;
            for n in r.changes {
                seen.insert(n.id.0.clone(), (n.version, n.title));
            }
            *cursor = Some(r.cursor);
            if !r.has_more {
                break;
            }
        }
    }

    for (i, u) in users.iter().enumerate() {
        let mut expected: HashMap<String, (u64, String)> = HashMap::new();
        expected.extend(answered[2 * i].0.clone());
        expected.extend(answered[2 * i + 1].0.clone());
        let pulled: HashMap<String, (u64, String)> = u
            .pull_all()
            .await
            .into_iter()
            .map(|n| (n.id.0.clone(), (n.version, n.title.clone())))
            .collect();
        // Exactly this account's notes, at the versions and with the text its answers
        // named: nothing lost, nothing of another account.
        assert_eq!(pulled, expected, "account {i}");
        // Each device, from the pages its pushes were answered with and one pull after,
        // has every note of its account: the pages skipped no version.
        assert_eq!(answered[2 * i].1, expected, "device 0 of account {i}");
        assert_eq!(answered[2 * i + 1].1, expected, "device 1 of account {i}");
        let versions: std::collections::HashSet<u64> = pulled.values().map(|(v, _)| *v).collect();
        assert_eq!(
            versions.len(),
            pulled.len(),
            "distinct versions in account {i}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_that_fails_beside_others_fails_alone() {
    let app = spawn_app().await;
    let broken = app.as_user("broken").await;
    broken
        .sync(&request(
            None,
            vec![change("n-bad", "d", now(), "soon broken")],
        ))
        .await;
    let user = broken.user_id("broken").await;
    // A stored note that does not decode: every push to it fails (`stored_data.rs`).
    app.store
        .database()
        .collection::<Document>("notes")
        .update_one(
            doc! {"u": &user, "id": "n-bad"},
            doc! {"$set": {"title": 42}},
        )
        .await
        .unwrap();
    let mut others = Vec::new();
    for i in 0..16 {
        others.push(app.as_user(&format!("beside{i}")).await);
    }

    for round in 0..3 {
        let bad = async {
            broken
                .post_raw(
                    serde_json::to_vec(&request(
                        None,
                        vec![change("n-bad", "d", now(), &format!("new {round}"))],
                    ))
                    .unwrap(),
                )
                .await
        };
        let good = join_all(others.iter().map(|o| {
            let c = change(&format!("n{round}"), "d", now(), &format!("fine {round}"));
            async move { o.sync(&request(None, vec![c])).await }
        }));
        let ((status, body), good) = tokio::join!(bad, good);
        assert_eq!(status, 500, "{body}");
        assert_eq!(body["error"], "internal", "{body}");
        for r in &good {
            applied(r);
        }
    }
    for o in &others {
        let mut titles: Vec<String> = o.pull_all().await.into_iter().map(|n| n.title).collect();
        titles.sort();
        assert_eq!(titles, ["fine 0", "fine 1", "fine 2"]);
    }
    // The broken note is as it was: not written over.
    let stored = app
        .store
        .database()
        .collection::<Document>("notes")
        .find_one(doc! {"u": &user, "id": "n-bad"})
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.get_i32("title").ok(), Some(42));
}

fn signal(pid: u32, sig: i32) {
    #[allow(unsafe_code)]
    // SAFETY: kill(2) on the database process this test started.
    unsafe {
        libc::kill(pid as i32, sig);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_that_cannot_commit_fails_each_request_with_json_and_loses_nothing() {
    let dir = test_data_root().join(format!("{}-batch-stop", std::process::id()));
    let db = start_db(&dir, 0);
    let app = spawn_app_on(db.uri(), "batchstop").await;
    let mut users = Vec::new();
    for i in 0..12 {
        users.push(app.as_user(&format!("stop{i}")).await);
    }
    // Each account has one note answered `applied` before the database stops.
    for u in &users {
        applied(
            &u.sync(&request(None, vec![change("before", "d", now(), "before")]))
                .await,
        );
    }
    signal(db.pid(), libc::SIGSTOP);
    let stopped_at = std::time::Instant::now();
    // kill(2) returns before every thread of the database has stopped (health.rs).
    let all_stopped = || {
        std::fs::read_dir(format!("/proc/{}/task", db.pid()))
            .map(|tasks| {
                tasks.flatten().all(|t| {
                    let stat = std::fs::read_to_string(t.path().join("stat")).unwrap_or_default();
                    let state = stat.rsplit(')').next().unwrap_or("").trim_start();
                    state.starts_with('T') || state.starts_with('t')
                })
            })
            .unwrap_or(false)
    };
    for _ in 0..200 {
        if all_stopped() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(all_stopped(), "the database's threads stop");
    // The pushes made while the database is stopped are answered, each with a JSON
    // error, while it is still stopped: a batch that hangs is given up after
    // `BATCH_ATTEMPT_TIMEOUT` (10 s), well before the request deadline (30 s).
    let pushes = join_all(users.iter().map(|u| async {
        u.post_raw(
            serde_json::to_vec(&request(None, vec![change("during", "d", now(), "during")]))
                .unwrap(),
        )
        .await
    }));
    let answers = tokio::time::timeout(Duration::from_secs(25), pushes).await;
    // Kept stopped past one batch attempt's deadline, so the committer has given up on
    // a batch whose commands never answer.
    tokio::time::sleep(Duration::from_secs(11).saturating_sub(stopped_at.elapsed())).await;
    signal(db.pid(), libc::SIGCONT);
    let answers = answers.expect("every push is answered while the database is stopped");
    for (status, body) in &answers {
        assert_eq!(*status, 503, "{body}");
        assert_eq!(body["error"], "unavailable", "{body}");
    }
    // Once the database is back, pushes land again promptly (the committer did not stay
    // stuck behind the hung batch), every account still has what was answered, and the
    // refused pushes, sent again, land.
    let recovered = join_all(users.iter().map(|u| async {
        applied(
            &u.sync_retrying(&request(None, vec![change("after", "d", now(), "after")]))
                .await,
        );
    }));
    tokio::time::timeout(Duration::from_secs(15), recovered)
        .await
        .expect("pushes succeed again within seconds of the database's return");
    for u in &users {
        let mut titles: Vec<String> = u.pull_all().await.into_iter().map(|n| n.title).collect();
        titles.sort();
        // The push answered 503 may or may not have committed after the database came
        // back (the client would send it again); the rest is there either way.
        titles.retain(|t| t != "during");
        assert_eq!(titles, ["after", "before"]);
    }
    drop(app);
    drop(db);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A TCP relay to the test database that can swallow the next `commitTransaction`: the
/// connection carrying it is held open and never relays another byte, as a connection
/// whose peer is gone without a reset, or a commit waiting for replicas that do not
/// answer. The driver's monitor, on connections of its own, still sees a healthy server.
async fn relay_swallowing_a_commit(
    to: std::net::SocketAddr,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicBool>) {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let swallow = Arc::new(AtomicBool::new(false));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let uri = format!(
        "mongodb://{}/?directConnection=true",
        listener.local_addr().unwrap()
    );
    let armed = swallow.clone();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let armed = armed.clone();
            tokio::spawn(async move {
                let Ok(server) = tokio::net::TcpStream::connect(to).await else {
                    return;
                };
                let (mut cr, mut cw) = client.into_split();
                let (mut sr, mut sw) = server.into_split();
                let back = tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut sr, &mut cw).await;
                });
                let mut buf = vec![0u8; 64 * 1024];
                loop {
                    let n = match cr.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    let commits = buf[..n]
                        .windows(b"commitTransaction".len())
                        .any(|w| w == b"commitTransaction");
                    if commits && armed.swap(false, Ordering::SeqCst) {
                        // Held open, silent, for as long as the test runs.
                        let _hold = (&cr, &sw, &back);
                        std::future::pending::<()>().await;
                    }
                    if sw.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
                back.abort();
            });
        }
    });
    (uri, swallow)
}

/// The port of the shared database server (the relay stands in front of it).
fn db_port() -> u16 {
    shared_db()
        .uri()
        .trim_start_matches("mongodb://127.0.0.1:")
        .split('/')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_that_never_answers_fails_its_batch_and_later_pushes_land() {
    let (uri, swallow) = relay_swallowing_a_commit(([127, 0, 0, 1], db_port()).into()).await;
    let app = spawn_app_on(&uri, &fresh_db_name()).await;
    let hung = app.as_user("hung").await;
    let next = app.as_user("next").await;
    applied(
        &next
            .sync(&request(None, vec![change("before", "d", now(), "before")]))
            .await,
    );

    // The batch holding this push never hears back from its commit: the request is
    // answered 503 JSON (by the committer's deadline, or at worst the request's).
    swallow.store(true, std::sync::atomic::Ordering::SeqCst);
    let (status, body) = hung
        .post_raw(
            serde_json::to_vec(&request(None, vec![change("lost", "d", now(), "lost")])).unwrap(),
        )
        .await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"], "unavailable", "{body}");
    assert!(
        !swallow.load(std::sync::atomic::Ordering::SeqCst),
        "the commit was swallowed"
    );

    // The committer did not stay stuck behind it: the next pushes, of this account and of
    // another, land, and what was answered before is still there.
    applied(
        &next
            .sync(&request(None, vec![change("after", "d", now(), "after")]))
            .await,
    );
    applied(
        &hung
            .sync(&request(None, vec![change("again", "d", now(), "again")]))
            .await,
    );
    let mut titles: Vec<String> = next.pull_all().await.into_iter().map(|n| n.title).collect();
    titles.sort();
    assert_eq!(titles, ["after", "before"]);
    let titles: Vec<String> = hung.pull_all().await.into_iter().map(|n| n.title).collect();
    assert_eq!(titles, ["again"], "the swallowed commit never happened");
}

/// The committer is pipelined: while one batch waits for its commit (here, forever, until
/// its deadline), the next batch, of other users, is written and committed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushes_of_others_commit_while_a_batch_waits_for_its_commit() {
    let (uri, swallow) = relay_swallowing_a_commit(([127, 0, 0, 1], db_port()).into()).await;
    let app = spawn_app_on(&uri, &fresh_db_name()).await;
    let hung = app.as_user("hung").await;
    let next = app.as_user("next").await;
    swallow.store(true, std::sync::atomic::Ordering::SeqCst);
    let body = serde_json::to_vec(&request(None, vec![change("lost", "d", now(), "lost")]));
    let hung_push = tokio::spawn(async move { hung.post_raw(body.unwrap()).await });
    // Its batch is in its commit, which never answers (until BATCH_ATTEMPT_TIMEOUT).
    while swallow.load(std::sync::atomic::Ordering::SeqCst) {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    applied(
        &next
            .sync(&request(None, vec![change("beside", "d", now(), "beside")]))
            .await,
    );
    assert!(
        !hung_push.is_finished(),
        "the other user's push was answered only after the hung batch gave up"
    );
    let (status, body) = hung_push.await.unwrap();
    assert_eq!(status, 503, "{body}");
    let titles: Vec<String> = next.pull_all().await.into_iter().map(|n| n.title).collect();
    assert_eq!(titles, ["beside"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_contended_account_does_not_hold_back_or_fail_the_others() {
    let app = spawn_app().await;
    let contended = app.as_user("contended").await;
    let mut others = Vec::new();
    for i in 0..12 {
        others.push(app.as_user(&format!("free{i}")).await);
    }
    for u in others.iter().chain([&contended]) {
        applied(
            &u.sync(&request(None, vec![change("before", "d", now(), "before")]))
                .await,
        );
    }
    let user = app.user_id("contended").await;
    // Another writer (another server process, or the account's deletion) holds the
    // account's counter in an open transaction: every push of the account conflicts until
    // it ends.
    let db = app.store.database();
    let mut blocker = db.client().start_session().await.unwrap();
    blocker.start_transaction().await.unwrap();
    db.collection::<Document>("counters")
        .update_one(doc! {"_id": &user}, doc! {"$inc": {"seq": 1}})
        .session(&mut blocker)
        .await
        .unwrap();

    // The contended account's push and the others' arrive together, round after round: the
    // others are answered `applied` while the contended push still waits, whether or not
    // they shared its batch.
    let held = request(None, vec![change("held", "d", now(), "held")]);
    let stuck = contended.sync(&held);
    tokio::pin!(stuck);
    let rounds = async {
        for round in 0..3 {
            let pushes = others.iter().map(|o| {
                let c = change(&format!("n{round}"), "d", now(), &format!("free {round}"));
                async move { o.sync(&request(None, vec![c])).await }
            });
            for r in join_all(pushes).await {
                applied(&r);
            }
        }
    };
    tokio::select! {
        r = &mut stuck => panic!("the contended push cannot finish while the other writer holds its account: {r:?}"),
        () = rounds => {}
    }
    // Once the other writer is done, the contended push lands within its own budget.
    blocker.abort_transaction().await.unwrap();
    applied(&stuck.await);
    let mut titles: Vec<String> = contended
        .pull_all()
        .await
        .into_iter()
        .map(|n| n.title)
        .collect();
    titles.sort();
    assert_eq!(titles, ["before", "held"]);
    for o in &others {
        let mut titles: Vec<String> = o.pull_all().await.into_iter().map(|n| n.title).collect();
        titles.sort();
        assert_eq!(titles, ["before", "free 0", "free 1", "free 2"]);
    }
}

/// A push whose cursor was its account's head is answered with the notes it wrote (no
/// read): the page must be exactly what a pull of the same window reads right after, for
/// every kind of write (new notes, an edit, two changes of one note in one push, a merge,
/// a conflict, a superseded change, a delete, a change sent again).
#[tokio::test]
async fn a_page_answered_from_the_pushs_own_writes_is_what_a_pull_reads() {
    let app = spawn_app().await;
    let t = now();
    let at = |dt: u64, node: &str| sync_core::Hlc {
        wall_ms: t + dt,
        counter: 0,
        node: node.into(),
    };
    let edit = |id: &str, dt: u64, node: &str, base: Option<(u64, &str, &str)>, body: &str| {
        let mut c = change(id, node, 0, id);
        c.hlc = at(dt, node);
        c.content = body.into();
        if let Some((v, title, content)) = base {
            c.base_version = Some(v);
            c.base_title = Some(title.into());
            c.base_content = Some(content.into());
        }
        c
    };
    let mut manual = edit("manual", 0, "laptop", None, "one");
    manual.strategy = Some(sync_core::Strategy::Manual);
    let mut lww = edit("lww", 0, "laptop", None, "first");
    lww.strategy = Some(sync_core::Strategy::Lww);
    let twice = edit("twice", 0, "laptop", None, "a");
    let again = twice.clone();
    let mut gone = edit("gone", 1, "laptop", None, "bye");
    let pushes: Vec<Vec<sync_core::protocol::Change>> = vec![
        vec![
            edit("merge", 0, "laptop", None, "line one\nline two\n"),
            manual.clone(),
            lww.clone(),
            twice.clone(),
            gone.clone(),
        ],
        // One note changed twice in one push, and another edited on the version before.
        vec![
            edit("twice", 5, "laptop", Some((4, "twice", "a")), "b"),
            edit("twice", 6, "laptop", Some((4, "twice", "a")), "c"),
            edit("lww", 7, "laptop", Some((3, "lww", "first")), "laptop wins"),
            edit(
                "merge",
                7,
                "laptop",
                Some((1, "merge", "line one\nline two\n")),
                "line one, laptop\nline two\n",
            ),
        ],
        // Another device's edits on old bases: a merge, a conflict, a superseded change
        // (an older clock under last-writer-wins), and a delete.
        vec![
            edit(
                "merge",
                8,
                "phone",
                Some((1, "merge", "line one\nline two\n")),
                "line one\nline two, phone\n",
            ),
            edit("manual", 8, "phone", Some((2, "manual", "one")), "phone"),
            edit("manual", 9, "laptop", Some((2, "manual", "one")), "laptop"),
            edit("lww", 0, "phone", Some((3, "lww", "first")), "older"),
            {
                gone.hlc = at(10, "laptop");
                gone.base_version = Some(5);
                gone.deleted = true;
                gone
            },
        ],
        // A change sent again: nothing new is written.
        vec![again],
    ];
    let mut cursor = None;
    let mut outcomes = Vec::new();
    let mut conflicts = 0;
    for (k, changes) in pushes.into_iter().enumerate() {
        let pushed = app.sync(&request(cursor.clone(), changes)).await;
        let pulled = app.sync(&request(cursor.clone(), vec![])).await;
        assert_eq!(
            serde_json::to_value(&pushed.changes).unwrap(),
            serde_json::to_value(&pulled.changes).unwrap(),
            "push {k}: the page answered with the push is what a pull reads"
        );
        assert_eq!(
            (&pushed.cursor, pushed.has_more),
            (&pulled.cursor, pulled.has_more),
            "push {k}"
        );
        outcomes.extend(pushed.results.iter().map(|r| format!("{:?}", r.outcome)));
        conflicts += pushed
            .changes
            .iter()
            .filter(|n| n.conflict.is_some())
            .count();
        cursor = Some(pushed.cursor);
    }
    // The kinds of write the pages were compared on all happened: merged (applied with
    // the merge result as `current`), superseded, a conflict kept for the user.
    let all = outcomes.join(" ");
    for kind in ["current: Some", "Superseded", "current: None"] {
        assert!(all.contains(kind), "no {kind} among {all}");
    }
    assert!(conflicts > 0, "no conflict among {all}");
}

/// The versions a push was answered, checking each change was applied as sent.
fn pushed_versions(p: &server::storage::notes::Pushed) -> Vec<u64> {
    p.results
        .iter()
        .map(|r| match &r.outcome {
            ChangeOutcome::Applied {
                version,
                current: None,
            } => *version,
            other => panic!("expected applied as sent, got {other:?}"),
        })
        .collect()
}

#[tokio::test]
async fn a_head_one_process_knows_and_another_moved_on_is_not_written_over() {
    use server::storage::SyncStore;
    use server::storage::error::StoreError;
    use server::storage::mongo::MongoStore;
    let db = fresh_db_name();
    let a = MongoStore::connect(shared_db().uri(), &db).await.unwrap();
    let b = MongoStore::connect(shared_db().uri(), &db).await.unwrap();
    let t = now();
    // a commits version 1 and keeps it as the user's head; b, another process, commits 2.
    let first = a
        .push("u", &[change("n1", "d", t, "one")], t)
        .await
        .unwrap();
    assert_eq!(pushed_versions(&first), [1]);
    let second = b
        .push("u", &[change("n2", "e", t, "two")], t)
        .await
        .unwrap();
    assert_eq!(pushed_versions(&second), [2]);
    // a's next push is on top of b's: version 3, not a second version 2.
    let third = a
        .push("u", &[change("n3", "d", t, "three")], t)
        .await
        .unwrap();
    assert_eq!(pushed_versions(&third), [3]);
    let page = b.pull("u", 0, 100).await.unwrap();
    let got: Vec<(String, u64)> = page
        .notes
        .iter()
        .map(|n| (n.id.0.clone(), n.version))
        .collect();
    assert_eq!(
        got,
        [("n1".into(), 1), ("n2".into(), 2), ("n3".into(), 3)],
        "every version once, each note at its own"
    );
    assert_eq!(page.head, 3);
    // The account deleted through b: a's kept head does not let a push in.
    b.delete_user_notes("u").await.unwrap();
    let after = a.push("u", &[change("n4", "d", t, "four")], t).await;
    assert!(matches!(after, Err(StoreError::Gone)), "{after:?}");
    assert!(b.pull("u", 0, 100).await.unwrap().notes.is_empty());
}

#[tokio::test]
async fn a_batch_of_a_user_seen_before_does_not_read_the_counter() {
    use mongodb::event::EventHandler;
    use mongodb::event::command::CommandEvent;
    use server::storage::SyncStore;
    use server::storage::mongo::MongoStore;
    use std::sync::{Arc, Mutex};
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut opts = mongodb::options::ClientOptions::parse(shared_db().uri())
        .await
        .unwrap();
    let log = seen.clone();
    opts.command_event_handler = Some(EventHandler::callback(move |e| {
        if let CommandEvent::Started(s) = e {
            let target = s
                .command
                .get_str(&s.command_name)
                .map(|c| format!(" {c}"))
                .unwrap_or_default();
            log.lock()
                .unwrap()
                .push(format!("{}{target}", s.command_name));
        }
    }));
    let store = MongoStore::with_options(opts, &fresh_db_name()).unwrap();
    let t = now();
    store.ensure_indexes().await.unwrap();
    seen.lock().unwrap().clear();
    store
        .push("u", &[change("n1", "d", t, "one")], t)
        .await
        .unwrap();
    let cold = std::mem::take(&mut *seen.lock().unwrap());
    assert_eq!(
        cold,
        [
            "find notes",
            "find counters",
            "update counters",
            "insert notes",
            "commitTransaction"
        ],
        "a user's first batch reads its counter"
    );
    store
        .push("u", &[change("n2", "d", t, "two")], t)
        .await
        .unwrap();
    let warm = std::mem::take(&mut *seen.lock().unwrap());
    assert_eq!(
        warm,
        [
            "find notes",
            "update counters",
            "insert notes",
            "commitTransaction"
        ],
        "the next batch writes the counter on the head it knows, without reading it"
    );
}
