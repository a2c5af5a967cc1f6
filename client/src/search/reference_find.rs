//! The search box's filters, sorts and counts as the plainest code over the notes
//! themselves (every live note and record kept whole, every query a pass over all of
//! them): the reference model `SearchIndex::find` and `SearchIndex::counts` are tested
//! against (`search::model`). Words are matched by [`ReferenceIndex`].

use std::collections::HashMap;

use sync_core::fields::Kind;

use super::facets::{MAX_CHAIN, created_s, title_key};
use super::query::{Filter, Query, Sort, fold};
use super::reference::ReferenceIndex;
use super::{Counts, Found, LocalNote, NoteId};

#[derive(Default)]
pub struct ReferenceFind {
    words: ReferenceIndex,
    /// Live notes, with the number of their last upsert (the index's slot order).
    notes: HashMap<NoteId, (u64, LocalNote)>,
    /// Live notebook and tag records.
    records: HashMap<NoteId, LocalNote>,
    upserts: u64,
}

impl ReferenceFind {
    pub fn upsert(&mut self, n: &LocalNote) {
        self.remove(&n.id);
        self.words.upsert(n);
        if n.deleted {
            return;
        }
        if n.is_note() {
            self.upserts += 1;
            self.notes.insert(n.id.clone(), (self.upserts, n.clone()));
        } else {
            self.records.insert(n.id.clone(), n.clone());
        }
    }

    pub fn remove(&mut self, id: &NoteId) {
        self.words.remove(id);
        self.notes.remove(id);
        self.records.remove(id);
    }

    fn notebook(&self, id: &NoteId) -> Option<&LocalNote> {
        self.records.get(id).filter(|r| r.kind() == Kind::Notebook)
    }

    /// The notebooks from `id` up: stopping at the top, at a parent that is no live
    /// notebook, before a notebook met again or at [`MAX_CHAIN`]; a notebook on a cycle
    /// is at the top.
    fn chain(&self, id: &NoteId) -> Vec<NoteId> {
        let mut out = vec![id.clone()];
        loop {
            let up = self
                .notebook(out.last().unwrap())
                .and_then(LocalNote::notebook_id)
                .filter(|p| self.notebook(p).is_some());
            match up {
                None => return out,
                Some(p) if p == *id => return vec![id.clone()],
                Some(p) if out.contains(&p) || out.len() == MAX_CHAIN => return out,
                Some(p) => out.push(p),
            }
        }
    }

    fn accepts(&self, f: &Filter, n: &LocalNote) -> bool {
        match f {
            Filter::Pinned => n.pinned(),
            Filter::Tag(name) => n.tag_ids().iter().any(|t| {
                self.records
                    .get(&NoteId(t.clone()))
                    .is_some_and(|r| r.kind() == Kind::Tag && fold(&r.title) == fold(name))
            }),
            Filter::Notebook(path) => {
                let Some(nb) = n.notebook_id().filter(|nb| self.notebook(nb).is_some()) else {
                    return false;
                };
                self.chain(&nb).iter().any(|c| {
                    let mut names: Vec<String> = self
                        .chain(c)
                        .iter()
                        .map(|x| fold(&self.records[x].title))
                        .collect();
                    names.reverse();
                    let want: Vec<String> = path.iter().map(|p| fold(p)).collect();
                    names.ends_with(&want)
                })
            }
        }
    }

    pub fn find(&self, q: &Query, sort: Sort, limit: usize) -> Found {
        let stamp = |n: &(u64, LocalNote)| (n.1.hlc.wall_ms, n.1.hlc.counter, n.0);
        let mut found: Vec<&(u64, LocalNote)> = match self.words.search(&q.text, usize::MAX) {
            // Best first already, ties by the last upsert.
            Some(f) => f.ids.iter().map(|id| &self.notes[id]).collect(),
            None => {
                let mut all: Vec<_> = self.notes.values().collect();
                all.sort_by_key(|n| std::cmp::Reverse(stamp(n)));
                all
            }
        };
        found.retain(|n| q.filters.iter().all(|f| self.accepts(f, &n.1)));
        match sort {
            Sort::Modified => {}
            Sort::Created => found.sort_by_key(|n| {
                // (In seconds: the same second is ordered by the stamp.)
                let ms = n.1.created_ms().unwrap_or(n.1.hlc.wall_ms);
                std::cmp::Reverse((created_s(ms), stamp(n)))
            }),
            Sort::Title => found.sort_by(|a, b| {
                let (ta, tb) = (title_key(&a.1.title), title_key(&b.1.title));
                (ta.is_empty(), ta)
                    .cmp(&(tb.is_empty(), tb))
                    .then_with(|| stamp(b).cmp(&stamp(a)))
            }),
        }
        Found {
            total: found.len(),
            ids: found.iter().take(limit).map(|n| n.1.id.clone()).collect(),
        }
    }

    pub fn counts(&self) -> Counts {
        let mut c = Counts {
            all: self.notes.len(),
            ..Counts::default()
        };
        for (_, n) in self.notes.values() {
            c.pinned += usize::from(n.pinned());
            if let Some(nb) = n.notebook_id() {
                *c.notebooks.entry(nb.0).or_default() += 1;
            }
            for t in n.tag_ids() {
                *c.tags.entry(t).or_default() += 1;
            }
        }
        c
    }
}
