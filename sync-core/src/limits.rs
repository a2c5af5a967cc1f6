//! The limits the server enforces, and the checks shared by client and server.
//!
//! The client checks the same limits before it queues a change, so a user learns at once
//! that a note is too large, instead of at the next sync.

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
/// How far ahead of the server's clock a change's timestamp may be, in milliseconds.
pub const MAX_CLOCK_AHEAD_MS: u64 = 5 * 60 * 1000;

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
    if change.deleted && !(change.title.is_empty() && change.content.is_empty()) {
        return Err((
            RejectCode::Invalid,
            "a delete carries no title or content; send them empty".into(),
        ));
    }
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
