//! The client's sync engine, natively, against the real server over HTTP: two devices of
//! one user, each with its own in-memory local store.

mod support;

use client::api::ApiError;
use client::engine;
use client::local::{LocalStore, Notes, SyncState, set_clock_offset};
use client::memory::MemoryStore;
use support::*;

async fn device() -> Notes<MemoryStore> {
    Notes::open(MemoryStore::new()).await.unwrap()
}

#[tokio::test]
async fn two_devices_converge_through_the_server() {
    let app = spawn_app().await;
    let (laptop, phone) = (device().await, device().await);
    let a = laptop.create("Plan", "day one").await.unwrap();
    engine::sync(laptop.store(), &app.api()).await.unwrap();
    engine::sync(phone.store(), &app.api()).await.unwrap();
    assert_eq!(phone.list().await.unwrap()[0].title, "Plan");

    phone.edit(&a.id, "Plan", "day one, day two").await.unwrap();
    let doomed = phone.create("Scratch", "").await.unwrap();
    phone.delete(&doomed.id).await.unwrap();
    engine::sync(phone.store(), &app.api()).await.unwrap();
    engine::sync(laptop.store(), &app.api()).await.unwrap();

    let l = laptop.list().await.unwrap();
    let p = phone.list().await.unwrap();
    assert_eq!(l, p, "both devices show the same notes");
    assert_eq!(l.len(), 1);
    assert_eq!(l[0].content, "day one, day two");
    assert!(l.iter().all(|n| n.sync == SyncState::Synced));
}

#[tokio::test]
async fn an_edit_made_after_seeing_another_wins_even_with_a_slower_clock() {
    let app = spawn_app().await;
    let (fast, slow) = (device().await, device().await);
    // The fast device's clock runs 4 minutes ahead (within the server's 5-minute bound).
    set_clock_offset(fast.store(), 4 * 60_000).await.unwrap();
    let n = fast.create("Title", "from the fast clock").await.unwrap();
    engine::sync(fast.store(), &app.api()).await.unwrap();

    // The slow device sees that edit, then edits: its edit is later, so it must win, even
    // though its wall clock is 4 minutes behind the first edit's timestamp.
    engine::sync(slow.store(), &app.api()).await.unwrap();
    slow.edit(&n.id, "Title", "edited after seeing it")
        .await
        .unwrap();
    engine::sync(slow.store(), &app.api()).await.unwrap();
    engine::sync(fast.store(), &app.api()).await.unwrap();
    assert_eq!(
        fast.list().await.unwrap()[0].content,
        "edited after seeing it"
    );
}

#[tokio::test]
async fn a_clock_days_ahead_cannot_win_and_loses_nothing() {
    let app = spawn_app().await;
    let (skewed, honest) = (device().await, device().await);
    let n = honest.create("Shared", "v1").await.unwrap();
    engine::sync(honest.store(), &app.api()).await.unwrap();
    engine::sync(skewed.store(), &app.api()).await.unwrap();

    // A device whose clock is three days ahead edits.
    set_clock_offset(skewed.store(), 3 * 86_400_000)
        .await
        .unwrap();
    skewed
        .edit(&n.id, "Shared", "from the future")
        .await
        .unwrap();
    engine::sync(skewed.store(), &app.api()).await.unwrap();
    // The server refused the stamp three days ahead; the refusal's response carried the
    // server's time, so the same run stamped the edit again with the corrected clock and
    // sent it: nothing waits for the user, and nothing is stamped in the future.
    let kept = skewed.store().get(&n.id).await.unwrap().unwrap();
    assert_eq!(kept.content, "from the future");
    assert_eq!(kept.sync, SyncState::Synced, "{:?}", kept.sync);
    let stored = app.pull_all().await;
    assert_eq!(stored[0].content, "from the future");
    let in_an_hour = client::platform::now_ms() + 3_600_000;
    assert!(stored[0].hlc.wall_ms < in_an_hour, "{}", stored[0].hlc);

    // Later edits elsewhere are not beaten by the future timestamp.
    honest.edit(&n.id, "Shared", "v2").await.unwrap();
    engine::sync(honest.store(), &app.api()).await.unwrap();
    assert_eq!(app.pull_all().await[0].content, "v2");

    // The sync corrected the skewed device's clock from the server's: its next edit
    // (made after it saw v2) goes through and wins.
    engine::sync(skewed.store(), &app.api()).await.unwrap();
    skewed
        .edit(&n.id, "Shared", "v3, clock fixed")
        .await
        .unwrap();
    engine::sync(skewed.store(), &app.api()).await.unwrap();
    engine::sync(honest.store(), &app.api()).await.unwrap();
    assert_eq!(honest.list().await.unwrap()[0].content, "v3, clock fixed");
}

#[tokio::test]
async fn a_pending_edit_survives_a_pull_and_a_401_keeps_every_note() {
    let app = spawn_app().await;
    let (a, b) = (device().await, device().await);
    let n = a.create("Note", "base").await.unwrap();
    engine::sync(a.store(), &app.api()).await.unwrap();
    engine::sync(b.store(), &app.api()).await.unwrap();

    b.edit(&n.id, "Note", "b's edit").await.unwrap();
    engine::sync(b.store(), &app.api()).await.unwrap();

    // Device a edits offline; a sync with a bad session fails and keeps it.
    a.edit(&n.id, "Note", "a's later edit").await.unwrap();
    let mut signed_out = app.as_user("alice").await;
    signed_out.token = "expired".into();
    let err = engine::sync(a.store(), &signed_out.api())
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        engine::SyncError::Transport(ApiError::Unauthorized { .. })
    ));
    assert_eq!(a.list().await.unwrap()[0].content, "a's later edit");

    // Back with a session: the pull of b's edit does not overwrite a's pending edit, and
    // a's later edit wins by clock.
    engine::sync(a.store(), &app.api()).await.unwrap();
    engine::sync(b.store(), &app.api()).await.unwrap();
    assert_eq!(a.list().await.unwrap()[0].content, "a's later edit");
    assert_eq!(b.list().await.unwrap()[0].content, "a's later edit");
}

#[tokio::test]
async fn many_large_notes_are_pushed_in_requests_under_the_size_limit() {
    let app = spawn_app().await;
    let (laptop, phone) = (device().await, device().await);
    // 40 notes of 200 KiB: 8 MB of text, and twice that once edited (with the base text):
    // more than one request may carry.
    let big = "x".repeat(200 * 1024);
    for i in 0..40 {
        laptop.create(&format!("Big {i}"), &big).await.unwrap();
    }
    let report = engine::sync(laptop.store(), &app.api()).await.unwrap();
    assert!(
        report.rounds >= 2,
        "split into several requests: {report:?}"
    );
    assert_eq!(report.pushed, 40);
    engine::sync(phone.store(), &app.api()).await.unwrap();
    assert_eq!(phone.list().await.unwrap().len(), 40);
    for n in laptop.list().await.unwrap() {
        laptop
            .edit(&n.id, &n.title, &format!("{big}y"))
            .await
            .unwrap();
    }
    let report = engine::sync(laptop.store(), &app.api()).await.unwrap();
    assert_eq!(report.pushed, 40);
    assert_eq!(laptop.unsynced_count().await.unwrap(), 0);
}

#[tokio::test]
async fn an_oversize_note_fails_on_the_device_and_never_blocks_the_others() {
    let app = spawn_app().await;
    let (laptop, phone) = (device().await, device().await);
    let first = laptop.create("Before", "normal").await.unwrap();
    // More than a whole request may carry: sent, it would be refused with 413 as a whole.
    let huge = "x".repeat(sync_core::limits::MAX_REQUEST_BYTES + 1);
    let big = laptop.create("Huge", &huge).await.unwrap();
    let after = laptop.create("After", "normal too").await.unwrap();

    let report = engine::sync(laptop.store(), &app.api()).await.unwrap();
    assert_eq!((report.pushed, report.refused), (2, 1), "{report:?}");
    let kept = laptop.store().get(&big.id).await.unwrap().unwrap();
    assert_eq!(kept.content, huge, "the oversize note stays on the device");
    match &kept.sync {
        SyncState::Failed { code, message } => {
            assert_eq!(code, "too_large");
            assert!(message.contains("bytes"), "{message}");
        }
        s => panic!("not failed: {s:?}"),
    }
    // The next sync succeeds and sends nothing of it; the others reached the server.
    let again = engine::sync(laptop.store(), &app.api()).await.unwrap();
    assert_eq!((again.pushed, again.refused), (0, 0));
    engine::sync(phone.store(), &app.api()).await.unwrap();
    let mut titles: Vec<String> = phone
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.title)
        .collect();
    titles.sort();
    assert_eq!(titles, ["After", "Before"]);
    for n in [&first, &after] {
        let n = laptop.store().get(&n.id).await.unwrap().unwrap();
        assert_eq!(n.sync, SyncState::Synced);
    }

    // Shortened, it syncs.
    laptop.edit(&big.id, "Huge", "shortened").await.unwrap();
    let fixed = engine::sync(laptop.store(), &app.api()).await.unwrap();
    assert_eq!(fixed.pushed, 1);
    assert_eq!(laptop.unsynced_count().await.unwrap(), 0);
}

/// "Delete forever" on one device while another has an unsynced edit of the note: the
/// edit is never dropped. The phone's pending edit survives the pulled purge, reaches the
/// server as concurrent with it, and (merge, the default: an edit wins over a delete) the
/// note comes back on both devices with that edit; the purged text does not.
#[tokio::test]
async fn a_purge_never_drops_an_unsynced_edit_made_elsewhere() {
    let app = spawn_app().await;
    let (laptop, phone) = (device().await, device().await);
    let n = laptop.create("Diary", "secret").await.unwrap();
    engine::sync(laptop.store(), &app.api()).await.unwrap();
    engine::sync(phone.store(), &app.api()).await.unwrap();

    // The phone edits offline; the laptop deletes the note forever and syncs.
    phone.edit(&n.id, "Diary", "written offline").await.unwrap();
    laptop.delete(&n.id).await.unwrap();
    laptop.delete_forever(&n.id).await.unwrap();
    engine::sync(laptop.store(), &app.api()).await.unwrap();
    assert!(
        app.history(n.id.as_str()).await.is_empty(),
        "purged on the server"
    );

    // The phone syncs: its edit wins over the purged tombstone.
    engine::sync(phone.store(), &app.api()).await.unwrap();
    engine::sync(laptop.store(), &app.api()).await.unwrap();
    for d in [&laptop, &phone] {
        let notes = d.list().await.unwrap();
        assert_eq!(notes.len(), 1);
        assert_eq!(notes[0].content, "written offline");
        assert!(
            d.trash(client::platform::now_ms(), client::local::TRASH_DAYS)
                .await
                .unwrap()
                .is_empty()
        );
    }
    let history = app.history(n.id.as_str()).await;
    assert!(
        history.iter().all(|r| r.version.content != "secret"),
        "{history:?}"
    );
}
