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
