//! The note as a device keeps it ([`LocalNote`]) and what the user sees about its sync
//! ([`SyncState`], [`NoteStatus`]), with their stored shapes.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use sync_core::fields::{EditClock, EditClocks, FieldEdit, Fields, Kind};
use sync_core::protocol::Change;
use sync_core::{ChangeId, Conflict, Hlc, NoteId, NoteState, Strategy, Text};

/// A note as this device keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalNote {
    /// The note's id.
    pub id: NoteId,
    /// Title.
    pub title: String,
    /// Body.
    pub content: String,
    /// True once deleted (kept as a tombstone until the delete is synced).
    pub deleted: bool,
    /// Clock of this state (local edit or remote change).
    pub hlc: Hlc,
    /// The server version this state derives from; `None` if the server never had it.
    pub base_version: Option<u64>,
    /// The change id of the local edit not yet accepted by the server, if any.
    pub pending: Option<ChangeId>,
    /// What the user sees about this note's sync.
    pub sync: SyncState,
    /// The text of the server version `base_version` (sent with edits so the server can
    /// merge concurrent ones three ways). Added in local schema 2.
    #[serde(default)]
    pub base: Option<Text>,
    /// The note's conflict strategy, as last known from the server or set here.
    #[serde(default)]
    pub strategy: Strategy,
    /// True when the user changed the strategy here and the change is not synced yet.
    #[serde(default)]
    pub strategy_changed: bool,
    /// Concurrent versions waiting for the user to choose, as the server last sent them.
    #[serde(default)]
    pub conflict: Option<Conflict>,
    /// True when the pending edit is the user's resolution of the conflict.
    #[serde(default)]
    pub resolving: bool,
    /// True when `conflict` holds versions only this device has: text another tab wrote
    /// and the editor's typing overlapped before either was synced (see
    /// [`super::Notes::save_editor`]). The server never saw them, so a state from the server
    /// does not replace them ([`super::reconcile()`] carries them over) until the user chooses.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub local_conflict: bool,
    /// The text the pending edit was typed on, when it is not `base`: an editor's save
    /// whose typing overlapped `base` (the server's text, pulled while the user typed) keeps
    /// `base` beside it as a conflict version ([`super::Notes::save_editor`]) until the
    /// server's answer brings the server's decision; the typing was made on the earlier
    /// text. Sent as the change's base text, it tells the server the edit is
    /// concurrent with `base` ([`sync_core::merge`]), so the note's strategy decides for every
    /// device: a conflict on every device (the default), not one only this device shows
    /// while the others see their edit replaced. Cleared by the answer to the edit that
    /// carried it, and by a resolution or a delete (made with both versions in view); an
    /// edit made while it was on its way is typed on the text sent ([`super::reconcile()`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub typed_on: Option<Text>,
    /// The text of a deleted note, kept on the device for the trash ("Restore") until it
    /// is deleted forever or expires ([`super::TRASH_DAYS`] after `deleted_ms`). Never sent: the
    /// server keeps its own copy in the note's history. Absent on live notes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trash: Option<Trashed>,
    /// True when the pending delete is "Delete forever" (sent as `purge`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub purge: bool,
    /// The note's fields (tags, notebook, pinned, kind, parent) as the server last sent
    /// them, with their clocks; merged with every later state from the server, pending
    /// edit or not ([`sync_core::fields`]: merging is order-free). Absent in records
    /// written before fields: none.
    #[serde(default, skip_serializing_if = "Fields::is_empty")]
    pub fields: Fields,
    /// Field edits made here that the server has not accepted yet, by field name: sent
    /// with the pending change, shown on top of `fields` ([`LocalNote::shown_fields`]),
    /// kept until the server answers for a change that carried them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub field_edits: BTreeMap<String, FieldEdit>,
    /// When the pending field edits were made, for those made before the note's latest
    /// edit (`hlc`): a register's clock, or a set's clocks by element; an edit not named
    /// here was made at `hlc`. Sent with them (`Change::edit_clocks`), so a later edit of
    /// the note does not make them newer than another device's edits made in between.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub edit_clocks: EditClocks,
}

/// A pulled state as [`LocalNote`] serializes it after [`LocalNote::from_remote`], borrowed
/// from the state: an initial sync writes 100,000 such records (`crate::idb`'s packs), and
/// building each note (two copies of its text, a copy of its fields) only to serialize and
/// drop it cost about a tenth of the sync. The same fields in the same order and shapes as
/// `LocalNote` (those `from_remote` leaves at their skipped defaults are left out); a test
/// compares the two on varied states, so a field added to `LocalNote` is added here.
#[derive(Serialize)]
struct RemoteRecord<'a> {
    id: &'a NoteId,
    title: &'a str,
    content: &'a str,
    deleted: bool,
    hlc: &'a str,
    base_version: Option<u64>,
    pending: Option<&'a ChangeId>,
    sync: SyncState,
    base: TextRef<'a>,
    strategy: Strategy,
    strategy_changed: bool,
    conflict: &'a Option<Conflict>,
    resolving: bool,
    #[serde(skip_serializing_if = "no_fields")]
    fields: &'a Fields,
}

/// [`Text`], borrowed.
#[derive(Serialize)]
struct TextRef<'a> {
    title: &'a str,
    content: &'a str,
}

fn no_fields(f: &&Fields) -> bool {
    f.is_empty()
}

/// A deleted note's text, as the trash shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trashed {
    /// Title when deleted.
    pub title: String,
    /// Body when deleted.
    pub content: String,
    /// When it was deleted (the delete's clock), ms since the epoch.
    pub deleted_ms: u64,
}

/// Sync state of one note, as shown to the user. Stored as `{"state": "synced"}`,
/// `{"state": "pending"}` or `{"state": "failed", "code": …, "message": …}`, through the flat
/// [`StoredSyncState`] (an internally tagged enum would cost the wasm serde's buffering).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "StoredSyncState", into = "StoredSyncState")]
pub enum SyncState {
    /// The server has exactly this version.
    Synced,
    /// A local edit waits to be pushed.
    Pending,
    /// The server refused the last edit; it stays here, with the reason.
    Failed {
        /// The server's reject code.
        code: String,
        /// What to do about it.
        message: String,
    },
}

/// What the user sees about a note's sync, in one value (see [`LocalNote::status`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NoteStatus {
    /// The server has exactly this version.
    Synced,
    /// A local edit waits to be pushed.
    Pending,
    /// The last edit was refused (by the server or by the device's limits); it stays here.
    Failed,
    /// Concurrent versions wait for the user to choose.
    Conflict,
}

impl NoteStatus {
    /// The label used in the page's markup (`data-sync`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Synced => "synced",
            Self::Pending => "pending",
            Self::Failed => "failed",
            Self::Conflict => "conflict",
        }
    }
}

/// The stored shape of a [`SyncState`].
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StoredSyncState {
    state: StateTag,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    message: Option<String>,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum StateTag {
    Synced,
    Pending,
    Failed,
}

impl TryFrom<StoredSyncState> for SyncState {
    type Error = &'static str;
    fn try_from(s: StoredSyncState) -> Result<Self, &'static str> {
        Ok(match s.state {
            StateTag::Synced => Self::Synced,
            StateTag::Pending => Self::Pending,
            StateTag::Failed => Self::Failed {
                code: s.code.ok_or("missing field `code`")?,
                message: s.message.ok_or("missing field `message`")?,
            },
        })
    }
}

impl From<SyncState> for StoredSyncState {
    fn from(s: SyncState) -> Self {
        let (state, code, message) = match s {
            SyncState::Synced => (StateTag::Synced, None, None),
            SyncState::Pending => (StateTag::Pending, None, None),
            SyncState::Failed { code, message } => (StateTag::Failed, Some(code), Some(message)),
        };
        Self {
            state,
            code,
            message,
        }
    }
}

impl LocalNote {
    /// The note as the server sent it, with nothing pending.
    pub fn from_remote(s: &NoteState) -> Self {
        Self {
            id: s.id.clone(),
            title: s.title.clone(),
            content: s.content.clone(),
            deleted: s.deleted,
            hlc: s.hlc.clone(),
            base_version: Some(s.version),
            pending: None,
            sync: SyncState::Synced,
            base: Some(Text {
                title: s.title.clone(),
                content: s.content.clone(),
            }),
            strategy: s.strategy,
            strategy_changed: false,
            conflict: s.conflict.clone(),
            resolving: false,
            local_conflict: false,
            typed_on: None,
            purge: false,
            trash: None,
            fields: s.fields.clone(),
            field_edits: BTreeMap::new(),
            edit_clocks: EditClocks::new(),
        }
    }

    /// The JSON of [`LocalNote::from_remote`]`(s)`, written from `s` without building the
    /// note (see [`RemoteRecord`]); `hlc` is `s.hlc` as text.
    pub fn remote_json(s: &NoteState, hlc: &str) -> Result<String, serde_json::Error> {
        serde_json::to_string(&RemoteRecord {
            id: &s.id,
            title: &s.title,
            content: &s.content,
            deleted: s.deleted,
            hlc,
            base_version: Some(s.version),
            pending: None,
            sync: SyncState::Synced,
            base: TextRef {
                title: &s.title,
                content: &s.content,
            },
            strategy: s.strategy,
            strategy_changed: false,
            conflict: &s.conflict,
            resolving: false,
            fields: &s.fields,
        })
    }

    /// The fields as shown here: the server's, with the pending edits on top, each at the
    /// clock it was made at (later than anything the device had seen then).
    pub fn shown_fields(&self) -> Fields {
        let mut f = self.fields.clone();
        f.merge(&Fields::of_edits_at(
            &self.field_edits,
            &self.edit_clocks,
            &self.hlc,
        ));
        f
    }

    /// Gives every pending field edit made at the note's current stamp that clock
    /// explicitly (in [`LocalNote::edit_clocks`]), before the note is stamped anew for a
    /// newer edit: the older edits keep the time they were made.
    pub(crate) fn keep_edit_clocks(&mut self) {
        for (name, edit) in &self.field_edits {
            match edit {
                FieldEdit::Register(_) => {
                    self.edit_clocks
                        .entry(name.clone())
                        .or_insert_with(|| EditClock::Register(self.hlc.clone()));
                }
                FieldEdit::Set(e) => {
                    let at = self
                        .edit_clocks
                        .entry(name.clone())
                        .or_insert_with(|| EditClock::Set(BTreeMap::new()));
                    if let EditClock::Set(at) = at {
                        for v in e.add.iter().chain(&e.remove) {
                            at.entry(v.clone()).or_insert_with(|| self.hlc.clone());
                        }
                    }
                }
            }
        }
    }

    /// Drops the clocks of field edits no longer pending, those not earlier than the
    /// note's stamp (which the edit has anyway), and those of another device than the
    /// stamp's: an imported note keeps the clock another device gave it, and the server
    /// takes an edit's own clock only from the device that sends the change
    /// ([`sync_core::fields::check_clocks`]); such an edit takes the note's new stamp.
    pub(crate) fn tidy_edit_clocks(&mut self) {
        let (edits, hlc) = (&self.field_edits, &self.hlc);
        let own = |h: &Hlc| *h < *hlc && h.node == hlc.node;
        self.edit_clocks
            .retain(|name, clock| match (edits.get(name), clock) {
                (Some(FieldEdit::Register(_)), EditClock::Register(h)) => own(h),
                (Some(FieldEdit::Set(e)), EditClock::Set(hs)) => {
                    hs.retain(|v, h| (e.add.contains(v) || e.remove.contains(v)) && own(h));
                    !hs.is_empty()
                }
                _ => false,
            });
    }

    /// What the record is: a note, a notebook or a tag.
    pub fn kind(&self) -> Kind {
        self.shown_fields().kind()
    }

    /// When the note was created (milliseconds since the Unix epoch): its `created` field,
    /// or, for a note created before fields existed, `None`.
    pub fn created_ms(&self) -> Option<u64> {
        self.shown_fields().created_ms()
    }

    /// When the note was last changed (milliseconds since the Unix epoch): its clock.
    pub fn modified_ms(&self) -> u64 {
        self.hlc.wall_ms
    }

    /// True for a note (not a notebook or tag record): what the notes list shows.
    pub fn is_note(&self) -> bool {
        self.kind() == Kind::Note
    }

    /// The ids of the note's tags, as stored: tags deleted since may be among them
    /// ([`super::Notes::tags_of`] leaves those out).
    pub fn tag_ids(&self) -> BTreeSet<String> {
        self.shown_fields().set("tags")
    }

    /// The id of the note's notebook (or of a notebook's parent, for a notebook record),
    /// as stored: it may name a notebook deleted since.
    pub fn notebook_id(&self) -> Option<NoteId> {
        let field = if self.kind() == Kind::Notebook {
            "parent"
        } else {
            "notebook"
        };
        self.shown_fields().id(field).map(NoteId)
    }

    /// True when the note is pinned.
    pub fn pinned(&self) -> bool {
        self.shown_fields().pinned()
    }

    /// The state shown on the note: [`NoteStatus::Conflict`] while concurrent versions wait
    /// for the user, else synced, pending or failed.
    pub fn status(&self) -> NoteStatus {
        match (&self.conflict, &self.sync) {
            (Some(_), _) => NoteStatus::Conflict,
            (None, SyncState::Synced) => NoteStatus::Synced,
            (None, SyncState::Pending) => NoteStatus::Pending,
            (None, SyncState::Failed { .. }) => NoteStatus::Failed,
        }
    }

    /// [`LocalNote::status`] as its label: `synced`, `pending`, `failed` or `conflict`.
    pub fn state_label(&self) -> &'static str {
        self.status().as_str()
    }

    /// The change to push for this note's pending edit, if there is one to push.
    pub fn pending_change(&self) -> Option<Change> {
        if matches!(self.sync, SyncState::Failed { .. }) {
            return None; // refused as sent: waits for the user to edit it again
        }
        let base = self
            .typed_on
            .as_ref()
            .or(self.base.as_ref())
            .filter(|_| self.base_version.is_some());
        Some(Change {
            change_id: self.pending.clone()?,
            note_id: self.id.clone(),
            hlc: self.hlc.clone(),
            base_version: self.base_version,
            title: self.title.clone(),
            content: self.content.clone(),
            deleted: self.deleted,
            base_title: base.map(|b| b.title.clone()),
            base_content: base.map(|b| b.content.clone()),
            strategy: self.strategy_changed.then_some(self.strategy),
            resolve: self.resolving,
            purge: self.purge && self.deleted,
            fields: self.field_edits.clone(),
            edit_clocks: self.edit_clocks.clone(),
        })
    }
}
