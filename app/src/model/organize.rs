//! Notebooks, tags, pins, dates and the multi-select, as the sidebar, the list and the
//! editor bar show them: pure values (no signal, no I/O), so each rule has a unit test.
//!
//! - [`Organize`]: the notebooks (a tree, by parent) and tags of the store shown, read as
//!   records (`client::local::Notes::records`); a notebook's path, the tree in display
//!   order (cycle-safe), tag completion.
//! - The sidebar's filters are search queries ([`filter_query`]): selecting "Pinned" sets
//!   the search box to `is:pinned`, a notebook to `notebook:"Path/Of/It"`, a tag to
//!   `tag:name`, as Bear and Gmail do; the user can add words, and the sidebar highlights
//!   the entry whose query the search box holds.
//! - [`date_label`]: "Today 14:05", "3 Dec", "3 Dec 2025" (with `chrono`).
//! - [`Selection`]: the list's multi-select (Ctrl/Cmd-click, Shift-click, Shift+arrows).

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Datelike, FixedOffset, TimeZone, Timelike, Utc};
use client::local::LocalNote;

/// A notebook as the sidebar and the pickers show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotebookView {
    /// The record's id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The notebook it is inside (`None`: top level).
    pub parent: Option<String>,
}

/// A tag as the sidebar and the editor bar show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TagView {
    /// The record's id.
    pub id: String,
    /// Its name.
    pub name: String,
}

/// The notebooks and tags of the store shown.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Organize {
    /// Every live notebook, by name.
    pub notebooks: Vec<NotebookView>,
    /// Every live tag, by name.
    pub tags: Vec<TagView>,
}

/// Most levels of notebooks shown (a deeper one, or one of a cycle two devices made
/// at once, is shown at the top level): every walk up a path is bounded.
pub const MAX_DEPTH: usize = 32;

impl Organize {
    /// From the records as read (`records(Kind::Notebook)`, `records(Kind::Tag)`).
    pub fn of(notebooks: Vec<LocalNote>, tags: Vec<LocalNote>) -> Self {
        let mut o = Organize {
            notebooks: notebooks
                .into_iter()
                .map(|n| NotebookView {
                    parent: n.notebook_id().map(|p| p.0),
                    id: n.id.0,
                    name: n.title,
                })
                .collect(),
            tags: tags
                .into_iter()
                .map(|t| TagView {
                    id: t.id.0,
                    name: t.title,
                })
                .collect(),
        };
        o.notebooks
            .sort_by(|a, b| by_name(&a.name, &b.name).then(a.id.cmp(&b.id)));
        o.tags
            .sort_by(|a, b| by_name(&a.name, &b.name).then(a.id.cmp(&b.id)));
        // A parent that is gone (deleted), or a cycle: shown at the top level.
        let ids: HashMap<String, Option<String>> = o
            .notebooks
            .iter()
            .map(|n| (n.id.clone(), n.parent.clone()))
            .collect();
        for n in &mut o.notebooks {
            if !rooted(&ids, &n.id) {
                n.parent = None;
            }
        }
        o
    }

    /// Notebook `id`.
    pub fn notebook(&self, id: &str) -> Option<&NotebookView> {
        self.notebooks.iter().find(|n| n.id == id)
    }

    /// Tag `id`.
    pub fn tag(&self, id: &str) -> Option<&TagView> {
        self.tags.iter().find(|t| t.id == id)
    }

    /// The tag named `name` (case does not matter).
    pub fn tag_named(&self, name: &str) -> Option<&TagView> {
        let name = name.trim();
        self.tags
            .iter()
            .find(|t| t.name.to_lowercase() == name.to_lowercase())
    }

    /// The names from the top level down to notebook `id`.
    pub fn path_names(&self, id: &str) -> Vec<String> {
        let mut names = Vec::new();
        let mut at = self.notebook(id);
        while let Some(n) = at {
            names.push(n.name.clone());
            if names.len() >= MAX_DEPTH {
                break;
            }
            at = n.parent.as_deref().and_then(|p| self.notebook(p));
        }
        names.reverse();
        names
    }

    /// The names from the top level down to notebook `id`, joined by `/` (as shown).
    pub fn path(&self, id: &str) -> String {
        self.path_names(id).join("/")
    }

    /// The notebooks in the tree's order (each followed by those inside it, by name), with
    /// their depth (0: top level).
    pub fn tree(&self) -> Vec<(usize, &NotebookView)> {
        let mut out = Vec::with_capacity(self.notebooks.len());
        let mut stack: Vec<(usize, &NotebookView)> = self
            .notebooks
            .iter()
            .filter(|n| n.parent.is_none())
            .rev()
            .map(|n| (0, n))
            .collect();
        while let Some((depth, n)) = stack.pop() {
            out.push((depth, n));
            if depth + 1 < MAX_DEPTH {
                stack.extend(
                    self.notebooks
                        .iter()
                        .filter(|c| c.parent.as_deref() == Some(n.id.as_str()))
                        .rev()
                        .map(|c| (depth + 1, c)),
                );
            }
        }
        out
    }

    /// True when notebook `id` has notebooks inside it.
    pub fn has_children(&self, id: &str) -> bool {
        self.notebooks
            .iter()
            .any(|n| n.parent.as_deref() == Some(id))
    }

    /// Notebook `id` and every notebook below it (a notebook cannot move into these).
    pub fn below(&self, id: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::from([id.to_owned()]);
        let mut grew = true;
        while grew {
            grew = false;
            for n in &self.notebooks {
                if let Some(p) = &n.parent
                    && out.contains(p)
                    && out.insert(n.id.clone())
                {
                    grew = true;
                }
            }
        }
        out
    }

    /// The tags whose name starts with `prefix` (case does not matter), leaving out
    /// `except` (the note's own): at most `limit`.
    pub fn complete(&self, prefix: &str, except: &[String], limit: usize) -> Vec<&TagView> {
        let p = prefix.trim().to_lowercase();
        if p.is_empty() {
            return Vec::new();
        }
        self.tags
            .iter()
            .filter(|t| t.name.to_lowercase().starts_with(&p) && !except.contains(&t.id))
            .take(limit)
            .collect()
    }
}

/// Names compare as a person reads them: case does not matter first.
fn by_name(a: &str, b: &str) -> std::cmp::Ordering {
    a.to_lowercase().cmp(&b.to_lowercase()).then(a.cmp(b))
}

/// True when walking up from `id` reaches the top level within [`MAX_DEPTH`] steps,
/// through live notebooks only.
fn rooted(ids: &HashMap<String, Option<String>>, id: &str) -> bool {
    let mut at = id;
    for _ in 0..MAX_DEPTH {
        match ids.get(at) {
            Some(None) => return true,
            Some(Some(p)) if ids.contains_key(p) => at = p,
            // Its parent is gone: shown at the top level, so rooted as shown.
            Some(Some(_)) => return at != id,
            None => return false,
        }
        if at == id {
            return false;
        }
    }
    false
}

/// What the sidebar selects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Filter {
    /// Every note.
    All,
    /// Pinned notes.
    Pinned,
    /// The notes of a notebook (by the names of its path, from the top level).
    Notebook(Vec<String>),
    /// The notes with a tag (by its name).
    Tag(String),
}

/// The search query that selects `filter` (the search box then shows it), written as the
/// search's parser reads it back (`client::search::query`: quotes and escapes).
pub fn filter_query(filter: &Filter) -> String {
    use client::search::query::Filter as Find;
    match filter {
        Filter::All => String::new(),
        Filter::Pinned => Find::Pinned.to_string(),
        Filter::Notebook(path) => Find::Notebook(path.clone()).to_string(),
        Filter::Tag(name) => Find::Tag(name.clone()).to_string(),
    }
}

/// True when the search box's `query` is exactly `filter`'s (the sidebar highlights it).
pub fn is_filter(query: &str, filter: &Filter) -> bool {
    query.trim() == filter_query(filter)
}

const DAY_MS: i64 = 24 * 3600 * 1000;

/// A date as the list and the editor show it, in local time (`offset_minutes` east of
/// UTC): "Today 14:05", "Yesterday 09:30", "3 Dec" this year, "3 Dec 2025" before.
pub fn date_label(ms: u64, now_ms: u64, offset_minutes: i32) -> String {
    let Some(tz) = FixedOffset::east_opt(offset_minutes.clamp(-1439, 1439) * 60) else {
        return String::new();
    };
    let at = |ms: u64| -> Option<DateTime<FixedOffset>> {
        let t = Utc.timestamp_millis_opt(i64::try_from(ms).ok()?).single()?;
        Some(t.with_timezone(&tz))
    };
    let (Some(t), Some(now)) = (at(ms), at(now_ms)) else {
        return String::new();
    };
    let today = now.date_naive();
    let day = t.date_naive();
    // (Written out rather than with `format`: chrono's format strings are a parser and
    // a formatter in the start-up module for four shapes of date.)
    let time = format!("{:02}:{:02}", t.hour(), t.minute());
    let month = MONTHS[t.month0() as usize];
    if day == today {
        format!("Today {time}")
    } else if Some(day) == today.pred_opt() {
        format!("Yesterday {time}")
    } else if day.year() == today.year() && (now_ms as i64 - ms as i64) < 366 * DAY_MS {
        format!("{} {month}", t.day())
    } else {
        format!("{} {month} {}", t.day(), t.year())
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// The notes selected in the list (beyond the open one), with the note the keyboard
/// extends from. Plain clicks open a note and clear it; Ctrl/Cmd-click toggles a note
/// (the open note joins first: it was the selection); Shift-click selects from the
/// anchor to the note clicked; Shift+Down/Up grows or shrinks the range by one note.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selection {
    /// The selected ids, in the order selected.
    ids: Vec<String>,
    /// Where a range starts.
    anchor: Option<String>,
    /// Where a range ends (the keyboard moves it).
    cursor: Option<String>,
}

impl Selection {
    /// The selected ids.
    pub fn ids(&self) -> &[String] {
        &self.ids
    }

    /// True when nothing is selected.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// How many notes are selected.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// True when `id` is selected.
    pub fn contains(&self, id: &str) -> bool {
        self.ids.iter().any(|i| i == id)
    }

    /// Nothing selected (Escape, a plain click).
    pub fn clear(&mut self) {
        *self = Self::default();
    }

    /// Ctrl/Cmd-click on `id`, `open` the open note, `order` the list (the open note joins
    /// only if it is listed: one a search hides is not acted on unseen).
    pub fn toggle(&mut self, order: &[String], open: Option<&str>, id: &str) {
        if self.ids.is_empty()
            && let Some(o) = open
            && o != id
            && order.iter().any(|x| x == o)
        {
            self.ids.push(o.to_owned());
        }
        if let Some(i) = self.ids.iter().position(|x| x == id) {
            self.ids.remove(i);
        } else {
            self.ids.push(id.to_owned());
        }
        self.anchor = Some(id.to_owned());
        self.cursor = Some(id.to_owned());
    }

    /// Where a range starts: the last note clicked, else the open note, if listed.
    fn anchor_in(&self, order: &[String], open: Option<&str>) -> Option<String> {
        self.anchor
            .clone()
            .filter(|a| order.contains(a))
            .or_else(|| open.map(str::to_owned))
            .filter(|a| order.contains(a))
    }

    /// Shift-click on `id`: the notes of `order` (the list) from the anchor (the last
    /// note clicked, else the open note) to `id`.
    pub fn range_to(&mut self, order: &[String], open: Option<&str>, id: &str) {
        let anchor = self.anchor_in(order, open).unwrap_or_else(|| id.to_owned());
        self.select_range(order, &anchor, id);
        self.anchor = Some(anchor);
    }

    /// Shift+Down (`down`) or Shift+Up: the range's end moves one note; gives the note
    /// it moved to (the focus follows it).
    pub fn extend(&mut self, order: &[String], open: Option<&str>, down: bool) -> Option<String> {
        let anchor = self
            .anchor_in(order, open)
            .or_else(|| order.first().cloned())?;
        let from = self
            .cursor
            .clone()
            .filter(|c| order.contains(c))
            .unwrap_or_else(|| anchor.clone());
        let at = order.iter().position(|x| *x == from)?;
        let to = if down {
            (at + 1).min(order.len() - 1)
        } else {
            at.saturating_sub(1)
        };
        let to = order[to].clone();
        self.select_range(order, &anchor, &to);
        self.anchor = Some(anchor);
        Some(to)
    }

    fn select_range(&mut self, order: &[String], from: &str, to: &str) {
        let (Some(a), Some(b)) = (
            order.iter().position(|x| x == from),
            order.iter().position(|x| x == to),
        ) else {
            return;
        };
        let (lo, hi) = (a.min(b), a.max(b));
        self.ids = order[lo..=hi].to_vec();
        self.cursor = Some(to.to_owned());
    }

    /// Keeps only the notes still listed (after a delete, a new read).
    pub fn retain(&mut self, listed: &[String]) {
        self.ids.retain(|i| listed.contains(i));
        if self.ids.is_empty() {
            self.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nb(id: &str, name: &str, parent: Option<&str>) -> NotebookView {
        NotebookView {
            id: id.into(),
            name: name.into(),
            parent: parent.map(Into::into),
        }
    }

    fn organize(notebooks: Vec<NotebookView>) -> Organize {
        let ids: HashMap<String, Option<String>> = notebooks
            .iter()
            .map(|n| (n.id.clone(), n.parent.clone()))
            .collect();
        let mut o = Organize {
            notebooks,
            tags: vec![
                TagView {
                    id: "t1".into(),
                    name: "work".into(),
                },
                TagView {
                    id: "t2".into(),
                    name: "Weekend".into(),
                },
                TagView {
                    id: "t3".into(),
                    name: "home".into(),
                },
            ],
        };
        for n in &mut o.notebooks {
            if !rooted(&ids, &n.id) {
                n.parent = None;
            }
        }
        o
    }

    #[test]
    fn a_nested_notebook_has_a_path_and_its_place_in_the_tree() {
        let o = organize(vec![
            nb("a", "Work", None),
            nb("b", "Projects", Some("a")),
            nb("c", "Tern", Some("b")),
            nb("d", "Home", None),
            nb("e", "Archive", Some("a")),
        ]);
        assert_eq!(o.path("c"), "Work/Projects/Tern");
        assert_eq!(o.path("d"), "Home");
        let tree: Vec<(usize, &str)> = o
            .tree()
            .iter()
            .map(|(d, n)| (*d, n.name.as_str()))
            .collect();
        // (The notebooks are given in the order a read gives them: by name.)
        assert_eq!(
            tree,
            [
                (0, "Work"),
                (1, "Projects"),
                (2, "Tern"),
                (1, "Archive"),
                (0, "Home")
            ]
        );
        assert!(o.has_children("a") && !o.has_children("c"));
        assert_eq!(o.below("b"), BTreeSet::from(["b".into(), "c".into()]));
    }

    #[test]
    fn a_cycle_or_a_deleted_parent_shows_at_the_top_level() {
        // Two devices each moved one notebook into the other at once.
        let o = organize(vec![
            nb("a", "A", Some("b")),
            nb("b", "B", Some("a")),
            nb("c", "C", Some("gone")),
            nb("d", "D", Some("c")),
        ]);
        assert_eq!(o.notebook("a").unwrap().parent, None);
        assert_eq!(o.notebook("b").unwrap().parent, None);
        assert_eq!(o.notebook("c").unwrap().parent, None, "parent deleted");
        assert_eq!(o.notebook("d").unwrap().parent.as_deref(), Some("c"));
        assert_eq!(o.tree().len(), 4, "every notebook shown once");
        assert_eq!(o.path("d"), "C/D");
    }

    #[test]
    fn tags_complete_by_prefix_whatever_the_case_leaving_out_the_notes_own() {
        let o = organize(vec![]);
        let names = |v: Vec<&TagView>| v.iter().map(|t| t.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(o.complete("W", &[], 5)), ["work", "Weekend"]);
        assert_eq!(names(o.complete("wo", &[], 5)), ["work"]);
        assert_eq!(names(o.complete("w", &["t1".into()], 5)), ["Weekend"]);
        assert!(o.complete("  ", &[], 5).is_empty());
        assert_eq!(o.tag_named(" WORK ").map(|t| t.id.as_str()), Some("t1"));
    }

    #[test]
    fn filters_are_search_queries_the_search_reads_back() {
        use client::search::query::{Filter as Find, parse};
        assert_eq!(filter_query(&Filter::All), "");
        assert_eq!(filter_query(&Filter::Pinned), "is:pinned");
        assert_eq!(filter_query(&Filter::Tag("work".into())), "tag:work");
        let path = vec!["Work".to_owned(), "Big plans".to_owned()];
        assert_eq!(
            filter_query(&Filter::Notebook(path.clone())),
            "notebook:\"Work/Big plans\""
        );
        // Any name, quotes, slashes and backslashes included, parses back.
        for name in ["a\"b c", "x/y", "back\\slash", "tab\there", "#"] {
            let q = parse(&filter_query(&Filter::Tag(name.into())));
            assert_eq!(q.filters, [Find::Tag(name.into())], "{name}");
            let nb = vec![name.to_owned(), "inner".to_owned()];
            let q = parse(&filter_query(&Filter::Notebook(nb.clone())));
            assert_eq!(q.filters, [Find::Notebook(nb)], "{name}");
        }
        assert!(is_filter(" tag:work ", &Filter::Tag("work".into())));
        assert!(!is_filter("tag:work milk", &Filter::Tag("work".into())));
        assert!(is_filter("", &Filter::All));
    }

    #[test]
    fn dates_read_as_a_person_says_them() {
        // 2026-12-07 14:05 UTC.
        let now = Utc.with_ymd_and_hms(2026, 12, 7, 14, 5, 0).unwrap();
        let now_ms = now.timestamp_millis() as u64;
        let ms = |t: DateTime<Utc>| t.timestamp_millis() as u64;
        assert_eq!(date_label(now_ms, now_ms, 0), "Today 14:05");
        assert_eq!(date_label(now_ms, now_ms, 60), "Today 15:05", "UTC+1");
        let yesterday = Utc.with_ymd_and_hms(2026, 12, 6, 9, 30, 0).unwrap();
        assert_eq!(date_label(ms(yesterday), now_ms, 0), "Yesterday 09:30");
        let dec3 = Utc.with_ymd_and_hms(2026, 12, 3, 8, 0, 0).unwrap();
        assert_eq!(date_label(ms(dec3), now_ms, 0), "3 Dec");
        let last_year = Utc.with_ymd_and_hms(2025, 12, 3, 8, 0, 0).unwrap();
        assert_eq!(date_label(ms(last_year), now_ms, 0), "3 Dec 2025");
        // Late in the evening west of UTC, it is still yesterday there.
        let late = Utc.with_ymd_and_hms(2026, 12, 7, 2, 0, 0).unwrap();
        assert_eq!(date_label(ms(late), now_ms, -300), "Yesterday 21:00");
    }

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn ctrl_click_toggles_and_the_open_note_joins_first() {
        let order = ids(&["a", "b", "c"]);
        let mut s = Selection::default();
        s.toggle(&order, Some("a"), "c");
        assert_eq!(s.ids(), ids(&["a", "c"]));
        s.toggle(&order, Some("a"), "a");
        assert_eq!(s.ids(), ids(&["c"]));
        s.toggle(&order, Some("a"), "c");
        assert!(s.is_empty());
        s.toggle(&order, None, "b");
        assert_eq!(s.ids(), ids(&["b"]));
        s.clear();
        // The open note is not listed (the search hides it): it does not join.
        s.toggle(&order, Some("z"), "b");
        assert_eq!(s.ids(), ids(&["b"]));
    }

    #[test]
    fn shift_click_and_shift_arrows_select_a_range() {
        let order = ids(&["a", "b", "c", "d", "e"]);
        let mut s = Selection::default();
        s.range_to(&order, Some("b"), "d");
        assert_eq!(s.ids(), ids(&["b", "c", "d"]));
        // The anchor stays: a second Shift-click above it turns the range around.
        s.range_to(&order, Some("b"), "a");
        assert_eq!(s.ids(), ids(&["a", "b"]));
        s.clear();
        // From the open note, Shift+Down twice, then Shift+Up once.
        assert_eq!(s.extend(&order, Some("c"), true).as_deref(), Some("d"));
        assert_eq!(s.extend(&order, Some("c"), true).as_deref(), Some("e"));
        assert_eq!(s.ids(), ids(&["c", "d", "e"]));
        assert_eq!(
            s.extend(&order, Some("c"), true).as_deref(),
            Some("e"),
            "end of the list"
        );
        assert_eq!(s.extend(&order, Some("c"), false).as_deref(), Some("d"));
        assert_eq!(s.ids(), ids(&["c", "d"]));
        // Up past the anchor.
        s.extend(&order, Some("c"), false);
        s.extend(&order, Some("c"), false);
        assert_eq!(s.ids(), ids(&["b", "c"]));
        s.retain(&ids(&["a", "c"]));
        assert_eq!(s.ids(), ids(&["c"]));
        assert_eq!(Selection::default().extend(&[], None, true), None);
    }

    /// Random interleavings of clicks, Shift+arrows, new reads of the list (notes gone) and
    /// Escape, seeded (reproducible: the seed is in the failure), against a reference: a
    /// set of ids, and the range rule written out plainly.
    #[test]
    fn random_interleavings_match_the_reference() {
        for seed in 0..300u64 {
            let mut rng = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let mut next = |n: usize| {
                rng = rng
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((rng >> 33) as usize) % n.max(1)
            };
            let mut order: Vec<String> = (0..8).map(|i| format!("n{i}")).collect();
            let mut s = Selection::default();
            let mut reference: Vec<String> = Vec::new();
            let open_id = "n3";
            let open = Some(open_id);
            for step in 0..40 {
                let at = format!("seed {seed} step {step}");
                match next(5) {
                    0 => {
                        let id = order[next(order.len())].clone();
                        let before = s.is_empty();
                        s.toggle(&order, open, &id);
                        if before && open_id != id && order.iter().any(|x| x == open_id) {
                            reference.push(open_id.to_owned());
                        }
                        if let Some(i) = reference.iter().position(|x| *x == id) {
                            reference.remove(i);
                        } else {
                            reference.push(id);
                        }
                    }
                    1 | 2 => {
                        let down = next(2) == 0;
                        let id = order[next(order.len())].clone();
                        if next(2) == 0 {
                            s.range_to(&order, open, &id);
                        } else {
                            s.extend(&order, open, down);
                        }
                        // The range rule: every note between the anchor and the end.
                        let (a, c) = (s.anchor.clone().unwrap(), s.cursor.clone().unwrap());
                        let pa = order.iter().position(|x| *x == a).unwrap();
                        let pc = order.iter().position(|x| *x == c).unwrap();
                        reference = order[pa.min(pc)..=pa.max(pc)].to_vec();
                    }
                    3 => {
                        // A new read: a note is gone (and one new one listed).
                        let gone = next(order.len());
                        order.remove(gone);
                        order.push(format!("m{step}"));
                        s.retain(&order);
                        reference.retain(|x| order.contains(x));
                    }
                    _ => {
                        s.clear();
                        reference.clear();
                    }
                }
                let mut got = s.ids().to_vec();
                let mut want = reference.clone();
                got.sort();
                want.sort();
                assert_eq!(got, want, "{at}");
                let unique: BTreeSet<&String> = s.ids().iter().collect();
                assert_eq!(unique.len(), s.len(), "no id twice: {at}");
            }
        }
    }
}
