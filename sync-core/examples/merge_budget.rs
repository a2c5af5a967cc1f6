//! How long a three-way merge takes at its work budget, against the unbounded diff it
//! replaced. Prints one table; run in both profiles:
//!
//! ```sh
//! cargo run -p sync-core --example merge_budget            # debug
//! cargo run -p sync-core --example merge_budget --release  # release
//! ```
//!
//! The inputs are the worst case of issue 11: a concurrent change whose content and base
//! have nothing in common but spaces and punctuation (both sides rewrote the whole text).

use std::time::{Duration, Instant};

use sync_core::text::{Budget, MERGE_BUDGET, merge3_within};

/// Deterministic words over `alphabet` with spaces and punctuation, `chars` bytes long.
fn text(chars: usize, alphabet: &[u8], seed: u64) -> String {
    let mut x = seed | 1;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut s = String::new();
    while s.len() < chars {
        for _ in 0..1 + next() % 3 {
            s.push(alphabet[(next() % alphabet.len() as u64) as usize] as char);
        }
        s.push([' ', ' ', ' ', ',', '.', '\n'][(next() % 6) as usize]);
    }
    s.truncate(chars);
    s
}

/// CPU time of this thread (Linux), so that a busy machine does not inflate the figures;
/// wall time elsewhere.
fn cpu_time() -> Duration {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .map(Duration::from_nanos)
        .unwrap_or_else(|| START.with(|s| s.elapsed()))
}

thread_local! {
    static START: Instant = Instant::now();
}

/// The median of `runs` timings (CPU time) of `f`.
fn median(runs: usize, mut f: impl FnMut()) -> Duration {
    let mut t: Vec<Duration> = (0..runs)
        .map(|_| {
            let s = cpu_time();
            f();
            cpu_time() - s
        })
        .collect();
    t.sort();
    t[runs / 2]
}

fn main() {
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    let runs = if cfg!(debug_assertions) { 3 } else { 9 };
    println!(
        "profile: {profile}; budget: {MERGE_BUDGET} units per merge; CPU time, median of {runs}"
    );
    println!(
        "| chars | old: unbounded diff of both sides | new: bounded merge | outcome | units spent |"
    );
    println!("|---|---|---|---|---|");
    for chars in [500, 1_000, 2_000, 4_000, 8_000, 262_144] {
        let base = text(chars, b"abcdefgh", 1);
        let ours = text(chars, b"ijklmnop", 2);
        let theirs = text(chars, b"qrstuvwx", 3);
        // The old cost: `similar`'s Myers diff of each side against the base, no bound
        // (skipped where it would take minutes).
        let old = if chars <= 8_000 && (chars <= 4_000 || !cfg!(debug_assertions)) {
            let (b, a, t) = (
                sync_core::text::tokens(&base),
                sync_core::text::tokens(&ours),
                sync_core::text::tokens(&theirs),
            );
            let d = median(runs.min(3), || {
                let x = similar::capture_diff_slices(similar::Algorithm::Myers, &b, &a);
                let y = similar::capture_diff_slices(similar::Algorithm::Myers, &b, &t);
                std::hint::black_box((x, y));
            });
            format!("{:.1} ms", d.as_secs_f64() * 1e3)
        } else {
            "(not run: minutes)".into()
        };
        let mut outcome = String::new();
        let mut spent = 0;
        let new = median(runs, || {
            let mut budget = Budget::new(u64::MAX);
            outcome = match merge3_within(&base, &ours, &theirs, &mut budget) {
                Ok(m) => format!("{m:?}").chars().take(12).collect(),
                Err(_) => "over budget: conflict".into(),
            };
            spent = u64::MAX - budget.left();
        });
        println!(
            "| {chars} | {old} | {:.1} ms | {outcome} | {spent} |",
            new.as_secs_f64() * 1e3
        );
    }
}
