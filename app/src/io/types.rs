//! The typed values the I/O functions take and give, the same on the server and in the
//! browser (the functions themselves are [`super`]'s, behind its one `cfg` switch).

use std::time::Duration;

use sync_core::Text;

pub use client::api::{Access, ApiError};

/// Quiet time after a keystroke before the note is saved locally (the editor's debounce;
/// an update waits this long after the last keystroke before it reloads the page).
pub const SAVE_DEBOUNCE: Duration = Duration::from_millis(250);

/// The database of notes written while nobody is signed in, and of this browser's account
/// records.
pub const GUEST_DB: &str = "tern";

/// The database of `account`'s notes (`None`: nobody's).
pub fn db_of(account: Option<&Account>) -> String {
    match account {
        Some(a) => format!("tern-{}", a.id),
        None => GUEST_DB.to_owned(),
    }
}

/// The build id of the server that rendered the page; the server provides it as context.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildId(pub String);

/// A signed-in account, as this browser records it (its id names its database).
pub use client::local::AccountRecord as Account;

/// What the server says of this browser's session cookie (`GET /auth/me`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SessionCheck {
    /// Signed in.
    SignedIn(Account),
    /// No valid session.
    SignedOut,
    /// The server could not be asked (offline).
    Unknown,
}

/// What the page starts with, from this browser's own records (no network).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Start {
    /// The account whose notes this browser shows (signed in here last, not signed out).
    pub account: Option<Account>,
    /// A sign-out the server has not heard of yet: the session cookie must not sign the
    /// user back in.
    pub signed_out: bool,
}

/// What became of the notes written before any sign-in, when an account signs in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Joining {
    /// There were none.
    Nothing,
    /// They joined the account (this browser was never used by another account).
    Joined(usize),
    /// This browser was used by other accounts too: the user is asked first.
    Ask(usize),
}

/// Why a sign-in or sign-up failed: the server's answer, or this browser's records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignInError {
    /// The request failed.
    Api(ApiError),
    /// The account could not be recorded in this browser's local storage.
    Storage(String),
}

/// What a save did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Saved {
    /// Written (or nothing to write). `stored` is what the store holds now: the editor's
    /// text, or the editor's text merged with what arrived meanwhile.
    Written {
        /// The note's id (new for a created note).
        id: String,
        /// The stored text.
        stored: Text,
    },
    /// The editor's text overlapped a version that arrived meanwhile: both are kept, the
    /// editor's as the note's text and the other as a conflict version.
    Conflict {
        /// The note's id.
        id: String,
        /// The stored text (the editor's).
        stored: Text,
    },
    /// The note was deleted meanwhile; nothing was written.
    Deleted,
}

/// The order of the list (see [`client::search::Sort`]).
pub use client::search::Sort;

/// How many notes each sidebar filter finds (see [`client::search::Counts`]).
pub use client::search::Counts;

/// What a read of the local store covers: the search (empty for none), the order, how
/// many notes to list, the open note.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Query {
    /// The search box's text: words and filters (`tag:`, `notebook:`, `is:pinned`; see
    /// [`client::search::query`]).
    pub query: String,
    /// The list's order.
    pub sort: Sort,
    /// Notes to list.
    pub limit: usize,
    /// The open note's id.
    pub open: Option<String>,
}

/// One read of the local store for the page: one screen of it, never every note.
#[derive(Clone, Debug, Default)]
pub struct NotesRead {
    /// The first live notes, newest first (as many as asked), or the first results of the
    /// search, best first.
    pub notes: Vec<client::local::LocalNote>,
    /// How many notes there are (live ones), or how many match the search.
    pub total: usize,
    /// The open note as stored, unless deleted.
    pub open: Option<client::local::LocalNote>,
    /// The id of the note read as `open`.
    pub open_id: Option<String>,
    /// Notes (deletes included) with an edit the server has not accepted yet.
    pub unsynced: usize,
    /// The search index is still being built (results may be incomplete).
    pub indexing: bool,
    /// How many notes each sidebar filter finds (`None` while the index is being built).
    pub counts: Option<Counts>,
}

/// Which export.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportKind {
    /// One JSON file (lossless).
    Json,
    /// A zip of Markdown files with front matter.
    Markdown,
}

/// The notebook and tag records of the store shown: the live ones, by name.
#[derive(Clone, Debug, Default)]
pub struct RecordsRead {
    /// Notebooks.
    pub notebooks: Vec<client::local::LocalNote>,
    /// Tags.
    pub tags: Vec<client::local::LocalNote>,
}

/// A note a link points at, or one that links here: what the preview, the link completion
/// and the backlinks show of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkedNote {
    /// Its id.
    pub id: String,
    /// Its title as it is now.
    pub title: String,
}

/// The list's first page as the app last showed it, kept for the next start's first
/// paint (`first_page::write`): the shell's script draws it before any wasm runs
/// (`crate::components::first_paint`). Only text the list already showed, each
/// value cut to [`FirstPage::TEXT`] characters and at most [`FirstPage::ROWS`] rows, so a
/// hostile note cannot make it large.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FirstPage {
    /// The list's count line ("12 notes").
    pub count: String,
    pub rows: Vec<FirstRow>,
}

/// One row of [`FirstPage`]: what the list's row shows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FirstRow {
    pub id: String,
    /// "Untitled" for a note without a title, as the list says.
    pub title: String,
    pub snippet: String,
    /// The row's date label, as it was when written.
    pub date: String,
    pub pinned: bool,
    /// The notebook's name and the tags (`#a #b`), as the row showed them.
    pub notebook: String,
    pub tags: String,
}

impl FirstPage {
    /// Its `localStorage` key.
    pub const KEY: &str = "tern-first-page";
    /// At most this many rows (the list's page).
    pub const ROWS: usize = 50;
    /// Each text at most this many characters.
    pub const TEXT: usize = 200;

    /// `self` within the limits (rows dropped, texts cut at a character boundary).
    pub fn bounded(mut self) -> Self {
        fn cut(s: &mut String) {
            if let Some((i, _)) = s.char_indices().nth(FirstPage::TEXT) {
                s.truncate(i);
            }
        }
        cut(&mut self.count);
        self.rows.truncate(Self::ROWS);
        for r in &mut self.rows {
            for s in [
                &mut r.id,
                &mut r.title,
                &mut r.snippet,
                &mut r.date,
                &mut r.notebook,
                &mut r.tags,
            ] {
                cut(s);
            }
        }
        self
    }
}
