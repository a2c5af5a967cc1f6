//! Health and failure behaviour: the database going away and coming back.

mod support;

use std::time::{Duration, Instant};

use support::*;

/// The two tests that stop a database of their own run one at a time: one frees its port
/// and binds it again later, and a database the other starts meanwhile (on port 0) could
/// be given that very port, so that each test's server ends up talking to the other's.
static OWN_DATABASE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test]
async fn healthz_answers_ok_with_the_database_up() {
    let app = spawn_app().await;
    let r = app
        .http
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_database_down_sync_answers_503_quickly_and_recovers_without_a_restart() {
    let _serial = OWN_DATABASE.lock().await;
    let dir = test_data_root().join(format!("{}-outage", std::process::id()));
    let db = start_db(&dir, 0);
    let port = db.port();
    let app = spawn_app_on(db.uri(), "outage").await;
    let first = app
        .sync(&request(None, vec![change("n1", "d", now(), "before")]))
        .await;

    drop(db); // the database goes away
    let started = Instant::now();
    let (status, body) = app
        .post_raw(
            serde_json::to_vec(&request(None, vec![change("n2", "d", now(), "during")])).unwrap(),
        )
        .await;
    let took = started.elapsed();
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"], "unavailable");
    assert!(took < Duration::from_secs(10), "answered in {took:?}");
    let h = app
        .http
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(h.status(), 503);

    let _db = start_db(&dir, port); // it comes back, same port and files
    let mut ok = false;
    for _ in 0..50 {
        let h = app
            .http
            .get(format!("{}/healthz", app.base))
            .send()
            .await
            .unwrap();
        if h.status() == 200 {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(ok, "healthz recovers");
    let r = app
        .sync(&request(
            Some(first.cursor),
            vec![change("n2", "d", now(), "after")],
        ))
        .await;
    assert_eq!(r.changes.len(), 1);
    assert_eq!(r.changes[0].title, "after");
}

#[allow(unsafe_code)]
fn signal(pid: u32, sig: i32) {
    // SAFETY: kill(2) on the database process this test started and has not reaped.
    unsafe {
        libc::kill(pid as i32, sig);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_and_sync_answer_503_promptly_when_the_database_stops_answering() {
    let _serial = OWN_DATABASE.lock().await;
    // A stopped (SIGSTOP) database still accepts connections but answers nothing: the
    // driver has no socket timeout, so a ping would wait for the next failed heartbeat.
    let dir = test_data_root().join(format!("{}-stopped", std::process::id()));
    let db = start_db(&dir, 0);
    let app = spawn_app_on(db.uri(), "stopped").await;
    let healthz = || async {
        let started = Instant::now();
        let r = app
            .http
            .get(format!("{}/healthz", app.base))
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (
            status,
            r.json::<serde_json::Value>().await.unwrap(),
            started.elapsed(),
        )
    };
    assert_eq!(healthz().await.0, 200);

    signal(db.pid(), libc::SIGSTOP);
    // kill(2) returns before every thread of the database has stopped: a thread still
    // running could answer one more request. Wait until all of them are stopped.
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
    let mut took = Vec::new();
    for _ in 0..3 {
        let (status, body, t) = healthz().await;
        assert_eq!(status, 503, "{body}");
        assert_eq!(body["error"], "unavailable");
        took.push(t);
    }
    // A sync too: its database work would wait on the stopped database (the driver has no
    // socket timeout) until the driver's heartbeat fails and its retries give up.
    let started = Instant::now();
    let (status, body) = app
        .post_raw(
            serde_json::to_vec(&request(None, vec![change("s1", "d", now(), "stalled")])).unwrap(),
        )
        .await;
    let sync_took = started.elapsed();
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"], "unavailable");
    signal(db.pid(), libc::SIGCONT);
    println!("healthz with a stopped database answered 503 in {took:?}");
    println!("sync with a stopped database answered 503 in {sync_took:?}");
    // 250 ms of work, then a ping unanswered for 2 s (`api::STALL_CHECK_AFTER`); before,
    // the driver's heartbeat and the push's retries took 7.7 to 11.3 s.
    assert!(
        sync_took < Duration::from_secs(5),
        "sync answered in {sync_took:?}"
    );
    // The answer comes at the 2 s timeout, not after the driver's ~10 s heartbeat; the
    // bound is loose so that a busy machine cannot fail it.
    assert!(
        took.iter().all(|t| *t < Duration::from_secs(8)),
        "answered in {took:?}"
    );
    let mut ok = false;
    for _ in 0..100 {
        if healthz().await.0 == 200 {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(ok, "healthz recovers when the database answers again");
}

#[tokio::test]
async fn the_app_is_served_at_the_root_and_other_paths_are_404() {
    let app = spawn_app().await;
    let page = app.http.get(format!("{}/", app.base)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("<title>Tern</title>"), "{html}");
    assert!(
        html.contains("/pkg/tern.css"),
        "the stylesheet is linked: {html}"
    );
    let missing = app
        .http
        .get(format!("{}/no/such/page", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let html = missing.text().await.unwrap();
    assert!(html.contains("Page not found."), "{html}");
    assert!(
        !html.contains("tern.wasm"),
        "a 404 does not start the app: {html}"
    );
}
