//! The IndexedDB store with notes in packs (an initial sync's pages, see `client::idb`'s
//! `packs` module), against the memory store as the reference model, in headless Chromium
//! (`wasm-bindgen-test-runner`, see scripts/test.sh): a random sequence (seeded,
//! reproducible) of packed pulls, pulls that read, local edits and deletes, imports,
//! reloads (a new `IdbStore` on the same database) and unpacker steps, every read compared
//! with the model's after every step.
#![cfg(target_arch = "wasm32")]

use client::idb::{IdbStore, set_auto_unpack};
use client::local::{LocalNote, LocalStore, SyncState, Trashed};
use client::memory::MemoryStore;
use sync_core::protocol::{Cursor, PROTOCOL_VERSION, SyncResponse};
use sync_core::{Hlc, NoteId, NoteState};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// xorshift64*: the sequence of a seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// The world of one run: the ids made so far and a clock that never repeats a stamp (the
/// list's order is the stamp's: ties would make two right answers).
struct World {
    rng: Rng,
    ids: Vec<NoteId>,
    clock: u64,
    version: u64,
    cursor: u64,
}

impl World {
    fn tick(&mut self) -> Hlc {
        self.clock += 1 + self.rng.below(3);
        Hlc {
            wall_ms: 1_700_000_000_000 + self.clock,
            counter: 0,
            node: "model".into(),
        }
    }

    fn new_id(&mut self) -> NoteId {
        // Not in the order they are made: the packs' id order is not their stamps' order.
        let id = NoteId(format!("{:016x}-{}", self.rng.next(), self.ids.len()));
        self.ids.push(id.clone());
        id
    }

    fn any_id(&mut self) -> Option<NoteId> {
        (!self.ids.is_empty())
            .then(|| self.ids[self.rng.below(self.ids.len() as u64) as usize].clone())
    }

    fn remote(&mut self, id: NoteId) -> NoteState {
        self.version += 1;
        let deleted = self.rng.chance(5);
        NoteState {
            title: format!("Pulled {} v{}", id.as_str(), self.version),
            content: format!("body \"{}\"\n", self.version),
            id,
            deleted,
            hlc: self.tick(),
            version: self.version,
            strategy: Default::default(),
            conflict: None,
            purged: false,
            fields: Default::default(),
        }
    }

    /// A pulled page: `new` notes never seen, and `old` seen before.
    fn page(&mut self, new: usize, old: usize, more: bool) -> SyncResponse {
        let mut changes = Vec::new();
        for _ in 0..new {
            let id = self.new_id();
            changes.push(self.remote(id));
        }
        for _ in 0..old {
            if let Some(id) = self.any_id() {
                changes.push(self.remote(id));
            }
        }
        // Shuffled: a page's order is the server's, not the ids'.
        for i in (1..changes.len()).rev() {
            let j = self.rng.below(i as u64 + 1) as usize;
            changes.swap(i, j);
        }
        self.cursor += 1;
        SyncResponse {
            protocol: PROTOCOL_VERSION,
            results: vec![],
            changes,
            cursor: Cursor(format!("c{}", self.cursor)),
            has_more: more,
            server_time_ms: 0,
        }
    }
}

/// Pulled note `n{i}` (empty body) at `version`, stamped by its version and `i`.
fn pulled(i: usize, version: u64, deleted: bool) -> NoteState {
    NoteState {
        id: NoteId(format!("n{i:04}")),
        title: format!("Note {i}"),
        content: String::new(),
        deleted,
        hlc: Hlc {
            wall_ms: 1_700_000_000_000 + version,
            counter: i as u32,
            node: "server-side".into(),
        },
        version,
        strategy: Default::default(),
        conflict: None,
        purged: false,
        fields: Default::default(),
    }
}

/// Pulled page `n` of a pull that goes on.
fn pulled_page(n: u64, changes: Vec<NoteState>) -> SyncResponse {
    SyncResponse {
        protocol: PROTOCOL_VERSION,
        results: vec![],
        changes,
        cursor: Cursor(format!("c{n}")),
        has_more: true,
        server_time_ms: 0,
    }
}

/// Every read of the two stores, compared.
async fn same(idb: &IdbStore, model: &MemoryStore, ids: &[NoteId], step: &str) {
    let mut asked = ids.to_vec();
    asked.push(NoteId("missing".into()));
    assert_eq!(
        idb.get_many(&asked).await.unwrap(),
        model.get_many(&asked).await.unwrap(),
        "{step}: get_many"
    );
    for id in asked.iter().step_by(97) {
        assert_eq!(
            idb.get(id).await.unwrap(),
            model.get(id).await.unwrap(),
            "{step}: get {id:?}"
        );
    }
    let sorted = |mut v: Vec<LocalNote>| {
        v.sort_by(|a, b| a.id.cmp(&b.id));
        v
    };
    assert_eq!(
        sorted(idb.list().await.unwrap()),
        sorted(model.list().await.unwrap()),
        "{step}: list"
    );
    assert_eq!(
        sorted(idb.pending().await.unwrap()),
        sorted(model.pending().await.unwrap()),
        "{step}: pending"
    );
    assert_eq!(
        sorted(idb.trashed().await.unwrap()),
        sorted(model.trashed().await.unwrap()),
        "{step}: trashed"
    );
    assert_eq!(
        idb.live_count().await.unwrap(),
        model.live_count().await.unwrap(),
        "{step}: live_count"
    );
    let seq = model.change_seq().await.unwrap();
    assert_eq!(idb.change_seq().await.unwrap(), seq, "{step}: change_seq");
    assert_eq!(
        idb.cursor().await.unwrap(),
        model.cursor().await.unwrap(),
        "{step}: cursor"
    );
    // The list, page by page.
    let mut before: Option<Hlc> = None;
    loop {
        let (a, b) = (
            idb.page(before.as_ref(), 40).await.unwrap(),
            model.page(before.as_ref(), 40).await.unwrap(),
        );
        assert_eq!(a, b, "{step}: page before {before:?}");
        match b.last() {
            Some(n) if b.len() == 40 => before = Some(n.hlc.clone()),
            _ => break,
        }
    }
    // Every note by id, chunk by chunk.
    let mut after: Option<NoteId> = None;
    loop {
        let (a, b) = (
            idb.chunk(after.as_ref(), 60).await.unwrap(),
            model.chunk(after.as_ref(), 60).await.unwrap(),
        );
        assert_eq!(a, b, "{step}: chunk after {after:?}");
        match b.last() {
            Some(n) if b.len() == 60 => after = Some(n.id.clone()),
            _ => break,
        }
    }
    // What changed, from the start and from near the end.
    for from in [0, seq.saturating_sub(20)] {
        let mut after = from;
        loop {
            let (a, b) = (
                idb.changed_since(after, 60).await.unwrap(),
                model.changed_since(after, 60).await.unwrap(),
            );
            assert_eq!(a, b, "{step}: changed_since {after}");
            match b.last() {
                Some((s, _)) if b.len() == 60 => after = *s,
                _ => break,
            }
        }
    }
}

async fn run(seed: u64, steps: usize, auto_unpack: bool) {
    set_auto_unpack(auto_unpack);
    let name = format!("t-packs-{seed}");
    IdbStore::delete(&name).await.unwrap();
    let mut idb = IdbStore::open(&name).await.unwrap();
    // Another tab on the same database, open all along: some writes and unpacker steps
    // are its, and it reads as the model too (what it knows of the packs goes stale under
    // it, and must be caught up).
    let other = IdbStore::open(&name).await.unwrap();
    let model = MemoryStore::new();
    let mut w = World {
        rng: Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1),
        ids: Vec::new(),
        clock: 0,
        version: 0,
        cursor: 0,
    };
    // Packs written (pages written without reads), by this store and those before it.
    let (mut packed, mut pulling) = (0, false);
    for step in 0..steps {
        // A long pull goes on more often than not (a pack needs two pages in a row).
        let op = match pulling && w.rng.chance(60) {
            true => 0,
            false => w.rng.below(100),
        };
        let by_other = w.rng.chance(30);
        let s = if by_other { &other } else { &idb };
        let what = match op {
            // A page of a long pull: new notes (written as a pack once the store knows its
            // keys), sometimes with notes already here.
            0..=34 => {
                let old = if w.rng.chance(20) {
                    1 + w.rng.below(3) as usize
                } else {
                    0
                };
                let more = w.rng.chance(75);
                let new = 100 + w.rng.below(30) as usize;
                let r = w.page(new, old, more);
                pulling = more;
                idb.commit_sync(&[], &r).await.unwrap();
                model.commit_sync(&[], &r).await.unwrap();
                format!("pull page ({old} old, more {more})")
            }
            // A short pull that ends any long one.
            35..=44 => {
                let (new, old) = (w.rng.below(3) as usize, 1 + w.rng.below(4) as usize);
                let r = w.page(new, old, false);
                pulling = false;
                idb.commit_sync(&[], &r).await.unwrap();
                model.commit_sync(&[], &r).await.unwrap();
                "short pull".to_owned()
            }
            // An edit here: pending.
            45..=59 => {
                let Some(id) = w.any_id() else { continue };
                let hlc = w.tick();
                let title = format!("Edited at {step}");
                let mut edit = |n: &mut LocalNote| {
                    n.title = title.clone();
                    n.hlc = hlc.clone();
                    n.pending = Some(format!("c{step}").as_str().into());
                    n.sync = SyncState::Pending;
                    true
                };
                let a = s.update_note(&id, &mut edit).await.unwrap();
                let b = model.update_note(&id, &mut edit).await.unwrap();
                assert_eq!(a, b, "step {step}: the edit's result");
                "edit".to_owned()
            }
            // A delete here, kept in the trash.
            60..=66 => {
                let Some(id) = w.any_id() else { continue };
                let hlc = w.tick();
                let mut delete = |n: &mut LocalNote| {
                    n.trash = Some(Trashed {
                        title: n.title.clone(),
                        content: n.content.clone(),
                        deleted_ms: hlc.wall_ms,
                    });
                    n.deleted = true;
                    n.hlc = hlc.clone();
                    n.pending = Some(format!("d{step}").as_str().into());
                    n.sync = SyncState::Pending;
                    true
                };
                let a = s.update_note(&id, &mut delete).await.unwrap();
                let b = model.update_note(&id, &mut delete).await.unwrap();
                assert_eq!(a, b, "step {step}: the delete's result");
                "delete".to_owned()
            }
            // A whole note written (another tab's put).
            67..=71 => {
                let Some(id) = w.any_id() else { continue };
                let mut n = LocalNote::from_remote(&w.remote(id));
                n.title = format!("Put at {step}");
                s.put(&n).await.unwrap();
                model.put(&n).await.unwrap();
                "put".to_owned()
            }
            // An import: some new, some here already.
            72..=76 => {
                let mut notes = Vec::new();
                for k in 0..4 {
                    let id = match k % 2 {
                        0 => w.any_id().unwrap_or_else(|| w.new_id()),
                        _ => w.new_id(),
                    };
                    notes.push(LocalNote::from_remote(&w.remote(id)));
                }
                let a = s.add_new(&notes).await.unwrap();
                let b = model.add_new(&notes).await.unwrap();
                assert_eq!(a, b, "step {step}: which notes are new");
                "import".to_owned()
            }
            // A reload: the same database, a new store.
            77..=84 => {
                packed += idb.pages_written_unread();
                drop(idb);
                idb = IdbStore::open(&name).await.unwrap();
                "reload".to_owned()
            }
            // The unpacker moves one pack.
            _ => {
                let moved = s.unpack_one().await.unwrap();
                format!("unpack ({moved})")
            }
        };
        let packs = idb.packs().await.unwrap();
        let what = format!("seed {seed} step {step} {what} (other tab {by_other}, {packs} packs)");
        same(&idb, &model, &w.ids, &what).await;
        // The other tab reads after every step, or after a few (more stale then).
        if w.rng.chance(35) {
            same(&other, &model, &w.ids, &format!("{what}, the other tab")).await;
        }
    }
    packed += idb.pages_written_unread();
    assert!(
        packed >= 2,
        "seed {seed}: {packed} packs written, too few to test them"
    );
    // Unpacked to the end: the store is as without packs, and reads the same.
    while idb.unpack_one().await.unwrap() {}
    assert_eq!(idb.packs().await.unwrap(), 0);
    same(&idb, &model, &w.ids, &format!("seed {seed}: all unpacked")).await;
    same(
        &other,
        &model,
        &w.ids,
        &format!("seed {seed}: all unpacked, the other tab"),
    )
    .await;
    set_auto_unpack(true);
}

#[wasm_bindgen_test]
async fn packs_read_as_the_model_seed_1() {
    run(1, 20, false).await;
}

#[wasm_bindgen_test]
async fn packs_read_as_the_model_seed_2() {
    run(2, 20, false).await;
}

#[wasm_bindgen_test]
async fn packs_read_as_the_model_seed_3() {
    run(3, 20, false).await;
}

/// With the unpacker running in the background meanwhile (its steps fall where they may).
#[wasm_bindgen_test]
async fn packs_read_as_the_model_while_unpacking() {
    run(4, 20, true).await;
}

/// A walk by id through many packs reads every pack's body at every step: the first
/// `chunk` that would read more than a few unpacks them all, then reads records, and
/// returns what the model does.
#[wasm_bindgen_test]
async fn a_walk_by_id_through_many_packs_unpacks_them_first() {
    set_auto_unpack(true);
    let name = "t-packs-chunk";
    IdbStore::delete(name).await.unwrap();
    let idb = IdbStore::open(name).await.unwrap();
    let model = MemoryStore::new();
    let mut w = World {
        rng: Rng(7),
        ids: Vec::new(),
        clock: 0,
        version: 0,
        cursor: 0,
    };
    // Every page is a pack, the first too (the store learns its keys before it: written
    // through the reading path, a get and a put a note, it was the initial sync's longest
    // task); the pull goes on, so the unpacker has not started.
    for _ in 0..7 {
        let r = w.page(100, 0, true);
        idb.commit_sync(&[], &r).await.unwrap();
        model.commit_sync(&[], &r).await.unwrap();
    }
    assert_eq!(
        idb.packs().await.unwrap(),
        7,
        "the first page is a pack too"
    );
    assert_eq!(
        idb.chunk(None, 50).await.unwrap(),
        model.chunk(None, 50).await.unwrap()
    );
    assert_eq!(idb.packs().await.unwrap(), 0, "unpacked by the walk");
    same(&idb, &model, &w.ids, "after the walk").await;
}

/// Another tab's edit of a packed note, its unpacking and its new packs are seen by a tab
/// that read the packs before: what it knows of them is checked in every transaction.
#[wasm_bindgen_test]
async fn another_tab_sees_what_changed_in_the_packs() {
    set_auto_unpack(false);
    let name = "t-packs-tabs";
    IdbStore::delete(name).await.unwrap();
    let (one, two) = (
        IdbStore::open(name).await.unwrap(),
        IdbStore::open(name).await.unwrap(),
    );
    let model = MemoryStore::new();
    let mut w = World {
        rng: Rng(11),
        ids: Vec::new(),
        clock: 0,
        version: 0,
        cursor: 0,
    };
    for _ in 0..3 {
        let r = w.page(100, 0, true);
        one.commit_sync(&[], &r).await.unwrap();
        model.commit_sync(&[], &r).await.unwrap();
    }
    assert_eq!(
        one.packs().await.unwrap(),
        3,
        "every page a pack, the first too"
    );
    same(&two, &model, &w.ids, "tab two, after the packs").await;
    // Tab one edits a note of the last pack (which tab two holds in memory).
    let id = w.ids[250].clone();
    let hlc = w.tick();
    let mut edit = |n: &mut LocalNote| {
        n.title = "Edited in tab one".into();
        n.hlc = hlc.clone();
        true
    };
    one.update_note(&id, &mut edit).await.unwrap();
    model.update_note(&id, &mut edit).await.unwrap();
    same(&two, &model, &w.ids, "tab two, after tab one's edit").await;
    // Tab one unpacks a pack, then pulls another.
    assert!(one.unpack_one().await.unwrap());
    same(&two, &model, &w.ids, "tab two, after tab one unpacked").await;
    let r = w.page(100, 0, true);
    one.commit_sync(&[], &r).await.unwrap();
    model.commit_sync(&[], &r).await.unwrap();
    same(&two, &model, &w.ids, "tab two, after tab one's next page").await;
    set_auto_unpack(true);
}

/// Notes with equal stamps (a server's batch can give many notes one) keep their places in
/// the list whether they are records or pack copies: the list's read through the packs
/// orders them as the `order` index does once they are unpacked (by id, descending), so
/// the list does not reorder them when the background unpacker moves them. Four groups of
/// one stamp, ids interleaved: three pages of a pull (the second and third are packs; the
/// first is read, or a pack too where the store learns its keys before it), then an
/// import (records).
#[wasm_bindgen_test]
async fn equal_stamps_keep_their_places_when_unpacked() {
    set_auto_unpack(false);
    let name = "t-packs-ties";
    IdbStore::delete(name).await.unwrap();
    let idb = IdbStore::open(name).await.unwrap();
    // Every note with the same stamp.
    let note = |i: usize| NoteState {
        hlc: Hlc {
            wall_ms: 1_700_000_000_000,
            counter: 0,
            node: "server-side".into(),
        },
        ..pulled(i, 1, false)
    };
    for group in 0..3 {
        let r = pulled_page(
            group as u64,
            (0..100).map(|i| note(4 * i + group)).collect(),
        );
        idb.commit_sync(&[], &r).await.unwrap();
    }
    let imported: Vec<LocalNote> = (0..100)
        .map(|i| LocalNote::from_remote(&note(4 * i + 3)))
        .collect();
    idb.add_new(&imported).await.unwrap();
    assert!(
        idb.packs().await.unwrap() >= 2,
        "the pages after the first are packs"
    );
    let ids = |page: Vec<LocalNote>| page.into_iter().map(|n| n.id.0).collect::<Vec<_>>();
    let expected: Vec<String> = (0..400).rev().map(|i| format!("n{i:04}")).collect();
    // The whole list, and shorter pages: each the list's first notes (the app asks for a
    // growing page).
    for when in ["through the packs", "unpacked"] {
        if when == "unpacked" {
            while idb.unpack_one().await.unwrap() {}
            assert_eq!(idb.packs().await.unwrap(), 0);
        }
        for limit in [400, 1, 50, 150, 399] {
            assert_eq!(
                ids(idb.page(None, limit).await.unwrap()),
                expected[..limit],
                "{when}: page of {limit}"
            );
        }
    }
    set_auto_unpack(true);
}

/// A packed tombstone is not in the count: pulled again, live, it counts once (the header
/// keeps no order for it; an empty one read as "listed" counted it twice).
#[wasm_bindgen_test]
async fn a_packed_tombstone_pulled_again_live_is_counted_once() {
    set_auto_unpack(false);
    let name = "t-packs-tombstone";
    IdbStore::delete(name).await.unwrap();
    let idb = IdbStore::open(name).await.unwrap();
    let model = MemoryStore::new();
    let (note, page) = (pulled, pulled_page);
    // Three pages of 100 (a pull's large pages: the last two are packs); every third note
    // of the last two deleted.
    for p in 0..3 {
        let r = page(
            p,
            (0..100)
                .map(|i| note(100 * p as usize + i, 1, p > 0 && i % 3 == 0))
                .collect(),
        );
        idb.commit_sync(&[], &r).await.unwrap();
        model.commit_sync(&[], &r).await.unwrap();
    }
    assert!(
        idb.packs().await.unwrap() >= 1,
        "the pages after the first are packs"
    );
    assert_eq!(
        idb.live_count().await.unwrap(),
        model.live_count().await.unwrap()
    );
    // The tombstones come back, and a live packed note is deleted.
    let back: Vec<NoteState> = [100, 103, 199, 200, 299]
        .into_iter()
        .map(|i| note(i, 2, false))
        .chain([note(101, 2, true)])
        .collect();
    let r = page(3, back);
    idb.commit_sync(&[], &r).await.unwrap();
    model.commit_sync(&[], &r).await.unwrap();
    assert_eq!(
        idb.live_count().await.unwrap(),
        model.live_count().await.unwrap()
    );
    // 100 + 66 + 66 live, five back, one gone.
    assert_eq!(idb.live_count().await.unwrap(), 236);
    set_auto_unpack(true);
}
