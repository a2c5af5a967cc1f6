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
//!   text (`Hlc`'s fixed-width form sorts as the stamp does); a tombstone has none. The list
//!   reads its pages from the end of this index ([`LocalStore::page`]) and counts it
//!   ([`LocalStore::live_count`]). `order` is written here, from the note, on every write;
//!   [`LocalNote`] does not know it (it is ignored when read).

use std::cell::RefCell;
use std::rc::Rc;

use rexie::{Direction, Index, KeyRange, ObjectStore, Rexie, TransactionMode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sync_core::protocol::{Change, Cursor, SyncResponse};
use sync_core::{Hlc, NoteId};
use wasm_bindgen::JsValue;

use crate::local::{
    DATA_VERSION, LocalNote, LocalStore, META_CURSOR, META_DATA_VERSION, StoreError, affected_ids,
    migrate_note, reconcile,
};

const NOTES: &str = "notes";
const META: &str = "meta";
/// The local schema version. Bump it, with a migration in [`IdbStore::open`], whenever the
/// stored shape changes.
pub const SCHEMA_VERSION: u32 = 3;
/// The outbox index of `notes`.
const BY_PENDING: &str = "pending";
/// The index of live notes by stamp.
const BY_ORDER: &str = "order";

/// Tern's notes in the browser's IndexedDB.
///
/// When another page or worker (a newer build) asks to upgrade the database, this store
/// closes its connection at once, so the upgrade is never blocked by an old tab; its later
/// calls fail with [`CLOSED_FOR_UPGRADE`] and the global scope receives the DOM event
/// [`CLOSED_EVENT`], on which the page asks the user to reload.
pub struct IdbStore {
    db: Rc<RefCell<Option<Rexie>>>,
    _watch: Option<watch::VersionWatch>,
}

/// The error of calls made after the store closed for another page's upgrade.
pub const CLOSED_FOR_UPGRADE: &str =
    "Tern was updated in another tab: reload this page to keep working (saved notes are safe)";
/// The event dispatched on the global scope when the store closed for an upgrade.
pub const CLOSED_EVENT: &str = "tern-store-closed";

fn unavailable(e: impl std::error::Error) -> StoreError {
    // rexie's errors say only "idb error"; the browser's reason is in the source chain.
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        message = format!("{message}: {s}");
        source = s.source();
    }
    StoreError::Unavailable(message)
}

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
fn to_js<T: Serialize>(v: &T) -> Result<JsValue, StoreError> {
    let text = serde_json::to_string(v).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    js_sys::JSON::parse(&text).map_err(|_| StoreError::Corrupt("unparsable record".into()))
}

/// A note's record: the note, and `order` (its stamp) when it is live, for the list index.
fn note_to_js(note: &LocalNote) -> Result<JsValue, StoreError> {
    let v = to_js(note)?;
    if !note.deleted {
        js_sys::Reflect::set(
            &v,
            &"order".into(),
            &JsValue::from_str(&note.hlc.to_string()),
        )
        .map_err(|_| StoreError::Corrupt("a record that is not an object".into()))?;
    }
    Ok(v)
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
                    .add_index(Index::new(BY_ORDER, "order")),
            )
            .add_object_store(ObjectStore::new(META))
            .build()
            .await
            .map_err(unavailable)?;
        let db = Rc::new(RefCell::new(Some(db)));
        let watch = watch::VersionWatch::start(name, db.clone()).await;
        let store = Self { db, _watch: watch };
        store.migrate().await?;
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
        for raw in notes.get_all(None, None).await.map_err(unavailable)? {
            let mut note: LocalNote = from_js(raw)?;
            migrate_note(from, &mut note);
            notes
                .put(&note_to_js(&note)?, None)
                .await
                .map_err(unavailable)?;
        }
        meta.put(
            &JsValue::from_str(&DATA_VERSION.to_string()),
            Some(&JsValue::from_str(META_DATA_VERSION)),
        )
        .await
        .map_err(unavailable)?;
        tx.done().await.map_err(unavailable)?;
        Ok(())
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
        let tx = self.tx(&[NOTES], TransactionMode::ReadWrite)?;
        let store = tx.store(NOTES).map_err(unavailable)?;
        for id in ids {
            store
                .delete(JsValue::from_str(id.as_str()))
                .await
                .map_err(unavailable)?;
        }
        committed(tx).await
    }

    /// Deletes the database `name` (tests).
    pub async fn delete(name: &str) -> Result<(), StoreError> {
        Rexie::delete(name).await.map_err(unavailable)
    }
}

impl LocalStore for IdbStore {
    async fn get(&self, id: &NoteId) -> Result<Option<LocalNote>, StoreError> {
        let tx = self.tx(&[NOTES], TransactionMode::ReadOnly)?;
        let store = tx.store(NOTES).map_err(unavailable)?;
        let v = store
            .get(JsValue::from_str(id.as_str()))
            .await
            .map_err(unavailable)?;
        v.map(from_js).transpose()
    }

    async fn get_many(&self, ids: &[NoteId]) -> Result<Vec<LocalNote>, StoreError> {
        let tx = self.tx(&[NOTES], TransactionMode::ReadOnly)?;
        let store = tx.store(NOTES).map_err(unavailable)?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(v) = store
                .get(JsValue::from_str(id.as_str()))
                .await
                .map_err(unavailable)?
            {
                out.push(from_js(v)?);
            }
        }
        Ok(out)
    }

    async fn put(&self, note: &LocalNote) -> Result<(), StoreError> {
        let tx = self.tx(&[NOTES], TransactionMode::ReadWrite)?;
        let store = tx.store(NOTES).map_err(unavailable)?;
        store
            .put(&note_to_js(note)?, None)
            .await
            .map_err(unavailable)?;
        committed(tx).await?;
        Ok(())
    }

    async fn put_many(&self, notes: &[LocalNote]) -> Result<(), StoreError> {
        let tx = self.tx(&[NOTES], TransactionMode::ReadWrite)?;
        let store = tx.store(NOTES).map_err(unavailable)?;
        for note in notes {
            store
                .put(&note_to_js(note)?, None)
                .await
                .map_err(unavailable)?;
        }
        committed(tx).await
    }

    async fn list(&self) -> Result<Vec<LocalNote>, StoreError> {
        let tx = self.tx(&[NOTES], TransactionMode::ReadOnly)?;
        let store = tx.store(NOTES).map_err(unavailable)?;
        let all = store.get_all(None, None).await.map_err(unavailable)?;
        all.into_iter().map(from_js).collect()
    }

    async fn pending(&self) -> Result<Vec<LocalNote>, StoreError> {
        let tx = self.tx(&[NOTES], TransactionMode::ReadOnly)?;
        let store = tx.store(NOTES).map_err(unavailable)?;
        let index = store.index(BY_PENDING).map_err(unavailable)?;
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
        let tx = self.tx(&[NOTES], TransactionMode::ReadOnly)?;
        let store = tx.store(NOTES).map_err(unavailable)?;
        let index = store.index(BY_ORDER).map_err(unavailable)?;
        let range = before
            .map(|b| KeyRange::upper_bound(&JsValue::from_str(&b.to_string()), Some(true)))
            .transpose()
            .map_err(unavailable)?;
        let limit = u32::try_from(limit).unwrap_or(u32::MAX);
        let rows = index
            .scan(range, Some(limit), None, Some(Direction::Prev))
            .await
            .map_err(unavailable)?;
        rows.into_iter().map(|(_, v)| from_js(v)).collect()
    }

    async fn live_count(&self) -> Result<usize, StoreError> {
        let tx = self.tx(&[NOTES], TransactionMode::ReadOnly)?;
        let store = tx.store(NOTES).map_err(unavailable)?;
        let index = store.index(BY_ORDER).map_err(unavailable)?;
        Ok(index.count(None).await.map_err(unavailable)? as usize)
    }

    async fn chunk(
        &self,
        after: Option<&NoteId>,
        limit: usize,
    ) -> Result<Vec<LocalNote>, StoreError> {
        let tx = self.tx(&[NOTES], TransactionMode::ReadOnly)?;
        let store = tx.store(NOTES).map_err(unavailable)?;
        let range = after
            .map(|a| KeyRange::lower_bound(&JsValue::from_str(a.as_str()), Some(true)))
            .transpose()
            .map_err(unavailable)?;
        let limit = u32::try_from(limit).unwrap_or(u32::MAX);
        let all = store
            .get_all(range, Some(limit))
            .await
            .map_err(unavailable)?;
        all.into_iter().map(from_js).collect()
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
        let tx = self.tx(&[NOTES], TransactionMode::ReadWrite)?;
        let store = tx.store(NOTES).map_err(unavailable)?;
        let Some(raw) = store
            .get(JsValue::from_str(id.as_str()))
            .await
            .map_err(unavailable)?
        else {
            return tx.done().await.map(|_| None).map_err(unavailable);
        };
        let mut note: LocalNote = from_js(raw)?;
        if f(&mut note) {
            store
                .put(&note_to_js(&note)?, None)
                .await
                .map_err(unavailable)?;
            committed(tx).await?;
        } else {
            tx.done().await.map_err(unavailable)?;
        }
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
        let tx = self.tx(&[NOTES, META], TransactionMode::ReadWrite)?;
        let notes = tx.store(NOTES).map_err(unavailable)?;
        let meta = tx.store(META).map_err(unavailable)?;
        for id in affected_ids(response) {
            let current = notes
                .get(JsValue::from_str(id.as_str()))
                .await
                .map_err(unavailable)?
                .map(from_js)
                .transpose()?;
            let result = response.results.iter().find(|r| r.note_id == id);
            let pulled = response.changes.iter().find(|n| n.id == id);
            let change = sent.iter().find(|c| c.note_id == id);
            if let Some(n) = reconcile(current.as_ref(), change, result, pulled) {
                notes
                    .put(&note_to_js(&n)?, None)
                    .await
                    .map_err(unavailable)?;
            }
        }
        meta.put(
            &JsValue::from_str(&response.cursor.0),
            Some(&JsValue::from_str(META_CURSOR)),
        )
        .await
        .map_err(unavailable)?;
        committed(tx).await?;
        Ok(())
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
        _on_change: Closure<dyn FnMut(JsValue)>,
    }

    impl Drop for VersionWatch {
        fn drop(&mut self) {
            close(&self.conn);
        }
    }

    fn close(conn: &JsValue) {
        if let Ok(f) = Reflect::get(conn, &"close".into()).and_then(|f| f.dyn_into::<Function>()) {
            let _ = f.call0(conn);
        }
    }

    impl VersionWatch {
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
            let on_change = Closure::<dyn FnMut(JsValue)>::new(move |_event: JsValue| {
                close(&watched);
                if let Ok(mut slot) = db.try_borrow_mut()
                    && let Some(rexie) = slot.take()
                {
                    rexie.close();
                }
                if let Ok(event) = web_sys::Event::new(CLOSED_EVENT)
                    && let Ok(target) = js_sys::global().dyn_into::<web_sys::EventTarget>()
                {
                    let _ = target.dispatch_event(&event);
                }
            });
            Reflect::set(&conn, &"onversionchange".into(), on_change.as_ref()).ok()?;
            Some(Self {
                conn,
                _on_change: on_change,
            })
        }
    }
}
