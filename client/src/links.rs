//! Links between notes: `[[...]]` in a note's body, as Obsidian and Logseq write them.
//!
//! A link made by picking a note from the completion list is written `[[ID|Title]]`: the
//! note's id, then the title it had when linked. The id is what the link follows, so a
//! renamed note stays linked (the preview shows its title as it is now); the title after
//! the bar keeps the text readable where the id means nothing (a plain-text export, a
//! device without the note). A link typed by hand, `[[Title]]` (or Obsidian's
//! `[[Title|shown text]]`), follows the note of that title (case and surrounding spaces
//! ignored); a title no note has offers to create that note.
//!
//! The Markdown export writes a link by id as a link to the linked note's file,
//! `[[groceries-ID|Title]]` ([`with_names`]), which Obsidian follows; Tern follows such a
//! link by the id at its end when no note has that text as its title
//! ([`Target::id_suffix`]), so it keeps working after an import. Importing a vault keeps
//! its `[[Title]]` links, which follow titles.
//!
//! Everything here is pure string work, bounded by the note's length.

use std::ops::Range;

use sync_core::NoteId;

/// Longest text between `[[` and `]]` taken as a link, in bytes (a note id and a title).
pub const MAX_LINK_BYTES: usize = 300;

/// Longest text typed after `[[` that completion still treats as a title being looked for.
pub const MAX_QUERY_BYTES: usize = 100;

/// What a link points at.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    /// The note of this id (`[[ID|Title]]`).
    Id(NoteId),
    /// The note of this title (`[[Title]]`), as written.
    Title(String),
}

/// One `[[...]]` in a body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    /// What it points at.
    pub target: Target,
    /// The text after `|`, if any (for an id link: the title when linked).
    pub label: Option<String>,
    /// Where it is in the body, brackets included (byte offsets).
    pub range: Range<usize>,
}

/// True for a string that has the form of a note id: 22 characters of the URL-safe
/// base64 alphabet (`client::platform::random_id`).
pub fn is_id(s: &str) -> bool {
    s.len() == 22
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// What the text before `|` in a link points at: with a label, an id (`[[ID|Title]]`) is
/// the note of that id; anything else is a title.
pub fn target_of(dest: &str, labelled: bool) -> Target {
    let dest = dest.trim();
    if labelled && is_id(dest) {
        Target::Id(NoteId(dest.to_owned()))
    } else {
        Target::Title(dest.to_owned())
    }
}

impl Target {
    /// For a title that ends in `-` and a note id (an exported file's name,
    /// `groceries-ID`), that id: what the link follows when no note has the title.
    pub fn id_suffix(&self) -> Option<NoteId> {
        let Target::Title(t) = self else { return None };
        let cut = t.len().checked_sub(22)?;
        (cut > 1 && t.as_bytes()[cut - 1] == b'-' && t.is_char_boundary(cut) && is_id(&t[cut..]))
            .then(|| NoteId(t[cut..].to_owned()))
    }
}

/// Every link in `body`, in order. A link lies on one line, is at most
/// [`MAX_LINK_BYTES`] long inside its brackets, and has a non-empty target.
pub fn links(body: &str) -> Vec<Link> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(open) = body[at..].find("[[").map(|i| at + i) {
        let inner_start = open + 2;
        let rest = &body[inner_start..];
        let end = rest
            .char_indices()
            .take_while(|(i, c)| *i <= MAX_LINK_BYTES && *c != '\n')
            .find(|(i, _)| rest[*i..].starts_with("]]"))
            .map(|(i, _)| i);
        let Some(len) = end else {
            at = inner_start;
            continue;
        };
        let inner = &rest[..len];
        // `[[[x]]`: the link starts at the last `[[` before its text.
        if inner.starts_with('[') {
            at = open + 1;
            continue;
        }
        let (target, label) = match inner.split_once('|') {
            Some((t, l)) => (t.trim(), Some(l.trim().to_owned())),
            None => (inner.trim(), None),
        };
        at = inner_start + len + 2;
        if target.is_empty() {
            continue;
        }
        let target = target_of(target, label.is_some());
        out.push(Link {
            target,
            label,
            range: open..at,
        });
    }
    out
}

/// A title as a link may carry it: one line, without the characters that open or end a
/// link (`|`, brackets: `[` and `]` become `(` and `)`, so `Array[0]` cannot end the link
/// early nor `[[` start another), at most [`MAX_QUERY_BYTES`] bytes; "Untitled" when
/// nothing is left.
pub fn clean_title(title: &str) -> String {
    let t: String = title
        .chars()
        .map(|c| match c {
            '\n' | '\r' | '|' => ' ',
            '[' => '(',
            ']' => ')',
            c => c,
        })
        .collect();
    let mut t = t.trim().to_owned();
    if t.len() > MAX_QUERY_BYTES {
        let mut cut = MAX_QUERY_BYTES;
        while !t.is_char_boundary(cut) {
            cut -= 1;
        }
        t.truncate(cut);
    }
    if t.is_empty() {
        "Untitled".to_owned()
    } else {
        t
    }
}

/// The text of a link to note `id` titled `title`: `[[ID|Title]]`.
pub fn link_text(id: &NoteId, title: &str) -> String {
    format!("[[{}|{}]]", id.0, clean_title(title))
}

/// A link being typed: when `before` (the text before the caret) ends in an open `[[`
/// on its last line, followed by at most [`MAX_QUERY_BYTES`] bytes without `]` or `|`,
/// the byte offset of that `[[` and what was typed after it.
pub fn typing(before: &str) -> Option<(usize, &str)> {
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let open = before[line_start..].rfind("[[")? + line_start;
    let query = &before[open + 2..];
    (query.len() <= MAX_QUERY_BYTES && !query.contains([']', '|', '['])).then_some((open, query))
}

/// True when a title matches what a `[[Title]]` link names: equal once trimmed and
/// lowercased.
pub fn same_title(a: &str, b: &str) -> bool {
    a.trim().to_lowercase() == b.trim().to_lowercase()
}

/// True when `body` links to the note `id` titled `title` (by id, or by that title).
pub fn links_to(body: &str, id: &NoteId, title: &str) -> bool {
    links(body).iter().any(|l| match &l.target {
        Target::Id(t) => t == id,
        Target::Title(t) => {
            (!title.trim().is_empty() && same_title(t, title))
                || l.target.id_suffix().as_ref() == Some(id)
        }
    })
}

/// `body` with every id link's id replaced by what `name_of` gives for it (an exported
/// file's name: `[[ID|Title]]` becomes `[[groceries-ID|Title]]`, which Obsidian follows to
/// that file and Tern by [`Target::id_suffix`]); the label is kept as written; links
/// `name_of` knows nothing of, and title links, are left as they are.
pub fn with_names(body: &str, name_of: impl Fn(&NoteId) -> Option<String>) -> String {
    let mut out = String::with_capacity(body.len());
    let mut at = 0;
    for l in links(body) {
        let inner = &body[l.range.start + 2..l.range.end - 2];
        if let Target::Id(id) = &l.target
            && let Some(name) = name_of(id)
            && let Some((_, label)) = inner.split_once('|')
        {
            out.push_str(&body[at..l.range.start]);
            out.push_str("[[");
            out.push_str(&name);
            out.push('|');
            out.push_str(label);
            out.push_str("]]");
            at = l.range.end;
        }
    }
    out.push_str(&body[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "AbCdEfGhIjKlMnOpQrSt-_";

    #[test]
    fn finds_id_and_title_links() {
        let body = format!("see [[{ID}|Groceries]] and [[ Plans ]], [[Plans|the plans]]");
        let l = links(&body);
        assert_eq!(l.len(), 3);
        assert_eq!(l[0].target, Target::Id(NoteId(ID.into())));
        assert_eq!(l[0].label.as_deref(), Some("Groceries"));
        assert_eq!(&body[l[0].range.clone()], format!("[[{ID}|Groceries]]"));
        assert_eq!(l[1].target, Target::Title("Plans".into()));
        assert_eq!(l[2].target, Target::Title("Plans".into()));
        assert_eq!(l[2].label.as_deref(), Some("the plans"));
    }

    #[test]
    fn what_is_not_a_link() {
        assert!(links("[[]] [[ ]] [[a\nb]] [[open").is_empty());
        let long = format!("[[{}]]", "x".repeat(MAX_LINK_BYTES + 1));
        assert!(links(&long).is_empty());
        // An id without a label is a title (someone wrote that word).
        assert_eq!(
            links(&format!("[[{ID}]]"))[0].target,
            Target::Title(ID.into())
        );
        assert_eq!(links("[[[x]]")[0].target, Target::Title("x".into()));
        assert_eq!(links("é[[ü]]")[0].range, 2..8);
    }

    #[test]
    fn link_text_reads_back() {
        let id = NoteId(ID.into());
        for title in [
            "Plain",
            "a | b",
            "x]]y",
            "",
            "two\nlines",
            "Array[0]",
            "Ideas [[draft",
            &"é".repeat(80),
        ] {
            let t = link_text(&id, title);
            let l = links(&t);
            assert_eq!(l.len(), 1, "{t}");
            assert_eq!(l[0].target, Target::Id(id.clone()));
            assert_eq!(l[0].range, 0..t.len());
        }
    }

    #[test]
    fn exported_names_lead_back_to_the_note() {
        let id = NoteId(ID.into());
        let body = format!("a [[{ID}|Old|er]] b [[Kept]] c [[zzzzzzzzzzzzzzzzzzzzzz|Other]]");
        let out = with_names(&body, |i| (i == &id).then(|| format!("shopping-list-{ID}")));
        assert_eq!(
            out,
            format!(
                "a [[shopping-list-{ID}|Old|er]] b [[Kept]] c [[zzzzzzzzzzzzzzzzzzzzzz|Other]]"
            )
        );
        let l = links(&out);
        assert_eq!(l[0].target, Target::Title(format!("shopping-list-{ID}")));
        assert_eq!(l[0].target.id_suffix(), Some(id));
        assert_eq!(l[1].target.id_suffix(), None);
        // A kebab-case title is a title (its end is no id of a note here: it is looked up
        // as a title first).
        let kebab = Target::Title("how-to-set-up-the-dev-environment".into());
        assert_eq!(target_of("how-to-set-up-the-dev-environment", true), kebab);
        assert_eq!(target_of(&format!("x{ID}"), true).id_suffix(), None);
        assert_eq!(
            target_of(&format!("é-{ID}"), true).id_suffix(),
            Some(NoteId(ID.into()))
        );
    }

    #[test]
    fn typing_a_link() {
        assert_eq!(typing("see [[Gro"), Some((4, "Gro")));
        assert_eq!(typing("see [["), Some((4, "")));
        assert_eq!(typing("[[done]] and"), None);
        assert_eq!(typing("[[a|b"), None);
        assert_eq!(typing("[[a\nb"), None);
        assert_eq!(typing("x [[a\n[[b"), Some((6, "b")));
    }

    #[test]
    fn backlinks() {
        let id = NoteId(ID.into());
        assert!(links_to(&format!("x [[{ID}|Old name]]"), &id, "New name"));
        assert!(links_to("x [[new NAME]]", &id, "New name"));
        assert!(links_to(&format!("x [[new-name-{ID}|Old]]"), &id, "Newer"));
        assert!(!links_to("x [[Other]]", &id, "New name"));
        assert!(!links_to("x [[ ]]", &id, ""));
    }
}
