//! Golden fixtures: the v1 wire format, frozen. If one of these fails, a client already in
//! users' hands would break: bump the protocol version instead of editing the fixture.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use sync_core::protocol::*;
use sync_core::{Hlc, NoteState};

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// Parses the fixture into `T` and checks that `T` writes back exactly the same JSON.
fn round_trip<T: Serialize + DeserializeOwned>(name: &str) -> T {
    let v = fixture(name);
    let t: T = serde_json::from_value(v.clone()).unwrap();
    assert_eq!(
        serde_json::to_value(&t).unwrap(),
        v,
        "{name} does not round-trip"
    );
    t
}

#[test]
fn sync_request_v1() {
    let r: SyncRequest = round_trip("v1_sync_request.json");
    assert_eq!(r.protocol, 1);
    assert_eq!(r.cursor, Some(Cursor("v1.41".into())));
    assert_eq!(
        r.changes[0].hlc,
        Hlc {
            wall_ms: 1_764_064_589_123,
            counter: 2,
            node: "dev-laptop".into()
        }
    );
    assert!(r.changes[1].deleted);
    assert_eq!(r.limit, Some(500));
}

#[test]
fn a_minimal_request_is_a_pull_from_the_start() {
    let r: SyncRequest = serde_json::from_value(fixture("v1_minimal_request.json")).unwrap();
    assert_eq!(
        r,
        SyncRequest {
            protocol: 1,
            cursor: None,
            changes: vec![],
            limit: None
        }
    );
}

#[test]
fn sync_response_v1() {
    let r: SyncResponse = round_trip("v1_sync_response.json");
    assert_eq!(
        r.results[0].outcome,
        ChangeOutcome::Applied {
            version: 42,
            current: None
        }
    );
    assert!(matches!(
        &r.results[1].outcome,
        ChangeOutcome::Superseded {
            current: NoteState { version: 39, .. }
        }
    ));
    assert!(matches!(
        r.results[2].outcome,
        ChangeOutcome::Rejected {
            code: RejectCode::InvalidId,
            ..
        }
    ));
    assert!(!r.has_more);
}

#[test]
fn error_body_v1() {
    let e: ErrorBody = round_trip("v1_error.json");
    assert_eq!(e.error, ErrorCode::UnsupportedProtocol);
}

#[test]
fn unknown_fields_are_ignored_so_optional_additions_are_not_breaking() {
    let mut v = fixture("v1_sync_request.json");
    v["future_field"] = Value::Bool(true);
    v["changes"][0]["field_clocks"] = serde_json::json!({"title": "x"});
    let r: SyncRequest = serde_json::from_value(v).unwrap();
    assert_eq!(r.changes.len(), 2);
}

#[test]
fn conflict_fields_in_a_request_v1() {
    let r: SyncRequest = round_trip("v1_conflict_request.json");
    let c = &r.changes[0];
    assert_eq!(c.base_content.as_deref(), Some("at 6 pm"));
    assert_eq!(c.strategy, Some(sync_core::Strategy::Manual));
    assert!(c.resolve);
}

#[test]
fn a_conflict_in_a_response_v1() {
    let r: SyncResponse = round_trip("v1_conflict_response.json");
    let ChangeOutcome::Applied {
        version: 57,
        current: Some(n),
    } = &r.results[0].outcome
    else {
        panic!("applied with the stored state");
    };
    let c = n.conflict.as_ref().unwrap();
    assert_eq!(c.versions[0].content, "at 8 pm");
    assert_eq!(c.proposal.as_ref().unwrap().content, "at 6 pm, bring wine");
}

#[test]
fn history_response_v1() {
    let h: HistoryResponse = round_trip("v1_history_response.json");
    assert_eq!(h.revisions[0].reason, RevisionReason::Conflict);
    assert_eq!(h.revisions[1].version.content, "at 7 pm");
}

/// The fields on the wire (docs/sync-protocol.md, Fields): a change's edits and a note's
/// merged state, frozen; applying the one to the note before it gives the other.
#[test]
fn fields_v1() {
    let c: Change = round_trip("v1_fields_change.json");
    assert!(c.edits_only_fields());
    let n: NoteState = round_trip("v1_fields_note.json");
    let mut fields = sync_core::fields::Fields::default();
    fields.apply(&c.fields, &c.hlc);
    assert_eq!(fields, n.fields);
    assert!(n.fields.pinned());
    assert_eq!(n.fields.set("tags"), ["tag-travel".to_owned()].into());
}

/// Edit clocks on the wire: a register's clock, a set's clocks by element, frozen; each is
/// the device's own and not later than the change, so the server accepts them.
#[test]
fn edit_clocks_v1() {
    let c: Change = round_trip("v1_fields_edit_clocks_change.json");
    assert!(!c.edits_only_fields(), "the text changed too");
    sync_core::fields::check_clocks(&c.fields, &c.edit_clocks, &c.hlc).expect("valid clocks");
    match &c.edit_clocks["tags"] {
        sync_core::fields::EditClock::Set(by) => {
            assert_eq!(by["tag-travel"].wall_ms, 1_764_064_581_000);
        }
        other => panic!("a set's clocks by element: {other:?}"),
    }
    assert!(matches!(
        c.edit_clocks["pinned"],
        sync_core::fields::EditClock::Register(_)
    ));
}

/// A result whose text applied while a field's edits were refused, frozen.
#[test]
fn fields_refused_v1() {
    let r: ChangeResult = round_trip("v1_fields_refused_result.json");
    assert!(matches!(
        r.outcome,
        ChangeOutcome::Applied { version: 43, .. }
    ));
    let refused = r.fields_refused.expect("fields_refused");
    assert_eq!(refused.fields, ["tags"]);
    assert_eq!(refused.code, RejectCode::TooLarge);
}
