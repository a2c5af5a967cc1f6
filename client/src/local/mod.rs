//! The device's copy of the notes, and the rules that keep it honest.
//!
//! Every edit is written to the local store first, marked pending, and only later pushed.
//! A pending edit is never overwritten by a pulled change; it stays until the server has
//! answered for that exact change.
//!
//! ## Layout (each module's items are re-exported here)
//! - `note`: the note as a device keeps it ([`LocalNote`], [`SyncState`], [`NoteStatus`]).
//! - `store`: the [`LocalStore`] trait every backend implements, and [`StoreError`].
//! - `migrations`: the stored records' [`DATA_VERSION`] and [`migrate_note`].
//! - `meta`: the store's metadata keys (node id, cursor, clock offset).
//! - `accounts`: this browser's account records in the meta, typed ([`AccountRecords`]).
//! - `reconcile`: the pure rules folding a sync response into the notes ([`reconcile()`]).
//! - `notes`: the edits a user makes ([`Notes`]); `trash`: deleting, restoring, deleting
//!   forever and expiring ([`Notes::trash`]).
//! - `organize`: tags, notebooks and pinning, and the notebook and tag records
//!   ([`Notes::add_tag`], [`Notes::set_notebook`], [`Notes::create_notebook`], ...).
//! - `stamp`: stamping edits from the device clock, and again after a `clock_ahead`
//!   ([`restamp_refused`]).

mod accounts;
mod meta;
mod migrations;
mod note;
mod notes;
mod organize;
mod reconcile;
mod stamp;
mod store;
mod trash;

pub use accounts::{
    AccountRecord, AccountRecords, META_ACCOUNT, META_SEEN, META_SIGNED_OUT, META_TRASH_DAYS,
    Records,
};
pub use meta::{
    META_CLOCK_OFFSET, META_CURSOR, META_NODE_ID, clock_offset, forget_cursor, set_clock_offset,
};
pub use migrations::{DATA_VERSION, META_DATA_VERSION, migrate_note};
pub use note::{LocalNote, NoteStatus, StoredSyncState, SyncState, Trashed};
pub use notes::{EditorSave, Notes};
pub use reconcile::{affected_ids, reconcile};
pub use stamp::{refused_for_clock, restamp_refused};
pub use store::{LocalStore, StoreError};
pub use trash::{TRASH_DAYS, TRASH_MS, trash_ms};

#[cfg(test)]
mod tests;
