//! The IndexedDB [`LocalStore`], through `rexie`.
//!
//! Schema (database `tern`, IndexedDB version [`SCHEMA_VERSION`]): object store `notes`
//! keyed by `id`, holding [`LocalNote`] records; object store `meta` with out-of-line
//! string keys (node id, cursor, clock offset, data version). Records are upgraded by
//! [`crate::local::migrate_note`] when the database is opened, in one transaction. A sync
//! response is applied in one read-write transaction over both stores, so the cursor never
//! moves without the data it covers.
//!
//! Two indexes on `notes` make the work of a sync or of the list cost what it shows, not
//! how many notes the device has (schema 3, data version 3):
//! - `pending` (key path `pending`, the change id of an edit not accepted yet): the outbox.
//!   A synced note has `pending: null`, which is not a key, so it is not in the index:
//!   [`LocalStore::pending`] and [`LocalStore::pending_count`] read only pending notes.
//! - `order` (key path `order`): every live note's record carries `order`, its stamp as
//!   text (`Hlc`'s fixed-width form sorts as the stamp does); a tombstone has none, nor has a
//!   notebook or tag record (they are not in the notes list, nor in its count). The list
//!   reads its pages from the end of this index ([`LocalStore::page`]: a cursor jumps to
//!   the page's oldest key, one `getAll` reads the page). `order` is written here, from the
//!   note, on every write;
//!   [`LocalNote`] does not know it (it is ignored when read).
//!
//! Schema 4 (data version 4) adds what makes a count and a catch-up cheap:
//! - `seq` (key path `seq`): every write of a record stamps it with the next number of the
//!   store's change sequence ([`LocalStore::change_seq`]), so "what changed since I last
//!   looked" is one range of this index ([`LocalStore::changed_since`]); the search index
//!   catches up with it after a save, a sync or another tab's write.
//! - the meta record `note_stats`, `"<last seq> <live notes>"`, read and written in the
//!   same transaction as every note write, so [`LocalStore::live_count`] is one read
//!   (counting the `order` index walks all of it: a second at 100,000 notes).
//! - the object store `search`, out-of-line keys: the app's persisted search index (bytes,
//!   [`IdbStore::load_search`]), in a store of its own so that writing it never holds up
//!   a note write.
//!
//! Schema 5 (data version 5) adds `trashed` (key path `trashed`): the record of a deleted
//! note whose text the device keeps for the trash carries the delete's time there (written
//! from the note on every write, like `order`), so [`LocalStore::trashed`] reads the trash
//! only. The migration writes the trash's records again; the others are unchanged.
//!
//! A transaction's requests are issued together where they do not depend on each other (a
//! sync page's reads, then its writes; a page of search results): IndexedDB answers them
//! in order, and each request awaited alone costs a round trip through the event loop.
//!
//! Schema 6 (data version 5) adds the object stores `packs` and `pack_heads`: the pages of
//! a long pull (an initial sync) are written without reading a note where the store knows
//! the note is not here ([`Known`]: its keys, learnt once, kept by each page, valid while
//! the change sequence has not moved), each as ONE record, a pack ([`packs`]: IndexedDB's
//! cost is per record), through the watching connection's plain IndexedDB calls, in a
//! transaction that first checks the change sequence; if anything else wrote meanwhile,
//! the page is read and reconciled as any other. Every note read sees `notes` and the
//! packs ([`IdbStore::begin`] gives a transaction and the packs' [`Tier`] valid in it);
//! every write goes to `notes`, whose record shadows a pack copy. An unpacker moves the
//! packs into `notes` after the pull ([`IdbStore::unpack_one`]).
//!
//! Layout: this module (the store, its schema and migrations, the sync's two write paths,
//! the unpacker); `packs` (the packs' stored form and the in-memory [`Tier`]); `raw`
//! (IndexedDB called directly); `watch` (the connection that closes for an upgrade).

mod common;
mod packs;

use common::{id_hash, unavailable};

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use futures::future::join_all;
use rexie::{Direction, Index, KeyRange, ObjectStore, Rexie, TransactionMode};
use serde::de::DeserializeOwned;
use sync_core::protocol::{Change, Cursor, SyncResponse};
use sync_core::{Hlc, NoteId};
use wasm_bindgen::JsValue;

use crate::local::{
    DATA_VERSION, LocalNote, LocalStore, META_CURSOR, META_DATA_VERSION, StoreError, affected_ids,
    migrate_note, reconcile,
};
use crate::platform;
use packs::{PACK_HEADS, PACKS, Tier};

const NOTES: &str = "notes";
const META: &str = "meta";
/// The local schema version. Bump it, with a migration in [`IdbStore::open`], whenever the
/// stored shape changes. A newer schema must keep listing `packs` and `pack_heads` (or
/// unpack them in its upgrade): the database builder deletes every object store a schema
/// does not list, and a device may still hold notes only in packs.
pub const SCHEMA_VERSION: u32 = 6;
/// The outbox index of `notes`.
const BY_PENDING: &str = "pending";
/// The index of live notes by stamp.
const BY_ORDER: &str = "order";
/// The index of notes by change sequence number.
const BY_SEQ: &str = "seq";
/// The index of the trash: deleted notes whose text the device keeps, by delete time.
const BY_TRASH: &str = "trashed";
/// The object store of the persisted search index.
const SEARCH: &str = "search";
/// Its one key.
const SEARCH_KEY: &str = "index";
/// The meta key of the change sequence and the live count.
const META_STATS: &str = "note_stats";

/// The `note_stats` record: the change sequence's last number and how many live notes
/// there are, kept by every write of a note in the same transaction.
#[derive(Clone, Copy, Debug, Default)]
struct Stats {
    seq: u64,
    live: u64,
}

impl Stats {
    fn parse(v: Option<JsValue>) -> Option<Self> {
        let text = v?.as_string()?;
        let (seq, live) = text.split_once(' ')?;
        Some(Self {
            seq: seq.parse().ok()?,
            live: live.parse().ok()?,
        })
    }

    async fn read(meta: &rexie::Store) -> Result<Self, StoreError> {
        let v = meta
            .get(JsValue::from_str(META_STATS))
            .await
            .map_err(unavailable)?;
        // Written by the migration to data version 4, and by every write since.
        Self::parse(v).ok_or_else(|| StoreError::Corrupt("the note counter is missing".into()))
    }

    async fn write(self, meta: &rexie::Store) -> Result<(), StoreError> {
        meta.put(
            &JsValue::from_str(&format!("{} {}", self.seq, self.live)),
            Some(&JsValue::from_str(META_STATS)),
        )
        .await
        .map_err(unavailable)?;
        Ok(())
    }

    /// A note (a live one if `old_live`, or none) is replaced by `new`: the next sequence
    /// number, for the new record.
    fn replace_live(&mut self, old_live: bool, new: &LocalNote) -> u64 {
        if old_live {
            self.live = self.live.saturating_sub(1);
        }
        if is_listed(new) {
            self.live += 1;
        }
        self.seq += 1;
        self.seq
    }
}

/// Requests of one batch write issued at once (see [`IdbStore::add_new`]).
const IDB_GROUP: usize = 100;

/// A stored record is a live note (read without decoding it): it carries `order`, which
/// [`note_to_js`] writes on live notes only (not on notebook and tag records), and every
/// record of a database at data version 3 or later was written so.
fn is_live(raw: &JsValue) -> bool {
    js_sys::Reflect::get(raw, &"order".into()).is_ok_and(|o| o.is_string())
}

/// Tern's notes in the browser's IndexedDB.
///
/// When another page or worker (a newer build) asks to upgrade the database, this store
/// closes its connection at once, so the upgrade is never blocked by an old tab; its later
/// calls fail with [`CLOSED_FOR_UPGRADE`] and the global scope receives the DOM event
/// [`CLOSED_EVENT`], on which the page asks the user to reload.
pub struct IdbStore {
    db: Rc<RefCell<Option<Rexie>>>,
    /// The watching connection; a bulk sync page is written through it (see
    /// [`IdbStore::commit_sync`]).
    watch: Option<watch::VersionWatch>,
    /// Which notes the store holds, while a long pull runs (see [`Known`]).
    known: RefCell<Option<Known>>,
    /// Sync pages written without reading a note (tests check when).
    unread_pages: Cell<usize>,
    /// What this page knows of the packs (see [`packs`]), shared with the unpacker.
    tier: Rc<RefCell<Rc<Tier>>>,
    /// True while this store's unpacker runs.
    unpacking: Rc<Cell<bool>>,
    /// When this page last began a note transaction (ms): the unpacker gives way to it.
    last_use: Rc<Cell<u64>>,
    /// The pack bodies read last.
    bodies: Rc<packs::Bodies>,
}

/// What this store knows of its `notes` between the pages of a long pull: every note id in
/// it (as hashes, sorted) when `note_stats` was at `seq`. While the sequence has not moved
/// (no write by this page, another tab or the service worker: each bumps it in the
/// transaction of the write), a pulled note whose id is not among them has no record here,
/// so no local edit to keep: its page is written without reading a record (a hash
/// collision only costs the read). Learnt from the keys (one request) on the first large
/// page, kept up by each page this store commits, forgotten when the pull ends or the
/// sequence moved under it.
#[derive(Debug)]
struct Known {
    seq: u64,
    ids: Vec<u64>,
}

impl Known {
    /// The store's keys as of `seq`: `keys`, those of `notes`, and the packs' `packed`.
    fn of(seq: u64, keys: &[JsValue], packed: impl Iterator<Item = String>) -> Self {
        let mut ids: Vec<u64> = keys
            .iter()
            .filter_map(JsValue::as_string)
            .chain(packed)
            .map(|id| id_hash(&id))
            .collect();
        ids.sort_unstable();
        Self { seq, ids }
    }

    fn has(&self, id: &NoteId) -> bool {
        self.ids.binary_search(&id_hash(id.as_str())).is_ok()
    }

    /// Takes in a page's ids: sorted on their own, then merged (sorting the whole list
    /// again for every page costs more than the page's writes).
    fn add<'a>(&mut self, ids: impl Iterator<Item = &'a NoteId>) {
        let mut new: Vec<u64> = ids.map(|id| id_hash(id.as_str())).collect();
        new.sort_unstable();
        let old = std::mem::take(&mut self.ids);
        let mut merged = Vec::with_capacity(old.len() + new.len());
        let (mut a, mut b) = (old.into_iter().peekable(), new.into_iter().peekable());
        loop {
            let next = match (a.peek(), b.peek()) {
                (Some(x), Some(y)) if x <= y => a.next(),
                (_, Some(_)) => b.next(),
                (Some(_), None) => a.next(),
                (None, None) => break,
            };
            if let Some(h) = next
                && merged.last() != Some(&h)
            {
                merged.push(h);
            }
        }
        self.ids = merged;
    }
}

/// A pulled page at least this large is worth learning the store's keys for (see [`Known`]).
const BULK_PAGE: usize = 100;
/// The longest stretch of work on the page's thread between two yields while a bulk page
/// is prepared and written, so the page keeps drawing frames.
const SLICE_MS: u64 = 8;

impl std::fmt::Debug for IdbStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdbStore").finish_non_exhaustive()
    }
}

/// The error of calls made after the store closed for another page's upgrade.
pub const CLOSED_FOR_UPGRADE: &str =
    "Tern was updated in another tab: reload this page to keep working (saved notes are safe)";
/// The event dispatched on the global scope when the store closed for an upgrade.
pub const CLOSED_EVENT: &str = "tern-store-closed";

/// Waits for a read-write transaction to commit. The browser aborts a transaction it cannot
/// write (in practice: storage is full, `QuotaExceededError`; rexie does not expose the
/// reason) and rexie reports that as a successful `done()`; it is an error here.
async fn committed(tx: rexie::Transaction) -> Result<(), StoreError> {
    if tx.done().await.map_err(unavailable)?.is_committed() {
        Ok(())
    } else {
        Err(StoreError::Unavailable(
            "the browser aborted the write: storage is full (or unavailable)".into(),
        ))
    }
}

// Records cross between Rust and IndexedDB as JSON (`serde_json` + the browser's `JSON`):
// the wire already uses serde_json, so each type carries one (de)serializer in the wasm
// instead of two, and a record is one call across the JS boundary instead of one per field.

/// A note's record: the note, `order` (its stamp) when it is live, for the list index,
/// and `seq`, its change sequence number (`None`: the migration rewriting old records,
/// which carry none).
fn note_to_js(note: &LocalNote, seq: Option<u64>) -> Result<JsValue, StoreError> {
    let mut text = String::new();
    record_json(&mut text, note, seq)?;
    js_sys::JSON::parse(&text).map_err(|_| StoreError::Corrupt("unparsable record".into()))
}

/// Appends a note's record (see [`note_to_js`]) to `out` as JSON: the note's own JSON with
/// the index fields added before its closing brace (a bulk page is one array of them, one
/// `JSON.parse` for the page).
fn record_json(out: &mut String, note: &LocalNote, seq: Option<u64>) -> Result<(), StoreError> {
    let json = serde_json::to_string(note).map_err(corrupt)?;
    // Notebook and tag records are not in the notes list (nor its count: `is_live`).
    let order = is_listed(note).then(|| note.hlc.to_string());
    let trashed = note.trash.as_ref().filter(|_| note.deleted);
    close_record(
        out,
        &json,
        order.as_deref(),
        trashed.map(|t| t.deleted_ms),
        seq,
    )
}

/// The record of pulled state `p` that no local edit touches, as [`record_json`] writes
/// `LocalNote::from_remote(p)`, without building the note; `hlc` is `p.hlc` as text, and
/// `listed` says whether it is in the list ([`is_listed`]).
fn pulled_record_json(
    out: &mut String,
    p: &sync_core::NoteState,
    hlc: &str,
    listed: bool,
    seq: u64,
) -> Result<(), StoreError> {
    let json = LocalNote::remote_json(p, hlc).map_err(corrupt)?;
    close_record(out, &json, listed.then_some(hlc), None, Some(seq))
}

fn corrupt(e: serde_json::Error) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

/// Appends note JSON `json` to `out` with the index fields before its closing brace: `order`
/// (the note's clock as text, when it is in the list), `trashed` and `seq`.
fn close_record(
    out: &mut String,
    json: &str,
    order: Option<&str>,
    trashed: Option<u64>,
    seq: Option<u64>,
) -> Result<(), StoreError> {
    let body = json
        .strip_suffix('}')
        .ok_or_else(|| StoreError::Corrupt("a record that is not an object".into()))?;
    out.push_str(body);
    let mut field = |k: &str, v: &str| {
        if !out.ends_with('{') {
            out.push(',');
        }
        out.push('"');
        out.push_str(k);
        out.push_str("\":");
        out.push_str(v);
    };
    if let Some(order) = order {
        field("order", &serde_json::to_string(order).map_err(corrupt)?);
    }
    if let Some(ms) = trashed {
        field("trashed", &ms.to_string());
    }
    if let Some(seq) = seq {
        // Exact as a JS number below 2^53 writes.
        field("seq", &seq.to_string());
    }
    out.push('}');
    Ok(())
}

fn from_js<T: DeserializeOwned>(v: JsValue) -> Result<T, StoreError> {
    let text: String = js_sys::JSON::stringify(&v)
        .map_err(|_| StoreError::Corrupt("a record that is not JSON".into()))?
        .into();
    serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(e.to_string()))
}

impl IdbStore {
    /// Opens (creating or upgrading) the database `name`.
    pub async fn open(name: &str) -> Result<Self, StoreError> {
        let db = Rexie::builder(name)
            .version(SCHEMA_VERSION)
            .add_object_store(
                ObjectStore::new(NOTES)
                    .key_path("id")
                    .add_index(Index::new(BY_PENDING, "pending"))
                    .add_index(Index::new(BY_ORDER, "order"))
                    .add_index(Index::new(BY_SEQ, "seq"))
                    .add_index(Index::new(BY_TRASH, "trashed")),
            )
            .add_object_store(ObjectStore::new(META))
            .add_object_store(ObjectStore::new(SEARCH))
            .add_object_store(ObjectStore::new(PACKS))
            .add_object_store(ObjectStore::new(PACK_HEADS))
            .build()
            .await
            .map_err(unavailable)?;
        let db = Rc::new(RefCell::new(Some(db)));
        let mut store = Self {
            db: db.clone(),
            watch: None,
            known: RefCell::new(None),
            unread_pages: Default::default(),
            tier: Default::default(),
            unpacking: Default::default(),
            last_use: Default::default(),
            bodies: Default::default(),
        };
        // The watching connection opens while the data version is checked (both are on
        // the way to the first paint).
        let (watch, migrated) =
            futures::join!(watch::VersionWatch::start(name, db), store.migrate());
        store.watch = watch;
        migrated?;
        // Packs left by a pull that ended before they were all unpacked (a reload).
        store.refresh().await?;
        store.start_unpacking();
        Ok(store)
    }

    /// A transaction, unless the store was closed for an upgrade.
    fn tx(&self, stores: &[&str], mode: TransactionMode) -> Result<rexie::Transaction, StoreError> {
        let db = self.db.borrow();
        let db = db
            .as_ref()
            .ok_or_else(|| StoreError::Unavailable(CLOSED_FOR_UPGRADE.into()))?;
        db.transaction(stores, mode).map_err(unavailable)
    }

    /// Brings every record to [`DATA_VERSION`], with the version mark, in one transaction.
    async fn migrate(&self) -> Result<(), StoreError> {
        let tx = self.tx(&[NOTES, META], TransactionMode::ReadWrite)?;
        let notes = tx.store(NOTES).map_err(unavailable)?;
        let meta = tx.store(META).map_err(unavailable)?;
        let from = meta
            .get(JsValue::from_str(META_DATA_VERSION))
            .await
            .map_err(unavailable)?
            .and_then(|v| v.as_string())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(1);
        if from >= DATA_VERSION {
            return tx.done().await.map(drop).map_err(unavailable);
        }
        if from < 3 {
            for raw in notes.get_all(None, None).await.map_err(unavailable)? {
                let mut note: LocalNote = from_js(raw)?;
                migrate_note(from, &mut note);
                notes
                    .put(&note_to_js(&note, None)?, None)
                    .await
                    .map_err(unavailable)?;
            }
        }
        // 4 -> 5: the trash's records get `trashed` (every record is read once; only
        // those are written, with their sequence number kept). Records rewritten above
        // have it already.
        if (3..5).contains(&from) {
            for raw in notes.get_all(None, None).await.map_err(unavailable)? {
                let field = |o: &JsValue, k: &str| js_sys::Reflect::get(o, &k.into()).ok();
                let deleted_ms = field(&raw, "trash")
                    .filter(|t| t.is_object())
                    .and_then(|t| field(&t, "deleted_ms"))
                    .and_then(|ms| ms.as_f64());
                if let Some(ms) =
                    deleted_ms.filter(|_| field(&raw, "deleted") == Some(JsValue::TRUE))
                {
                    js_sys::Reflect::set(&raw, &"trashed".into(), &JsValue::from_f64(ms)).map_err(
                        |_| StoreError::Corrupt("a record that is not an object".into()),
                    )?;
                    notes.put(&raw, None).await.map_err(unavailable)?;
                }
            }
        }
        if from >= 4 {
            return Self::mark_migrated(tx, &meta).await;
        }
        // 3 -> 4: the live count, counted once (the records are unchanged).
        let live = notes
            .index(BY_ORDER)
            .map_err(unavailable)?
            .count(None)
            .await
            .map_err(unavailable)?;
        Stats {
            seq: 0,
            live: u64::from(live),
        }
        .write(&meta)
        .await?;
        Self::mark_migrated(tx, &meta).await
    }

    /// Records [`DATA_VERSION`] and commits the migration.
    async fn mark_migrated(tx: rexie::Transaction, meta: &rexie::Store) -> Result<(), StoreError> {
        meta.put(
            &JsValue::from_str(&DATA_VERSION.to_string()),
            Some(&JsValue::from_str(META_DATA_VERSION)),
        )
        .await
        .map_err(unavailable)?;
        tx.done().await.map_err(unavailable)?;
        Ok(())
    }

    /// How many sync pages this store wrote without reading a note (see [`Known`]).
    #[doc(hidden)]
    pub fn pages_written_unread(&self) -> usize {
        self.unread_pages.get()
    }

    /// Closes the connection (the service worker closes it after each sync, so it never
    /// holds up a schema upgrade by a newer build).
    pub fn close(self) {
        if let Some(db) = self.db.borrow_mut().take() {
            db.close();
        }
    }

    /// Removes these notes' records (notes that moved to another database: the notes
    /// written before any sign-in, when they join an account), in one transaction.
    pub async fn remove(&self, ids: &[NoteId]) -> Result<(), StoreError> {
        // (The database of the notes written before any sign-in is never synced, so has no
        // packs; were there any, they are unpacked first, so only `notes` holds notes.)
        while self.unpack_one().await? {}
        if !self.tier.borrow().keys().is_empty() {
            // (No watching connection: nothing unpacked.) Removing records that shadow a
            // pack copy would bring the older copy back.
            return Err(StoreError::Unavailable(
                "notes are still being unpacked: try again shortly".into(),
            ));
        }
        let tx = self.tx(&[NOTES, META], TransactionMode::ReadWrite)?;
        let store = tx.store(NOTES).map_err(unavailable)?;
        let meta = tx.store(META).map_err(unavailable)?;
        let mut stats = Stats::read(&meta).await?;
        let key = |id: &NoteId| JsValue::from_str(id.as_str());
        let old = join_all(ids.iter().map(|id| store.get(key(id)))).await;
        for raw in old {
            if raw.map_err(unavailable)?.is_some_and(|r| is_live(&r)) {
                stats.live = stats.live.saturating_sub(1);
            }
        }
        for done in join_all(ids.iter().map(|id| store.delete(key(id)))).await {
            done.map_err(unavailable)?;
        }
        stats.write(&meta).await?;
        committed(tx).await
    }

    /// The persisted search index (see `app`'s browser module), if one was saved.
    pub async fn load_search(&self) -> Result<Option<Vec<u8>>, StoreError> {
        let tx = self.tx(&[SEARCH], TransactionMode::ReadOnly)?;
        let store = tx.store(SEARCH).map_err(unavailable)?;
        let v = store
            .get(JsValue::from_str(SEARCH_KEY))
            .await
            .map_err(unavailable)?;
        use wasm_bindgen::JsCast;
        let Some(v) = v else { return Ok(None) };
        if let Some(bytes) = v.dyn_ref::<js_sys::Uint8Array>() {
            return Ok(Some(bytes.to_vec()));
        }
        // Saved in parts (see `save_search_parts`): one after the other, into one block.
        let Some(parts) = v.dyn_ref::<js_sys::Array>() else {
            return Ok(None);
        };
        // (Anything else there is no saved index: the index is built again.)
        let Ok(parts) = parts
            .iter()
            .map(|p| p.dyn_into::<js_sys::Uint8Array>())
            .collect::<Result<Vec<_>, _>>()
        else {
            return Ok(None);
        };
        let mut bytes = vec![0; parts.iter().map(|p| p.length() as usize).sum()];
        let mut at = 0;
        for p in parts {
            let end = at + p.length() as usize;
            p.copy_to(&mut bytes[at..end]);
            at = end;
        }
        Ok(Some(bytes))
    }

    /// Saves the search index's bytes (in a store of its own: no note write waits for it).
    pub async fn save_search(&self, bytes: &[u8]) -> Result<(), StoreError> {
        self.put_search(&js_sys::Uint8Array::from(bytes).into())
            .await
    }

    /// Saves the search index's bytes given in parts (Uint8Arrays, in order), so that the
    /// page never holds them whole in its wasm memory (see `SearchIndex::encode_to`);
    /// [`IdbStore::load_search`] gives them back as one.
    pub async fn save_search_parts(&self, parts: &js_sys::Array) -> Result<(), StoreError> {
        self.put_search(parts).await
    }

    async fn put_search(&self, value: &JsValue) -> Result<(), StoreError> {
        let tx = self.tx(&[SEARCH], TransactionMode::ReadWrite)?;
        let store = tx.store(SEARCH).map_err(unavailable)?;
        store
            .put(value, Some(&JsValue::from_str(SEARCH_KEY)))
            .await
            .map_err(unavailable)?;
        committed(tx).await
    }

    /// Deletes the database `name` (an account deleted; tests). Waits until every other
    /// connection has closed (each store closes itself when asked: see `watch`).
    pub async fn delete(name: &str) -> Result<(), StoreError> {
        // The request's events go straight to a promise's own functions, not to Rust
        // closures: a deletion waits for other connections (other tabs, the service
        // worker) to close, and an event that comes after the caller stopped waiting must
        // not call a dropped closure (a page error).
        use js_sys::{Function, Promise, Reflect};
        let failed = |why: &str| StoreError::Unavailable(format!("deleting {name}: {why}"));
        let global = js_sys::global();
        let factory =
            Reflect::get(&global, &"indexedDB".into()).map_err(|_| failed("no IndexedDB"))?;
        let delete: Function = Reflect::get(&factory, &"deleteDatabase".into())
            .ok()
            .and_then(|f| wasm_bindgen::JsCast::dyn_into(f).ok())
            .ok_or_else(|| failed("no deleteDatabase"))?;
        let request = delete
            .call1(&factory, &JsValue::from_str(name))
            .map_err(|_| failed("refused"))?;
        let done = Promise::new(&mut |resolve, reject| {
            let _ = Reflect::set(&request, &"onsuccess".into(), &resolve);
            let _ = Reflect::set(&request, &"onerror".into(), &reject);
        });
        wasm_bindgen_futures::JsFuture::from(done)
            .await
            .map(drop)
            .map_err(|_| failed("the browser refused"))
    }
}

/// A transaction over the notes, the meta and the packs, with the packs' [`Tier`] valid in
/// it and the counter as it read it (see [`IdbStore::begin`]).
struct Begun {
    tx: rexie::Transaction,
    tier: Rc<Tier>,
    stats: Stats,
    bodies: Rc<packs::Bodies>,
}

impl Begun {
    /// The pack copies at these places (see [`packs::read`]).
    async fn read_packs(&self, places: &[packs::Place]) -> Result<Vec<LocalNote>, StoreError> {
        packs::read(&self.store(PACKS)?, &self.tier, places, &self.bodies).await
    }

    fn store(&self, name: &str) -> Result<rexie::Store, StoreError> {
        self.tx.store(name).map_err(unavailable)
    }

    /// The records of `notes` for these ids, each else its pack copy (with whether that
    /// copy is a live note), in the order asked: one batch of requests, then one per pack.
    async fn read_through(&self, ids: &[&NoteId]) -> Result<Vec<Current>, StoreError> {
        let notes = self.store(NOTES)?;
        let mut out = Vec::with_capacity(ids.len());
        for group in ids.chunks(IDB_GROUP * 10) {
            let got = join_all(group.iter().map(|id| notes.get(packs::key_of(id)))).await;
            for g in got {
                out.push(match g.map_err(unavailable)? {
                    Some(raw) => Current::Record(raw),
                    None => Current::None,
                });
            }
        }
        let places: Vec<(usize, packs::Place)> = ids
            .iter()
            .enumerate()
            .filter(|(i, _)| matches!(out[*i], Current::None))
            .filter_map(|(i, id)| Some((i, self.tier.find(id.as_str())?)))
            .collect();
        if !places.is_empty() {
            let wanted: Vec<packs::Place> = places.iter().map(|p| p.1).collect();
            let copies = self.read_packs(&wanted).await?;
            for ((i, place), note) in places.into_iter().zip(copies) {
                out[i] = Current::Packed(packs::is_live(&self.tier, place), Box::new(note));
            }
        }
        Ok(out)
    }
}

/// What the store holds for an id: a record of `notes`, a pack copy, or nothing.
enum Current {
    None,
    Record(JsValue),
    Packed(bool, Box<LocalNote>),
}

impl Current {
    fn live(&self) -> bool {
        match self {
            Current::None => false,
            Current::Record(raw) => is_live(raw),
            Current::Packed(live, _) => *live,
        }
    }

    fn note(self) -> Result<Option<LocalNote>, StoreError> {
        match self {
            Current::None => Ok(None),
            Current::Record(raw) => from_js(raw).map(Some),
            Current::Packed(_, n) => Ok(Some(*n)),
        }
    }
}

/// Every object store a note operation may read.
const NOTE_STORES: [&str; 4] = [NOTES, META, PACKS, PACK_HEADS];

fn pack_keys(keys: Vec<JsValue>) -> Vec<u64> {
    keys.iter()
        .filter_map(JsValue::as_f64)
        .map(|k| k as u64)
        .collect()
}

impl IdbStore {
    /// A transaction over the notes, the meta and the packs whose [`Tier`] is valid in it:
    /// the change sequence and the pack keys it reads are those the tier is valid for (with
    /// no pack, any sequence number is); else the tier is refreshed and it starts again.
    async fn begin(&self, mode: TransactionMode) -> Result<Begun, StoreError> {
        self.last_use.set(platform::now_ms());
        for _ in 0..16 {
            let tier = self.tier.borrow().clone();
            let tx = self.tx(&NOTE_STORES, mode)?;
            let (stats, keys) = {
                let meta = tx.store(META).map_err(unavailable)?;
                let heads = tx.store(PACK_HEADS).map_err(unavailable)?;
                let (stats, keys) =
                    futures::join!(Stats::read(&meta), heads.get_all_keys(None, None));
                (stats?, pack_keys(keys.map_err(unavailable)?))
            };
            if tier.fresh(stats.seq, &keys) {
                if tier.seq != stats.seq {
                    // No pack: only the number moved.
                    let mut t = self.tier.borrow_mut();
                    if Rc::ptr_eq(&t, &tier) {
                        *t = Rc::new(Tier::at(stats.seq));
                    }
                }
                self.bodies.retain(&keys);
                let bodies = self.bodies.clone();
                return Ok(Begun {
                    tx,
                    tier,
                    stats,
                    bodies,
                });
            }
            drop(tx); // nothing asked of it yet: it ends
            self.refresh().await?;
        }
        Err(StoreError::Unavailable(
            "the local database kept changing under this page".into(),
        ))
    }

    /// Reads what changed in the packs since the tier was valid: new headers, unpacked
    /// packs, the records written since (they may shadow a pack copy).
    async fn refresh(&self) -> Result<(), StoreError> {
        use std::collections::HashMap;
        let tx = self.tx(&[NOTES, META, PACK_HEADS], TransactionMode::ReadOnly)?;
        let notes = tx.store(NOTES).map_err(unavailable)?;
        let meta = tx.store(META).map_err(unavailable)?;
        let heads = tx.store(PACK_HEADS).map_err(unavailable)?;
        let (stats, keys) = futures::join!(Stats::read(&meta), heads.get_all_keys(None, None));
        let (stats, keys) = (stats?, pack_keys(keys.map_err(unavailable)?));
        let old = self.tier.borrow().clone();
        let Some(&first) = keys.first() else {
            *self.tier.borrow_mut() = Rc::new(Tier::at(stats.seq));
            return Ok(());
        };
        let old_keys = old.keys();
        let missing: Vec<u64> = keys
            .iter()
            .filter(|k| old_keys.binary_search(k).is_err())
            .copied()
            .collect();
        // Packs are only added above every other and removed lowest first: what the tier
        // holds is kept when that is so.
        let incremental = old_keys.first().is_some_and(|&m| first >= m)
            && old.seq <= stats.seq
            && missing
                .iter()
                .all(|k| old_keys.last().is_some_and(|l| k > l));
        let got = join_all(
            missing
                .iter()
                .map(|k| heads.get(JsValue::from_f64(*k as f64))),
        )
        .await;
        let mut loaded = HashMap::new();
        for (k, h) in missing.iter().zip(got) {
            let h = h
                .map_err(unavailable)?
                .ok_or_else(|| StoreError::Corrupt("a pack's header is missing".into()))?;
            loaded.insert(*k, Rc::new(packs::Head::from_js(*k, &h)?));
        }
        let since = if incremental { old.seq + 1 } else { first };
        let range =
            KeyRange::lower_bound(&JsValue::from_f64(since as f64), None).map_err(unavailable)?;
        let shadows = notes
            .index(BY_SEQ)
            .map_err(unavailable)?
            .get_all_keys(Some(range), None)
            .await
            .map_err(unavailable)?;
        let mut tier = if incremental {
            let mut t = (*old).clone();
            for k in old_keys.iter().filter(|k| keys.binary_search(k).is_err()) {
                t.remove(*k);
            }
            t
        } else {
            Tier::default()
        };
        let known: HashMap<u64, Rc<packs::Head>> =
            old.live().map(|(_, h)| (h.key, h.clone())).collect();
        let have = tier.keys();
        for k in &keys {
            if have.binary_search(k).is_ok() {
                continue;
            }
            let head = loaded.remove(k).or_else(|| known.get(k).cloned());
            tier.add(head.ok_or_else(|| StoreError::Corrupt("a pack's header".into()))?);
        }
        tier.seq = stats.seq;
        tier.shadow
            .extend(shadows.iter().filter_map(JsValue::as_string));
        *self.tier.borrow_mut() = Rc::new(tier);
        Ok(())
    }

    /// This store wrote these notes' records, moving the change sequence from `before` to
    /// `after`: the tier stays valid (the records shadow their pack copies).
    fn wrote<'a>(&self, before: u64, after: u64, ids: impl IntoIterator<Item = &'a NoteId>) {
        let mut t = self.tier.borrow_mut();
        if t.seq != before || before == after {
            return;
        }
        let t = Rc::make_mut(&mut t);
        t.seq = after;
        if !t.is_empty() {
            t.shadow
                .extend(ids.into_iter().map(|i| i.as_str().to_owned()));
        }
    }

    /// How many packs this store knows of (tests).
    #[doc(hidden)]
    pub async fn packs(&self) -> Result<usize, StoreError> {
        let b = self.begin(TransactionMode::ReadOnly).await?;
        Ok(b.tier.keys().len())
    }

    /// Moves the oldest pack into `notes` records (see [`packs`]); `false` when none is
    /// left.
    #[doc(hidden)]
    pub async fn unpack_one(&self) -> Result<bool, StoreError> {
        let Some(conn) = self.watch.as_ref().map(|w| w.conn().clone()) else {
            return Ok(false);
        };
        if self.db.borrow().is_none() {
            return Err(StoreError::Unavailable(CLOSED_FOR_UPGRADE.into()));
        }
        unpack_one(&conn, &self.tier).await
    }

    /// Unpacks every pack in the background, one a transaction with a pause between
    /// them (a user's write waits for one pack at most), each once this page has not
    /// begun a note transaction for [`UNPACK_IDLE_MS`] (the search index catching up, the
    /// list and the editor go first; at most [`UNPACK_WAIT_MS`]); stops when none is left,
    /// or the store closed. Started when a pull ends and when a database with packs is
    /// opened.
    fn start_unpacking(&self) {
        if !AUTO_UNPACK.get() || self.unpacking.get() || self.tier.borrow().is_empty() {
            return;
        }
        let Some(conn) = self.watch.as_ref().map(|w| w.conn().clone()) else {
            return;
        };
        self.unpacking.set(true);
        let (db, tier, unpacking) = (self.db.clone(), self.tier.clone(), self.unpacking.clone());
        let last_use = self.last_use.clone();
        wasm_bindgen_futures::spawn_local(async move {
            loop {
                platform::sleep_ms(UNPACK_PAUSE_MS).await;
                let waited = platform::now_ms();
                while platform::now_ms().saturating_sub(last_use.get()) < UNPACK_IDLE_MS
                    && platform::now_ms().saturating_sub(waited) < UNPACK_WAIT_MS
                {
                    platform::sleep_ms(UNPACK_IDLE_MS).await;
                }
                if db.borrow().is_none() {
                    break;
                }
                match unpack_one(&conn, &tier).await {
                    Ok(true) => {}
                    // None left, or the connection closed (the service worker's, after
                    // its sync): the next page to open the database goes on.
                    _ => break,
                }
            }
            unpacking.set(false);
        });
    }
}

thread_local! {
    static AUTO_UNPACK: Cell<bool> = const { Cell::new(true) };
}

/// Whether stores opened or synced from now on unpack in the background (tests turn it
/// off to unpack step by step with [`IdbStore::unpack_one`]).
#[doc(hidden)]
pub fn set_auto_unpack(on: bool) {
    AUTO_UNPACK.set(on);
}

/// The most packs a [`LocalStore::chunk`] reads; one that would read more unpacks them all
/// first.
const CHUNK_PACKS: usize = 4;

/// The pause between two packs unpacked.
const UNPACK_PAUSE_MS: u64 = 20;
/// How long the page's own note reads and writes have stopped before a pack is unpacked.
const UNPACK_IDLE_MS: u64 = 1_000;
/// The longest a pack waits for that.
const UNPACK_WAIT_MS: u64 = 3_000;

/// One pack into `notes` (see [`IdbStore::unpack_one`]): in one transaction, the oldest
/// pack's notes are written with their own sequence numbers, but for those a record
/// shadows (written since the pack was: its sequence number is above the pack's key), and
/// the pack is deleted. The counter does not move: the notes and their numbers are as
/// they were.
async fn unpack_one(conn: &JsValue, tier: &RefCell<Rc<Tier>>) -> Result<bool, StoreError> {
    let tx = raw::call(
        conn,
        "transaction",
        &[
            &js_sys::Array::of3(&NOTES.into(), &PACKS.into(), &PACK_HEADS.into()),
            &"readwrite".into(),
        ],
    )?;
    let done = raw::finished(&tx);
    let unpacked = async {
        let notes = raw::call(&tx, "objectStore", &[&NOTES.into()])?;
        let bodies = raw::call(&tx, "objectStore", &[&PACKS.into()])?;
        let heads = raw::call(&tx, "objectStore", &[&PACK_HEADS.into()])?;
        let first = raw::call(&heads, "getAllKeys", &[&JsValue::NULL, &JsValue::from(1)])?;
        let first: js_sys::Array = raw::request(first).await?.into();
        let Some(key) = first.get(0).as_f64() else {
            return Ok(None);
        };
        let key_js = JsValue::from_f64(key);
        let body = raw::request(raw::call(&bodies, "get", &[&key_js])?).await?;
        let range = web_sys_range_lower(key)?;
        let index = raw::call(&notes, "index", &[&BY_SEQ.into()])?;
        let shadows = raw::request(raw::call(&index, "getAllKeys", &[&range])?).await?;
        let shadows: std::collections::HashSet<String> = js_sys::Array::from(&shadows)
            .iter()
            .filter_map(|k| k.as_string())
            .collect();
        let put: js_sys::Function = js_sys::Reflect::get(&notes, &"put".into())
            .ok()
            .and_then(|f| wasm_bindgen::JsCast::dyn_into(f).ok())
            .ok_or_else(|| StoreError::Unavailable("no put".into()))?;
        let mut slice = platform::now_ms();
        for text in js_sys::Array::from(&body).iter() {
            let text = text
                .as_string()
                .ok_or_else(|| StoreError::Corrupt("a pack's note".into()))?;
            let record = js_sys::JSON::parse(&text)
                .map_err(|_| StoreError::Corrupt("a pack's note".into()))?;
            let id = js_sys::Reflect::get(&record, &"id".into())
                .ok()
                .and_then(|i| i.as_string())
                .unwrap_or_default();
            if shadows.contains(&id) {
                continue;
            }
            let request = put.call1(&notes, &record).map_err(raw::failed)?;
            if platform::now_ms().saturating_sub(slice) >= SLICE_MS {
                raw::request(request).await?;
                slice = platform::now_ms();
            }
        }
        raw::call(&bodies, "delete", &[&key_js])?;
        raw::call(&heads, "delete", &[&key_js])?;
        Ok(Some(key as u64))
    }
    .await;
    let unpacked = match unpacked {
        Ok(u) => u,
        Err(e) => {
            let _ = raw::call(&tx, "abort", &[]);
            let _ = done.await;
            return Err(e);
        }
    };
    done.await?;
    let Some(key) = unpacked else {
        return Ok(false);
    };
    let mut t = tier.borrow_mut();
    if t.keys().contains(&key) {
        Rc::make_mut(&mut t).remove(key);
    }
    Ok(true)
}

/// `IDBKeyRange.lowerBound(n)`.
fn web_sys_range_lower(n: f64) -> Result<JsValue, StoreError> {
    KeyRange::lower_bound(&JsValue::from_f64(n), None)
        .map(JsValue::from)
        .map_err(unavailable)
}

impl LocalStore for IdbStore {
    async fn get(&self, id: &NoteId) -> Result<Option<LocalNote>, StoreError> {
        let b = self.begin(TransactionMode::ReadOnly).await?;
        let mut got = b.read_through(&[id]).await?;
        got.pop().map_or(Ok(None), Current::note)
    }

    async fn get_many(&self, ids: &[NoteId]) -> Result<Vec<LocalNote>, StoreError> {
        let b = self.begin(TransactionMode::ReadOnly).await?;
        let ids: Vec<&NoteId> = ids.iter().collect();
        let got = b.read_through(&ids).await?;
        let mut out = Vec::with_capacity(ids.len());
        for c in got {
            out.extend(c.note()?);
        }
        Ok(out)
    }

    async fn put(&self, note: &LocalNote) -> Result<(), StoreError> {
        let b = self.begin(TransactionMode::ReadWrite).await?;
        let store = b.store(NOTES)?;
        let meta = b.store(META)?;
        let old = b.read_through(&[&note.id]).await?;
        let mut stats = b.stats;
        let seq = stats.replace_live(old.first().is_some_and(Current::live), note);
        store
            .put(&note_to_js(note, Some(seq))?, None)
            .await
            .map_err(unavailable)?;
        stats.write(&meta).await?;
        committed(b.tx).await?;
        self.wrote(b.stats.seq, stats.seq, [&note.id]);
        Ok(())
    }

    async fn add_new(&self, notes: &[LocalNote]) -> Result<Vec<bool>, StoreError> {
        let b = self.begin(TransactionMode::ReadWrite).await?;
        let store = b.store(NOTES)?;
        let meta = b.store(META)?;
        // The reads are issued together, and so are the writes, a group at a time: a round
        // trip to the database per group, not per note (an import of 100,000 notes spent
        // most of its time waiting between sequential requests), and the page may paint
        // between groups (500 requests issued at once held it for a long frame). Each new
        // record gets the next change sequence number and the counter follows, in the same
        // transaction. A note in a pack is here: not new.
        let mut stats = b.stats;
        let mut olds = Vec::with_capacity(notes.len());
        for group in notes.chunks(IDB_GROUP) {
            let got = join_all(group.iter().map(|n| store.get(packs::key_of(&n.id)))).await;
            for (g, n) in got.into_iter().zip(group) {
                olds.push(
                    g.map_err(unavailable)?.is_some() || b.tier.find(n.id.as_str()).is_some(),
                );
            }
        }
        let mut new = Vec::with_capacity(notes.len());
        let mut added = Vec::with_capacity(notes.len());
        let mut ids = std::collections::HashSet::with_capacity(notes.len());
        for (note, old) in notes.iter().zip(olds) {
            // The same id twice in `notes`: the first one is new, the second is not.
            let is_new = !old && ids.insert(note.id.as_str());
            if is_new {
                new.push((note, stats.replace_live(false, note)));
            }
            added.push(is_new);
        }
        for group in new.chunks(IDB_GROUP) {
            let records = group
                .iter()
                .map(|(n, seq)| note_to_js(n, Some(*seq)))
                .collect::<Result<Vec<_>, _>>()?;
            for w in join_all(records.iter().map(|r| store.put(r, None))).await {
                w.map_err(unavailable)?;
            }
        }
        stats.write(&meta).await?;
        committed(b.tx).await?;
        self.wrote(b.stats.seq, stats.seq, new.iter().map(|(n, _)| &n.id));
        Ok(added)
    }

    async fn list(&self) -> Result<Vec<LocalNote>, StoreError> {
        let b = self.begin(TransactionMode::ReadOnly).await?;
        let all = b
            .store(NOTES)?
            .get_all(None, None)
            .await
            .map_err(unavailable)?;
        let mut out: Vec<LocalNote> = all.into_iter().map(from_js).collect::<Result<_, _>>()?;
        out.extend(b.read_packs(&b.tier.all()).await?);
        Ok(out)
    }

    async fn pending(&self) -> Result<Vec<LocalNote>, StoreError> {
        // (A pack note is a pulled state: never pending.)
        let tx = self.tx(&[NOTES], TransactionMode::ReadOnly)?;
        let store = tx.store(NOTES).map_err(unavailable)?;
        let index = store.index(BY_PENDING).map_err(unavailable)?;
        let all = index.get_all(None, None).await.map_err(unavailable)?;
        all.into_iter().map(from_js).collect()
    }

    async fn trashed(&self) -> Result<Vec<LocalNote>, StoreError> {
        // (A pack note is a pulled state: never in this device's trash.)
        let tx = self.tx(&[NOTES], TransactionMode::ReadOnly)?;
        let store = tx.store(NOTES).map_err(unavailable)?;
        let index = store.index(BY_TRASH).map_err(unavailable)?;
        let all = index.get_all(None, None).await.map_err(unavailable)?;
        all.into_iter().map(from_js).collect()
    }

    async fn pending_count(&self) -> Result<usize, StoreError> {
        let tx = self.tx(&[NOTES], TransactionMode::ReadOnly)?;
        let store = tx.store(NOTES).map_err(unavailable)?;
        let index = store.index(BY_PENDING).map_err(unavailable)?;
        Ok(index.count(None).await.map_err(unavailable)? as usize)
    }

    async fn page(&self, before: Option<&Hlc>, limit: usize) -> Result<Vec<LocalNote>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let b = self.begin(TransactionMode::ReadOnly).await?;
        let store = b.store(NOTES)?;
        let index = store.index(BY_ORDER).map_err(unavailable)?;
        let before_text = before.map(Hlc::to_string);
        let mut page = page_of(&index, before_text.as_deref(), limit).await?;
        // The packs' newest below `before`, merged (both newest first). Equal stamps go
        // by id, descending, as the index orders them (by key, then by primary key, read
        // backwards): else a note's place among its equals would depend on whether it is
        // packed, and the list would reorder them when the unpacker moves them.
        let places = b.tier.page(before_text.as_deref(), limit);
        if !places.is_empty() {
            let packed = b.read_packs(&places).await?;
            page = merge_by(page, packed, |a, b| (&a.hlc, &a.id) > (&b.hlc, &b.id));
            page.truncate(limit);
        }
        Ok(page)
    }

    async fn live_count(&self) -> Result<usize, StoreError> {
        // (Pack notes are counted in `note_stats` when their pack is written.)
        let tx = self.tx(&[META], TransactionMode::ReadOnly)?;
        let meta = tx.store(META).map_err(unavailable)?;
        Ok(usize::try_from(Stats::read(&meta).await?.live).unwrap_or(usize::MAX))
    }

    async fn change_seq(&self) -> Result<u64, StoreError> {
        let tx = self.tx(&[META], TransactionMode::ReadOnly)?;
        let meta = tx.store(META).map_err(unavailable)?;
        Ok(Stats::read(&meta).await?.seq)
    }

    async fn changed_since(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<(u64, LocalNote)>, StoreError> {
        let b = self.begin(TransactionMode::ReadOnly).await?;
        let store = b.store(NOTES)?;
        let index = store.index(BY_SEQ).map_err(unavailable)?;
        let range = KeyRange::lower_bound(&JsValue::from_f64(after as f64), Some(true))
            .map_err(unavailable)?;
        let rows = index
            .get_all(Some(range), Some(u32::try_from(limit).unwrap_or(u32::MAX)))
            .await
            .map_err(unavailable)?;
        let mut changed = rows
            .into_iter()
            .map(|raw| {
                let seq = js_sys::Reflect::get(&raw, &"seq".into())
                    .ok()
                    .and_then(|s| s.as_f64())
                    .unwrap_or_default() as u64;
                Ok((seq, from_js(raw)?))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let found = b.tier.changed_since(after, limit);
        if !found.is_empty() {
            let places: Vec<packs::Place> = found.iter().map(|f| f.1).collect();
            let packed = b.read_packs(&places).await?;
            let packed = found.iter().map(|f| f.0).zip(packed).collect();
            changed = merge_by(changed, packed, |a, b| a.0 < b.0);
            changed.truncate(limit);
        }
        Ok(changed)
    }

    async fn chunk(
        &self,
        after: Option<&NoteId>,
        limit: usize,
    ) -> Result<Vec<LocalNote>, StoreError> {
        let mut b = self.begin(TransactionMode::ReadOnly).await?;
        let mut places = b.tier.chunk(after.map(NoteId::as_str), limit);
        let mut slots: Vec<usize> = places.iter().map(|p| p.0).collect();
        slots.sort_unstable();
        slots.dedup();
        if slots.len() > CHUNK_PACKS && AUTO_UNPACK.get() && self.watch.is_some() {
            // The ids of a pack are spread over the whole id range: a walk by id through
            // the packs reads every pack's body at every step. Unpacked first, once (the
            // unpacker's work, done now), the walk reads records.
            drop(b);
            // An unpack that fails (the browser's quota: a pack becomes a thousand
            // records) leaves the packs as they were and readable: the walk reads them.
            loop {
                match self.unpack_one().await {
                    Ok(true) => {}
                    Ok(false) => break,
                    Err(e) => {
                        web_sys::console::warn_1(
                            &format!("unpacking failed, reading the packs: {e}").into(),
                        );
                        break;
                    }
                }
            }
            b = self.begin(TransactionMode::ReadOnly).await?;
            places = b.tier.chunk(after.map(NoteId::as_str), limit);
        }
        let store = b.store(NOTES)?;
        let range = after
            .map(|a| KeyRange::lower_bound(&JsValue::from_str(a.as_str()), Some(true)))
            .transpose()
            .map_err(unavailable)?;
        let all = store
            .get_all(range, Some(u32::try_from(limit).unwrap_or(u32::MAX)))
            .await
            .map_err(unavailable)?;
        let mut chunk: Vec<LocalNote> = all.into_iter().map(from_js).collect::<Result<_, _>>()?;
        if !places.is_empty() {
            let packed = b.read_packs(&places).await?;
            chunk = merge_by(chunk, packed, |a, b| a.id < b.id);
            chunk.truncate(limit);
        }
        Ok(chunk)
    }

    async fn get_meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        let tx = self.tx(&[META], TransactionMode::ReadOnly)?;
        let store = tx.store(META).map_err(unavailable)?;
        let v = store
            .get(JsValue::from_str(key))
            .await
            .map_err(unavailable)?;
        Ok(v.and_then(|v| v.as_string()))
    }

    async fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        let tx = self.tx(&[META], TransactionMode::ReadWrite)?;
        let store = tx.store(META).map_err(unavailable)?;
        store
            .put(&JsValue::from_str(value), Some(&JsValue::from_str(key)))
            .await
            .map_err(unavailable)?;
        committed(tx).await?;
        Ok(())
    }

    async fn update_note(
        &self,
        id: &NoteId,
        f: &mut dyn FnMut(&mut LocalNote) -> bool,
    ) -> Result<Option<LocalNote>, StoreError> {
        let b = self.begin(TransactionMode::ReadWrite).await?;
        let store = b.store(NOTES)?;
        let meta = b.store(META)?;
        let old = b.read_through(&[id]).await?.pop().unwrap_or(Current::None);
        let live = old.live();
        let Some(mut note) = old.note()? else {
            return b.tx.done().await.map(|_| None).map_err(unavailable);
        };
        if f(&mut note) {
            let mut stats = b.stats;
            let seq = stats.replace_live(live, &note);
            store
                .put(&note_to_js(&note, Some(seq))?, None)
                .await
                .map_err(unavailable)?;
            stats.write(&meta).await?;
            committed(b.tx).await?;
            self.wrote(b.stats.seq, stats.seq, [id]);
        } else {
            b.tx.done().await.map_err(unavailable)?;
        }
        Ok(Some(note))
    }

    async fn update_note_and_meta(
        &self,
        id: &NoteId,
        key: &str,
        f: &mut dyn FnMut(&mut LocalNote, Option<&str>) -> Option<String>,
    ) -> Result<Option<LocalNote>, StoreError> {
        let b = self.begin(TransactionMode::ReadWrite).await?;
        let store = b.store(NOTES)?;
        let meta = b.store(META)?;
        let ids = [id];
        let (old, value) = futures::join!(b.read_through(&ids), meta.get(JsValue::from_str(key)),);
        let old = old?.pop().unwrap_or(Current::None);
        let live = old.live();
        let Some(mut note) = old.note()? else {
            return b.tx.done().await.map(|_| None).map_err(unavailable);
        };
        let original = note.clone();
        let value = value.map_err(unavailable)?.and_then(|v| v.as_string());
        let Some(v) = f(&mut note, value.as_deref()) else {
            b.tx.done().await.map_err(unavailable)?;
            return Ok(Some(original));
        };
        let mut stats = b.stats;
        let seq = stats.replace_live(live, &note);
        let (record, value, key) = (
            note_to_js(&note, Some(seq))?,
            JsValue::from_str(&v),
            JsValue::from_str(key),
        );
        let (put, set) = futures::join!(store.put(&record, None), meta.put(&value, Some(&key)));
        put.map_err(unavailable)?;
        set.map_err(unavailable)?;
        stats.write(&meta).await?;
        committed(b.tx).await?;
        self.wrote(b.stats.seq, stats.seq, [id]);
        Ok(Some(note))
    }

    async fn update_meta(
        &self,
        key: &str,
        f: &mut dyn FnMut(Option<&str>) -> Option<String>,
    ) -> Result<(), StoreError> {
        let tx = self.tx(&[META], TransactionMode::ReadWrite)?;
        let store = tx.store(META).map_err(unavailable)?;
        let current = store
            .get(JsValue::from_str(key))
            .await
            .map_err(unavailable)?
            .and_then(|v| v.as_string());
        match f(current.as_deref()) {
            Some(v) => {
                store
                    .put(&JsValue::from_str(&v), Some(&JsValue::from_str(key)))
                    .await
                    .map_err(unavailable)?;
                committed(tx).await
            }
            None => tx.done().await.map(drop).map_err(unavailable),
        }
    }

    async fn cursor(&self) -> Result<Option<Cursor>, StoreError> {
        Ok(self.get_meta(META_CURSOR).await?.map(Cursor))
    }

    async fn commit_sync(
        &self,
        sent: &[Change],
        response: &SyncResponse,
    ) -> Result<(), StoreError> {
        let pull_only = sent.is_empty() && response.results.is_empty();
        if pull_only && self.learns_keys(response) {
            // The first large page of a pull: the store's keys first (one read), so this
            // page too is written as a pack when none of its notes is here. Read through
            // (a get and a put a note, their callbacks run in one batch) it held the
            // page's thread for 65 ms at the start of the initial sync (release build).
            self.learn_known().await?;
        }
        if !(pull_only && self.commit_known(response).await?) {
            self.commit_reading(sent, response).await?;
        }
        if !response.has_more {
            self.known.borrow_mut().take(); // the pull ended: a later one learns again
            self.start_unpacking();
        }
        Ok(())
    }
}

/// Two lists each in the order `first` says, merged (`first(a, b)`: `a` goes before `b`).
fn merge_by<T>(a: Vec<T>, b: Vec<T>, first: impl Fn(&T, &T) -> bool) -> Vec<T> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut a, mut b) = (a.into_iter().peekable(), b.into_iter().peekable());
    loop {
        let next = match (a.peek(), b.peek()) {
            (Some(x), Some(y)) if first(x, y) => a.next(),
            (_, Some(_)) => b.next(),
            (Some(_), None) => a.next(),
            (None, None) => break,
        };
        out.extend(next);
    }
    out
}

/// One page of `notes`' live records, newest first (see [`LocalStore::page`]).
async fn page_of(
    index: &rexie::StoreIndex,
    before: Option<&str>,
    limit: usize,
) -> Result<Vec<LocalNote>, StoreError> {
    let limit = u32::try_from(limit).unwrap_or(u32::MAX);
    let before = before.map(JsValue::from_str);
    let older = || {
        before
            .as_ref()
            .map(|b| KeyRange::upper_bound(b, Some(true)))
            .transpose()
            .map_err(unavailable)
    };
    // The page is the `limit` newest keys below `before`. A cursor walking down to them
    // costs a request per record; instead one cursor jumps to the page's oldest key
    // (`advance`), and one `getAll` reads the page from there up, in one request. That
    // `getAll` has no count: records sharing the oldest key are read in id order, and a
    // count would keep the lowest ids where the page holds the highest (the page would
    // not be the list's first notes); so it reads every record of that key (one, unless
    // stamps are equal) and the page keeps the newest `limit`.
    let oldest = index
        .scan(
            older()?,
            Some(1),
            (limit > 1).then_some(limit - 1),
            Some(Direction::Prev),
        )
        .await
        .map_err(unavailable)?;
    let range = match (oldest.into_iter().next(), &before) {
        (None, _) => older()?, // fewer than a page left: all of them
        (Some((key, _)), Some(b)) => {
            Some(KeyRange::bound(&key, b, None, Some(true)).map_err(unavailable)?)
        }
        (Some((key, _)), None) => Some(KeyRange::lower_bound(&key, None).map_err(unavailable)?),
    };
    let rows = index.get_all(range, None).await.map_err(unavailable)?;
    rows.into_iter()
        .rev()
        .take(limit as usize)
        .map(from_js)
        .collect()
}

impl IdbStore {
    /// Whether committing `response` learns the store's keys ([`Known`]): on a large page
    /// of a pull that goes on, when they are not known yet.
    fn learns_keys(&self, response: &SyncResponse) -> bool {
        response.has_more && response.changes.len() >= BULK_PAGE && self.known.borrow().is_none()
    }

    /// Learns the store's keys ([`Known`]: those of `notes` and of the packs) as of its
    /// change sequence now, in one read-only transaction.
    async fn learn_known(&self) -> Result<(), StoreError> {
        let b = self.begin(TransactionMode::ReadOnly).await?;
        let keys = b
            .store(NOTES)?
            .get_all_keys(None, None)
            .await
            .map_err(unavailable)?;
        let known = Known::of(b.stats.seq, &keys, b.tier.ids());
        b.tx.done().await.map_err(unavailable)?;
        *self.known.borrow_mut() = Some(known);
        Ok(())
    }

    /// [`LocalStore::commit_sync`] reading every note the response names, in the
    /// transaction that writes them. On a large page of a pull that goes on, it learns
    /// the store's keys too ([`Known`]: those of `notes` and of the packs), so the pages
    /// after it need not read.
    async fn commit_reading(
        &self,
        sent: &[Change],
        response: &SyncResponse,
    ) -> Result<(), StoreError> {
        use std::collections::HashMap;
        let b = self.begin(TransactionMode::ReadWrite).await?;
        let notes = b.store(NOTES)?;
        let meta = b.store(META)?;
        let ids = affected_ids(response);
        let learn = self.learns_keys(response);
        let keys = async {
            match learn {
                true => notes.get_all_keys(None, None).await.map(Some),
                false => Ok(None),
            }
        };
        // Every read at once, then every write at once (a page of 1,000 notes is two
        // batches of requests, not 2,000 round trips).
        let id_refs: Vec<&NoteId> = ids.iter().collect();
        let (current, keys) = futures::join!(b.read_through(&id_refs), keys);
        let current = current?;
        let mut stats = b.stats;
        let seq_before = stats.seq;
        // By note id, the first of each (as a search from the start would find).
        fn by_id<T>(items: &[T], id: impl Fn(&T) -> &NoteId) -> HashMap<&NoteId, &T> {
            let mut m = HashMap::new();
            for x in items {
                m.entry(id(x)).or_insert(x);
            }
            m
        }
        let results = by_id(&response.results, |r| &r.note_id);
        let pulled = by_id(&response.changes, |n| &n.id);
        let changes = by_id(sent, |c| &c.note_id);
        let mut records = Vec::new();
        let mut written = Vec::new();
        for (id, cur) in ids.iter().zip(current) {
            let live = cur.live();
            let note = cur.note()?;
            let (change, result, pulled) = (
                changes.get(id).copied(),
                results.get(id).copied(),
                pulled.get(id).copied(),
            );
            if let Some(n) = reconcile(note.as_ref(), change, result, pulled) {
                let seq = stats.replace_live(live, &n);
                records.push(note_to_js(&n, Some(seq))?);
                written.push(id);
            }
        }
        for done in join_all(records.iter().map(|r| notes.put(r, None))).await {
            done.map_err(unavailable)?;
        }
        stats.write(&meta).await?;
        meta.put(
            &JsValue::from_str(&response.cursor.0),
            Some(&JsValue::from_str(META_CURSOR)),
        )
        .await
        .map_err(unavailable)?;
        committed(b.tx).await?;
        self.wrote(seq_before, stats.seq, written);
        // What the store holds now, when it can tell.
        let keys = keys.map_err(unavailable)?;
        let mut known = self.known.borrow_mut();
        if let Some(keys) = keys {
            let mut k = Known::of(stats.seq, &keys, b.tier.ids());
            k.add(response.changes.iter().map(|n| &n.id));
            *known = Some(k);
        } else if let Some(k) = known.as_mut().filter(|k| k.seq == seq_before) {
            k.add(response.changes.iter().map(|n| &n.id));
            k.seq = stats.seq;
        } else {
            *known = None;
        }
        Ok(())
    }

    /// Writes a pulled page as one pack (see [`packs`]), without reading a record, when
    /// [`Known`] says none of its notes is here (so there is no local edit to keep, and
    /// each is the pulled state as it is): the records are prepared before the
    /// transaction, sorted by id, in slices of at most [`SLICE_MS`] (a transaction cannot
    /// wait for a timer), then one transaction checks that the change sequence has not
    /// moved since, and writes the pack and its header with the counter and the cursor.
    /// `false`, with nothing written, when it cannot tell (the caller then reads).
    async fn commit_known(&self, response: &SyncResponse) -> Result<bool, StoreError> {
        let Some(conn) = self.watch.as_ref().map(|w| w.conn().clone()) else {
            return Ok(false);
        };
        let Some(seq0) = self
            .known
            .borrow()
            .as_ref()
            .filter(|k| !response.changes.iter().any(|n| k.has(&n.id)))
            .map(|k| k.seq)
        else {
            return Ok(false);
        };
        if response.changes.len() > packs::MAX_PACK {
            return Ok(false);
        }
        // By id, the first of each (as the reading path takes them, and numbers them).
        let mut pulled: Vec<&sync_core::NoteState> = response.changes.iter().collect();
        pulled.sort_by(|a, b| a.id.cmp(&b.id));
        pulled.dedup_by(|b, a| a.id == b.id);
        // One note at a time: its JSON text joins the page's (one string, at most a
        // response's size), its id and order the header's.
        let key = seq0 + 1;
        let mut head = packs::HeadBuilder::default();
        let mut body = packs::Texts::default();
        let mut slice = platform::now_ms();
        let mut text = String::new();
        for p in pulled {
            // (`reconcile` of a note not here is `LocalNote::from_remote`.)
            let hlc = p.hlc.to_string();
            let in_list = listed(p.deleted, p.fields.kind());
            text.clear();
            pulled_record_json(&mut text, p, &hlc, in_list, key + u64::from(head.len()))?;
            body.push(&text);
            head.push(&p.id, in_list.then_some((&p.hlc, hlc.as_str())));
            if platform::now_ms().saturating_sub(slice) >= SLICE_MS {
                platform::sleep_ms(0).await;
                slice = platform::now_ms();
            }
        }
        if head.len() == 0 {
            return Ok(false);
        }
        let (seq, live) = (seq0 + u64::from(head.len()), head.live());
        let (head, stored_head) = head.finish(key);
        let body = body.finish();
        if self.db.borrow().is_none() {
            return Err(StoreError::Unavailable(CLOSED_FOR_UPGRADE.into()));
        }
        let tx = raw::call(
            &conn,
            "transaction",
            &[
                &js_sys::Array::of3(&META.into(), &PACKS.into(), &PACK_HEADS.into()),
                &"readwrite".into(),
            ],
        )?;
        let done = raw::finished(&tx);
        let written = async {
            let meta = raw::call(&tx, "objectStore", &[&META.into()])?;
            let bodies = raw::call(&tx, "objectStore", &[&PACKS.into()])?;
            let heads = raw::call(&tx, "objectStore", &[&PACK_HEADS.into()])?;
            let stats = raw::request(raw::call(&meta, "get", &[&META_STATS.into()])?).await?;
            let stats = Stats::parse(Some(stats))
                .ok_or_else(|| StoreError::Corrupt("the note counter is missing".into()))?;
            if stats.seq != seq0 {
                return Ok(None); // written meanwhile: read instead
            }
            let key_js = JsValue::from_f64(key as f64);
            raw::call(&bodies, "put", &[&body, &key_js])?;
            raw::call(&heads, "put", &[&stored_head, &key_js])?;
            let stats = Stats {
                seq,
                live: stats.live + live,
            };
            let value = JsValue::from_str(&format!("{} {}", stats.seq, stats.live));
            raw::call(&meta, "put", &[&value, &META_STATS.into()])?;
            raw::call(
                &meta,
                "put",
                &[&JsValue::from_str(&response.cursor.0), &META_CURSOR.into()],
            )?;
            Ok(Some(stats))
        }
        .await;
        let written = match written {
            Ok(w) => w,
            Err(e) => {
                // Nothing of the page may be committed without the rest.
                let _ = raw::call(&tx, "abort", &[]);
                let _ = done.await;
                return Err(e);
            }
        };
        done.await?;
        if written.is_some() {
            // The tier takes the pack in when it was valid just before it.
            let mut t = self.tier.borrow_mut();
            if t.seq == seq0 {
                let t = Rc::make_mut(&mut t);
                t.add(Rc::new(head));
                t.seq = seq;
            }
        }
        let mut known = self.known.borrow_mut();
        match (written, known.as_mut()) {
            (Some(stats), Some(k)) => {
                k.add(response.changes.iter().map(|n| &n.id));
                k.seq = stats.seq;
                self.unread_pages.set(self.unread_pages.get() + 1);
                Ok(true)
            }
            _ => {
                *known = None;
                Ok(false)
            }
        }
    }
}

/// The note is in the notes list (and its count): a live note, not a notebook or tag
/// record.
fn is_listed(n: &LocalNote) -> bool {
    listed(n.deleted, n.kind())
}

/// [`is_listed`], of a note's delete flag and kind.
fn listed(deleted: bool, kind: sync_core::fields::Kind) -> bool {
    !deleted && kind == sync_core::fields::Kind::Note
}

/// IndexedDB called directly (rexie wraps every request in a future with closures of its
/// own; a bulk page makes a thousand requests and waits only for the transaction).
mod raw {
    use js_sys::{Function, Promise, Reflect};
    use wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;

    use crate::local::StoreError;

    pub fn failed(e: JsValue) -> StoreError {
        let name = Reflect::get(&e, &"name".into())
            .ok()
            .and_then(|n| n.as_string());
        let message = Reflect::get(&e, &"message".into())
            .ok()
            .and_then(|n| n.as_string());
        StoreError::Unavailable(format!(
            "idb error: {}: {}",
            name.unwrap_or_default(),
            message.unwrap_or_default()
        ))
    }

    /// `object.method(args…)`.
    pub fn call(object: &JsValue, method: &str, args: &[&JsValue]) -> Result<JsValue, StoreError> {
        let f: Function = Reflect::get(object, &method.into())
            .ok()
            .and_then(|f| f.dyn_into().ok())
            .ok_or_else(|| StoreError::Unavailable(format!("no {method}")))?;
        let args: js_sys::Array = args.iter().copied().collect();
        Reflect::apply(&f, object, &args).map_err(failed)
    }

    /// A request's result, once it succeeded.
    pub async fn request(req: JsValue) -> Result<JsValue, StoreError> {
        // The events go straight to the promise's functions: no Rust closure to keep.
        let done = Promise::new(&mut |resolve, reject| {
            let _ = Reflect::set(&req, &"onsuccess".into(), &resolve);
            let _ = Reflect::set(&req, &"onerror".into(), &reject);
        });
        JsFuture::from(done).await.map_err(|_| {
            let e = Reflect::get(&req, &"error".into()).unwrap_or(JsValue::NULL);
            failed(e)
        })?;
        Reflect::get(&req, &"result".into()).map_err(failed)
    }

    /// The transaction's end: `Ok` once committed. The browser aborts a transaction it
    /// cannot write (in practice: storage is full), or one a request of it failed in.
    pub fn finished(
        tx: &JsValue,
    ) -> impl std::future::Future<Output = Result<(), StoreError>> + use<> {
        let done = Promise::new(&mut |resolve, reject| {
            let _ = Reflect::set(tx, &"oncomplete".into(), &resolve);
            let _ = Reflect::set(tx, &"onabort".into(), &reject);
        });
        let tx = tx.clone();
        async move {
            JsFuture::from(done).await.map(drop).map_err(|_| {
                let e = Reflect::get(&tx, &"error".into()).unwrap_or(JsValue::NULL);
                if e.is_null() {
                    StoreError::Unavailable(
                        "the browser aborted the write: storage is full (or unavailable)".into(),
                    )
                } else {
                    failed(e)
                }
            })
        }
    }
}

/// A second, raw connection to the database that only listens for `versionchange` (rexie
/// does not expose its own connection's events). Both connections close when it fires.
mod watch {
    use std::cell::RefCell;
    use std::rc::Rc;

    use js_sys::{Function, Promise, Reflect};
    use rexie::Rexie;
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;

    use super::CLOSED_EVENT;

    pub struct VersionWatch {
        conn: JsValue,
    }

    impl Drop for VersionWatch {
        fn drop(&mut self) {
            // The handler goes with the watch.
            let _ = Reflect::set(&self.conn, &"onversionchange".into(), &JsValue::NULL);
            close(&self.conn);
        }
    }

    fn close(conn: &JsValue) {
        if let Ok(f) = Reflect::get(conn, &"close".into()).and_then(|f| f.dyn_into::<Function>()) {
            let _ = f.call0(conn);
        }
    }

    impl VersionWatch {
        /// The connection (an `IDBDatabase`).
        pub fn conn(&self) -> &JsValue {
            &self.conn
        }

        /// Opens the watching connection; `None` if the browser refuses (then an upgrade by
        /// a newer build waits until this page is closed, as without the watch).
        pub async fn start(name: &str, db: Rc<RefCell<Option<Rexie>>>) -> Option<Self> {
            let global = js_sys::global();
            let factory = Reflect::get(&global, &"indexedDB".into()).ok()?;
            let open: Function = Reflect::get(&factory, &"open".into())
                .ok()?
                .dyn_into()
                .ok()?;
            let request = open.call1(&factory, &JsValue::from_str(name)).ok()?;
            // Wait for the request's success (or error) event.
            let done = Promise::new(&mut |resolve, reject| {
                let _ = Reflect::set(&request, &"onsuccess".into(), &resolve);
                let _ = Reflect::set(&request, &"onerror".into(), &reject);
            });
            JsFuture::from(done).await.ok()?;
            let conn = Reflect::get(&request, &"result".into()).ok()?;
            let watched = conn.clone();
            // `Fn`, owned by JS (`into_js_value`): the browser may call it while a call is
            // under way or after this watch is gone (the account's database is deleted and
            // the store dropped in the same turn), which a Rust-owned `FnMut` closure
            // answers with "closure invoked recursively or after being dropped".
            let on_change = Closure::<dyn Fn(JsValue)>::new(move |event: JsValue| {
                close(&watched);
                if let Ok(mut slot) = db.try_borrow_mut()
                    && let Some(rexie) = slot.take()
                {
                    rexie.close();
                }
                // A deletion (`newVersion` null: the account was deleted, here or in another
                // tab) is no update: nothing for the user to reload.
                let deleted = Reflect::get(&event, &"newVersion".into()).is_ok_and(|v| v.is_null());
                if !deleted
                    && let Ok(event) = web_sys::Event::new(CLOSED_EVENT)
                    && let Ok(target) = js_sys::global().dyn_into::<web_sys::EventTarget>()
                {
                    let _ = target.dispatch_event(&event);
                }
            });
            Reflect::set(&conn, &"onversionchange".into(), &on_change.into_js_value()).ok()?;
            Some(Self { conn })
        }
    }
}
