//! `cargo bench -p server --bench sync` (or `scripts/bench.sh`): starts a fresh database
//! server and prints, in one run,
//! - the driver's own bulk-upsert rate for the same documents (the baseline),
//! - `/sync` push throughput with batches of 500 and 1000 (and the ratio to the baseline),
//! - pull throughput of a 100,000-note initial sync in pages (and the ratio to a raw `find`),
//! - p50/p99 latency of a one-change sync at 1, 32 and 256 concurrent clients (also without
//!   each client's first sync, which all start at once).
//!
//! Sizes can be lowered for a quick look: `TERN_BENCH_PUSH=5000 TERN_BENCH_PULL=20000`;
//! `TERN_BENCH_LATENCY` is the number of one-change syncs timed at each concurrency (1024).

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use futures::TryStreamExt;
use mongodb::bson::{Document, doc};
use support::*;
use sync_core::protocol::{ChangeOutcome, SyncRequest};
use sync_core::{Hlc, NoteState};

fn env_usize(k: &str, d: usize) -> usize {
    std::env::var(k)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(d)
}

fn changes(prefix: &str, n: usize) -> Vec<sync_core::protocol::Change> {
    let t = now();
    (0..n)
        .map(|i| {
            let mut c = change(&format!("{prefix}-{i}"), "bench", t, &format!("Note {i}"));
            c.content = format!("{} {i}", "lorem ipsum dolor sit amet ".repeat(6));
            c
        })
        .collect()
}

fn note_doc(user: &str, n: &NoteState) -> Document {
    doc! {"u": user, "id": n.id.as_str(), "title": &n.title, "content": &n.content,
    "deleted": n.deleted, "hlc": n.hlc.to_string(), "v": n.version as i64}
}

/// The baseline: the same documents upserted with the driver's bulk `update` command
/// (unordered, 1000 statements a command, keyed by the same unique index).
async fn baseline(app: &TestApp, n: usize) -> f64 {
    let db = app.store.database();
    let coll = db.collection::<Document>("baseline");
    coll.create_index(
        mongodb::IndexModel::builder()
            .keys(doc! {"u": 1, "id": 1})
            .options(
                mongodb::options::IndexOptions::builder()
                    .unique(true)
                    .build(),
            )
            .build(),
    )
    .await
    .unwrap();
    let docs: Vec<Document> = changes("base", n)
        .iter()
        .enumerate()
        .map(|(i, c)| {
            note_doc(
                "baseline-user",
                &sync_core::merge::resolve(None, c, sync_core::Strategy::Merge, i as u64 + 1)
                    .next
                    .unwrap()
                    .note,
            )
        })
        .collect();
    let start = Instant::now();
    for chunk in docs.chunks(1000) {
        let updates: Vec<Document> = chunk
            .iter()
            .map(|d| {
                doc! {"q": {"u": "baseline-user", "id": d.get_str("id").unwrap()}, "u": d.clone(), "upsert": true}
            })
            .collect();
        db.run_command(doc! {"update": "baseline", "updates": updates, "ordered": false})
            .await
            .unwrap();
    }
    n as f64 / start.elapsed().as_secs_f64()
}

async fn push(app: &TestApp, n: usize, batch: usize) -> f64 {
    let all = changes(&format!("push{batch}"), n);
    let start = Instant::now();
    for chunk in all.chunks(batch) {
        let r = app
            .sync(&SyncRequest {
                limit: Some(1),
                ..request(None, chunk.to_vec())
            })
            .await;
        assert!(
            r.results
                .iter()
                .all(|r| matches!(r.outcome, ChangeOutcome::Applied { .. }))
        );
    }
    n as f64 / start.elapsed().as_secs_f64()
}

async fn pull(app: &TestApp, n: usize) -> (f64, f64) {
    for chunk in changes("pull", n).chunks(1000) {
        app.sync(&SyncRequest {
            limit: Some(1),
            ..request(None, chunk.to_vec())
        })
        .await;
    }
    let start = Instant::now();
    let mut cursor = None;
    let mut got = 0;
    loop {
        let r = app
            .sync(&SyncRequest {
                limit: Some(1000),
                ..request(cursor, vec![])
            })
            .await;
        got += r.changes.len();
        cursor = Some(r.cursor);
        if !r.has_more {
            break;
        }
    }
    let sync_rate = got as f64 / start.elapsed().as_secs_f64();
    assert_eq!(got, n);

    // Raw find of the same documents, in the same order, straight from the driver.
    let user = app
        .store
        .database()
        .collection::<Document>("users")
        .find_one(doc! {"name": "puller"})
        .await
        .unwrap()
        .unwrap()
        .get_str("_id")
        .unwrap()
        .to_owned();
    let start = Instant::now();
    let docs: Vec<Document> = app
        .store
        .database()
        .collection::<Document>("notes")
        .find(doc! {"u": &user})
        .sort(doc! {"v": 1})
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    let raw_rate = docs.len() as f64 / start.elapsed().as_secs_f64();
    (sync_rate, raw_rate)
}

/// The p50 and p99 of `times`.
fn percentiles(mut times: Vec<Duration>) -> (Duration, Duration) {
    times.sort();
    let pct = |p: f64| times[((times.len() as f64 * p) as usize).min(times.len() - 1)];
    (pct(0.50), pct(0.99))
}

/// p50 and p99 of every sync, then of every sync but each client's first (the first ones
/// all start at once, on sessions and heads the server has not seen yet).
async fn latency(
    app: &TestApp,
    clients: usize,
    total: usize,
) -> ((Duration, Duration), (Duration, Duration)) {
    let mut users = Vec::new();
    for i in 0..clients {
        users.push(app.as_user(&format!("lat{clients}x{i}")).await);
    }
    let per = total.div_ceil(clients);
    let tasks: Vec<_> = users
        .into_iter()
        .enumerate()
        .map(|(i, u)| {
            tokio::spawn(async move {
                let mut times = Vec::with_capacity(per);
                let mut cursor = None;
                for k in 0..per {
                    let c = sync_core::protocol::Change {
                        hlc: Hlc {
                            wall_ms: now(),
                            counter: k as u32,
                            node: format!("c{i}"),
                        },
                        ..change(&format!("n{}", k % 10), "x", 0, "one change")
                    };
                    let start = Instant::now();
                    let r = u.sync(&request(cursor, vec![c])).await;
                    times.push(start.elapsed());
                    cursor = Some(r.cursor);
                }
                times
            })
        })
        .collect();
    let (mut all, mut later) = (Vec::new(), Vec::new());
    for t in tasks {
        let times = t.await.unwrap();
        later.extend_from_slice(times.get(1..).unwrap_or_default());
        all.extend(times);
    }
    if later.is_empty() {
        later.clone_from(&all);
    }
    (percentiles(all), percentiles(later))
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let n_push = env_usize("TERN_BENCH_PUSH", 20_000);
    let n_pull = env_usize("TERN_BENCH_PULL", 100_000);
    let n_latency = env_usize("TERN_BENCH_LATENCY", 1024);
    let dir = test_data_root().join(format!("{}-bench", std::process::id()));
    let db = start_db(&dir, 0);
    let app = spawn_app_on(db.uri(), "bench").await;
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "Tern sync benchmark: {cpus} CPUs; database: secantusd-rs (fresh, {})",
        dir.display()
    );
    println!("notes of ~200 B of content; HTTP over loopback to an in-process server\n");

    let base = baseline(&app, n_push).await;
    println!("baseline  driver bulk upsert ({n_push} docs, 1000/cmd)   {base:>9.0} notes/s");
    for batch in [500, 1000] {
        let rate = push(&app, n_push, batch).await;
        println!(
            "push      /sync, batches of {batch:<4} ({n_push} notes)     {rate:>9.0} notes/s   {:.2} x baseline",
            rate / base
        );
    }
    let pull_app = app.as_user("puller").await;
    let (sync_rate, raw_rate) = pull(&pull_app, n_pull).await;
    println!("pull      raw find, sorted by version ({n_pull})     {raw_rate:>9.0} notes/s");
    println!(
        "pull      /sync initial sync, pages of 1000 ({n_pull}) {sync_rate:>9.0} notes/s   {:.2} x raw find",
        sync_rate / raw_rate
    );
    for clients in [1, 32, 256] {
        let ((p50, p99), (later50, later99)) = latency(&app, clients, n_latency).await;
        println!(
            "latency   one-change /sync, {clients:>3} concurrent clients   p50 {:>7.1} ms   p99 {:>7.1} ms   (without each client's first: p50 {:.1} ms, p99 {:.1} ms)",
            p50.as_secs_f64() * 1000.0,
            p99.as_secs_f64() * 1000.0,
            later50.as_secs_f64() * 1000.0,
            later99.as_secs_f64() * 1000.0
        );
    }
    drop(app);
    drop(db);
    let _ = std::fs::remove_dir_all(&dir);
}
