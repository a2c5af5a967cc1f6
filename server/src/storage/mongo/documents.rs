//! The MongoDB documents (what is stored in the database), typed: the one description of
//! the stored data.
//!
//! Every collection is a `Collection<…Doc>`; field names are short (they are repeated in
//! every document) and fixed by the `#[serde(rename)]`s below: changing one changes the
//! stored data, which `server/tests/stored_data.rs` forbids (a database written by an
//! earlier server must read back the same).
//!
//! | collection | document | indexes |
//! |---|---|---|
//! | `notes` | [`NoteDoc`]: `{u, id, title, content, deleted, hlc, v, th, ch, tv?, lw?: {n, b?}, st?, cf?, cids: [{c, v, r?}], rn, un?: [{n, a}], pg?, fd?: [{f, e?: [{v, p, h}], r?, h?}]}` | unique `{u:1, id:1}`; `{u:1, v:1}`; `{deleted:1, pg:1, hlc:1}` (the trash sweep) |
//! | `revisions` | [`RevisionDoc`]: `{u, id, n, at, title, content, deleted, hlc, why}` | `{u:1, id:1, n:-1}` |
//! | `counters` | [`CounterDoc`]: `{_id: <user>, seq, gone?}` | `_id` |
//! | `users` | [`UserDoc`]: `{_id: <user id>, name, hash, ep?}` | unique `{name:1}` |
//! | `sessions` | [`SessionDoc`]: `{_id: sha256(token), u, name, exp, at?, seen?, dev?, ep?}` | TTL on `exp`; `{u:1}` (the account's sessions) |
//! | `throttle` | [`BucketDoc`]: `{_id: <key>, tat?, exp}` | TTL on `exp` |
//!
//! Every note query is scoped by `u` (the user's id), so `u` is a natural shard key.
//! Integers are stored as 64-bit (`$numberLong`), clocks ([`Hlc`]) as their string form.
//!
//! A document that does not decode as its type is never skipped (a pull would silently
//! miss a note) nor treated as absent (a push would write over it): reading it fails the
//! request with an internal error whose detail names the collection and the user ([`named`]),
//! which the API logs and answers as its internal error.

use mongodb::bson::DateTime;
use serde::{Deserialize, Serialize};
use sync_core::fields::{Element, FieldState, Fields, RegisterState, SetState};
use sync_core::merge::{LastWrite, StoredNote};
use sync_core::protocol::{Revision, RevisionReason};
use sync_core::push::{NewRevision, NoteRecord, RecentChange, UnseenRevision};
use sync_core::{Conflict, Hlc, NoteId, NoteState, Strategy, Version};

/// One note of one user (`notes`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NoteDoc {
    /// The owner's user id. Absent only where a pull projects it away.
    #[serde(rename = "u", default)]
    pub user: String,
    /// The note's id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Content.
    pub content: String,
    /// True for a tombstone.
    pub deleted: bool,
    /// Clock of the current version.
    pub hlc: Hlc,
    /// The note's version (the user's commit sequence number of its last change).
    #[serde(rename = "v")]
    pub version: i64,
    /// Clock of the last title edit (field-level merge). Absent where a pull projects it
    /// away; then the note's clock.
    #[serde(rename = "th", default, skip_serializing_if = "Option::is_none")]
    pub title_hlc: Option<Hlc>,
    /// Clock of the last content edit (see `th`).
    #[serde(rename = "ch", default, skip_serializing_if = "Option::is_none")]
    pub content_hlc: Option<Hlc>,
    /// The version of the note's last text change (`sync_core::merge::StoredNote::text_version`),
    /// when a change of fields only came since; absent: `v`.
    #[serde(rename = "tv", default, skip_serializing_if = "Option::is_none")]
    pub text_version: Option<i64>,
    /// Who wrote the current version on top of which version (`sync_core::merge::LastWrite`).
    #[serde(rename = "lw", default, skip_serializing_if = "Option::is_none")]
    pub last_write: Option<LastWriteDoc>,
    /// The note's conflict strategy override; absent: the server's default.
    #[serde(rename = "st", default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<Strategy>,
    /// The note's unresolved conflict.
    #[serde(rename = "cf", default, skip_serializing_if = "Option::is_none")]
    pub conflict: Option<Conflict>,
    /// The ids and versions of its last changes, oldest first, applied or superseded
    /// (version 0): the idempotency record, written with the change.
    #[serde(rename = "cids", default)]
    pub recent: Vec<RecentDoc>,
    /// The number of its last revision.
    #[serde(rename = "rn", default)]
    pub rn: i64,
    /// The kept revisions that lost unseen under last-write-wins, with their authors
    /// (`sync_core::push::UnseenRevision`); absent: none.
    #[serde(rename = "un", default, skip_serializing_if = "Vec::is_empty")]
    pub unseen: Vec<UnseenDoc>,
    /// `true` for a tombstone deleted forever ("Delete forever" or the trash expiry): its
    /// text and every revision are gone. Absent otherwise (the trash sweep looks for
    /// tombstones without it).
    #[serde(rename = "pg", default, skip_serializing_if = "Option::is_none")]
    pub purged: Option<bool>,
    /// The note's fields beyond its text (`sync_core::fields`), one entry per field ever
    /// set; absent: none (every note a server before fields wrote).
    #[serde(rename = "fd", default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldDoc>,
}

/// One entry of `fd` of a [`NoteDoc`]: a set field's elements (`e`) or a register field's
/// value (`r`, `h`).
///
/// Stored as the server merges them, by element and clock, never by meaning: an element is
/// a value (`v`, in a document's value, never a key, so no client string becomes a field
/// name), and a register's value is its JSON text, which the server never reads. Devices
/// that encrypt the values later store them here unchanged.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FieldDoc {
    /// The field's name.
    #[serde(rename = "f")]
    pub name: String,
    /// A set field's elements.
    #[serde(rename = "e", default, skip_serializing_if = "Option::is_none")]
    pub elements: Option<Vec<ElementDoc>>,
    /// A register field's value, as JSON text.
    #[serde(rename = "r", default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// A register field's clock.
    #[serde(rename = "h", default, skip_serializing_if = "Option::is_none")]
    pub hlc: Option<Hlc>,
}

/// One element of a set field ([`FieldDoc`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ElementDoc {
    /// The element.
    pub v: String,
    /// True when it is in the set (false: removed, remembered to beat older adds).
    pub p: bool,
    /// The clock of its last add or remove.
    pub h: Hlc,
}

impl FieldDoc {
    fn of(fields: &Fields) -> Vec<Self> {
        fields
            .0
            .iter()
            .map(|(name, state)| match state {
                FieldState::Set(s) => Self {
                    name: name.clone(),
                    elements: Some(
                        s.elements
                            .iter()
                            .map(|(v, e)| ElementDoc {
                                v: v.clone(),
                                p: e.present,
                                h: e.hlc.clone(),
                            })
                            .collect(),
                    ),
                    value: None,
                    hlc: None,
                },
                FieldState::Register(r) => Self {
                    name: name.clone(),
                    elements: None,
                    value: Some(r.value.to_string()),
                    hlc: Some(r.hlc.clone()),
                },
            })
            .collect()
    }

    fn into_fields(docs: Vec<Self>) -> Fields {
        let mut out = std::collections::BTreeMap::new();
        for d in docs {
            let state = match (d.elements, d.value, d.hlc) {
                (Some(es), _, _) => FieldState::Set(SetState {
                    elements: es
                        .into_iter()
                        .map(|e| {
                            (
                                e.v,
                                Element {
                                    present: e.p,
                                    hlc: e.h,
                                },
                            )
                        })
                        .collect(),
                }),
                (None, Some(v), Some(hlc)) => FieldState::Register(RegisterState {
                    // Written from a `serde_json::Value` by `of`, so it parses; should it
                    // not, `null` (the register's "never set") rather than a failed pull.
                    value: serde_json::from_str(&v).unwrap_or_default(),
                    hlc,
                }),
                _ => continue,
            };
            out.insert(d.name, state);
        }
        Fields(out)
    }
}

/// `lw` of a [`NoteDoc`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LastWriteDoc {
    /// The device (clock node) that wrote the version.
    #[serde(rename = "n")]
    pub node: String,
    /// The version its change named as base; absent: it created the note.
    #[serde(rename = "b", default, skip_serializing_if = "Option::is_none")]
    pub base: Option<i64>,
}

/// One entry of `un` of a [`NoteDoc`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UnseenDoc {
    /// The revision's number.
    pub n: i64,
    /// Its author's device (clock node); empty: not known.
    #[serde(rename = "a")]
    pub author: String,
}

/// One entry of `cids` of a [`NoteDoc`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecentDoc {
    /// The change id.
    #[serde(rename = "c")]
    pub change: String,
    /// The version it got; 0: it was superseded.
    #[serde(rename = "v")]
    pub version: i64,
    /// The fields whose edits were refused (absent: none).
    #[serde(rename = "r", default, skip_serializing_if = "Vec::is_empty")]
    pub refused: Vec<String>,
}

impl NoteDoc {
    /// The document of `rec`, owned by `user`.
    pub fn from_record(user: &str, rec: &NoteRecord) -> Self {
        let st = &rec.note;
        let n = &st.note;
        Self {
            user: user.to_owned(),
            id: n.id.0.clone(),
            title: n.title.clone(),
            content: n.content.clone(),
            deleted: n.deleted,
            hlc: n.hlc.clone(),
            version: n.version as i64,
            title_hlc: Some(st.title_hlc.clone()),
            content_hlc: Some(st.content_hlc.clone()),
            text_version: (st.text_version != n.version).then_some(st.text_version as i64),
            last_write: st.last_write.as_ref().map(|w| LastWriteDoc {
                node: w.node.clone(),
                base: w.base.map(|b| b as i64),
            }),
            strategy: (!n.strategy.is_default()).then_some(n.strategy),
            conflict: n.conflict.clone(),
            recent: rec
                .recent
                .iter()
                .map(|r| RecentDoc {
                    change: r.change.clone(),
                    version: r.version as i64,
                    refused: r.refused.clone(),
                })
                .collect(),
            rn: rec.rn as i64,
            unseen: rec
                .unseen
                .iter()
                .map(|u| UnseenDoc {
                    n: u.n as i64,
                    author: u.author.clone(),
                })
                .collect(),
            purged: n.purged.then_some(true),
            fields: FieldDoc::of(&n.fields),
        }
    }

    /// The note as pulls return it.
    pub fn into_state(self) -> NoteState {
        NoteState {
            id: NoteId(self.id),
            title: self.title,
            content: self.content,
            deleted: self.deleted,
            hlc: self.hlc,
            version: self.version as u64,
            strategy: self.strategy.unwrap_or_default(),
            conflict: self.conflict,
            purged: self.purged.unwrap_or(false),
            fields: FieldDoc::into_fields(self.fields),
        }
    }

    /// The note with its push bookkeeping.
    pub fn into_record(self) -> NoteRecord {
        let recent = self
            .recent
            .iter()
            .map(|r| RecentChange {
                change: r.change.clone(),
                version: r.version as u64,
                refused: r.refused.clone(),
            })
            .collect();
        let rn = self.rn as u64;
        let unseen = self
            .unseen
            .iter()
            .map(|u| UnseenRevision {
                n: u.n as u64,
                author: u.author.clone(),
            })
            .collect();
        let text_version = self.text_version.map(|v| v as u64);
        let title_hlc = self.title_hlc.clone();
        let content_hlc = self.content_hlc.clone();
        let last_write = self.last_write.clone().map(|w| LastWrite {
            node: w.node,
            base: w.base.map(|b| b as u64),
        });
        let note = self.into_state();
        NoteRecord {
            note: StoredNote {
                title_hlc: title_hlc.unwrap_or_else(|| note.hlc.clone()),
                content_hlc: content_hlc.unwrap_or_else(|| note.hlc.clone()),
                last_write,
                text_version: text_version.unwrap_or(note.version),
                note,
            },
            recent,
            rn,
            unseen,
        }
    }
}

/// One revision of a note (`revisions`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RevisionDoc {
    /// The owner's user id.
    #[serde(rename = "u")]
    pub user: String,
    /// The note's id.
    pub id: String,
    /// Its number among the note's revisions (from 1).
    pub n: i64,
    /// When it was kept, ms since the epoch.
    pub at: i64,
    /// Title of the version.
    pub title: String,
    /// Content of the version.
    pub content: String,
    /// True for a deleted version.
    pub deleted: bool,
    /// Clock of the version.
    pub hlc: Hlc,
    /// Why it was kept: `edited`, `deleted`, `conflict` or `merged`.
    pub why: RevisionReason,
}

impl RevisionDoc {
    /// The document of revision `r` of `user`.
    pub fn new(user: &str, r: &NewRevision) -> Self {
        let v = &r.revision.version;
        Self {
            user: user.to_owned(),
            id: r.note_id.0.clone(),
            n: r.n as i64,
            at: r.revision.saved_at_ms as i64,
            title: v.title.clone(),
            content: v.content.clone(),
            deleted: v.deleted,
            hlc: v.hlc.clone(),
            why: r.revision.reason,
        }
    }

    /// The revision as `GET /notes/{id}/history` lists it.
    pub fn into_revision(self) -> Revision {
        Revision {
            version: Version {
                title: self.title,
                content: self.content,
                deleted: self.deleted,
                hlc: self.hlc,
            },
            reason: self.why,
            saved_at_ms: self.at as u64,
        }
    }
}

/// The collection of [`CounterDoc`]s, which the heads feed watches.
pub const COUNTERS: &str = "counters";

/// A user's commit sequence (`counters`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CounterDoc {
    /// The user's id.
    #[serde(rename = "_id")]
    pub user: String,
    /// The last version handed out.
    pub seq: i64,
    /// `true` once the account is deleted: the counter stays as its tombstone, and every
    /// push's transaction, which writes this document, refuses (so a push racing the
    /// deletion, or arriving after a restart, stores nothing). Absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gone: Option<bool>,
}

/// An account (`users`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserDoc {
    /// The user's id (random, 22 characters).
    #[serde(rename = "_id")]
    pub id: String,
    /// The normalised (lower-case) name.
    pub name: String,
    /// The argon2id hash, PHC string form.
    pub hash: String,
    /// The credential epoch (`storage::StoredUser::epoch`); absent: 0.
    #[serde(rename = "ep", default, skip_serializing_if = "is_zero")]
    pub epoch: i64,
}

impl UserDoc {
    /// The account as the account rules read it.
    pub fn into_stored(self) -> crate::storage::accounts::StoredUser {
        crate::storage::accounts::StoredUser {
            id: self.id,
            name: self.name,
            hash: self.hash,
            epoch: self.epoch,
        }
    }
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// A session (`sessions`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionDoc {
    /// SHA-256 of the token, hex.
    #[serde(rename = "_id")]
    pub key: String,
    /// The user's id.
    #[serde(rename = "u")]
    pub user: String,
    /// The user's name.
    pub name: String,
    /// When it expires (the TTL index removes it then).
    pub exp: DateTime,
    /// When it was created (absent in sessions stored before this was recorded).
    #[serde(rename = "at", default, skip_serializing_if = "Option::is_none")]
    pub created: Option<DateTime>,
    /// When it was last used, to the minute (`auth::TOUCH_EVERY`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seen: Option<DateTime>,
    /// What signed in (`auth::device_label`, at most 64 characters).
    #[serde(rename = "dev", default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    /// The account's credential epoch when the session was made; absent: 0.
    #[serde(rename = "ep", default, skip_serializing_if = "is_zero")]
    pub epoch: i64,
}

impl SessionDoc {
    /// The session as the account rules read it.
    pub fn into_stored(self) -> crate::storage::accounts::StoredSession {
        crate::storage::accounts::StoredSession {
            key: self.key,
            user_id: self.user,
            name: self.name,
            expires_ms: self.exp.timestamp_millis(),
            created_ms: self.created.map(|t| t.timestamp_millis()),
            last_used_ms: self.seen.map(|t| t.timestamp_millis()),
            device: self.device,
            epoch: self.epoch,
        }
    }
}

/// A throttling bucket or a mark (`throttle`, see [`crate::storage::buckets`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BucketDoc {
    /// The key (`p|name|source`, `s|source`, `a|name`, `k|name|source`).
    #[serde(rename = "_id")]
    pub key: String,
    /// When the bucket is empty again, ms since the epoch; absent for a mark.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tat: Option<i64>,
    /// When the TTL index removes it.
    pub exp: DateTime,
}

/// A read error of `collection` for `user`: a stored document that does not decode says
/// so, with where it is (the detail is for the log; see the module doc). Other errors are
/// returned as they are (their transaction labels decide retries).
pub fn named(collection: &str, user: &str, e: mongodb::error::Error) -> mongodb::error::Error {
    if matches!(*e.kind, mongodb::error::ErrorKind::BsonDeserialization(_)) {
        mongodb::error::Error::custom(format!(
            "a stored document in `{collection}` of user {user} does not decode: {e}"
        ))
    } else {
        e
    }
}
