//! The limits the server enforces, and the checks shared by client and server.
//!
//! The client checks the same limits before it queues a change, so a user learns at once
//! that a note is too large, instead of at the next sync.

use crate::fields;
use crate::model::MAX_ID_LEN;
use crate::protocol::{Change, RejectCode};

/// Largest request body, in bytes.
pub const MAX_REQUEST_BYTES: usize = 8 * 1024 * 1024;
/// Most changes in one `POST /sync`.
pub const MAX_CHANGES_PER_REQUEST: usize = 1000;
/// Longest title, in bytes of UTF-8.
pub const MAX_TITLE_BYTES: usize = 1024;
/// Longest content, in bytes of UTF-8.
pub const MAX_CONTENT_BYTES: usize = 256 * 1024;
/// Largest page of remote changes a client may ask for (and the default).
pub const MAX_PULL_LIMIT: u32 = 1000;
/// Most bytes of note JSON in one page of remote changes. A page stops before the note
/// that would pass it, but always holds at least one note, so a pull always progresses (one
/// note with a conflict can be larger: content plus up to 8 conflict versions and a
/// proposal). `has_more` tells the client to continue.
pub const MAX_PULL_BYTES: usize = 4 * 1024 * 1024;
/// Most bytes of change results (`results`) in one answer to a push. Answers stop before
/// the result that would pass it, always hold at least one, and then say `has_more: true`;
/// the changes left without a result are sent again (a replayed change id gets its first
/// outcome). Only answers that carry many large `current` notes come near it.
pub const MAX_RESULT_BYTES: usize = 4 * 1024 * 1024;
/// Work units one three-way merge may spend (`text::merge3`, counted by `text::Budget`).
/// At this budget a merge takes about 45 ms of CPU in a release build (see
/// `examples/merge_budget.rs`), while a note of the largest size (256 KiB) with a few
/// edits far apart needs a fraction of it.
pub const MERGE_BUDGET: u64 = 4_000_000;
/// Work units all the text merges of one push may spend together; each merge also stops
/// at [`MERGE_BUDGET`]. A merge past either is a conflict for the user, as an overlapping
/// edit is: nothing is lost, no worker stalls.
pub const MAX_MERGE_WORK_PER_REQUEST: u64 = 8 * MERGE_BUDGET;
/// How far ahead of the server's clock a change's timestamp may be, in milliseconds.
pub const MAX_CLOCK_AHEAD_MS: u64 = 5 * 60 * 1000;
/// Days a deleted note stays in the trash before it is deleted forever (the server's
/// `TERN_TRASH_DAYS` when unset; devices show and expire their trash by it).
pub const TRASH_DAYS: u32 = 30;

/// Most elements a set field (a note's `tags`) holds; one change may add and remove at
/// most twice as many. A change past either is rejected `too_large`.
pub const MAX_SET_ITEMS: usize = fields::MAX_SET_ITEMS;
/// Most removed elements a set field remembers, oldest forgotten first (see
/// [`fields::MAX_SET_REMOVED`]).
pub const MAX_SET_REMOVED: usize = fields::MAX_SET_REMOVED;
/// Longest element of a set field (a tag id), in bytes; an empty one is refused too.
pub const MAX_SET_ELEMENT_BYTES: usize = 64;
/// Longest register value (a notebook id, `true`), as JSON text, in bytes: each register
/// field declares its own, at most this.
pub const MAX_REGISTER_BYTES: usize = 80;

/// The reject code and message of a field edit [`fields::check`] refused: `too_large` for a
/// value or a set past its size, `invalid` for an unknown field or a value of the wrong kind.
pub fn field_reject(e: &fields::FieldError) -> (RejectCode, String) {
    let code = match e {
        fields::FieldError::TooLong(..) | fields::FieldError::TooMany(..) => RejectCode::TooLarge,
        fields::FieldError::Unknown(_)
        | fields::FieldError::Kind(_)
        | fields::FieldError::Type(_)
        | fields::FieldError::KindChanged
        | fields::FieldError::Clock(_) => RejectCode::Invalid,
    };
    (code, e.to_string())
}

/// The length of `value` as JSON, counted without building the text.
pub fn json_len<T: serde::Serialize + ?Sized>(value: &T) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0 += b.len();
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut c = Count(0);
    match serde_json::to_writer(&mut c, value) {
        Ok(()) => c.0,
        // Only a value that cannot be JSON fails (never one of the protocol's types).
        Err(_) => usize::MAX,
    }
}

/// Checks one change against the per-note limits. `server_now_ms` is the server's clock.
pub fn check_change(change: &Change, server_now_ms: u64) -> Result<(), (RejectCode, String)> {
    if !change.note_id.is_valid() {
        return Err((
            RejectCode::InvalidId,
            format!("note id must be 1 to {MAX_ID_LEN} characters of A-Z, a-z, 0-9, '-' or '_'"),
        ));
    }
    if !change.change_id.is_valid() {
        return Err((
            RejectCode::InvalidId,
            format!("change id must be 1 to {MAX_ID_LEN} characters of A-Z, a-z, 0-9, '-' or '_'"),
        ));
    }
    if change.purge && !change.deleted {
        return Err((
            RejectCode::Invalid,
            "a purge deletes the note: send it with \"deleted\": true".into(),
        ));
    }
    if change.title.len() > MAX_TITLE_BYTES {
        return Err((
            RejectCode::TooLarge,
            format!(
                "title is {} bytes; shorten it to at most {MAX_TITLE_BYTES}",
                change.title.len()
            ),
        ));
    }
    if change.content.len() > MAX_CONTENT_BYTES {
        return Err((
            RejectCode::TooLarge,
            format!(
                "content is {} bytes; split the note, at most {MAX_CONTENT_BYTES} bytes each",
                change.content.len()
            ),
        ));
    }
    // The base texts are what the diff of a merge reads: limited like the texts themselves
    // (a client's base is a version the server stored, so it is always within them).
    if let Some(t) = change
        .base_title
        .as_ref()
        .filter(|t| t.len() > MAX_TITLE_BYTES)
    {
        return Err((
            RejectCode::TooLarge,
            format!(
                "base_title is {} bytes; at most {MAX_TITLE_BYTES} (the title of the base version)",
                t.len()
            ),
        ));
    }
    if let Some(c) = change
        .base_content
        .as_ref()
        .filter(|c| c.len() > MAX_CONTENT_BYTES)
    {
        return Err((
            RejectCode::TooLarge,
            format!(
                "base_content is {} bytes; at most {MAX_CONTENT_BYTES} (the content of the base \
                 version)",
                c.len()
            ),
        ));
    }
    if change.deleted && !(change.title.is_empty() && change.content.is_empty()) {
        return Err((
            RejectCode::Invalid,
            "a delete carries no title or content; send them empty".into(),
        ));
    }
    for (name, edit) in &change.fields {
        fields::check(name, edit).map_err(|e| field_reject(&e))?;
    }
    fields::check_clocks(&change.fields, &change.edit_clocks, &change.hlc)
        .map_err(|e| field_reject(&e))?;
    if change.hlc.wall_ms > server_now_ms.saturating_add(MAX_CLOCK_AHEAD_MS) {
        return Err((
            RejectCode::ClockAhead,
            format!(
                "the change is stamped {} s ahead of the server clock; correct the device clock \
                 and edit the note again",
                (change.hlc.wall_ms - server_now_ms) / 1000
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ChangeId, Hlc, NoteId};

    fn change() -> Change {
        Change::new(
            ChangeId("c1".into()),
            NoteId("n1".into()),
            Hlc {
                wall_ms: 1000,
                counter: 0,
                node: "d".into(),
            },
            Some(1),
            "t",
            "c",
            false,
        )
    }

    #[test]
    fn bad_field_edits_are_refused_with_a_code() {
        let refused = |fields: serde_json::Value| {
            let mut c = change();
            c.fields = serde_json::from_value(fields).unwrap();
            check_change(&c, 1000).map_err(|(code, _)| code)
        };
        let many: Vec<String> = (0..10_000).map(|i| format!("t{i}")).collect();
        assert_eq!(
            refused(serde_json::json!({"tags": {"add": many}})),
            Err(RejectCode::TooLarge)
        );
        let long = "x".repeat(MAX_SET_ELEMENT_BYTES + 1);
        assert_eq!(
            refused(serde_json::json!({"tags": {"add": [long]}})),
            Err(RejectCode::TooLarge)
        );
        assert_eq!(
            refused(serde_json::json!({"notebook": "n".repeat(MAX_REGISTER_BYTES)})),
            Err(RejectCode::TooLarge)
        );
        assert_eq!(
            refused(serde_json::json!({"colour": "red"})),
            Err(RejectCode::Invalid)
        );
        assert_eq!(
            refused(serde_json::json!({"tags": ["a"]})),
            Err(RejectCode::Invalid)
        );
        assert_eq!(
            refused(serde_json::json!({"tags": {"add": ["a"], "drop": ["b"]}})),
            Err(RejectCode::Invalid)
        );
        assert_eq!(
            refused(serde_json::json!({"tags": {"add": ["a"]}, "pinned": true, "notebook": null})),
            Ok(())
        );
    }

    #[test]
    fn field_values_of_another_type_are_refused_as_invalid() {
        let refused = |fields: serde_json::Value| {
            let mut c = change();
            c.fields = serde_json::from_value(fields).unwrap();
            check_change(&c, 1000).map_err(|(code, _)| code)
        };
        for bad in [
            serde_json::json!({"pinned": 7}),
            serde_json::json!({"pinned": "no"}),
            serde_json::json!({"pinned": null}),
            serde_json::json!({"notebook": 5}),
            serde_json::json!({"notebook": "has space"}),
            serde_json::json!({"notebook": false}),
            serde_json::json!({"parent": [1]}),
            serde_json::json!({"created": "x"}),
            serde_json::json!({"created": -1}),
            serde_json::json!({"created": 1.5}),
            serde_json::json!({"kind": "folder"}),
            serde_json::json!({"kind": 1}),
            serde_json::json!({"tags": {"add": ["a b"]}}),
            serde_json::json!({"tags": {"remove": ["<script>"]}}),
        ] {
            assert_eq!(refused(bad.clone()), Err(RejectCode::Invalid), "{bad}");
        }
        for good in [
            serde_json::json!({"pinned": false}),
            serde_json::json!({"notebook": "nb-1_x"}),
            serde_json::json!({"parent": null}),
            serde_json::json!({"created": 1_764_064_589_123_u64}),
            serde_json::json!({"created": 0}),
            serde_json::json!({"kind": "notebook"}),
            serde_json::json!({"tags": {"add": ["tag-1"], "remove": ["T_2"]}}),
        ] {
            assert_eq!(refused(good.clone()), Ok(()), "{good}");
        }
    }

    #[test]
    fn every_declared_field_has_its_value_type() {
        use fields::ValueType;
        let of = |n: &str| fields::def(n).unwrap().value;
        assert_eq!(of("tags"), ValueType::Id);
        assert_eq!(of("notebook"), ValueType::IdOrNull);
        assert_eq!(of("parent"), ValueType::IdOrNull);
        assert_eq!(of("pinned"), ValueType::Bool);
        assert_eq!(of("kind"), ValueType::Kind);
        assert_eq!(of("created"), ValueType::Ms);
    }

    #[test]
    fn the_documented_field_limits_are_the_declared_ones() {
        let tags = fields::def("tags").unwrap();
        assert_eq!(
            (tags.max_bytes, tags.max_items),
            (MAX_SET_ELEMENT_BYTES, MAX_SET_ITEMS)
        );
        assert!(
            fields::FIELDS
                .iter()
                .all(|d| d.rule == fields::Rule::Set || d.max_bytes <= MAX_REGISTER_BYTES)
        );
    }

    #[test]
    fn base_texts_are_limited_like_the_texts() {
        let mut c = change();
        c.base_title = Some("t".repeat(MAX_TITLE_BYTES));
        c.base_content = Some("c".repeat(MAX_CONTENT_BYTES));
        assert_eq!(check_change(&c, 1000), Ok(()));
        c.base_content = Some("c".repeat(MAX_CONTENT_BYTES + 1));
        let (code, message) = check_change(&c, 1000).unwrap_err();
        assert_eq!(code, RejectCode::TooLarge);
        assert!(
            message.starts_with("base_content is 262145 bytes"),
            "{message}"
        );
        c.base_content = None;
        c.base_title = Some("t".repeat(MAX_TITLE_BYTES + 1));
        let (code, message) = check_change(&c, 1000).unwrap_err();
        assert_eq!(code, RejectCode::TooLarge);
        assert!(message.starts_with("base_title is 1025 bytes"), "{message}");
    }
}
