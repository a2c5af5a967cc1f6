//! The live channel (`GET /live`) against the real database: a commit pokes the user's
//! open devices and no one else's, across server processes sharing one database; a device
//! is poked when it connects (so a reconnect misses nothing); connections are limited; a
//! shutting-down server ends them.

mod support;

use std::time::Duration;

use support::live::{WAIT, open_live, start_process};
use support::*;

/// The cursor a pull from the start ends at, for the user of `app`.
async fn head_cursor(app: &TestApp) -> String {
    let r = app.sync(&request(None, vec![])).await;
    r.cursor.0
}

#[tokio::test]
async fn a_commit_pokes_the_users_open_devices_and_no_one_elses() {
    let alice = spawn_app().await;
    let bob = alice.as_user("bob").await;
    let mut alice_phone = open_live(&alice.base, &alice.token).await.unwrap();
    let mut alice_laptop = open_live(&alice.base, &alice.token).await.unwrap();
    let mut bob_phone = open_live(&bob.base, &bob.token).await.unwrap();
    // A device is poked as soon as it connects: it syncs what it missed while away.
    for live in [&mut alice_phone, &mut alice_laptop, &mut bob_phone] {
        assert_eq!(live.poke().await, serde_json::json!({}));
    }

    for i in 0..3 {
        alice
            .sync(&request(
                None,
                vec![change(&format!("a{i}"), "d", now(), "a")],
            ))
            .await;
    }
    let alice_head = head_cursor(&alice).await;
    for live in [&mut alice_phone, &mut alice_laptop] {
        // Pokes carry the newest head; several commits may arrive as one poke.
        loop {
            let poke = live.poke().await;
            if poke["cursor"] == alice_head.as_str() {
                break;
            }
        }
    }

    // Bob's devices heard nothing of Alice's three commits: the first poke after his own
    // first commit names his head, not hers.
    bob.sync(&request(None, vec![change("b0", "d", now(), "b")]))
        .await;
    let bob_head = head_cursor(&bob).await;
    assert_ne!(bob_head, alice_head);
    assert_eq!(
        bob_phone.poke().await,
        serde_json::json!({"cursor": bob_head})
    );
}

#[tokio::test]
async fn live_needs_a_session() {
    let app = spawn_app().await;
    let Err((status, _, body)) = open_live(&app.base, "not-a-session").await else {
        panic!("a live connection without a session");
    };
    assert_eq!(status, 401);
    assert_eq!(body["error"], "unauthorized");
}

#[tokio::test]
async fn a_commit_through_one_server_process_pokes_a_device_on_another() {
    let db = fresh_db_name();
    // Process 1: this test's in-process server; process 2: the real binary. They share
    // nothing but the database.
    let one = spawn_app_on(shared_db().uri(), &db).await;
    let two = start_process(&db, &[]);
    let mut device_on_two = open_live(&two.base, &one.token).await.unwrap();
    assert_eq!(device_on_two.poke().await, serde_json::json!({}));

    one.sync(&request(None, vec![change("n1", "d", now(), "from one")]))
        .await;
    let head = head_cursor(&one).await;
    loop {
        if device_on_two.poke().await["cursor"] == head.as_str() {
            break;
        }
    }
}

#[tokio::test]
async fn live_connections_are_limited_and_refused_with_retry_after() {
    let db = fresh_db_name();
    let app = spawn_app_on(shared_db().uri(), &db).await;
    let server = start_process(&db, &[("TERN_LIVE_PER_USER", "2"), ("TERN_LIVE_MAX", "3")]);
    let bob = app.as_user("bob").await;
    let _a1 = open_live(&server.base, &app.token).await.unwrap();
    let a2 = open_live(&server.base, &app.token).await.unwrap();
    let (status, retry, body) = open_live(&server.base, &app.token)
        .await
        .err()
        .expect("a third device of one account is refused");
    assert_eq!((status, retry.as_deref()), (503, Some("30")));
    assert_eq!(
        body,
        serde_json::json!({"error": "unavailable", "message": "too many live connections for this account; sync keeps working by polling, retry the live connection later"})
    );
    let _b1 = open_live(&server.base, &bob.token).await.unwrap();
    let (status, _, body) = open_live(&server.base, &bob.token)
        .await
        .err()
        .expect("past the process's limit");
    assert_eq!(status, 503);
    assert_eq!(
        body["message"],
        "too many live connections on this server; sync keeps working by polling, retry the live connection later"
    );
    // A closed connection frees its place (at the latest when the server's next heartbeat
    // finds it closed).
    drop(a2);
    let mut again = None;
    for _ in 0..450 {
        if let Ok(l) = open_live(&server.base, &app.token).await {
            again = Some(l);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(again.is_some(), "a place freed by a closed connection");
}

#[tokio::test]
async fn shutting_down_ends_live_connections() {
    let db = fresh_db_name();
    let app = spawn_app_on(shared_db().uri(), &db).await;
    let mut server = start_process(&db, &[]);
    let mut live = open_live(&server.base, &app.token).await.unwrap();
    assert_eq!(live.poke().await, serde_json::json!({}));
    // SIGTERM: a graceful shutdown, which would otherwise wait on the open connection.
    #[allow(unsafe_code)]
    // SAFETY: kill(2) on our own child, not yet reaped.
    unsafe {
        libc::kill(server.child.id() as i32, libc::SIGTERM);
    }
    assert!(live.ended().await, "the live connection ends");
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(started.elapsed() < WAIT, "the server stops");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "the server stopped cleanly: {status}");
}

async fn live_gauge(app: &TestApp) -> Option<String> {
    app.metric("tern_live_connections").await
}

#[tokio::test]
async fn open_live_connections_are_counted_in_the_metrics() {
    let app = spawn_app().await;
    let mut one = open_live(&app.base, &app.token).await.unwrap();
    let mut two = open_live(&app.base, &app.token).await.unwrap();
    one.poke().await;
    two.poke().await;
    assert_eq!(live_gauge(&app).await.as_deref(), Some("2"));
    drop(two);
    let mut now = None;
    for _ in 0..300 {
        now = live_gauge(&app).await;
        if now.as_deref() == Some("1") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        now.as_deref(),
        Some("1"),
        "a closed connection is no longer counted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_the_database_restarts_devices_are_poked_and_new_commits_still_come_live() {
    let dir = test_data_root().join(format!("{}-live-restart", std::process::id()));
    let db = start_db(&dir, 0);
    let port = db.port();
    let app = spawn_app_on(db.uri(), "liverestart").await;
    let mut device = open_live(&app.base, &app.token).await.unwrap();
    assert_eq!(device.poke().await, serde_json::json!({}));
    app.sync(&request(None, vec![change("n1", "d", now(), "before")]))
        .await;

    drop(db); // the database goes away, and comes back on the same port and files
    let _db = start_db(&dir, port);
    let started = std::time::Instant::now();
    loop {
        let (status, _) = app
            .post_raw(
                serde_json::to_vec(&request(None, vec![change("n2", "d", now(), "after")]))
                    .unwrap(),
            )
            .await;
        if status == 200 {
            break;
        }
        assert!(started.elapsed() < WAIT, "the database answers again");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let head = app.sync(&request(None, vec![])).await.cursor.0;
    // The device hears of the commit made after the restart: a poke naming the new head
    // (the feed resumed its change stream), or a poke to sync (the feed had to reopen it
    // and could not know what it missed).
    loop {
        let poke = device.poke().await;
        if poke["cursor"] == head.as_str() || poke == serde_json::json!({}) {
            break;
        }
    }
}
