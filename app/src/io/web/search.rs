//! The search index of the notes shown, in memory (see [`client::search`]), kept
//! with the store's change sequence number it is up to date with. At the first read
//! of a database it is loaded from where it was saved (the store's `search` object
//! store) and catches up with the notes written since; without a saved one it is built
//! from every note, in chunks, in the background. Every search then catches it up
//! first ([`ensure`]; a read of the list starts a catch-up without waiting for it:
//! [`ensure_later`]): it reads only the notes written since (by this page, a sync,
//! another tab or the service worker), so a note is found as soon as it is saved and
//! searched for. While a sync writes
//! its pages the index waits, and then takes them in in slices of a few milliseconds
//! (the page keeps drawing). It is saved again a while after it changed, in a
//! transaction of its own.

use std::cell::RefCell;
use std::rc::Rc;

use client::local::LocalStore;
use client::search::{Found, Query, SearchIndex, Sort};
use sync_core::NoteId;

use super::accounts::PageNotes;
use super::page::{next_frame, sleep_ms};

/// Notes read per transaction while building or catching up (the page handles
/// input between them; decoding them is one stretch of work: 500 keep it short).
const CHUNK: usize = 500;
/// Notes taken into the index between two checks of the time spent...
const SLICE: usize = 50;
/// ... and the longest stretch of that work before the page may draw a frame.
const SLICE_MS: f64 = 8.0;
/// The index is saved this long after it changed (changes meanwhile are saved
/// with it): a few MB written at most this often while the user types...
const SAVE_AFTER_MS: u64 = 20_000;
/// ... or, checked every second, as soon as this many notes changed since it was
/// last saved (a large sync, a build from every note), so a reload soon after does
/// not read them all again...
const SAVE_BACKLOG: usize = 5_000;
/// ... or once at least [`SAVE_QUIET_BACKLOG`] notes changed and nothing changed
/// for this long (a sync that ended).
const SAVE_QUIET_MS: f64 = 2_000.0;
const SAVE_QUIET_BACKLOG: usize = 500;
const SAVE_POLL_MS: u64 = 1_000;
/// The index starts loading once the page has shown its first list (see
/// [`list_shown`]) and painted it: loading and catching up decode on the
/// page's thread, and the first page of the list comes first. At most this many
/// waits of 50 ms for it.
const START_WAITS: u32 = 60;

struct Index {
    db: String,
    ix: SearchIndex,
    /// Up to date with the change sequence up to here; `None` while building.
    seq: Option<u64>,
    /// A catch-up is reading (one at a time: an older read never lands last).
    busy: bool,
    /// More was written while a catch-up ran: it reads again before it ends.
    again: bool,
    /// Changed since last saved (a save is scheduled).
    unsaved: bool,
    /// Notes taken in since last saved.
    backlog: usize,
    /// When notes were last taken in (ms since the epoch).
    changed_at: f64,
    /// Bumped when a build starts: work for an older one stops.
    generation: u64,
}

thread_local! {
    static INDEX: RefCell<Option<Index>> = const { RefCell::new(None) };
    /// Told when an index becomes ready ([`on_search_ready`]).
    static READY: RefCell<Option<Box<dyn Fn()>>> = const { RefCell::new(None) };
}

fn ready() {
    READY.with(|r| {
        if let Some(f) = r.borrow().as_ref() {
            f();
        }
    });
}

fn with<R>(db: &str, f: impl FnOnce(&mut Index) -> R) -> Option<R> {
    INDEX.with(|i| i.borrow_mut().as_mut().filter(|i| i.db == db).map(f))
}

/// True when a read of the list needs the index: the query has words or filters, or the
/// order is not the store's own (last changed first).
pub fn needed(query: &Query, sort: Sort) -> bool {
    !query.is_empty() || sort != Sort::Modified
}

/// The notes the query asks for, in `sort`'s order (`None`: the index is not needed,
/// see [`needed`]), from the index as built so far.
pub fn find(db: &str, query: &Query, sort: Sort, limit: usize) -> Option<Found> {
    if !needed(query, sort) {
        return None;
    }
    Some(with(db, |i| i.ix.find(query, sort, limit)).unwrap_or_default())
}

/// How many notes each sidebar filter finds (`None`: the index is not built yet).
pub fn counts(db: &str) -> Option<client::search::Counts> {
    with(db, |i| i.seq.is_some().then(|| i.ix.counts())).flatten()
}

/// The notebook and tag records' ids (`None`: the index is not built yet).
pub fn record_ids(db: &str) -> Option<(Vec<NoteId>, Vec<NoteId>)> {
    with(db, |i| i.seq.is_some().then(|| i.ix.record_ids())).flatten()
}

/// These notes are gone.
pub fn forget(db: &str, ids: &[NoteId]) {
    with(db, |i| ids.iter().for_each(|id| i.ix.remove(id)));
}

/// True while the index of `db` is being built.
pub fn indexing(db: &str) -> bool {
    with(db, |i| i.seq.is_none()).unwrap_or(true)
}

/// Starts the index of `db` if it has none; else catches it up with the notes
/// written since it last looked (none, most of the time: one empty read).
pub async fn ensure(db: &str, notes: &Rc<PageNotes>) {
    match with(db, |i| i.seq.is_some()) {
        None => start(db, notes.clone()),
        Some(false) => {}
        Some(true) => catch_up(db, notes).await,
    }
}

/// [`ensure`], in the background: the list is read and drawn without waiting for the
/// index (a search waits for it). While a catch-up runs, it is asked to read again
/// instead of a second one waiting. While a sync writes its pages, the index waits for
/// the sync's end (the page reads again then): taking in each page as it lands held up
/// the next one (the page's thread is the sync's too).
pub fn ensure_later(db: &str, notes: &Rc<PageNotes>) {
    match with(db, |i| (i.seq.is_some(), i.busy)) {
        None => start(db, notes.clone()),
        Some((false, _)) => {}
        Some((true, _)) if super::sync::pulling() => {}
        Some((true, true)) => drop(with(db, |i| i.again = true)),
        Some((true, false)) => {
            let (db, notes) = (db.to_owned(), notes.clone());
            leptos::task::spawn_local(async move { catch_up(&db, &notes).await });
        }
    }
}

/// Takes notes into the index in slices of at most [`SLICE_MS`], letting the page draw
/// between them; `false` if the index was replaced meanwhile (a newer build, another
/// database). A slice stops at the note whose upsert starts a merge, which is stepped
/// before the rest is taken in: the next upsert would finish it at once.
async fn take_in(db: &str, generation: u64, batch: &[(u64, client::local::LocalNote)]) -> bool {
    let mut started = js_sys::Date::now();
    let mut rest = batch;
    while !rest.is_empty() {
        // (Also a merge a removal started, which nothing else steps.)
        if !merge_in_steps(db, generation, &mut started).await {
            return false;
        }
        let slice = &rest[..rest.len().min(SLICE)];
        let taken = with(db, |i| {
            if i.generation != generation {
                return None;
            }
            let n = i.ix.upsert_until_merging(slice.iter().map(|(_, n)| n));
            for (seq, _) in &slice[..n] {
                i.seq = i.seq.max(Some(*seq));
            }
            i.backlog += n;
            i.changed_at = js_sys::Date::now();
            Some(n)
        })
        .flatten();
        let Some(n) = taken else {
            return false;
        };
        rest = &rest[n..];
        if js_sys::Date::now() - started >= SLICE_MS {
            sleep_ms(0).await;
            started = js_sys::Date::now();
        }
    }
    merge_in_steps(db, generation, &mut started).await
}

/// Does the merge the last upserts started (the index's merges are stepped: see
/// [`SearchIndex::set_stepped_merges`]), a step at a time, letting the page draw every
/// [`SLICE_MS`] (`started`: when the current slice of work began); `false` if the index
/// was replaced meanwhile. (Done at once inside an upsert, a merge at 100,000 notes was a
/// frame gap over 50 ms during the initial sync.)
async fn merge_in_steps(db: &str, generation: u64, started: &mut f64) -> bool {
    loop {
        match with(db, |i| {
            (i.generation == generation).then(|| i.ix.merge_step())
        }) {
            Some(Some(true)) => {}
            Some(Some(false)) => return true,
            _ => return false,
        }
        if js_sys::Date::now() - *started >= SLICE_MS {
            sleep_ms(0).await;
            *started = js_sys::Date::now();
        }
    }
}

async fn catch_up(db: &str, notes: &Rc<PageNotes>) {
    // One at a time.
    let generation = loop {
        match with(db, |i| {
            (!i.busy).then(|| {
                i.busy = true;
                i.generation
            })
        }) {
            None => return,
            Some(None) => sleep_ms(5).await,
            Some(Some(g)) => break g,
        }
    };
    let mut changed = false;
    while let Some(Some(after)) = with(db, |i| {
        i.again = false;
        i.seq
    }) {
        let Ok(batch) = notes.store().changed_since(after, CHUNK).await else {
            break;
        };
        let applied = take_in(db, generation, &batch).await;
        changed |= !batch.is_empty();
        let again = with(db, |i| i.again) == Some(true);
        if !applied || (batch.len() < CHUNK && !again) {
            break;
        }
        sleep_ms(0).await;
    }
    with(db, |i| {
        if i.generation == generation {
            i.busy = false;
        }
    });
    if changed {
        save_later(db, notes);
    }
}

/// Saves the index [`SAVE_AFTER_MS`] from now, or once [`SAVE_BACKLOG`] notes
/// changed, unless a save is scheduled already.
fn save_later(db: &str, notes: &Rc<PageNotes>) {
    let Some(generation) = with(db, |i| {
        (!i.unsaved).then(|| {
            i.unsaved = true;
            i.generation
        })
    })
    .flatten() else {
        return;
    };
    let (db, notes) = (db.to_owned(), notes.clone());
    leptos::task::spawn_local(async move {
        let mut waited = 0;
        // (Not while a catch-up runs: each save encodes the whole index.)
        let wait = |i: &mut Index| {
            let quiet = js_sys::Date::now() - i.changed_at >= SAVE_QUIET_MS;
            i.busy || (i.backlog < SAVE_BACKLOG && !(quiet && i.backlog >= SAVE_QUIET_BACKLOG))
        };
        while waited < SAVE_AFTER_MS && with(&db, wait) == Some(true) {
            sleep_ms(SAVE_POLL_MS).await;
            waited += SAVE_POLL_MS;
        }
        // In parts, copied out of the wasm memory as they are written: the whole (10 MB at
        // 100,000 notes) held there beside the index was the initial sync's peak. A step
        // at a time, letting the page draw every SLICE_MS: written at once, it was a frame
        // gap of about 100 ms at 100,000 notes.
        let Some((mut saving, taken)) = with(&db, |i| {
            if i.generation != generation {
                return None;
            }
            i.unsaved = false;
            Some((i.ix.start_save(i.seq?), i.backlog))
        })
        .flatten() else {
            return;
        };
        let parts = js_sys::Array::new();
        let mut started = js_sys::Date::now();
        loop {
            let step = with(&db, |i| {
                (i.generation == generation).then(|| {
                    i.ix.save_step(&mut saving, &mut |part| {
                        parts.push(&js_sys::Uint8Array::from(part));
                    })
                })
            });
            match step {
                Some(Some(Some(true))) => break,
                Some(Some(Some(false))) => {}
                // The index changed meanwhile: saved later, with the change.
                Some(Some(None)) => return save_later(&db, &notes),
                _ => return,
            }
            if js_sys::Date::now() - started >= SLICE_MS {
                sleep_ms(0).await;
                started = js_sys::Date::now();
            }
        }
        with(&db, |i| i.backlog = i.backlog.saturating_sub(taken));
        let _ = notes.store().save_search_parts(&parts).await;
    });
}

/// The index with its merges done a step at a time by the catch-up ([`merge_in_steps`]).
fn stepped(mut ix: SearchIndex) -> SearchIndex {
    ix.set_stepped_merges(true);
    ix
}

fn start(db: &str, notes: Rc<PageNotes>) {
    let generation = INDEX.with(|i| {
        let mut i = i.borrow_mut();
        let generation = i.as_ref().map_or(0, |i| i.generation + 1);
        *i = Some(Index {
            db: db.to_owned(),
            ix: stepped(SearchIndex::new()),
            seq: None,
            busy: false,
            again: false,
            unsaved: false,
            backlog: 0,
            changed_at: 0.0,
            generation,
        });
        generation
    });
    let db = db.to_owned();
    leptos::task::spawn_local(async move {
        for _ in 0..START_WAITS {
            if SHOWN.with(std::cell::Cell::get) {
                break;
            }
            sleep_ms(50).await;
        }
        next_frame().await;
        next_frame().await;
        let current = |i: &Index| i.generation == generation;
        // The saved index, then what was written since.
        let saved = match notes.store().load_search().await {
            Ok(Some(bytes)) => SearchIndex::decode_vec(bytes),
            _ => None,
        };
        if let Some((ix, seq)) = saved {
            let loaded = with(&db, |i| {
                if current(i) {
                    i.ix = stepped(ix);
                    i.seq = Some(seq);
                }
                current(i)
            });
            if loaded == Some(true) {
                catch_up(&db, &notes).await;
                ready();
            }
            return;
        }
        // None saved (or of another format): every note, in chunks by id; the
        // notes written meanwhile are caught up with after.
        let Ok(from) = notes.store().change_seq().await else {
            return;
        };
        let mut after: Option<NoteId> = None;
        loop {
            // Let the page paint and handle input between chunks.
            sleep_ms(0).await;
            let chunk = match notes.store().chunk(after.as_ref(), CHUNK).await {
                Ok(c) => c,
                Err(_) => return,
            };
            let mut started = js_sys::Date::now();
            let mut rest = &chunk[..];
            while !rest.is_empty() {
                // A slice stops where an upsert starts a merge, stepped before the rest
                // (the next upsert would finish it at once).
                let slice = &rest[..rest.len().min(SLICE)];
                let taken = with(&db, |i| {
                    current(i).then(|| i.ix.upsert_until_merging(slice))
                });
                let Some(Some(n)) = taken else {
                    return; // another build or another database
                };
                rest = &rest[n..];
                if !merge_in_steps(&db, generation, &mut started).await {
                    return;
                }
                if js_sys::Date::now() - started >= SLICE_MS {
                    sleep_ms(0).await;
                    started = js_sys::Date::now();
                }
            }
            match chunk.last() {
                Some(n) if chunk.len() == CHUNK => after = Some(n.id.clone()),
                _ => break,
            }
        }
        // What the build left fresh, merged a step at a time (then the shrink is a copy of
        // the columns alone).
        let mut started = js_sys::Date::now();
        with(&db, |i| i.ix.merge_fresh());
        if !merge_in_steps(&db, generation, &mut started).await {
            return;
        }
        if with(&db, |i| {
            if current(i) {
                i.seq = Some(from);
                i.backlog = SAVE_BACKLOG; // saved soon: this was the costly part
                i.ix.shrink_to_fit();
            }
            current(i)
        }) == Some(true)
        {
            catch_up(&db, &notes).await;
            ready();
            save_later(&db, &notes);
        }
    });
}

thread_local! {
    /// The page has shown its first list ([`list_shown`]).
    static SHOWN: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The page has shown its first list: background work (the search index) may start.
pub fn list_shown() {
    SHOWN.with(|s| s.set(true));
}

/// Calls `f` whenever the search index of the store shown becomes ready (loaded or
/// built), so the page can stop saying it is still indexing.
pub fn on_search_ready(f: impl Fn() + 'static) {
    READY.with(|r| *r.borrow_mut() = Some(Box::new(f)));
}
