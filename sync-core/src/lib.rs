//! # sync-core: the part of Tern that client and server must agree on
//!
//! Everything here is pure: no I/O, no clocks read, no randomness. The server (`server`)
//! and the browser client (`tern-client`) both depend on it, so the wire format and the
//! rules that decide which version of a note wins are written exactly once.
//!
//! ## Layout
//! Listed from the bottom up: each module imports only modules listed before it (no
//! circles).
//! - [`id`]: the one rule for identifiers (note ids, change ids, clock nodes).
//! - [`hlc`]: hybrid logical clocks. Every change carries one; they order edits across
//!   devices without trusting any device's wall clock alone.
//! - [`fields`]: the note's fields beyond its text (tags, notebook, pinned), declared once
//!   each with its merge rule (element-wise last-writer-wins set, or register).
//! - [`model`]: the note as stored and sent ([`model::NoteState`]) and the identifiers.
//! - [`protocol`]: every message of the HTTP API: the `POST /sync` request and response,
//!   per-change outcomes, the JSON error body, and the accounts' and history's bodies.
//!   Versioned by [`protocol::PROTOCOL_VERSION`]; frozen by golden fixtures in
//!   `tests/fixtures/`.
//! - [`limits`]: the documented size limits and the validation that enforces them.
//! - [`text`]: the three-way text merge behind field-level merge, on a work budget.
//! - [`merge`]: the decision the server makes for each pushed change, under each conflict
//!   strategy (last-write-wins, field-level merge, user-driven).
//! - [`push`]: push planning, the storage-independent half of a push (validation,
//!   retries answered alike, versions, merges, history); a store only reads and writes.
//! - `openapi` (feature `openapi`, the server only): the API document's schemas of the
//!   wire types a derive cannot describe. The others derive `utoipa::ToSchema`, so the
//!   document the server serves is generated from these types.
//!
//! ## Terms
//! - **change**: one edit (or delete) of one note, pushed by a client.
//! - **version**: the server's per-user commit sequence number of a note's latest change.
//!   Versions only grow and are assigned in commit order, so they double as the pull cursor.
//! - **cursor**: opaque server-issued position in a user's change feed.
//! - **tombstone**: a note with `deleted: true`; deletes are changes like any other.
//! - **concurrent change**: one made by a device that had not seen the note's latest
//!   version (its `base_version` is older). Only concurrent changes are conflicts.
//! - **revision**: a version of a note the server keeps in the note's history, so that no
//!   edit replaced by a conflict, a merge or a delete is ever lost.

pub mod fields;
pub mod hlc;
pub mod id;
pub mod limits;
pub mod merge;
pub mod model;
#[cfg(feature = "openapi")]
pub mod openapi;
pub mod protocol;
pub mod push;
pub mod text;

pub use hlc::{Hlc, HlcClock};
pub use model::{ChangeId, Conflict, NoteId, NoteState, Strategy, Text, Version};
pub use protocol::{Change, ChangeOutcome, ChangeResult, Cursor, ErrorBody, ErrorCode};
