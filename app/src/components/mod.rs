//! # components: what the page shows, one file per screen or part
//!
//! The top layer under the `App`: components read the [`crate::model`] state (provided
//! as context) and call its actions, and reach [`crate::io`] for what only they need (a
//! read shown as a Leptos `LocalResource`, a download, the focus). A component may place another
//! (the editor places the preview, the conflict and the history); nothing below imports
//! them.
//!
//! - [`list`]: the notes with search, "Show more", "Undo" after a delete.
//! - [`editor`]: the open note; [`preview`]: its Markdown; [`conflict`]: its conflict and
//!   strategy; [`history`]: its earlier versions; [`links`]: completion of `[[links]]`
//!   while typing and the notes linking to the open one.
//! - [`trash`]: deleted notes, "Restore" and "Delete forever".
//! - [`account`]: the account bar, the sign-in form, the offer to join notes written
//!   before any sign-in; [`account_settings`]: devices, password, account deletion.
//! - [`export`]: export and import of every note.
//! - [`share_offer`]: text shared in from other apps, saved as a note when the user says so.
//! - [`status`]: the sync status line and messages; [`activity`]: the sync activity panel
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
pub mod history;
pub mod keys;
pub mod lazy;
pub mod links;
pub mod list;
pub mod preview;
pub mod pwa_banner;
pub mod share_offer;
pub mod status;
pub mod storage_notice;
pub mod trash;
