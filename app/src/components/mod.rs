//! # components: what the page shows, one file per screen or part
//!
//! The top layer under the `App`: components read the [`crate::model`] state (provided
//! as context) and call its actions, and reach [`crate::io`] for what only they need (a
//! read shown as a Leptos `LocalResource`, a download, the focus). A component may place another
//! (the editor places the preview, the conflict and the history); nothing below imports
//! them.
//!
//! - [`first_paint`]: the start-up module's shell: the list's first page as last shown and
//!   "Opening…", until the app (a module of its own) takes over.
//! - [`sidebar`]: "All notes", "Pinned", the notebooks and tags with counts, "Trash" (a
//!   pane on a wide screen, a drawer on a narrow one); selecting one sets the search.
//! - [`list`]: the notes with search, sorting, "Show more", the multi-select's bar, "Undo"
//!   after a delete.
//! - [`note_meta`]: the open note's bar: notebook, tags, pin, dates.
//! - [`editor`]: the open note; [`preview`]: its Markdown; [`conflict`]: its conflict and
//!   strategy; [`history`]: its earlier versions; [`links`]: completion of `[[links]]`
//!   while typing and the notes linking to the open one.
//! - [`trash`]: deleted notes, "Restore" and "Delete forever".
//! - [`settings`]: the settings view, one tab each for the account, the sync activity and
//!   export / import.
//! - [`account`]: the account bar, the sign-in form, the offer to join notes written
//!   before any sign-in; [`account_settings`]: devices, password, account deletion.
//! - [`export`]: export and import of every note.
//! - [`share_offer`]: text shared in from other apps, saved as a note when the user says so.
//! - [`status`]: the sync status line and messages; [`activity`]: the sync activity screen
//!   and the attention line.
//! - [`keys`]: the keyboard shortcuts' listener and help overlay.
//! - [`lazy`]: the screens in wasm modules of their own, loaded on first use (the preview,
//!   the trash, a note's history and conflict, the account settings, export and import, the
//!   sync activity), and [`lazy::LazyScreen`], which loads one and retries a failed load.
//! - [`storage_notice`]: what eviction puts at risk; [`pwa_banner`]: update offer,
//!   offline-support problems, the build's `<meta>`.

pub mod account;
pub mod account_settings;
pub mod activity;
pub mod conflict;
pub mod editor;
pub mod export;
pub mod first_paint;
pub mod history;
pub mod keys;
pub mod lazy;
pub mod links;
pub mod list;
pub mod note_meta;
pub mod preview;
pub mod pwa_banner;
pub mod settings;
pub mod share_offer;
pub mod sidebar;
pub mod status;
pub mod storage_notice;
pub mod trash;
