//! The store conformance suite on IndexedDB, in headless Chromium
//! (`wasm-bindgen-test-runner`, see scripts/test.sh).
#![cfg(target_arch = "wasm32")]

use client::conformance as suite;
use client::idb::IdbStore;
use client::local::LocalStore;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

async fn fresh(name: &str) -> IdbStore {
    IdbStore::delete(name).await.unwrap();
    IdbStore::open(name).await.unwrap()
}

#[wasm_bindgen_test]
async fn edits_are_stored_and_pending() {
    suite::edits_are_stored_and_pending(fresh("t-edits").await).await;
}

#[wasm_bindgen_test]
async fn the_node_id_is_stable() {
    suite::the_node_id_is_stable(fresh("t-node").await).await;
}

#[wasm_bindgen_test]
async fn commit_sync_applies_data_and_cursor() {
    suite::commit_sync_applies_data_and_cursor(fresh("t-commit").await).await;
}

/// Data written through one connection is there for a new one: it is really in IndexedDB.
#[wasm_bindgen_test]
async fn notes_survive_reopening_the_database() {
    let store = fresh("t-reopen").await;
    let notes = client::local::Notes::open(store).await.unwrap();
    let n = notes.create("Durable", "yes").await.unwrap();
    drop(notes);
    let again = IdbStore::open("t-reopen").await.unwrap();
    assert_eq!(again.get(&n.id).await.unwrap(), Some(n));
}

/// A database written by the previous version of the app (schema 1, records without the
/// conflict fields) is upgraded when opened: nothing lost, synced notes get their base.
#[wasm_bindgen_test]
async fn a_version_1_database_is_migrated() {
    use rexie::{ObjectStore, Rexie, TransactionMode};
    let name = "t-migrate";
    IdbStore::delete(name).await.unwrap();
    let old = Rexie::builder(name)
        .version(1)
        .add_object_store(ObjectStore::new("notes").key_path("id"))
        .add_object_store(ObjectStore::new("meta"))
        .build()
        .await
        .unwrap();
    let record = serde_json::json!({
        "id": "old", "title": "From v1", "content": "kept", "deleted": false,
        "hlc": "1764064589123-00000000-d", "base_version": 3, "pending": null,
        "sync": {"state": "synced"}
    });
    let tx = old
        .transaction(&["notes"], TransactionMode::ReadWrite)
        .unwrap();
    // A plain JS object, as the old version stored it.
    let js = js_sys::JSON::parse(&record.to_string()).unwrap();
    tx.store("notes").unwrap().put(&js, None).await.unwrap();
    tx.done().await.unwrap();
    old.close();

    let store = IdbStore::open(name).await.unwrap();
    let n = store
        .get(&"old".into())
        .await
        .unwrap()
        .expect("the old note is still there");
    assert_eq!((n.title.as_str(), n.content.as_str()), ("From v1", "kept"));
    assert_eq!(n.base.map(|b| b.content), Some("kept".into()));
    assert_eq!(
        store.get_meta("data_version").await.unwrap().as_deref(),
        Some("2")
    );
}
