//! The live channel (`GET /live`) against the real database: a commit pokes the user's
//! open devices and no one else's, across server processes sharing one database; a device
//! is poked when it connects (so a reconnect misses nothing); connections are limited; a
//! shutting-down server ends them.

mod support;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use support::*;

/// One open live connection: its events, `(event, data)`, as they arrive.
struct Live {
    events: tokio::sync::mpsc::UnboundedReceiver<(String, String)>,
    reader: tokio::task::JoinHandle<()>,
}

impl Drop for Live {
    /// Closes the connection, as a device going away does.
    fn drop(&mut self) {
        self.reader.abort();
    }
}

/// How long a test waits for an event that must come. Generous: it bounds a hang, it does
/// not measure latency (the live benchmark does).
const WAIT: Duration = Duration::from_secs(30);

async fn open_live(base: &str, token: &str) -> Result<Live, (u16, Option<String>, Value)> {
    let mut r = reqwest::Client::new()
        .get(format!("{base}/live"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    if r.status() != 200 {
        let retry = r
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_owned());
        return Err((
            r.status().as_u16(),
            retry,
            r.json().await.unwrap_or(Value::Null),
        ));
    }
    assert_eq!(r.headers()["content-type"], "text/event-stream");
    let (tx, events) = tokio::sync::mpsc::unbounded_channel();
    let reader = tokio::spawn(async move {
        let mut buf = String::new();
        while let Ok(Some(chunk)) = r.chunk().await {
            buf.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = buf.find("\n\n") {
                let block: String = buf.drain(..end + 2).collect();
                let (mut event, mut data) = (String::new(), String::new());
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        event = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data = v.trim().to_owned();
                    }
                }
                // Heartbeats say only that the connection is alive.
                if event == "hb" {
                    continue;
                }
                if !event.is_empty() && tx.send((event, data)).is_err() {
                    return;
                }
            }
        }
    });
    Ok(Live { events, reader })
}

impl Live {
    /// The next poke's data; panics if none comes within [`WAIT`] or the connection ends.
    async fn poke(&mut self) -> Value {
        let (event, data) = tokio::time::timeout(WAIT, self.events.recv())
            .await
            .expect("a poke within the wait")
            .expect("the connection is open");
        assert_eq!(event, "poke");
        serde_json::from_str(&data).unwrap()
    }

    /// Waits until the connection ends (`true`), or [`WAIT`] passes (`false`).
    async fn ended(&mut self) -> bool {
        tokio::time::timeout(WAIT, async { while self.events.recv().await.is_some() {} })
            .await
            .is_ok()
    }
}

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

/// The real `server` binary on the shared database server, database `db_name`.
struct Process {
    child: Child,
    base: String,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_process(db_name: &str, env: &[(&str, &str)]) -> Process {
    use std::io::{BufRead, BufReader};
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_server"));
    cmd.env("TERN_ADDR", "127.0.0.1:0")
        .env("MONGODB_URI", shared_db().uri())
        .env("TERN_DB_NAME", db_name)
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok);
    let base = loop {
        let line = lines.next().expect("server exited before listening");
        if let Some(addr) = line.split("listening on ").nth(1) {
            break addr.trim().to_owned();
        }
    };
    std::thread::spawn(move || lines.for_each(drop));
    Process { child, base }
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
