//! This browser's account records (`client::local::AccountRecords`) in the shapes browsers
//! already hold, and old records read back.

use client::local::{
    AccountRecord, AccountRecords, LocalStore, META_ACCOUNT, META_SEEN, META_SIGNED_OUT,
    META_TRASH_DAYS, Records,
};
use client::memory::MemoryStore;
use futures::executor::block_on;

fn alice() -> AccountRecord {
    AccountRecord {
        id: "u1".into(),
        name: "alice".into(),
    }
}

/// The stored shapes are the ones browsers already hold: changing them loses who is
/// signed in on every browser.
#[test]
fn records_are_stored_in_the_shapes_browsers_hold() {
    block_on(async {
        let store = MemoryStore::new();
        let records = AccountRecords(&store);
        assert_eq!(records.read().await.unwrap(), Records::default());
        assert!(!records.adopt(&alice()).await.unwrap(), "the first account");
        let meta = async |k| store.get_meta(k).await.unwrap();
        assert_eq!(
            meta(META_ACCOUNT).await.as_deref(),
            Some(r#"{"id":"u1","name":"alice"}"#)
        );
        assert_eq!(meta(META_SIGNED_OUT).await.as_deref(), Some(""));
        assert_eq!(meta(META_SEEN).await.as_deref(), Some(r#"["u1"]"#));
        records.set_trash_days(14).await.unwrap();
        assert_eq!(meta(META_TRASH_DAYS).await.as_deref(), Some("14"));

        records.sign_out().await.unwrap();
        assert_eq!(meta(META_SIGNED_OUT).await.as_deref(), Some("1"));
        assert_eq!(meta(META_ACCOUNT).await.as_deref(), Some(""));
    });
}

#[test]
fn records_read_back_what_earlier_builds_wrote() {
    block_on(async {
        let store = MemoryStore::new();
        // As the app wrote them (`serde_json::json!`), with a field a later build added.
        store
            .set_meta(META_ACCOUNT, r#"{"id":"u1","name":"alice","extra":1}"#)
            .await
            .unwrap();
        store.set_meta(META_SEEN, r#"["u0","u1"]"#).await.unwrap();
        store.set_meta(META_TRASH_DAYS, "0").await.unwrap();
        let records = AccountRecords(&store);
        let r = records.read().await.unwrap();
        assert_eq!((r.shown(), r.signed_out), (Some(&alice()), false));
        assert_eq!(records.trash_days().await.unwrap(), None, "0 is no period");
        assert!(records.adopt(&alice()).await.unwrap(), "u0 was here before");
        assert_eq!(records.seen().await.unwrap(), ["u0", "u1"]);

        // Signed out offline: the account is not shown until the server hears of it.
        records.sign_out().await.unwrap();
        let r = records.read().await.unwrap();
        assert_eq!((r.shown(), r.signed_out), (None, true));
        assert!(records.sign_out_pending().await.unwrap());
        records.sign_out_reached_server().await.unwrap();
        assert!(!records.sign_out_pending().await.unwrap());

        // Hand-edited or cut short: no account, no error.
        store.set_meta(META_ACCOUNT, "{\"id\":").await.unwrap();
        assert_eq!(records.read().await.unwrap().account, None);
    });
}
