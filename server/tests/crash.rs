//! Crash safety: while devices push continuously, the database (SIGKILL) and, separately,
//! the whole server process (SIGKILL, the real binary with its embedded database) are
//! killed and restarted; afterwards a fresh device pulls every change that was ever
//! answered `applied`. None may be lost.
//!
//! Each pushed change creates its own note, so "applied and then lost" is visible as a
//! missing note. A change whose answer never arrived (connection cut by the crash) counts
//! as not acknowledged: it may or may not be there.
#![cfg(target_os = "linux")]

mod support;

use std::collections::HashMap;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::process::{ServerProcess, start_server_process};
use support::{PASSWORD, change, now, request, start_db, test_data_root};
use sync_core::protocol::{ChangeOutcome, SyncResponse};

/// Devices pushing at once, and notes per push.
const DEVICES: usize = 6;
const BATCH: usize = 5;
/// Crashes per test, and the applied changes to wait for before each: a few seconds of
/// pushing in all. (Without durable commits, each crash loses the last acknowledged
/// transactions about half of the time: three crashes make missing it unlikely.)
const CRASHES: usize = 3;
const APPLIED_PER_ROUND: u64 = 100;

/// What the devices were told, shared by the pushing tasks.
#[derive(Default)]
struct Ledger {
    /// Changes sent.
    pushed: AtomicU64,
    /// Title of every note whose change was answered `applied`, by note id.
    applied: Mutex<HashMap<String, String>>,
    /// A process to SIGKILL right after the next `applied` answer (0: none): the crash
    /// then hits while that acknowledged commit is as fresh as it can be.
    kill_next: AtomicI32,
}

impl Ledger {
    fn applied(&self) -> u64 {
        self.applied.lock().unwrap().len() as u64
    }

    /// Kills `pid` (a process group if negative) right after the next `applied` answer;
    /// returns when it is done.
    async fn crash_after_next_ack(&self, pid: i32) {
        self.kill_next.store(pid, Ordering::SeqCst);
        let deadline = Instant::now() + Duration::from_secs(180);
        while self.kill_next.load(Ordering::SeqCst) != 0 {
            assert!(
                Instant::now() < deadline,
                "no change applied to crash after"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// Where the server is: its base URL changes when the real binary restarts.
type Base = Arc<Mutex<String>>;

/// Pushes batches of new notes as device `device` until `stop`, recording every answer.
async fn device(
    device: usize,
    base: Base,
    token: String,
    ledger: Arc<Ledger>,
    stop: Arc<AtomicBool>,
) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        let changes: Vec<_> = (0..BATCH)
            .map(|_| {
                n += 1;
                let id = format!("d{device}-n{n}");
                change(&id, &format!("dev{device}"), now(), &id)
            })
            .collect();
        ledger.pushed.fetch_add(BATCH as u64, Ordering::Relaxed);
        let url = format!("{}/sync", base.lock().unwrap());
        let answer = http
            .post(url)
            .bearer_auth(&token)
            .json(&request(None, changes.clone()))
            .send()
            .await;
        let ok = match answer {
            Ok(r) if r.status() == 200 => r.json::<SyncResponse>().await.ok(),
            _ => None,
        };
        match ok {
            Some(r) => {
                let mut applied = ledger.applied.lock().unwrap();
                for (res, c) in r.results.iter().zip(&changes) {
                    if let ChangeOutcome::Applied { .. } = res.outcome {
                        applied.insert(c.note_id.0.clone(), c.title.clone());
                    }
                }
                match ledger.kill_next.swap(0, Ordering::SeqCst) {
                    0 => {}
                    pid => kill(pid, libc::SIGKILL),
                }
            }
            // Down (503, refused, cut off): not acknowledged; try the next batch shortly.
            None => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

fn start_devices(
    base: &Base,
    token: &str,
    ledger: &Arc<Ledger>,
) -> (Arc<AtomicBool>, Vec<tokio::task::JoinHandle<()>>) {
    let stop = Arc::new(AtomicBool::new(false));
    let tasks = (0..DEVICES)
        .map(|d| {
            tokio::spawn(device(
                d,
                base.clone(),
                token.to_owned(),
                ledger.clone(),
                stop.clone(),
            ))
        })
        .collect();
    (stop, tasks)
}

/// Waits until `ledger` counts `n` applied changes (the devices make progress).
async fn until_applied(ledger: &Ledger, n: u64, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(180);
    while ledger.applied() < n {
        assert!(
            Instant::now() < deadline,
            "no progress {what}: {} applied",
            ledger.applied()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Every note a fresh device pulls (no cursor), by id, with its title.
async fn fresh_device_pull(base: &str, token: &str) -> HashMap<String, String> {
    let http = reqwest::Client::new();
    let mut cursor = None;
    let mut notes = HashMap::new();
    loop {
        let r: SyncResponse = http
            .post(format!("{base}/sync"))
            .bearer_auth(token)
            .json(&request(cursor, vec![]))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        notes.extend(r.changes.into_iter().map(|n| (n.id.0, n.title)));
        cursor = Some(r.cursor);
        if !r.has_more {
            return notes;
        }
    }
}

/// Compares what was acknowledged with what a fresh device sees; prints the counts.
fn check(what: &str, ledger: &Ledger, pulled: &HashMap<String, String>) {
    let applied = ledger.applied.lock().unwrap();
    let lost: Vec<&String> = applied
        .iter()
        .filter(|(id, title)| pulled.get(*id) != Some(title))
        .map(|(id, _)| id)
        .collect();
    println!(
        "{what}: pushed {}, applied {}, recovered {}, lost {}",
        ledger.pushed.load(Ordering::Relaxed),
        applied.len(),
        applied.len() - lost.len(),
        lost.len()
    );
    assert!(
        lost.is_empty(),
        "{what}: {} changes answered `applied` are gone after the crash: {:?}",
        lost.len(),
        lost.iter().take(10).collect::<Vec<_>>()
    );
}

async fn sign_up(base: &str, name: &str) -> String {
    let r = reqwest::Client::new()
        .post(format!("{base}/auth/signup"))
        .json(&serde_json::json!({"username": name, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let v: serde_json::Value = r.json().await.unwrap();
    v["token"].as_str().unwrap().to_owned()
}

fn fresh_dir(name: &str) -> PathBuf {
    let d = test_data_root().join(format!("{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

#[allow(unsafe_code)]
fn kill(pid: i32, sig: i32) {
    // SAFETY: kill(2) on a process (group) this test started and has not reaped.
    unsafe {
        libc::kill(pid, sig);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_killed_while_devices_push_loses_no_applied_change() {
    let dir = fresh_dir("crash-db");
    let db = start_db(&dir, 0);
    let port = db.port();
    let app = support::spawn_app_on(db.uri(), "crash").await;
    let base: Base = Arc::new(Mutex::new(app.base.clone()));
    let ledger = Arc::new(Ledger::default());
    let (stop, devices) = start_devices(&base, &app.token, &ledger);

    let mut db = db;
    for _ in 0..CRASHES {
        let before = ledger.applied();
        until_applied(&ledger, before + APPLIED_PER_ROUND, "before the crash").await;
        ledger.crash_after_next_ack(db.pid() as i32).await;
        drop(db); // reaps the killed process
        db = start_db(&dir, port); // same files, same port: the server reconnects
    }
    let at_crash = ledger.applied();
    until_applied(&ledger, at_crash + APPLIED_PER_ROUND, "after the restarts").await;

    stop.store(true, Ordering::Relaxed);
    for d in devices {
        d.await.unwrap();
    }
    let pulled = fresh_device_pull(&app.base, &app.token).await;
    check("database SIGKILL", &ledger, &pulled);
}

/// The real `server` binary with its embedded database in `data_dir`, in a process group
/// of its own with its database: killed together, as a container or a systemd unit is.
fn start_server(data_dir: &Path) -> ServerProcess {
    start_server_process(|cmd| {
        cmd.env("TERN_DATA_DIR", data_dir)
            .env_remove("MONGODB_URI")
            .process_group(0);
    })
}

/// True while a `secantusd-rs` process with `data_dir` on its command line is alive.
fn database_running(data_dir: &Path) -> bool {
    let needle = data_dir.to_string_lossy().into_owned();
    std::fs::read_dir("/proc").unwrap().flatten().any(|e| {
        let dir = e.path();
        let cmd = std::fs::read(dir.join("cmdline")).unwrap_or_default();
        let cmd = String::from_utf8_lossy(&cmd);
        let stat = std::fs::read_to_string(dir.join("stat")).unwrap_or_default();
        let zombie = stat
            .rsplit(')')
            .next()
            .is_some_and(|s| s.trim_start().starts_with('Z'));
        cmd.contains("secantusd-rs") && cmd.contains(&needle) && !zombie
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_while_devices_push_loses_no_applied_change() {
    let dir = fresh_dir("crash-server");
    let mut server = start_server(&dir);
    let token = sign_up(&server.base, "crash").await;
    let base: Base = Arc::new(Mutex::new(server.base.clone()));
    let ledger = Arc::new(Ledger::default());
    let (stop, devices) = start_devices(&base, &token, &ledger);

    for _ in 0..CRASHES {
        let before = ledger.applied();
        until_applied(&ledger, before + APPLIED_PER_ROUND, "before the crash").await;
        // SIGKILL to the server and its database at once (the process group): no cleanup
        // runs anywhere.
        ledger
            .crash_after_next_ack(-(server.child.id() as i32))
            .await;
        server.child.wait().unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while database_running(&dir) {
            assert!(
                Instant::now() < deadline,
                "the database outlived its server"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        server = start_server(&dir);
        *base.lock().unwrap() = server.base.clone();
    }
    let at_crash = ledger.applied();
    until_applied(&ledger, at_crash + APPLIED_PER_ROUND, "after the restarts").await;

    stop.store(true, Ordering::Relaxed);
    for d in devices {
        d.await.unwrap();
    }
    let pulled = fresh_device_pull(&server.base, &token).await;
    check("server SIGKILL", &ledger, &pulled);
}
