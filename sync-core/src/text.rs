//! Three-way merge of plain text, for the field-level merge strategy.
//!
//! Two devices edited the same base text. Each side's edits are found by diffing it against
//! the base (word by word: runs of letters and digits, and every other character on its
//! own), and the two edit lists are laid over each other. Edits of different regions both
//! land; an edit made identically on both sides lands once; edits that touch the same
//! region (or regions next to each other) with different results are a conflict, which the
//! caller hands to the user. Nothing here ever drops text silently: a clean merge contains
//! every edit of both sides.

use similar::{Algorithm, DiffOp};

/// The result of [`merge3`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Merge3 {
    /// Both sides' edits, combined.
    Clean(String),
    /// The sides edited the same region differently.
    Conflict,
}

/// Splits text into tokens whose concatenation is the text: runs of alphanumeric
/// characters, and single other characters (spaces, punctuation, line breaks).
fn tokens(s: &str) -> Vec<&str> {
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
#[derive(Debug, Clone, Copy)]
struct Hunk {
    base: (usize, usize),
    side: (usize, usize),
}

fn hunks(base: &[&str], side: &[&str]) -> Vec<Hunk> {
    // Positions are tracked here rather than read from the ops: `similar` does not report
    // a meaningful `old_index` for every insert.
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
            // Adjacent edits (a delete then an insert) are one hunk.
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

/// The side position of base position `pos`, where `pos` is not strictly inside a hunk.
fn side_pos(hunks: &[Hunk], pos: usize) -> usize {
    match hunks.iter().rev().find(|h| h.base.1 <= pos) {
        Some(h) => h.side.1 + (pos - h.base.1),
        None => pos,
    }
}

/// Merges the edits `ours` and `theirs` made to `base`.
pub fn merge3(base: &str, ours: &str, theirs: &str) -> Merge3 {
    if ours == theirs || theirs == base {
        return Merge3::Clean(ours.to_owned());
    }
    if ours == base {
        return Merge3::Clean(theirs.to_owned());
    }
    let (b, a, t) = (tokens(base), tokens(ours), tokens(theirs));
    let (ha, ht) = (hunks(&b, &a), hunks(&b, &t));
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
            return Merge3::Conflict;
        }
        pos = end;
    }
    out.extend(b[pos..].iter().copied());
    Merge3::Clean(out)
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

        /// A clean merge is symmetric: which side is "ours" does not change the result.
        #[test]
        fn clean_merges_are_symmetric(base in words(), a in words(), t in words()) {
            let (base, a, t) = (base.join(" "), a.join(" "), t.join(" "));
            if let Merge3::Clean(m) = merge3(&base, &a, &t) {
                if let Merge3::Clean(n) = merge3(&base, &t, &a) {
                    prop_assert_eq!(m, n);
                }
            }
        }
    }
}
