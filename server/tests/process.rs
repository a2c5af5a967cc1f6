//! The server binary and its embedded database as processes: the database starts with the
//! server, keeps its data across restarts, and never outlives the server (Ctrl-C, SIGTERM
//! or SIGKILL).
#![cfg(target_os = "linux")]

mod support;

use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

use support::process::{ServerProcess, start_embedded_server};
use support::{change, now, request, test_data_root};

/// Runs the real `server` binary with the embedded database in `data_dir`.
fn start_server(data_dir: &Path) -> ServerProcess {
    let server = start_embedded_server(data_dir);
    assert!(
        server
            .startup_log
            .iter()
            .any(|l| l.contains("started the embedded database")),
        "the log says the embedded database was started"
    );
    server
}

/// Pids of `secantusd-rs` processes whose command line mentions `data_dir`.
fn db_processes(data_dir: &Path) -> Vec<u32> {
    let needle = data_dir.to_string_lossy().into_owned();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let cmd = String::from_utf8_lossy(&cmd);
            let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let zombie = state
                .rsplit(')')
                .next()
                .is_some_and(|s| s.trim_start().starts_with('Z'));
            cmd.contains("secantusd-rs") && cmd.contains(&needle) && !zombie
        })
        .collect()
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[allow(unsafe_code)]
fn signal(child: &Child, sig: i32) {
    // SAFETY: kill(2) on our own child, not yet reaped.
    unsafe {
        libc::kill(child.id() as i32, sig);
    }
}

fn fresh_dir(name: &str) -> PathBuf {
    let d = test_data_root().join(format!("{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

async fn token(base: &str) -> String {
    let body = serde_json::json!({"username": "proc", "password": support::PASSWORD});
    let http = reqwest::Client::new();
    let mut r = http
        .post(format!("{base}/auth/signup"))
        .json(&body)
        .send()
        .await
        .unwrap();
    if r.status() == 409 {
        r = http
            .post(format!("{base}/auth/signin"))
            .json(&body)
            .send()
            .await
            .unwrap();
    }
    let v: serde_json::Value = r.json().await.unwrap();
    v["token"].as_str().unwrap().to_owned()
}

async fn push_one(base: &str, title: &str) {
    let r = reqwest::Client::new()
        .post(format!("{base}/sync"))
        .bearer_auth(token(base).await)
        .json(&request(
            None,
            vec![change(&format!("n-{title}"), "d", now(), title)],
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

async fn titles(base: &str) -> Vec<String> {
    let r: sync_core::protocol::SyncResponse = reqwest::Client::new()
        .post(format!("{base}/sync"))
        .bearer_auth(token(base).await)
        .json(&request(None, vec![]))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    r.changes.into_iter().map(|n| n.title).collect()
}

#[tokio::test]
async fn ctrl_c_stops_the_database_and_the_data_survives_a_restart() {
    let dir = fresh_dir("ctrl-c");
    let mut s = start_server(&dir);
    assert_eq!(db_processes(&dir).len(), 1, "one embedded database runs");
    push_one(&s.base, "kept").await;

    signal(&s.child, libc::SIGINT);
    let status = s.child.wait().unwrap();
    assert!(status.success(), "a clean exit on Ctrl-C: {status}");
    assert!(
        db_processes(&dir).is_empty(),
        "the database stopped with the server"
    );

    let mut again = start_server(&dir);
    assert_eq!(titles(&again.base).await, vec!["kept".to_owned()]);
    signal(&again.child, libc::SIGTERM);
    again.child.wait().unwrap();
    wait_until("database gone after SIGTERM", || {
        db_processes(&dir).is_empty()
    });
}

#[tokio::test]
async fn a_killed_server_leaves_no_orphan_database() {
    let dir = fresh_dir("kill");
    let mut s = start_server(&dir);
    assert_eq!(db_processes(&dir).len(), 1);
    s.child.kill().unwrap(); // SIGKILL: no cleanup code runs
    s.child.wait().unwrap();
    wait_until("database gone after SIGKILL", || {
        db_processes(&dir).is_empty()
    });
}
