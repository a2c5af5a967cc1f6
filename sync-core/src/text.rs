//! Three-way merge of plain text, for the field-level merge strategy.
//!
//! Two devices edited the same base text. Each side's edits are found by diffing it against
//! the base (word by word: runs of letters and digits, and every other character on its
//! own), and the two edit lists are laid over each other. Edits of different regions both
//! land; an edit made identically on both sides lands once; edits that touch the same
//! region (or regions next to each other) with different results are a conflict, which the
//! caller hands to the user. Nothing here ever drops text silently: a clean merge contains
//! every edit of both sides.
//!
//! ## Bounded work
//! Diffing is O((N+M)·D) (Myers): cheap for the usual few edits in a long note, quadratic
//! when the texts have little in common (8,000 characters rewritten on both sides took 29 s
//! in a debug build before this bound). Every merge therefore runs on a [`Budget`] of work
//! units (one per token read, per token comparison and per step of the diff search), a count
//! that is the same on every machine and every run. A merge that would need more than its
//! budget stops and is reported as [`OverBudget`]; the merge strategy then treats it like an
//! overlapping edit: a conflict for the user, nothing lost.

use std::collections::HashMap;
use std::ops::Range;

/// Work units one three-way merge may spend ([`merge3`]); a documented limit, kept with
/// the others in [`crate::limits`].
pub use crate::limits::MERGE_BUDGET;

/// The result of [`merge3`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Merge3 {
    /// Both sides' edits, combined.
    Clean(String),
    /// The sides edited the same region differently.
    Conflict,
}

/// The work budget ran out before the merge was decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverBudget;

/// Work units left to spend on merges (see the module docs). One budget can be shared by
/// several merges, to bound the work of a whole request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    left: u64,
    /// Merges refused because the budget did not cover them.
    refused: u64,
}

impl Budget {
    /// A budget of `units`.
    pub const fn new(units: u64) -> Self {
        Self {
            left: units,
            refused: 0,
        }
    }

    /// Units not yet spent.
    pub const fn left(&self) -> u64 {
        self.left
    }

    /// How many merges [`merge3_within`] refused for want of budget (each became a
    /// conflict for the user).
    pub const fn refused(&self) -> u64 {
        self.refused
    }

    fn spend(&mut self, units: u64) -> Result<(), OverBudget> {
        match self.left.checked_sub(units) {
            Some(left) => {
                self.left = left;
                Ok(())
            }
            None => {
                self.left = 0;
                Err(OverBudget)
            }
        }
    }
}

/// Splits text into tokens whose concatenation is the text: runs of alphanumeric
/// characters, and single other characters (spaces, punctuation, line breaks). Public so
/// that the editor maps the caret over the same units the merge works in.
pub fn tokens(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in s.char_indices() {
        if c.is_alphanumeric() {
            start.get_or_insert(i);
        } else {
            if let Some(st) = start.take() {
                out.push(&s[st..i]);
            }
            out.push(&s[i..i + c.len_utf8()]);
        }
    }
    if let Some(st) = start {
        out.push(&s[st..]);
    }
    out
}

/// One edit of one side: base tokens `base.0..base.1` became side tokens `side.0..side.1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Hunk {
    base: (usize, usize),
    side: (usize, usize),
}

/// The edits that turn `base` into `side` (token ids), in order, adjacent edits joined.
fn hunks(base: &[u32], side: &[u32], budget: &mut Budget) -> Result<Vec<Hunk>, OverBudget> {
    let mut d = Myers::new(base, side, budget);
    d.conquer(0, base.len(), 0, side.len())?;
    Ok(d.out)
}

/// Myers' linear-space diff ("An O(ND) Difference Algorithm and Its Variations", 1986),
/// after the implementation in `similar` 2.7 (MIT/Apache-2.0), with every step charged to
/// a [`Budget`] instead of `similar`'s wall-clock deadline, so that running out is
/// deterministic, and with edits collected as [`Hunk`]s.
struct Myers<'a> {
    a: &'a [u32],
    b: &'a [u32],
    /// Furthest reaching x per diagonal k (index `k + off`), forward and backward.
    vf: Vec<usize>,
    vb: Vec<usize>,
    off: isize,
    out: Vec<Hunk>,
    budget: &'a mut Budget,
}

impl<'a> Myers<'a> {
    fn new(a: &'a [u32], b: &'a [u32], budget: &'a mut Budget) -> Self {
        let max_d = max_d(a.len(), b.len());
        Self {
            a,
            b,
            vf: vec![0; 2 * max_d + 1],
            vb: vec![0; 2 * max_d + 1],
            off: max_d as isize,
            out: Vec::new(),
            budget,
        }
    }

    /// Records that `a[a0..a1]` became `b[b0..b1]`, joined to the previous edit if adjacent.
    fn edit(&mut self, a0: usize, a1: usize, b0: usize, b1: usize) {
        match self.out.last_mut() {
            Some(h) if h.base.1 == a0 && h.side.1 == b0 => {
                h.base.1 = a1;
                h.side.1 = b1;
            }
            _ => self.out.push(Hunk {
                base: (a0, a1),
                side: (b0, b1),
            }),
        }
    }

    fn conquer(
        &mut self,
        mut a0: usize,
        mut a1: usize,
        mut b0: usize,
        mut b1: usize,
    ) -> Result<(), OverBudget> {
        let prefix = common_prefix(&self.a[a0..a1], &self.b[b0..b1]);
        a0 += prefix;
        b0 += prefix;
        let suffix = common_suffix(&self.a[a0..a1], &self.b[b0..b1]);
        a1 -= suffix;
        b1 -= suffix;
        self.budget.spend(1 + (prefix + suffix) as u64)?;
        if a0 == a1 && b0 == b1 {
            return Ok(());
        }
        if a0 == a1 || b0 == b1 {
            self.edit(a0, a1, b0, b1);
            return Ok(());
        }
        let (x, y) = self.middle_snake(a0, a1, b0, b1)?;
        if (x, y) == (a0, b0) || (x, y) == (a1, b1) {
            // Cannot happen for trimmed, non-empty ranges (the middle snake of a path with
            // edits lies strictly inside); a whole replacement is still a correct diff.
            self.edit(a0, a1, b0, b1);
            return Ok(());
        }
        self.conquer(a0, x, b0, y)?;
        self.conquer(x, a1, y, b1)
    }

    /// The start of the middle snake of an optimal path from `(a0, b0)` to `(a1, b1)`,
    /// found by searching forward from one corner and backward from the other at once.
    fn middle_snake(
        &mut self,
        a0: usize,
        a1: usize,
        b0: usize,
        b1: usize,
    ) -> Result<(usize, usize), OverBudget> {
        let (a, b) = (&self.a[a0..a1], &self.b[b0..b1]);
        let (n, m) = (a.len(), b.len());
        let delta = n as isize - m as isize;
        let odd = delta & 1 == 1;
        let off = self.off;
        let (vf, vb) = (&mut self.vf, &mut self.vb);
        let at = |k: isize| (k + off) as usize;
        vf[at(1)] = 0;
        vb[at(1)] = 0;
        for d in 0..max_d(n, m) as isize {
            // A round looks at 2d+2 diagonals and follows their snakes: charged per round
            // (so the check stays out of the inner loop), before the next one starts.
            let mut work = 2 * d as u64 + 2;
            for k in (-d..=d).rev().step_by(2) {
                let mut x = if k == -d || (k != d && vf[at(k - 1)] < vf[at(k + 1)]) {
                    vf[at(k + 1)]
                } else {
                    vf[at(k - 1)] + 1
                };
                let y = (x as isize - k) as usize;
                let (x0, y0) = (x, y);
                if x < n && y < m {
                    let run = common_prefix(&a[x..], &b[y..]);
                    work += run as u64;
                    x += run;
                }
                vf[at(k)] = x;
                if odd && (k - delta).abs() < d && vf[at(k)] + vb[at(-(k - delta))] >= n {
                    self.budget.spend(work)?;
                    return Ok((a0 + x0, b0 + y0));
                }
            }
            for k in (-d..=d).rev().step_by(2) {
                let mut x = if k == -d || (k != d && vb[at(k - 1)] < vb[at(k + 1)]) {
                    vb[at(k + 1)]
                } else {
                    vb[at(k - 1)] + 1
                };
                let mut y = (x as isize - k) as usize;
                if x < n && y < m {
                    let run = common_suffix(&a[..n - x], &b[..m - y]);
                    work += run as u64;
                    x += run;
                    y += run;
                }
                vb[at(k)] = x;
                if !odd && (k - delta).abs() <= d && vb[at(k)] + vf[at(-(k - delta))] >= n {
                    self.budget.spend(work)?;
                    return Ok((a0 + n - x, b0 + m - y));
                }
            }
            self.budget.spend(work)?;
        }
        // Unreachable: the two searches meet within max_d rounds.
        Ok((a0, b0))
    }
}

fn max_d(n: usize, m: usize) -> usize {
    (n + m).div_ceil(2) + 1
}

fn common_prefix(a: &[u32], b: &[u32]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

fn common_suffix(a: &[u32], b: &[u32]) -> usize {
    a.iter()
        .rev()
        .zip(b.iter().rev())
        .take_while(|(x, y)| x == y)
        .count()
}

/// The side position of base position `pos`, where `pos` is not strictly inside a hunk.
fn side_pos(hunks: &[Hunk], pos: usize) -> usize {
    match hunks.iter().rev().find(|h| h.base.1 <= pos) {
        Some(h) => h.side.1 + (pos - h.base.1),
        None => pos,
    }
}

/// Merges the edits `ours` and `theirs` made to `base`, on a budget of [`MERGE_BUDGET`]
/// work units; a merge that needs more is a [`Merge3::Conflict`].
pub fn merge3(base: &str, ours: &str, theirs: &str) -> Merge3 {
    merge3_within(base, ours, theirs, &mut Budget::new(MERGE_BUDGET)).unwrap_or(Merge3::Conflict)
}

/// [`merge3`], spending at most [`MERGE_BUDGET`] units of `budget` (which may be shared by
/// the merges of a whole request): [`OverBudget`] when that is not enough.
pub fn merge3_within(
    base: &str,
    ours: &str,
    theirs: &str,
    budget: &mut Budget,
) -> Result<Merge3, OverBudget> {
    if ours == theirs || theirs == base {
        return Ok(Merge3::Clean(ours.to_owned()));
    }
    if ours == base {
        return Ok(Merge3::Clean(theirs.to_owned()));
    }
    let mut mine = Budget::new(budget.left.min(MERGE_BUDGET));
    let before = mine.left;
    let result = merge_tokens(base, ours, theirs, &mut mine);
    budget.left -= before - mine.left;
    if result.is_err() {
        budget.refused += 1;
    }
    result
}

/// The edits that turn the token list `old` into `new` (as cut by [`tokens`]), in order,
/// adjacent ones joined: each says tokens `.0` of `old` became tokens `.1` of `new` (an
/// empty range on one side is an insertion or a deletion); the tokens between edits are
/// equal. The same bounded diff as the merge's (the editor maps its caret with it), on
/// `budget`: [`OverBudget`] when that is not enough.
pub fn diff_tokens(
    old: &[&str],
    new: &[&str],
    budget: &mut Budget,
) -> Result<Vec<(Range<usize>, Range<usize>)>, OverBudget> {
    budget.spend((old.len() + new.len()) as u64)?;
    let mut ids = HashMap::new();
    let (a, b) = (intern(old, &mut ids), intern(new, &mut ids));
    Ok(hunks(&a, &b, budget)?
        .into_iter()
        .map(|h| (h.base.0..h.base.1, h.side.0..h.side.1))
        .collect())
}

/// The id of each token; equal tokens get equal ids.
fn intern<'a>(tokens: &[&'a str], ids: &mut HashMap<&'a str, u32>) -> Vec<u32> {
    tokens
        .iter()
        .map(|t| {
            let next = ids.len() as u32;
            *ids.entry(t).or_insert(next)
        })
        .collect()
}

fn merge_tokens(
    base: &str,
    ours: &str,
    theirs: &str,
    budget: &mut Budget,
) -> Result<Merge3, OverBudget> {
    let (b, a, t) = (tokens(base), tokens(ours), tokens(theirs));
    budget.spend((b.len() + a.len() + t.len()) as u64)?;
    // Tokens as small ids, so that the diff compares numbers, not strings of any length.
    let mut ids: HashMap<&str, u32> = HashMap::new();
    let (bi, ai, ti) = (
        intern(&b, &mut ids),
        intern(&a, &mut ids),
        intern(&t, &mut ids),
    );
    let ha = hunks(&bi, &ai, budget)?;
    let ht = hunks(&bi, &ti, budget)?;
    let mut out = String::with_capacity(ours.len().max(theirs.len()));
    let (mut i, mut j, mut pos) = (0, 0, 0);
    while i < ha.len() || j < ht.len() {
        // The next group: the earliest hunk, and every hunk of either side that overlaps or
        // touches the group's base range.
        let start = match (ha.get(i), ht.get(j)) {
            (Some(x), Some(y)) => x.base.0.min(y.base.0),
            (Some(x), None) => x.base.0,
            (None, Some(y)) => y.base.0,
            (None, None) => unreachable!(),
        };
        let (gi, gj) = (i, j);
        let mut end = start;
        loop {
            if let Some(h) = ha.get(i).filter(|h| h.base.0 <= end) {
                end = end.max(h.base.1);
                i += 1;
            } else if let Some(h) = ht.get(j).filter(|h| h.base.0 <= end) {
                end = end.max(h.base.1);
                j += 1;
            } else {
                break;
            }
        }
        out.extend(b[pos..start].iter().copied());
        let ours_part = a[side_pos(&ha[..gi], start)..side_pos(&ha[..i], end)].concat();
        let theirs_part = t[side_pos(&ht[..gj], start)..side_pos(&ht[..j], end)].concat();
        let base_part = b[start..end].concat();
        if i == gi || ours_part == base_part {
            out.push_str(&theirs_part);
        } else if j == gj || theirs_part == base_part || ours_part == theirs_part {
            out.push_str(&ours_part);
        } else {
            return Ok(Merge3::Conflict);
        }
        pos = end;
    }
    out.extend(b[pos..].iter().copied());
    Ok(Merge3::Clean(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn tokens_cover_the_text() {
        let s = "Héllo, wörld!\n  42x";
        assert_eq!(tokens(s).concat(), s);
        assert_eq!(tokens("ab cd"), vec!["ab", " ", "cd"]);
    }

    #[test]
    fn edits_of_different_lines_both_land() {
        let base = "milk\neggs\nbread\n";
        let ours = "oat milk\neggs\nbread\n";
        let theirs = "milk\neggs\nrye bread\n";
        assert_eq!(
            merge3(base, ours, theirs),
            Merge3::Clean("oat milk\neggs\nrye bread\n".into())
        );
    }

    #[test]
    fn edits_of_different_words_in_one_line_both_land() {
        let base = "The quick brown fox jumps over the lazy dog";
        let ours = "The quick red fox jumps over the lazy dog";
        let theirs = "The quick brown fox jumps over the sleepy dog";
        assert_eq!(
            merge3(base, ours, theirs),
            Merge3::Clean("The quick red fox jumps over the sleepy dog".into())
        );
    }

    #[test]
    fn overlapping_different_edits_conflict() {
        let base = "Meet at 10";
        assert_eq!(merge3(base, "Meet at 11", "Meet at 9"), Merge3::Conflict);
        // Both append different text at the end.
        assert_eq!(merge3("a", "a b", "a c"), Merge3::Conflict);
    }

    #[test]
    fn the_same_edit_on_both_sides_lands_once() {
        let base = "one two three";
        let both = "one 2 three";
        assert_eq!(merge3(base, both, both), Merge3::Clean(both.into()));
        assert_eq!(
            merge3(base, "one 2 three four", "zero one 2 three"),
            Merge3::Clean("zero one 2 three four".into())
        );
    }

    #[test]
    fn a_delete_and_an_edit_elsewhere_both_land() {
        let base = "alpha beta gamma delta";
        assert_eq!(
            merge3(base, "alpha gamma delta", "alpha beta gamma DELTA"),
            Merge3::Clean("alpha gamma DELTA".into())
        );
    }

    /// Deterministic text of `n` tokens: words over `alphabet`, separated by spaces and
    /// punctuation (xorshift, so no two runs differ).
    pub(crate) fn text(n: usize, alphabet: &[u8], seed: u64) -> String {
        let mut x = seed | 1;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut s = String::new();
        for _ in 0..n / 2 {
            for _ in 0..1 + next() % 3 {
                s.push(alphabet[(next() % alphabet.len() as u64) as usize] as char);
            }
            s.push([' ', ' ', ' ', ',', '.', '\n'][(next() % 6) as usize]);
        }
        s
    }

    #[test]
    fn completely_rewritten_texts_run_out_of_budget_and_conflict() {
        // Issue 11: two sides that rewrote a text entirely took 29 s (8,000 characters,
        // debug build) in an unbounded diff. Now the work stops at the budget.
        let base = text(5400, b"abcdefgh", 1);
        let ours = text(5400, b"ijklmnop", 2);
        let theirs = text(5400, b"qrstuvwx", 3);
        assert!(base.len() >= 8000, "{}", base.len());
        let mut budget = Budget::new(u64::MAX);
        assert_eq!(
            merge3_within(&base, &ours, &theirs, &mut budget),
            Err(OverBudget)
        );
        assert_eq!(
            u64::MAX - budget.left(),
            MERGE_BUDGET,
            "one merge spends at most its budget"
        );
        assert_eq!(merge3(&base, &ours, &theirs), Merge3::Conflict);
    }

    #[test]
    fn halves_rewritten_on_each_side_merge_unbounded_but_not_within_budget() {
        // What the budget changes for a user: a merge that needs too much work (here
        // 10^8 units) becomes a conflict instead of occupying the server.
        let (head, tail) = (text(3000, b"abcdef", 1), text(3000, b"ghijkl", 2));
        let base = format!("{head}\nMIDDLE\n{tail}");
        let ours = format!("{}\nMIDDLE\n{tail}", text(3000, b"mnopqr", 3));
        let theirs = format!("{head}\nMIDDLE\n{}", text(3000, b"stuvwx", 4));
        let mut unbounded = Budget::new(u64::MAX);
        let merged = merge_tokens(&base, &ours, &theirs, &mut unbounded);
        assert!(matches!(merged, Ok(Merge3::Clean(_))), "{merged:?}");
        let spent = u64::MAX - unbounded.left();
        println!("spent {spent}");
        assert!(spent > MERGE_BUDGET, "{spent}");
        assert_eq!(merge3(&base, &ours, &theirs), Merge3::Conflict);
    }

    #[test]
    fn a_shared_budget_bounds_several_merges() {
        let base = text(4000, b"abcdefgh", 1);
        let ours = text(4000, b"ijklmnop", 2);
        let theirs = text(4000, b"qrstuvwx", 3);
        let mut budget = Budget::new(MERGE_BUDGET + MERGE_BUDGET / 2);
        assert_eq!(
            merge3_within(&base, &ours, &theirs, &mut budget),
            Err(OverBudget)
        );
        assert_eq!(budget.left(), MERGE_BUDGET / 2);
        assert_eq!(
            merge3_within(&base, &ours, &theirs, &mut budget),
            Err(OverBudget)
        );
        assert_eq!(budget.left(), 0);
        // An empty budget still merges what needs no diff.
        assert_eq!(
            merge3_within(&base, &base, &theirs, &mut budget),
            Ok(Merge3::Clean(theirs.clone()))
        );
        // ...and stops at once on anything else.
        assert_eq!(
            merge3_within("a b", "a c", "d b", &mut budget),
            Err(OverBudget)
        );
    }

    #[test]
    fn the_largest_note_with_edits_far_apart_merges_within_budget() {
        let base = text(160_000, b"abcdefghijklmnopqrstuvwxyz", 7);
        let max = crate::limits::MAX_CONTENT_BYTES;
        assert!((max - 40_000..max).contains(&base.len()), "{}", base.len());
        let ours = format!("Top: {base}");
        let theirs = format!("{base} (the end)");
        let mut budget = Budget::new(u64::MAX);
        let merged = merge_tokens(&base, &ours, &theirs, &mut budget);
        assert_eq!(merged, Ok(Merge3::Clean(format!("Top: {base} (the end)"))));
        let spent = u64::MAX - budget.left();
        assert!(spent < MERGE_BUDGET / 4, "spent {spent}");
        // A few edits all through it, on both sides.
        let edit = |s: &str, every: usize, with: &str| {
            s.split('\n')
                .enumerate()
                .map(|(i, l)| {
                    if i % every == every / 2 {
                        format!("{with}{l}")
                    } else {
                        l.to_owned()
                    }
                })
                .collect::<Vec<_>>()
                .join("\n")
        };
        let (ours, theirs) = (edit(&base, 4000, "A "), edit(&base, 3001, "B "));
        let mut budget = Budget::new(u64::MAX);
        let Ok(Merge3::Clean(m)) = merge_tokens(&base, &ours, &theirs, &mut budget) else {
            panic!("edits of different lines merge");
        };
        assert_eq!(m.matches("A ").count(), ours.matches("A ").count());
        assert!(m.contains("B "));
        let spent = u64::MAX - budget.left();
        assert!(spent < MERGE_BUDGET / 2, "spent {spent}");
    }

    /// The diff of the old, unbounded implementation (`similar`'s Myers), as an oracle.
    fn similar_hunks(base: &[u32], side: &[u32]) -> Vec<Hunk> {
        use similar::{Algorithm, DiffOp};
        let (mut o, mut n) = (0, 0);
        let mut out: Vec<Hunk> = Vec::new();
        for op in similar::capture_diff_slices(Algorithm::Myers, base, side) {
            let (old_len, new_len) = match op {
                DiffOp::Equal { len, .. } => {
                    o += len;
                    n += len;
                    continue;
                }
                DiffOp::Delete { old_len, .. } => (old_len, 0),
                DiffOp::Insert { new_len, .. } => (0, new_len),
                DiffOp::Replace {
                    old_len, new_len, ..
                } => (old_len, new_len),
            };
            match out.last_mut() {
                Some(h) if h.base.1 == o && h.side.1 == n => {
                    h.base.1 += old_len;
                    h.side.1 += new_len;
                }
                _ => out.push(Hunk {
                    base: (o, o + old_len),
                    side: (n, n + new_len),
                }),
            }
            o += old_len;
            n += new_len;
        }
        out
    }

    fn words() -> impl Strategy<Value = Vec<String>> {
        proptest::collection::vec("[a-e]{1,3}", 1..12)
    }

    proptest! {
        /// When one side did not change the text, the merge is the other side.
        #[test]
        fn one_sided_edits_win(base in ".{0,40}", other in ".{0,40}") {
            prop_assert_eq!(merge3(&base, &base, &other), Merge3::Clean(other.clone()));
            prop_assert_eq!(merge3(&base, &other, &base), Merge3::Clean(other.clone()));
            prop_assert_eq!(merge3(&base, &other, &other), Merge3::Clean(other));
        }

        /// Edits of two disjoint halves of a text (separated by an untouched line) both land.
        #[test]
        fn disjoint_edits_both_land(
            head in words(), tail in words(), new_head in words(), new_tail in words(),
        ) {
            let base = format!("{}\nMIDDLE\n{}", head.join(" "), tail.join(" "));
            let ours = format!("{}\nMIDDLE\n{}", new_head.join(" "), tail.join(" "));
            let theirs = format!("{}\nMIDDLE\n{}", head.join(" "), new_tail.join(" "));
            let want = format!("{}\nMIDDLE\n{}", new_head.join(" "), new_tail.join(" "));
            prop_assert_eq!(merge3(&base, &ours, &theirs), Merge3::Clean(want));
        }

        /// Any three texts merge without panicking, and a clean merge of a side with itself
        /// changes nothing.
        #[test]
        fn any_texts_merge(base in "[xy \n]{0,8}", a in "[xy \n]{0,8}", t in "[xy \n]{0,8}") {
            let _ = merge3(&base, &a, &t);
        }

        /// The bounded diff is a correct diff (its edits turn the base into the side) and a
        /// minimal one: as many tokens edited as the unbounded diff it replaced.
        #[test]
        fn the_bounded_diff_is_a_minimal_diff(
            a in proptest::collection::vec(0u32..4, 0..40),
            b in proptest::collection::vec(0u32..4, 0..40),
        ) {
            let h = hunks(&a, &b, &mut Budget::new(u64::MAX)).unwrap();
            let (mut rebuilt, mut pos) = (Vec::<u32>::new(), 0);
            for x in &h {
                prop_assert!(x.base.0 >= pos && x.base.0 <= x.base.1);
                rebuilt.extend(&a[pos..x.base.0]);
                rebuilt.extend(&b[x.side.0..x.side.1]);
                pos = x.base.1;
            }
            rebuilt.extend(&a[pos..]);
            prop_assert_eq!(&rebuilt, &b);
            let size = |h: &[Hunk]| -> usize {
                h.iter().map(|x| x.base.1 - x.base.0 + x.side.1 - x.side.0).sum()
            };
            prop_assert_eq!(size(&h), size(&similar_hunks(&a, &b)));
        }

        /// A clean merge is symmetric: which side is "ours" does not change the result.
        #[test]
        fn clean_merges_are_symmetric(base in words(), a in words(), t in words()) {
            let (base, a, t) = (base.join(" "), a.join(" "), t.join(" "));
            if let Merge3::Clean(m) = merge3(&base, &a, &t)
                && let Merge3::Clean(n) = merge3(&base, &t, &a) {
                    prop_assert_eq!(m, n);
                }
        }
    }
}
