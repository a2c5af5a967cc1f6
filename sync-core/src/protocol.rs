//! The `POST /sync` wire format, version 1.
//!
//! One round trip pushes a batch of local changes and pulls the remote changes after the
//! client's cursor. See `docs/sync-protocol.md` for the prose contract; the golden fixtures
//! in `sync-core/tests/fixtures/` freeze the JSON. Adding an optional field is not a version
//! change (unknown fields are ignored on both sides); renaming or removing one is.

use std::collections::BTreeMap;

use crate::fields::{EditClocks, FieldEdit, Fields};
use crate::hlc::Hlc;
use crate::model::{ChangeId, NoteId, NoteState, Strategy, Version};
use serde::{Deserialize, Serialize};

/// The protocol version this build speaks.
pub const PROTOCOL_VERSION: u32 = 1;

/// An opaque position in a user's change feed, issued by the server. Clients store it and
/// send it back unchanged; they never build or compare cursors.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Cursor(pub String);

/// One local change pushed by a client: the note's full new state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Change {
    /// Idempotency key of this change.
    pub change_id: ChangeId,
    /// The note changed.
    pub note_id: NoteId,
    /// The device's clock when the change was made.
    pub hlc: Hlc,
    /// The server version the device had when it made the change (null or omitted for a
    /// note the device created). Lets the server tell a concurrent edit from a sequential one.
    #[serde(default)]
    pub base_version: Option<u64>,
    /// New title (empty for a delete): at most 1024 bytes of UTF-8, else the change is
    /// rejected `too_large` (docs/sync-protocol.md, Limits).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 1024))]
    pub title: String,
    /// New content (empty for a delete): at most 262144 bytes of UTF-8, else the change is
    /// rejected `too_large`.
    #[serde(default)]
    pub content: String,
    /// True to delete the note.
    #[serde(default)]
    pub deleted: bool,
    /// Title of the text the change was made on, when the device has it: lets the server
    /// tell which fields this change edited and merge text three ways. Normally the text of
    /// the version `base_version` names; another text says the change was typed on an
    /// earlier one (the device kept that version beside its typing), so it is concurrent.
    /// Optional; at most 1024 bytes like a title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 1024))]
    pub base_title: Option<String>,
    /// Content of the text the change was made on (see `base_title`). Optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_content: Option<String>,
    /// Sets the note's conflict strategy (`default` clears an override). Omitted: unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<Strategy>,
    /// True when this change is the user's resolution of the note's conflict: if the device
    /// had seen the latest version, the conflict is cleared.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub resolve: bool,
    /// True with `deleted`: delete the note forever ("Delete forever" in the trash). When
    /// the device had seen the note's latest version (or the note is new), the tombstone is
    /// stored `purged` and every revision of the note is removed; otherwise (an edit the
    /// device had not seen) it is an ordinary delete, and the trash expiry purges it later.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub purge: bool,
    /// Edits of the note's fields ([`crate::fields::FIELDS`]), by field name: a set
    /// field's `{"add": [...], "remove": [...]}`, a register field's new value. A field not
    /// named is left as it is (omitted: no field edited). Applied whatever becomes of the
    /// change's text (docs/sync-protocol.md, Fields).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub fields: BTreeMap<String, FieldEdit>,
    /// When edits in `fields` were made, for those made before this change's clock (a
    /// device's pending field edits keep the clock of the moment they were made): a
    /// register field's clock, or a set field's clocks by element. A field or element not
    /// named is at `hlc`; each clock is this device's (`hlc`'s node) and not later than
    /// `hlc`, else the change is rejected `invalid` (docs/sync-protocol.md, Fields).
    /// Omitted: every edit at `hlc`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub edit_clocks: EditClocks,
}

impl Change {
    /// A change with no base text, strategy or resolution (tests and simple clients).
    pub fn new(
        change_id: ChangeId,
        note_id: NoteId,
        hlc: Hlc,
        base_version: Option<u64>,
        title: &str,
        content: &str,
        deleted: bool,
    ) -> Self {
        Self {
            change_id,
            note_id,
            hlc,
            base_version,
            title: title.to_owned(),
            content: content.to_owned(),
            deleted,
            base_title: None,
            base_content: None,
            strategy: None,
            resolve: false,
            purge: false,
            fields: BTreeMap::new(),
            edit_clocks: EditClocks::new(),
        }
    }

    /// True when the change edits only fields: its text is the text of its base version
    /// (so the device did not touch it), it carries field edits and nothing else. Such a
    /// change never competes with another device's text, under any strategy.
    pub fn edits_only_fields(&self) -> bool {
        !self.fields.is_empty()
            && !self.deleted
            && !self.resolve
            && self.strategy.is_none()
            && self.base_version.is_some()
            && self.base_title.as_deref() == Some(self.title.as_str())
            && self.base_content.as_deref() == Some(self.content.as_str())
    }
}

/// Body of `POST /sync`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SyncRequest {
    /// The protocol version, 1 ([`PROTOCOL_VERSION`]); other versions get
    /// `unsupported_protocol`.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 1))]
    pub protocol: u32,
    /// Where the last pull ended; `None` on a device's first sync.
    #[serde(default)]
    pub cursor: Option<Cursor>,
    /// Local changes to push: at most 1000 ([`crate::limits::MAX_CHANGES_PER_REQUEST`]),
    /// else the request gets `too_many_changes`.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_items = 1000))]
    pub changes: Vec<Change>,
    /// Most remote changes to return: default and maximum 1000
    /// ([`crate::limits::MAX_PULL_LIMIT`]); a larger one is taken as 1000.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub limit: Option<u32>,
}

/// Body of a successful `POST /sync`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SyncResponse {
    /// The protocol version of the response.
    pub protocol: u32,
    /// One result per pushed change, in request order. An answer stops before 4 MiB
    /// (4194304 bytes) of results JSON, holding at least one, and then says `has_more`: the
    /// changes left without a result are sent again (docs/sync-protocol.md, Response).
    pub results: Vec<ChangeResult>,
    /// Remote changes after the request's cursor, in commit order (each note at most once,
    /// in its latest state). Includes this client's own changes just applied.
    pub changes: Vec<NoteState>,
    /// The cursor to send next time.
    pub cursor: Cursor,
    /// True when more follows: sync again at once with `cursor`. A page holds at most
    /// `limit` notes and stops before 4 MiB (4194304 bytes) of note JSON, but always holds at
    /// least one note; results are cut the same way (see `results`).
    pub has_more: bool,
    /// The server's clock, in milliseconds since the epoch. Clients use it to correct the
    /// wall-clock part of their hybrid logical clock.
    pub server_time_ms: u64,
}

/// What happened to one pushed change.
///
/// On the wire the outcome's fields sit next to `change_id` and `note_id`, tagged by
/// `status` (see [`ChangeOutcome`]). (De)serialized through the flat [`wire::ChangeResult`]
/// rather than `#[serde(flatten)]`, whose buffering costs the browser's wasm tens of KB.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "wire::ChangeResult", into = "wire::ChangeResult")]
pub struct ChangeResult {
    /// The change's idempotency key.
    pub change_id: ChangeId,
    /// The note it changed.
    pub note_id: NoteId,
    /// The outcome.
    pub outcome: ChangeOutcome,
    /// Field edits of the change that were not applied, while the rest of it was (its
    /// text, its other fields): say tags added on two devices at once, together past the
    /// most a note may hold. Omitted: every field edit applied (or the change was rejected
    /// as a whole). A client that knows no fields sends none and never gets it.
    pub fields_refused: Option<FieldsRefused>,
}

/// The field edits of an applied or superseded change that the server did not apply, and
/// why ([`ChangeResult::fields_refused`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldsRefused {
    /// The names of the fields whose edits were not applied (none of their edits was).
    pub fields: Vec<String>,
    /// Why, as a reject code (`too_large`: a set would pass its size).
    pub code: RejectCode,
    /// What it means for the user.
    pub message: String,
}

/// The outcome of one change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ChangeOutcome {
    /// The change is now the note's latest state, at `version`.
    Applied {
        /// The note's new server version.
        version: u64,
        /// The note as stored, when it differs from the change: the change was merged with
        /// a concurrent one, or is now one side of a conflict. Omitted when the change was
        /// stored as sent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        current: Option<NoteState>,
    },
    /// The server already holds a newer version of the note (by clock) and the note's
    /// strategy is last-write-wins; the change was not applied and is kept in the note's
    /// history. `current` is the version that won.
    Superseded {
        /// The note as the server holds it.
        current: NoteState,
    },
    /// The change breaks a rule and was not applied; it will never be, as sent.
    Rejected {
        /// Machine-readable reason.
        code: RejectCode,
        /// What to do about it.
        message: String,
    },
}

/// Why a single change was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectCode {
    /// A note id or change id is malformed.
    InvalidId,
    /// Title or content is over its limit.
    TooLarge,
    /// The change's clock is too far ahead of the server's clock.
    ClockAhead,
    /// The change is inconsistent (for example a delete that carries content).
    Invalid,
    /// The same change id was already used for a different change (reserved; the current
    /// server does not emit it).
    DuplicateChangeId,
    /// A code this client does not know (sent by a newer server); the outcome's `message`
    /// says what to do. Never sent.
    #[serde(other)]
    Unknown,
}

impl RejectCode {
    /// The code as it is on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidId => "invalid_id",
            Self::TooLarge => "too_large",
            Self::ClockAhead => "clock_ahead",
            Self::Invalid => "invalid",
            Self::DuplicateChangeId => "duplicate_change_id",
            Self::Unknown => "unknown",
        }
    }
}

/// Machine-readable code of a request-level error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The body is not JSON, or not JSON of the expected shape.
    InvalidRequest,
    /// The request's protocol version is not supported by this server.
    UnsupportedProtocol,
    /// The body is over the size limit.
    PayloadTooLarge,
    /// More changes than one request may carry.
    TooManyChanges,
    /// The cursor was not issued by this server.
    InvalidCursor,
    /// The database cannot be reached; retry later.
    Unavailable,
    /// Something unexpected failed on the server; retry later.
    Internal,
    /// No valid session: sign in (again). Local notes are kept.
    Unauthorized,
    /// A cookie-authenticated request that may come from another site.
    CsrfRejected,
    /// Wrong username or password.
    InvalidCredentials,
    /// Too many failed sign-ins; wait `retry_after` seconds.
    TooManyAttempts,
    /// The username is taken.
    NameTaken,
    /// The username or password does not meet the rules.
    InvalidAccount,
    /// A code this client does not know (sent by a newer server); the body's `message`
    /// says what to do. Never sent.
    #[serde(other)]
    Unknown,
}

/// The body of every error response: `{"error": "<code>", "message": "<what to do>"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// Machine-readable code.
    pub error: ErrorCode,
    /// What went wrong and what to do next, for people.
    pub message: String,
}

/// Why a version of a note is in its history.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RevisionReason {
    /// It was replaced by a later edit (kept when another device edited the note, or when
    /// it was some minutes old).
    Edited,
    /// The note was deleted; this is its text before the delete.
    Deleted,
    /// It lost, or was one side of, a conflict between concurrent edits.
    Conflict,
    /// It was merged with a concurrent edit; this is one side before the merge.
    Merged,
}

impl RevisionReason {
    /// The reason as it is on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Edited => "edited",
            Self::Deleted => "deleted",
            Self::Conflict => "conflict",
            Self::Merged => "merged",
        }
    }
}

/// One entry of a note's history. On the wire the version's fields sit next to `reason`
/// and `saved_at_ms` (through the flat [`wire::Revision`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "wire::Revision", into = "wire::Revision")]
pub struct Revision {
    /// The version's text and clock.
    pub version: Version,
    /// Why it was kept.
    pub reason: RevisionReason,
    /// When the server kept it, in milliseconds since the epoch.
    pub saved_at_ms: u64,
}

/// Body of `GET /notes/{id}/history`: the note's most recent revisions, newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HistoryResponse {
    /// The revisions.
    pub revisions: Vec<Revision>,
}

/// Body of `POST /auth/signup` and `POST /auth/signin`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Credentials {
    /// Username: 3 to 64 of a-z, 0-9, '.', '_', '-' (case-insensitive).
    #[cfg_attr(feature = "openapi", schema(pattern = "^[A-Za-z0-9._-]{3,64}$"))]
    pub username: String,
    /// Password: 8 to 1024 characters (Unicode code points, as JSON Schema's `minLength`
    /// counts them; so does the server).
    #[cfg_attr(feature = "openapi", schema(min_length = 8, max_length = 1024))]
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// Answer of a sign-up, a sign-in and `GET /auth/me`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignedIn {
    /// The account's username.
    pub user: String,
    /// The account's id: stable for the account's life, unlike a name could be. Browsers
    /// keep each account's notes in a database of its own, named by it. (Optional: older
    /// servers did not send it.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The session's bearer token: sign-up and sign-in only, and only for clients that are
    /// not browsers (no `Origin` and no `Sec-Fetch-Site` header); browsers get the
    /// `HttpOnly` cookie only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Days a deleted note stays restorable on this server (`TERN_TRASH_DAYS`), so devices
    /// show and expire their trash by the server's period. (Optional: older servers did not
    /// send it; then [`crate::limits::TRASH_DAYS`].)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trash_days: Option<u32>,
}

/// Answer of `POST /auth/signout`: `{"signed_out": true}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignedOut {
    /// Always true: the session is ended (or was already).
    pub signed_out: bool,
}

/// Body of `POST /account/password`: change the password (ends every other session).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PasswordChange {
    /// The password now (checked, and throttled, like a sign-in).
    pub current_password: String,
    /// The new password: 8 to 1024 characters (Unicode code points, as JSON Schema's
    /// `minLength` counts them; so does the server).
    #[cfg_attr(feature = "openapi", schema(min_length = 8, max_length = 1024))]
    pub new_password: String,
}

impl std::fmt::Debug for PasswordChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordChange { <redacted> }")
    }
}

/// Body of `POST /account/delete`: the password, asked again before the account goes.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PasswordCheck {
    /// The account's password.
    pub password: String,
}

impl std::fmt::Debug for PasswordCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordCheck { <redacted> }")
    }
}

/// Body of `POST /account/sessions/signout`: the session to end (an `id` of
/// [`SessionInfo`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionRef {
    /// The session's id.
    pub session: String,
}

/// One signed-in session of the account, as `GET /account/sessions` lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionInfo {
    /// Names the session for `POST /account/sessions/signout` (not its token).
    pub id: String,
    /// What signed in, e.g. "Chrome on Linux", or "API client" (no browser).
    pub device: String,
    /// When it signed in, ms since the epoch (absent: before this was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_ms: Option<u64>,
    /// When it was last used, to the minute, ms since the epoch (absent: not since this
    /// was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_ms: Option<u64>,
    /// When it expires, ms since the epoch.
    pub expires_ms: u64,
    /// True for the session of this request.
    pub current: bool,
}

/// Answer of `GET /account/sessions`: the account's sessions, most recently used first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Sessions {
    /// The sessions.
    pub sessions: Vec<SessionInfo>,
}

/// Answer of `POST /account/password`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PasswordChanged {
    /// How many other sessions were ended.
    pub sessions_ended: u64,
}

/// Answer of `POST /account/delete`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccountDeleted {
    /// Always true: the account, its notes, their history and its sessions are gone.
    pub deleted: bool,
}

/// Answer of `GET /healthz` when the database answers: `{"status": "ok", "database":
/// "reachable"}`. (When it does not, the answer is the `unavailable` error body, with 503.)
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    /// `ok`.
    pub status: String,
    /// `reachable`.
    pub database: String,
}

/// The data of a `poke` event on `GET /live` (docs/sync-protocol.md, *Live updates*):
/// "sync now". `{}` after connecting or a gap in the server's feed; `{"cursor": …}` when the
/// user's head moved, with the cursor a pull up to that head ends at, so a device whose
/// stored cursor is already that one can skip the round.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Poke {
    /// The cursor of the user's new head; absent: sync whatever the cursor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<Cursor>,
}

impl Poke {
    /// Whether this poke needs a sync by a device whose stored pull cursor is `stored`: a
    /// poke naming the cursor the device already has says nothing new.
    pub fn needs_sync(&self, stored: Option<&Cursor>) -> bool {
        match (&self.cursor, stored) {
            (Some(named), Some(stored)) => named != stored,
            _ => true,
        }
    }
}

/// Flat shapes of the wire types that nest on the wire by field, not by object. Plain
/// structs: serde derives them without buffering (unlike `flatten` and internally tagged
/// enums), which keeps the browser's wasm small. The JSON is the same (golden fixtures).
pub mod wire {
    use serde::{Deserialize, Serialize};

    use super::{ChangeOutcome, FieldsRefused, RejectCode, RevisionReason};
    use crate::hlc::Hlc;
    use crate::model::{ChangeId, NoteId, NoteState, Version};

    /// The `status` tag of a [`ChangeOutcome`].
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    #[cfg_attr(feature = "openapi", schema(as = ChangeStatus))]
    #[serde(rename_all = "snake_case")]
    pub enum Status {
        /// [`ChangeOutcome::Applied`].
        Applied,
        /// [`ChangeOutcome::Superseded`].
        Superseded,
        /// [`ChangeOutcome::Rejected`].
        Rejected,
    }

    /// A [`super::ChangeResult`] as it is on the wire.
    #[derive(Clone, Debug, Serialize, Deserialize)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    pub struct ChangeResult {
        /// The change's idempotency key, as sent (malformed when the change is rejected
        /// `invalid_id`).
        #[cfg_attr(feature = "openapi", schema(value_type = String))]
        change_id: ChangeId,
        /// The note it changed, as sent (see `change_id`).
        #[cfg_attr(feature = "openapi", schema(value_type = String))]
        note_id: NoteId,
        /// The outcome; it says which of the fields below are there.
        status: Status,
        /// `applied`: the note's new server version.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        version: Option<u64>,
        /// `superseded`: the newer state that won. `applied`: the note as stored when it
        /// differs from the change (merged with a concurrent edit, or in conflict).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        current: Option<NoteState>,
        /// `rejected`: why.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<RejectCode>,
        /// `rejected`: what to do about it, for people.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
        /// `applied`, `superseded`: field edits not applied, and why (omitted: none).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fields_refused: Option<FieldsRefused>,
    }

    impl TryFrom<ChangeResult> for super::ChangeResult {
        type Error = String;
        fn try_from(w: ChangeResult) -> Result<Self, String> {
            let missing = |field: &str| format!("missing field `{field}`");
            let outcome = match w.status {
                Status::Applied => ChangeOutcome::Applied {
                    version: w.version.ok_or_else(|| missing("version"))?,
                    current: w.current,
                },
                Status::Superseded => ChangeOutcome::Superseded {
                    current: w.current.ok_or_else(|| missing("current"))?,
                },
                Status::Rejected => ChangeOutcome::Rejected {
                    code: w.code.ok_or_else(|| missing("code"))?,
                    message: w.message.ok_or_else(|| missing("message"))?,
                },
            };
            Ok(Self {
                change_id: w.change_id,
                note_id: w.note_id,
                outcome,
                fields_refused: w.fields_refused,
            })
        }
    }

    impl From<super::ChangeResult> for ChangeResult {
        fn from(r: super::ChangeResult) -> Self {
            let mut w = Self {
                change_id: r.change_id,
                note_id: r.note_id,
                status: Status::Applied,
                version: None,
                current: None,
                code: None,
                message: None,
                fields_refused: r.fields_refused,
            };
            match r.outcome {
                ChangeOutcome::Applied { version, current } => {
                    w.version = Some(version);
                    w.current = current;
                }
                ChangeOutcome::Superseded { current } => {
                    w.status = Status::Superseded;
                    w.current = Some(current);
                }
                ChangeOutcome::Rejected { code, message } => {
                    w.status = Status::Rejected;
                    w.code = Some(code);
                    w.message = Some(message);
                }
            }
            w
        }
    }

    /// A [`super::Revision`] as it is on the wire.
    #[derive(Clone, Debug, Serialize, Deserialize)]
    #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
    pub struct Revision {
        /// The version's title.
        title: String,
        /// The version's content.
        content: String,
        /// True if the version is a delete.
        deleted: bool,
        /// The clock of the change that wrote it.
        hlc: Hlc,
        /// Why it was kept.
        reason: RevisionReason,
        /// When the server kept it, in milliseconds since the epoch.
        saved_at_ms: u64,
    }

    impl From<Revision> for super::Revision {
        fn from(w: Revision) -> Self {
            Self {
                version: Version {
                    title: w.title,
                    content: w.content,
                    deleted: w.deleted,
                    hlc: w.hlc,
                },
                reason: w.reason,
                saved_at_ms: w.saved_at_ms,
            }
        }
    }

    impl From<super::Revision> for Revision {
        fn from(r: super::Revision) -> Self {
            Self {
                title: r.version.title,
                content: r.version.content,
                deleted: r.version.deleted,
                hlc: r.version.hlc,
                reason: r.reason,
                saved_at_ms: r.saved_at_ms,
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use super::super::ChangeResult;

        #[test]
        fn codes_as_str_are_their_wire_names() {
            use super::super::{RejectCode as C, RevisionReason as R};
            for c in [
                C::InvalidId,
                C::TooLarge,
                C::ClockAhead,
                C::Invalid,
                C::DuplicateChangeId,
            ] {
                assert_eq!(serde_json::to_value(c).unwrap(), c.as_str());
            }
            for r in [R::Edited, R::Deleted, R::Conflict, R::Merged] {
                assert_eq!(serde_json::to_value(r).unwrap(), r.as_str());
            }
        }

        #[test]
        fn a_reject_code_from_a_newer_server_still_reads() {
            let r: ChangeResult = serde_json::from_str(
                r#"{"change_id":"c","note_id":"n","status":"rejected","code":"quota_exceeded","message":"upgrade"}"#,
            )
            .unwrap();
            assert_eq!(
                r.outcome,
                super::super::ChangeOutcome::Rejected {
                    code: super::super::RejectCode::Unknown,
                    message: "upgrade".into()
                }
            );
        }

        #[test]
        fn an_error_code_from_a_newer_server_still_reads() {
            use super::super::{ErrorBody, ErrorCode};
            let e: ErrorBody = serde_json::from_str(
                r#"{"error":"quota_exceeded","message":"your plan holds 1000 notes"}"#,
            )
            .unwrap();
            assert_eq!(
                e,
                ErrorBody {
                    error: ErrorCode::Unknown,
                    message: "your plan holds 1000 notes".into()
                }
            );
            // Known codes still read as themselves.
            let e: ErrorBody =
                serde_json::from_str(r#"{"error":"invalid_cursor","message":"m"}"#).unwrap();
            assert_eq!(e.error, ErrorCode::InvalidCursor);
        }

        #[test]
        fn an_outcome_without_its_fields_is_refused_with_the_field_named() {
            for (json, field) in [
                (
                    r#"{"change_id":"c","note_id":"n","status":"applied"}"#,
                    "version",
                ),
                (
                    r#"{"change_id":"c","note_id":"n","status":"superseded"}"#,
                    "current",
                ),
                (
                    r#"{"change_id":"c","note_id":"n","status":"rejected","code":"invalid"}"#,
                    "message",
                ),
            ] {
                let e = serde_json::from_str::<ChangeResult>(json)
                    .unwrap_err()
                    .to_string();
                assert!(e.contains(field), "{json}: {e}");
            }
            let e = serde_json::from_str::<ChangeResult>(
                r#"{"change_id":"c","note_id":"n","status":"exploded"}"#,
            )
            .unwrap_err();
            assert!(e.to_string().contains("exploded"), "{e}");
        }
    }
}

// Here rather than in `fields`, which the protocol's types are made of (and so must not
// import them back).
impl Fields {
    /// Applies the field edits of `change`, each at its own clock
    /// ([`Change::edit_clocks`]).
    pub fn apply_change(&mut self, change: &Change) {
        self.merge(&Self::of_edits_at(
            &change.fields,
            &change.edit_clocks,
            &change.hlc,
        ));
    }
}

#[cfg(test)]
mod poke_tests {
    use super::{Cursor, Poke};

    /// The `poke` data on the wire, pinned: clients built before the type existed read
    /// exactly these bytes.
    #[test]
    fn poke_json_is_pinned() {
        assert_eq!(serde_json::to_string(&Poke::default()).unwrap(), "{}");
        let head = Poke {
            cursor: Some(Cursor("v1.42".into())),
        };
        assert_eq!(
            serde_json::to_string(&head).unwrap(),
            r#"{"cursor":"v1.42"}"#
        );
        assert_eq!(serde_json::from_str::<Poke>("{}").unwrap(), Poke::default());
        assert_eq!(
            serde_json::from_str::<Poke>(r#"{"cursor":"v1.42"}"#).unwrap(),
            head
        );
    }

    #[test]
    fn a_poke_naming_the_stored_cursor_needs_no_sync() {
        let stored = Cursor("v1.42".into());
        let at = |c: &str| Poke {
            cursor: Some(Cursor(c.into())),
        };
        assert!(!at("v1.42").needs_sync(Some(&stored)));
        assert!(at("v1.43").needs_sync(Some(&stored)));
        assert!(
            Poke::default().needs_sync(Some(&stored)),
            "a poke after a gap"
        );
        assert!(at("v1.1").needs_sync(None), "a device without a cursor");
    }
}
