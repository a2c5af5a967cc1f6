//! Search over the notes' titles and bodies: an inverted index in memory, kept up to date
//! note by note.
//!
//! Words are the runs of alphanumeric characters, lowercased (as [`sync_core::text::tokens`]
//! cuts text). Each indexed note version is a *slot* (a number, in the order notes were
//! indexed); the index maps every word to the slots whose text has it (a bit says "in the
//! title"), in word order, so a word prefix is a range of words. A query matches the notes
//! that have, for each of its words, a word starting with it (so `gro` finds "groceries";
//! `gro lis` finds "grocery list"). Results come in this order: notes whose title matches
//! every query word first, then newest first (then the note indexed last first).
//!
//! The layout is built for memory (100,000 notes are held by a page; see
//! docs/performance.md for the figures):
//! - The slots are columns: every slot's note id in one string (ends in a `u32` each), its
//!   stamp in two columns, a bit set of the retired ones; the live slot of each note id is
//!   found through a hash table of slot numbers (the id is not copied into it).
//! - Most words are in the *frozen* part: one byte string of records in word order, each
//!   word front-coded against the previous one (its shared and own lengths in a byte, most
//!   often; restarting every [`BLOCK`] words, whose offsets are kept for a binary search)
//!   and followed by its posting list: its slots in Elias-Fano form, and which of them are
//!   in the title, in one or more segments ([`postings`]).
//! - What was indexed since the last merge is in the *fresh* part: for a word the frozen
//!   part has, a (word's rank, entry) pair in one vector (no memory block per word, so a
//!   note of common words costs 8 bytes a word); for another word, its posting list as
//!   varint deltas in a sorted map (appended to entry by entry). The fresh slots all come
//!   after the frozen ones, so a word's postings are the frozen list then the fresh
//!   entries.
//!
//! A change of a note ([`SearchIndex::upsert`]) retires its old slot and indexes the new text
//! in a new one, in the fresh part, in time proportional to the note's length (plus a binary
//! search of the frozen part per word); retired slots are skipped by queries. When the fresh
//! part outgrows a quarter of the frozen one, it is merged into a new frozen part: by
//! copying each frozen list and appending its fresh entries as a segment of their own,
//! about as fast as copying the frozen part; or, once the frozen part has grown by half
//! since it was last rewritten (or when retired slots outnumber the live ones), by
//! rewriting every list as one segment without the retired slots, the slots numbered again
//! from 0 in the same order. Both are passes over the whole index, whose cost the geometric
//! growth amortises; the page cannot stop that long between two frames, so it has them done
//! a bounded step at a time ([`SearchIndex::set_stepped_merges`], [`SearchIndex::merge_step`]:
//! the parts stay as they are, and answer queries, until the merged part replaces them), and
//! saves the index a step at a time too ([`SearchIndex::save_step`]). Nothing is read from
//! storage here: the app feeds it
//! (all notes once, in chunks, then what changed).
//!
//! Beside the words, each slot has the columns the search box's filters and sorts need
//! (`facets`: its creation date, a pinned bit, a title sort key, its notebook and tags as
//! interned record ids), and the index keeps the device's notebook and tag records (name,
//! parent), so `tag:work milk` resolves `work` to ids and answers from memory
//! ([`SearchIndex::find`]; the language is [`query`]'s), with the sidebar's counts kept up
//! to date note by note ([`SearchIndex::counts`]). (`bytes`: the varints and the reader of
//! the saved form, which both write; `postings`: the frozen lists' encoding.)
//!
//! The index is saved as bytes ([`SearchIndex::encode`], [`SearchIndex::decode`]) with the
//! store's change sequence number it is up to date with, so a start loads it and catches
//! up with the notes written since (see [`crate::local::LocalStore::changed_since`])
//! instead of decoding every note again. The bytes are the live slots and the merged
//! frozen part as it is in memory, then the records' count and length, so loading is a
//! check of every record, which then stay where they are in the bytes' own block
//! ([`SearchIndex::decode_vec`]), and saving writes them front to back in parts
//! ([`SearchIndex::encode_to`]): neither holds two copies. The
//! format is private to this module: a version tag first, and bytes of another version (or
//! damaged ones) decode as `None`, which means "build it again from the notes".

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, RandomState};

use hashbrown::HashTable;
use sync_core::{Hlc, NoteId};

use crate::local::LocalNote;

mod bytes;
mod facets;
mod postings;
pub mod query;

pub use facets::Counts;
pub use query::{Filter, MAX_WORD_CHARS, Query, Sort, parse, words};

use bytes::{Reader, checked_varint, put_varint, varint_len};

use facets::{Facets, SlotFacets};

// Used by the model tests, which run natively (proptest).
#[cfg(all(test, not(target_arch = "wasm32")))]
mod reference;
#[cfg(all(test, not(target_arch = "wasm32")))]
mod reference_find;

/// Words per block of the frozen part: the first of each is written whole.
const BLOCK: usize = 16;
/// The fresh part is merged into the frozen one when its estimated size passes this...
const MERGE_MIN_BYTES: usize = 256 << 10;
/// ... and this fraction of the frozen part's (1 / `MERGE_RATIO`).
const MERGE_RATIO: usize = 4;
/// What a fresh word costs beyond its bytes and postings (the map's node share, the key's
/// and the list's heap blocks), for the estimate.
const FRESH_WORD_COST: usize = 64;
/// Fresh postings of known words are sorted into the others once there are this many (a
/// query reads all of them).
const RECENT_MAX: usize = 1 << 17;
/// Retired slots are dropped (by a merge) once there are more than this many and more
/// than live ones.
const RETIRED_MIN: usize = 10_000;
/// Records of the index a step of a merge or a save reads at most
/// ([`SearchIndex::merge_step`], [`SearchIndex::save_step`]; a save's steps first write
/// as many slots each): a record is a word and its postings, so a step is bounded by this
/// many words plus the postings of the longest lists (a word in every note: one entry a
/// note). At 100,000 perf-seed notes a whole rewrite (100,000 records) took 23 ms natively
/// and a save 43 ms, so a step of 2,000 is about a millisecond there, a few in the page's
/// wasm.
pub const STEP: usize = 2_000;

/// A save of the index under way ([`SearchIndex::start_save`]).
pub struct Saving {
    /// The index's [`SearchIndex::changes`] when it started.
    changes: u64,
    renumber: Vec<u32>,
    /// The next slot to write...
    slot: u32,
    /// ... then the records: the fresh postings of known words, sorted, and the pass.
    known: Vec<u64>,
    pass: Option<Pass>,
    /// Bytes not given to the sink yet, and those of the records given.
    out: Vec<u8>,
    flushed: usize,
}

impl std::fmt::Debug for Saving {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Saving").finish_non_exhaustive()
    }
}

/// A merge under way (see [`SearchIndex::set_stepped_merges`]).
struct MergeJob {
    /// A rewrite: every slot's new number and how many are kept; `None`: an append.
    rewrite: Option<(Vec<u32>, u32)>,
    /// The new frozen part's records so far.
    blob: Vec<u8>,
    pass: Pass,
}

/// A posting list being appended to: varint entries, and its last slot plus one.
struct Fresh {
    next: u32,
    bytes: Vec<u8>,
}

/// The merged part of the index: see the module's doc.
#[derive(Default)]
struct Frozen {
    /// Records, in word order: shared prefix and suffix lengths ([`put_head`]), suffix,
    /// postings length (a varint), postings ([`postings`]).
    blob: Vec<u8>,
    /// Every [`BLOCK`]-th record (its shared prefix length is 0).
    blocks: Vec<Block>,
}

/// Where a block starts, and its first word's first bytes ([`key`]): most comparisons of
/// a binary search over the blocks need no more.
struct Block {
    at: u32,
    key: [u8; 8],
}

/// The first 8 bytes of `word`, zero-padded: in the order of the words (for a word `a`
/// before `b`, `key(a) <= key(b)`).
fn key(word: &[u8]) -> [u8; 8] {
    let mut k = [0; 8];
    let n = word.len().min(8);
    k[..n].copy_from_slice(&word[..n]);
    k
}

/// The search index of one store's notes.
pub struct SearchIndex {
    /// Every slot's note id, one after the other...
    ids: String,
    /// ... slot `s`'s ending at `id_ends[s]`.
    id_ends: Vec<u32>,
    /// Every slot's stamp: wall clock and counter.
    walls: Vec<u64>,
    counters: Vec<u32>,
    /// Bit `s` set: slot `s` is retired.
    gone: Vec<u64>,
    /// The live slot of every indexed note, hashed by its id.
    live: HashTable<u32>,
    hasher: RandomState,
    /// Retired slots (all of them are still numbered).
    retired: usize,
    frozen: Frozen,
    /// Fresh postings of words in the frozen part: the word's number there (its rank in
    /// word order) in the high 32 bits, the entry (`slot << 1 | title`) in the low ones,
    /// sorted (a query finds a word's by a binary search). No block of memory per word.
    known: Vec<u64>,
    /// More of them, in slot order, merged into `known` once there are [`RECENT_MAX`].
    recent: Vec<u64>,
    /// Fresh postings of the other words.
    fresh: BTreeMap<Box<str>, Fresh>,
    /// The fresh part's size, estimated.
    fresh_bytes: usize,
    /// The frozen part's size when last written without retired slots, one segment a list:
    /// it is written so again once it has grown by half (else the fresh part is appended).
    rewritten: usize,
    /// Every slot's filters and sort keys, the records the filters name, the counts.
    facets: Facets,
    /// [`MERGE_MIN_BYTES`], [`RETIRED_MIN`] and [`RECENT_MAX`], smaller in tests.
    merge_min: usize,
    retired_min: usize,
    recent_max: usize,
    /// A merge under way, and whether upserts only start the merges they make due (see
    /// [`SearchIndex::set_stepped_merges`]).
    job: Option<MergeJob>,
    stepped: bool,
    /// [`STEP`], smaller in tests.
    step: usize,
    /// Bumped by every change of what a pass reads (a save under way stops at one: see
    /// [`SearchIndex::save_step`]).
    changes: u64,
    /// Records the last call of `write_merged_some` read (the tests' bound).
    #[cfg(test)]
    read_last: std::cell::Cell<usize>,
}

impl Default for SearchIndex {
    fn default() -> Self {
        Self {
            ids: String::new(),
            id_ends: Vec::new(),
            walls: Vec::new(),
            counters: Vec::new(),
            gone: Vec::new(),
            live: HashTable::new(),
            hasher: RandomState::new(),
            retired: 0,
            frozen: Frozen::default(),
            known: Vec::new(),
            recent: Vec::new(),
            fresh: BTreeMap::new(),
            fresh_bytes: 0,
            rewritten: 0,
            facets: Facets::default(),
            merge_min: MERGE_MIN_BYTES,
            retired_min: RETIRED_MIN,
            recent_max: RECENT_MAX,
            job: None,
            stepped: false,
            step: STEP,
            changes: 0,
            #[cfg(test)]
            read_last: std::cell::Cell::new(0),
        }
    }
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

/// Slot `s`'s id in the id column.
fn id_at<'a>(ids: &'a str, ends: &[u32], s: u32) -> &'a str {
    let s = s as usize;
    let start = if s == 0 { 0 } else { ends[s - 1] as usize };
    &ids[start..ends[s] as usize]
}

/// The varint at `*pos` of bytes this module wrote (or checked, see [`Frozen::check`]).
#[inline]
fn varint(bytes: &[u8], pos: &mut usize) -> u32 {
    let mut v = 0u32;
    let mut shift = 0;
    loop {
        let b = bytes[*pos];
        *pos += 1;
        v |= u32::from(b & 0x7f) << shift;
        if b < 0x80 {
            return v;
        }
        shift += 7;
    }
}

/// The entries of a fresh posting list ([`Fresh`]): (slot, in the title). Each entry is a
/// varint of `delta << 1 | title`, `delta` the slot minus the previous one's plus one (the
/// first: the slot plus one). (The frozen part's lists are in another form, see
/// [`postings`].)
fn fresh_entries(list: &[u8]) -> impl Iterator<Item = (u32, bool)> + '_ {
    let mut pos = 0;
    // The previous slot plus one.
    let mut next = 0u32;
    std::iter::from_fn(move || {
        if pos >= list.len() {
            return None;
        }
        let v = varint(list, &mut pos);
        let slot = next + (v >> 1) - 1;
        next = slot + 1;
        Some((slot, v & 1 != 0))
    })
}

/// Appends an entry to a fresh posting list whose last slot plus one is `next` (0: the
/// list is empty); returns the bytes written.
fn put_entry(list: &mut Vec<u8>, next: u32, slot: u32, title: bool) -> usize {
    let v = (slot + 1 - next) << 1 | u32::from(title);
    put_varint(list, v);
    varint_len(v)
}

/// Writes a record's head: its shared prefix's and suffix's lengths, in one varint
/// (`shared << 4 | len`, a byte for most words) when the suffix is under 15 bytes; else
/// with 15 for `len`, then the length minus 15.
fn put_head(out: &mut Vec<u8>, shared: usize, len: usize) {
    let short = len.min(15);
    put_varint(out, (shared as u32) << 4 | short as u32);
    if short == 15 {
        put_varint(out, (len - 15) as u32);
    }
}

/// The head at `*pos` of a record this module wrote or checked: (shared, suffix length).
fn head(blob: &[u8], pos: &mut usize) -> (usize, usize) {
    let v = varint(blob, pos);
    let mut len = v & 15;
    if len == 15 {
        len += varint(blob, pos);
    }
    ((v >> 4) as usize, len as usize)
}

/// [`head`] of bytes from outside.
fn checked_head(blob: &[u8], pos: &mut usize) -> Option<(usize, usize)> {
    let v = checked_varint(blob, pos)?;
    let mut len = (v & 15) as usize;
    if len == 15 {
        len = len.checked_add(checked_varint(blob, pos)? as usize)?;
    }
    Some(((v >> 4) as usize, len))
}

/// Reads the frozen part's records one after the other.
struct Cursor<'a> {
    blob: &'a [u8],
    pos: usize,
    /// The word of the record read last.
    word: Vec<u8>,
}

impl<'a> Cursor<'a> {
    /// Reads from `pos`, which starts a block; `word` is room for the words.
    fn at(blob: &'a [u8], pos: usize, mut word: Vec<u8>) -> Self {
        word.clear();
        Self { blob, pos, word }
    }

    /// The next record's postings (its word is then `self.word`).
    fn next_list(&mut self) -> Option<&'a [u8]> {
        if self.pos >= self.blob.len() {
            return None;
        }
        let (shared, len) = head(self.blob, &mut self.pos);
        self.word.truncate(shared);
        self.word
            .extend_from_slice(&self.blob[self.pos..self.pos + len]);
        self.pos += len;
        let len = varint(self.blob, &mut self.pos) as usize;
        let list = &self.blob[self.pos..self.pos + len];
        self.pos += len;
        Some(list)
    }
}

/// Writes records of the frozen part.
struct Writer<'a> {
    out: &'a mut Vec<u8>,
    /// Given every [`FLUSH`] bytes or so of `out` (which is then emptied), if any.
    sink: Option<&'a mut dyn FnMut(&[u8])>,
    st: Written,
}

/// What a [`Writer`] has written so far (kept between the steps of a pass, see [`Pass`]).
#[derive(Default)]
struct Written {
    /// Where the records start in `out`.
    base: usize,
    /// Bytes given to the sink so far.
    flushed: usize,
    prev: Vec<u8>,
    words: usize,
    blocks: Vec<Block>,
}

/// Bytes of the saved form held at once while it is written (see [`SearchIndex::encode_to`]).
const FLUSH: usize = 64 << 10;

impl<'a> Writer<'a> {
    /// Goes on writing to `out` where `st` left off.
    fn resume(out: &'a mut Vec<u8>, sink: Option<&'a mut dyn FnMut(&[u8])>, st: Written) -> Self {
        Self { out, sink, st }
    }

    /// Bytes of records written so far.
    fn written(&self) -> usize {
        self.st.flushed + self.out.len() - self.st.base
    }

    /// Writes a record: `word`, and the posting list made of `list`'s parts one after the
    /// other.
    fn push(&mut self, word: &[u8], list: &[&[u8]]) {
        let shared = if self.st.words.is_multiple_of(BLOCK) {
            let at = self.written() as u32;
            self.st.blocks.push(Block { at, key: key(word) });
            0
        } else {
            self.st
                .prev
                .iter()
                .zip(word)
                .take_while(|(a, b)| a == b)
                .count()
        };
        put_head(self.out, shared, word.len() - shared);
        self.out.extend_from_slice(&word[shared..]);
        let len: usize = list.iter().map(|p| p.len()).sum();
        put_varint(self.out, len as u32);
        list.iter().for_each(|p| self.out.extend_from_slice(p));
        self.st.prev.clear();
        self.st.prev.extend_from_slice(word);
        self.st.words += 1;
        if let Some(sink) = self.sink.as_mut().filter(|_| self.out.len() >= FLUSH) {
            sink(self.out);
            self.st.flushed += self.out.len() - self.st.base;
            self.out.clear();
            self.st.base = 0;
        }
    }
}

/// How far a pass over the frozen and fresh parts has come ([`SearchIndex::write_merged_some`]):
/// a pass may stop after a number of records and go on later from here (see
/// [`SearchIndex::merge_step`]), as long as the parts it reads have not changed.
#[derive(Default)]
struct Pass {
    started: bool,
    /// The frozen part's cursor: where its next record starts, and the last word read...
    pos: usize,
    word: Vec<u8>,
    /// ... the record read but not written yet (where its list is in the blob), and its rank.
    old: Option<(usize, usize)>,
    rank: u32,
    /// How many of the sorted fresh postings of known words are written.
    known_at: usize,
    /// The last fresh word taken.
    fresh_after: Option<Box<str>>,
    st: Written,
}

impl Frozen {
    /// The word of the record at `pos`, which starts a block (so is written whole).
    fn block_word(&self, mut pos: usize) -> &[u8] {
        let (_, len) = head(&self.blob, &mut pos);
        &self.blob[pos..pos + len]
    }

    /// How many blocks start with a word before `word` (or also equal to it, `or_equal`).
    fn blocks_before(&self, word: &[u8], or_equal: bool) -> usize {
        let k = key(word);
        self.blocks.partition_point(|b| match b.key.cmp(&k) {
            std::cmp::Ordering::Equal => match self.block_word(b.at as usize).cmp(word) {
                std::cmp::Ordering::Equal => or_equal,
                o => o.is_lt(),
            },
            o => o.is_lt(),
        })
    }

    /// Calls `f` with the postings of every word starting with `prefix`; returns the
    /// range of their ranks.
    fn lists(&self, prefix: &[u8], mut f: impl FnMut(&[u8])) -> std::ops::Range<u32> {
        let block = self.blocks_before(prefix, false).saturating_sub(1);
        let Some(start) = self.blocks.get(block) else {
            return 0..0;
        };
        let mut c = Cursor::at(&self.blob, start.at as usize, Vec::new());
        let mut rank = (block * BLOCK) as u32;
        let mut first = None;
        while let Some(list) = c.next_list() {
            if c.word.starts_with(prefix) {
                first.get_or_insert(rank);
                f(list);
            } else if c.word.as_slice() > prefix {
                break;
            }
            rank += 1;
        }
        first.unwrap_or(rank)..rank
    }

    /// The rank of `word`, if the frozen part has it (`buf`: room to read words in).
    fn rank(&self, word: &[u8], buf: &mut Vec<u8>) -> Option<u32> {
        let block = self.blocks_before(word, true).checked_sub(1)?;
        let mut c = Cursor::at(
            &self.blob,
            self.blocks[block].at as usize,
            std::mem::take(buf),
        );
        let mut found = None;
        for i in 0..BLOCK {
            if c.next_list().is_none() {
                break;
            }
            match c.word.as_slice().cmp(word) {
                std::cmp::Ordering::Less => {}
                std::cmp::Ordering::Equal => {
                    found = Some((block * BLOCK + i) as u32);
                    break;
                }
                std::cmp::Ordering::Greater => break,
            }
        }
        *buf = c.word;
        found
    }

    /// Records from outside (`blob`, of `words` records, over `slots` slots), if they are
    /// as [`Writer`] writes them: every block's first word whole, words strictly
    /// increasing, every posting list as [`postings::check`] wants it (slots strictly
    /// increasing, below `slots`), nothing left over. Words need not be UTF-8: they are
    /// compared as bytes.
    fn check(blob: Vec<u8>, words: usize, slots: usize) -> Option<Self> {
        let mut blocks: Vec<Block> = Vec::with_capacity(words.div_ceil(BLOCK).min(blob.len()));
        let mut pos = 0;
        let mut word: Vec<u8> = Vec::new();
        for i in 0..words {
            let at = pos;
            let (shared, len) = checked_head(&blob, &mut pos)?;
            let suffix = blob.get(pos..pos.checked_add(len)?)?;
            pos += len;
            if i.is_multiple_of(BLOCK) {
                if shared != 0 {
                    return None;
                }
                blocks.push(Block {
                    at: u32::try_from(at).ok()?,
                    key: key(suffix),
                });
            }
            if shared > word.len() || (i > 0 && (word[shared..]).cmp(suffix).is_ge()) {
                return None; // not after the previous word
            }
            word.truncate(shared);
            word.extend_from_slice(suffix);
            let len = checked_varint(&blob, &mut pos)? as usize;
            let list = blob.get(pos..pos.checked_add(len)?)?;
            pos += len;
            if !postings::check(list, slots) {
                return None;
            }
        }
        (pos == blob.len()).then_some(Self { blob, blocks })
    }
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
        self.live.len() == 0
    }

    /// How many notes each sidebar filter finds (kept up to date by every upsert and
    /// remove: no note is read).
    pub fn counts(&self) -> Counts {
        self.facets.counts(self.len())
    }

    /// The ids of the live notebook and tag records the index holds: what the sidebar lists
    /// (read then by id: a few records, not every note).
    pub fn record_ids(&self) -> (Vec<NoteId>, Vec<NoteId>) {
        let ids = |notebook| {
            self.facets
                .record_ids(notebook)
                .into_iter()
                .map(|id| NoteId(id.to_owned()))
                .collect()
        };
        (ids(true), ids(false))
    }

    /// Gives back the room its columns grew into, and merges the fresh part: after a build
    /// from every note, which grew them by doubling and left up to a fifth of the entries
    /// fresh (a load or a rewrite leaves neither).
    pub fn shrink_to_fit(&mut self) {
        self.settle();
        self.changes += 1;
        // The fresh part, 8 bytes a posting and more, into the frozen one (as a merge
        // does, one copy of the frozen part).
        if !self.known.is_empty() || !self.recent.is_empty() || !self.fresh.is_empty() {
            self.append_fresh();
        }
        self.facets.shrink();
        self.ids.shrink_to_fit();
        self.id_ends.shrink_to_fit();
        self.walls.shrink_to_fit();
        self.counters.shrink_to_fit();
        self.gone.shrink_to_fit();
    }

    /// True when the note is indexed (live).
    pub fn contains(&self, id: &NoteId) -> bool {
        self.slot_of(id.as_str()).is_some()
    }

    fn slot_of(&self, id: &str) -> Option<u32> {
        let (ids, ends) = (&self.ids, &self.id_ends);
        self.live
            .find(self.hasher.hash_one(id), |&s| id_at(ids, ends, s) == id)
            .copied()
    }

    fn is_gone(&self, s: usize) -> bool {
        self.gone[s / 64] & (1 << (s % 64)) != 0
    }

    /// Adds a slot for `id` (live).
    fn push_slot(&mut self, id: &str, hlc: (u64, u32)) -> u32 {
        let slot = u32::try_from(self.walls.len()).expect("fewer than 2^31 note versions");
        assert!(slot < 1 << 31, "fewer than 2^31 note versions");
        self.ids.push_str(id);
        self.id_ends
            .push(u32::try_from(self.ids.len()).expect("note ids under 4 GB"));
        self.walls.push(hlc.0);
        self.counters.push(hlc.1);
        if slot as usize / 64 == self.gone.len() {
            self.gone.push(0);
        }
        let (ids, ends, hasher) = (&self.ids, &self.id_ends, &self.hasher);
        self.live.insert_unique(hasher.hash_one(id), slot, |&s| {
            hasher.hash_one(id_at(ids, ends, s))
        });
        slot
    }

    /// Indexes the note as it is now (a deleted note, or a notebook or tag record, leaves
    /// the index: search finds notes; a live record's name and parent are kept for the
    /// filters).
    pub fn upsert(&mut self, note: &LocalNote) {
        self.settle();
        self.changes += 1;
        self.retire(&note.id);
        let fields = note.shown_fields();
        let kind = fields.kind();
        self.facets.record(note, kind);
        if note.deleted || kind != sync_core::fields::Kind::Note {
            self.merge_if_due();
            return;
        }
        let slot = self.push_slot(note.id.as_str(), order(&note.hlc));
        self.facets.push(slot, SlotFacets::of(note, &fields));
        let mut buf = Vec::new();
        let mut mine: HashMap<String, bool> = HashMap::new();
        for w in words(&note.title) {
            mine.insert(w, true);
        }
        for w in words(&note.content) {
            mine.entry(w).or_insert(false);
        }
        for (w, in_title) in mine {
            if let Some(rank) = self.frozen.rank(w.as_bytes(), &mut buf) {
                self.recent
                    .push(u64::from(rank) << 32 | u64::from(slot << 1 | u32::from(in_title)));
                self.fresh_bytes += 8;
                if self.recent.len() >= self.recent_max {
                    self.settle_recent();
                }
                continue;
            }
            match self.fresh.get_mut(w.as_str()) {
                Some(list) => {
                    self.fresh_bytes += put_entry(&mut list.bytes, list.next, slot, in_title);
                    list.next = slot + 1;
                }
                None => {
                    let mut bytes = Vec::new();
                    put_entry(&mut bytes, 0, slot, in_title);
                    self.fresh_bytes += FRESH_WORD_COST + w.len() + bytes.len();
                    self.fresh.insert(
                        w.into_boxed_str(),
                        Fresh {
                            next: slot + 1,
                            bytes,
                        },
                    );
                }
            }
        }
        self.merge_if_due();
    }

    /// Removes a note (or a notebook or tag record) from the index.
    pub fn remove(&mut self, id: &NoteId) {
        self.settle();
        self.changes += 1;
        self.retire(id);
        self.merge_if_due();
    }

    /// Retires the slot of a note (or forgets a notebook or tag record).
    fn retire(&mut self, id: &NoteId) {
        self.facets.forget_record(id.as_str());
        let (ids, ends) = (&self.ids, &self.id_ends);
        let hash = self.hasher.hash_one(id.as_str());
        let Ok(entry) = self
            .live
            .find_entry(hash, |&s| id_at(ids, ends, s) == id.as_str())
        else {
            return;
        };
        let (old, _) = entry.remove();
        self.facets.retire(old);
        let old = old as usize;
        self.gone[old / 64] |= 1 << (old % 64);
        self.retired += 1;
    }

    /// The new number of every slot once the retired ones are left out (`u32::MAX`: left
    /// out), and how many are kept.
    fn renumbering(&self) -> (Vec<u32>, u32) {
        let mut next = 0u32;
        let renumber = (0..self.walls.len())
            .map(|s| {
                if self.is_gone(s) {
                    u32::MAX
                } else {
                    next += 1;
                    next - 1
                }
            })
            .collect();
        (renumber, next)
    }

    /// Writes the frozen and fresh parts merged as records to `out`: with `renumber`
    /// (see [`Self::renumbering`]), every list decoded and written again with the slots
    /// renumbered and the retired ones left out, as one segment; without, every frozen list
    /// copied as it is and its fresh entries appended as a segment (about as fast as
    /// copying the frozen part). `known` is [`Self::known`], sorted. Goes on from where
    /// `pass` is, for at most `limit` records read from the two parts (each written at
    /// most once), and returns true once every record is written (the count and the
    /// blocks' starts are then in `pass.st`). Between two calls neither part may change.
    fn write_merged_some<'a>(
        &self,
        known: &[u64],
        renumber: Option<&[u32]>,
        pass: &mut Pass,
        out: &'a mut Vec<u8>,
        sink: Option<&'a mut dyn FnMut(&[u8])>,
        limit: usize,
    ) -> bool {
        fn known_entries(k: &[u64]) -> impl Iterator<Item = (u32, bool)> + '_ {
            k.iter().map(|&e| ((e as u32) >> 1, e & 1 != 0))
        }
        // `entries`, renumbered (the retired left out) if `renumber`, as a segment in
        // `list` (starting from `from`: see `postings::put_segment`); false if none is left.
        fn segment(
            renumber: Option<&[u32]>,
            from: u32,
            entries: impl Iterator<Item = (u32, bool)>,
            buf: &mut Vec<(u32, bool)>,
            list: &mut Vec<u8>,
        ) -> bool {
            buf.clear();
            buf.extend(entries.filter_map(|(s, title)| {
                let new = renumber.map_or(s, |r| r[s as usize]);
                (new != u32::MAX).then_some((new, title))
            }));
            list.clear();
            if buf.is_empty() {
                return false;
            }
            postings::put_segment(list, from, buf);
            true
        }
        let blob = &self.frozen.blob;
        let mut w = Writer::resume(out, sink, std::mem::take(&mut pass.st));
        let mut list = Vec::new();
        let mut buf = Vec::new();
        let mut old_buf = Vec::new();
        let mut frozen = Cursor {
            blob,
            pos: pass.pos,
            word: std::mem::take(&mut pass.word),
        };
        let mut old = match pass.old {
            _ if !pass.started => frozen.next_list(),
            Some((at, len)) => Some(&blob[at..at + len]),
            None => None,
        };
        pass.started = true;
        let mut rank = pass.rank;
        let mut known_at = pass.known_at;
        let mut known = &known[known_at..];
        let mut fresh = match pass.fresh_after.as_deref() {
            None => self.fresh.range::<str, _>(..),
            Some(after) => self
                .fresh
                .range::<str, _>((std::ops::Bound::Excluded(after), std::ops::Bound::Unbounded)),
        }
        .peekable();
        let mut fresh_taken = None;
        let mut read = 0;
        // The two parts have no word in common (a word goes to the fresh map only when the
        // frozen part has not got it).
        let done = loop {
            let frozen_first = match (old, fresh.peek()) {
                (None, None) => break true,
                _ if read == limit => break false,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (Some(_), Some((word, _))) => frozen.word.as_slice() < word.as_bytes(),
            };
            read += 1;
            if let (Some(old_list), true) = (old, frozen_first) {
                // Its fresh entries: the first of what is left of `known` (sorted).
                let n = known.partition_point(|&e| (e >> 32) as u32 == rank);
                let (mine, rest) = known.split_at(n);
                known = rest;
                known_at += n;
                match renumber {
                    // No slot retired: a list written as one segment is already as a
                    // rewrite would write it (most, after a build's merges).
                    Some(_)
                        if self.retired == 0
                            && mine.is_empty()
                            && postings::one_segment(old_list) =>
                    {
                        w.push(&frozen.word, &[old_list]);
                    }
                    Some(_) => {
                        old_buf.clear();
                        postings::for_each(old_list, |s, title| old_buf.push((s, title)));
                        let all = old_buf.iter().copied().chain(known_entries(mine));
                        if segment(renumber, 0, all, &mut buf, &mut list) {
                            w.push(&frozen.word, &[&list]);
                        }
                    }
                    None if mine.is_empty() => w.push(&frozen.word, &[old_list]),
                    None => {
                        // (Fresh slots come after every frozen one: a segment after.)
                        let from = postings::end(old_list);
                        segment(None, from, known_entries(mine), &mut buf, &mut list);
                        w.push(&frozen.word, &[old_list, &list]);
                    }
                }
                old = frozen.next_list();
                rank += 1;
            } else if let Some((word, f)) = fresh.next() {
                fresh_taken = Some(word);
                if segment(renumber, 0, fresh_entries(&f.bytes), &mut buf, &mut list) {
                    w.push(word.as_bytes(), &[&list]);
                }
            }
        };
        if !done {
            // (Where the next call goes on: the parts are as they were.)
            pass.old = old.map(|l| (l.as_ptr() as usize - blob.as_ptr() as usize, l.len()));
            pass.pos = frozen.pos;
            pass.word = frozen.word;
            pass.rank = rank;
            pass.known_at = known_at;
            if let Some(word) = fresh_taken {
                pass.fresh_after = Some(word.clone());
            }
        }
        pass.st = w.st;
        #[cfg(test)]
        self.read_last.set(read);
        done
    }

    /// Sorts [`Self::recent`] into [`Self::known`] (a merge of two sorted lists).
    fn settle_recent(&mut self) {
        self.recent.sort_unstable();
        let (known, recent) = (&self.known, &self.recent);
        let mut merged = Vec::with_capacity(known.len() + recent.len());
        let (mut i, mut j) = (0, 0);
        while i < known.len() && j < recent.len() {
            if known[i] <= recent[j] {
                merged.push(known[i]);
                i += 1;
            } else {
                merged.push(recent[j]);
                j += 1;
            }
        }
        merged.extend_from_slice(&known[i..]);
        merged.extend_from_slice(&recent[j..]);
        self.known = merged;
        self.recent.clear();
    }

    /// Merges the fresh part into the frozen one as it is: every word's fresh entries are
    /// appended to its frozen list as a segment, retired slots stay.
    fn append_fresh(&mut self) {
        self.start_merge(false);
        self.merge_some(usize::MAX);
    }

    /// Merges the fresh part into the frozen one, leaving the retired slots out and
    /// numbering the slots again, and every list in one segment.
    #[cfg(test)]
    fn merge(&mut self) {
        self.start_merge(true);
        self.merge_some(usize::MAX);
    }

    /// Starts a merge ([`Self::merge`] if `rewrite`, else [`Self::append_fresh`]), done by
    /// [`Self::merge_some`]. Until it is done, the parts it reads stay as they are (every
    /// change of the index first finishes it: see [`Self::settle`]) and queries read them.
    fn start_merge(&mut self, rewrite: bool) {
        debug_assert!(self.job.is_none());
        // (The same postings for queries, sorted: the order the pass reads them in.)
        self.settle_recent();
        self.job = Some(MergeJob {
            rewrite: rewrite.then(|| self.renumbering()),
            blob: Vec::with_capacity(self.frozen.blob.len() + self.fresh_bytes),
            pass: Pass::default(),
        });
    }

    /// Goes on with the merge under way for at most `records` records of the parts
    /// (then, once they are all written, the slots renumbered: a pass over the slots);
    /// true while one is still under way.
    fn merge_some(&mut self, records: usize) -> bool {
        let Some(mut job) = self.job.take() else {
            return false;
        };
        let renumber = job.rewrite.as_ref().map(|(r, _)| r.as_slice());
        if !self.write_merged_some(
            &self.known,
            renumber,
            &mut job.pass,
            &mut job.blob,
            None,
            records,
        ) {
            self.job = Some(job);
            return true;
        }
        let MergeJob {
            rewrite,
            mut blob,
            pass,
        } = job;
        blob.shrink_to_fit();
        self.frozen = Frozen {
            blob,
            blocks: pass.st.blocks,
        };
        self.fresh = BTreeMap::new();
        self.fresh_bytes = 0;
        self.known = Vec::new();
        self.recent = Vec::new();
        self.changes += 1;
        let Some((renumber, kept)) = rewrite else {
            return false;
        };
        self.rewritten = self.frozen.blob.len();
        // The slots, renumbered.
        let mut ids = String::with_capacity(self.ids.len());
        let mut id_ends = Vec::with_capacity(kept as usize);
        let mut walls = Vec::with_capacity(kept as usize);
        let mut counters = Vec::with_capacity(kept as usize);
        for (s, &new) in renumber.iter().enumerate() {
            if new != u32::MAX {
                ids.push_str(id_at(&self.ids, &self.id_ends, s as u32));
                id_ends.push(ids.len() as u32);
                walls.push(self.walls[s]);
                counters.push(self.counters[s]);
            }
        }
        ids.shrink_to_fit();
        (self.ids, self.id_ends, self.walls, self.counters) = (ids, id_ends, walls, counters);
        self.gone = vec![0; (kept as usize).div_ceil(64)];
        self.retired = 0;
        self.facets.renumber(&renumber, kept);
        for s in self.live.iter_mut() {
            *s = renumber[*s as usize];
        }
        false
    }

    /// Finishes the merge under way, if any (before the index changes).
    fn settle(&mut self) {
        self.merge_some(usize::MAX);
    }

    /// Starts the merge that is due, if one is: a rewrite once retired slots outnumber
    /// the live ones, or once the fresh part outgrew a quarter of the frozen one (a
    /// rewrite if the frozen part grew by half since it was last rewritten, else an
    /// append); done at once, or, with [`Self::set_stepped_merges`], by
    /// [`Self::merge_step`].
    fn merge_if_due(&mut self) {
        let rewrite = if self.retired > self.retired_min && self.retired > self.live.len() {
            true
        } else if self.fresh_bytes > self.merge_min.max(self.frozen.blob.len() / MERGE_RATIO) {
            self.frozen.blob.len() * 2 > self.rewritten.max(self.merge_min) * 3
        } else {
            return;
        };
        self.start_merge(rewrite);
        if !self.stepped {
            self.settle();
        }
    }

    /// With `on`, a merge that an upsert or a remove makes due is only started: the caller
    /// does it a slice at a time with [`Self::merge_step`] (the index answers meanwhile),
    /// instead of the upsert doing it at once (a pass over the whole index: at 100,000
    /// notes, longer than a frame of the page). A change of the index while one is under
    /// way finishes it first.
    pub fn set_stepped_merges(&mut self, on: bool) {
        self.stepped = on;
    }

    /// Goes on with the merge under way (see [`Self::set_stepped_merges`]) for at most
    /// [`STEP`] records of the index; true while one is still under way.
    pub fn merge_step(&mut self) -> bool {
        self.merge_some(self.step)
    }

    /// True while a merge is under way (see [`Self::set_stepped_merges`]).
    pub fn merging(&self) -> bool {
        self.job.is_some()
    }

    /// Indexes `notes` in order ([`Self::upsert`]) until one of them starts a merge (with
    /// stepped merges): the caller steps that merge ([`Self::merge_step`]) before it
    /// indexes the rest, since the next upsert would finish it at once. How many notes were
    /// taken (at least one when `notes` is not empty).
    pub fn upsert_until_merging<'a>(
        &mut self,
        notes: impl IntoIterator<Item = &'a LocalNote>,
    ) -> usize {
        let mut taken = 0;
        for note in notes {
            self.upsert(note);
            taken += 1;
            if self.merging() {
                break;
            }
        }
        taken
    }

    /// Starts merging the whole fresh part into the frozen one (as an append), if there is
    /// one and no merge is under way: after a build from every note, which left up to a
    /// fifth of the entries fresh. With stepped merges [`Self::merge_step`] does it; else it
    /// is done at once. ([`Self::shrink_to_fit`] does it at once too.)
    pub fn merge_fresh(&mut self) {
        if self.job.is_none()
            && (!self.known.is_empty() || !self.recent.is_empty() || !self.fresh.is_empty())
        {
            self.start_merge(false);
            if !self.stepped {
                self.settle();
            }
        }
    }

    /// The notes matching `query` (see the module's doc), best first, at most `limit` of
    /// them; `None` when the query has no word.
    pub fn search(&self, query: &str, limit: usize) -> Option<Found> {
        let q = Query {
            text: query.to_owned(),
            filters: Vec::new(),
        };
        q.has_words().then(|| self.find(&q, Sort::Modified, limit))
    }

    /// The slots matching every word of `terms`, and per slot how many words its title
    /// has (as many as `terms`: every one), with that count.
    fn matching(&self, terms: &[String]) -> (Vec<u32>, Vec<u8>, u8) {
        let n = self.walls.len();
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
            let mut visit = |s: u32, title: bool| {
                let s = s as usize;
                let counted = last[s] == mark;
                if !counted && (hits[s] != t as u8 || self.is_gone(s)) {
                    return; // missed an earlier term, or retired
                }
                if !counted {
                    last[s] = mark;
                    hits[s] += 1;
                    if hits[s] == all {
                        found.push(s as u32);
                    }
                }
                // A title word may come after a body word with the same prefix.
                if title && last_title[s] != mark {
                    last_title[s] = mark;
                    in_title[s] += 1;
                }
            };
            let ranks = self.frozen.lists(term.as_bytes(), |list| {
                postings::for_each(list, &mut visit);
            });
            if !ranks.is_empty() {
                let from = self
                    .known
                    .partition_point(|&e| e >> 32 < u64::from(ranks.start));
                let to = self
                    .known
                    .partition_point(|&e| e >> 32 < u64::from(ranks.end));
                for &e in self.known[from..to].iter().chain(
                    self.recent
                        .iter()
                        .filter(|&&e| ranks.contains(&((e >> 32) as u32))),
                ) {
                    visit((e as u32) >> 1, e & 1 != 0);
                }
            }
            for (_, list) in self
                .fresh
                .range::<str, _>((
                    std::ops::Bound::Included(term.as_str()),
                    std::ops::Bound::Unbounded,
                ))
                .take_while(|(w, _)| w.starts_with(term.as_str()))
            {
                fresh_entries(&list.bytes).for_each(|(s, title)| visit(s, title));
            }
        }
        (found, in_title, all)
    }

    /// The notes `query` asks for (its words and filters: see [`query`]), in `sort`'s
    /// order, at most `limit` of them, and how many there are. With no word and no
    /// filter, every note. Words are matched in the words' lists; each filter is a pass
    /// over the slots' labels (or the pinned bits); the sort keys are the slots' columns:
    /// no note is read.
    pub fn find(&self, query: &Query, sort: Sort, limit: usize) -> Found {
        let n = self.walls.len();
        let mut allowed: Option<Vec<u64>> = None;
        for f in &query.filters {
            let mine = self.facets.slots(f, n);
            allowed = Some(match allowed {
                None => mine,
                Some(a) => a.iter().zip(&mine).map(|(x, y)| x & y).collect(),
            });
        }
        let terms: Vec<String> = words(&query.text).collect();
        let (found, in_title, all) = if terms.is_empty() {
            (None, Vec::new(), 1)
        } else {
            let (mut found, in_title, all) = self.matching(&terms);
            if let Some(a) = &allowed {
                found.retain(|&s| a[s as usize / 64] & (1 << (s % 64)) != 0);
            }
            (Some(found), in_title, all)
        };
        // The candidates: the words' matches, or every live slot a filter allows (read a
        // word of bits at a time). Last indexed first: most often the newest, so a page by
        // last change keeps its first few and compares each later one once.
        let candidates: Box<dyn Iterator<Item = u32> + '_> = match found {
            Some(mut found) => {
                found.sort_unstable_by(|a, b| b.cmp(a));
                Box::new(found.into_iter())
            }
            None => Box::new((0..self.gone.len()).rev().flat_map(move |w| {
                let mut bits = !self.gone[w] & allowed.as_ref().map_or(!0, |a| a[w]);
                std::iter::from_fn(move || {
                    (bits != 0).then(|| {
                        let b = 63 - bits.leading_zeros();
                        bits &= !(1 << b);
                        (w * 64) as u32 + b
                    })
                })
                .filter(move |&s| (s as usize) < n)
            })),
        };
        // Ties (same stamp) go to the note indexed last: slot numbers keep that order.
        let newest =
            |s: u32| std::cmp::Reverse((self.walls[s as usize], self.counters[s as usize], s));
        let (total, slots) = match sort {
            Sort::Modified => top(candidates, limit, |s| {
                (in_title.get(s as usize) != Some(&all), newest(s))
            }),
            Sort::Created => top(candidates, limit, |s| {
                (std::cmp::Reverse(self.facets.created(s)), newest(s))
            }),
            Sort::Title => {
                // Untitled last, then A to Z, then newest first. Titles come in no order
                // a heap could use (numbered ones in reverse, its worst): selected by the
                // titles' first 8 bytes (untitled: after every UTF-8 title), the rest of
                // the title and the stamp only to break ties.
                let full = |s: u32| {
                    let t = self.facets.title(s);
                    (t.is_empty(), t, newest(s))
                };
                let mut keyed: Vec<(u64, u32)> = candidates
                    .map(|s| {
                        let t = self.facets.title(s);
                        let mut k = [0xff; 8];
                        if !t.is_empty() {
                            k = [0; 8];
                            let n = t.len().min(8);
                            k[..n].copy_from_slice(&t[..n]);
                        }
                        (u64::from_be_bytes(k), s)
                    })
                    .collect();
                let cmp = |a: &(u64, u32), b: &(u64, u32)| {
                    a.0.cmp(&b.0).then_with(|| full(a.1).cmp(&full(b.1)))
                };
                let total = keyed.len();
                let limit = limit.min(total);
                if limit > 0 && limit < total {
                    keyed.select_nth_unstable_by(limit - 1, cmp);
                }
                keyed.truncate(limit);
                keyed.sort_unstable_by(cmp);
                (total, keyed.into_iter().map(|(_, s)| s).collect())
            }
        };
        Found {
            total,
            ids: slots
                .into_iter()
                .map(|s| NoteId(id_at(&self.ids, &self.id_ends, s).to_owned()))
                .collect(),
        }
    }
}

/// How many `candidates` there are, and the first `limit` of them by `key` (smallest
/// first; keys are unique), kept in a heap of `limit` as they come: one key and at most
/// one comparison with the heap's last for most candidates.
fn top<K: Ord>(
    candidates: impl Iterator<Item = u32>,
    limit: usize,
    key: impl Fn(u32) -> K,
) -> (usize, Vec<u32>) {
    let mut heap: std::collections::BinaryHeap<(K, u32)> =
        std::collections::BinaryHeap::with_capacity(limit.min(1024) + 1);
    let mut total = 0;
    for s in candidates {
        total += 1;
        if limit == 0 {
            continue;
        }
        let k = key(s);
        if heap.len() < limit {
            heap.push((k, s));
        } else if let Some(mut last) = heap.peek_mut()
            && k < last.0
        {
            *last = (k, s);
        }
    }
    (
        total,
        heap.into_sorted_vec().into_iter().map(|(_, s)| s).collect(),
    )
}

/// The tag of the saved format; another tag is another format.
const FORMAT: &[u8; 8] = b"tern-si5";

impl SearchIndex {
    /// The index as bytes, with `seq` (the change sequence number it is up to date with).
    /// Retired slots are left out. (The app saves it with [`SearchIndex::encode_to`],
    /// which holds no copy of it.)
    pub fn encode(&self, seq: u64) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_size());
        self.encode_to(seq, &mut |part| out.extend_from_slice(part));
        out
    }

    /// The size of [`SearchIndex::encode`]'s bytes, or over: exact once merged; else the
    /// fresh words are counted as the index estimates them (over).
    pub fn encoded_size(&self) -> usize {
        let (renumber, _) = self.renumbering();
        let kept = (0..self.walls.len() as u32).filter(|&s| renumber[s as usize] != u32::MAX);
        let slots: usize = kept
            .clone()
            .map(|s| {
                let id = id_at(&self.ids, &self.id_ends, s).len();
                12 + varint_len(id as u32) + id
            })
            .sum();
        FORMAT.len()
            + 8
            + self.facets.encoded_len(kept)
            + 4
            + slots
            + self.frozen.blob.len()
            + self.fresh_bytes
            + 12
    }

    /// [`SearchIndex::encode`]'s bytes, given to `sink` in parts of about [`FLUSH`]
    /// bytes, one after the other: the whole is never held. (Held whole beside the index,
    /// at the end of the initial sync's build, it was the tab's peak of memory: 10 MB at
    /// 100,000 notes; grown by doubling, 20 MB.)
    pub fn encode_to(&self, seq: u64, sink: &mut dyn FnMut(&[u8])) {
        let mut saving = self.start_save(seq);
        while self.save_some(&mut saving, usize::MAX, sink) == Some(false) {}
    }

    /// Starts [`SearchIndex::encode_to`]'s work, to be done a slice at a time by
    /// [`SearchIndex::save_step`]: at 100,000 notes the whole took longer than a frame of
    /// the page.
    pub fn start_save(&self, seq: u64) -> Saving {
        let (renumber, kept) = self.renumbering();
        let mut out = Vec::with_capacity(2 * FLUSH);
        out.extend_from_slice(FORMAT);
        out.extend_from_slice(&seq.to_le_bytes());
        let kept_slots = (0..self.walls.len() as u32).filter(|&s| renumber[s as usize] != u32::MAX);
        self.facets.encode_head(&mut out, kept_slots);
        out.extend_from_slice(&kept.to_le_bytes());
        let mut known = [self.known.as_slice(), &self.recent].concat();
        known.sort_unstable();
        Saving {
            changes: self.changes,
            renumber,
            slot: 0,
            known,
            pass: None,
            out,
            flushed: 0,
        }
    }

    /// Goes on with `saving` for at most [`STEP`] slots or records of the index,
    /// giving its bytes to `sink` in parts of about [`FLUSH`] bytes (see
    /// [`SearchIndex::encode_to`]): `Some(true)` once all are given, `Some(false)` while
    /// more is to come, `None` if the index changed since the save started (what was
    /// given is then of no use: start again).
    pub fn save_step(&self, saving: &mut Saving, sink: &mut dyn FnMut(&[u8])) -> Option<bool> {
        self.save_some(saving, self.step, sink)
    }

    fn save_some(
        &self,
        saving: &mut Saving,
        limit: usize,
        sink: &mut dyn FnMut(&[u8]),
    ) -> Option<bool> {
        if saving.changes != self.changes {
            return None;
        }
        let out = &mut saving.out;
        let Some(pass) = saving.pass.as_mut() else {
            // The slots first: stamp, id and facets of each kept one.
            let end = saving
                .slot
                .saturating_add(limit.min(u32::MAX as usize) as u32);
            let end = end.min(self.walls.len() as u32);
            for s in (saving.slot..end).filter(|&s| saving.renumber[s as usize] != u32::MAX) {
                out.extend_from_slice(&self.walls[s as usize].to_le_bytes());
                out.extend_from_slice(&self.counters[s as usize].to_le_bytes());
                let id = id_at(&self.ids, &self.id_ends, s).as_bytes();
                put_varint(out, id.len() as u32);
                out.extend_from_slice(id);
                self.facets.encode_slot(s, out);
                if out.len() >= FLUSH {
                    sink(out);
                    out.clear();
                }
            }
            #[cfg(test)]
            self.read_last.set((end - saving.slot) as usize);
            saving.slot = end;
            if end as usize == self.walls.len() {
                sink(out);
                out.clear();
                saving.pass = Some(Pass::default());
            }
            return Some(false);
        };
        // The records, then their count and length (known once they are written).
        let mut flushed = saving.flushed;
        let mut counted = |part: &[u8]| {
            flushed += part.len();
            sink(part);
        };
        let done = self.write_merged_some(
            &saving.known,
            Some(&saving.renumber),
            pass,
            out,
            Some(&mut counted),
            limit,
        );
        saving.flushed = flushed;
        if !done {
            return Some(false);
        }
        let len = (saving.flushed + out.len()) as u64;
        out.extend_from_slice(&(pass.st.words as u32).to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
        sink(out);
        out.clear();
        Some(true)
    }

    /// An index saved by [`SearchIndex::encode`], and its change sequence number; `None` if
    /// the bytes are of another format or damaged.
    pub fn decode(bytes: &[u8]) -> Option<(Self, u64)> {
        Self::decode_vec(bytes.to_vec())
    }

    /// [`SearchIndex::decode`], keeping the bytes' own block for the records (moved to its
    /// front and the rest given back): a load holds one copy of them, not two (the saved
    /// bytes beside the index's copy of their records were a reload's peak).
    pub fn decode_vec(mut bytes: Vec<u8>) -> Option<(Self, u64)> {
        let (mut ix, seq, words, records) = Self::decode_slots(&bytes)?;
        bytes.truncate(records.end);
        bytes.drain(..records.start);
        bytes.shrink_to_fit();
        let n = ix.walls.len();
        ix.frozen = Frozen::check(bytes, words, n)?;
        ix.rewritten = ix.frozen.blob.len();
        Some((ix, seq))
    }

    /// The index but its records, its sequence number, the records' count and where they
    /// are in `bytes`.
    fn decode_slots(bytes: &[u8]) -> Option<(Self, u64, usize, std::ops::Range<usize>)> {
        let mut r = Reader(bytes);
        if r.take(FORMAT.len())? != FORMAT {
            return None;
        }
        let seq = r.u64()?;
        let facets = Facets::decode_head(&mut r)?;
        let n = r.u32()? as usize;
        if n >= 1 << 31 {
            return None;
        }
        let mut ix = Self::new();
        ix.facets = facets;
        let cap = n.min(bytes.len() / 24);
        ix.id_ends.reserve(cap);
        ix.walls.reserve(cap);
        ix.counters.reserve(cap);
        ix.facets.reserve(cap);
        for _ in 0..n {
            let order = (r.u64()?, r.u32()?);
            let mut at = 0;
            let len = checked_varint(r.0, &mut at)? as usize;
            r.take(at)?;
            let id = std::str::from_utf8(r.take(len)?).ok()?;
            if ix.slot_of(id).is_some() {
                return None; // twice
            }
            let slot = ix.push_slot(id, order);
            ix.facets.decode_slot(slot, &mut r)?;
        }
        // The records, then their count and length.
        let records = r.0.len().checked_sub(12)?;
        let (blob, mut end) = (r.take(records)?, Reader(r.0));
        let words = end.u32()? as usize;
        if usize::try_from(end.u64()?).ok()? != blob.len() {
            return None;
        }
        let start = bytes.len() - blob.len() - 12;
        // (The id column grew by doubling: its ids' total is not saved.)
        ix.shrink_to_fit();
        Some((ix, seq, words, start..start + blob.len()))
    }
}

impl SearchIndex {
    /// Heap bytes per part, for `client/benches/search.rs`'s breakdown (capacities: what
    /// the counting allocator sees, but the hash maps' nodes, counted by their entries).
    #[doc(hidden)]
    pub fn heap_parts(&self) -> Vec<(&'static str, usize)> {
        let (mut words, mut postings, mut entries, mut bound) = (0, 0, 0, 0.0);
        let u = self.walls.len() as f64;
        let mut c = Cursor::at(&self.frozen.blob, 0, Vec::new());
        while let Some(list) = c.next_list() {
            words += 1;
            postings += list.len();
            let n = postings::entries(list).count();
            entries += n;
            // The least any code of a set of `n` of the slots takes: log2 C(u, n) bits.
            bound += (0..n)
                .map(|i| ((u - i as f64) / (i as f64 + 1.0)).log2())
                .sum::<f64>();
        }
        let fresh = self.fresh_bytes - 8 * (self.known.len() + self.recent.len());
        let mut parts = vec![
            ("ids", self.ids.capacity() + self.id_ends.capacity() * 4),
            (
                "stamps",
                self.walls.capacity() * 8 + self.counters.capacity() * 4,
            ),
            ("retired bits", self.gone.capacity() * 8),
            ("id hash table", self.live.capacity() * 5),
            (
                "word records but postings",
                self.frozen.blob.capacity() - postings,
            ),
            ("postings", postings),
            (
                "block index",
                self.frozen.blocks.capacity() * std::mem::size_of::<Block>(),
            ),
            (
                "fresh part",
                (self.known.capacity() + self.recent.capacity()) * 8 + fresh,
            ),
        ];
        parts.extend(self.facets.heap_parts());
        parts.push(("(frozen words)", words));
        parts.push(("(frozen entries)", entries));
        parts.push((
            "(least bytes any code of these posting sets takes)",
            (bound / 8.0) as usize,
        ));
        parts
    }
}

fn order(h: &Hlc) -> (u64, u32) {
    (h.wall_ms, h.counter)
}

#[cfg(test)]
impl SearchIndex {
    /// How many postings the index holds (live or retired).
    fn postings(&self) -> usize {
        let mut n = 0;
        let mut c = Cursor::at(&self.frozen.blob, 0, Vec::new());
        while let Some(list) = c.next_list() {
            n += postings::entries(list).count();
        }
        n + self.known.len()
            + self.recent.len()
            + self
                .fresh
                .values()
                .map(|f| fresh_entries(&f.bytes).count())
                .sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::local::SyncState;

    pub(super) fn note(id: &str, title: &str, content: &str, at: u64) -> LocalNote {
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
            typed_on: None,
            purge: false,
            trash: None,
            fields: Default::default(),
            field_edits: Default::default(),
            edit_clocks: Default::default(),
        }
    }

    fn ids(f: Option<Found>) -> Vec<String> {
        f.unwrap().ids.into_iter().map(|i| i.0).collect()
    }

    /// The page catches the index up with a sync's notes in slices of a few milliseconds;
    /// a merge (a pass over the whole index: at 100,000 notes longer than a frame) used to
    /// run inside one upsert. With stepped merges an upsert only starts it, and every step
    /// of a merge and of a save reads at most `step` records or slots, whatever the index's
    /// size; the index comes out as one built with the merges at once, and the save's
    /// bytes are the same.
    #[test]
    fn merges_and_saves_go_a_bounded_step_at_a_time() {
        let step = 64;
        let text = |i: usize| format!("Body of note {i}: lorem ipsum dolor sit amet {}", i % 97);
        let notes: Vec<LocalNote> = (0..5_000)
            .map(|i| {
                note(
                    &format!("n{i:05}"),
                    &format!("Note {i} groceries"),
                    &text(i),
                    i as u64 + 1,
                )
            })
            .collect();
        let mut at_once = SearchIndex {
            merge_min: 2_000,
            ..SearchIndex::new()
        };
        let mut stepped = SearchIndex {
            merge_min: 2_000,
            step,
            ..SearchIndex::new()
        };
        stepped.set_stepped_merges(true);
        let (mut merges, mut steps) = (0, 0);
        for (k, n) in notes.iter().enumerate() {
            // Edits too (retired slots: rewrites drop them).
            let n = if k % 3 == 0 { &notes[k / 2] } else { n };
            at_once.upsert(n);
            stepped.read_last.set(0);
            stepped.upsert(n);
            assert_eq!(stepped.read_last.get(), 0, "an upsert merged");
            merges += usize::from(stepped.merging());
            while stepped.merging() {
                stepped.merge_step();
                steps += 1;
                assert!(stepped.read_last.get() <= step);
            }
        }
        assert!(
            merges > 10 && steps > 10 * merges,
            "{merges} merges in {steps} steps"
        );
        assert!(stepped.rewritten > 0, "a rewrite too");
        assert_eq!(stepped.encode(3), at_once.encode(3));
        for q in ["groceries", "note 4", "lorem", "96", "n"] {
            assert_eq!(stepped.search(q, 10), at_once.search(q, 10));
        }
        let mut saving = stepped.start_save(3);
        let mut bytes = Vec::new();
        let mut saves = 0;
        while !stepped
            .save_step(&mut saving, &mut |p| bytes.extend_from_slice(p))
            .unwrap()
        {
            assert!(stepped.read_last.get() <= step);
            saves += 1;
        }
        assert!(saves > 20, "{saves} steps");
        assert_eq!(bytes, at_once.encode(3));
    }

    /// The page's way (`app/src/io/web/search.rs`: slices of 50 notes, the merge an upsert
    /// started stepped before the rest of the slice): no merge is ever done at once inside
    /// an upsert, and the index comes out as one built with the merges at once.
    #[test]
    fn slices_taken_until_a_merge_starts_never_merge_inside_an_upsert() {
        let step = 64;
        let notes: Vec<LocalNote> = (0..5_000)
            .map(|i| {
                let title = format!("Note {i} groceries");
                let body = format!("Body {i}: lorem ipsum {}", i % 89);
                note(&format!("n{i:05}"), &title, &body, i as u64 + 1)
            })
            .collect();
        // Edits too (retired slots: rewrites drop them).
        let order: Vec<&LocalNote> = (0..notes.len())
            .map(|k| if k % 3 == 0 { &notes[k / 2] } else { &notes[k] })
            .collect();
        let mut at_once = SearchIndex {
            merge_min: 2_000,
            ..SearchIndex::new()
        };
        order.iter().for_each(|n| at_once.upsert(n));
        let mut stepped = SearchIndex {
            merge_min: 2_000,
            step,
            ..SearchIndex::new()
        };
        stepped.set_stepped_merges(true);
        let (mut merges, mut calls) = (0, 0);
        for slice in order.chunks(50) {
            let mut rest = slice;
            while !rest.is_empty() {
                stepped.read_last.set(0);
                let taken = stepped.upsert_until_merging(rest.iter().copied());
                assert_eq!(stepped.read_last.get(), 0, "an upsert merged");
                assert!(taken >= 1 && taken <= rest.len());
                rest = &rest[taken..];
                calls += 1;
                merges += usize::from(stepped.merging());
                while stepped.merging() {
                    stepped.merge_step();
                    assert!(stepped.read_last.get() <= step);
                }
            }
        }
        assert!(merges > 10, "{merges} merges");
        assert!(
            calls > order.len() / 50,
            "{calls} calls: slices were cut at merges"
        );
        assert_eq!(stepped.encode(3), at_once.encode(3));
        for q in ["groceries", "note 4", "lorem", "88", "n"] {
            assert_eq!(stepped.search(q, 10), at_once.search(q, 10));
        }
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
        let entries = ix.postings();
        assert!(entries < 20_000, "{entries}");
        assert!(ix.walls.len() < 20_000, "{}", ix.walls.len());
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
        // The formats before (posting lists as varint deltas; with the records' count and
        // length before them; before the filters' columns): built again.
        assert!(SearchIndex::decode(&[b"tern-si4", &bytes[8..]].concat()).is_none());
        assert!(SearchIndex::decode(&[b"tern-si3", &bytes[8..]].concat()).is_none());
        assert!(SearchIndex::decode(b"tern-si2\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0").is_none());
        assert!(SearchIndex::decode(b"tern-si1\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0").is_none());
        assert!(SearchIndex::decode(&bytes[..bytes.len() - 1]).is_none());
        assert!(SearchIndex::decode(&[bytes.as_slice(), &[0]].concat()).is_none());
    }

    /// The saved form is given out in parts of bounded size (the app saves them as they
    /// come), or written into one block asked for once at its size: held whole beside the
    /// index at the end of the initial sync's build, grown by doubling (its size guessed
    /// without the filters' columns), it was the tab's peak of memory
    /// (docs/performance.md, "Find").
    #[test]
    fn the_saved_form_is_written_in_parts_or_allocated_once_at_its_size() {
        use serde_json::json;
        let mut ix = SearchIndex::new();
        ix.upsert(&filed("t", "Alpha", 1, &[("kind", json!("tag"))]));
        ix.upsert(&filed("nb", "Archive", 1, &[("kind", json!("notebook"))]));
        for i in 0..5_000u64 {
            let mut n = filed(
                &format!("note-{i:05}"),
                &format!("A long title of note {i}, longer than its sort key"),
                10 + i,
                &[("tags", json!(["t"])), ("notebook", json!("nb"))],
            );
            n.content = format!("body {i} of words");
            ix.upsert(&n);
            if i % 3 == 0 {
                n.hlc.wall_ms += 10_000;
                ix.upsert(&n); // a retired slot, left out
            }
        }
        for merged in [false, true] {
            if merged {
                ix.merge();
            }
            let bytes = ix.encode(7);
            // Merged, the size foreseen is exact; else over by the fresh words' estimate.
            let slack = if merged { 0 } else { bytes.len() / 2 };
            assert!(
                bytes.capacity() <= bytes.len() + slack,
                "{} bytes in a block of {} (merged: {merged})",
                bytes.len(),
                bytes.capacity()
            );
            assert_eq!(SearchIndex::decode(&bytes).expect("decodes").0.len(), 5_000);
            let mut parts = Vec::new();
            ix.encode_to(7, &mut |p| parts.push(p.to_vec()));
            assert!(parts.len() > 2, "{} parts", parts.len());
            assert!(parts.iter().all(|p| p.len() < 2 * FLUSH));
            assert_eq!(parts.concat(), bytes);
        }
    }

    /// A note filed with `fields` (register values and the `tags` set).
    fn filed(id: &str, title: &str, at: u64, fields: &[(&str, serde_json::Value)]) -> LocalNote {
        use sync_core::fields::{FieldEdit, Fields, SetEdit};
        let mut n = note(id, title, "", at);
        let edits = fields
            .iter()
            .map(|(k, v)| {
                let e = match (k, v) {
                    (&"tags", serde_json::Value::Array(a)) => FieldEdit::Set(SetEdit {
                        add: a.iter().map(|t| t.as_str().unwrap().to_owned()).collect(),
                        remove: Default::default(),
                    }),
                    _ => FieldEdit::Register(v.clone()),
                };
                (k.to_string(), e)
            })
            .collect();
        n.fields = Fields::of_edits(&edits, &n.hlc);
        n
    }

    fn found(ix: &SearchIndex, q: &str, sort: Sort) -> Vec<String> {
        ix.find(&parse(q), sort, 10)
            .ids
            .into_iter()
            .map(|i| i.0)
            .collect()
    }

    /// The sidebar lists the records the index holds: live notebooks and tags, not notes,
    /// not deleted records.
    #[test]
    fn record_ids_are_the_live_notebooks_and_tags() {
        use serde_json::json;
        let mut ix = SearchIndex::new();
        ix.upsert(&filed("t1", "Work", 1, &[("kind", json!("tag"))]));
        ix.upsert(&filed("b1", "Home", 1, &[("kind", json!("notebook"))]));
        ix.upsert(&filed("b2", "Old", 1, &[("kind", json!("notebook"))]));
        ix.upsert(&filed("n1", "A note", 1, &[("tags", json!(["t1"]))]));
        let mut gone = filed("b2", "Old", 2, &[("kind", json!("notebook"))]);
        gone.deleted = true;
        ix.upsert(&gone);
        let ids = |v: Vec<NoteId>| v.into_iter().map(|i| i.0).collect::<Vec<_>>();
        let (notebooks, tags) = ix.record_ids();
        assert_eq!(ids(notebooks), ["b1"]);
        assert_eq!(ids(tags), ["t1"]);
        // Saved and loaded, the index still knows them.
        let (back, _) = SearchIndex::decode(&ix.encode(7)).unwrap();
        assert_eq!(ids(back.record_ids().0), ["b1"]);
    }

    #[test]
    fn filters_resolve_names_through_the_records_and_nest() {
        use serde_json::json;
        let mut ix = SearchIndex::new();
        ix.upsert(&filed("tw", "Work", 1, &[("kind", json!("tag"))]));
        ix.upsert(&filed("nw", "Work", 1, &[("kind", json!("notebook"))]));
        ix.upsert(&filed(
            "nc",
            "Clients",
            1,
            &[("kind", json!("notebook")), ("parent", json!("nw"))],
        ));
        ix.upsert(&filed(
            "a",
            "Buy milk",
            2,
            &[("tags", json!(["tw"])), ("pinned", json!(true))],
        ));
        ix.upsert(&filed("b", "Milk order", 3, &[("notebook", json!("nc"))]));
        ix.upsert(&filed(
            "c",
            "Eggs",
            4,
            &[("tags", json!(["tw"])), ("notebook", json!("nw"))],
        ));
        ix.upsert(&filed("d", "milk", 5, &[]));
        assert_eq!(found(&ix, "tag:work milk", Sort::Modified), ["a"]);
        assert_eq!(found(&ix, "TAG:WORK", Sort::Modified), ["c", "a"]);
        assert_eq!(found(&ix, "notebook:work", Sort::Modified), ["c", "b"]);
        assert_eq!(found(&ix, "notebook:Work/Clients", Sort::Modified), ["b"]);
        assert_eq!(found(&ix, "notebook:clients", Sort::Modified), ["b"]);
        assert_eq!(found(&ix, "is:pinned", Sort::Modified), ["a"]);
        assert_eq!(found(&ix, "tag:nope", Sort::Modified), Vec::<String>::new());
        assert_eq!(found(&ix, "", Sort::Title), ["a", "c", "d", "b"]);
        let c = ix.counts();
        assert_eq!(
            (
                c.all,
                c.pinned,
                c.tags["tw"],
                c.notebooks["nw"],
                c.notebooks["nc"]
            ),
            (4, 1, 2, 1, 1)
        );
        // A rename is one record: the old name finds nothing, the new one the same notes.
        ix.upsert(&filed("tw", "Office", 6, &[("kind", json!("tag"))]));
        assert_eq!(found(&ix, "tag:work", Sort::Modified), Vec::<String>::new());
        assert_eq!(found(&ix, "tag:office", Sort::Modified), ["c", "a"]);
        // A tag added counts at once; a deleted note counts no more.
        ix.upsert(&filed("d", "milk", 7, &[("tags", json!(["tw"]))]));
        assert_eq!(ix.counts().tags["tw"], 3);
        let mut gone = filed("a", "Buy milk", 8, &[]);
        gone.deleted = true;
        ix.upsert(&gone);
        assert_eq!(
            (ix.counts().tags["tw"], ix.counts().pinned, ix.counts().all),
            (2, 0, 3)
        );
    }

    /// A hostile history nesting notebooks thousands deep costs a bounded walk per
    /// notebook: a filter finds what lies up to `MAX_CHAIN` levels down.
    #[test]
    fn deep_notebooks_are_walked_a_bounded_depth() {
        use serde_json::json;
        let mut ix = SearchIndex::new();
        let depth = 3_000;
        for i in 0..depth {
            let mut f = vec![("kind", json!("notebook"))];
            if i > 0 {
                f.push(("parent", json!(format!("nb{}", i - 1))));
            }
            ix.upsert(&filed(&format!("nb{i}"), "Deep", 1, &f));
        }
        for i in [0, facets::MAX_CHAIN - 1, facets::MAX_CHAIN, depth - 1] {
            ix.upsert(&filed(
                &format!("n{i}"),
                "x",
                2,
                &[("notebook", json!(format!("nb{i}")))],
            ));
        }
        let start = std::time::Instant::now();
        let f = ix.find(&parse("notebook:deep"), Sort::Modified, 10);
        // Every notebook is named "Deep": each is found by its own name.
        assert_eq!(f.total, 4);
        ix.upsert(&filed("nb0", "Top", 1, &[("kind", json!("notebook"))]));
        let mut top: Vec<String> = found(&ix, "notebook:top", Sort::Modified);
        top.sort();
        assert_eq!(top, ["n0", format!("n{}", facets::MAX_CHAIN - 1).as_str()]);
        // (Generous: the point is no quadratic walk, which took minutes.)
        assert!(start.elapsed().as_secs() < 20);
    }

    /// The memory of a posting list (issue 24, item 7): about 2 bits per slot plus the
    /// log of the gap (Elias-Fano), where varint deltas took a byte or two each.
    #[test]
    fn posting_lists_take_bits_not_bytes_a_note() {
        let mut ix = SearchIndex::new();
        for i in 0..10_000u64 {
            let mut body = format!("every n{i}");
            if i.is_multiple_of(100) {
                body.push_str(" sparse");
            }
            ix.upsert(&note(&format!("n{i:05}"), "", &body, i));
        }
        ix.merge();
        let size = |word: &str| {
            let mut bytes = 0;
            ix.frozen.lists(word.as_bytes(), |l| bytes += l.len());
            bytes
        };
        // 2 bits a note: 2,500 bytes (was 10,000).
        assert!(size("every") <= 2_510, "{}", size("every"));
        // 100 slots 100 apart: 2 + 6 bits each, about 100 bytes (was 200).
        assert!(size("sparse") <= 115, "{}", size("sparse"));
        assert_eq!(ix.search("every sparse", 1000).unwrap().total, 100);
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

/// The index against its reference model (the index as it was, see [`reference`]) and
/// against itself built afresh, over random notes, edits, deletes and queries.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod model {
    use proptest::prelude::*;

    use super::reference::ReferenceIndex;
    use super::*;

    /// Words sharing prefixes, of several scripts, so that prefixes match several words.
    const VOCABULARY: &[&str] = &[
        "a",
        "ab",
        "abc",
        "abd",
        "b",
        "ba",
        "bab",
        "groc",
        "grocery",
        "groceries",
        "list",
        "li",
        "Liste",
        "東京",
        "東",
        "straße",
        "über",
        "x1",
        "x12",
        "x2",
        "2026",
    ];

    #[derive(Clone, Debug)]
    enum Op {
        Upsert {
            id: u8,
            title: Vec<usize>,
            body: Vec<usize>,
            wall: u64,
            counter: u32,
            deleted: bool,
        },
        Remove(u8),
    }

    fn op() -> impl Strategy<Value = Op> {
        let words = || prop::collection::vec(0..VOCABULARY.len(), 0..6);
        prop_oneof![
            6 => (0..8u8, words(), words(), 0..4u64, 0..2u32, prop::bool::weighted(0.1)).prop_map(
                |(id, title, body, wall, counter, deleted)| Op::Upsert {
                    id,
                    title,
                    body,
                    wall,
                    counter,
                    deleted,
                }
            ),
            1 => (0..8u8).prop_map(Op::Remove),
        ]
    }

    /// A query: up to 3 words, each a vocabulary word cut short (or one that matches
    /// nothing), in any case.
    fn query() -> impl Strategy<Value = String> {
        let word = (0..VOCABULARY.len() + 1, 1..6usize, any::<bool>());
        prop::collection::vec(word, 1..4).prop_map(|ws| {
            ws.into_iter()
                .map(|(w, cut, upper)| {
                    let w = VOCABULARY.get(w).copied().unwrap_or("zzz");
                    let w: String = w.chars().take(cut).collect();
                    if upper { w.to_uppercase() } else { w }
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
    }

    fn note(op: &Op) -> Option<LocalNote> {
        let Op::Upsert {
            id,
            title,
            body,
            wall,
            counter,
            deleted,
        } = op
        else {
            return None;
        };
        let text = |ws: &[usize]| {
            ws.iter()
                .map(|&w| VOCABULARY[w])
                .collect::<Vec<_>>()
                .join(" ")
        };
        let mut n = super::tests::note(&format!("n{id}"), &text(title), &text(body), *wall);
        n.hlc.counter = *counter;
        n.deleted = *deleted;
        Some(n)
    }

    fn apply(ix: &mut SearchIndex, model: &mut ReferenceIndex, op: &Op) {
        match (op, note(op)) {
            (_, Some(n)) => {
                ix.upsert(&n);
                model.upsert(&n);
            }
            (Op::Remove(id), None) => {
                let id: NoteId = NoteId(format!("n{id}"));
                ix.remove(&id);
                model.remove(&id);
            }
            (Op::Upsert { .. }, None) => unreachable!(),
        }
    }

    fn same(
        ix: &SearchIndex,
        model: &ReferenceIndex,
        queries: &[String],
    ) -> Result<(), TestCaseError> {
        prop_assert_eq!(ix.len(), model.len());
        for q in queries {
            for limit in [0, 1, 3, 100] {
                prop_assert_eq!(
                    ix.search(q, limit),
                    model.search(q, limit),
                    "{:?} {}",
                    q,
                    limit
                );
            }
        }
        Ok(())
    }

    /// Lists long enough for the posting encoding's edges (`postings`): a word in every
    /// note (no low bits), in every other, every 127th and 128th, in the first and the
    /// last, in the title of some; then edits, removes, appended merges (several segments
    /// a list) and rewrites, saves and loads, each answering as the reference model.
    #[test]
    fn long_lists_answer_as_the_reference_model() {
        let text = |i: u64, round: u64| {
            let mut w = vec!["every".to_owned(), format!("r{round}")];
            for (k, name) in [(2, "half"), (127, "p127"), (128, "p128"), (1000, "rare")] {
                if (i + round).is_multiple_of(k) {
                    w.push(name.to_owned());
                }
            }
            if i == 0 || i == 2_999 {
                w.push("ends".to_owned());
            }
            w.push(format!("n{i}"));
            // Words of 15 bytes and more (a record's head of two varints).
            w.push(format!("supercalifragilisticexpialidocious{}", i % 3));
            w.join(" ")
        };
        let queries = [
            "every",
            "half",
            "p12",
            "p127",
            "p128",
            "rare",
            "ends",
            "r",
            "r1",
            "n2",
            "n29",
            "every half",
            "half p128",
            "ends every",
            "zzz",
            "supercal",
            "supercalifragilisticexpialidocious1",
        ]
        .map(str::to_owned);
        for (merge_min, retired_min) in [(0, 0), (3_000, 100), (MERGE_MIN_BYTES, RETIRED_MIN)] {
            let mut ix = SearchIndex {
                merge_min,
                retired_min,
                recent_max: 1_000,
                ..SearchIndex::new()
            };
            let mut model = ReferenceIndex::default();
            let mut at = 0;
            for round in 0..3u64 {
                for i in (0..3_000u64).filter(|i| round == 0 || i % (round * 3 + 1) == 0) {
                    at += 1;
                    let title = if i.is_multiple_of(5) {
                        "Half title"
                    } else {
                        ""
                    };
                    let n = super::tests::note(&format!("n{i}"), title, &text(i, round), at);
                    ix.upsert(&n);
                    model.upsert(&n);
                }
                for i in (0..3_000u64).filter(|i| i % 97 == round) {
                    let id = NoteId(format!("n{i}"));
                    ix.remove(&id);
                    model.remove(&id);
                }
                same(&ix, &model, &queries).unwrap();
                let (back, _) = SearchIndex::decode(&ix.encode(1)).expect("decodes");
                same(&back, &model, &queries).unwrap();
            }
            ix.merge();
            same(&ix, &model, &queries).unwrap();
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

        /// Any interleaving of upserts, edits, deletes and removes answers every query as
        /// the reference model does (same matches, same order), whatever the merges; so do
        /// the index saved and loaded, and one built afresh from the notes as they are.
        /// With stepped merges (`steps`: how many steps the caller takes after each change,
        /// none to several; a change with a merge under way finishes it first), queries
        /// while a merge is under way answer as the model does too; a save taken a step at
        /// a time gives the same bytes, or stops at a change.
        #[test]
        fn answers_as_the_reference_model(
            ops in prop::collection::vec(op(), 0..60),
            more in prop::collection::vec(op(), 0..20),
            queries in prop::collection::vec(query(), 1..8),
            merge_min in prop_oneof![Just(0usize), Just(30), Just(300), Just(usize::MAX)],
            retired_min in prop_oneof![Just(0usize), Just(3), Just(RETIRED_MIN)],
            recent_max in prop_oneof![Just(1usize), Just(5), Just(RECENT_MAX)],
            stepped in any::<bool>(),
            step in prop_oneof![Just(1usize), Just(2), Just(5), Just(STEP)],
            steps in prop::collection::vec(0..4usize, 60),
        ) {
            let mut ix = SearchIndex {
                merge_min, retired_min, recent_max, stepped, step, ..SearchIndex::new()
            };
            let mut model = ReferenceIndex::default();
            // The notes as they are, in the order they were last indexed.
            let mut notes: Vec<LocalNote> = Vec::new();
            for (k, op) in ops.iter().enumerate() {
                apply(&mut ix, &mut model, op);
                prop_assert!(stepped || !ix.merging());
                for _ in 0..steps[k] {
                    ix.merge_step();
                }
                if k % 7 == 3 {
                    // A save a step at a time, merge or none under way.
                    let mut saving = ix.start_save(7);
                    let mut bytes = Vec::new();
                    while !ix.save_step(&mut saving, &mut |p| bytes.extend_from_slice(p)).expect("unchanged") {}
                    prop_assert_eq!(&bytes, &ix.encode(7));
                    // A change stops the next step (the bytes would mix two states).
                    let mut saving = ix.start_save(7);
                    apply(&mut ix, &mut model, op);
                    prop_assert_eq!(ix.save_step(&mut saving, &mut |_| {}), None);
                }
                let id: NoteId = match op {
                    Op::Upsert { id, .. } | Op::Remove(id) => NoteId(format!("n{id}")),
                };
                notes.retain(|n| n.id != id);
                notes.extend(note(op).filter(|n| !n.deleted));
                same(&ix, &model, &queries[..1])?;
            }
            same(&ix, &model, &queries)?;
            for n in &notes {
                prop_assert!(ix.contains(&n.id));
            }

            let mut fresh = SearchIndex::new();
            notes.iter().for_each(|n| fresh.upsert(n));
            same(&fresh, &model, &queries)?;

            let (mut back, seq) = SearchIndex::decode(&ix.encode(7)).expect("decodes");
            prop_assert_eq!(seq, 7);
            back.merge_min = merge_min;
            back.retired_min = retired_min;
            back.recent_max = recent_max;
            same(&back, &model, &queries)?;
            for op in &more {
                apply(&mut back, &mut model, op);
            }
            same(&back, &model, &queries)?;
        }

        /// Damaged bytes never load as an index that panics: they are refused, or answer.
        #[test]
        fn damaged_bytes_are_refused_or_harmless(
            ops in prop::collection::vec(op(), 1..30),
            flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
            queries in prop::collection::vec(query(), 1..4),
        ) {
            let mut ix = SearchIndex::new();
            let mut model = ReferenceIndex::default();
            ops.iter().for_each(|op| apply(&mut ix, &mut model, op));
            let mut bytes = ix.encode(1);
            for (at, b) in flips {
                let at = at.index(bytes.len());
                bytes[at] ^= b | 1;
            }
            if let Some((mut back, _)) = SearchIndex::decode(&bytes) {
                for q in &queries {
                    let _ = back.search(q, 10);
                }
                ops.iter().filter_map(note).for_each(|n| back.upsert(&n));
                back.merge();
            }
        }
    }
}

/// Filters, sorts and counts against their reference model ([`reference_find`]: every
/// query a pass over the notes themselves), over random notes, notebook and tag records
/// (renamed, nested, in cycles, deleted), edits, removes, merges and saves.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod find_model {
    use std::collections::{BTreeMap, BTreeSet};

    use proptest::prelude::*;
    use sync_core::fields::{FieldEdit, Fields, SetEdit};

    use super::reference_find::ReferenceFind;
    use super::*;

    /// Record names, some the same but for case.
    const NAMES: &[&str] = &["Work", "work", "Home", "to do", "Straße", "STRASSE"];
    const WORDS: &[&str] = &["milk", "mil", "eggs", "work", "a", "ab", "Zebra", "zoo", ""];

    #[derive(Clone, Debug)]
    enum Op {
        Note {
            id: u8,
            title: Vec<usize>,
            body: Vec<usize>,
            wall: u64,
            counter: u32,
            deleted: bool,
            tags: Vec<u8>,
            notebook: Option<u8>,
            pinned: bool,
            created: Option<u64>,
        },
        Record {
            k: u8,
            tag: bool,
            name: usize,
            parent: Option<u8>,
            deleted: bool,
        },
        Remove(String),
    }

    fn op() -> impl Strategy<Value = Op> {
        let words = || prop::collection::vec(0..WORDS.len(), 0..4);
        let note = (
            (0..10u8, words(), words(), 0..4u64, 0..2u32),
            (
                prop::bool::weighted(0.1),
                prop::collection::vec(0..5u8, 0..3),
                prop::option::of(0..5u8),
                any::<bool>(),
                prop::option::of(0..4u64),
            ),
        )
            .prop_map(
                |((id, title, body, wall, counter), (deleted, tags, notebook, pinned, created))| {
                    Op::Note {
                        id,
                        title,
                        body,
                        wall,
                        counter,
                        deleted,
                        tags,
                        notebook,
                        pinned,
                        created,
                    }
                },
            );
        let record = (
            0..4u8,
            any::<bool>(),
            0..NAMES.len(),
            prop::option::of(0..4u8),
            prop::bool::weighted(0.15),
        )
            .prop_map(|(k, tag, name, parent, deleted)| Op::Record {
                k,
                tag,
                name,
                parent,
                deleted,
            });
        let remove = prop_oneof![
            (0..10u8).prop_map(|i| format!("n{i}")),
            (0..4u8).prop_map(|i| format!("t{i}")),
            (0..4u8).prop_map(|i| format!("b{i}")),
        ]
        .prop_map(Op::Remove);
        prop_oneof![6 => note, 3 => record, 1 => remove]
    }

    fn filter() -> impl Strategy<Value = Filter> {
        let name = (0..NAMES.len() + 1).prop_map(|i| NAMES.get(i).copied().unwrap_or("nope"));
        prop_oneof![
            name.clone().prop_map(|n| Filter::Tag(n.to_owned())),
            prop::collection::vec(name, 1..3)
                .prop_map(|p| Filter::Notebook(p.into_iter().map(str::to_owned).collect())),
            Just(Filter::Pinned),
        ]
    }

    fn query() -> impl Strategy<Value = (Query, Sort)> {
        let text = prop::collection::vec((0..WORDS.len(), 1..4usize), 0..3).prop_map(|ws| {
            ws.into_iter()
                .map(|(w, cut)| WORDS[w].chars().take(cut).collect::<String>())
                .collect::<Vec<_>>()
                .join(" ")
        });
        (
            text,
            prop::collection::vec(filter(), 0..3),
            prop::sample::select(Sort::ALL.to_vec()),
        )
            .prop_map(|(text, filters, sort)| (Query { text, filters }, sort))
    }

    fn note(op: &Op) -> Option<LocalNote> {
        let mut edits: BTreeMap<String, FieldEdit> = BTreeMap::new();
        let n = match op {
            Op::Note {
                id,
                title,
                body,
                wall,
                counter,
                deleted,
                tags,
                notebook,
                pinned,
                created,
            } => {
                let text =
                    |ws: &[usize]| ws.iter().map(|&w| WORDS[w]).collect::<Vec<_>>().join(" ");
                let mut n = super::tests::note(&format!("n{id}"), &text(title), &text(body), *wall);
                n.hlc.counter = *counter;
                n.deleted = *deleted;
                // Tag ids: four tag records, and a notebook's id (no tag's).
                let tags: BTreeSet<String> = tags
                    .iter()
                    .map(|&t| if t == 4 { "b0".into() } else { format!("t{t}") })
                    .collect();
                if !tags.is_empty() {
                    let add = SetEdit {
                        add: tags,
                        remove: BTreeSet::new(),
                    };
                    edits.insert("tags".into(), FieldEdit::Set(add));
                }
                if let Some(nb) = notebook {
                    // (`b4` is no record.)
                    edits.insert(
                        "notebook".into(),
                        FieldEdit::Register(format!("b{nb}").into()),
                    );
                }
                if *pinned {
                    edits.insert("pinned".into(), FieldEdit::Register(true.into()));
                }
                if let Some(c) = created {
                    // (Some in the same second, some not.)
                    edits.insert("created".into(), FieldEdit::Register((*c * 700).into()));
                }
                n
            }
            Op::Record {
                k,
                tag,
                name,
                parent,
                deleted,
            } => {
                let id = if *tag {
                    format!("t{k}")
                } else {
                    format!("b{k}")
                };
                let mut n = super::tests::note(&id, NAMES[*name], "", 1);
                n.deleted = *deleted;
                let kind = if *tag { "tag" } else { "notebook" };
                edits.insert("kind".into(), FieldEdit::Register(kind.into()));
                if let (false, Some(p)) = (tag, parent) {
                    edits.insert("parent".into(), FieldEdit::Register(format!("b{p}").into()));
                }
                n
            }
            Op::Remove(_) => return None,
        };
        let mut n = n;
        n.fields = Fields::of_edits(&edits, &n.hlc);
        Some(n)
    }

    fn apply(ix: &mut SearchIndex, model: &mut ReferenceFind, op: &Op) {
        match (op, note(op)) {
            (_, Some(n)) => {
                ix.upsert(&n);
                model.upsert(&n);
            }
            (Op::Remove(id), None) => {
                ix.remove(&NoteId(id.clone()));
                model.remove(&NoteId(id.clone()));
            }
            _ => unreachable!(),
        }
    }

    fn same(
        ix: &SearchIndex,
        model: &ReferenceFind,
        queries: &[(Query, Sort)],
    ) -> Result<(), TestCaseError> {
        prop_assert_eq!(ix.counts(), model.counts());
        for (q, sort) in queries {
            for limit in [0, 1, 3, 100] {
                prop_assert_eq!(
                    ix.find(q, *sort, limit),
                    model.find(q, *sort, limit),
                    "{:?} {:?} {}",
                    q,
                    sort,
                    limit
                );
            }
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

        /// Any interleaving of notes filed and refiled, records created, renamed, nested,
        /// deleted and removes answers every filter and sort as the reference model does
        /// (same notes, same order, same total) and counts the same, whatever the merges;
        /// so does the index saved and loaded, and it goes on being updated.
        #[test]
        fn finds_and_counts_as_the_reference_model(
            ops in prop::collection::vec(op(), 0..60),
            more in prop::collection::vec(op(), 0..20),
            queries in prop::collection::vec(query(), 1..8),
            merge_min in prop_oneof![Just(0usize), Just(30), Just(usize::MAX)],
            retired_min in prop_oneof![Just(0usize), Just(3), Just(RETIRED_MIN)],
        ) {
            let mut ix = SearchIndex { merge_min, retired_min, recent_max: 5, ..SearchIndex::new() };
            let mut model = ReferenceFind::default();
            for op in &ops {
                apply(&mut ix, &mut model, op);
                same(&ix, &model, &queries[..1])?;
            }
            same(&ix, &model, &queries)?;
            let (mut back, _) = SearchIndex::decode(&ix.encode(7)).expect("decodes");
            back.merge_min = merge_min;
            back.retired_min = retired_min;
            same(&back, &model, &queries)?;
            for op in &more {
                apply(&mut back, &mut model, op);
            }
            same(&back, &model, &queries)?;
        }

        /// Damaged saved bytes with filed notes and records are refused, or load as an
        /// index whose finds, counts, updates and merges do not panic.
        #[test]
        fn damaged_filed_bytes_are_refused_or_harmless(
            ops in prop::collection::vec(op(), 1..30),
            flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
            queries in prop::collection::vec(query(), 1..4),
        ) {
            let mut ix = SearchIndex::new();
            let mut model = ReferenceFind::default();
            ops.iter().for_each(|op| apply(&mut ix, &mut model, op));
            let mut bytes = ix.encode(1);
            for (at, b) in flips {
                let at = at.index(bytes.len());
                bytes[at] ^= b | 1;
            }
            if let Some((mut back, _)) = SearchIndex::decode(&bytes) {
                for (q, sort) in &queries {
                    let _ = back.find(q, *sort, 10);
                }
                let _ = back.counts();
                ops.iter().filter_map(note).for_each(|n| back.upsert(&n));
                back.merge();
                for (q, sort) in &queries {
                    let _ = back.find(q, *sort, 10);
                }
            }
        }
    }
}
