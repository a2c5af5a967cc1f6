//! What the components show of the local store and of the server: typed views made from
//! what [`crate::io`] reads (`client::local::LocalNote`, `sync_core::protocol::Revision`).

use client::local::{LocalNote, SyncState};
use sync_core::protocol::{Revision, RevisionReason};
use sync_core::{Strategy, Text};

use crate::io::{self, NotesRead};

/// How a note stands with the server, as the list shows it (typed; `as_str` gives the
/// `data-sync` label).
pub use client::local::NoteStatus as NoteSync;

/// Notes rendered at a time in the list (scrolling or "Show more" renders the next page):
/// a few screens' worth, so that what a start, a search or a sync's re-read renders is
/// about what is on the screen.
pub const LIST_PAGE: usize = 50;

/// A note as the list shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteView {
    /// Note id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Body.
    pub content: String,
    /// Sync state.
    pub sync: NoteSync,
    /// Why the last edit was refused (failed notes only).
    pub reason: String,
    /// The note's conflict strategy.
    pub strategy: Strategy,
    /// The concurrent versions waiting for the user, if any.
    pub conflict: Option<ConflictView>,
    /// Pinned.
    pub pinned: bool,
    /// When it was created, ms since the epoch (`None`: before dates were kept).
    pub created_ms: Option<u64>,
    /// When it last changed, ms since the epoch.
    pub modified_ms: u64,
    /// Its notebook's record id (the record may be deleted: then it shows none).
    pub notebook: Option<String>,
    /// Its tags' record ids.
    pub tags: Vec<String>,
}

/// Most characters of a note's body the list shows.
pub const SNIPPET_CHARS: usize = 200;
/// Most lines of a note's body the list shows.
pub const SNIPPET_LINES: usize = 3;

impl NoteView {
    /// The note's text.
    pub fn text(&self) -> Text {
        Text {
            title: self.title.clone(),
            content: self.content.clone(),
        }
    }

    /// The start of the body as the list shows it: at most [`SNIPPET_LINES`] lines and
    /// [`SNIPPET_CHARS`] characters, so a row costs the same for a line as for a book.
    pub fn snippet(&self) -> &str {
        snippet(&self.content)
    }
}

impl From<LocalNote> for NoteView {
    fn from(n: LocalNote) -> Self {
        let reason = match &n.sync {
            SyncState::Failed { message, .. } => message.clone(),
            _ => String::new(),
        };
        let text = |title: &str, content: &str, deleted| TextView {
            title: title.to_owned(),
            content: content.to_owned(),
            deleted,
        };
        let sync = n.status();
        let fields = n.shown_fields();
        NoteView {
            pinned: fields.pinned(),
            created_ms: fields.created_ms(),
            modified_ms: n.modified_ms(),
            notebook: n.notebook_id().map(|nb| nb.0),
            tags: fields.set("tags").into_iter().collect(),
            sync,
            strategy: n.strategy,
            conflict: n.conflict.as_ref().map(|c| ConflictView {
                versions: c
                    .versions
                    .iter()
                    .map(|v| text(&v.title, &v.content, v.deleted))
                    .collect(),
                proposal: c
                    .proposal
                    .as_ref()
                    .map(|p| text(&p.title, &p.content, false)),
            }),
            id: n.id.0,
            title: n.title,
            content: n.content,
            reason,
        }
    }
}

/// See [`NoteView::snippet`].
pub fn snippet(content: &str) -> &str {
    let mut lines = 1;
    for (n, (i, c)) in content.char_indices().enumerate() {
        if n == SNIPPET_CHARS {
            return &content[..i];
        }
        if c == '\n' {
            if lines == SNIPPET_LINES {
                return &content[..i];
            }
            lines += 1;
        }
    }
    content
}

/// One version of a note's text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextView {
    /// Title.
    pub title: String,
    /// Body.
    pub content: String,
    /// True for a delete.
    pub deleted: bool,
}

/// An unresolved conflict, as the conflict screen shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConflictView {
    /// The other versions (the note's own text is the first choice).
    pub versions: Vec<TextView>,
    /// The server's merge proposal, if it could make one.
    pub proposal: Option<TextView>,
}

/// One entry of a note's history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevisionView {
    /// The text.
    pub text: TextView,
    /// Why it was kept.
    pub reason: RevisionReason,
    /// When, in local time.
    pub saved: String,
}

impl From<Revision> for RevisionView {
    fn from(r: Revision) -> Self {
        RevisionView {
            text: TextView {
                title: r.version.title,
                content: r.version.content,
                deleted: r.version.deleted,
            },
            reason: r.reason,
            saved: io::page::date_label(r.saved_at_ms),
        }
    }
}

/// What the page shows of the local store: one screen of it, never every note.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// The notes listed: the first live notes, newest first (as many as the list shows),
    /// or the first results of the search, best first.
    pub notes: Vec<NoteView>,
    /// How many notes there are (live ones), or how many match the search.
    pub total: usize,
    /// The open note as stored (it may be neither on the page nor among the results).
    pub open: Option<NoteView>,
    /// The id of the note read as `open` (`open` is `None` if it is deleted).
    pub open_id: Option<String>,
    /// Notes (deletes included) with an edit the server has not accepted yet.
    pub unsynced: usize,
    /// The search index is still being built (results may be incomplete).
    pub indexing: bool,
    /// How many notes each sidebar filter finds (`None` while the index is being built).
    pub counts: Option<io::Counts>,
    /// The search these notes answer (the box may already hold a newer one, read next).
    pub query: String,
}

impl From<NotesRead> for Snapshot {
    fn from(r: NotesRead) -> Self {
        Snapshot {
            notes: r.notes.into_iter().map(NoteView::from).collect(),
            total: r.total,
            open: r.open.map(NoteView::from),
            open_id: r.open_id,
            unsynced: r.unsynced,
            indexing: r.indexing,
            counts: r.counts,
            query: String::new(),
        }
    }
}

impl Snapshot {
    /// The note `id` as read, if it is on the page or open.
    pub fn find(&self, id: &str) -> Option<&NoteView> {
        self.open
            .as_ref()
            .filter(|n| n.id == id)
            .or_else(|| self.notes.iter().find(|n| n.id == id))
    }

    /// The note `id` as this read knows it: `Some(None)` if it read it as deleted, `None`
    /// if it did not read it (it was opened after the read began).
    pub fn stored(&self, id: &str) -> Option<Option<&NoteView>> {
        match self.find(id) {
            Some(n) => Some(Some(n)),
            None if self.open_id.as_deref() == Some(id) => Some(None),
            None => None,
        }
    }
}

/// One entry of the trash, as shown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrashEntry {
    /// The note's id.
    pub id: String,
    /// Its title when deleted.
    pub title: String,
    /// Its text when deleted.
    pub content: String,
    /// When it was deleted, ms since the epoch.
    pub deleted_ms: u64,
}

impl TrashEntry {
    /// The trash entry of a deleted note whose text is kept.
    pub fn of(n: LocalNote) -> Option<Self> {
        let t = n.trash?;
        Some(TrashEntry {
            id: n.id.0,
            title: t.title,
            content: t.content,
            deleted_ms: t.deleted_ms,
        })
    }
}

const DAY_MS: u64 = 24 * 3600 * 1000;

/// "Deleted forever in N days" for an entry deleted at `deleted_ms`, at `now_ms`.
pub fn days_left(deleted_ms: u64, now_ms: u64, period_days: u32) -> u64 {
    let end = deleted_ms + u64::from(period_days) * DAY_MS;
    end.saturating_sub(now_ms).div_ceil(DAY_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snippet_is_the_first_lines_and_characters() {
        assert_eq!(snippet(""), "");
        assert_eq!(snippet("one\ntwo\nthree\nfour"), "one\ntwo\nthree");
        assert_eq!(snippet("one\ntwo"), "one\ntwo");
        let long = "é".repeat(SNIPPET_CHARS + 5);
        assert_eq!(snippet(&long).chars().count(), SNIPPET_CHARS);
        assert_eq!(snippet(&"x".repeat(SNIPPET_CHARS)).len(), SNIPPET_CHARS);
    }

    #[test]
    fn a_stored_note_is_shown_with_its_sync_state_and_conflict() {
        let mut n = LocalNote::from_remote(&sync_core::model::NoteState {
            id: sync_core::NoteId("a".into()),
            title: "T".into(),
            content: "one\ntwo".into(),
            deleted: false,
            hlc: sync_core::Hlc {
                wall_ms: 1,
                counter: 0,
                node: "d".into(),
            },
            version: 3,
            strategy: Strategy::Default,
            conflict: None,
            purged: false,
            fields: Default::default(),
        });
        n.sync = SyncState::Failed {
            code: "too_large".into(),
            message: "too long".into(),
        };
        let v = NoteView::from(n.clone());
        assert_eq!((v.id.as_str(), v.title.as_str()), ("a", "T"));
        assert_eq!(
            (v.reason.as_str(), v.conflict.is_none()),
            ("too long", true)
        );
        assert_eq!(TrashEntry::of(n), None, "a live note is in no trash");
        let read = NotesRead {
            notes: vec![],
            total: 0,
            open: None,
            open_id: Some("a".into()),
            unsynced: 1,
            indexing: false,
            counts: None,
        };
        let snap = Snapshot::from(read);
        assert_eq!(snap.stored("a"), Some(None), "read as deleted");
        assert_eq!(snap.stored("b"), None, "not read");
    }

    #[test]
    fn days_left_counts_whole_days_up() {
        assert_eq!(days_left(0, 0, 30), 30);
        assert_eq!(days_left(0, 1, 30), 30);
        assert_eq!(days_left(0, DAY_MS, 30), 29);
        assert_eq!(days_left(0, 30 * DAY_MS, 30), 0);
        assert_eq!(days_left(0, DAY_MS, 7), 6);
        assert_eq!(days_left(0, 31 * DAY_MS, 30), 0);
    }
}
