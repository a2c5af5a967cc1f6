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

/// Two pages opening a new store at once (two tabs, a page and its service worker) agree on
/// the device's node id.
#[wasm_bindgen_test]
async fn two_pages_opening_a_new_store_at_once_agree_on_its_node_id() {
    IdbStore::delete("t-node-race").await.unwrap();
    let (a, b) = futures::join!(IdbStore::open("t-node-race"), IdbStore::open("t-node-race"));
    let (a, b) = futures::join!(
        client::local::Notes::open(a.unwrap()),
        client::local::Notes::open(b.unwrap())
    );
    assert_eq!(a.unwrap().node(), b.unwrap().node());
}

#[wasm_bindgen_test]
async fn commit_sync_applies_data_and_cursor() {
    suite::commit_sync_applies_data_and_cursor(fresh("t-commit").await).await;
}

#[wasm_bindgen_test]
async fn a_long_pull_keeps_the_edits_made_between_its_pages() {
    let store =
        suite::a_long_pull_keeps_the_edits_made_between_its_pages(fresh("t-long-pull").await).await;
    // The first, the second and the fourth page (the keys learnt before the first,
    // nothing written meanwhile, none of their notes here) were written without reading a
    // note, as packs; the third came after writes of others, the last has notes that are
    // here.
    assert_eq!(store.pages_written_unread(), 3);
    // The suite's checks above read through the packs (unless the background unpacker was
    // quicker); unpacked to the end, every read is the same.
    type Reads = (
        Vec<client::local::LocalNote>,
        Vec<client::local::LocalNote>,
        Vec<(u64, client::local::LocalNote)>,
        Vec<client::local::LocalNote>,
        usize,
    );
    async fn everything(store: &IdbStore) -> Reads {
        let mut list = store.list().await.unwrap();
        list.sort_by(|a, b| a.id.cmp(&b.id));
        (
            list,
            store.page(None, 1000).await.unwrap(),
            store.changed_since(0, usize::MAX).await.unwrap(),
            store.chunk(None, usize::MAX).await.unwrap(),
            store.live_count().await.unwrap(),
        )
    }
    let before = everything(&store).await;
    while store.unpack_one().await.unwrap() {}
    assert_eq!(store.packs().await.unwrap(), 0);
    assert!(
        before == everything(&store).await,
        "unpacking changed what is read"
    );
    assert_eq!(before.0.len(), 650);
}

#[wasm_bindgen_test]
async fn a_page_is_the_lists_first_notes() {
    suite::a_page_is_the_lists_first_notes(fresh("t-page-ties").await).await;
}

#[wasm_bindgen_test]
async fn outbox_and_atomic_updates() {
    suite::outbox_and_atomic_updates(fresh("t-outbox").await).await;
}

#[wasm_bindgen_test]
async fn indexes_follow_every_write() {
    suite::indexes_follow_every_write(fresh("t-indexes").await).await;
}

#[wasm_bindgen_test]
async fn the_trash_keeps_deleted_text() {
    suite::the_trash_keeps_deleted_text(fresh("t-trash").await).await;
}

#[wasm_bindgen_test]
async fn the_trash_is_read_alone() {
    suite::the_trash_is_read_alone(fresh("t-trash-alone").await).await;
}

#[wasm_bindgen_test]
async fn an_import_never_overwrites() {
    suite::an_import_never_overwrites(fresh("t-import").await).await;
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
        Some("5")
    );
}

/// A database written by the previous version (schema 2, data version 2: no indexes, no
/// `order` in the records) is upgraded when opened: the list's pages, the live count and
/// the outbox come from the new indexes and hold every note they should.
#[wasm_bindgen_test]
async fn a_version_2_database_gets_the_indexes() {
    use rexie::{ObjectStore, Rexie, TransactionMode};
    let name = "t-migrate-2";
    IdbStore::delete(name).await.unwrap();
    let old = Rexie::builder(name)
        .version(2)
        .add_object_store(ObjectStore::new("notes").key_path("id"))
        .add_object_store(ObjectStore::new("meta"))
        .build()
        .await
        .unwrap();
    let tx = old
        .transaction(&["notes", "meta"], TransactionMode::ReadWrite)
        .unwrap();
    let notes = tx.store("notes").unwrap();
    for (id, wall, pending, deleted) in [
        ("a", 1, None, false),
        ("b", 3, Some("c-b"), false),
        ("c", 2, None, false),
        ("d", 4, Some("c-d"), true),
    ] {
        let sync = if pending.is_some() {
            "pending"
        } else {
            "synced"
        };
        let record = serde_json::json!({
            "id": id, "title": id.to_uppercase(), "content": "", "deleted": deleted,
            "hlc": format!("176406458912{wall}-00000000-d"), "base_version": 1,
            "pending": pending, "sync": {"state": sync},
            "base": {"title": id.to_uppercase(), "content": ""}, "strategy": "default",
            "strategy_changed": false, "conflict": null, "resolving": false
        });
        let js = js_sys::JSON::parse(&record.to_string()).unwrap();
        notes.put(&js, None).await.unwrap();
    }
    tx.store("meta")
        .unwrap()
        .put(&"2".into(), Some(&"data_version".into()))
        .await
        .unwrap();
    tx.done().await.unwrap();
    old.close();

    let store = IdbStore::open(name).await.unwrap();
    let page = store.page(None, 10).await.unwrap();
    let ids: Vec<&str> = page.iter().map(|n| n.id.as_str()).collect();
    assert_eq!(ids, ["b", "c", "a"], "live notes, newest first");
    assert_eq!(store.live_count().await.unwrap(), 3);
    let mut outbox: Vec<String> = store
        .pending()
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.id.0)
        .collect();
    outbox.sort();
    assert_eq!(outbox, ["b", "d"]);
    assert_eq!(store.pending_count().await.unwrap(), 2);
    assert_eq!(
        store.get_meta("data_version").await.unwrap().as_deref(),
        Some("5")
    );
    assert_eq!(store.get(&"a".into()).await.unwrap().unwrap().title, "A");
}

/// A database written by the previous version (schema 3, data version 3: the outbox and
/// list indexes, no change sequence, no note counter, no search store) is upgraded when
/// opened: the live count is counted once and kept from then on, the change sequence
/// starts (records written before carry none), and the search index can be saved.
#[wasm_bindgen_test]
async fn a_version_3_database_gets_the_counter_and_the_change_sequence() {
    use rexie::{Index, ObjectStore, Rexie, TransactionMode};
    let name = "t-migrate-3";
    IdbStore::delete(name).await.unwrap();
    let old = Rexie::builder(name)
        .version(3)
        .add_object_store(
            ObjectStore::new("notes")
                .key_path("id")
                .add_index(Index::new("pending", "pending"))
                .add_index(Index::new("order", "order")),
        )
        .add_object_store(ObjectStore::new("meta"))
        .build()
        .await
        .unwrap();
    let tx = old
        .transaction(&["notes", "meta"], TransactionMode::ReadWrite)
        .unwrap();
    let notes = tx.store("notes").unwrap();
    for (id, wall, deleted) in [("a", 1, false), ("b", 3, false), ("c", 2, true)] {
        let hlc = format!("176406458912{wall}-00000000-d");
        let mut record = serde_json::json!({
            "id": id, "title": id.to_uppercase(), "content": "", "deleted": deleted,
            "hlc": hlc, "base_version": 1, "pending": null, "sync": {"state": "synced"},
            "base": {"title": id.to_uppercase(), "content": ""}, "strategy": "default",
            "strategy_changed": false, "conflict": null, "resolving": false
        });
        if !deleted {
            record["order"] = hlc.into();
        }
        let js = js_sys::JSON::parse(&record.to_string()).unwrap();
        notes.put(&js, None).await.unwrap();
    }
    tx.store("meta")
        .unwrap()
        .put(&"3".into(), Some(&"data_version".into()))
        .await
        .unwrap();
    tx.done().await.unwrap();
    old.close();

    let store = IdbStore::open(name).await.unwrap();
    assert_eq!(
        store.get_meta("data_version").await.unwrap().as_deref(),
        Some("5")
    );
    assert_eq!(store.live_count().await.unwrap(), 2);
    assert_eq!(store.change_seq().await.unwrap(), 0);
    assert!(store.changed_since(0, 10).await.unwrap().is_empty());
    let page: Vec<String> = store
        .page(None, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.id.0)
        .collect();
    assert_eq!(page, ["b", "a"]);

    // From now on every write counts and is in the sequence.
    let notes = client::local::Notes::open(store).await.unwrap();
    notes.delete(&"a".into()).await.unwrap();
    notes.edit(&"c".into(), "C back", "").await.unwrap();
    let created = notes.create("D", "").await.unwrap();
    assert_eq!(notes.count().await.unwrap(), 3, "b, c, d");
    let changed: Vec<String> = notes
        .store()
        .changed_since(0, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|(_, n)| n.id.0)
        .collect();
    assert_eq!(changed, ["a".to_owned(), "c".to_owned(), created.id.0]);

    // The search store is there.
    notes.store().save_search(&[1, 2, 3]).await.unwrap();
    assert_eq!(
        notes.store().load_search().await.unwrap(),
        Some(vec![1, 2, 3])
    );
    // An index saved in parts as the app saves it (each part copied out as it is
    // written), given back as one, loads and answers as the one saved.
    let mut ix = client::search::SearchIndex::new();
    for (_, n) in notes.store().changed_since(0, 10).await.unwrap() {
        ix.upsert(&n);
    }
    let parts = js_sys::Array::new();
    ix.encode_to(9, &mut |part| {
        parts.push(&js_sys::Uint8Array::from(part));
    });
    notes.store().save_search_parts(&parts).await.unwrap();
    let bytes = notes.store().load_search().await.unwrap().unwrap();
    assert_eq!(bytes, ix.encode(9));
    let (back, seq) = client::search::SearchIndex::decode(&bytes).expect("decodes");
    assert_eq!((back.len(), seq), (2, 9));
    assert_eq!(back.search("back", 10), ix.search("back", 10));
    // Parts that are not all bytes are no saved index (it is built again).
    parts.push(&wasm_bindgen::JsValue::from_str("not bytes"));
    notes.store().save_search_parts(&parts).await.unwrap();
    assert_eq!(notes.store().load_search().await.unwrap(), None);
}

/// A database written by the previous version (schema 4, data version 4: no trash index)
/// is upgraded when opened: the trash's records are found by the new index, the others are
/// untouched, and the change sequence and the note counter go on from where they were.
#[wasm_bindgen_test]
async fn a_version_4_database_gets_the_trash_index() {
    use rexie::{Index, ObjectStore, Rexie, TransactionMode};
    let name = "t-migrate-4";
    IdbStore::delete(name).await.unwrap();
    let old = Rexie::builder(name)
        .version(4)
        .add_object_store(
            ObjectStore::new("notes")
                .key_path("id")
                .add_index(Index::new("pending", "pending"))
                .add_index(Index::new("order", "order"))
                .add_index(Index::new("seq", "seq")),
        )
        .add_object_store(ObjectStore::new("meta"))
        .add_object_store(ObjectStore::new("search"))
        .build()
        .await
        .unwrap();
    let tx = old
        .transaction(&["notes", "meta"], TransactionMode::ReadWrite)
        .unwrap();
    let notes = tx.store("notes").unwrap();
    // a: live; b: deleted, its text in the trash; c: deleted, no text kept.
    for (seq, (id, deleted, trash)) in [("a", false, false), ("b", true, true), ("c", true, false)]
        .into_iter()
        .enumerate()
    {
        let hlc = format!("17640645891{seq}0-00000000-d");
        let mut record = serde_json::json!({
            "id": id, "title": if deleted { "" } else { "A" }, "content": "",
            "deleted": deleted, "hlc": hlc, "base_version": 1, "pending": null,
            "sync": {"state": "synced"}, "base": null, "strategy": "default",
            "strategy_changed": false, "conflict": null, "resolving": false, "seq": seq + 1
        });
        if !deleted {
            record["order"] = hlc.into();
        }
        if trash {
            record["trash"] = serde_json::json!({
                "title": "Bee", "content": "kept", "deleted_ms": 1_764_064_589_110u64
            });
        }
        let js = js_sys::JSON::parse(&record.to_string()).unwrap();
        notes.put(&js, None).await.unwrap();
    }
    let meta = tx.store("meta").unwrap();
    meta.put(&"4".into(), Some(&"data_version".into()))
        .await
        .unwrap();
    meta.put(&"3 1".into(), Some(&"note_stats".into()))
        .await
        .unwrap();
    tx.done().await.unwrap();
    old.close();

    let store = IdbStore::open(name).await.unwrap();
    assert_eq!(
        store.get_meta("data_version").await.unwrap().as_deref(),
        Some("5")
    );
    let trashed: Vec<String> = store
        .trashed()
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.id.0)
        .collect();
    assert_eq!(trashed, ["b"]);
    assert_eq!(
        (
            store.change_seq().await.unwrap(),
            store.live_count().await.unwrap()
        ),
        (3, 1)
    );
    let notes = client::local::Notes::open(store).await.unwrap();
    let trash = notes
        .trash(1_764_064_589_200, client::local::TRASH_DAYS)
        .await
        .unwrap();
    assert_eq!(trash.len(), 1);
    assert_eq!(trash[0].trash.as_ref().unwrap().content, "kept");
    // And the index follows writes from now on.
    notes.restore(&"b".into()).await.unwrap().unwrap();
    assert!(notes.store().trashed().await.unwrap().is_empty());
}

/// A newer build opening the database with a higher version is not blocked by this older
/// connection: the store closes itself, tells the page (event `tern-store-closed`), and
/// refuses further calls with a message that says to reload (it never writes into a schema
/// it does not know).
#[wasm_bindgen_test]
async fn an_upgrade_by_a_newer_build_closes_the_old_store_and_says_so() {
    use futures::future::{Either, select};
    use rexie::{ObjectStore, Rexie};
    use std::cell::Cell;
    use std::rc::Rc;
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen_futures::JsFuture;
    let name = "t-upgrade";
    IdbStore::delete(name).await.unwrap();
    let old = IdbStore::open(name).await.unwrap();
    let notes = client::local::Notes::open(old).await.unwrap();
    let kept = notes.create("Before the update", "safe").await.unwrap();
    let told = Rc::new(Cell::new(false));
    let flag = told.clone();
    let listener = Closure::<dyn FnMut()>::new(move || flag.set(true));
    let add: js_sys::Function = js_sys::Reflect::get(&js_sys::global(), &"addEventListener".into())
        .unwrap()
        .into();
    add.call2(
        &js_sys::global(),
        &client::idb::CLOSED_EVENT.into(),
        listener.as_ref(),
    )
    .unwrap();

    let newer = Rexie::builder(name)
        .version(client::idb::SCHEMA_VERSION + 1)
        .add_object_store(ObjectStore::new("notes").key_path("id"))
        .add_object_store(ObjectStore::new("meta"))
        .add_object_store(ObjectStore::new("added_later"))
        .build();
    let timeout = JsFuture::from(js_sys::Promise::new(&mut |resolve, _| {
        let set_timeout: js_sys::Function =
            js_sys::Reflect::get(&js_sys::global(), &"setTimeout".into())
                .unwrap()
                .into();
        set_timeout
            .call2(&js_sys::global(), &resolve, &5000.into())
            .unwrap();
    }));
    let newer = match select(Box::pin(newer), Box::pin(timeout)).await {
        Either::Left((db, _)) => db.expect("the newer build opens the database"),
        Either::Right(_) => panic!("the upgrade was blocked by the old connection"),
    };
    assert!(told.get(), "the page is told");
    let err = notes.store().get(&kept.id).await.unwrap_err();
    assert!(err.to_string().contains("reload this page"), "{err}");
    // The note written before the upgrade is in the upgraded database.
    let tx = newer
        .transaction(&["notes"], rexie::TransactionMode::ReadOnly)
        .unwrap();
    let got = tx
        .store("notes")
        .unwrap()
        .get(kept.id.as_str().into())
        .await
        .unwrap();
    assert!(got.is_some());
}

#[wasm_bindgen_test]
async fn records_stay_out_of_the_notes_list() {
    suite::records_stay_out_of_the_notes_list(fresh("t-records").await).await;
}
