//! A note's fields (tags, notebook, pinned) and the notebook and tag records, over HTTP
//! against the real database server: devices run the client's own code (`Notes` on an
//! in-memory store, the sync engine), today's client is a change without fields, and an
//! attacker posts raw JSON.

mod support;

use client::engine;
use client::local::{LocalNote, LocalStore, Notes, SyncState, set_clock_offset};
use client::memory::MemoryStore;
use serde_json::{Value, json};
use support::*;
use sync_core::fields::Kind;
use sync_core::protocol::{ChangeOutcome, RejectCode};
use sync_core::{NoteId, Strategy};

async fn device() -> Notes<MemoryStore> {
    Notes::open(MemoryStore::new()).await.unwrap()
}

async fn sync(d: &Notes<MemoryStore>, app: &TestApp) {
    engine::sync(d.store(), &app.api()).await.unwrap();
}

async fn get(d: &Notes<MemoryStore>, id: &NoteId) -> LocalNote {
    d.store().get(id).await.unwrap().unwrap()
}

/// Sets device `d`'s clock `minutes` ahead of the server's (within the 5 minutes the server
/// accepts), so its next edit is later by the clock than every edit made before on any
/// device, whatever the offsets the syncs measured under load (each sync measures it again).
async fn ahead(d: &Notes<MemoryStore>, minutes: i64) {
    set_clock_offset(d.store(), minutes * 60_000).await.unwrap();
}

fn names(notes: &[LocalNote]) -> Vec<&str> {
    notes.iter().map(|n| n.title.as_str()).collect()
}

/// Two devices that share one note, synced.
async fn shared(app: &TestApp) -> (Notes<MemoryStore>, Notes<MemoryStore>, NoteId) {
    let (a, b) = (device().await, device().await);
    let n = a.create("Trip", "pack").await.unwrap();
    sync(&a, app).await;
    sync(&b, app).await;
    (a, b, n.id)
}

#[tokio::test]
async fn concurrent_tag_edits_on_two_devices_keep_both() {
    let app = spawn_app().await;
    let (a, b, id) = shared(&app).await;
    let work = a.create_tag("work").await.unwrap();
    a.add_tag(&id, &work.id).await.unwrap();
    sync(&a, &app).await;
    sync(&b, &app).await;
    assert_eq!(
        b.tags_of(&get(&b, &id).await).await.unwrap()[0].title,
        "work"
    );

    // Offline on both: the laptop adds "travel"; the phone adds "ideas" and drops "work".
    let travel = a.create_tag("travel").await.unwrap();
    let ideas = b.create_tag("ideas").await.unwrap();
    a.add_tag(&id, &travel.id).await.unwrap();
    b.add_tag(&id, &ideas.id).await.unwrap();
    b.remove_tag(&id, &work.id).await.unwrap();
    sync(&a, &app).await;
    sync(&b, &app).await;
    sync(&a, &app).await;
    for d in [&a, &b] {
        let n = get(d, &id).await;
        assert_eq!(names(&d.tags_of(&n).await.unwrap()), ["ideas", "travel"]);
        assert_eq!(n.sync, SyncState::Synced);
        assert_eq!(n.content, "pack", "a tag edit leaves the text");
    }
}

#[tokio::test]
async fn a_tag_added_on_one_device_and_removed_on_another_goes_to_the_later_action() {
    let app = spawn_app().await;
    let (a, b, id) = shared(&app).await;
    let tag = a.create_tag("urgent").await.unwrap();
    a.add_tag(&id, &tag.id).await.unwrap();
    sync(&a, &app).await;
    sync(&b, &app).await;

    // The phone removes it, then (later by the clock) the laptop, not having seen that,
    // adds it again: the later action wins, in whichever order they reach the server.
    b.remove_tag(&id, &tag.id).await.unwrap();
    ahead(&a, 2).await;
    a.remove_tag(&id, &tag.id).await.unwrap();
    a.add_tag(&id, &tag.id).await.unwrap();
    for d in [&a, &b] {
        let c = get(d, &id)
            .await
            .pending_change()
            .expect("a pending field edit");
        assert!(c.edits_only_fields(), "{c:?}");
    }
    sync(&a, &app).await;
    sync(&b, &app).await;
    sync(&a, &app).await;
    for d in [&a, &b] {
        assert!(get(d, &id).await.tag_ids().contains(&tag.id.0));
    }

    // And the other way round: a later removal beats an earlier add.
    a.remove_tag(&id, &tag.id).await.unwrap();
    a.add_tag(&id, &tag.id).await.unwrap();
    ahead(&b, 4).await;
    b.remove_tag(&id, &tag.id).await.unwrap();
    sync(&a, &app).await;
    sync(&b, &app).await;
    sync(&a, &app).await;
    for d in [&a, &b] {
        let n = get(d, &id).await;
        assert!(
            n.tag_ids().is_empty(),
            "{n:#?}\n{:#?}",
            app.pull_all().await
        );
    }
}

#[tokio::test]
async fn a_notebook_renamed_on_one_device_while_another_moves_a_note_into_it_converges() {
    let app = spawn_app().await;
    let (a, b, id) = shared(&app).await;
    let work = a.create_notebook("Work", None).await.unwrap();
    sync(&a, &app).await;
    sync(&b, &app).await;
    assert_eq!(names(&b.records(Kind::Notebook).await.unwrap()), ["Work"]);
    assert!(b.list().await.unwrap().iter().all(|n| n.is_note()));

    a.rename(&work.id, "Job").await.unwrap();
    // One change, however many notes are in the notebook.
    assert_eq!(a.unsynced_count().await.unwrap(), 1);
    b.set_notebook(&id, Some(&work.id)).await.unwrap();
    sync(&a, &app).await;
    sync(&b, &app).await;
    sync(&a, &app).await;
    for d in [&a, &b] {
        let n = get(d, &id).await;
        let nb = d.notebook_of(&n).await.unwrap().expect("in the notebook");
        assert_eq!((nb.id.clone(), nb.title.as_str()), (work.id.clone(), "Job"));
    }

    // Nested: a sub-notebook, and a move that would put a notebook inside itself is not made.
    let sub = a.create_notebook("Clients", Some(&work.id)).await.unwrap();
    assert_eq!(sub.notebook_id(), Some(work.id.clone()));
    a.move_notebook(&work.id, Some(&sub.id)).await.unwrap();
    assert_eq!(get(&a, &work.id).await.notebook_id(), None);

    // Two devices each move one notebook into the other at once: a cycle, shown at the
    // top level on both.
    let (x, y) = (
        a.create_notebook("X", None).await.unwrap(),
        a.create_notebook("Y", None).await.unwrap(),
    );
    sync(&a, &app).await;
    sync(&b, &app).await;
    a.move_notebook(&x.id, Some(&y.id)).await.unwrap();
    b.move_notebook(&y.id, Some(&x.id)).await.unwrap();
    sync(&a, &app).await;
    sync(&b, &app).await;
    sync(&a, &app).await;
    for d in [&a, &b] {
        for nb in [&x.id, &y.id] {
            let nb = get(d, nb).await;
            assert!(nb.notebook_id().is_some(), "both moves applied");
            assert!(d.parent_of(&nb).await.unwrap().is_none(), "{}", nb.title);
        }
        let clients = get(d, &sub.id).await;
        assert_eq!(
            d.parent_of(&clients).await.unwrap().map(|p| p.title),
            Some("Job".to_owned())
        );
    }

    // Deleting the notebook: its notes stay, shown in no notebook; restoring brings it back.
    a.delete(&work.id).await.unwrap();
    sync(&a, &app).await;
    sync(&b, &app).await;
    let n = get(&b, &id).await;
    assert!(b.notebook_of(&n).await.unwrap().is_none());
    assert_eq!(b.list().await.unwrap().len(), 1, "the note is still there");
    b.restore(&work.id).await.unwrap();
    assert!(b.notebook_of(&n).await.unwrap().is_some());
}

#[tokio::test]
async fn a_deleted_tag_is_no_longer_shown_on_its_notes() {
    let app = spawn_app().await;
    let (a, b, id) = shared(&app).await;
    let tag = a.create_tag("old").await.unwrap();
    a.add_tag(&id, &tag.id).await.unwrap();
    sync(&a, &app).await;
    sync(&b, &app).await;
    b.delete(&tag.id).await.unwrap();
    sync(&b, &app).await;
    sync(&a, &app).await;
    let n = get(&a, &id).await;
    assert!(a.tags_of(&n).await.unwrap().is_empty());
    assert!(a.records(Kind::Tag).await.unwrap().is_empty());
}

/// The trash lists notes only: deleted notebooks and tags are offered back apart
/// (`Notes::deleted_records`), on the device that deleted them and on the others.
#[tokio::test]
async fn the_trash_lists_notes_only() {
    let app = spawn_app().await;
    let (a, b, id) = shared(&app).await;
    let tag = a.create_tag("old tag").await.unwrap();
    let nb = a.create_notebook("old notebook", None).await.unwrap();
    sync(&a, &app).await;
    sync(&b, &app).await;
    for gone in [&id, &tag.id, &nb.id] {
        a.delete(gone).await.unwrap();
    }
    sync(&a, &app).await;
    sync(&b, &app).await;
    let now = now();
    let days = sync_core::limits::TRASH_DAYS;
    let trashed = |notes: Vec<LocalNote>| -> Vec<String> {
        notes.into_iter().map(|n| n.trash.unwrap().title).collect()
    };
    for d in [&a, &b] {
        assert_eq!(trashed(d.trash(now, days).await.unwrap()), ["Trip"]);
        let tags = d.deleted_records(Kind::Tag, now, days).await.unwrap();
        assert_eq!(trashed(tags), ["old tag"]);
        let nbs = d.deleted_records(Kind::Notebook, now, days).await.unwrap();
        assert_eq!(trashed(nbs), ["old notebook"]);
    }
    b.restore(&tag.id).await.unwrap();
    assert_eq!(names(&b.records(Kind::Tag).await.unwrap()), ["old tag"]);
}

/// Notebook and tag records carry their own strategy, `merge`, whatever the server's
/// default: under a `manual` default, concurrent renames go to the later one and a rename
/// wins over a concurrent delete, never a conflict (no view shows one for records).
#[tokio::test]
async fn records_merge_whatever_the_servers_default() {
    let app = spawn_app_with(server::storage::Conflicts {
        default: Strategy::Manual,
        history_limit: 50,
    })
    .await;
    let (a, b) = (device().await, device().await);
    let nb = a.create_notebook("Work", None).await.unwrap();
    assert_eq!(nb.pending_change().unwrap().strategy, Some(Strategy::Merge));
    sync(&a, &app).await;
    sync(&b, &app).await;
    a.rename(&nb.id, "Job").await.unwrap();
    ahead(&b, 2).await;
    b.rename(&nb.id, "Office").await.unwrap();
    sync(&a, &app).await;
    sync(&b, &app).await;
    sync(&a, &app).await;
    for d in [&a, &b] {
        let r = get(d, &nb.id).await;
        assert_eq!((r.title.as_str(), &r.conflict), ("Office", &None));
    }
    // A delete on one device, a rename on the other: the notebook stays, renamed.
    a.delete(&nb.id).await.unwrap();
    b.rename(&nb.id, "Clients").await.unwrap();
    sync(&a, &app).await;
    sync(&b, &app).await;
    sync(&a, &app).await;
    for d in [&a, &b] {
        let r = get(d, &nb.id).await;
        assert!(!r.deleted && r.conflict.is_none(), "{r:?}");
        assert_eq!(r.title, "Clients");
        assert_eq!(
            names(&d.records(Kind::Notebook).await.unwrap()),
            ["Clients"]
        );
    }
}

#[tokio::test]
async fn a_pin_and_a_text_edit_at_once_both_apply() {
    for strategy in [Strategy::Merge, Strategy::Lww, Strategy::Manual] {
        let app = spawn_app().await;
        let (a, b, id) = shared(&app).await;
        a.set_strategy(&id, strategy).await.unwrap();
        sync(&a, &app).await;
        sync(&b, &app).await;

        b.edit(&id, "Trip", "pack the tent").await.unwrap();
        ahead(&a, 2).await;
        // Later by the clock, on a device that has not seen the edit: were the pin an
        // edit of the text, last-write-wins would put "pack" back.
        a.set_pinned(&id, true).await.unwrap();
        sync(&b, &app).await;
        sync(&a, &app).await;
        sync(&b, &app).await;
        for d in [&a, &b] {
            let n = get(d, &id).await;
            assert_eq!(n.content, "pack the tent", "{strategy:?}");
            assert!(n.pinned(), "{strategy:?}");
            assert!(n.conflict.is_none(), "{strategy:?}: {:?}", n.conflict);
        }
    }
}

/// The other order: a device pins the note first; then a text edit made on the version
/// before the pin arrives, from a device with fields and from today's client. It saw the
/// latest text, so it is sequential: no conflict, no revision marked conflict or merged
/// (a field-only change bumps the version, which used to make it look concurrent).
#[tokio::test]
async fn a_text_edit_made_before_a_pin_it_had_not_seen_is_sequential() {
    for strategy in [Strategy::Merge, Strategy::Lww, Strategy::Manual] {
        let app = spawn_app().await;
        let (a, b, id) = shared(&app).await;
        a.set_strategy(&id, strategy).await.unwrap();
        sync(&a, &app).await;
        sync(&b, &app).await;

        // The pin first, later by the clock than the text edit that follows.
        ahead(&a, 2).await;
        a.set_pinned(&id, true).await.unwrap();
        sync(&a, &app).await;
        b.edit(&id, "Trip", "pack the tent").await.unwrap();
        sync(&b, &app).await;
        sync(&a, &app).await;
        for d in [&a, &b] {
            let n = get(d, &id).await;
            assert_eq!(n.content, "pack the tent", "{strategy:?}");
            assert!(n.pinned(), "{strategy:?}");
            assert!(n.conflict.is_none(), "{strategy:?}: {:?}", n.conflict);
        }

        // Today's client (no fields) edits on the version after that edit; an unpin
        // reaches the server first.
        let texted = app
            .pull_all()
            .await
            .into_iter()
            .find(|s| s.id == id)
            .unwrap();
        a.set_pinned(&id, false).await.unwrap();
        sync(&a, &app).await;
        let mut old = change(&id.0, "old-client", now(), "Trip");
        old.base_version = Some(texted.version);
        old.base_title = Some(texted.title.clone());
        old.base_content = Some(texted.content.clone());
        old.content = "pack the tent and the stove".into();
        let r = app.sync(&request(None, vec![old])).await;
        assert!(
            matches!(
                r.results[0].outcome,
                ChangeOutcome::Applied { current: None, .. }
            ),
            "{strategy:?}: stored as sent, {:?}",
            r.results[0]
        );
        let after = app
            .pull_all()
            .await
            .into_iter()
            .find(|s| s.id == id)
            .unwrap();
        assert_eq!(after.content, "pack the tent and the stove");
        assert!(
            after.conflict.is_none() && !after.fields.pinned(),
            "{after:?}"
        );
        let history = app.history(&id.0).await;
        assert!(
            history
                .iter()
                .all(|r| r.reason == sync_core::protocol::RevisionReason::Edited),
            "{strategy:?}: {history:?}"
        );
    }
}

/// A pending field edit keeps the time it was made: an old offline tag removal does not
/// become newer than another device's re-add because the note was typed in later.
#[tokio::test]
async fn an_old_offline_tag_removal_loses_to_a_later_re_add_whatever_is_typed_after() {
    let app = spawn_app().await;
    let (a, b, id) = shared(&app).await;
    let tag = a.create_tag("urgent").await.unwrap();
    a.add_tag(&id, &tag.id).await.unwrap();
    sync(&a, &app).await;
    sync(&b, &app).await;

    // t1: the laptop, offline, removes the tag.
    a.remove_tag(&id, &tag.id).await.unwrap();
    // t2 > t1: the phone removes and adds it again, and syncs.
    ahead(&b, 1).await;
    b.remove_tag(&id, &tag.id).await.unwrap();
    b.add_tag(&id, &tag.id).await.unwrap();
    sync(&b, &app).await;
    // t3 > t2: the laptop, still offline, types in the note; then it syncs.
    ahead(&a, 3).await;
    a.edit(&id, "Trip", "pack the tent").await.unwrap();
    let pending = get(&a, &id).await.pending_change().unwrap();
    assert!(!pending.edit_clocks.is_empty(), "{pending:?}");
    sync(&a, &app).await;
    sync(&b, &app).await;
    for d in [&a, &b] {
        let n = get(d, &id).await;
        assert!(n.tag_ids().contains(&tag.id.0), "{n:#?}");
        assert_eq!(n.content, "pack the tent");
        assert_eq!(n.sync, SyncState::Synced);
    }
}

/// A device whose clock runs minutes ahead pins a note; another device, with the note's
/// text edited and not yet synced, unpins it after seeing the pin: the unpin, made later,
/// wins (the field's clock is ordered before the device's next edit, as the text's is).
#[tokio::test]
async fn an_unpin_made_after_seeing_a_fast_clocked_pin_wins() {
    let app = spawn_app().await;
    let (a, b, id) = shared(&app).await;
    // Four minutes ahead: within what the server accepts, past what a device carries
    // forward from a local edit not accepted yet.
    ahead(&a, 4).await;
    a.set_pinned(&id, true).await.unwrap();
    sync(&a, &app).await;
    sync(&b, &app).await;
    assert!(get(&b, &id).await.pinned());
    // The phone types (pending), then unpins.
    b.edit(&id, "Trip", "pack the tent").await.unwrap();
    b.set_pinned(&id, false).await.unwrap();
    assert!(!get(&b, &id).await.pinned());
    sync(&b, &app).await;
    sync(&a, &app).await;
    for d in [&a, &b] {
        let n = get(d, &id).await;
        assert!(!n.pinned(), "the later unpin wins: {:?}", n.fields);
        assert_eq!(n.content, "pack the tent");
    }
}

#[tokio::test]
async fn a_field_edit_made_offline_is_pushed_later_and_never_lost() {
    let app = spawn_app().await;
    let (a, b, id) = shared(&app).await;
    a.set_pinned(&id, true).await.unwrap();
    assert!(
        engine::sync(a.store(), &app.api_as("not-a-session"))
            .await
            .is_err()
    );
    assert!(get(&a, &id).await.pinned(), "kept after a failed sync");
    // Meanwhile another device edits the note; then the push goes through.
    b.edit(&id, "Trip", "pack more").await.unwrap();
    sync(&b, &app).await;
    sync(&a, &app).await;
    sync(&b, &app).await;
    for d in [&a, &b] {
        let n = get(d, &id).await;
        assert!(n.pinned());
        assert_eq!(n.content, "pack more");
    }
}

#[tokio::test]
async fn todays_client_editing_a_body_keeps_tags_notebook_and_pin() {
    let app = spawn_app().await;
    let a = device().await;
    let n = a.create("Note", "v1").await.unwrap();
    let tag = a.create_tag("t").await.unwrap();
    let nb = a.create_notebook("nb", None).await.unwrap();
    a.add_tag(&n.id, &tag.id).await.unwrap();
    a.set_notebook(&n.id, Some(&nb.id)).await.unwrap();
    a.set_pinned(&n.id, true).await.unwrap();
    sync(&a, &app).await;
    let before = app
        .pull_all()
        .await
        .into_iter()
        .find(|s| s.id == n.id)
        .unwrap();
    assert!(!before.fields.is_empty());

    // Today's client: a change with no `fields` (the shape of the golden fixtures),
    // sequential and then concurrent.
    let mut edit = change(&n.id.0, "old-client", now(), "Note");
    edit.base_version = Some(before.version);
    edit.content = "v2 from today's client".into();
    let mut concurrent = change(&n.id.0, "old-client-2", now() + 1, "Note");
    concurrent.base_version = Some(before.version);
    concurrent.content = "v2 from today's client, another device".into();
    let json = serde_json::to_value(&edit).unwrap();
    assert!(json.get("fields").is_none());
    app.sync(&request(None, vec![edit, concurrent])).await;
    let after = app
        .pull_all()
        .await
        .into_iter()
        .find(|s| s.id == n.id)
        .unwrap();
    assert!(after.content.starts_with("v2 from today's client"));
    assert_eq!(after.fields, before.fields);
    sync(&a, &app).await;
    let shown = get(&a, &n.id).await;
    assert!(shown.pinned());
    assert_eq!(a.notebook_of(&shown).await.unwrap().unwrap().title, "nb");
    assert_eq!(a.tags_of(&shown).await.unwrap()[0].title, "t");
}

/// Tags added on two devices at once, together past the most a note holds: the second
/// device's change still saves its text; only its tag edit is refused, the answer says so
/// (`fields_refused`), the device shows the note failed with the reason, and the note
/// keeps syncing.
#[tokio::test]
async fn tags_added_on_two_devices_past_the_limit_keep_the_text_and_say_what_was_refused() {
    let app = spawn_app().await;
    let (a, b, id) = shared(&app).await;
    let tags = |r: std::ops::Range<usize>| -> std::collections::BTreeSet<NoteId> {
        r.map(|i| NoteId(format!("tag-{i}"))).collect()
    };
    a.set_tags(&id, &tags(0..60)).await.unwrap();
    sync(&a, &app).await;
    sync(&b, &app).await;

    a.set_tags(&id, &tags(0..90)).await.unwrap();
    let mut mine = tags(0..60);
    mine.extend(tags(100..130));
    b.set_tags(&id, &mine).await.unwrap();
    b.edit(&id, "Trip", "pack the tent").await.unwrap();
    sync(&a, &app).await;
    sync(&b, &app).await;

    let server = app
        .pull_all()
        .await
        .into_iter()
        .find(|s| s.id == id)
        .unwrap();
    assert_eq!(server.content, "pack the tent", "the text is saved");
    assert_eq!(
        server.fields.set("tags").len(),
        90,
        "the first device's tags"
    );
    let n = get(&b, &id).await;
    assert_eq!(n.content, "pack the tent");
    assert_eq!(n.pending, None, "not sent again");
    assert_eq!(n.tag_ids().len(), 90);
    match &n.sync {
        SyncState::Failed { code, message } => {
            assert_eq!(code, "too_large");
            assert!(message.contains("tags"), "{message}");
        }
        other => panic!("the note says its tags were not added: {other:?}"),
    }

    // The note keeps syncing.
    b.edit(&id, "Trip", "pack the tent and the stove")
        .await
        .unwrap();
    sync(&b, &app).await;
    sync(&a, &app).await;
    for d in [&a, &b] {
        let n = get(d, &id).await;
        assert_eq!(n.content, "pack the tent and the stove");
        assert_eq!(n.sync, SyncState::Synced);
    }

    // The answer as a raw client sees it: applied, with the refused fields named.
    let more: Vec<String> = (200..220).map(|i| format!("tag-{i}")).collect();
    let mut c = raw_change(
        &id.0,
        "over",
        json!({"tags": {"add": more}, "pinned": true}),
    );
    c["base_version"] = json!(server.version);
    let (status, r) = app
        .post_raw(json!({"protocol": 1, "changes": [c]}).to_string())
        .await;
    assert_eq!(status, 200, "{r}");
    let res = &r["results"][0];
    assert_eq!(res["status"], "applied", "{res}");
    assert_eq!(res["fields_refused"]["fields"], json!(["tags"]), "{res}");
    assert_eq!(res["fields_refused"]["code"], "too_large", "{res}");
    let after = app
        .pull_all()
        .await
        .into_iter()
        .find(|s| s.id == id)
        .unwrap();
    assert!(after.fields.pinned(), "the other field edit applies");
    assert_eq!(after.fields.set("tags").len(), 90);

    // The answer lost on the way, the device sends the change again: the same answer, the
    // refusal included (else the device would take the tags as added and lose the failure).
    let (status, again) = app
        .post_raw(json!({"protocol": 1, "changes": [c]}).to_string())
        .await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(
        again["results"][0], r["results"][0],
        "the first answer, whole"
    );

    // A change of tags alone, all refused: superseded with the refusal, and so again when
    // retried.
    let more: Vec<String> = (300..320).map(|i| format!("tag-{i}")).collect();
    let mut only = raw_change(&id.0, "only-tags", json!({"tags": {"add": more}}));
    only["base_version"] = json!(after.version);
    only["title"] = json!(after.title);
    only["content"] = json!(after.content);
    only["base_title"] = json!(after.title);
    only["base_content"] = json!(after.content);
    let body = json!({"protocol": 1, "changes": [only]}).to_string();
    let (status, first) = app.post_raw(body.clone()).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["results"][0]["status"], "superseded", "{first}");
    assert_eq!(
        first["results"][0]["fields_refused"]["fields"],
        json!(["tags"]),
        "{first}"
    );
    let (status, again) = app.post_raw(body).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(
        again["results"][0], first["results"][0],
        "the first answer, whole"
    );
}

/// A raw change of note `note` (JSON), made now, with `fields`.
fn raw_change(note: &str, cid: &str, fields: Value) -> Value {
    json!({
        "change_id": cid, "note_id": note,
        "hlc": format!("{:013}-00000000-evil", now()),
        "title": "t", "content": "c", "fields": fields,
    })
}

#[tokio::test]
async fn an_attackers_field_edits_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    let a = device().await;
    let n = a.create("Mine", "text").await.unwrap();
    sync(&a, &app).await;
    let before = app.pull_all().await;

    let many: Vec<String> = (0..10_000).map(|i| format!("tag{i}")).collect();
    let bad = [
        json!({"tags": {"add": many}}),
        json!({"tags": {"add": ["x".repeat(10_000)]}}),
        json!({"notebook": "n".repeat(1_000_000)}),
        json!({"colour": "red"}),
        json!({"tags": {"add": ["a"], "sneaky": ["b"]}}),
        json!({"pinned": {"nested": [1, 2, 3]}}),
        // Values of another type than the field's.
        json!({"pinned": 7}),
        json!({"notebook": 5}),
        json!({"created": "x"}),
        json!({"kind": "folder"}),
        json!({"parent": true}),
        json!({"tags": {"add": ["not an id"]}}),
    ];
    let mut changes: Vec<Value> = bad
        .iter()
        .enumerate()
        .map(|(i, f)| raw_change(&n.id.0, &format!("evil{i}"), f.clone()))
        .collect();
    // Edit clocks that would let an edit reach past the change's own clock, pass as
    // another device's, or name no edit of the change.
    let later = format!("{:013}-00000000-evil", now() + 3_600_000);
    let other = format!("{:013}-00000000-victim", now() - 1000);
    let bad_clocks = [
        (json!({"pinned": true}), json!({"pinned": later})),
        (json!({"pinned": true}), json!({"pinned": other})),
        (json!({"pinned": true}), json!({"notebook": other})),
        (
            json!({"tags": {"add": ["a"]}}),
            json!({"tags": {"b": other}}),
        ),
        (json!({"tags": {"add": ["a"]}}), json!({"tags": later})),
    ];
    for (i, (f, clocks)) in bad_clocks.iter().enumerate() {
        let mut c = raw_change(&n.id.0, &format!("evil-clock{i}"), f.clone());
        c["edit_clocks"] = clocks.clone();
        changes.push(c);
    }
    let bad_count = changes.len();
    // One good change in the same request is applied: a bad note blocks no other.
    changes.push(raw_change("other", "good", json!({"pinned": true})));
    let body = json!({"protocol": 1, "changes": changes}).to_string();
    let (status, r) = app.post_raw(body).await;
    assert_eq!(status, 200, "{r}");
    let results = r["results"].as_array().unwrap();
    for (i, res) in results[..bad_count].iter().enumerate() {
        assert_eq!(res["status"], "rejected", "{i}: {res}");
        let code = res["code"].as_str().unwrap();
        assert!(["too_large", "invalid"].contains(&code), "{i}: {res}");
        assert!(res["message"].as_str().unwrap().len() < 200, "{res}");
    }
    assert_eq!(results[bad_count]["status"], "applied");
    let after = app.pull_all().await;
    assert_eq!(
        after.iter().find(|s| s.id == n.id),
        before.iter().find(|s| s.id == n.id),
        "the note is as it was"
    );

    // Fields that are not an object of edits: the request is not JSON of the expected
    // shape, a 400 with a JSON error, and nothing changes.
    let body =
        json!({"protocol": 1, "changes": [raw_change(&n.id.0, "evil-shape", json!([1, 2]))]});
    let (status, r) = app.post_raw(body.to_string()).await;
    assert_eq!(
        (status, r["error"].as_str()),
        (400, Some("invalid_request")),
        "{r}"
    );
    assert_eq!(app.pull_all().await.len(), after.len());

    // Many changes together cannot grow a set past its limit either: the set's edit is
    // refused (the rest of the change applies; see
    // `tags_added_on_two_devices_past_the_limit_keep_the_text_and_say_what_was_refused`).
    let first: Vec<String> = (0..sync_core::limits::MAX_SET_ITEMS)
        .map(|i| format!("t{i}"))
        .collect();
    let r = app
        .sync(
            &serde_json::from_value(json!({"protocol": 1, "changes": [
                raw_change("full", "fill", json!({"tags": {"add": first}})),
            ]}))
            .unwrap(),
        )
        .await;
    assert!(matches!(
        r.results[0].outcome,
        ChangeOutcome::Applied { .. }
    ));
    let r = app
        .sync(
            &serde_json::from_value(json!({"protocol": 1, "changes": [
                raw_change("full", "one-more", json!({"tags": {"add": ["t-extra"]}})),
            ]}))
            .unwrap(),
        )
        .await;
    let refused = r.results[0].fields_refused.as_ref().expect("tags refused");
    assert_eq!(
        (refused.fields.clone(), refused.code),
        (vec!["tags".to_owned()], RejectCode::TooLarge)
    );
    let full = app
        .pull_all()
        .await
        .into_iter()
        .find(|s| s.id.0 == "full")
        .unwrap();
    assert_eq!(
        full.fields.set("tags").len(),
        sync_core::limits::MAX_SET_ITEMS
    );
}

/// Random interleavings (seeded, reproducible): three devices tag, untag, pin, move and
/// edit one note, each syncing at random moments; once all have synced twice, every device
/// shows the server's fields and text, with nothing pending.
#[tokio::test]
async fn random_interleavings_of_field_edits_converge() {
    let app = spawn_app().await;
    for seed in 1..=12u64 {
        let devices = [device().await, device().await, device().await];
        let n = devices[0].create("Shared", "start").await.unwrap();
        for d in &devices {
            sync(d, &app).await;
        }
        let tags = ["t1", "t2", "t3"].map(|t| NoteId(format!("{t}-{seed}")));
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut next = |m: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % m
        };
        for step in 0..24 {
            let d = &devices[next(3) as usize];
            let tag = &tags[next(3) as usize];
            match next(6) {
                0 | 1 => drop(d.add_tag(&n.id, tag).await.unwrap()),
                2 => drop(d.remove_tag(&n.id, tag).await.unwrap()),
                3 => drop(d.set_pinned(&n.id, next(2) == 0).await.unwrap()),
                4 => drop(
                    d.edit(&n.id, "Shared", &format!("step {step}"))
                        .await
                        .unwrap(),
                ),
                _ => sync(d, &app).await,
            }
        }
        for _ in 0..2 {
            for d in &devices {
                sync(d, &app).await;
            }
        }
        let server = app
            .pull_all()
            .await
            .into_iter()
            .find(|s| s.id == n.id)
            .unwrap();
        for (i, d) in devices.iter().enumerate() {
            let shown = get(d, &n.id).await;
            assert_eq!(shown.sync, SyncState::Synced, "seed {seed}, device {i}");
            assert_eq!(
                shown.shown_fields(),
                server.fields,
                "seed {seed}, device {i}"
            );
            assert_eq!(shown.content, server.content, "seed {seed}, device {i}");
        }
    }
}
