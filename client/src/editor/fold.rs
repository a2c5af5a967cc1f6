//! What to show when the open note changes underneath the editor ([`fold`]), what to write
//! when it saves ([`plan_save`]), and carets carried through a change; see the parent
//! module's docs.

use sync_core::Text;
use sync_core::text::{Budget, MERGE_BUDGET, Merge3, diff_tokens, merge3};

/// Which field of the editor holds the caret.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    /// The title input.
    Title,
    /// The content textarea.
    Content,
}

/// The editor's selection, in bytes of the field's text (`start <= end`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Caret {
    /// The field with the focus.
    pub field: Field,
    /// Selection start.
    pub start: usize,
    /// Selection end (the caret itself when nothing is selected).
    pub end: usize,
}

/// The open note as the local store holds it now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stored<'a> {
    /// A live note with this text.
    Live(&'a Text),
    /// Deleted (a tombstone), or gone from the store.
    Deleted,
}

/// What the editor should do about the stored note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fold {
    /// The store holds the editor's base: nothing changed underneath.
    Same,
    /// Show `text` (the new stored text, or the user's unsaved text merged into it), with
    /// the caret moved along. `unsaved`: `text` differs from the stored text (it carries the
    /// user's typing) and must be saved. The editor's new base is the stored text.
    Show {
        /// What the editor shows now.
        text: Text,
        /// Where the caret goes.
        caret: Option<Caret>,
        /// `text` still has to be saved.
        unsaved: bool,
    },
    /// The user's unsaved text and the new stored text edit the same words differently.
    /// The editor keeps the user's text; `theirs` is the other version, for the user to
    /// choose between (nothing is dropped).
    Overlap {
        /// The stored text the user's typing overlaps.
        theirs: Text,
    },
    /// The note was deleted underneath. The editor keeps whatever it shows and offers the
    /// note back; it must not save (a keystroke must not undo the delete silently).
    Deleted,
}

/// Folds the stored note into the editor. `base` is the text the editor last loaded or
/// saved, `editor` what it shows now, `caret` its selection.
pub fn fold(base: &Text, editor: &Text, caret: Option<Caret>, stored: Stored<'_>) -> Fold {
    let theirs = match stored {
        Stored::Deleted => return Fold::Deleted,
        Stored::Live(t) => t,
    };
    if theirs == base {
        return Fold::Same;
    }
    let (Merge3::Clean(title), Merge3::Clean(content)) = (
        merge3(&base.title, &editor.title, &theirs.title),
        merge3(&base.content, &editor.content, &theirs.content),
    ) else {
        return Fold::Overlap {
            theirs: theirs.clone(),
        };
    };
    let text = Text { title, content };
    let caret = caret.map(|c| {
        let (old, new) = match c.field {
            Field::Title => (&editor.title, &text.title),
            Field::Content => (&editor.content, &text.content),
        };
        Caret {
            field: c.field,
            start: map_position(old, new, c.start),
            end: map_position(old, new, c.end),
        }
    });
    let unsaved = text != *theirs;
    Fold::Show {
        text,
        caret,
        unsaved,
    }
}

/// What a save writes, given the text the editor was based on and what the store holds
/// when the save runs (it may have changed since the editor last looked).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SavePlan {
    /// The store holds exactly this already: nothing to write.
    Nothing,
    /// Write this text (the editor's, or the editor's merged into the stored one).
    Write(Text),
    /// Write the editor's text and keep `theirs` beside it as a conflict for the user.
    WriteWithConflict {
        /// The stored text the editor's text overlaps.
        theirs: Text,
    },
    /// The note was deleted meanwhile: write nothing (the editor offers it back).
    Deleted,
}

/// Plans a save of `editor` (based on `base`) over the `stored` note.
pub fn plan_save(base: &Text, editor: &Text, stored: Stored<'_>) -> SavePlan {
    match fold(base, editor, None, stored) {
        Fold::Deleted => SavePlan::Deleted,
        Fold::Same if editor == base => SavePlan::Nothing,
        Fold::Same => SavePlan::Write(editor.clone()),
        Fold::Show { text, unsaved, .. } if unsaved => SavePlan::Write(text),
        Fold::Show { .. } => SavePlan::Nothing,
        Fold::Overlap { theirs } => SavePlan::WriteWithConflict { theirs },
    }
}

/// Where byte position `pos` of `old` is in `new`: text kept around it moves it along with
/// insertions and deletions before it; inside replaced text it goes to the end of the
/// replacement; at a boundary it stays before text inserted there (the user's next
/// keystroke continues their own word). Always a char boundary of `new`.
pub fn map_position(old: &str, new: &str, pos: usize) -> usize {
    let pos = floor_char_boundary(old, pos.min(old.len()));
    if old == new {
        return pos;
    }
    let (a, b) = (sync_core::text::tokens(old), sync_core::text::tokens(new));
    // The merge's own bounded diff: texts too different to diff within a merge's budget
    // (a wholesale rewrite) keep the caret at the same offset.
    let Ok(edits) = diff_tokens(&a, &b, &mut Budget::new(MERGE_BUDGET)) else {
        return floor_char_boundary(new, pos.min(new.len()));
    };
    let bytes = |toks: &[&str]| toks.iter().map(|t| t.len()).sum::<usize>();
    // Byte offsets in `old` and `new`, and the first token not yet walked in `a`.
    let (mut o, mut n, mut next) = (0usize, 0usize, 0usize);
    for (gone, came) in edits {
        // The equal tokens before this edit.
        let l = bytes(&a[next..gone.start]);
        if l > 0 {
            if pos <= o + l {
                return n + (pos - o);
            }
            o += l;
            n += l;
        }
        let (lo, ln) = (bytes(&a[gone.clone()]), bytes(&b[came]));
        if lo == 0 {
            // An insertion: at the very start, the caret stays before it.
            if pos == 0 && o == 0 && n == 0 {
                return 0;
            }
        } else if pos < o + lo {
            // Inside deleted or replaced text: the end of what replaced it.
            return n + ln;
        }
        o += lo;
        n += ln;
        next = gone.end;
    }
    let l = bytes(&a[next..]);
    if pos <= o + l {
        return n + (pos - o);
    }
    new.len()
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The byte offset of UTF-16 offset `units` in `s` (a DOM selection offset), clamped to the
/// text.
pub fn utf16_to_byte(s: &str, units: usize) -> usize {
    let mut seen = 0;
    for (i, c) in s.char_indices() {
        if seen >= units {
            return i;
        }
        seen += c.len_utf16();
    }
    s.len()
}

/// The UTF-16 offset (as the DOM counts) of byte offset `byte` in `s`.
pub fn byte_to_utf16(s: &str, byte: usize) -> usize {
    s[..floor_char_boundary(s, byte.min(s.len()))]
        .chars()
        .map(char::len_utf16)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(title: &str, content: &str) -> Text {
        Text {
            title: title.into(),
            content: content.into(),
        }
    }

    fn at(pos: usize) -> Option<Caret> {
        Some(Caret {
            field: Field::Content,
            start: pos,
            end: pos,
        })
    }

    #[test]
    fn nothing_changed_underneath() {
        let base = t("T", "one");
        assert_eq!(
            fold(&base, &t("T", "one!"), at(4), Stored::Live(&base)),
            Fold::Same
        );
    }

    #[test]
    fn a_clean_editor_shows_the_new_text_at_once() {
        let base = t("T", "one");
        let new = t("T", "one two");
        assert_eq!(
            fold(&base, &base, at(3), Stored::Live(&new)),
            Fold::Show {
                text: new.clone(),
                caret: at(3),
                unsaved: false
            }
        );
    }

    #[test]
    fn unsaved_typing_is_merged_into_the_new_text_and_the_caret_follows() {
        // The user typed "Hello" at the end; another device fixed the first line.
        let base = t("T", "frist line\nsecond line\n");
        let ours = t("T", "frist line\nsecond line\nHello");
        let theirs = t("T", "first line\nsecond line\n");
        let caret = at(ours.content.len());
        let Fold::Show {
            text,
            caret,
            unsaved,
        } = fold(&base, &ours, caret, Stored::Live(&theirs))
        else {
            panic!("a clean merge")
        };
        assert_eq!(text.content, "first line\nsecond line\nHello");
        assert!(
            unsaved,
            "the merge carries typing the store does not have yet"
        );
        assert_eq!(
            caret,
            at(text.content.len()),
            "still at the end of the typing"
        );
    }

    #[test]
    fn the_caret_moves_with_text_inserted_before_it() {
        let base = t("T", "alpha beta");
        let ours = t("T", "alpha beta gamma"); // typing at the end
        let theirs = t("T", "zero alpha beta"); // inserted at the start
        let Fold::Show { text, caret, .. } =
            fold(&base, &ours, at(ours.content.len()), Stored::Live(&theirs))
        else {
            panic!("a clean merge")
        };
        assert_eq!(text.content, "zero alpha beta gamma");
        assert_eq!(caret, at(text.content.len()));
        // A caret in the middle of a word stays in that word.
        let Fold::Show { caret, .. } = fold(&base, &ours, at(2), Stored::Live(&theirs)) else {
            panic!()
        };
        assert_eq!(caret, at(7), "'zero al|pha'");
    }

    #[test]
    fn a_true_overlap_keeps_both_versions() {
        let base = t("T", "meet at 7");
        let ours = t("T", "meet at 8");
        let theirs = t("T", "meet at 9");
        assert_eq!(
            fold(&base, &ours, at(9), Stored::Live(&theirs)),
            Fold::Overlap {
                theirs: theirs.clone()
            }
        );
        assert_eq!(
            plan_save(&base, &ours, Stored::Live(&theirs)),
            SavePlan::WriteWithConflict { theirs }
        );
        // The title overlaps too.
        assert!(matches!(
            fold(&t("a", "x"), &t("b", "x"), None, Stored::Live(&t("c", "x"))),
            Fold::Overlap { .. }
        ));
    }

    #[test]
    fn a_delete_underneath_is_never_saved_over() {
        let base = t("T", "one");
        assert_eq!(
            fold(&base, &t("T", "one!"), at(4), Stored::Deleted),
            Fold::Deleted
        );
        assert_eq!(
            plan_save(&base, &t("T", "one!"), Stored::Deleted),
            SavePlan::Deleted
        );
    }

    #[test]
    fn saves_write_the_typing_merged_with_what_the_store_holds() {
        let base = t("T", "one");
        // Unchanged store: the editor's text as is.
        assert_eq!(
            plan_save(&base, &t("T", "one!"), Stored::Live(&base)),
            SavePlan::Write(t("T", "one!"))
        );
        // Nothing typed: nothing written.
        assert_eq!(
            plan_save(&base, &base, Stored::Live(&base)),
            SavePlan::Nothing
        );
        // The store moved on (a pull landed between the keystroke and the save): the save
        // must not write "one!" over "one two" (the old bug); it writes both edits.
        assert_eq!(
            plan_save(
                &t("T", "one\n"),
                &t("T", "one\n!"),
                Stored::Live(&t("T", "zero one\n"))
            ),
            SavePlan::Write(t("T", "zero one\n!"))
        );
        // Someone else typed exactly what the user typed.
        assert_eq!(
            plan_save(&base, &t("T", "one!"), Stored::Live(&t("T", "one!"))),
            SavePlan::Nothing
        );
    }

    #[test]
    fn positions_map_through_edits() {
        assert_eq!(map_position("abc", "abc", 2), 2);
        assert_eq!(map_position("one", "one two", 3), 3);
        assert_eq!(map_position("two", "one two", 3), 7);
        assert_eq!(map_position("a b c", "a c", 3), 2, "inside deleted text");
        assert_eq!(map_position("x", "", 1), 0);
        assert_eq!(map_position("", "new", 0), 0);
        assert_eq!(map_position("é b", "a é b", 2), 4, "char boundaries");
        // Too different to diff within a merge's budget: the same offset, on a boundary.
        let (a, b) = ("x ".repeat(40_000), "é".repeat(50_000));
        assert_eq!(map_position(&a, &b, 3), 2);
        for (old, new) in [("héllo wörld", "wörld"), ("a\nb\nc", "c\nb\na")] {
            for p in 0..=old.len() {
                let m = map_position(old, new, p);
                assert!(m <= new.len() && new.is_char_boundary(m), "{old} {new} {p}");
            }
        }
    }

    #[test]
    fn dom_offsets_convert() {
        let s = "a😀b";
        assert_eq!(utf16_to_byte(s, 0), 0);
        assert_eq!(utf16_to_byte(s, 1), 1);
        assert_eq!(utf16_to_byte(s, 3), 5);
        assert_eq!(utf16_to_byte(s, 99), s.len());
        assert_eq!(byte_to_utf16(s, 5), 3);
        assert_eq!(byte_to_utf16(s, s.len()), 4);
    }
}
