//! # model: the app's state and what it means
//!
//! The middle layer: it reads and writes the world through [`crate::io`] only, and knows
//! nothing of the components above it (they read its signals and call its actions).
//!
//! ## Layout
//! - [`page`]: [`PageState`], the notes shown, the search, who is signed in, the sync
//!   status line and the message; provided as context by the `App`.
//! - [`editor`]: [`EditorState`], the open note's editor, which carries out what the pure
//!   editor model (`client::editor::EditorModel`) decides; it asks the page state for
//!   what it needs through [`editor::EditorHost`].
//! - [`ui`]: [`Ui`], view state beside the notes (phone screen, preview, overlays, the
//!   sync activity log, persistent storage).
//! - [`sync`]: [`SyncLine`] (the runner's status as the status line shows it) and the
//!   page's handle on the runner.
//! - [`activity`]: the sync activity log and what it says; [`storage`]: what the storage
//!   notice says; [`share`]: the offer of text shared into Tern; [`keys`]: the keyboard
//!   shortcuts and what they do; [`markdown`]: the safe Markdown renderer and checklists.
//! - [`account`]: sign-in, sign-out and who is signed in; [`commands`]: "New note",
//!   "Delete" and "Undo", and the organizing actions (notebooks, tags, pins, of one note
//!   or the selected ones).
//! - [`organize`]: notebooks and tags as shown ([`Organize`]), the sidebar's filters as
//!   search queries, the list's multi-select ([`Selection`]), dates.
//! - [`take_over`]: the first-paint shell's hand-over to the app, a pure state machine
//!   (what was clicked in the shell, done once when the app takes over).
//! - [`views`]: the typed views of notes, conflicts, revisions and trash entries;
//!   [`copy`]: the messages made of typed outcomes (sync reports, API and storage errors).
//!
//! Imports run one way inside it too: `views`, `copy`, `organize` → `activity` → `ui`, `editor`,
//! `sync` → `page` → `account`, `commands`, `share`, `keys`.

pub mod account;
pub mod activity;
pub mod commands;
pub mod copy;
pub mod editor;
pub mod keys;
pub mod markdown;
pub mod organize;
pub mod page;
pub mod share;
pub mod storage;
pub mod sync;
pub mod take_over;
pub mod ui;
pub mod views;

pub use editor::{EditorState, SaveLabel};
pub use organize::{Organize, Selection};
pub use page::PageState;
pub use sync::{SyncLine, SyncPhase};
pub use ui::{Pane, SettingsTab, Ui};
pub use views::{LIST_PAGE, NoteView, RevisionView, Snapshot, TrashEntry};

/// The list's order ([`PageState::sort`], [`PageState::set_sort`]) and the sidebar's counts
/// ([`Snapshot::counts`]).
pub use crate::io::{Counts, Sort};
