//! Notes in packs (schema 6): how an initial sync stores 100,000 notes in a few seconds.
//!
//! IndexedDB's cost is per record (from page JS, 20,000 records took about 2 s whatever
//! their size; the same data 1,000 to a record took 56 ms), so a pulled page of notes none
//! of which is here is written as ONE record: a **pack**. Two object stores, both keyed by
//! the pack's first change sequence number (its *key*):
//! - `packs`: the pack's body, an array of the notes' records as JSON texts, exactly the
//!   records `notes` would hold (`order`, `trashed`, `seq` included), sorted by id; the note
//!   at position `i` has the sequence number `key + i` (a pack holds one contiguous range);
//! - `pack_heads`: its header, `{ids, orders, by_order}`: the ids (sorted), each note's
//!   `order` (null for a tombstone or a record that is not in the list), and the positions
//!   of the live notes by `order`, ascending. Small: read once when a page opens the
//!   database ([`Tier`]), never the bodies.
//!
//! A record in `notes` always shadows the pack copy of the same id: it was written after
//! the pack (a pack is written only when none of its notes is in the store, checked in its
//! transaction; an unpacked note keeps its pack's sequence number, and its pack is deleted
//! in the same transaction). Pack notes are pulled states, never pending nor in the trash.
//! The unpacker ([`super::IdbStore`]) moves packs into `notes` in the background, lowest
//! key first, one pack a transaction; when no pack is left the store is as before packs.
//!
//! [`Tier`] is what one page knows of the packs: their headers, each with an id -> place
//! index (as hashes), and which ids have a record in `notes` written since the oldest pack (the
//! shadows). It is valid for one change sequence number and one set of pack keys; every
//! transaction checks both (another tab or the service worker may write meanwhile) and the
//! tier is refreshed when either moved.

use std::collections::{BinaryHeap, HashSet};
use std::rc::Rc;

use js_sys::{Array, Reflect};
use sync_core::NoteId;
use wasm_bindgen::JsValue;

use crate::local::{LocalNote, StoreError};

pub(super) const PACKS: &str = "packs";
pub(super) const PACK_HEADS: &str = "pack_heads";

/// One pack's header (see the module's docs).
pub(super) struct Head {
    pub key: u64,
    pub len: u32,
    ids: Array,
    orders: Array,
    by_order: Vec<u16>,
    /// (id hash, position), sorted: 6 bytes a note, in blocks of a pack (one index of every
    /// packed note, merged as packs come, cost twice its size while growing); ids whose
    /// hashes collide are told apart by the ids.
    index: Vec<(u32, u16)>,
}

fn field(o: &JsValue, k: &str) -> Result<JsValue, StoreError> {
    Reflect::get(o, &k.into()).map_err(|_| StoreError::Corrupt(format!("a pack without {k}")))
}

impl Head {
    /// A stored header.
    pub fn from_js(key: u64, v: &JsValue) -> Result<Self, StoreError> {
        let ids: Array = field(v, "ids")?.into();
        let orders: Array = field(v, "orders")?.into();
        let by_order: Array = field(v, "by_order")?.into();
        let by_order = by_order
            .iter()
            .map(|p| p.as_f64().map(|p| p as u16))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| StoreError::Corrupt("a pack's order".into()))?;
        let mut index: Vec<(u32, u16)> = (0..ids.length().min(MAX_PACK as u32))
            .map(|pos| {
                let id = ids.get(pos).as_string().unwrap_or_default();
                (short_hash(&id), pos as u16)
            })
            .collect();
        index.sort_unstable();
        Ok(Self {
            key,
            len: ids.length(),
            ids,
            orders,
            by_order,
            index,
        })
    }

    pub fn id_at(&self, pos: u32) -> String {
        self.ids.get(pos).as_string().unwrap_or_default()
    }

    pub fn order_at(&self, pos: u32) -> Option<String> {
        self.orders.get(pos).as_string()
    }

    /// The first position whose id is after `after`.
    fn first_after(&self, after: &str) -> u32 {
        let (mut lo, mut hi) = (0, self.len);
        while lo < hi {
            let mid = (lo + hi) / 2;
            if self.id_at(mid).as_str() <= after {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// How many live notes have an `order` below `before`.
    fn below(&self, before: &str) -> usize {
        let (mut lo, mut hi) = (0, self.by_order.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            if self
                .order_at(u32::from(self.by_order[mid]))
                .unwrap_or_default()
                .as_str()
                < before
            {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }
}

/// The most notes a pack holds (a larger page is written as records; the server's pages
/// hold 1,000).
pub(super) const MAX_PACK: usize = u16::MAX as usize;

/// The id hash of [`Tier`]'s index: the high half of the store's 64-bit one.
fn short_hash(id: &str) -> u32 {
    (super::common::id_hash(id) >> 32) as u32
}

/// Strings for a JS array, handed over in one piece: wasm-bindgen decodes every string
/// that crosses to JS (about a microsecond a call, whatever its length), and a pack took
/// three a note (its record, id and order: 300,000 for an initial sync of 100,000 notes).
/// Joined by a newline, which a record's JSON text, an id or an order never holds; a
/// string that does is still kept whole (the array is then made string by string).
pub(super) enum Texts {
    Joined { text: String, len: u32 },
    Items(Array),
}

impl Default for Texts {
    fn default() -> Self {
        Self::Joined {
            text: String::new(),
            len: 0,
        }
    }
}

impl Texts {
    const SEP: char = '\n';

    pub fn len(&self) -> u32 {
        match self {
            Self::Joined { len, .. } => *len,
            Self::Items(a) => a.length(),
        }
    }

    pub fn push(&mut self, s: &str) {
        match self {
            Self::Joined { text, len } if !s.contains(Self::SEP) => {
                if *len > 0 {
                    text.push(Self::SEP);
                }
                text.push_str(s);
                *len += 1;
            }
            Self::Joined { .. } => {
                let items = std::mem::take(self).finish();
                items.push(&JsValue::from_str(s));
                *self = Self::Items(items);
            }
            Self::Items(a) => {
                a.push(&JsValue::from_str(s));
            }
        }
    }

    /// The array, in the order pushed.
    pub fn finish(self) -> Array {
        match self {
            Self::Joined { len: 0, .. } => Array::new(),
            Self::Joined { text, .. } => js_sys::JsString::from(text.as_str()).split("\n"),
            Self::Items(a) => a,
        }
    }
}

/// A pack's header, made note by note (sorted by id) as its body is.
#[derive(Default)]
pub(super) struct HeadBuilder {
    ids: Texts,
    /// Each note's order (`""` for one not in the list: `null` once finished).
    orders: Texts,
    unlisted: Vec<u32>,
    live: Vec<(sync_core::Hlc, u16)>,
    index: Vec<(u32, u16)>,
}

impl HeadBuilder {
    pub fn len(&self) -> u32 {
        self.ids.len()
    }

    /// How many live notes (in the list and its count).
    pub fn live(&self) -> u64 {
        self.live.len() as u64
    }

    /// The next note; `order`: its clock and the clock's text when it is in the notes list.
    pub fn push(&mut self, id: &NoteId, order: Option<(&sync_core::Hlc, &str)>) {
        let pos = self.ids.len() as u16;
        self.ids.push(id.as_str());
        self.index.push((short_hash(id.as_str()), pos));
        if let Some((hlc, text)) = order {
            self.orders.push(text);
            self.live.push((hlc.clone(), pos));
        } else {
            self.orders.push("");
            self.unlisted.push(u32::from(pos));
        }
    }

    /// The header and its stored form.
    pub fn finish(mut self, key: u64) -> (Head, JsValue) {
        self.live.sort();
        self.index.sort_unstable();
        let by_order: Vec<u16> = self.live.iter().map(|l| l.1).collect();
        let ids = self.ids.finish();
        let orders = self.orders.finish();
        for &pos in &self.unlisted {
            orders.set(pos, JsValue::NULL);
        }
        let stored = js_sys::Object::new();
        let positions: Array = by_order.iter().map(|&p| JsValue::from(p)).collect();
        let _ = Reflect::set(&stored, &"ids".into(), &ids);
        let _ = Reflect::set(&stored, &"orders".into(), &orders);
        let _ = Reflect::set(&stored, &"by_order".into(), &positions);
        let head = Head {
            key,
            len: ids.length(),
            ids,
            orders,
            by_order,
            index: self.index,
        };
        (head, stored.into())
    }
}

/// A note's place in the packs: the slot of its pack in [`Tier::heads`], its position.
pub(super) type Place = (usize, u32);

/// What this page knows of the packs (see the module's docs). Replaced, never changed
/// under a reader: a reader holds an `Rc` of the one it started with.
#[derive(Clone, Default)]
pub(super) struct Tier {
    /// The change sequence number it is valid at.
    pub seq: u64,
    /// The packs by key, ascending; `None`: unpacked since (slots are never reused, so
    /// the index needs no rewrite).
    pub heads: Vec<Option<Rc<Head>>>,
    /// The ids with a record in `notes` written since the oldest pack was (a superset of
    /// those that shadow a pack copy).
    pub shadow: HashSet<String>,
}

impl Tier {
    /// No pack, at this sequence number.
    pub fn at(seq: u64) -> Self {
        Self {
            seq,
            ..Self::default()
        }
    }

    /// The keys of the packs it holds, ascending.
    pub fn keys(&self) -> Vec<u64> {
        self.live().map(|(_, h)| h.key).collect()
    }

    pub fn is_empty(&self) -> bool {
        self.live().next().is_none()
    }

    pub fn live(&self) -> impl Iterator<Item = (usize, &Rc<Head>)> {
        self.heads
            .iter()
            .enumerate()
            .filter_map(|(i, h)| Some((i, h.as_ref()?)))
    }

    pub fn head(&self, slot: usize) -> &Head {
        self.heads[slot].as_ref().expect("a live slot")
    }

    /// Valid for a transaction that read this sequence number and these pack keys.
    pub fn fresh(&self, seq: u64, keys: &[u64]) -> bool {
        let mine = self.keys();
        mine == keys && (keys.is_empty() || seq == self.seq)
    }

    /// Takes in a new pack (its key above every other's).
    pub fn add(&mut self, head: Rc<Head>) {
        self.heads.push(Some(head));
    }

    /// Forgets the pack `key` (unpacked).
    pub fn remove(&mut self, key: u64) {
        for h in &mut self.heads {
            if h.as_ref().is_some_and(|h| h.key == key) {
                *h = None;
            }
        }
        if self.is_empty() {
            *self = Self::at(self.seq);
        }
    }

    /// Where the pack copy of `id` is, shadowed or not.
    pub fn find(&self, id: &str) -> Option<Place> {
        // Each pack's index searched (a hundred binary searches at 100,000 notes).
        let h = short_hash(id);
        self.live().find_map(|(slot, head)| {
            let from = head.index.partition_point(|e| e.0 < h);
            head.index[from..]
                .iter()
                .take_while(|e| e.0 == h)
                .map(|&(_, pos)| u32::from(pos))
                .find(|&pos| head.id_at(pos) == id)
                .map(|pos| (slot, pos))
        })
    }

    /// Every pack copy not shadowed.
    pub fn all(&self) -> Vec<Place> {
        let mut out = Vec::new();
        for (slot, h) in self.live() {
            for pos in 0..h.len {
                if !self.shadow.contains(&h.id_at(pos)) {
                    out.push((slot, pos));
                }
            }
        }
        out
    }

    /// Every id in the packs, shadowed or not.
    pub fn ids(&self) -> impl Iterator<Item = String> + '_ {
        self.live()
            .flat_map(|(_, h)| (0..h.len).map(|p| h.id_at(p)))
    }

    /// The newest `limit` live pack copies (not shadowed) with an `order` below `before`,
    /// newest first: each pack's live notes by order, merged. Equal orders go by id,
    /// descending, as `notes`' `order` index has them (within a pack, `by_order` already
    /// does: its ties are by position, and positions are in id order).
    pub fn page(&self, before: Option<&str>, limit: usize) -> Vec<Place> {
        let mut heap = BinaryHeap::new();
        let entry = |slot: usize, h: &Head, k: usize| {
            let pos = u32::from(h.by_order[k]);
            (h.order_at(pos), h.id_at(pos), slot, k)
        };
        for (slot, h) in self.live() {
            let below = before.map_or(h.by_order.len(), |b| h.below(b));
            if below > 0 {
                heap.push(entry(slot, h, below - 1));
            }
        }
        let mut out = Vec::new();
        while out.len() < limit {
            let Some((_, id, slot, k)) = heap.pop() else {
                break;
            };
            let h = self.head(slot);
            if !self.shadow.contains(&id) {
                out.push((slot, u32::from(h.by_order[k])));
            }
            if k > 0 {
                heap.push(entry(slot, h, k - 1));
            }
        }
        out
    }

    /// The first `limit` pack copies (not shadowed) with an id after `after`, by id.
    pub fn chunk(&self, after: Option<&str>, limit: usize) -> Vec<Place> {
        use std::cmp::Reverse;
        let mut heap = BinaryHeap::new();
        for (slot, h) in self.live() {
            let from = after.map_or(0, |a| h.first_after(a));
            if from < h.len {
                heap.push(Reverse((h.id_at(from), slot, from)));
            }
        }
        let mut out = Vec::new();
        while out.len() < limit {
            let Some(Reverse((id, slot, pos))) = heap.pop() else {
                break;
            };
            if !self.shadow.contains(&id) {
                out.push((slot, pos));
            }
            let h = self.head(slot);
            if pos + 1 < h.len {
                heap.push(Reverse((h.id_at(pos + 1), slot, pos + 1)));
            }
        }
        out
    }

    /// The first `limit` pack copies (not shadowed) with a sequence number above `after`,
    /// by sequence number, with it.
    pub fn changed_since(&self, after: u64, limit: usize) -> Vec<(u64, Place)> {
        let mut out = Vec::new();
        for (slot, h) in self.live() {
            let from = after
                .saturating_add(1)
                .saturating_sub(h.key)
                .min(u64::from(h.len)) as u32;
            for pos in from..h.len {
                if out.len() >= limit {
                    return out;
                }
                if !self.shadow.contains(&h.id_at(pos)) {
                    out.push((h.key + u64::from(pos), (slot, pos)));
                }
            }
        }
        out
    }
}

/// The notes at these places, read from their packs' bodies in the transaction of
/// `packs` (one request a pack, issued together), in the order asked.
pub(super) async fn read(
    packs: &rexie::Store,
    tier: &Tier,
    places: &[Place],
    kept: &Bodies,
) -> Result<Vec<LocalNote>, StoreError> {
    let mut slots: Vec<usize> = places.iter().map(|p| p.0).collect();
    slots.sort_unstable();
    slots.dedup();
    let mut by_slot = std::collections::HashMap::new();
    slots.retain(|&s| match kept.get(tier.head(s).key) {
        Some(body) => {
            by_slot.insert(s, body);
            false
        }
        None => true,
    });
    let bodies = futures::future::join_all(
        slots
            .iter()
            .map(|&s| packs.get(JsValue::from_f64(tier.head(s).key as f64))),
    )
    .await;
    for (slot, body) in slots.into_iter().zip(bodies) {
        let body = body
            .map_err(super::common::unavailable)?
            // Checked fresh in this transaction: the pack is there.
            .ok_or_else(|| StoreError::Corrupt("a pack is missing".into()))?;
        let body = Array::from(&body);
        kept.keep(tier.head(slot).key, &body);
        by_slot.insert(slot, body);
    }
    places
        .iter()
        .map(|(slot, pos)| {
            let text = by_slot[slot]
                .get(*pos)
                .as_string()
                .ok_or_else(|| StoreError::Corrupt("a pack's note".into()))?;
            serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(e.to_string()))
        })
        .collect()
}

/// The last pack bodies read, kept for the next read (the search index's catch-up takes
/// 500 notes a call, half a pack). A body never changes once written (a pack is only
/// deleted, and its key, a sequence number, never comes again), so a kept body is right
/// for as long as a tier valid in the transaction names its pack.
#[derive(Default)]
pub(super) struct Bodies(std::cell::RefCell<Vec<(u64, Array)>>);

impl Bodies {
    const KEPT: usize = 2;

    fn get(&self, key: u64) -> Option<Array> {
        self.0
            .borrow()
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, b)| b.clone())
    }

    /// Lets go of the bodies of packs no longer stored (unpacked here or by another tab):
    /// once every pack is unpacked, nothing of them stays in the page's memory.
    pub(super) fn retain(&self, stored: &[u64]) {
        let mut kept = self.0.borrow_mut();
        if !kept.is_empty() {
            kept.retain(|(k, _)| stored.contains(k));
        }
    }

    fn keep(&self, key: u64, body: &Array) {
        let mut kept = self.0.borrow_mut();
        kept.retain(|(k, _)| *k != key);
        if kept.len() >= Self::KEPT {
            kept.remove(0);
        }
        kept.push((key, body.clone()));
    }
}

/// Whether the pack copy at `place` is a live note (it has an `order`).
pub(super) fn is_live(tier: &Tier, (slot, pos): Place) -> bool {
    tier.head(slot).order_at(pos).is_some()
}

/// A note's id as a key.
pub(super) fn key_of(id: &NoteId) -> JsValue {
    JsValue::from_str(id.as_str())
}

#[cfg(all(test, target_arch = "wasm32"))]
mod tests {
    use super::*;
    use wasm_bindgen_test::*;

    wasm_bindgen_test_configure!(run_in_browser);

    #[wasm_bindgen_test]
    fn texts_hand_over_exactly_the_strings_pushed() {
        let cases: [&[&str]; 6] = [
            &[],
            &[""],
            &["", ""],
            &["{\"title\":\"a\\nb\"}", "", "é 😀"],
            // A string with the separator in it: kept whole, before and after it too.
            &["a", "b\nc", "", "d"],
            &["x\n"],
        ];
        for case in cases {
            let mut t = Texts::default();
            for s in case {
                t.push(s);
            }
            assert_eq!(t.len() as usize, case.len());
            let got: Vec<String> = t.finish().iter().map(|v| v.as_string().unwrap()).collect();
            assert_eq!(got, case.to_vec(), "{case:?}");
        }
    }
}
