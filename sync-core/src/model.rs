//! The note and its identifiers.

use crate::hlc::Hlc;
use serde::{Deserialize, Serialize};

/// Longest note id or change id accepted.
pub const MAX_ID_LEN: usize = 64;

/// True when `s` is 1..=`max` characters of `[A-Za-z0-9_-]`.
pub fn is_valid_id(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

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
    pub version: u64,
}
