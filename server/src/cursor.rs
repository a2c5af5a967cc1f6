//! Pull cursors: `v1.<version>`. Clients treat them as opaque.

use sync_core::protocol::Cursor;

/// The cursor of version `version`.
pub fn encode(version: u64) -> Cursor {
    Cursor(format!("v1.{version}"))
}

/// The version cursor `c` stands for; `None` when this server did not issue it.
pub fn decode(c: &Cursor) -> Option<u64> {
    c.0.strip_prefix("v1.").and_then(|v| v.parse().ok())
}
