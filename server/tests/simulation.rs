//! Deterministic simulation: several devices (the real client engine on in-memory stores)
//! and the real server over the real database, under random schedules drawn from a seed:
//! edits, creates, deletes, undeletes, strategy changes, conflict resolutions, syncs whose
//! request or answer is lost, requests delayed and delivered after later ones (reordering),
//! retries (every failed sync is retried by a later one), offline spells, skewed device
//! clocks, and restarts of the server and of the database process.
//!
//! After each schedule every device comes online and syncs until nothing is pending, then:
//! - **convergence**: every device shows the same notes (text, deletes, conflicts) as a
//!   fresh device that syncs from scratch;
//! - **no applied edit is lost**: every edit a device was told was `applied` is in its note,
//!   the note's conflict versions or its history (`GET /notes/{id}/history`), unless the
//!   same device later wrote on top of it (a device replacing its own text; the server
//!   keeps no revision of a device's quick follow-up edits, by design);
//! - the server answered no request with a 5xx or an unexpected 4xx.
//!
//! Schedules are reproducible from their seed: the devices' clocks are virtual (set from
//! the schedule before each edit), node ids are fixed and notes are picked by creation
//! order, so the same seed makes the same requests in the same order. A failure prints the
//! seed and the schedule; `TERN_SIM_SEED=<seed> cargo test -p server --test simulation`
//! replays exactly that schedule.
//!
//! Knobs: `TERN_SIM_SCHEDULES` (default 24), `TERN_SIM_JOBS` (schedules run side by side,
//! each job with its own database process and server; default 1), `TERN_SIM_BATCH`
//! (schedules per fresh database, default 25), `TERN_SIM_SEED` (one schedule),
//! `TERN_SIM_BASE_SEED` (the first seed of a run), `TERN_SIM_TRACE` (print every schedule).
//! `scripts/simulate.sh` runs 10,000.

mod fuzz_gen;
mod sim_client;
mod support;

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use fuzz_gen::Rng;
use leptos::config::LeptosOptions;
use server::embedded::EmbeddedDb;
use server::storage::Conflicts;
use server::storage::mongo::MongoStore;
use server::{AppState, router, serve};
use sim_client::{Device, Net, NetError, NoteView};
use sync_core::protocol::{ChangeOutcome, HistoryResponse, SyncRequest, SyncResponse};
use sync_core::{Hlc, Strategy};
use tokio::sync::oneshot;

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
}

fn real_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

// ---------------------------------------------------------------------------------------
// The world: a database process, a server on it, restartable.

struct Server {
    base: String,
    stop: Option<oneshot::Sender<()>>,
    done: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

async fn start_server(uri: &str, db_name: &str, conflicts: Conflicts) -> Server {
    let store = Arc::new(
        MongoStore::connect(uri, db_name)
            .await
            .unwrap()
            .with_conflicts(conflicts),
    );
    let leptos = LeptosOptions::builder()
        .output_name("tern")
        .site_root("target/site")
        .build();
    let state = AppState::new(store.clone(), leptos, false);
    // A database just restarted, or slow under load, may take more than the driver's 2 s
    // to answer: retry for up to a minute, as an operator would.
    for attempt in 0.. {
        match (
            store.ensure_indexes().await,
            state.accounts.ensure_indexes().await,
        ) {
            (Ok(()), Ok(())) => break,
            (a, b) if attempt >= 30 => panic!("the database does not answer: {a:?} {b:?}"),
            _ => tokio::time::sleep(std::time::Duration::from_secs(2)).await,
        }
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = oneshot::channel();
    let done = tokio::spawn(serve(listener, router(state), async move {
        let _ = rx.await;
    }));
    Server {
        base,
        stop: Some(tx),
        done: Some(done),
    }
}

impl Server {
    async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(d) = self.done.take() {
            let _ = d.await;
        }
    }
}

/// One job's world: its own database process (so restarting it disturbs no other job).
struct World {
    dir: PathBuf,
    db: Option<EmbeddedDb>,
    port: u16,
    uri: String,
    db_name: String,
    conflicts: Conflicts,
    server: Option<Server>,
    http: reqwest::Client,
}

impl World {
    fn start(job: u64) -> Self {
        let dir = support::test_data_root()
            .join(std::process::id().to_string())
            .join(format!("sim-{job}"));
        let _ = std::fs::remove_dir_all(&dir);
        let db = support::start_db(&dir, 0);
        Self {
            dir,
            port: db.port(),
            uri: db.uri().to_owned(),
            db: Some(db),
            db_name: String::new(),
            conflicts: Conflicts::default(),
            server: None,
            http: reqwest::Client::new(),
        }
    }

    /// A fresh database and a server on it, resolving conflicts by `default` unless a note
    /// says otherwise. History is long enough that no revision of a schedule is trimmed.
    async fn fresh(&mut self, default: Strategy) {
        if let Some(s) = self.server.take() {
            s.stop().await;
        }
        self.db_name = support::fresh_db_name();
        self.conflicts = Conflicts {
            default,
            history_limit: 1000,
        };
        self.server = Some(start_server(&self.uri, &self.db_name, self.conflicts).await);
    }

    fn base(&self) -> &str {
        &self.server.as_ref().unwrap().base
    }

    async fn restart_server(&mut self) {
        if let Some(s) = self.server.take() {
            s.stop().await;
        }
        self.server = Some(start_server(&self.uri, &self.db_name, self.conflicts).await);
    }

    /// Stops the database process (SIGTERM, as a service manager would) and starts it
    /// again on the same files and port; waits until the server reaches it again.
    async fn restart_db(&mut self) {
        self.db.take();
        self.db = Some(support::start_db(&self.dir, self.port));
        for _ in 0..1200 {
            let r = self
                .http
                .get(format!("{}/healthz", self.base()))
                .send()
                .await;
            if r.is_ok_and(|r| r.status() == 200) {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the server did not reach the restarted database");
    }

    async fn sign_up(&self, name: &str) -> String {
        let body = serde_json::json!({"username": name, "password": support::PASSWORD});
        let mut r = None;
        for _ in 0..30 {
            let got = self
                .http
                .post(format!("{}/auth/signup", self.base()))
                .json(&body)
                .send()
                .await
                .unwrap();
            if got.status() != 503 {
                r = Some(got);
                break;
            }
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
        let r = r.expect("sign-up answered 503 for 30 s");
        assert!(r.status().is_success(), "sign up {name}: {}", r.status());
        let v: serde_json::Value = r.json().await.unwrap();
        v["token"].as_str().unwrap().to_owned()
    }
}

// ---------------------------------------------------------------------------------------
// The network between a device and the server, with its faults, and what it saw.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    None,
    Offline,
    DropRequest,
    DropAnswer,
    Delay,
}

/// A change the server applied (from its answers, delivered or not).
#[derive(Debug, Clone)]
struct Applied {
    device: usize,
    note: String,
    version: u64,
    base: Option<u64>,
    hlc: Hlc,
    title: String,
    content: String,
    deleted: bool,
    told: bool,
}

#[derive(Default)]
struct Log {
    /// By change id.
    applied: BTreeMap<String, Applied>,
    /// Requests delayed in the network, delivered later (device, request).
    delayed: Vec<(usize, SyncRequest)>,
    /// Answers that break the contract.
    errors: Vec<String>,
    /// Answers 503 (database restarting), counted, not errors.
    unavailable: u64,
    requests: u64,
}

struct Link<'a> {
    world: &'a World,
    token: &'a str,
    device: usize,
    fault: Fault,
    log: &'a RefCell<Log>,
}

impl Link<'_> {
    async fn post(&self, req: &SyncRequest) -> Result<SyncResponse, NetError> {
        self.log.borrow_mut().requests += 1;
        let r = self
            .world
            .http
            .post(format!("{}/sync", self.world.base()))
            .bearer_auth(self.token)
            .json(req)
            .send()
            .await
            .map_err(|e| NetError::NoAnswer(e.to_string()))?;
        let status = r.status().as_u16();
        if status != 200 {
            let body = r.text().await.unwrap_or_default();
            let mut log = self.log.borrow_mut();
            if status == 503 {
                log.unavailable += 1;
            } else {
                log.errors
                    .push(format!("device {} got {status}: {body}", self.device));
            }
            return Err(NetError::Status(status));
        }
        let resp: SyncResponse = r.json().await.map_err(|e| {
            self.log
                .borrow_mut()
                .errors
                .push(format!("undecodable answer: {e}"));
            NetError::NoAnswer(e.to_string())
        })?;
        Ok(resp)
    }

    fn record(&self, req: &SyncRequest, resp: &SyncResponse, device: usize, told: bool) {
        let mut log = self.log.borrow_mut();
        for r in &resp.results {
            if let ChangeOutcome::Applied { version, .. } = r.outcome {
                let Some(c) = req.changes.iter().find(|c| c.change_id == r.change_id) else {
                    continue;
                };
                let e = log
                    .applied
                    .entry(c.change_id.0.clone())
                    .or_insert_with(|| Applied {
                        device,
                        note: c.note_id.0.clone(),
                        version,
                        base: c.base_version,
                        hlc: c.hlc.clone(),
                        title: c.title.clone(),
                        content: c.content.clone(),
                        deleted: c.deleted,
                        told: false,
                    });
                e.told |= told;
                let first = e.version;
                if first != version {
                    log.errors.push(format!(
                        "change {} answered applied at version {version}, before at {first}",
                        r.change_id
                    ));
                }
            }
        }
    }
}

impl Net for Link<'_> {
    async fn exchange(&self, req: &SyncRequest) -> Result<SyncResponse, NetError> {
        match self.fault {
            Fault::Offline => Err(NetError::NoAnswer("offline".into())),
            Fault::DropRequest => Err(NetError::NoAnswer("request lost".into())),
            Fault::Delay => {
                self.log
                    .borrow_mut()
                    .delayed
                    .push((self.device, req.clone()));
                Err(NetError::NoAnswer(
                    "timed out (the request is still on its way)".into(),
                ))
            }
            Fault::None | Fault::DropAnswer => {
                let resp = self.post(req).await?;
                let told = self.fault == Fault::None;
                self.record(req, &resp, self.device, told);
                if told {
                    Ok(resp)
                } else {
                    Err(NetError::NoAnswer("answer lost".into()))
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Schedules.

const WORDS: [&str; 10] = [
    "milk", "eggs", "bread", "oat", "rye", "tea", "jam", "figs", "\n", "salt",
];

/// A new text from `old`: a word appended, replaced, removed or inserted, a line added at
/// the top, or everything replaced.
fn edit_text(r: &mut Rng, old: &str) -> String {
    let mut words: Vec<String> = old.split(' ').map(str::to_owned).collect();
    let w = r.pick(&WORDS).to_string();
    match r.below(7) {
        0 | 1 => words.push(w),
        2 => {
            let i = r.index(words.len());
            words[i] = w;
        }
        3 if words.len() > 1 => {
            let i = r.index(words.len());
            words.remove(i);
        }
        4 => words.insert(0, format!("{w}\n")),
        5 => {
            return (0..r.below(4) + 1)
                .map(|_| *r.pick(&WORDS))
                .collect::<Vec<_>>()
                .join(" ");
        }
        _ => {
            let i = r.index(words.len() + 1);
            words.insert(i, w);
        }
    }
    words.join(" ")
}

fn strategy(r: &mut Rng) -> Strategy {
    *r.pick(&[
        Strategy::Lww,
        Strategy::Merge,
        Strategy::Manual,
        Strategy::Default,
    ])
}

/// One device's state in the schedule.
struct Dev {
    device: Device,
    /// Steps left offline.
    offline: u64,
    /// Clock error until the next successful sync corrects it, in ms.
    skew: i64,
}

/// Runs the schedule of `seed` for a new user on `world`; `Err` describes what broke.
/// What a run did, for its summary.
#[derive(Debug, Default, Clone)]
struct Stats {
    requests: u64,
    told_checked: u64,
    conflicts_at_end: u64,
    server_restarts: u64,
    db_restarts: u64,
    lost_answers: u64,
    lost_requests: u64,
    delayed: u64,
    delayed_delivered: u64,
    offline_spells: u64,
    clock_jumps: u64,
    resolutions: u64,
    strategy_changes: u64,
}

impl Stats {
    fn add(&mut self, o: &Stats) {
        self.requests += o.requests;
        self.told_checked += o.told_checked;
        self.conflicts_at_end += o.conflicts_at_end;
        self.server_restarts += o.server_restarts;
        self.db_restarts += o.db_restarts;
        self.lost_answers += o.lost_answers;
        self.lost_requests += o.lost_requests;
        self.delayed += o.delayed;
        self.delayed_delivered += o.delayed_delivered;
        self.offline_spells += o.offline_spells;
        self.clock_jumps += o.clock_jumps;
        self.resolutions += o.resolutions;
        self.strategy_changes += o.strategy_changes;
    }
}

async fn run_schedule(world: &mut World, seed: u64) -> Result<Stats, String> {
    let mut r = Rng::new(seed);
    let token = world.sign_up(&format!("sim{seed:x}")).await;
    let n_devices = 2 + r.below(3) as usize; // 2 to 4
    let steps = 20 + r.below(40);
    let mut devs = Vec::new();
    for d in 0..n_devices {
        devs.push(Dev {
            device: Device::new(&format!("dev{d}")).await,
            offline: 0,
            skew: 0,
        });
    }
    let log = RefCell::new(Log::default());
    // Notes in creation order: the schedule picks notes by this index, never by their
    // (random) ids, so the same seed picks the same notes.
    let mut created: Vec<String> = Vec::new();
    let mut trace: Vec<String> = Vec::new();
    // Virtual time: one second per step; each device's reading differs by a fraction of a
    // second so that no two devices' clocks ever tie by accident.
    let t0 = real_now();
    let clock = |step: u64, d: usize, skew: i64| {
        (t0 + step * 1000 + d as u64 * 150) as i64 + skew - real_now() as i64
    };

    for step in 0..steps {
        let d = r.index(n_devices);
        let dev = &mut devs[d];
        let views = dev.device.notes().await;
        // The notes this device has, in creation order.
        let mine: Vec<&NoteView> = created
            .iter()
            .filter_map(|id| views.iter().find(|v| &v.id == id))
            .collect();
        let live: Vec<&NoteView> = mine.iter().copied().filter(|v| !v.deleted).collect();
        dev.device.set_clock_offset(clock(step, d, dev.skew)).await;
        let op = r.below(100);
        let line = match op {
            0..=11 if created.len() < 6 => {
                let content = edit_text(&mut r, "");
                let id = dev.device.create("note", &content).await;
                created.push(id);
                format!("dev{d} creates note {} {content:?}", created.len() - 1)
            }
            0..=39 if !live.is_empty() => {
                let n = live[r.index(live.len())];
                let idx = created.iter().position(|c| *c == n.id).unwrap();
                let title = if r.chance(0.1) {
                    format!("title {}", r.below(3))
                } else {
                    n.title.clone()
                };
                let content = edit_text(&mut r, &n.content);
                dev.device.edit(&n.id, &title, &content).await;
                format!("dev{d} edits note {idx}: {title:?} {content:?}")
            }
            40..=43 if !mine.is_empty() => {
                // Undo of a delete, or an edit of whatever state the note is in.
                let n = mine[r.index(mine.len())];
                let idx = created.iter().position(|c| *c == n.id).unwrap();
                let content = edit_text(&mut r, &n.content);
                dev.device.edit(&n.id, "back", &content).await;
                format!("dev{d} edits/undeletes note {idx}: {content:?}")
            }
            44..=49 if !live.is_empty() => {
                let n = live[r.index(live.len())];
                let idx = created.iter().position(|c| *c == n.id).unwrap();
                dev.device.delete(&n.id).await;
                format!("dev{d} deletes note {idx}")
            }
            50..=54 if !mine.is_empty() => {
                let n = mine[r.index(mine.len())];
                let idx = created.iter().position(|c| *c == n.id).unwrap();
                let s = strategy(&mut r);
                dev.device.set_strategy(&n.id, s).await;
                format!("dev{d} sets note {idx} to {s:?}")
            }
            55..=59 if live.iter().any(|n| n.conflict.is_some()) => {
                let inc: Vec<&&NoteView> = live.iter().filter(|n| n.conflict.is_some()).collect();
                let n = inc[r.index(inc.len())];
                let idx = created.iter().position(|c| *c == n.id).unwrap();
                let c = n.conflict.clone().unwrap();
                let (title, content, deleted) = match r.below(4) {
                    0 => (n.title.clone(), n.content.clone(), false),
                    1 if c.proposal.is_some() => {
                        let p = c.proposal.unwrap();
                        (p.title, p.content, false)
                    }
                    2 => (n.title.clone(), edit_text(&mut r, &n.content), false),
                    _ => {
                        let v = &c.versions[r.index(c.versions.len())];
                        (v.title.clone(), v.content.clone(), v.deleted)
                    }
                };
                dev.device.resolve(&n.id, &title, &content, deleted).await;
                format!("dev{d} resolves note {idx} with {title:?} {content:?} deleted={deleted}")
            }
            60..=63 => {
                dev.offline = 1 + r.below(8);
                format!("dev{d} goes offline for {} steps", dev.offline)
            }
            64..=66 => {
                dev.skew = *r.pick(&[
                    -2 * 86_400_000,
                    -3_600_000,
                    -300_000,
                    -1_000,
                    30_000,
                    120_000,
                    600_000, // further ahead than the server accepts
                ]);
                format!("dev{d}'s clock jumps by {} s", dev.skew / 1000)
            }
            67..=69 if !log.borrow().delayed.is_empty() => {
                let (from, req) = {
                    let mut l = log.borrow_mut();
                    let i = r.index(l.delayed.len());
                    l.delayed.remove(i)
                };
                let link = Link {
                    world: &*world,
                    token: &token,
                    device: from,
                    fault: Fault::DropAnswer,
                    log: &log,
                };
                let _ = link.exchange(&req).await;
                format!(
                    "a delayed request of dev{from} arrives ({} changes)",
                    req.changes.len()
                )
            }
            70..=71 => {
                world.restart_server().await;
                "the server restarts".into()
            }
            72 if r.chance(0.04) => {
                world.restart_db().await;
                "the database restarts".into()
            }
            _ => {
                let fault = if dev.offline > 0 {
                    Fault::Offline
                } else {
                    match r.below(20) {
                        0..=1 => Fault::DropAnswer,
                        2 => Fault::DropRequest,
                        3..=4 => Fault::Delay,
                        _ => Fault::None,
                    }
                };
                let link = Link {
                    world: &*world,
                    token: &token,
                    device: d,
                    fault,
                    log: &log,
                };
                let ok = dev.device.sync(&link).await.is_ok();
                if ok {
                    dev.skew = 0; // the engine corrects its clock from the server's
                }
                format!(
                    "dev{d} syncs ({fault:?}): {}",
                    if ok { "ok" } else { "failed" }
                )
            }
        };
        let dev = &mut devs[d];
        dev.offline = dev.offline.saturating_sub(1);
        trace.push(format!("{step:3} {line}"));
    }

    // Everything settles: the network delivers what it held, every device comes online
    // and syncs until nothing is pending. A user re-saves an edit the server refused (its
    // clock was too far ahead) once the device's clock is corrected, as the app asks.
    let delayed = std::mem::take(&mut log.borrow_mut().delayed);
    for (from, req) in delayed {
        let link = Link {
            world: &*world,
            token: &token,
            device: from,
            fault: Fault::DropAnswer,
            log: &log,
        };
        let _ = link.exchange(&req).await;
        trace.push(format!("  end: a delayed request of dev{from} arrives"));
    }
    let fresh = Device::new("fresh").await;
    let mut settled = false;
    for round in 0..6 {
        for (d, dev) in devs.iter_mut().enumerate() {
            dev.skew = 0;
            dev.device
                .set_clock_offset(clock(steps + round, d, 0))
                .await;
            for n in dev.device.notes().await {
                if n.failed.is_some() {
                    if n.deleted {
                        dev.device.delete(&n.id).await;
                    } else {
                        dev.device.edit(&n.id, &n.title, &n.content).await;
                    }
                }
            }
            let link = Link {
                world: &*world,
                token: &token,
                device: d,
                fault: Fault::None,
                log: &log,
            };
            // 503 is the server's honest answer while the database is slow or restarting:
            // the next round retries.
            if let Err(e) = dev.device.sync(&link).await.map_err(|e| e.to_string())
                && !e.contains("503")
            {
                log.borrow_mut()
                    .errors
                    .push(format!("final sync of dev{d} failed: {e}"));
            }
        }
        let link = Link {
            world: &*world,
            token: &token,
            device: usize::MAX,
            fault: Fault::None,
            log: &log,
        };
        fresh
            .sync(&link)
            .await
            .map_err(|e| format!("fresh device: {e}"))?;
        let want = shown(&fresh.notes().await);
        let mut all_equal = true;
        for dev in &devs {
            let v = dev.device.notes().await;
            if v.iter().any(|n| n.pending) || shown(&v) != want {
                all_equal = false;
            }
        }
        if all_equal {
            settled = true;
            break;
        }
    }

    let mut problems: Vec<String> = log.borrow().errors.clone();
    let server_view = fresh.notes().await;
    if !settled {
        problems.push("the devices did not converge after 6 rounds of syncs".into());
        problems.push(format!("  server: {:?}", shown(&server_view)));
        for (d, dev) in devs.iter().enumerate() {
            let v = dev.device.notes().await;
            problems.push(format!("  dev{d}: {v:?}"));
        }
    }

    // Every edit a device was told was applied is still somewhere.
    let applied: Vec<Applied> = log.borrow().applied.values().cloned().collect();
    let mut history: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    let notes_with_edits: BTreeSet<String> = applied.iter().map(|a| a.note.clone()).collect();
    for id in notes_with_edits {
        let mut r = None;
        for _ in 0..30 {
            let got = world
                .http
                .get(format!("{}/notes/{id}/history", world.base()))
                .bearer_auth(&token)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            if got.status() != 503 {
                r = Some(got);
                break;
            }
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
        let r = r.ok_or("history: 503 for 30 s")?;
        if r.status() != 200 {
            problems.push(format!("history of {id}: {}", r.status()));
            continue;
        }
        let h: HistoryResponse = r.json().await.map_err(|e| e.to_string())?;
        let mut texts: Vec<(String, String)> = h
            .revisions
            .iter()
            .map(|rv| (rv.version.title.clone(), rv.version.content.clone()))
            .collect();
        if let Some(n) = server_view.iter().find(|n| n.id == id) {
            if !n.deleted {
                texts.push((n.title.clone(), n.content.clone()));
            }
            if let Some(c) = &n.conflict {
                texts.extend(
                    c.versions
                        .iter()
                        .filter(|v| !v.deleted)
                        .map(|v| (v.title.clone(), v.content.clone())),
                );
            }
        }
        history.insert(id, texts);
    }
    let mut told = 0;
    for e in applied.iter().filter(|a| a.told && !a.deleted) {
        told += 1;
        // The same device wrote on top of it: its own later text replaced it.
        let continued = applied.iter().any(|l| {
            l.device == e.device
                && l.note == e.note
                && l.hlc > e.hlc
                && (l.base == Some(e.version) || l.base == e.base)
        });
        if continued {
            continue;
        }
        let here = &history[&e.note];
        if !here.contains(&(e.title.clone(), e.content.clone())) {
            let idx = created.iter().position(|c| *c == e.note);
            problems.push(format!(
                "an edit dev{} was told was applied is gone: note {idx:?}, version {}, \
                 {:?} {:?}; the note, its conflict and history hold {here:?}",
                e.device, e.version, e.title, e.content
            ));
        }
    }
    if std::env::var_os("TERN_SIM_TRACE").is_some() {
        eprintln!("schedule {seed}:\n{}", trace.join("\n"));
    }
    if problems.is_empty() {
        let mut st = Stats {
            requests: log.borrow().requests,
            told_checked: told,
            conflicts_at_end: server_view.iter().filter(|n| n.conflict.is_some()).count() as u64,
            ..Stats::default()
        };
        for line in &trace {
            for (k, v) in [
                ("server restarts", &mut st.server_restarts),
                ("database restarts", &mut st.db_restarts),
                ("(DropAnswer)", &mut st.lost_answers),
                ("(DropRequest)", &mut st.lost_requests),
                ("(Delay)", &mut st.delayed),
                ("delayed request", &mut st.delayed_delivered),
                ("offline for", &mut st.offline_spells),
                ("clock jumps", &mut st.clock_jumps),
                ("resolves", &mut st.resolutions),
                (" sets note", &mut st.strategy_changes),
            ] {
                if line.contains(k) {
                    *v += 1;
                }
            }
        }
        Ok(st)
    } else {
        Err(format!(
            "schedule TERN_SIM_SEED={seed} failed ({n_devices} devices, {steps} steps):\n{}\n\
             schedule:\n{}",
            problems.join("\n"),
            trace.join("\n")
        ))
    }
}

/// What a device shows of its live notes: text and conflict, by id.
fn shown(v: &[NoteView]) -> Vec<(String, String, String, String)> {
    v.iter()
        .filter(|n| !n.deleted)
        .map(|n| {
            (
                n.id.clone(),
                n.title.clone(),
                n.content.clone(),
                format!("{:?}", n.conflict),
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Runs.

struct Summary {
    schedules: u64,
    failures: Vec<String>,
    stats: Stats,
}

/// Runs the schedules `seeds` on one job's world, a fresh database every `batch`.
fn run_job(job: u64, seeds: Vec<u64>, batch: u64) -> Summary {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let mut world = World::start(job);
        let mut s = Summary {
            schedules: 0,
            failures: vec![],
            stats: Stats::default(),
        };
        for (i, seed) in seeds.into_iter().enumerate() {
            if (i as u64).is_multiple_of(batch) {
                // The server's default strategy changes from batch to batch.
                let default =
                    [Strategy::Merge, Strategy::Lww, Strategy::Manual][(seed % 3) as usize];
                world.fresh(default).await;
            }
            s.schedules += 1;
            if s.schedules.is_multiple_of(250) {
                eprintln!("job {job}: {} schedules run", s.schedules);
            }
            match run_schedule(&mut world, seed).await {
                Ok(st) => s.stats.add(&st),
                Err(e) => {
                    eprintln!("{e}\n");
                    s.failures.push(e);
                }
            }
        }
        if let Some(srv) = world.server.take() {
            srv.stop().await;
        }
        world.db.take();
        let _ = std::fs::remove_dir_all(&world.dir);
        s
    })
}

fn run(seeds: Vec<u64>, jobs: u64, batch: u64) {
    let started = Instant::now();
    let n = seeds.len() as u64;
    let per_job = n.div_ceil(jobs.max(1)) as usize;
    let handles: Vec<_> = seeds
        .chunks(per_job.max(1))
        .enumerate()
        .map(|(j, chunk)| {
            let chunk = chunk.to_vec();
            std::thread::spawn(move || run_job(j as u64, chunk, batch))
        })
        .collect();
    let mut failures = vec![];
    let mut stats = Stats::default();
    let mut schedules = 0;
    for h in handles {
        let s = h.join().expect("a simulation job panicked");
        failures.extend(s.failures);
        stats.add(&s.stats);
        schedules += s.schedules;
    }
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "simulation: {schedules} schedules in {secs:.1} s ({:.1} schedules/s), {} failed; \
         passing schedules: {stats:?}",
        schedules as f64 / secs,
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {schedules} schedules failed; the first:\n{}",
        failures.len(),
        failures[0]
    );
}

/// The test command's run: a few dozen schedules (or exactly `TERN_SIM_SEED`).
#[test]
fn random_schedules_converge_and_lose_no_applied_edit() {
    if let Some(seed) = env_u64("TERN_SIM_SEED") {
        return run(vec![seed], 1, 1);
    }
    let n = env_u64("TERN_SIM_SCHEDULES").unwrap_or(24);
    let base = env_u64("TERN_SIM_BASE_SEED").unwrap_or_else(|| real_now() % 1_000_000_000 * 1000);
    eprintln!(
        "simulation seeds {base} to {} (TERN_SIM_BASE_SEED={base})",
        base + n - 1
    );
    let jobs = env_u64("TERN_SIM_JOBS").unwrap_or(1);
    let batch = env_u64("TERN_SIM_BATCH").unwrap_or(25);
    run((base..base + n).collect(), jobs, batch);
}
