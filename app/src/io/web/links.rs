//! What links between notes need from the local store (see [`client::links`]): the notes
//! a note's links point at, the notes to offer while a link is typed, and the notes that
//! link to a note (its backlinks). All of them ask the search index for candidates and
//! read only those, so each costs a bounded number of reads whatever the number of notes.

use std::rc::Rc;

use client::links::{Target, links_to, same_title};
use client::local::{LocalNote, LocalStore};
use sync_core::NoteId;

use super::accounts::{PageNotes, notes, store_name};
use super::search;
use crate::io::LinkedNote;

/// Most notes a suggestion or a backlinks search reads as candidates.
const CANDIDATES: usize = 200;
/// Most notes a title link reads as candidates (notes with the title's words in their
/// title come first in the search's order).
const TITLE_CANDIDATES: usize = 20;
/// Most distinct links of one note the preview looks up, and of them titles. Beyond them,
/// a link shows as its text, not followed (a note with thousands of links costs the
/// preview a bounded number of reads).
pub const MAX_RESOLVED: usize = 500;
pub const MAX_RESOLVED_TITLES: usize = 50;

fn linked(n: &LocalNote) -> LinkedNote {
    LinkedNote {
        id: n.id.0.clone(),
        title: n.title.clone(),
    }
}

fn shown(n: &LocalNote) -> bool {
    !n.deleted && n.is_note()
}

/// The notes and their search index, caught up with what was written since it last
/// looked (one read of the changes; once per lookup, however many searches follow).
async fn caught_up() -> Option<Rc<PageNotes>> {
    let notes = notes().await.ok()?;
    search::ensure(&store_name(), &notes).await;
    Some(notes)
}

/// The live notes the search index finds for `query` (at most `limit`), read.
async fn candidates(notes: &PageNotes, query: &str, limit: usize) -> Vec<LocalNote> {
    let db = store_name();
    // Words only: a title with a colon is no filter here.
    let words = client::search::Query {
        text: query.to_owned(),
        filters: Vec::new(),
    };
    let Some(found) = search::find(&db, &words, client::search::Sort::Modified, limit) else {
        return Vec::new();
    };
    let mut got = notes.store().get_many(&found.ids).await.unwrap_or_default();
    got.retain(shown);
    got
}

/// The note each target points at (`None`: no such note here), for the first
/// [`MAX_RESOLVED`] distinct targets (of them [`MAX_RESOLVED_TITLES`] titles; the others
/// are left out: not looked up). An id link follows its id; a title link the note of that
/// title (the newest, when several have it), or else, for an exported file's name
/// (`groceries-ID`), the note of the id at its end.
pub async fn resolve(targets: Vec<Target>) -> Vec<(Target, Option<LinkedNote>)> {
    let mut seen = std::collections::HashSet::new();
    let mut titles = 0;
    let targets: Vec<Target> = targets
        .into_iter()
        .filter(|t| seen.insert(t.clone()))
        .filter(|t| match t {
            Target::Id(_) => true,
            Target::Title(_) => {
                titles += 1;
                titles <= MAX_RESOLVED_TITLES
            }
        })
        .take(MAX_RESOLVED)
        .collect();
    let Some(notes) = caught_up().await else {
        return targets.into_iter().map(|t| (t, None)).collect();
    };
    let ids: Vec<NoteId> = targets
        .iter()
        .filter_map(|t| match t {
            Target::Id(id) => Some(id.clone()),
            Target::Title(_) => t.id_suffix(),
        })
        .collect();
    let mut by_id = notes.store().get_many(&ids).await.unwrap_or_default();
    by_id.retain(shown);
    let mut out = Vec::with_capacity(targets.len());
    for t in targets {
        let found = match &t {
            Target::Id(id) => by_id.iter().find(|n| n.id == *id).map(linked),
            Target::Title(title) => candidates(&notes, title, TITLE_CANDIDATES)
                .await
                .iter()
                .filter(|n| same_title(&n.title, title))
                .max_by_key(|n| n.hlc.clone())
                .map(linked)
                .or_else(|| {
                    let id = t.id_suffix()?;
                    by_id.iter().find(|n| n.id == id).map(linked)
                }),
        };
        out.push((t, found));
    }
    out
}

/// Notes to offer for a link being typed: titles with `query`'s words first (the search's
/// order), or the latest notes while nothing is typed; never note `except` (the one being
/// edited).
pub async fn suggest(query: &str, except: Option<String>, limit: usize) -> Vec<LinkedNote> {
    let Some(notes) = caught_up().await else {
        return Vec::new();
    };
    let got = if client::search::words(query).next().is_some() {
        candidates(&notes, query, CANDIDATES).await
    } else {
        notes.page(None, limit + 1).await.unwrap_or_default()
    };
    got.iter()
        .filter(|n| shown(n) && Some(&n.id.0) != except.as_ref())
        .take(limit)
        .map(linked)
        .collect()
}

/// The notes that link to note `id` (by id, or by its title), newest first, at most
/// `limit`.
pub async fn backlinks(id: &str, limit: usize) -> Vec<LinkedNote> {
    let Some(notes) = caught_up().await else {
        return Vec::new();
    };
    let id = NoteId(id.to_owned());
    let Ok(Some(note)) = notes.store().get(&id).await else {
        return Vec::new();
    };
    // The id's pieces are words of the bodies that link by id; the title's words of
    // those that link by title.
    let mut got = candidates(&notes, &id.0, CANDIDATES).await;
    if client::search::words(&note.title).next().is_some() {
        for n in candidates(&notes, &note.title, CANDIDATES).await {
            if !got.iter().any(|g| g.id == n.id) {
                got.push(n);
            }
        }
    }
    got.retain(|n| n.id != id && links_to(&n.content, &id, &note.title));
    got.sort_by(|a, b| b.hlc.cmp(&a.hlc));
    got.truncate(limit);
    got.iter().map(linked).collect()
}

/// Note `id`'s text, to open it from a link (`None`: not here, or deleted).
pub async fn open(id: &str) -> Option<sync_core::Text> {
    let notes = notes().await.ok()?;
    let n = notes.store().get(&NoteId(id.to_owned())).await.ok()??;
    let shown = shown(&n);
    shown.then_some(sync_core::Text {
        title: n.title,
        content: n.content,
    })
}
