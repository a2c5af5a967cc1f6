//! The search index as it was before the compact one (`super::SearchIndex`): every word a
//! `Box<str>` key of a sorted map, every posting a `u32` (slot number and a title bit),
//! every note id held twice. Kept as the reference model the compact index is tested
//! against (same results, same order), and as the baseline of `client/benches/search.rs`,
//! which includes this file. One change from the original: ties of (title, stamp) are
//! broken by slot, newest first, where the original left them to an unstable sort, so the
//! two can be compared result by result.

use std::collections::{BTreeMap, HashMap};

use super::{Found, Hlc, LocalNote, NoteId, words};

const TITLE: u32 = 1 << 31;
const SLOT: u32 = !TITLE;

struct Slot {
    id: NoteId,
    /// The note's stamp (newest first), `None` once retired.
    order: Option<(u64, u32)>,
}

/// The search index of one store's notes, as it was.
#[derive(Default)]
pub struct ReferenceIndex {
    slots: Vec<Slot>,
    live: HashMap<NoteId, u32>,
    words: BTreeMap<Box<str>, Vec<u32>>,
    retired: usize,
}

impl ReferenceIndex {
    /// How many live notes are indexed.
    pub fn len(&self) -> usize {
        self.live.len()
    }

    /// Indexes the note as it is now (a deleted note, or a notebook or tag record, leaves
    /// the index: search finds notes).
    pub fn upsert(&mut self, note: &LocalNote) {
        self.remove(&note.id);
        if note.deleted || !note.is_note() {
            return;
        }
        let slot = u32::try_from(self.slots.len()).expect("fewer than 2^31 note versions");
        assert!(slot & TITLE == 0, "fewer than 2^31 note versions");
        self.slots.push(Slot {
            id: note.id.clone(),
            order: Some(order(&note.hlc)),
        });
        self.live.insert(note.id.clone(), slot);
        let mut mine: HashMap<String, bool> = HashMap::new();
        for w in words(&note.title) {
            mine.insert(w, true);
        }
        for w in words(&note.content) {
            mine.entry(w).or_insert(false);
        }
        for (w, in_title) in mine {
            let entry = slot | if in_title { TITLE } else { 0 };
            match self.words.get_mut(w.as_str()) {
                Some(list) => list.push(entry),
                None => {
                    self.words.insert(w.into_boxed_str(), vec![entry]);
                }
            }
        }
    }

    /// Removes a note from the index.
    pub fn remove(&mut self, id: &NoteId) {
        if let Some(old) = self.live.remove(id) {
            self.slots[old as usize].order = None;
            self.retired += 1;
            if self.retired > 10_000 && self.retired > self.live.len() {
                self.compact();
            }
        }
    }

    /// Drops the entries of retired slots.
    fn compact(&mut self) {
        let slots = &self.slots;
        self.words.retain(|_, list| {
            list.retain(|e| slots[(e & SLOT) as usize].order.is_some());
            !list.is_empty()
        });
        self.retired = 0;
    }

    /// The notes matching `query`, best first, at most `limit` of them; `None` when the
    /// query has no word.
    pub fn search(&self, query: &str, limit: usize) -> Option<Found> {
        let terms: Vec<String> = words(query).collect();
        if terms.is_empty() {
            return None;
        }
        let n = self.slots.len();
        let mut hits = vec![0u8; n];
        let mut in_title = vec![0u8; n];
        let mut last = vec![0u8; n];
        let mut last_title = vec![0u8; n];
        let mut found: Vec<u32> = Vec::new();
        let all = u8::try_from(terms.len().min(250)).unwrap_or(250);
        for (t, term) in terms.iter().take(all as usize).enumerate() {
            let mark = t as u8 + 1;
            for (_, list) in self
                .words
                .range::<str, _>((
                    std::ops::Bound::Included(term.as_str()),
                    std::ops::Bound::Unbounded,
                ))
                .take_while(|(w, _)| w.starts_with(term.as_str()))
            {
                for &e in list {
                    let s = (e & SLOT) as usize;
                    let counted = last[s] == mark;
                    if !counted && (hits[s] != t as u8 || self.slots[s].order.is_none()) {
                        continue; // missed an earlier term, or retired
                    }
                    if !counted {
                        last[s] = mark;
                        hits[s] += 1;
                        if hits[s] == all {
                            found.push(s as u32);
                        }
                    }
                    if e & TITLE != 0 && last_title[s] != mark {
                        last_title[s] = mark;
                        in_title[s] += 1;
                    }
                }
            }
        }
        let key = |s: &u32| {
            (
                in_title[*s as usize] == all,
                self.slots[*s as usize].order,
                *s,
            )
        };
        let total = found.len();
        let limit = limit.min(total);
        if limit > 0 && limit < total {
            found.select_nth_unstable_by(limit - 1, |a, b| key(b).cmp(&key(a)));
            found.truncate(limit);
        }
        found.sort_unstable_by_key(|s| std::cmp::Reverse(key(s)));
        found.truncate(limit);
        Some(Found {
            total,
            ids: found
                .into_iter()
                .map(|s| self.slots[s as usize].id.clone())
                .collect(),
        })
    }
}

fn order(h: &Hlc) -> (u64, u32) {
    (h.wall_ms, h.counter)
}
