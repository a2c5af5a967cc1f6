//! The open editor against the local store: what to show when the note changes underneath
//! it, and what to write when it saves. Pure (no DOM, no store), so every case is tested
//! here; the app only carries the results to the screen and the store.
//!
//! The editor remembers its **base**: the text it last loaded from the store or saved to
//! it. When the store's text differs from the base, the note changed underneath (a pull, a
//! merged or superseded answer, another tab, a resolution, a restore). If the user typed
//! nothing since, the editor simply shows the new text. If they did, their unsaved text is
//! merged three ways into the new text with the server's own merge
//! ([`sync_core::text::merge3`]: base = the editor's base, ours = the editor's text,
//! theirs = the stored text); only a true overlap is a conflict, and then both versions are
//! kept for the user. The caret is carried through the change, so typing goes on where it
//! was.
//!
//! [`model`] is the editor itself as one state machine built on these: every event that
//! reaches the open editor and what the app does about it.
//!
//! Layout: [`fold`] (showing a change underneath, planning a save, carets), then [`model`],
//! built on it; this file only names them.

pub mod fold;
pub mod model;

pub use fold::{
    Caret, Field, Fold, SavePlan, Stored, byte_to_utf16, fold, map_position, plan_save,
    utf16_to_byte,
};
pub use model::{EditorModel, Effect, Event, Save, SaveLabel, SaveResult, Target};
