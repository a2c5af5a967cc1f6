//! The search box's language: words, and operators that filter by what a note is filed
//! under. Pure: [`parse`] turns the box's text into a [`Query`]; the index resolves its
//! names and answers it ([`super::SearchIndex::find`]).
//!
//! - Words match as a search does: every word is a prefix of some word of the note.
//! - `tag:NAME`: notes with a tag of that name.
//! - `notebook:NAME`: notes in a notebook of that name *or in any notebook inside it*
//!   (as Joplin and Obsidian do). `NAME` may be a path, the names of nested notebooks
//!   joined by `/` (`notebook:Work/Clients`): it matches a notebook whose path ends with
//!   those names (`notebook:Clients` also finds `Work/Clients`).
//! - `is:pinned`: pinned notes.
//! - A value with spaces is quoted: `tag:"to do"`, `notebook:"Home/Big projects"`; inside
//!   quotes `\` takes the next character as it is (`tag:"say \"hi\""`, a notebook named
//!   `a/b`: `notebook:"a\/b"`). A filter prints itself so ([`Filter`]'s `Display`: what the
//!   sidebar puts in the box).
//! - Names are compared case-insensitively; operator names too (`TAG:Work`).
//! - Several operators and words are all required (AND).
//! - A name no tag or notebook has matches no note. Anything that is not a well-formed
//!   operator (`is:other`, `colour:red`, `tag:` with no value) is taken as words.

/// Longest word indexed, in characters (longer ones are indexed by this prefix).
pub const MAX_WORD_CHARS: usize = 32;

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

/// One filter of a query.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Filter {
    /// Notes with a tag of this name (as typed; compared case-insensitively).
    Tag(String),
    /// Notes in a notebook whose path ends with these names (as typed, split at `/`), or
    /// in one inside it.
    Notebook(Vec<String>),
    /// Pinned notes.
    Pinned,
}

/// What the search box asks for: words (the text left once the operators are taken out)
/// and filters, all required.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Query {
    /// The words, as typed (the index cuts them into words as it cuts notes).
    pub text: String,
    /// The filters.
    pub filters: Vec<Filter>,
}

impl Query {
    /// True when it has words to match.
    pub fn has_words(&self) -> bool {
        words(&self.text).next().is_some()
    }

    /// True when it asks for nothing: no word, no filter (the list of every note).
    pub fn is_empty(&self) -> bool {
        self.filters.is_empty() && !self.has_words()
    }
}

/// The order of the list: by last change (the default), by creation date (newest first
/// both), or by title (A to Z, case-insensitive; untitled notes last). With words and
/// [`Sort::Modified`], notes whose title has every word come first (a search's order).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Sort {
    /// Last changed first.
    #[default]
    Modified,
    /// Last created first.
    Created,
    /// By title.
    Title,
}

impl Sort {
    /// Every sort, in the order a menu shows them.
    pub const ALL: [Sort; 3] = [Sort::Modified, Sort::Created, Sort::Title];

    /// Its name in the page's markup (`<option value>`).
    pub fn as_str(self) -> &'static str {
        match self {
            Sort::Modified => "modified",
            Sort::Created => "created",
            Sort::Title => "title",
        }
    }

    /// The sort named `s` ([`Sort::as_str`]); the default for anything else.
    pub fn parse(s: &str) -> Self {
        Self::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .unwrap_or_default()
    }
}

/// Most filters a query keeps (each costs a pass over the notes' labels): more are dropped.
pub const MAX_FILTERS: usize = 16;

/// Splits the box's text into tokens at whitespace outside quotes; a token keeps its
/// quotes (`tag:"a b"` is one token). Inside quotes `\` takes the next character as it is.
fn tokens(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = None;
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match (start, c) {
            (Some(_), '\\') if quoted => escaped = true,
            (_, '"') => {
                start.get_or_insert(i);
                quoted = !quoted;
            }
            (Some(s), c) if c.is_whitespace() && !quoted => {
                out.push(&text[s..i]);
                start = None;
            }
            (None, c) if !c.is_whitespace() => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push(&text[s..]);
    }
    out
}

/// A value as typed, its quotes taken out: `"` opens and closes a quoted stretch, inside
/// which `\` takes the next character as it is (`\"`, `\\`, `\/`); split at every other
/// `/` when `split` (a notebook's path). Each part trimmed, empty ones dropped.
fn unescape(raw: &str, split: bool) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut quoted = false;
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        let part = parts.last_mut().expect("one part at least");
        match c {
            '"' => quoted = !quoted,
            '\\' if quoted => part.extend(chars.next()),
            '/' if split => parts.push(String::new()),
            c => part.push(c),
        }
    }
    parts
        .into_iter()
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty())
        .collect()
}

/// The operator a token is, if it is a well-formed one.
fn operator(token: &str) -> Option<Filter> {
    let (name, value) = token.split_once(':')?;
    let name = name.to_lowercase();
    let mut parts = unescape(value, name == "notebook");
    match name.as_str() {
        "tag" => parts.pop().map(Filter::Tag),
        "notebook" => (!parts.is_empty()).then_some(Filter::Notebook(parts)),
        "is" if parts.len() == 1 && parts[0].eq_ignore_ascii_case("pinned") => Some(Filter::Pinned),
        _ => None,
    }
}

/// Writes `name` as a value: as it is when it is plain (letters, digits, `-`, `_`, `.`),
/// else quoted with `"`, `\` and `/` escaped.
fn write_value(out: &mut std::fmt::Formatter<'_>, name: &str) -> std::fmt::Result {
    let plain = |c: char| c.is_alphanumeric() || matches!(c, '-' | '_' | '.');
    if !name.is_empty() && name.chars().all(plain) {
        return out.write_str(name);
    }
    write_quoted(out, name)
}

fn write_quoted(out: &mut std::fmt::Formatter<'_>, name: &str) -> std::fmt::Result {
    out.write_str("\"")?;
    write_escaped(out, name)?;
    out.write_str("\"")
}

fn write_escaped(out: &mut std::fmt::Formatter<'_>, name: &str) -> std::fmt::Result {
    for c in name.chars() {
        if matches!(c, '"' | '\\' | '/') {
            out.write_str("\\")?;
        }
        write!(out, "{c}")?;
    }
    Ok(())
}

/// The filter as the search box takes it (what the sidebar sets: `tag:work`,
/// `notebook:"Work/Big launch"`, `is:pinned`); parsing it gives the filter back.
impl std::fmt::Display for Filter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Filter::Tag(t) => {
                f.write_str("tag:")?;
                write_value(f, t)
            }
            Filter::Notebook(path) if path.len() == 1 => {
                f.write_str("notebook:")?;
                write_value(f, &path[0])
            }
            Filter::Notebook(path) => {
                f.write_str("notebook:\"")?;
                for (i, p) in path.iter().enumerate() {
                    if i > 0 {
                        f.write_str("/")?;
                    }
                    write_escaped(f, p)?;
                }
                f.write_str("\"")
            }
            Filter::Pinned => f.write_str("is:pinned"),
        }
    }
}

/// The query the search box's text asks for (see the module's doc).
pub fn parse(text: &str) -> Query {
    let mut q = Query::default();
    for t in tokens(text) {
        match operator(t) {
            Some(f) if q.filters.len() < MAX_FILTERS => {
                if !q.filters.contains(&f) {
                    q.filters.push(f);
                }
            }
            Some(_) => {}
            None => {
                if !q.text.is_empty() {
                    q.text.push(' ');
                }
                q.text.push_str(t);
            }
        }
    }
    q
}

/// A name as the filters compare it: case-folded, spaces at the ends trimmed.
pub fn fold(name: &str) -> String {
    name.trim().chars().flat_map(char::to_lowercase).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nb(path: &[&str]) -> Filter {
        Filter::Notebook(path.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn operators_and_words_are_told_apart() {
        let q = parse("tag:work milk");
        assert_eq!(q.text, "milk");
        assert_eq!(q.filters, [Filter::Tag("work".into())]);
        let q = parse("  Is:Pinned  TAG:\"to do\" notebook:\"Home/Big projects\" eggs bread ");
        assert_eq!(q.text, "eggs bread");
        assert_eq!(
            q.filters,
            [
                Filter::Pinned,
                Filter::Tag("to do".into()),
                nb(&["Home", "Big projects"])
            ]
        );
        assert!(!parse("is:pinned").is_empty() && !parse("is:pinned").has_words());
        assert!(parse("   ").is_empty());
    }

    #[test]
    fn a_bad_operator_is_words() {
        for t in [
            "is:other",
            "colour:red",
            "tag:",
            "notebook:\"\"",
            "notebook:/",
            ":x",
        ] {
            let q = parse(t);
            assert_eq!((q.text.as_str(), q.filters.len()), (t, 0), "{t}");
        }
        // An unclosed quote runs to the end.
        assert_eq!(parse("tag:\"to do").filters, [Filter::Tag("to do".into())]);
        // A URL is words (its scheme is no operator).
        assert_eq!(parse("https://example.com").text, "https://example.com");
    }

    #[test]
    fn repeated_filters_count_once_and_are_bounded() {
        assert_eq!(parse("is:pinned is:PINNED").filters, [Filter::Pinned]);
        let many: String = (0..40).map(|i| format!("tag:t{i} ")).collect();
        assert_eq!(parse(&many).filters.len(), MAX_FILTERS);
    }

    #[test]
    fn names_with_quotes_and_slashes_are_escaped() {
        let say = Filter::Tag("say \"hi\"".into());
        assert_eq!(say.to_string(), r#"tag:"say \"hi\"""#);
        assert_eq!(parse(r#"tag:"say \"hi\"""#).filters, [say]);
        assert_eq!(Filter::Tag("work".into()).to_string(), "tag:work");
        assert_eq!(Filter::Tag("to do".into()).to_string(), r#"tag:"to do""#);
        let nb = nb(&["a/b", "c d"]);
        assert_eq!(nb.to_string(), r#"notebook:"a\/b/c d""#);
        assert_eq!(parse(&nb.to_string()).filters, [nb]);
        assert_eq!(Filter::Pinned.to_string(), "is:pinned");
    }

    #[test]
    fn paths_are_split_and_trimmed() {
        assert_eq!(parse("notebook:a/b/c").filters, [nb(&["a", "b", "c"])]);
        assert_eq!(parse("notebook:\" a / b \"").filters, [nb(&["a", "b"])]);
        assert_eq!(parse("notebook:/a//b/").filters, [nb(&["a", "b"])]);
        assert_eq!(fold(" Straße ÄB "), "straße äb");
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod properties {
    use proptest::prelude::*;

    use super::*;

    /// Pieces queries are made of: operators well-formed or not, quoted or not, words.
    fn piece() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-zA-Z0-9]{1,6}",
            "[a-zA-Z]{1,5}( [a-z]{1,4})?".prop_map(|v| format!("tag:\"{v}\"")),
            "[a-zA-Z]{1,5}".prop_map(|v| format!("TaG:{v}")),
            "[a-z]{1,3}(/[a-z]{1,3}){0,2}".prop_map(|v| format!("notebook:{v}")),
            Just("is:pinned".to_owned()),
            Just("is:other".to_owned()),
            Just("tag:".to_owned()),
            "[a-z:\"/ ]{0,8}",
        ]
    }

    proptest! {
        /// Whatever is typed, parsing never panics, the filters are well-formed, and
        /// printing the query back and parsing it again gives the same query (so the
        /// sidebar's queries, made by printing, mean what they say).
        #[test]
        fn parse_is_total_and_stable(pieces in prop::collection::vec(piece(), 0..8)) {
            let q = parse(&pieces.join(" "));
            for f in &q.filters {
                match f {
                    Filter::Tag(t) => prop_assert!(!t.trim().is_empty()),
                    Filter::Notebook(p) => prop_assert!(!p.is_empty() && p.iter().all(|s| !s.is_empty() && !s.contains('/'))),
                    Filter::Pinned => {}
                }
            }
            let printed = print(&q);
            prop_assert_eq!(parse(&printed), q, "{}", printed);
        }

        /// Any name, however odd (quotes, backslashes, slashes, spaces, colons), printed
        /// as a filter parses back to that name: the sidebar selects what it shows.
        #[test]
        fn a_printed_filter_parses_back(
            names in prop::collection::vec("[a-zA-Z \"\\\\/:é.-]{1,8}", 1..4),
            words in "[a-z ]{0,10}",
        ) {
            let names: Vec<String> = names.iter().map(|n| n.trim().to_owned()).filter(|n| !n.is_empty()).collect();
            prop_assume!(!names.is_empty());
            let tag = Filter::Tag(names[0].clone());
            let q = parse(&format!("{words} {tag} {words}"));
            prop_assert_eq!(&q.filters, &vec![tag.clone()], "{}", tag);
            // A path: every name one notebook (a `/` in a name is no separator).
            let nb = Filter::Notebook(names.clone());
            prop_assert_eq!(parse(&nb.to_string()).filters, vec![nb.clone()], "{}", nb);
        }

        /// An operator added to any text is recognised, and the text's words stay.
        #[test]
        fn an_operator_is_recognised_among_words(words in "[a-z ]{0,20}", tag in "[a-zA-Z][a-zA-Z ]{0,8}") {
            let tag = tag.trim().to_owned();
            let q = parse(&format!("{words} tag:\"{tag}\" {words}"));
            prop_assert!(q.filters.contains(&Filter::Tag(tag)));
            prop_assert_eq!(super::words(&q.text).count(), 2 * super::words(&words).count());
        }
    }

    /// The query as text, filters quoted (the inverse of [`parse`] up to spacing).
    fn print(q: &Query) -> String {
        let mut parts: Vec<String> = q.filters.iter().map(Filter::to_string).collect();
        parts.push(q.text.clone());
        parts.join(" ")
    }
}
