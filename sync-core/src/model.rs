//! The note and its identifiers.

use crate::fields::Fields;
use crate::hlc::Hlc;
use serde::{Deserialize, Serialize};

pub use crate::id::{MAX_ID_LEN, is_valid_id};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            /// The id as a string.
            pub fn as_str(&self) -> &str {
                &self.0
            }
            /// True when the id is 1 to 64 characters of `[A-Za-z0-9_-]`.
            pub fn is_valid(&self) -> bool {
                is_valid_id(&self.0, MAX_ID_LEN)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_owned())
            }
        }
    };
}

id_type! {
    /// A note's id, chosen by the client that created it (a random id, e.g. a UUID).
    /// Unique per user, not globally: two users may use the same id without meeting.
    NoteId
}

id_type! {
    /// The idempotency key of one pushed change, chosen by the client. Pushing a change
    /// with an id the server has already applied returns the first outcome again.
    ChangeId
}

/// A note as the server stores it and sends it in pulls.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NoteState {
    /// The note's id.
    pub id: NoteId,
    /// Title (plain text).
    pub title: String,
    /// Body (plain text).
    pub content: String,
    /// True for a tombstone: the note was deleted. Title and content are kept empty.
    pub deleted: bool,
    /// Clock of the change that produced this state.
    pub hlc: Hlc,
    /// Server commit sequence of that change; grows with every committed change of the user.
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub version: u64,
    /// How concurrent edits of this note are resolved (omitted: the server's default).
    #[serde(default, skip_serializing_if = "Strategy::is_default")]
    pub strategy: Strategy,
    /// Concurrent versions waiting for the user to choose (omitted: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conflict: Option<Conflict>,
    /// True for a tombstone deleted forever: its text is gone from the server's notes and
    /// history, and devices drop it from their trash (omitted: false). Any later change of
    /// the note clears it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub purged: bool,
    /// The note's fields beyond its text (tags, notebook, pinned, kind, parent), each with
    /// the clocks its merge rule needs ([`crate::fields`]). Omitted: none ever set.
    #[serde(default, skip_serializing_if = "Fields::is_empty")]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub fields: Fields,
}

impl NoteState {
    /// This state's text, as a [`Version`].
    pub fn version_of(&self) -> Version {
        Version {
            title: self.title.clone(),
            content: self.content.clone(),
            deleted: self.deleted,
            hlc: self.hlc.clone(),
        }
    }
}

/// How the server resolves a change made concurrently with another one (the device had not
/// seen the note's latest version when it made the change). See `docs/sync-protocol.md`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// Whatever the server is configured with (`TERN_CONFLICT_STRATEGY`).
    #[default]
    Default,
    /// Last write wins: the whole note with the greater clock; the other goes to history.
    Lww,
    /// Field-level merge: title and content independently; content by a three-way text
    /// merge; overlapping edits of the same text fall back to the user.
    Merge,
    /// The user decides: concurrent versions are kept side by side until resolved.
    Manual,
}

impl Strategy {
    /// True for [`Strategy::Default`].
    pub fn is_default(&self) -> bool {
        *self == Strategy::Default
    }

    /// The wire name (`default`, `lww`, `merge`, `manual`).
    pub fn as_str(&self) -> &'static str {
        match self {
            Strategy::Default => "default",
            Strategy::Lww => "lww",
            Strategy::Merge => "merge",
            Strategy::Manual => "manual",
        }
    }
}

impl std::str::FromStr for Strategy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "default" => Ok(Strategy::Default),
            "lww" => Ok(Strategy::Lww),
            "merge" => Ok(Strategy::Merge),
            "manual" => Ok(Strategy::Manual),
            other => Err(format!(
                "unknown conflict strategy '{other}': use lww, merge or manual"
            )),
        }
    }
}

/// One version of a note's text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Version {
    /// Title.
    pub title: String,
    /// Body.
    pub content: String,
    /// True if this version is a delete.
    pub deleted: bool,
    /// The clock of the change that wrote it.
    pub hlc: Hlc,
}

impl Version {
    /// True when both say the same (title, content, deleted), whatever their clocks: a
    /// conflict's versions are told apart by what they say.
    pub fn says_same(&self, other: &Version) -> bool {
        self.deleted == other.deleted && self.title == other.title && self.content == other.content
    }
}

/// Title and content, without metadata.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Text {
    /// Title.
    pub title: String,
    /// Body.
    pub content: String,
}

/// An unresolved conflict: the note's own state is one version; these are the others.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Conflict {
    /// The concurrent versions besides the note's own state, oldest clock first.
    pub versions: Vec<Version>,
    /// A merge of the versions the server could make without overlaps, offered to the user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proposal: Option<Text>,
}
