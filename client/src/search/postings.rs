//! The frozen part's posting lists (see `super::Frozen`): a list is one or more
//! *segments* one after the other, each the slots of a run of entries (strictly
//! increasing, and every segment's after the one before: a merge appends the fresh
//! entries of a word to its frozen list as a segment of their own, copying the list as it
//! is). A segment's slots are written minus the last slot of the segment before plus one
//! (0 for the first), so an appended segment costs what it would alone. A segment is,
//! after a header varint `h` (a 64-bit varint):
//! - `h & 1 == 1`: one entry, slot `h >> 2`, in the title if `h & 2` (most words of a
//!   notebook are in one note: a number, a URL's part; 3 bytes at 100,000 slots);
//! - else `n = (h >> 2) + 2` entries, `h & 2` saying some are in the title: the last slot
//!   (a varint), then the slots in Elias-Fano form: with `l = log2((last + 1) / n)`
//!   (rounded down), every slot's low `l` bits packed (`n * l` bits, lowest first), then
//!   its high bits in unary (bit `(slot >> l) + i` set for the `i`-th slot, `(last >> l) +
//!   n` bits); then, if some are in the title, their count and their positions in the
//!   segment (varints: the first, then each minus the previous one's plus one).
//!
//! Why Elias-Fano: `2 + log2(slots / n)` bits a slot whatever the gaps, within a bit of
//! the least any code of a set of `n` of the slots takes. On the bench's 100,000 typical
//! notes (docs/performance.md, "Search index"): varint deltas with the title bit took
//! 26.9 MB, 128-slot blocks bit-packed at their widest gap (FOR, estimated) 20.6 MB without
//! the title bits, PFor 19.8 MB, Elias-Fano 18.7 MB with them, against 15.8 MB for the
//! least code. The title bits, 2 % of the entries, are a short list of their own instead
//! of a bit each. Lists are read front to back (a query visits every entry of the words
//! it matches), a segment's slots decoded from a word of its high bits at a time.

/// Bytes of a 64-bit varint.
fn put_varint64(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// The 64-bit varint at `*pos`: `None` if cut short or longer than 10 bytes.
fn checked_varint64(bytes: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *bytes.get(*pos)?;
        *pos += 1;
        v |= u64::from(b & 0x7f).checked_shl(shift)?;
        if b < 0x80 {
            return Some(v);
        }
    }
    None
}

/// The varint at `*pos` of bytes this module wrote or [`check`]ed.
#[inline]
fn varint64(bytes: &[u8], pos: &mut usize) -> u64 {
    let mut v = 0u64;
    let mut shift = 0;
    loop {
        let b = bytes[*pos];
        *pos += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return v;
        }
        shift += 7;
    }
}

/// The low bits' width of `n` slots up to `last`.
fn low_bits(n: u64, last: u64) -> u32 {
    ((last + 1) / n).max(1).ilog2()
}

/// Appends a segment of `entries` (slot, in the title): at least one, slots strictly
/// increasing, from `from` on (the list's first segment: 0; else the last slot of the one
/// before plus one: the slots are written minus `from`).
pub(super) fn put_segment(out: &mut Vec<u8>, from: u32, entries: &[(u32, bool)]) {
    let titles = entries.iter().filter(|e| e.1).count();
    let (&(last, last_title), n) = (entries.last().expect("an entry"), entries.len());
    let last = last - from;
    if n == 1 {
        put_varint64(out, u64::from(last) << 2 | u64::from(last_title) << 1 | 1);
        return;
    }
    put_varint64(out, (n as u64 - 2) << 2 | u64::from(titles > 0) << 1);
    put_varint64(out, u64::from(last));
    let l = low_bits(n as u64, u64::from(last));
    // The low bits...
    let mut bits = Bits::new(out);
    for &(s, _) in entries {
        bits.put(u64::from(s - from) & ((1 << l) - 1), l);
    }
    bits.finish();
    // ... the high bits: the `i`-th slot's high part minus the one before's in zeros, then
    // a one.
    let mut bits = Bits::new(out);
    let mut prev = 0;
    for &(s, _) in entries {
        let mut zeros = ((s - from) >> l) - prev;
        prev = (s - from) >> l;
        while zeros >= 32 {
            bits.put(0, 32);
            zeros -= 32;
        }
        bits.put(1 << zeros, zeros + 1);
    }
    bits.finish();
    if titles > 0 {
        put_varint64(out, titles as u64);
        let mut next = 0;
        for (i, _) in entries.iter().enumerate().filter(|(_, e)| e.1) {
            put_varint64(out, (i - next) as u64);
            next = i + 1;
        }
    }
}

/// Writes values of up to 32 bits to bytes, lowest bit first.
struct Bits<'a> {
    out: &'a mut Vec<u8>,
    acc: u64,
    len: u32,
}

impl<'a> Bits<'a> {
    fn new(out: &'a mut Vec<u8>) -> Self {
        Self {
            out,
            acc: 0,
            len: 0,
        }
    }

    /// Writes the low `n` bits of `v` (the others are 0).
    #[inline]
    fn put(&mut self, v: u64, n: u32) {
        // (`len` under 32 before, `n` at most 32: the bits fit in `acc`.)
        self.acc |= v << self.len;
        self.len += n;
        if self.len >= 32 {
            self.out.extend_from_slice(&(self.acc as u32).to_le_bytes());
            self.acc >>= 32;
            self.len -= 32;
        }
    }

    /// Writes the last bytes, if begun.
    fn finish(self) {
        let bytes = self.acc.to_le_bytes();
        self.out
            .extend_from_slice(&bytes[..self.len.div_ceil(8) as usize]);
    }
}

/// A segment's parts, found from its header.
struct Segment<'a> {
    n: usize,
    l: u32,
    low: &'a [u8],
    high: &'a [u8],
    /// The title positions' varints (count first), or nothing.
    titles: &'a [u8],
    /// The segment of one entry: its slot and title bit.
    single: Option<(u32, bool)>,
    /// Its slots are written minus this...
    from: u32,
    /// ... and this is its last one.
    last: u32,
}

/// The segment at `*pos` of `list` (moving `pos` past it); checked if `checked`, else
/// `list` was written or checked by this module.
/// `from`: as [`put_segment`]'s.
fn segment<'a>(list: &'a [u8], pos: &mut usize, checked: bool, from: u32) -> Option<Segment<'a>> {
    let h = if checked {
        checked_varint64(list, pos)?
    } else {
        varint64(list, pos)
    };
    if h & 1 == 1 {
        let slot = from.checked_add(u32::try_from(h >> 2).ok()?)?;
        return Some(Segment {
            n: 1,
            l: 0,
            low: &[],
            high: &[],
            titles: &[],
            single: Some((slot, h & 2 != 0)),
            from,
            last: slot,
        });
    }
    let n = usize::try_from(h >> 2).ok()?.checked_add(2)?;
    let last = if checked {
        u32::try_from(checked_varint64(list, pos)?).ok()?
    } else {
        varint64(list, pos) as u32
    };
    if checked && n as u64 > u64::from(last) + 1 {
        return None; // more slots than there are below `last`
    }
    let l = low_bits(n as u64, u64::from(last));
    // (In 64 bits: the sizes of a damaged header may pass a 32-bit `usize`.)
    let low_len = usize::try_from((n as u64 * u64::from(l)).div_ceil(8)).ok()?;
    let high_len = usize::try_from((u64::from(last >> l) + n as u64).div_ceil(8)).ok()?;
    let low = list.get(*pos..pos.checked_add(low_len)?)?;
    *pos += low_len;
    let high = list.get(*pos..pos.checked_add(high_len)?)?;
    *pos += high_len;
    let titles_at = *pos;
    if h & 2 != 0 {
        let t = if checked {
            checked_varint64(list, pos)?
        } else {
            varint64(list, pos)
        };
        if checked && (t == 0 || t > n as u64) {
            return None;
        }
        for _ in 0..t {
            if checked {
                checked_varint64(list, pos)?;
            } else {
                varint64(list, pos);
            }
        }
    }
    Some(Segment {
        n,
        l,
        low,
        high,
        titles: &list[titles_at..*pos],
        single: None,
        from,
        last: from.checked_add(last)?,
    })
}

/// The entries of one segment, in order.
struct Entries<'a> {
    seg: Segment<'a>,
    /// Entries given so far.
    i: usize,
    /// The high bits not yet read of the word of them at `base`...
    word: u64,
    /// ... which starts at this bit of `seg.high`.
    base: usize,
    /// The position of the next title entry (`usize::MAX`: none left), and where the
    /// varints of the others are in `seg.titles`.
    next_title: usize,
    titles_at: usize,
    titles_left: u64,
}

/// 8 bytes of `bytes` from `at`, little-endian, zeros past the end.
#[inline]
fn word_at(bytes: &[u8], at: usize) -> u64 {
    match bytes.get(at..at + 8) {
        Some(w) => u64::from_le_bytes(w.try_into().expect("8 bytes")),
        None => {
            let mut w = [0u8; 8];
            let rest = bytes.get(at..).unwrap_or(&[]);
            w[..rest.len()].copy_from_slice(rest);
            u64::from_le_bytes(w)
        }
    }
}

impl<'a> Entries<'a> {
    fn new(seg: Segment<'a>) -> Self {
        let word = word_at(seg.high, 0);
        let mut e = Self {
            seg,
            i: 0,
            word,
            base: 0,
            next_title: usize::MAX,
            titles_at: 0,
            titles_left: 0,
        };
        if !e.seg.titles.is_empty() {
            e.titles_left = varint64(e.seg.titles, &mut e.titles_at);
            e.next_title = 0;
            e.advance_title();
        }
        e
    }

    /// Reads the next title position (its varint counts from `next_title`).
    fn advance_title(&mut self) {
        if self.titles_left == 0 {
            self.next_title = usize::MAX;
            return;
        }
        self.titles_left -= 1;
        self.next_title += varint64(self.seg.titles, &mut self.titles_at) as usize;
    }
}

impl Iterator for Entries<'_> {
    type Item = (u32, bool);

    #[inline]
    fn next(&mut self) -> Option<(u32, bool)> {
        if self.i >= self.seg.n {
            return None;
        }
        if let Some(single) = self.seg.single {
            self.i = 1;
            return Some(single);
        }
        while self.word == 0 {
            self.base += 64;
            self.word = word_at(self.seg.high, self.base / 8);
        }
        let bit = self.base + self.word.trailing_zeros() as usize;
        self.word &= self.word - 1;
        let high = (bit - self.i) as u64;
        let l = self.seg.l as usize;
        let low = if l == 0 {
            0
        } else {
            let at = self.i * l;
            word_at(self.seg.low, at / 8) >> (at % 8) & ((1 << l) - 1)
        };
        let title = self.i == self.next_title;
        if title {
            self.next_title += 1;
            self.advance_title();
        }
        self.i += 1;
        // (Wrapping: `check` reads damaged segments so, and refuses what they give.)
        Some((self.seg.from.wrapping_add((high << l | low) as u32), title))
    }
}

/// The entries of a list this module wrote or [`check`]ed: (slot, in the title).
pub(super) fn entries(list: &[u8]) -> impl Iterator<Item = (u32, bool)> + '_ {
    let mut pos = 0;
    let mut from = 0;
    let mut seg: Option<Entries<'_>> = None;
    std::iter::from_fn(move || {
        loop {
            if let Some(e) = seg.as_mut().and_then(Iterator::next) {
                return Some(e);
            }
            if pos >= list.len() {
                return None;
            }
            let next = segment(list, &mut pos, false, from)?;
            from = next.last + 1;
            seg = Some(Entries::new(next));
        }
    })
}

/// Calls `f` with every entry of a list this module wrote or [`check`]ed, in order: what
/// [`entries`] gives, in one loop per segment (a query's and a rewrite's pass over the
/// lists; about twice as fast as the iterator, and fewer calls in a debug build).
pub(super) fn for_each(list: &[u8], mut f: impl FnMut(u32, bool)) {
    let (mut pos, mut from) = (0, 0);
    while pos < list.len() {
        let Some(seg) = segment(list, &mut pos, false, from) else {
            return;
        };
        from = seg.last + 1;
        if let Some((s, title)) = seg.single {
            f(s, title);
            continue;
        }
        // The title positions: `next_title` the next one (`usize::MAX`: none left).
        let (mut at, mut left, mut next_title) = (0, 0, usize::MAX);
        if !seg.titles.is_empty() {
            left = varint64(seg.titles, &mut at) - 1;
            next_title = varint64(seg.titles, &mut at) as usize;
        }
        let (l, mask) = (seg.l as usize, (1u64 << seg.l) - 1);
        let (mut i, mut low_at) = (0usize, 0usize);
        for (k, chunk) in seg.high.chunks(8).enumerate() {
            let mut word = match chunk.try_into() {
                Ok(w) => u64::from_le_bytes(w),
                Err(_) => word_at(chunk, 0),
            };
            while word != 0 {
                let high = (k * 64 + word.trailing_zeros() as usize - i) as u64;
                word &= word - 1;
                let low = if l == 0 {
                    0
                } else {
                    word_at(seg.low, low_at / 8) >> (low_at % 8) & mask
                };
                low_at += l;
                let title = i == next_title;
                if title {
                    next_title = match left {
                        0 => usize::MAX,
                        _ => {
                            left -= 1;
                            i + 1 + varint64(seg.titles, &mut at) as usize
                        }
                    };
                }
                f(seg.from.wrapping_add((high << l | low) as u32), title);
                i += 1;
            }
        }
    }
}

/// True when `list` (written or checked by this module) is one segment.
pub(super) fn one_segment(list: &[u8]) -> bool {
    let mut pos = 0;
    segment(list, &mut pos, false, 0).is_some() && pos == list.len()
}

/// The last slot of `list` (written or checked by this module) plus one: where a segment
/// appended to it starts.
pub(super) fn end(list: &[u8]) -> u32 {
    let (mut pos, mut from) = (0, 0);
    while pos < list.len() {
        match segment(list, &mut pos, false, from) {
            Some(seg) => from = seg.last + 1,
            None => break,
        }
    }
    from
}

/// True when `list`, from outside, is as [`put_segment`] writes segments: at least one,
/// each's slots strictly increasing and after the segment before's, every slot below
/// `slots`, the header's last slot its last, its title positions increasing and within
/// it, nothing left over. Then [`entries`] reads it without a panic.
pub(super) fn check(list: &[u8], slots: usize) -> bool {
    let mut pos = 0;
    let mut next = 0u64; // the previous slot plus one
    let mut from = 0;
    if list.is_empty() {
        return false;
    }
    while pos < list.len() {
        let at = pos;
        let Some(seg) = segment(list, &mut pos, true, from) else {
            return false;
        };
        let header_last = seg.last;
        if seg.single.is_none() {
            // The high bits: exactly `n` set, the `i`-th giving a slot at least the
            // previous one's (strictly, with the low bits), the last the header's.
            let set: u32 = seg.high.iter().map(|b| b.count_ones()).sum();
            if set as usize != seg.n {
                return false;
            }
            // The title positions strictly increasing, below `n`.
            let (mut p, mut t_next) = (0, 0u64);
            let t = checked_varint64(seg.titles, &mut p).unwrap_or(0);
            for _ in 0..t {
                let Some(d) = checked_varint64(seg.titles, &mut p) else {
                    return false;
                };
                let Some(x) = t_next.checked_add(d) else {
                    return false;
                };
                if x >= seg.n as u64 {
                    return false;
                }
                t_next = x + 1;
            }
        }
        // Read again as `entries` reads it (now safe), checking the order.
        let mut p = at;
        let seg = segment(list, &mut p, false, from).expect("checked");
        let mut last = None;
        for (s, _) in Entries::new(seg) {
            if u64::from(s) < next || s as usize >= slots {
                return false;
            }
            next = u64::from(s) + 1;
            last = Some(s);
        }
        // The header's last slot is the last one read.
        if last != Some(header_last) {
            return false;
        }
        from = header_last + 1;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(segments: &[Vec<(u32, bool)>]) {
        let mut list = Vec::new();
        let mut from = 0;
        for s in segments {
            put_segment(&mut list, from, s);
            from = s.last().unwrap().0 + 1;
            assert_eq!(end(&list), from);
        }
        let all: Vec<(u32, bool)> = segments.concat();
        assert_eq!(entries(&list).collect::<Vec<_>>(), all);
        let mut each = Vec::new();
        for_each(&list, |s, t| each.push((s, t)));
        assert_eq!(each, all);
        let slots = all.last().map_or(0, |e| e.0 as usize + 1);
        assert!(check(&list, slots));
        assert!(!check(&list, slots - 1));
    }

    /// The edges of the encoding: one entry, a slot in every position (no low bits), slots
    /// at the widths' limits, words of high bits ending on a segment's last slot, titles
    /// first, last and everywhere, segments appended.
    #[test]
    fn segments_read_back_at_their_edges() {
        roundtrip(&[vec![(0, false)]]);
        roundtrip(&[vec![(0, true)]]);
        roundtrip(&[vec![((1 << 31) - 1, true)]]);
        roundtrip(&[vec![(0, false), (1, true)]]);
        for n in [2usize, 3, 63, 64, 65, 127, 128, 129, 1000] {
            // Every slot (l = 0), every other, far apart (wide low bits).
            for stride in [1u32, 2, 7, 1 << 10, (1 << 31) / (2 * n as u32 + 1) - 1] {
                for titles in [0usize, 1, 3, n] {
                    let seg: Vec<(u32, bool)> = (0..n)
                        .map(|i| (i as u32 * stride, titles > 0 && i % titles.max(1) == 0))
                        .collect();
                    roundtrip(std::slice::from_ref(&seg));
                    let more: Vec<(u32, bool)> = seg
                        .iter()
                        .map(|&(s, t)| (s + (n as u32 + 1) * stride, !t))
                        .collect();
                    roundtrip(&[seg, vec![(n as u32 * stride, true)], more]);
                }
            }
        }
        // Gaps of every width between two slots.
        for w in 0..31 {
            roundtrip(&[vec![
                (5, false),
                (5 + (1 << w), true),
                (6 + (2 << w), false),
            ]]);
        }
    }

    #[test]
    fn bad_lists_are_refused() {
        let mut list = Vec::new();
        put_segment(&mut list, 0, &[(3, false), (9, true), (200, false)]);
        assert!(check(&list, 201));
        assert!(!check(&[], 201));
        // Cut short, or one more byte.
        assert!(!check(&list[..list.len() - 1], 201));
        assert!(!check(&[list.as_slice(), &[0]].concat(), 201));
        // A segment past the slots.
        let mut two = list.clone();
        put_segment(&mut two, 201, &[(201, false)]);
        assert!(check(&two, 202));
        assert!(!check(&two, 201));
        // Every byte changed in every way: refused or read without a panic.
        for at in 0..list.len() {
            for x in 1..=255u8 {
                let mut bad = list.clone();
                bad[at] ^= x;
                if check(&bad, 1000) {
                    let mut each = Vec::new();
                    for_each(&bad, |s, t| each.push((s, t)));
                    assert_eq!(entries(&bad).collect::<Vec<_>>(), each);
                }
            }
        }
    }
}
