//! `cargo bench -p tern-client --bench search` (or `scripts/bench.sh search`): the search
//! index's memory and speed at 100,000 notes, for the index as it is
//! ([`client::search::SearchIndex`]) and as it was (`client/src/search/reference.rs`, the
//! test-only reference model, included here), on the same notes in the same run. Prints,
//! per kind of notebook and index:
//! - the heap the index holds once built: bytes asked of the allocator and live blocks,
//!   counted by this binary's global allocator (live after the build minus before; the
//!   allocator's own overhead per block is not in the bytes, which flatters the old index,
//!   of many small blocks);
//! - the build time (every note upserted once, in order) and the longest upsert (one that
//!   merged or compacted), and for the index as it is, its saved size and the heap once
//!   loaded from it (as after a reload: everything merged);
//! - for the index as it is, built the app's way (merges stepped, the save a step at a
//!   time), the longest single call, against the longest upsert and the whole save with
//!   merges at once in the same run (the longest task the page runs for the index);
//! - for the index as it is, after the build and after the load, where those bytes are,
//!   part by part (`SearchIndex::heap_parts`: the columns' capacities, which add up to the
//!   allocator's count), with the number of words and postings and the least bytes any
//!   code of those posting sets could take (log2 of the number of such sets);
//! - query times, p50 and p99 over 200 queries each, at the app's page of 50 results: one
//!   word, two words, a prefix of 2 or 3 characters, and a word that matches nothing.
//!
//! - for the index as it is, the search box's filters and sorts (`SearchIndex::find`):
//!   `tag:`, `notebook:` (with a sub-notebook), `is:pinned`, a tag with a word, and the
//!   whole list by title and by creation date, p50 and p99 over 50 runs each.
//!
//! Two notebooks, generated deterministically: "typical" (titles of 2 to 6 words, bodies
//! of 100 to 400 words drawn from a Zipf-like vocabulary of 50,000 words, with numbers,
//! dates and URLs among them, which are mostly words of their own), and "perf seed" (the
//! notes `end2end/perf.mjs` syncs for the browser's memory figure: a title and one
//! sentence each, a number of its own per note, filed as perf.mjs files them: see
//! [`filing`]). `TERN_BENCH_NOTES` sets the count; `TERN_BENCH_SEED_ONLY=1` runs the perf
//! seed alone.

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicIsize, Ordering::Relaxed};
use std::time::Instant;

use client::local::{LocalNote, SyncState};
use client::search::{Found, SearchIndex, Sort, parse, words};
use sync_core::fields::{FieldEdit, Fields, SetEdit};
use sync_core::{Hlc, NoteId};

#[allow(dead_code)]
#[path = "../src/search/reference.rs"]
mod reference;

use reference::ReferenceIndex;

/// Counts the bytes and blocks live on the heap.
struct Counting;

static BYTES: AtomicIsize = AtomicIsize::new(0);
static BLOCKS: AtomicIsize = AtomicIsize::new(0);
/// The most bytes live at once since last reset (`peak_reset`).
static PEAK: AtomicIsize = AtomicIsize::new(0);

fn peak_reset() -> isize {
    let now = BYTES.load(Relaxed);
    PEAK.store(now, Relaxed);
    now
}

// The only way to count the heap from inside: a global allocator, which is an unsafe trait;
// every call is handed on to the system allocator unchanged.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let now = BYTES.fetch_add(layout.size() as isize, Relaxed) + layout.size() as isize;
        PEAK.fetch_max(now, Relaxed);
        BLOCKS.fetch_add(1, Relaxed);
        // SAFETY: as the caller's contract for `GlobalAlloc::alloc`.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        BYTES.fetch_sub(layout.size() as isize, Relaxed);
        BLOCKS.fetch_sub(1, Relaxed);
        // SAFETY: as the caller's contract for `GlobalAlloc::dealloc`.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let grow = new_size as isize - layout.size() as isize;
        PEAK.fetch_max(BYTES.fetch_add(grow, Relaxed) + grow, Relaxed);
        // SAFETY: as the caller's contract for `GlobalAlloc::realloc`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn heap() -> (isize, isize) {
    (BYTES.load(Relaxed), BLOCKS.load(Relaxed))
}

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A vocabulary of pronounceable words, and a Zipf-like (s = 1) draw of them.
struct Vocabulary {
    words: Vec<String>,
    /// Cumulative weights of the ranks.
    cumulative: Vec<f64>,
}

impl Vocabulary {
    fn new(n: usize, rng: &mut Rng) -> Self {
        const SYLLABLES: &[&str] = &[
            "ka", "to", "ri", "en", "ma", "lo", "sa", "ne", "di", "ur", "pe", "an", "ti", "or",
            "be", "li", "mo", "ar", "se", "gu", "tha", "str", "ing", "ion", "er", "ed", "co", "ve",
            "pro", "re",
        ];
        let mut seen = std::collections::HashSet::new();
        let mut words = Vec::with_capacity(n);
        while words.len() < n {
            // Frequent words are short.
            let shortest = match words.len() {
                0..500 => 1,
                500..10_000 => 2,
                _ => 3,
            };
            let syllables = shortest + rng.below(2);
            let w: String = (0..syllables)
                .map(|_| SYLLABLES[rng.below(SYLLABLES.len())])
                .collect();
            if seen.insert(w.clone()) {
                words.push(w);
            }
        }
        let mut total = 0.0;
        let cumulative = (1..=n)
            .map(|rank| {
                total += 1.0 / rank as f64;
                total
            })
            .collect();
        Self { words, cumulative }
    }

    fn draw(&self, rng: &mut Rng) -> &str {
        let x = rng.unit() * self.cumulative.last().unwrap();
        let rank = self.cumulative.partition_point(|&c| c < x);
        &self.words[rank.min(self.words.len() - 1)]
    }
}

fn note(i: usize, title: String, content: String) -> LocalNote {
    LocalNote {
        id: NoteId(format!(
            "{i:06}-{:016x}",
            (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
        )),
        title,
        content,
        deleted: false,
        hlc: Hlc {
            wall_ms: 1_764_000_000_000 + i as u64,
            counter: 0,
            node: "bench".into(),
        },
        base_version: Some(i as u64 + 1),
        pending: None,
        sync: SyncState::Synced,
        base: None,
        strategy: Default::default(),
        strategy_changed: false,
        conflict: None,
        resolving: false,
        local_conflict: false,
        typed_on: None,
        purge: false,
        trash: None,
        fields: Default::default(),
        field_edits: Default::default(),
        edit_clocks: Default::default(),
    }
}

fn typical(n: usize, vocabulary: &Vocabulary, rng: &mut Rng) -> Vec<LocalNote> {
    (0..n)
        .map(|i| {
            let title_words = 2 + rng.below(5);
            let title: Vec<&str> = (0..title_words).map(|_| vocabulary.draw(rng)).collect();
            let body_words = 100 + rng.below(301);
            let mut body = String::with_capacity(body_words * 8);
            for k in 0..body_words {
                if k > 0 {
                    body.push_str(if rng.below(12) == 0 { ". " } else { " " });
                }
                match rng.below(100) {
                    // Numbers, dates and URLs: words of their own, mostly.
                    0 => body.push_str(&format!("{}", rng.below(1_000_000))),
                    1 => body.push_str(&format!(
                        "2026-{:02}-{:02}",
                        1 + rng.below(12),
                        1 + rng.below(28)
                    )),
                    2 => body.push_str(&format!(
                        "https://example.com/{}/{:x}",
                        vocabulary.draw(rng),
                        rng.next() & 0xff_ffff
                    )),
                    _ => body.push_str(vocabulary.draw(rng)),
                }
            }
            note(i, title.join(" "), body)
        })
        .collect()
}

/// The fields of note `j` of `end2end/perf.mjs`'s `fillAccount` (keep the two the same):
/// tag `alpha` on every 10th, `beta` on every 3rd; every 5th in notebook `Archive/2026`,
/// the next in `Archive`; every 1,000th pinned; created dates in another order than the
/// changes (note 0 the newest: a permutation by a prime stride).
fn filing(j: usize) -> BTreeMap<String, FieldEdit> {
    let mut f = BTreeMap::new();
    let tags: BTreeSet<String> = [(10, "tag-alpha"), (3, "tag-beta")]
        .into_iter()
        .filter(|(k, _)| j.is_multiple_of(*k))
        .map(|(_, t)| t.to_owned())
        .collect();
    if !tags.is_empty() {
        let add = SetEdit {
            add: tags,
            remove: BTreeSet::new(),
        };
        f.insert("tags".to_owned(), FieldEdit::Set(add));
    }
    let notebook = match j % 5 {
        0 => Some("nb-2026"),
        1 => Some("nb-archive"),
        _ => None,
    };
    if let Some(nb) = notebook {
        f.insert("notebook".to_owned(), FieldEdit::Register(nb.into()));
    }
    if j.is_multiple_of(1000) {
        f.insert("pinned".to_owned(), FieldEdit::Register(true.into()));
    }
    f.insert(
        "created".to_owned(),
        FieldEdit::Register((1_700_000_000_000u64 - (j as u64 * 7919 % 100_003) * 1000).into()),
    );
    f
}

/// The tag and notebook records of the perf seed.
fn perf_records() -> Vec<LocalNote> {
    [
        ("tag-alpha", "alpha", "tag", None),
        ("tag-beta", "beta", "tag", None),
        ("nb-archive", "Archive", "notebook", None),
        ("nb-2026", "2026", "notebook", Some("nb-archive")),
    ]
    .into_iter()
    .enumerate()
    .map(|(i, (id, name, kind, parent))| {
        let mut n = note(i, name.to_owned(), String::new());
        n.id = NoteId(id.to_owned());
        let mut f = BTreeMap::from([("kind".to_owned(), FieldEdit::Register(kind.into()))]);
        if let Some(p) = parent {
            f.insert("parent".to_owned(), FieldEdit::Register(p.into()));
        }
        n.fields = Fields::of_edits(&f, &n.hlc);
        n
    })
    .collect()
}

/// The notes of `end2end/perf.mjs`'s `fillAccount`, filed as it files them, after their
/// tag and notebook records.
fn perf_seed(n: usize) -> Vec<LocalNote> {
    let mut out = perf_records();
    out.extend((0..n).map(|j| {
        let mut n = note(
            j,
            format!("Note {j} {}", if j % 7 == 0 { "groceries" } else { "work" }),
            format!("Body of note {j}: lorem ipsum dolor sit amet, consectetur adipiscing elit."),
        );
        n.fields = Fields::of_edits(&filing(j), &n.hlc);
        n
    }));
    out
}

/// Times the search box's filters and sorts on the perf seed (see [`filing`]): the first
/// page of 50, p50 and p99 of 50 runs each.
fn time_filters(ix: &SearchIndex) {
    for (q, sort) in [
        ("groceries", Sort::Modified),
        ("tag:alpha", Sort::Modified),
        ("notebook:archive", Sort::Modified),
        ("is:pinned", Sort::Modified),
        ("tag:alpha groceries", Sort::Modified),
        ("", Sort::Title),
        ("", Sort::Created),
        ("tag:beta", Sort::Title),
    ] {
        let query = parse(q);
        let mut times: Vec<f64> = (0..50)
            .map(|_| {
                let t = Instant::now();
                std::hint::black_box(ix.find(&query, sort, 50));
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        times.sort_by(f64::total_cmp);
        let total = ix.find(&query, sort, 50).total;
        println!(
            "    {:<22} p50 {:>7.3} ms  p99 {:>7.3} ms  ({total} notes)",
            format!("{q} ({sort:?})"),
            percentile(&times, 0.5),
            percentile(&times, 0.99),
        );
    }
}

/// The two indexes, behind one face.
trait Index {
    fn upsert(&mut self, note: &LocalNote);
    /// After the build (the app shrinks the index once it has taken every note).
    fn finish(&mut self) {}
    fn search(&self, query: &str, limit: usize) -> Option<Found>;
}

impl Index for SearchIndex {
    fn upsert(&mut self, note: &LocalNote) {
        SearchIndex::upsert(self, note);
    }
    fn finish(&mut self) {
        self.shrink_to_fit();
    }
    fn search(&self, query: &str, limit: usize) -> Option<Found> {
        SearchIndex::search(self, query, limit)
    }
}

impl Index for ReferenceIndex {
    fn upsert(&mut self, note: &LocalNote) {
        ReferenceIndex::upsert(self, note);
    }
    fn search(&self, query: &str, limit: usize) -> Option<Found> {
        ReferenceIndex::search(self, query, limit)
    }
}

fn mb(bytes: isize) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

fn build<I: Index>(ix: I, notes: &[LocalNote], name: &str) -> I {
    build_timed(ix, notes, name).0
}

/// [`build`], and the longest upsert.
fn build_timed<I: Index>(mut ix: I, notes: &[LocalNote], name: &str) -> (I, f64) {
    let (bytes, blocks) = heap();
    peak_reset();
    let t = Instant::now();
    let mut longest = std::time::Duration::ZERO;
    for n in notes {
        let t = Instant::now();
        ix.upsert(n);
        longest = longest.max(t.elapsed());
    }
    ix.finish();
    let took = t.elapsed();
    let (bytes2, blocks2) = heap();
    println!(
        "  {name:<10} heap {:>9} in {:>9} blocks ({:>5.0} bytes a note), at most {} while building; built in {:>7.0} ms, longest upsert {:.0} ms",
        mb(bytes2 - bytes),
        blocks2 - blocks,
        (bytes2 - bytes) as f64 / notes.len() as f64,
        mb(PEAK.load(Relaxed) - bytes),
        took.as_secs_f64() * 1e3,
        longest.as_secs_f64() * 1e3
    );
    (ix, longest.as_secs_f64() * 1e3)
}

/// The app's way (`app/src/io/web/search.rs`): merges stepped, each started by an upsert
/// and done by `merge_step` calls before the next upsert, and the save a step at a time.
/// Prints the longest single call of each, against the longest upsert and the whole save
/// with merges at once (`at_once`, `save`, ms) of the same run: the longest task the page
/// runs for the index.
fn stepped(notes: &[LocalNote], at_once: f64, save: f64) {
    let mut ix = SearchIndex::new();
    ix.set_stepped_merges(true);
    let (mut longest, mut steps) = (0f64, 0);
    let mut timed = |f: &mut dyn FnMut()| {
        let t = Instant::now();
        f();
        longest = longest.max(t.elapsed().as_secs_f64() * 1e3);
    };
    for n in notes {
        timed(&mut || ix.upsert(n));
        while ix.merging() {
            timed(&mut || {
                ix.merge_step();
            });
            steps += 1;
        }
    }
    ix.merge_fresh();
    while ix.merging() {
        timed(&mut || {
            ix.merge_step();
        });
        steps += 1;
    }
    ix.shrink_to_fit();
    let mut saving = ix.start_save(1);
    let (mut longest_save, mut saves, mut bytes) = (0f64, 0, 0);
    loop {
        let t = Instant::now();
        let done = ix
            .save_step(&mut saving, &mut |p| bytes += p.len())
            .expect("unchanged");
        longest_save = longest_save.max(t.elapsed().as_secs_f64() * 1e3);
        saves += 1;
        if done {
            break;
        }
    }
    println!(
        "  {:<10} merges in {steps} steps: longest upsert or step {longest:.2} ms ({:.3} × the longest upsert at once, {at_once:.0} ms); \
         save in {saves} steps ({}): longest {longest_save:.2} ms ({:.3} × the whole at once, {save:.0} ms)",
        "stepped",
        longest / at_once,
        mb(bytes as isize),
        longest_save / save,
    );
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Times every query; prints p50/p99 and the matches' median; returns the results.
fn time<I: Index>(ix: &I, kind: &str, queries: &[String]) -> Vec<Option<Found>> {
    let mut times = Vec::with_capacity(queries.len());
    let mut results = Vec::with_capacity(queries.len());
    let mut totals = Vec::with_capacity(queries.len());
    for q in queries {
        let t = Instant::now();
        let found = ix.search(q, 50);
        times.push(t.elapsed().as_secs_f64() * 1e3);
        totals.push(found.as_ref().map_or(0, |f| f.total));
        results.push(found);
    }
    times.sort_by(f64::total_cmp);
    totals.sort_unstable();
    println!(
        "    {kind:<9} p50 {:>7.3} ms  p99 {:>7.3} ms  (median matches {})",
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        totals[totals.len() / 2]
    );
    results
}

fn queries(vocabulary: Option<&Vocabulary>, rng: &mut Rng) -> Vec<(&'static str, Vec<String>)> {
    let draw = |rng: &mut Rng| -> String {
        match vocabulary {
            Some(v) => v.draw(rng).to_owned(),
            None => {
                const PERF: &[&str] = &[
                    "groceries",
                    "work",
                    "note",
                    "lorem",
                    "ipsum",
                    "body",
                    "elit",
                    "12345",
                    "99999",
                    "7",
                ];
                PERF[rng.below(PERF.len())].to_owned()
            }
        }
    };
    let n = 200;
    let one: Vec<String> = (0..n).map(|_| draw(rng)).collect();
    let two = (0..n)
        .map(|_| format!("{} {}", draw(rng), draw(rng)))
        .collect();
    let prefix = (0..n)
        .map(|_| {
            let w = draw(rng);
            w.chars().take(2 + rng.below(2)).collect()
        })
        .collect();
    let none = (0..n).map(|i| format!("zqx{i}")).collect();
    vec![
        ("1 word", one),
        ("2 words", two),
        ("prefix", prefix),
        ("no match", none),
    ]
}

/// Where the index's bytes are, part by part (`SearchIndex::heap_parts`; figures in
/// parentheses are counts, not bytes).
fn breakdown(ix: &SearchIndex) {
    let parts = ix.heap_parts();
    let total: usize = parts
        .iter()
        .filter(|(k, _)| !k.starts_with('('))
        .map(|(_, b)| b)
        .sum();
    let line: Vec<String> = parts
        .iter()
        .map(|(k, b)| {
            if k.starts_with('(') && !k.contains("bytes") {
                format!("{k} {b}")
            } else {
                format!("{k} {}", mb(*b as isize))
            }
        })
        .collect();
    println!(
        "    parts (sum {}): {}",
        mb(total as isize),
        line.join(", ")
    );
}

fn run(name: &str, notes: &[LocalNote], vocabulary: Option<&Vocabulary>, rng: &mut Rng) {
    let words_total: usize = notes
        .iter()
        .map(|n| words(&n.title).count() + words(&n.content).count())
        .sum();
    println!(
        "\n{name}: {} notes, {:.0} words a note on average",
        notes.len(),
        words_total as f64 / notes.len() as f64
    );
    let queries = queries(vocabulary, rng);
    let old = build(ReferenceIndex::default(), notes, "before");
    let old_results: Vec<_> = queries.iter().map(|(k, q)| time(&old, k, q)).collect();
    drop(old);
    let (new, at_once) = build_timed(SearchIndex::new(), notes, "now");
    let new_results: Vec<_> = queries.iter().map(|(k, q)| time(&new, k, q)).collect();
    breakdown(&new);
    if vocabulary.is_none() {
        time_filters(&new);
    }
    assert!(
        old_results == new_results,
        "the two indexes answer the same"
    );
    let t = Instant::now();
    let bytes = new.encode(1);
    let encode = t.elapsed();
    drop(new);
    let before = heap();
    let t = Instant::now();
    let (loaded, _) = SearchIndex::decode(&bytes).expect("loads");
    let decode = t.elapsed();
    let after = heap();
    println!(
        "  {:<10} heap {:>9} in {:>9} blocks ({:>5.0} bytes a note); saved as {} in {:.0} ms, loaded in {:.0} ms",
        "now loaded",
        mb(after.0 - before.0),
        after.1 - before.1,
        (after.0 - before.0) as f64 / notes.len() as f64,
        mb(bytes.len() as isize),
        encode.as_secs_f64() * 1e3,
        decode.as_secs_f64() * 1e3,
    );
    stepped(notes, at_once, encode.as_secs_f64() * 1e3);
    breakdown(&loaded);
    let loaded_results: Vec<_> = queries.iter().map(|(k, q)| time(&loaded, k, q)).collect();
    if vocabulary.is_none() {
        time_filters(&loaded);
    }
    assert!(
        old_results == loaded_results,
        "the loaded index answers the same"
    );
}

fn main() {
    let n: usize = std::env::var("TERN_BENCH_NOTES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000);
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    let vocabulary = Vocabulary::new(50_000, &mut rng);
    // TERN_BENCH_SEED_ONLY=1: the perf seed alone (the filters' figures; quick in debug).
    if std::env::var_os("TERN_BENCH_SEED_ONLY").is_none() {
        let notes = typical(n, &vocabulary, &mut rng);
        run("typical notes", &notes, Some(&vocabulary), &mut rng);
        drop(notes);
    }
    run(
        "perf seed notes (end2end/perf.mjs)",
        &perf_seed(n),
        None,
        &mut rng,
    );
}
