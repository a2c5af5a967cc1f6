//! API-document schemas of the wire types whose JSON is not what a derive would see
//! (feature `openapi`; only the server builds it).
//!
//! Most wire types derive `utoipa::ToSchema` next to their serde derives. These cannot:
//! - [`Hlc`], [`NoteId`], [`ChangeId`] and [`Cursor`] are strings on the wire with their own
//!   syntax (custom or transparent serde);
//! - [`ErrorCode`] and [`RejectCode`] list only the codes a server sends: their `Unknown`
//!   variant is how a client reads a code from a newer server, and is never sent;
//! - [`ChangeResult`] and [`Revision`] are (de)serialized through the flat shapes of
//!   [`crate::protocol::wire`], so their schema is that shape's.

use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType, Type};
use utoipa::{PartialSchema, ToSchema};

use crate::hlc::{Hlc, MAX_NODE_LEN};
use crate::model::{ChangeId, MAX_ID_LEN, NoteId};
use crate::protocol::{ChangeResult, Cursor, ErrorCode, RejectCode, Revision, wire};

/// A string schema with a description and, optionally, a pattern.
fn string(description: &str, pattern: Option<String>) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(SchemaType::Type(Type::String))
        .description(Some(description))
        .pattern(pattern)
        .into()
}

/// A string schema that is one of `values`.
fn string_enum(description: &str, values: Vec<String>) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(SchemaType::Type(Type::String))
        .description(Some(description))
        .enum_values(Some(values))
        .into()
}

fn id_pattern() -> String {
    format!("^[A-Za-z0-9_-]{{1,{MAX_ID_LEN}}}$")
}

impl PartialSchema for Hlc {
    fn schema() -> RefOr<Schema> {
        string(
            "A hybrid logical clock: `<wall ms, 13 digits>-<counter, 8 hex digits>-<node id>`.",
            Some(format!(
                "^[0-9]{{13}}-[0-9a-f]{{8}}-[A-Za-z0-9_-]{{1,{MAX_NODE_LEN}}}$"
            )),
        )
    }
}
impl ToSchema for Hlc {}

impl PartialSchema for NoteId {
    fn schema() -> RefOr<Schema> {
        string(
            "A note's id, chosen by the client that created it; unique per user.",
            Some(id_pattern()),
        )
    }
}
impl ToSchema for NoteId {}

impl PartialSchema for ChangeId {
    fn schema() -> RefOr<Schema> {
        string(
            "The idempotency key of one pushed change, chosen by the client.",
            Some(id_pattern()),
        )
    }
}
impl ToSchema for ChangeId {}

impl PartialSchema for Cursor {
    fn schema() -> RefOr<Schema> {
        string(
            "An opaque position in the user's change feed, issued by the server; sent back \
             unchanged.",
            None,
        )
    }
}
impl ToSchema for Cursor {}

/// The wire names of `codes` (through serde, so they cannot differ from what is sent).
fn names<T: serde::Serialize>(codes: &[T]) -> Vec<String> {
    codes
        .iter()
        .map(|c| match serde_json::to_value(c) {
            Ok(serde_json::Value::String(s)) => s,
            other => unreachable!("a code serializes as a string, not {other:?}"),
        })
        .collect()
}

impl ErrorCode {
    /// Every code a server sends (all but [`ErrorCode::Unknown`]).
    pub const SENT: [ErrorCode; 13] = [
        Self::InvalidRequest,
        Self::UnsupportedProtocol,
        Self::PayloadTooLarge,
        Self::TooManyChanges,
        Self::InvalidCursor,
        Self::Unavailable,
        Self::Internal,
        Self::Unauthorized,
        Self::CsrfRejected,
        Self::InvalidCredentials,
        Self::TooManyAttempts,
        Self::NameTaken,
        Self::InvalidAccount,
    ];
}

impl PartialSchema for ErrorCode {
    fn schema() -> RefOr<Schema> {
        string_enum(
            "Machine-readable code of a request-level error (docs/sync-protocol.md, Errors). \
             A client reads a code it does not know as `unknown` and shows the message.",
            names(&ErrorCode::SENT),
        )
    }
}
impl ToSchema for ErrorCode {}

impl RejectCode {
    /// Every code a server sends (all but [`RejectCode::Unknown`]).
    pub const SENT: [RejectCode; 5] = [
        Self::InvalidId,
        Self::TooLarge,
        Self::ClockAhead,
        Self::Invalid,
        Self::DuplicateChangeId,
    ];
}

impl PartialSchema for RejectCode {
    fn schema() -> RefOr<Schema> {
        string_enum(
            "Why one change was rejected. A client reads a code it does not know as `unknown`.",
            names(&RejectCode::SENT),
        )
    }
}
impl ToSchema for RejectCode {}

impl PartialSchema for ChangeResult {
    fn schema() -> RefOr<Schema> {
        let RefOr::T(Schema::Object(mut object)) = wire::ChangeResult::schema() else {
            unreachable!("a derived struct schema is an object")
        };
        object.description = Some(
            "What happened to one pushed change. `status` says which fields are there: \
             `applied` has `version` (and `current` when the stored note differs from the \
             change: merged, or in conflict); `superseded` has `current`, the newer state; \
             `rejected` has `code` and `message`."
                .to_owned(),
        );
        RefOr::T(Schema::Object(object))
    }
}
impl ToSchema for ChangeResult {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        wire::ChangeResult::schemas(schemas);
    }
}

impl PartialSchema for Revision {
    fn schema() -> RefOr<Schema> {
        wire::Revision::schema()
    }
}
impl ToSchema for Revision {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        wire::Revision::schemas(schemas);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A new variant must be added to `SENT` (or be a reader-only one like `Unknown`): this
    /// match stops compiling when a variant is added.
    #[test]
    fn the_sent_codes_are_every_code_but_unknown() {
        for c in ErrorCode::SENT {
            match c {
                ErrorCode::InvalidRequest
                | ErrorCode::UnsupportedProtocol
                | ErrorCode::PayloadTooLarge
                | ErrorCode::TooManyChanges
                | ErrorCode::InvalidCursor
                | ErrorCode::Unavailable
                | ErrorCode::Internal
                | ErrorCode::Unauthorized
                | ErrorCode::CsrfRejected
                | ErrorCode::InvalidCredentials
                | ErrorCode::TooManyAttempts
                | ErrorCode::NameTaken
                | ErrorCode::InvalidAccount => {}
                ErrorCode::Unknown => panic!("unknown is never sent"),
            }
        }
        let mut names = names(&ErrorCode::SENT);
        names.sort();
        names.dedup();
        assert_eq!(names.len(), ErrorCode::SENT.len());
        for c in RejectCode::SENT {
            assert_ne!(c, RejectCode::Unknown);
            assert_eq!(serde_json::to_value(c).unwrap(), c.as_str());
        }
    }
}
