//! Search over the notes' titles and bodies: an inverted index in memory, kept up to date
//! note by note.
//!
//! Words are the runs of alphanumeric characters, lowercased (as [`sync_core::text::tokens`]
//! cuts text). Each indexed note version is a *slot*; the index maps every word to the slots
//! whose text has it (a bit says "in the title"), in a sorted map, so a word prefix is a
//! range of it. A query matches the notes that have, for each of its words, a word starting
//! with it (so `gro` finds "groceries"; `gro lis` finds "grocery list"). Results come in
//! this order: notes whose title matches every query word first, then newest first.
//!
//! A change of a note ([`SearchIndex::upsert`]) retires its old slot and indexes the new text
//! in a new one, in time proportional to the note's length; retired slots are skipped by
//! queries and their entries dropped when they outnumber the live ones. Nothing is read from
//! storage here: the app feeds it (all notes once, in chunks, then what changed).
//!
//! The index is saved as bytes ([`SearchIndex::encode`], [`SearchIndex::decode`]) with the
//! store's change sequence number it is up to date with, so a start loads it and catches
//! up with the notes written since (see [`crate::local::LocalStore::changed_since`])
//! instead of decoding every note again. The format is private to this module: a version
//! tag first, and bytes of another version (or damaged ones) decode as `None`, which means
//! "build it again from the notes".

use std::collections::{BTreeMap, HashMap};

use sync_core::{Hlc, NoteId};

use crate::local::LocalNote;

/// Longest word indexed, in characters (longer ones are indexed by this prefix).
pub const MAX_WORD_CHARS: usize = 32;

const TITLE: u32 = 1 << 31;
const SLOT: u32 = !TITLE;

struct Slot {
    id: NoteId,
    /// The note's stamp (newest first), `None` once retired.
    order: Option<(u64, u32)>,
}

/// The search index of one store's notes.
#[derive(Default)]
pub struct SearchIndex {
    slots: Vec<Slot>,
    live: HashMap<NoteId, u32>,
    words: BTreeMap<Box<str>, Vec<u32>>,
    retired: usize,
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex").finish_non_exhaustive()
    }
}

/// What a query found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Found {
    /// How many notes match.
    pub total: usize,
    /// The first of them, best first (at most the limit asked for).
    pub ids: Vec<NoteId>,
}

/// The words of `text`, lowercased, each at most [`MAX_WORD_CHARS`] characters.
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            w.chars()
                .flat_map(char::to_lowercase)
                .take(MAX_WORD_CHARS)
                .collect()
        })
}

impl SearchIndex {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many live notes are indexed.
    pub fn len(&self) -> usize {
        self.live.len()
    }

    /// True when no note is indexed.
    pub fn is_empty(&self) -> bool {
        self.live.is_empty()
    }

    /// True when the note is indexed (live).
    pub fn contains(&self, id: &NoteId) -> bool {
        self.live.contains_key(id)
    }

    /// Indexes the note as it is now (a deleted note leaves the index).
    pub fn upsert(&mut self, note: &LocalNote) {
        self.remove(&note.id);
        if note.deleted {
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

    /// The notes matching `query` (see the module's doc), best first, at most `limit` of
    /// them; `None` when the query has no word.
    pub fn search(&self, query: &str, limit: usize) -> Option<Found> {
        let terms: Vec<String> = words(query).collect();
        if terms.is_empty() {
            return None;
        }
        let n = self.slots.len();
        // Per slot: how many terms matched, and how many in the title; `last` is the last
        // term that counted it (a slot may match a prefix through several words).
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
                    // A title word may come after a body word with the same prefix.
                    if e & TITLE != 0 && last_title[s] != mark {
                        last_title[s] = mark;
                        in_title[s] += 1;
                    }
                }
            }
        }
        let key = |s: &u32| {
            let s = *s as usize;
            (in_title[s] == all, self.slots[s].order)
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

/// The tag of the saved format; another tag is another format.
const FORMAT: &[u8; 8] = b"tern-si1";

impl SearchIndex {
    /// The index as bytes, with `seq` (the change sequence number it is up to date with).
    /// Retired slots are left out.
    pub fn encode(&self, seq: u64) -> Vec<u8> {
        let mut out = Vec::with_capacity(16 + self.live.len() * 48);
        out.extend_from_slice(FORMAT);
        out.extend_from_slice(&seq.to_le_bytes());
        // Old slot number -> new one (`u32::MAX`: retired).
        let mut renumber = vec![u32::MAX; self.slots.len()];
        let live: Vec<(usize, &Slot, (u64, u32))> = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| Some((i, s, s.order?)))
            .collect();
        put_u32(&mut out, live.len());
        for (new, (old, slot, (wall, counter))) in live.iter().enumerate() {
            renumber[*old] = new as u32;
            out.extend_from_slice(&wall.to_le_bytes());
            out.extend_from_slice(&counter.to_le_bytes());
            put_bytes(&mut out, slot.id.as_str().as_bytes());
        }
        let count_at = out.len();
        put_u32(&mut out, 0);
        let mut words = 0;
        for (word, list) in &self.words {
            // Written in place (no list per word): the count is filled in after.
            let start = out.len();
            put_bytes(&mut out, word.as_bytes());
            let at = out.len();
            put_u32(&mut out, 0);
            let mut kept = 0u32;
            for e in list {
                let new = renumber[(e & SLOT) as usize];
                if new != u32::MAX {
                    out.extend_from_slice(&(new | (e & TITLE)).to_le_bytes());
                    kept += 1;
                }
            }
            if kept == 0 {
                out.truncate(start);
                continue;
            }
            out[at..at + 4].copy_from_slice(&kept.to_le_bytes());
            words += 1;
        }
        out[count_at..count_at + 4].copy_from_slice(&(words as u32).to_le_bytes());
        out
    }

    /// An index saved by [`SearchIndex::encode`], and its change sequence number; `None` if
    /// the bytes are of another format or damaged.
    pub fn decode(bytes: &[u8]) -> Option<(Self, u64)> {
        let mut r = Reader(bytes);
        if r.take(FORMAT.len())? != FORMAT {
            return None;
        }
        let seq = r.u64()?;
        let n = r.u32()? as usize;
        let mut ix = Self::new();
        ix.slots.reserve(n.min(bytes.len()));
        for i in 0..n {
            let order = (r.u64()?, r.u32()?);
            let len = r.u32()? as usize;
            let id = NoteId(std::str::from_utf8(r.take(len)?).ok()?.to_owned());
            ix.live.insert(id.clone(), i as u32);
            ix.slots.push(Slot {
                id,
                order: Some(order),
            });
        }
        for _ in 0..r.u32()? {
            let len = r.u32()? as usize;
            let word = std::str::from_utf8(r.take(len)?).ok()?;
            let entries = r.u32()? as usize;
            let raw = r.take(entries.checked_mul(4)?)?;
            let list: Vec<u32> = raw
                .chunks_exact(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            if list.iter().any(|e| (e & SLOT) as usize >= n) {
                return None;
            }
            ix.words.insert(word.into(), list);
        }
        (r.0.is_empty() && ix.live.len() == n).then_some((ix, seq))
    }
}

fn put_u32(out: &mut Vec<u8>, n: usize) {
    out.extend_from_slice(&u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes());
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_u32(out, b.len());
    out.extend_from_slice(b);
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
}

fn order(h: &Hlc) -> (u64, u32) {
    (h.wall_ms, h.counter)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::local::SyncState;

    fn note(id: &str, title: &str, content: &str, at: u64) -> LocalNote {
        LocalNote {
            id: id.into(),
            title: title.into(),
            content: content.into(),
            deleted: false,
            hlc: Hlc {
                wall_ms: at,
                counter: 0,
                node: "d".into(),
            },
            base_version: None,
            pending: None,
            sync: SyncState::Synced,
            base: None,
            strategy: Default::default(),
            strategy_changed: false,
            conflict: None,
            resolving: false,
            local_conflict: false,
            purge: false,
            trash: None,
        }
    }

    fn ids(f: Option<Found>) -> Vec<String> {
        f.unwrap().ids.into_iter().map(|i| i.0).collect()
    }

    #[test]
    fn word_prefixes_match_title_first_then_newest() {
        let mut ix = SearchIndex::new();
        ix.upsert(&note("a", "Shopping", "buy groceries today", 1));
        ix.upsert(&note("b", "Groceries", "milk, eggs", 2));
        ix.upsert(&note("c", "Work", "Meeting about the GROCERY app", 3));
        ix.upsert(&note("d", "Gro", "", 4));
        ix.upsert(&note("e", "Other", "aggro", 5)); // not a word prefix
        assert_eq!(ids(ix.search("gro", 10)), ["d", "b", "c", "a"]);
        assert_eq!(ids(ix.search("groceries", 10)), ["b", "a"]);
        assert_eq!(ids(ix.search("  Groc  ", 10)), ["b", "c", "a"]);
        assert_eq!(ix.search("groc", 1).unwrap().total, 3);
        assert_eq!(ids(ix.search("groc", 1)), ["b"]);
        assert_eq!(ix.search("", 10), None);
        assert_eq!(ix.search(" ,. ", 10), None);
        assert_eq!(ids(ix.search("zebra", 10)), Vec::<String>::new());
    }

    #[test]
    fn every_query_word_must_match() {
        let mut ix = SearchIndex::new();
        ix.upsert(&note("a", "Grocery list", "", 1));
        ix.upsert(&note("b", "Grocery", "a list of things", 2));
        ix.upsert(&note("c", "List", "", 3));
        // Title matches every word: first. Then the others, newest first.
        assert_eq!(ids(ix.search("gro li", 10)), ["a", "b"]);
        assert_eq!(ids(ix.search("li gro", 10)), ["a", "b"]);
        assert_eq!(ids(ix.search("list list", 10)), ["c", "a", "b"]);
    }

    #[test]
    fn edits_and_deletes_are_followed() {
        let mut ix = SearchIndex::new();
        let mut n = note("a", "Old title", "apples", 1);
        ix.upsert(&n);
        ix.upsert(&note("b", "Pears", "", 2));
        n.title = "New title".into();
        n.content = "bananas".into();
        n.hlc.wall_ms = 3;
        ix.upsert(&n);
        assert_eq!(ids(ix.search("apples", 10)), Vec::<String>::new());
        assert_eq!(ids(ix.search("old", 10)), Vec::<String>::new());
        assert_eq!(ids(ix.search("banana", 10)), ["a"]);
        assert_eq!(ids(ix.search("title", 10)), ["a"]);
        n.deleted = true;
        ix.upsert(&n);
        assert_eq!(ids(ix.search("banana", 10)), Vec::<String>::new());
        assert_eq!(ix.len(), 1);
        ix.remove(&"b".into());
        assert!(ix.is_empty());
    }

    #[test]
    fn many_edits_of_one_note_are_compacted_away() {
        let mut ix = SearchIndex::new();
        let mut n = note("a", "T", "", 1);
        for i in 0..25_000u64 {
            n.content = format!("word{}", i % 3);
            n.hlc.wall_ms = i;
            ix.upsert(&n);
        }
        let f = ix.search("word", 10).unwrap();
        assert_eq!((f.total, ix.len()), (1, 1));
        let entries: usize = ix.words.values().map(Vec::len).sum();
        assert!(entries < 20_000, "{entries}");
    }

    #[test]
    fn a_saved_index_answers_as_the_original() {
        let mut ix = SearchIndex::new();
        let mut a = note("a", "Grocery list", "milk, eggs", 1);
        ix.upsert(&a);
        ix.upsert(&note("b", "Grocery", "a list of things", 2));
        ix.upsert(&note("c", "Straße", "東京 groceries", 3));
        a.content = "bread".into();
        a.hlc.wall_ms = 4;
        ix.upsert(&a); // a retired slot, left out of the bytes
        let bytes = ix.encode(42);
        let (back, seq) = SearchIndex::decode(&bytes).expect("decodes");
        assert_eq!(seq, 42);
        assert_eq!(back.len(), 3);
        for q in ["gro", "gro li", "milk", "bread", "東", "straße", "things"] {
            assert_eq!(back.search(q, 10), ix.search(q, 10), "{q}");
        }
        // It goes on being updated like any index.
        let mut back = back;
        back.upsert(&note("d", "Groceries again", "", 5));
        assert_eq!(ids(back.search("groc", 10)), ["d", "a", "b", "c"]);
        // Another format, or damaged bytes: nothing (the caller builds it again).
        assert!(SearchIndex::decode(b"tern-si0").is_none());
        assert!(SearchIndex::decode(&bytes[..bytes.len() - 1]).is_none());
        assert!(SearchIndex::decode(&[bytes.as_slice(), &[0]].concat()).is_none());
    }

    #[test]
    fn non_latin_words_are_indexed() {
        let mut ix = SearchIndex::new();
        ix.upsert(&note("a", "Überweisung", "Straße 東京", 1));
        assert_eq!(ids(ix.search("über", 10)), ["a"]);
        assert_eq!(ids(ix.search("STRASSE", 10)), Vec::<String>::new());
        assert_eq!(ids(ix.search("straße", 10)), ["a"]);
        assert_eq!(ids(ix.search("東", 10)), ["a"]);
    }
}
