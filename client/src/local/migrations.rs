//! The shape of stored records over time: [`DATA_VERSION`] and the step from each older one.

use sync_core::Text;

use super::LocalNote;

/// The version of the shape of stored records. Each bump comes with a step in
/// [`migrate_note`], which every backend runs over its old records when it opens.
pub const DATA_VERSION: u32 = 5;
/// The meta key of the data version the store's records have.
pub const META_DATA_VERSION: &str = "data_version";

/// Upgrades one stored [`LocalNote`] from data version `from` to [`DATA_VERSION`]. Stores
/// without a recorded version are at version 1. Every older record still reads as a
/// `LocalNote` (fields added since have serde defaults); a future change of shape that
/// does not would read such records through a type of their own.
///
/// - 1 → 2: conflict support. New fields (`base`, `strategy`, `conflict`, ...) get their
///   defaults, and a note that is synced gets `base`, the text of its server version (its
///   own text), so that its next edit can be merged three ways.
/// - 2 → 3: indexes for a device with many notes. The note itself is unchanged; the
///   IndexedDB backend writes every record again so that it carries `order` (the stamp of a
///   live note, indexed for the list's pages) and adds the `pending` (outbox) and `order`
///   indexes (see `crate::idb`).
/// - 3 → 4: the change sequence and the live count. The note itself is unchanged; the
///   IndexedDB backend adds the `seq` index and the `search` object store, and counts the
///   live notes once into its `note_stats` record (kept up to date by every write since;
///   see `crate::idb`). Records written before carry no sequence number: whoever catches
///   up by sequence reads them once in full first.
/// - 4 → 5: the trash index. The note itself is unchanged; the IndexedDB backend adds the
///   `trashed` index (the delete's time on the records of deleted notes whose text the
///   device keeps) and writes those records again so that they carry it, so the trash view
///   reads the trash, not the notebook.
///
/// Fields (tags, notebook, pinned, kind; `LocalNote::fields`, `field_edits` and
/// `edit_clocks`) needed no new version: a record written before them reads with none
/// (serde defaults), a note with none is written exactly as before, and every record
/// written before them is a note, so the `order` index (notes only: notebook and tag records carry no `order` and
/// are not counted live, see `crate::idb`) is right for them as it is.
pub fn migrate_note(from: u32, note: &mut LocalNote) {
    if from < 2 && note.pending.is_none() && note.base_version.is_some() && note.base.is_none() {
        note.base = Some(Text {
            title: note.title.clone(),
            content: note.content.clone(),
        });
    }
}
