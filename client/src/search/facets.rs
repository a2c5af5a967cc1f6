//! What the index keeps of each slot besides its words: what the filters and sorts of the
//! search box ask about ([`super::query`]), and the counts of the sidebar.
//!
//! Per slot, in columns parallel to the index's stamps:
//! - its creation date, in seconds (the `created` field; a note from before it, its
//!   clock): notes created in the same second are ordered by their stamp;
//! - a pinned bit;
//! - its title's sort key: the title case-folded, its first [`TITLE_KEY`] bytes (cut at a
//!   character), all in one byte string;
//! - its labels: its notebook's and tags' record ids, each a number (an interned id, with
//!   a bit for "notebook"), as `slot << 32 | label` entries in slot order in one vector (a
//!   note with none costs nothing).
//!
//! Besides: the notebook and tag records the device holds (id, name, parent), so a name
//! typed in the search box resolves to ids without reading the store; and the counts of
//! live notes per label and pinned, kept up to date slot by slot.

use std::collections::HashMap;

use sync_core::fields::{Fields, Kind};

use super::bytes::{Reader, put_varint, varint_len};
use super::query::{Filter, fold};
use crate::local::LocalNote;

/// Bytes of a title's sort key: titles the same in their first this many (case-folded)
/// bytes are ordered by their stamp, newest first.
pub const TITLE_KEY: usize = 24;

/// Most notebooks in a notebook's chain (itself and those above it): a filter's work per
/// notebook is bounded by it whatever a hostile or broken history nested. A notebook deeper
/// than this below another is not found by the other's filter.
pub const MAX_CHAIN: usize = 32;

/// A label's bit saying it names a notebook (else a tag).
const NOTEBOOK: u32 = 1;

/// How many live notes each filter of the sidebar finds: all of them, the pinned ones, and
/// those of each notebook (directly in it, not in its sub-notebooks) and each tag, by record
/// id.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Every note indexed.
    pub all: usize,
    /// Notes pinned.
    pub pinned: usize,
    /// Notes by notebook record id.
    pub notebooks: HashMap<String, usize>,
    /// Notes by tag record id.
    pub tags: HashMap<String, usize>,
}

/// A notebook or tag record, as the filters need it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Record {
    notebook: bool,
    /// Its name, case-folded.
    name: String,
    /// Its parent notebook's interned id (notebooks).
    parent: Option<u32>,
}

#[derive(Default)]
pub(super) struct Facets {
    /// Seconds since the epoch ([`created_s`]).
    created: Vec<u32>,
    /// Bit `s`: slot `s` is pinned.
    pinned: Vec<u64>,
    titles: Vec<u8>,
    title_ends: Vec<u32>,
    /// `slot << 32 | label`, sorted.
    labels: Vec<u64>,
    /// Interned record ids: number `i` is `names[i]`.
    names: Vec<Box<str>>,
    numbers: HashMap<Box<str>, u32>,
    /// Live notes per label, and pinned.
    counts: HashMap<u32, u32>,
    pinned_count: usize,
    /// The live notebook and tag records, by interned id.
    records: HashMap<u32, Record>,
}

fn bit(bits: &[u64], s: usize) -> bool {
    bits.get(s / 64).is_some_and(|w| w & (1 << (s % 64)) != 0)
}

fn set_bit(bits: &mut Vec<u64>, s: usize) {
    if bits.len() <= s / 64 {
        bits.resize(s / 64 + 1, 0);
    }
    bits[s / 64] |= 1 << (s % 64);
}

/// The sort key of a title (see [`TITLE_KEY`]).
pub(super) fn title_key(title: &str) -> String {
    let mut k = fold(title);
    if k.len() > TITLE_KEY {
        let mut end = TITLE_KEY;
        while !k.is_char_boundary(end) {
            end -= 1;
        }
        k.truncate(end);
    }
    k
}

/// A creation date (ms since the epoch) as the index keeps it: in seconds (to 2106).
pub(super) fn created_s(ms: u64) -> u32 {
    u32::try_from(ms / 1000).unwrap_or(u32::MAX)
}

/// What a slot holds, taken from a note.
pub(super) struct SlotFacets {
    created: u32,
    pinned: bool,
    title: String,
    /// Record ids: the notebook's (with `true`), the tags'.
    labels: Vec<(String, bool)>,
}

impl SlotFacets {
    /// `f`: the note's fields as shown ([`LocalNote::shown_fields`]).
    pub(super) fn of(note: &LocalNote, f: &Fields) -> Self {
        let mut labels: Vec<(String, bool)> =
            f.set("tags").into_iter().map(|t| (t, false)).collect();
        labels.extend(f.id("notebook").map(|nb| (nb, true)));
        Self {
            created: created_s(f.created_ms().unwrap_or(note.hlc.wall_ms)),
            pinned: f.pinned(),
            title: title_key(&note.title),
            labels,
        }
    }
}

impl Facets {
    fn intern(&mut self, id: &str) -> u32 {
        if let Some(&n) = self.numbers.get(id) {
            return n;
        }
        let n = u32::try_from(self.names.len()).expect("fewer than 2^31 record ids");
        assert!(n < 1 << 31, "fewer than 2^31 record ids");
        self.names.push(id.into());
        self.numbers.insert(id.into(), n);
        n
    }

    /// Adds slot `slot` (the next one), live.
    pub(super) fn push(&mut self, slot: u32, f: SlotFacets) {
        debug_assert_eq!(slot as usize, self.created.len());
        self.created.push(f.created);
        if f.pinned {
            set_bit(&mut self.pinned, slot as usize);
            self.pinned_count += 1;
        }
        self.titles.extend_from_slice(f.title.as_bytes());
        self.title_ends.push(self.titles.len() as u32);
        let mut mine: Vec<u32> = f
            .labels
            .iter()
            .map(|(id, nb)| self.intern(id) << 1 | if *nb { NOTEBOOK } else { 0 })
            .collect();
        mine.sort_unstable();
        mine.dedup();
        for l in mine {
            self.labels.push(u64::from(slot) << 32 | u64::from(l));
            *self.counts.entry(l).or_default() += 1;
        }
    }

    /// The labels of slot `s`.
    fn labels_of(&self, s: u32) -> &[u64] {
        let from = self.labels.partition_point(|&e| e >> 32 < u64::from(s));
        let to = self.labels.partition_point(|&e| e >> 32 <= u64::from(s));
        &self.labels[from..to]
    }

    /// Slot `s` is retired: it counts no more.
    pub(super) fn retire(&mut self, s: u32) {
        if bit(&self.pinned, s as usize) {
            self.pinned_count -= 1;
        }
        let from = self.labels.partition_point(|&e| e >> 32 < u64::from(s));
        for i in from..self.labels.len() {
            let e = self.labels[i];
            if e >> 32 != u64::from(s) {
                break;
            }
            let l = e as u32;
            if let Some(c) = self.counts.get_mut(&l) {
                *c -= 1;
                if *c == 0 {
                    self.counts.remove(&l);
                }
            }
        }
    }

    /// The slots numbered again (see `SearchIndex::renumbering`): retired ones left out.
    /// In place: a slot's new number is never above its old one, so every column is
    /// compacted front to back with no second copy (a rewrite of the words already holds
    /// two copies of them at its peak).
    pub(super) fn renumber(&mut self, renumber: &[u32], kept: u32) {
        let mut pinned = vec![0; (kept as usize).div_ceil(64)];
        let mut title_at = 0; // where the next kept title goes
        let mut start = 0; // where slot `s`'s title starts (before compaction)
        for (s, &new) in renumber.iter().enumerate() {
            let end = self.title_ends[s] as usize;
            if new != u32::MAX {
                let n = new as usize;
                self.created[n] = self.created[s];
                if bit(&self.pinned, s) {
                    set_bit(&mut pinned, n);
                }
                self.titles.copy_within(start..end, title_at);
                title_at += end - start;
                self.title_ends[n] = title_at as u32;
            }
            start = end;
        }
        self.created.truncate(kept as usize);
        self.title_ends.truncate(kept as usize);
        self.titles.truncate(title_at);
        self.pinned = pinned;
        self.labels.retain_mut(|e| {
            let new = renumber[(*e >> 32) as usize];
            *e = u64::from(new) << 32 | (*e & 0xffff_ffff);
            new != u32::MAX
        });
    }

    pub(super) fn created(&self, s: u32) -> u32 {
        self.created[s as usize]
    }

    pub(super) fn title(&self, s: u32) -> &[u8] {
        let s = s as usize;
        let start = if s == 0 {
            0
        } else {
            self.title_ends[s - 1] as usize
        };
        &self.titles[start..self.title_ends[s] as usize]
    }

    /// Notes the device's records say what they are: a live notebook or tag is kept (its
    /// name and parent), anything else forgotten as a record.
    /// `kind`: the note's kind.
    pub(super) fn record(&mut self, note: &LocalNote, kind: Kind) {
        if note.deleted || kind == Kind::Note {
            if let Some(&n) = self.numbers.get(note.id.as_str()) {
                self.records.remove(&n);
            }
            return;
        }
        let n = self.intern(note.id.as_str());
        let parent = match kind {
            Kind::Notebook => note.notebook_id().map(|p| self.intern(p.as_str())),
            _ => None,
        };
        self.records.insert(
            n,
            Record {
                notebook: kind == Kind::Notebook,
                name: fold(&note.title),
                parent,
            },
        );
    }

    /// The ids of the live notebook records (`notebook`), or of the tag records.
    pub(super) fn record_ids(&self, notebook: bool) -> Vec<&str> {
        self.records
            .iter()
            .filter(|(_, r)| r.notebook == notebook)
            .map(|(&n, _)| &*self.names[n as usize])
            .collect()
    }

    /// The record `id` is gone.
    pub(super) fn forget_record(&mut self, id: &str) {
        if let Some(&n) = self.numbers.get(id) {
            self.records.remove(&n);
        }
    }

    /// The live notebook `n`'s parent, if it is a live notebook.
    fn parent(&self, n: u32) -> Option<u32> {
        let p = self.records.get(&n)?.parent?;
        self.records.get(&p).filter(|r| r.notebook).map(|_| p)
    }

    /// Notebook `n` and the notebooks above it, nearest first: up to the top, or to a
    /// notebook met twice (a cycle, made by two devices each moving one notebook into
    /// the other at once), at most [`MAX_CHAIN`]. A notebook inside such a cycle is at
    /// the top level, as `Notes::parent_of` shows it.
    fn chain(&self, n: u32) -> Vec<u32> {
        let mut out = vec![n];
        let mut at = self.parent(n);
        while let Some(p) = at {
            if p == n {
                return vec![n];
            }
            if out.contains(&p) || out.len() == MAX_CHAIN {
                break;
            }
            out.push(p);
            at = self.parent(p);
        }
        out
    }

    /// The labels filter `f` accepts (`None`: not a label filter, i.e. `is:pinned`).
    fn accepted(&self, f: &Filter) -> Option<Vec<u32>> {
        let mut out: Vec<u32> = match f {
            Filter::Pinned => return None,
            Filter::Tag(name) => {
                let name = fold(name);
                self.records
                    .iter()
                    .filter(|(_, r)| !r.notebook && r.name == name)
                    .map(|(&n, _)| n << 1)
                    .collect()
            }
            Filter::Notebook(path) => {
                let path: Vec<String> = path.iter().map(|p| fold(p)).collect();
                let last = path.last().expect("a path has a name");
                // The notebooks whose path ends with `path` (each chain walked once).
                let named: std::collections::HashSet<u32> = self
                    .records
                    .iter()
                    .filter(|&(_, r)| r.notebook && r.name == *last)
                    .map(|(&n, _)| n)
                    .filter(|&n| {
                        let chain = self.chain(n);
                        chain.len() >= path.len()
                            && path
                                .iter()
                                .rev()
                                .zip(&chain)
                                .all(|(want, &c)| self.records[&c].name == *want)
                    })
                    .collect();
                if named.is_empty() {
                    return Some(Vec::new());
                }
                // Every notebook with such a notebook in its chain (itself or above).
                self.records
                    .iter()
                    .filter(|&(&n, r)| {
                        r.notebook && self.chain(n).iter().any(|c| named.contains(c))
                    })
                    .map(|(&n, _)| n << 1 | NOTEBOOK)
                    .collect()
            }
        };
        out.sort_unstable();
        Some(out)
    }

    /// The slots (of `slots`) filter `f` accepts, as a bit set.
    pub(super) fn slots(&self, f: &Filter, slots: usize) -> Vec<u64> {
        let Some(accepted) = self.accepted(f) else {
            let mut p = self.pinned.clone();
            p.resize(slots.div_ceil(64), 0);
            return p;
        };
        let mut out = vec![0u64; slots.div_ceil(64)];
        if accepted.is_empty() {
            return out;
        }
        for &e in &self.labels {
            if accepted.binary_search(&(e as u32)).is_ok() {
                set_bit(&mut out, (e >> 32) as usize);
            }
        }
        out
    }

    /// The live notes per notebook and tag record id, and pinned.
    pub(super) fn counts(&self, all: usize) -> Counts {
        let mut c = Counts {
            all,
            pinned: self.pinned_count,
            ..Default::default()
        };
        for (&l, &n) in &self.counts {
            let id = self.names[(l >> 1) as usize].to_string();
            let map = if l & NOTEBOOK != 0 {
                &mut c.notebooks
            } else {
                &mut c.tags
            };
            map.insert(id, n as usize);
        }
        c
    }
}

/// The saved form (see `SearchIndex::encode`): the interned ids and the records first,
/// then each kept slot's facets after its stamp and id.
impl Facets {
    /// `kept`: the slots written after it (their titles' and labels' total is written here,
    /// so a load reserves each column once: no growth by doubling, no holes it leaves).
    pub(super) fn encode_head(&self, out: &mut Vec<u8>, kept: impl Iterator<Item = u32>) {
        let (mut titles, mut labels) = (0u64, 0u64);
        for s in kept {
            titles += self.title(s).len() as u64;
            labels += self.labels_of(s).len() as u64;
        }
        out.extend_from_slice(&titles.to_le_bytes());
        out.extend_from_slice(&labels.to_le_bytes());
        out.extend_from_slice(&(self.names.len() as u32).to_le_bytes());
        for n in &self.names {
            put_varint(out, n.len() as u32);
            out.extend_from_slice(n.as_bytes());
        }
        let mut records: Vec<(&u32, &Record)> = self.records.iter().collect();
        records.sort_unstable_by_key(|(n, _)| **n);
        out.extend_from_slice(&(records.len() as u32).to_le_bytes());
        for (&n, r) in records {
            put_varint(out, n);
            out.push(u8::from(r.notebook));
            put_varint(out, r.name.len() as u32);
            out.extend_from_slice(r.name.as_bytes());
            put_varint(out, r.parent.map_or(0, |p| p + 1));
        }
    }

    /// How many bytes [`Facets::encode_head`] and [`Facets::encode_slot`] write for the
    /// `kept` slots: the saved form is allocated once at its size (see
    /// `SearchIndex::encode`).
    pub(super) fn encoded_len(&self, kept: impl Iterator<Item = u32>) -> usize {
        let text = |len: usize| varint_len(len as u32) + len;
        let mut n = 8 + 8 + 4 + 4; // the totals, the names' and the records' counts
        n += self.names.iter().map(|id| text(id.len())).sum::<usize>();
        for (&i, r) in &self.records {
            n += varint_len(i) + 1 + text(r.name.len()) + varint_len(r.parent.map_or(0, |p| p + 1));
        }
        for s in kept {
            let labels = self.labels_of(s);
            n += 4 + 1 + text(self.title(s).len()) + varint_len(labels.len() as u32);
            n += labels.iter().map(|&e| varint_len(e as u32)).sum::<usize>();
        }
        n
    }

    pub(super) fn encode_slot(&self, s: u32, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.created[s as usize].to_le_bytes());
        out.push(u8::from(bit(&self.pinned, s as usize)));
        let t = self.title(s);
        put_varint(out, t.len() as u32);
        out.extend_from_slice(t);
        let labels = self.labels_of(s);
        put_varint(out, labels.len() as u32);
        for &e in labels {
            put_varint(out, e as u32);
        }
    }

    /// The head [`Facets::encode_head`] wrote, checked; `None` if damaged.
    pub(super) fn decode_head(r: &mut Reader<'_>) -> Option<Self> {
        let mut f = Self::default();
        // (Sizes from outside: no more than the bytes could hold.)
        let titles = usize::try_from(r.u64()?).ok()?.min(r.0.len());
        let labels = usize::try_from(r.u64()?).ok()?.min(r.0.len());
        f.titles.reserve_exact(titles);
        f.labels.reserve_exact(labels);
        let names = r.u32()? as usize;
        for _ in 0..names {
            let len = r.varint()? as usize;
            let id = std::str::from_utf8(r.take(len)?).ok()?;
            if f.numbers.contains_key(id) {
                return None; // twice
            }
            f.intern(id);
        }
        let records = r.u32()? as usize;
        for _ in 0..records {
            let n = r.varint()?;
            let notebook = match r.take(1)?[0] {
                0 => false,
                1 => true,
                _ => return None,
            };
            let len = r.varint()? as usize;
            let name = std::str::from_utf8(r.take(len)?).ok()?.to_owned();
            let parent = match r.varint()? {
                0 => None,
                p => Some(p - 1),
            };
            let known = |x: u32| (x as usize) < names;
            if !known(n) || !parent.is_none_or(known) {
                return None;
            }
            let rec = Record {
                notebook,
                name,
                parent,
            };
            if f.records.insert(n, rec).is_some() {
                return None;
            }
        }
        Some(f)
    }

    /// Room for `n` slots (a load knows how many).
    pub(super) fn reserve(&mut self, n: usize) {
        self.created.reserve_exact(n);
        self.title_ends.reserve_exact(n);
        self.pinned.reserve_exact(n.div_ceil(64));
    }

    /// No room left over (after a load, or a build from every note).
    pub(super) fn shrink(&mut self) {
        self.created.shrink_to_fit();
        self.pinned.shrink_to_fit();
        self.titles.shrink_to_fit();
        self.title_ends.shrink_to_fit();
        self.labels.shrink_to_fit();
    }

    /// Slot `slot`'s facets, as [`Facets::encode_slot`] wrote them, checked.
    pub(super) fn decode_slot(&mut self, slot: u32, r: &mut Reader<'_>) -> Option<()> {
        let created = r.u32()?;
        let pinned = match r.take(1)?[0] {
            0 => false,
            1 => true,
            _ => return None,
        };
        let len = r.varint()? as usize;
        if len > TITLE_KEY {
            return None;
        }
        let title = r.take(len)?;
        let n = r.varint()? as usize;
        if n > 2 * sync_core::fields::MAX_SET_ITEMS + 1 {
            return None;
        }
        self.created.push(created);
        if pinned {
            set_bit(&mut self.pinned, slot as usize);
            self.pinned_count += 1;
        }
        self.titles.extend_from_slice(title);
        self.title_ends.push(self.titles.len() as u32);
        let mut prev = None;
        for _ in 0..n {
            let l = r.varint()?;
            if (l >> 1) as usize >= self.names.len() || prev.is_some_and(|p| p >= l) {
                return None; // an unknown id, or not in order
            }
            prev = Some(l);
            self.labels.push(u64::from(slot) << 32 | u64::from(l));
            *self.counts.entry(l).or_default() += 1;
        }
        Some(())
    }
}

impl Facets {
    /// Heap bytes per column (for the bench's breakdown; hash maps counted by their
    /// entries, a lower bound).
    pub(super) fn heap_parts(&self) -> Vec<(&'static str, usize)> {
        vec![
            ("facets: created", self.created.capacity() * 4),
            (
                "facets: titles",
                self.titles.capacity() + self.title_ends.capacity() * 4,
            ),
            (
                "facets: labels",
                self.labels.capacity() * 8 + self.pinned.capacity() * 8,
            ),
        ]
    }
}
