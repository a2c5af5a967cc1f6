use super::*;
use sync_core::protocol::{Change, ChangeOutcome, ChangeResult};
use sync_core::{Hlc, NoteState, Strategy, Text};

#[test]
fn sync_states_are_stored_in_their_documented_shape() {
    let failed = SyncState::Failed {
        code: "too_large".into(),
        message: "shorten it".into(),
    };
    for (state, json) in [
        (SyncState::Synced, serde_json::json!({"state": "synced"})),
        (SyncState::Pending, serde_json::json!({"state": "pending"})),
        (
            failed,
            serde_json::json!({"state": "failed", "code": "too_large", "message": "shorten it"}),
        ),
    ] {
        assert_eq!(serde_json::to_value(&state).unwrap(), json);
        assert_eq!(serde_json::from_value::<SyncState>(json).unwrap(), state);
    }
    assert!(serde_json::from_value::<SyncState>(serde_json::json!({"state": "failed"})).is_err());
}
use sync_core::protocol::RejectCode;

fn hlc(w: u64) -> Hlc {
    Hlc {
        wall_ms: w,
        counter: 0,
        node: "d".into(),
    }
}

fn pending_note(change: &str) -> LocalNote {
    LocalNote {
        id: "n".into(),
        title: "mine".into(),
        content: String::new(),
        deleted: false,
        hlc: hlc(10),
        base_version: Some(3),
        pending: Some(change.into()),
        sync: SyncState::Pending,
        base: Some(Text {
            title: "base".into(),
            content: String::new(),
        }),
        strategy: Strategy::Default,
        strategy_changed: false,
        conflict: None,
        resolving: false,
        local_conflict: false,
        typed_on: None,
        purge: false,
        trash: None,
        fields: Default::default(),
        field_edits: Default::default(),
        edit_clocks: Default::default(),
    }
}

fn remote(v: u64) -> NoteState {
    NoteState {
        id: "n".into(),
        title: "theirs".into(),
        content: String::new(),
        deleted: false,
        hlc: hlc(20),
        version: v,
        strategy: Strategy::Default,
        conflict: None,
        purged: false,
        fields: Default::default(),
    }
}

fn result(change: &str, outcome: ChangeOutcome) -> ChangeResult {
    ChangeResult {
        change_id: change.into(),
        note_id: "n".into(),
        outcome,
        fields_refused: None,
    }
}

#[test]
fn version_1_records_are_migrated() {
    let synced = serde_json::json!({
        "id": "n", "title": "T", "content": "C", "deleted": false,
        "hlc": "1764064589123-00000000-d", "base_version": 4, "pending": null,
        "sync": {"state": "synced"}
    });
    let mut pending = synced.clone();
    pending["pending"] = "c1".into();
    pending["sync"] = serde_json::json!({"state": "pending"});
    let mut synced: LocalNote = serde_json::from_value(synced).unwrap();
    let mut pending: LocalNote = serde_json::from_value(pending).unwrap();
    migrate_note(1, &mut synced);
    migrate_note(1, &mut pending);
    assert_eq!(
        synced.base,
        Some(Text {
            title: "T".into(),
            content: "C".into()
        })
    );
    assert_eq!(pending.base, None, "the base of a pending edit is unknown");
    assert!(synced.pending_change().is_none());
    assert_eq!(
        (synced.strategy, synced.conflict),
        (Strategy::Default, None)
    );
}

#[test]
fn a_pulled_change_never_replaces_a_pending_edit() {
    let n = pending_note("c1");
    assert_eq!(reconcile(Some(&n), None, None, Some(&remote(9))), None);
}

#[test]
fn an_answer_to_an_older_change_keeps_the_newer_edit_pending() {
    let n = pending_note("c2");
    let mut sent = n.pending_change().unwrap();
    sent.change_id = "c1".into();
    sent.content = "what was sent".into();
    let r = result(
        "c1",
        ChangeOutcome::Applied {
            version: 7,
            current: None,
        },
    );
    let after = reconcile(Some(&n), Some(&sent), Some(&r), None).unwrap();
    assert_eq!(after.pending, Some("c2".into()));
    assert_eq!(after.sync, SyncState::Pending);
    assert_eq!(after.base_version, Some(7));
    assert_eq!(
        after.base.unwrap().content,
        "what was sent",
        "the newer edit builds on it"
    );
}

#[test]
fn a_merged_answer_brings_the_merged_note() {
    let n = pending_note("c1");
    let mut merged = remote(9);
    merged.content = "both edits".into();
    let r = result(
        "c1",
        ChangeOutcome::Applied {
            version: 9,
            current: Some(merged),
        },
    );
    let after = reconcile(Some(&n), None, Some(&r), None).unwrap();
    assert_eq!(
        (after.content.as_str(), after.pending, after.base_version),
        ("both edits", None, Some(9))
    );
    assert_eq!(after.base.unwrap().content, "both edits");
}

#[test]
fn a_rejected_edit_stays_with_its_reason() {
    let n = pending_note("c1");
    let r = result(
        "c1",
        ChangeOutcome::Rejected {
            code: RejectCode::TooLarge,
            message: "shorten".into(),
        },
    );
    let after = reconcile(Some(&n), None, Some(&r), None).unwrap();
    assert_eq!(after.title, "mine");
    assert_eq!(after.pending, Some("c1".into()));
    assert_eq!(
        after.sync,
        SyncState::Failed {
            code: "too_large".into(),
            message: "shorten".into()
        }
    );
    assert_eq!(
        after.pending_change(),
        None,
        "a refused change is not pushed again as is"
    );
}

#[test]
fn an_applied_edit_becomes_synced() {
    let n = pending_note("c1");
    let r = result(
        "c1",
        ChangeOutcome::Applied {
            version: 8,
            current: None,
        },
    );
    let after = reconcile(Some(&n), None, Some(&r), None).unwrap();
    assert_eq!(
        (after.pending, after.sync, after.base_version),
        (None, SyncState::Synced, Some(8))
    );
}

#[test]
fn an_older_pulled_version_does_not_replace_a_newer_synced_one() {
    let mut n = LocalNote::from_remote(&remote(9));
    n.title = "v9".into();
    assert_eq!(reconcile(Some(&n), None, None, Some(&remote(4))), None);
    assert_eq!(
        reconcile(Some(&n), None, None, Some(&remote(12)))
            .unwrap()
            .base_version,
        Some(12)
    );
}

fn edits(v: serde_json::Value) -> std::collections::BTreeMap<String, sync_core::fields::FieldEdit> {
    serde_json::from_value(v).unwrap()
}

#[test]
fn a_record_written_before_fields_reads_as_a_note_with_none() {
    // A data version 5 record, as today's client writes it (no `fields`, no `field_edits`).
    let old = serde_json::json!({
        "id": "n", "title": "t", "content": "c", "deleted": false,
        "hlc": "0000000000010-00000000-d", "base_version": 3, "pending": null,
        "sync": {"state": "synced"}, "base": {"title": "t", "content": "c"},
        "strategy": "default", "strategy_changed": false, "conflict": null, "resolving": false
    });
    let mut n: LocalNote = serde_json::from_value(old.clone()).unwrap();
    migrate_note(DATA_VERSION, &mut n);
    assert!(n.fields.is_empty() && n.field_edits.is_empty());
    assert!(n.is_note() && !n.pinned() && n.tag_ids().is_empty());
    // And it is written back without them: nothing a store keeps grows for notes without
    // fields.
    let back = serde_json::to_value(&n).unwrap();
    assert!(back.get("fields").is_none() && back.get("field_edits").is_none());
}

#[test]
fn a_pulled_state_merges_its_fields_under_a_pending_field_edit() {
    let mut mine = pending_note("c1");
    mine.field_edits = edits(serde_json::json!({"tags": {"add": ["mine"]}}));
    let mut theirs = remote(4);
    theirs.fields.apply(
        &edits(serde_json::json!({"tags": {"add": ["theirs"]}, "pinned": true})),
        &hlc(5),
    );
    let n = reconcile(Some(&mine), None, None, Some(&theirs)).unwrap();
    assert_eq!(n.title, "mine", "the pending text edit stays");
    assert_eq!(n.tag_ids(), ["mine".to_owned(), "theirs".to_owned()].into());
    assert!(n.pinned());
    assert_eq!(
        n.pending_change().unwrap().fields,
        mine.field_edits,
        "still to send"
    );
}

#[test]
fn an_answer_to_an_older_change_settles_the_field_edits_it_carried() {
    // c1 carried "a"; then the user added "b" (c2) before the answer came.
    let mut sent_note = pending_note("c1");
    sent_note.field_edits = edits(serde_json::json!({"tags": {"add": ["a"]}, "pinned": true}));
    let sent = sent_note.pending_change().unwrap();
    let mut now = pending_note("c2");
    now.field_edits = edits(serde_json::json!({"tags": {"add": ["a", "b"]}, "pinned": true}));
    let mut stored = remote(4);
    stored.fields.apply(&sent.fields, &sent.hlc);
    let r = result(
        "c1",
        ChangeOutcome::Applied {
            version: 4,
            current: Some(stored),
        },
    );
    let n = reconcile(Some(&now), Some(&sent), Some(&r), None).unwrap();
    // Only "b" is still to send: "a" and the pin are the server's now, not sent again
    // with a later clock.
    assert_eq!(
        n.field_edits,
        edits(serde_json::json!({"tags": {"add": ["b"]}}))
    );
    assert_eq!(n.tag_ids(), ["a".to_owned(), "b".to_owned()].into());
    assert!(n.pinned());
}

/// A pin (c1) superseded by another device's later unpin, answered while a newer text edit
/// (c2) is pending: the pin is settled (the server's unpin stands), not re-sent with c2's
/// later clock, where it would win over the other device's newer choice.
#[test]
fn a_superseded_change_s_field_edits_are_not_sent_again() {
    let mut sent_note = pending_note("c1");
    sent_note.field_edits = edits(serde_json::json!({"pinned": true}));
    let sent = sent_note.pending_change().unwrap();
    let mut now = pending_note("c2");
    now.hlc = hlc(30);
    now.field_edits = sent_note.field_edits.clone();
    // The pin keeps the clock it was made at (c1's), as `Notes::change_if` leaves it.
    now.edit_clocks = serde_json::from_value(serde_json::json!({"pinned": hlc(10)})).unwrap();
    let mut current = remote(5);
    current
        .fields
        .apply(&edits(serde_json::json!({"pinned": false})), &hlc(25));
    let r = result("c1", ChangeOutcome::Superseded { current });
    let n = reconcile(Some(&now), Some(&sent), Some(&r), None).unwrap();
    assert!(n.field_edits.is_empty(), "{:?}", n.field_edits);
    assert!(!n.pinned(), "the other device's later unpin stands");
    assert_eq!(n.pending.as_ref().map(|c| c.0.as_str()), Some("c2"));
}

/// A pin sent (c1), then unpinned and pinned again while c1 was on its way: the answer to
/// c1 settles c1's pin, not the redone one, which is newer and still to send (it may have
/// to win over another device's unpin made in between). The same for a tag.
#[test]
fn a_redone_field_edit_is_not_settled_by_the_answer_to_the_first() {
    let mut sent_note = pending_note("c1");
    sent_note.field_edits = edits(serde_json::json!({"tags": {"add": ["a", "b"]}, "pinned": true}));
    let sent = sent_note.pending_change().unwrap();
    // Undone and redone at 30: the pending edits are the same values, at the note's clock.
    // "b" only had the text edited since: it keeps c1's clock.
    let mut now = pending_note("c3");
    now.hlc = hlc(30);
    now.field_edits = sent_note.field_edits.clone();
    now.edit_clocks = serde_json::from_value(serde_json::json!({"tags": {"b": hlc(10)}})).unwrap();
    let mut stored = remote(4);
    stored.fields.apply_change(&sent);
    let r = result(
        "c1",
        ChangeOutcome::Applied {
            version: 4,
            current: Some(stored),
        },
    );
    let n = reconcile(Some(&now), Some(&sent), Some(&r), None).unwrap();
    assert_eq!(
        n.field_edits,
        edits(serde_json::json!({"tags": {"add": ["a"]}, "pinned": true})),
        "the redone pin and tag are still to send; b is settled"
    );
    let c = n.pending_change().unwrap();
    assert_eq!(c.hlc, hlc(30));
    assert!(c.edit_clocks.is_empty(), "sent at the redo's clock: {c:?}");
}

/// Device 2 typed " d" (sent as `c1`) and then "elta" while `c1` was on its way; the server
/// merged `c1` with device 1's "ALPHA" (version 4).
fn typed_on_while_merged(typed_since: &str, merged: &str) -> (LocalNote, Change, ChangeResult) {
    let mut n = pending_note("c2");
    n.title = "Shared".into();
    n.content = typed_since.into();
    n.base_version = Some(2);
    n.base = Some(Text {
        title: "Shared".into(),
        content: "alpha beta gamma".into(),
    });
    let mut sent = n.pending_change().unwrap();
    sent.change_id = "c1".into();
    sent.content = "alpha beta gamma d".into();
    let mut stored = remote(4);
    stored.title = "Shared".into();
    stored.content = merged.into();
    let r = result(
        "c1",
        ChangeOutcome::Applied {
            version: 4,
            current: Some(stored),
        },
    );
    (n, sent, r)
}

#[test]
fn typing_on_while_a_change_is_merged_moves_onto_the_merge() {
    let (n, sent, r) = typed_on_while_merged("alpha beta gamma delta", "ALPHA beta gamma d");
    let after = reconcile(Some(&n), Some(&sent), Some(&r), None).unwrap();
    assert_eq!(
        after.content, "ALPHA beta gamma delta",
        "both edits, shown at once"
    );
    assert_eq!(
        (&after.pending, &after.sync),
        (&Some("c2".into()), &SyncState::Pending)
    );
    assert_eq!(after.base_version, Some(4));
    assert_eq!(after.base.as_ref().unwrap().content, "ALPHA beta gamma d");
    // The server, holding version 4, takes the newer edit as it is: no conflict.
    let next = after.pending_change().unwrap();
    assert_eq!(next.base_content.as_deref(), Some("ALPHA beta gamma d"));
    assert_eq!(next.base_version, Some(4));
}

/// The newer edit `n` stays as it was after answer `r` to `sent`: its text, and its old base
/// (version 2), for the server to merge as concurrent.
fn keeps_the_old_base(n: &LocalNote, sent: &Change, r: &ChangeResult, case: &str) {
    let after = reconcile(Some(n), Some(sent), Some(r), None);
    let after = after.as_ref().unwrap_or(n);
    assert_eq!(after.content, n.content, "{case}");
    assert_eq!(after.base_version, Some(2), "{case}");
    assert_eq!(
        after.base.as_ref().unwrap().content,
        "alpha beta gamma",
        "{case}"
    );
}

#[test]
fn typing_on_that_overlaps_the_merge_keeps_the_old_base() {
    // Device 1 typed right where device 2 went on typing: a true overlap, for the server
    // to keep both.
    let (n, sent, r) = typed_on_while_merged("alpha beta gamma delta", "alpha beta gamma d!");
    keeps_the_old_base(&n, &sent, &r, "overlap");
}

#[test]
fn typing_on_is_not_moved_onto_a_state_without_the_change() {
    // Last-write-wins: the change lost to a later edit elsewhere but carried field edits, so
    // it is answered `Applied` with the winner's text, which lacks the change's " d". Moving
    // the newer edit (typed at the start since) onto it would undo " d" without a word; it
    // keeps its old base.
    let (n, sent, r) = typed_on_while_merged("new alpha beta gamma d", "alpha BETA gamma");
    keeps_the_old_base(&n, &sent, &r, "the winner's text");
}

#[test]
fn typing_on_is_not_merged_here_when_the_note_is_not_to_merge() {
    for strategy in [Strategy::Lww, Strategy::Manual] {
        let (mut n, sent, r) =
            typed_on_while_merged("alpha beta gamma delta", "ALPHA beta gamma d");
        n.strategy = strategy;
        keeps_the_old_base(&n, &sent, &r, &format!("{strategy:?}"));
    }
}

/// Pulled states of every shape a record takes: plain, deleted, in conflict, with a
/// strategy, with fields (a notebook: not listed), and texts that need escaping.
fn varied_states() -> Vec<NoteState> {
    let fixture = |extra: serde_json::Value| {
        let mut v = serde_json::json!({
            "id": "n1", "title": "Trip \"to\" \\ Zürich\n", "content": "pack\u{0}\t\u{1F600}\u{2028}",
            "deleted": false, "hlc": "1764064500000-00000000-dev-phone", "version": 42,
        });
        v.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        serde_json::from_value::<NoteState>(v).unwrap()
    };
    let clock = "1764064589123-00000002-dev-laptop";
    vec![
        fixture(serde_json::json!({})),
        fixture(serde_json::json!({"deleted": true, "title": "", "content": ""})),
        fixture(serde_json::json!({"deleted": true, "purged": true})),
        fixture(serde_json::json!({"strategy": "lww"})),
        fixture(serde_json::json!({"conflict": {"versions": [
            {"title": "a", "content": "b", "deleted": false, "hlc": clock}],
            "proposal": {"title": "a", "content": "c"}}})),
        fixture(serde_json::json!({"fields": {
            "pinned": {"value": true, "hlc": clock},
            "tags": {"elements": {"t1": {"present": true, "hlc": clock}}}}})),
        fixture(serde_json::json!({"fields": {"kind": {"value": "notebook", "hlc": clock}}})),
    ]
}

#[test]
fn a_pulled_record_written_from_the_state_is_the_note_s_own() {
    for s in varied_states() {
        let hlc = s.hlc.to_string();
        assert_eq!(
            LocalNote::remote_json(&s, &hlc).unwrap(),
            serde_json::to_string(&LocalNote::from_remote(&s)).unwrap(),
            "{s:?}"
        );
    }
}

// (Natively only: proptest is not built for the browser's tests.)
#[cfg(not(target_arch = "wasm32"))]
proptest::proptest! {
    #[test]
    fn a_pulled_record_of_any_text_is_the_note_s_own(title in ".{0,40}", content in "(?s).{0,200}", deleted: bool) {
        let mut s = remote(7);
        (s.title, s.content, s.deleted) = (title, content, deleted);
        let hlc = s.hlc.to_string();
        proptest::prop_assert_eq!(
            LocalNote::remote_json(&s, &hlc).unwrap(),
            serde_json::to_string(&LocalNote::from_remote(&s)).unwrap()
        );
    }
}
