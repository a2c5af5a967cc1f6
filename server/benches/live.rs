//! `cargo bench -p server --bench live` (or `scripts/bench.sh live`): live-sync propagation
//! and the cost of an idle live connection, against the real `server` binary (one or two
//! processes on one fresh database server). Prints
//! - the propagation latency p50/p99, from device A starting its push to the note being in
//!   device B's local store (B is poked through `GET /live`, then syncs with the client's
//!   own engine), with 1, 100 and 1,000 devices connected, on one and on two processes
//!   (A writes through the first, B and the other devices listen on the last). All the
//!   devices belong to the same account, so every commit pokes all of them: the worst case
//!   for the fan-out;
//! - the server's memory per idle live connection: the growth of the process's resident
//!   memory with 10,000 idle connections open (`TERN_LIVE_MAX`'s default, the documented
//!   limit of one process), divided by 10,000; and that one more is refused.
//!
//! Sizes can be lowered: `TERN_BENCH_LIVE_ROUNDS=50 TERN_BENCH_LIVE_DEVICES=1,100
//! TERN_BENCH_LIVE_IDLE=1000` (`TERN_BENCH_LIVE_DEVICES=` alone measures only the idle
//! connections).

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use client::api::ApiClient;
use client::local::LocalStore;
use support::live::{Live, open_live, start_process};
use support::*;
use sync_core::protocol::Credentials;

/// Signs `name` up at `base`; its bearer token.
async fn sign_up(base: &str, name: &str) -> String {
    let credentials = Credentials {
        username: name.to_owned(),
        password: PASSWORD.to_owned(),
    };
    let signed_in = ApiClient::native(base).sign_up(&credentials).await;
    signed_in.expect("signed up").token.expect("a token")
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

const LIMITS: [(&str, &str); 2] = [("TERN_LIVE_PER_USER", "5000"), ("TERN_LIVE_MAX", "20000")];

/// Opens `n` live connections at `base` and waits for each one's first poke.
async fn connect(base: &str, token: &str, n: usize) -> Vec<Live> {
    let mut all = Vec::with_capacity(n);
    for _ in 0..n {
        let mut l = open_live(base, token).await.expect("a live connection");
        l.poke().await;
        all.push(l);
    }
    all
}

async fn propagation(devices: usize, processes: usize, rounds: usize) -> (Duration, Duration) {
    let db = fresh_db_name();
    let procs: Vec<_> = (0..processes)
        .map(|_| start_process(&db, &LIMITS))
        .collect();
    let (a_base, b_base) = (&procs[0].base, &procs[processes - 1].base);
    let token = sign_up(a_base, "bench").await;
    // Two devices of one account, each talking to its own process.
    let a = ApiClient::native(a_base).bearer(&token);
    let b = ApiClient::native(b_base).bearer(&token);
    let b_notes = client::local::Notes::open(client::memory::MemoryStore::new())
        .await
        .unwrap();
    let mut b_live = open_live(b_base, &token).await.unwrap();
    b_live.poke().await;
    let mut others = connect(b_base, &token, devices.saturating_sub(1)).await;
    // The other devices only listen; their pokes are read and dropped as they come.
    let drain = tokio::spawn(async move {
        loop {
            for l in &mut others {
                while l.try_poke().is_some() {}
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    let mut took = Vec::with_capacity(rounds);
    for r in 0..rounds {
        let id = format!("n{r}");
        let started = Instant::now();
        let req = request(None, vec![change(&id, "a", now(), "live")]);
        a.sync(&req).await.expect("A's push");
        loop {
            b_live.poke().await;
            client::engine::sync(b_notes.store(), &b)
                .await
                .expect("B's sync");
            if b_notes
                .store()
                .get(&sync_core::NoteId(id.clone()))
                .await
                .unwrap()
                .is_some()
            {
                break;
            }
        }
        took.push(started.elapsed());
    }
    drain.abort();
    took.sort();
    (percentile(&took, 0.5), percentile(&took, 0.99))
}

/// The resident growth per idle connection with `n` open on one process whose limit is
/// `n`, and the status of connection `n + 1`.
async fn idle_cost(n: usize) -> (f64, u16) {
    let db = fresh_db_name();
    let total = n.to_string();
    let server = start_process(
        &db,
        &[("TERN_LIVE_PER_USER", &total), ("TERN_LIVE_MAX", &total)],
    );
    let token = sign_up(&server.base, "idle").await;
    // Warm up: one connection and one sync, so buffers and pools exist before measuring.
    let warm = connect(&server.base, &token, 1).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = rss_kib(server.child.id());
    drop(warm);
    let open = connect(&server.base, &token, n).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = rss_kib(server.child.id());
    let refused = match open_live(&server.base, &token).await {
        Ok(_) => 200,
        Err((status, _, _)) => status,
    };
    drop(open);
    (
        (after.saturating_sub(before) as f64 * 1024.0) / n as f64,
        refused,
    )
}

/// 1,000 connections need more than the usual 1,024 descriptors, here and in the server
/// processes (which inherit the limit).
#[allow(unsafe_code)]
fn raise_fd_limit() {
    // SAFETY: getrlimit/setrlimit on this process with a valid struct.
    unsafe {
        let mut l = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut l) == 0 {
            l.rlim_cur = l.rlim_max.min(65_536);
            libc::setrlimit(libc::RLIMIT_NOFILE, &l);
        }
    }
}

#[tokio::main]
async fn main() {
    raise_fd_limit();
    let rounds: usize = std::env::var("TERN_BENCH_LIVE_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let sizes: Vec<usize> = std::env::var("TERN_BENCH_LIVE_DEVICES")
        .ok()
        .map(|v| v.split(',').filter_map(|s| s.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1, 100, 1000]);
    println!("live propagation, A's push start to the note in B's local store ({rounds} rounds)");
    println!("| devices connected | processes | p50 | p99 |");
    println!("|---|---|---|---|");
    for &n in &sizes {
        for processes in [1, 2] {
            let (p50, p99) = propagation(n, processes, rounds).await;
            println!(
                "| {n} | {processes} | {:.1} ms | {:.1} ms |",
                p50.as_secs_f64() * 1e3,
                p99.as_secs_f64() * 1e3
            );
        }
    }
    let idle: usize = std::env::var("TERN_BENCH_LIVE_IDLE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let started = Instant::now();
    let (per, refused) = idle_cost(idle).await;
    println!(
        "server memory per idle live connection: {:.1} KB (resident growth over {idle}, opened in {:.1} s); connection {} answered {refused}",
        per / 1000.0,
        started.elapsed().as_secs_f64(),
        idle + 1
    );
}
