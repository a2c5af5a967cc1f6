//! Reads and writes of the notes of the database the page shows (see
//! [`super::accounts`]): one screen of them at a time, the editor's saves, the note
//! commands, the trash, and the notebooks, tags and pins (`client::local::Notes`'s
//! organize methods). Every read first catches the search index up (see
//! [`super::search`]).

use client::local::{EditorSave, LocalNote, LocalStore, StoreError};
use sync_core::fields::Kind;
use sync_core::{NoteId, Strategy, Text};

use super::accounts::{notes, store_name};
use super::{pwa, search};
use crate::io::{NotesRead, Query, RecordsRead, Saved};

pub use super::search::{counts, list_shown, on_search_ready};

fn text(e: StoreError) -> String {
    e.to_string()
}

/// What the page shows (see [`Query`]): one page of notes by the list index (no words, no
/// filter, newest first: the store's own order, so a start does not wait for the search
/// index), or else the first page of what the query asks for in the order asked, through
/// the search index, which first catches up with what was written since it last looked;
/// the counts from counters and the index (no note read).
pub async fn read(view: &Query) -> Result<NotesRead, String> {
    let notes = notes().await?;
    let db = store_name();
    let store = notes.store();
    // Independent reads run at once (each is an IndexedDB transaction and a round
    // trip to the browser's storage): what the index must catch up with, the open
    // note, the outbox's count and, with no search, the page and the note count.
    let query = client::search::parse(&view.query);
    let searching = search::needed(&query, view.sort);
    let open_note = async {
        match &view.open {
            Some(id) => store.get(&NoteId(id.clone())).await.map(Some),
            None => Ok(None),
        }
    };
    let page = async {
        if searching {
            return Ok(None);
        }
        let (page, count) = futures::join!(notes.page(None, view.limit), notes.count());
        Ok::<_, StoreError>(Some((page?, count?)))
    };
    // The index is caught up first for a search only: the list does not wait for it.
    let index = async {
        match searching {
            true => search::ensure(&db, &notes).await,
            false => search::ensure_later(&db, &notes),
        }
    };
    let ((), open, unsynced, page) = futures::join!(index, open_note, notes.unsynced_count(), page);
    let (open, unsynced, page) = (
        open.map_err(text)?,
        unsynced.map_err(text)?,
        page.map_err(text)?,
    );
    let found = search::find(&db, &query, view.sort, view.limit);
    let (list, total) = match (&found, page) {
        (Some(f), _) => {
            let mut got = store.get_many(&f.ids).await.map_err(text)?;
            got.retain(|n| !n.deleted);
            // Gone since it was indexed (moved to an account's database): forgotten.
            let gone: Vec<NoteId> = f
                .ids
                .iter()
                .filter(|id| !got.iter().any(|n| n.id == **id))
                .cloned()
                .collect();
            search::forget(&db, &gone);
            (got, f.total - gone.len())
        }
        (None, Some(page)) => page,
        (None, None) => (Vec::new(), 0), // (not reached: no search reads a page)
    };
    Ok(NotesRead {
        notes: list,
        total,
        open: open.flatten().filter(|n| !n.deleted),
        open_id: view.open.clone(),
        unsynced,
        indexing: search::indexing(&db),
        counts: search::counts(&db),
    })
}

/// Saves the editor's text: `id` (`None` creates the note), `base` the text the editor
/// last loaded or saved, `text` what it shows. Whatever reached the store since the
/// editor last looked is merged, never overwritten (see [`client::editor::plan_save`]).
/// Durable in IndexedDB when this returns (the search index takes it in at the page's
/// next read).
/// `revive`: bring the note back with `text` if it is deleted (see
/// [`client::editor::Save::revive`]).
pub async fn save_draft(
    id: Option<String>,
    base: &Text,
    text: &Text,
    revive: bool,
) -> Result<Saved, String> {
    let _saving = pwa::SaveGuard::new(); // an update reloads only after this
    let notes = notes().await?;
    let Some(id) = id else {
        let n = notes
            .create(&text.title, &text.content)
            .await
            .map_err(self::text)?;
        return Ok(Saved::Written {
            id: n.id.0,
            stored: text.clone(),
        });
    };
    // One compare-and-swap: the plan is made on the note as it is when written, so a
    // sync landing between a read and the write can never be written over.
    let id_ = NoteId(id.clone());
    let saved = if revive {
        notes.revive_editor(&id_, base, text).await
    } else {
        notes.save_editor(&id_, base, text).await
    };
    match saved {
        Ok(EditorSave::Written(stored)) => Ok(Saved::Written { id, stored }),
        Ok(EditorSave::Conflict(stored)) => Ok(Saved::Conflict { id, stored }),
        Ok(EditorSave::Deleted) => Ok(Saved::Deleted),
        Err(e) => Err(self::text(e)),
    }
}

/// Deletes a note (a pending tombstone until synced; its text goes to the trash).
pub async fn delete(id: &str) -> Result<(), String> {
    notes()
        .await?
        .delete(&NoteId(id.into()))
        .await
        .map(drop)
        .map_err(text)
}

/// Brings a note back with this text (undo of a delete, restore of a revision, or of a
/// note deleted on another device).
pub async fn restore(id: &str, text: &Text) -> Result<(), String> {
    notes()
        .await?
        .edit(&NoteId(id.into()), &text.title, &text.content)
        .await
        .map(drop)
        .map_err(self::text)
}

/// Resolves the note's conflict with this version.
pub async fn resolve(id: &str, text: &Text, deleted: bool) -> Result<(), String> {
    notes()
        .await?
        .resolve(&NoteId(id.into()), &text.title, &text.content, deleted)
        .await
        .map(drop)
        .map_err(self::text)
}

/// Sets the note's conflict strategy.
pub async fn set_strategy(id: &str, strategy: Strategy) -> Result<(), String> {
    notes()
        .await?
        .set_strategy(&NoteId(id.into()), strategy)
        .await
        .map(drop)
        .map_err(text)
}

/// The trash (deleted notes whose text is kept), newest delete first, by a trash period
/// of `days`; expired entries' text is dropped first.
pub async fn trash(days: u32) -> Result<Vec<LocalNote>, String> {
    let notes = notes().await?;
    let now = client::platform::now_ms();
    notes.expire_trash(now, days).await.map_err(text)?;
    notes.trash(now, days).await.map_err(text)
}

/// "Restore" in the trash: the note is back, as an edit that syncs like any other (the
/// search index takes it in at its next read, by the store's change sequence).
pub async fn restore_from_trash(id: &str) -> Result<(), String> {
    notes()
        .await?
        .restore(&NoteId(id.into()))
        .await
        .map(drop)
        .map_err(text)
}

/// "Delete forever": the text is dropped here at once and a purge is sent.
pub async fn delete_forever(id: &str) -> Result<(), String> {
    notes()
        .await?
        .delete_forever(&NoteId(id.into()))
        .await
        .map(drop)
        .map_err(text)
}

/// Stores of at most this many notes are read whole for their notebooks and tags while the
/// search index is not built yet (a larger one waits for the index, which knows them).
const RECORDS_BY_SCAN: usize = 5_000;

/// The notebooks and tags (made when the page starts, when another tab or a sync changed
/// the store, and when the search index becomes ready; not at each keystroke): their ids
/// from the search index, then the records read by id, so it costs a few reads whatever
/// the number of notes. Before the index is built, a small store is read whole; a large
/// one gives none yet (the page reads again when the index is ready).
pub async fn records() -> Result<RecordsRead, String> {
    let notes = notes().await?;
    let db = store_name();
    // A built index first takes in what was written since it last looked (a notebook
    // just made): one read of the changes.
    if search::record_ids(&db).is_some() {
        search::ensure(&db, &notes).await;
    }
    let (notebooks, tags) = match search::record_ids(&db) {
        Some((notebooks, tags)) => {
            let (notebooks, tags) = futures::join!(
                notes.store().get_many(&notebooks),
                notes.store().get_many(&tags)
            );
            (
                live_records(notebooks.map_err(text)?, Kind::Notebook),
                live_records(tags.map_err(text)?, Kind::Tag),
            )
        }
        None if notes.count().await.map_err(text)? <= RECORDS_BY_SCAN => {
            let (notebooks, tags) =
                futures::join!(notes.records(Kind::Notebook), notes.records(Kind::Tag));
            (notebooks.map_err(text)?, tags.map_err(text)?)
        }
        None => (Vec::new(), Vec::new()),
    };
    Ok(RecordsRead { notebooks, tags })
}

/// The live records of `kind` among `got`, by name (as `Notes::records` gives them).
fn live_records(mut got: Vec<LocalNote>, kind: Kind) -> Vec<LocalNote> {
    got.retain(|n| !n.deleted && n.kind() == kind);
    got.sort_by(|a, b| a.title.cmp(&b.title).then_with(|| a.id.cmp(&b.id)));
    got
}

/// Creates a notebook inside `parent` (`None`: at the top level); gives its id.
pub async fn create_notebook(name: &str, parent: Option<&str>) -> Result<String, String> {
    let parent = parent.map(|p| NoteId(p.into()));
    notes()
        .await?
        .create_notebook(name, parent.as_ref())
        .await
        .map(|n| n.id.0)
        .map_err(text)
}

/// Creates a tag; gives its id.
pub async fn create_tag(name: &str) -> Result<String, String> {
    notes()
        .await?
        .create_tag(name)
        .await
        .map(|n| n.id.0)
        .map_err(text)
}

/// Renames a notebook or a tag (one edit of its record, however many notes use it).
pub async fn rename(id: &str, name: &str) -> Result<(), String> {
    notes()
        .await?
        .rename(&NoteId(id.into()), name)
        .await
        .map(drop)
        .map_err(text)
}

/// Moves notebook `id` into `parent` (`None`: to the top level); not into itself.
pub async fn move_notebook(id: &str, parent: Option<&str>) -> Result<(), String> {
    let parent = parent.map(|p| NoteId(p.into()));
    notes()
        .await?
        .move_notebook(&NoteId(id.into()), parent.as_ref())
        .await
        .map(drop)
        .map_err(text)
}

/// Moves the notes `ids` into notebook `notebook` (`None`: out of every notebook).
pub async fn set_notebook(ids: &[String], notebook: Option<&str>) -> Result<(), String> {
    let notes = notes().await?;
    let nb = notebook.map(|n| NoteId(n.into()));
    for id in ids {
        notes
            .set_notebook(&NoteId(id.clone()), nb.as_ref())
            .await
            .map_err(text)?;
    }
    Ok(())
}

/// Tags the notes `ids` with tag `tag`.
pub async fn add_tag(ids: &[String], tag: &str) -> Result<(), String> {
    let notes = notes().await?;
    let tag = NoteId(tag.into());
    for id in ids {
        notes
            .add_tag(&NoteId(id.clone()), &tag)
            .await
            .map_err(text)?;
    }
    Ok(())
}

/// Removes tag `tag` from note `id`.
pub async fn remove_tag(id: &str, tag: &str) -> Result<(), String> {
    notes()
        .await?
        .remove_tag(&NoteId(id.into()), &NoteId(tag.into()))
        .await
        .map(drop)
        .map_err(text)
}

/// Pins (or unpins) the notes `ids`.
pub async fn set_pinned(ids: &[String], pinned: bool) -> Result<(), String> {
    let notes = notes().await?;
    for id in ids {
        notes
            .set_pinned(&NoteId(id.clone()), pinned)
            .await
            .map_err(text)?;
    }
    Ok(())
}
