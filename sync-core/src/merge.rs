//! The server's decision for one pushed change against the note it already holds.
//!
//! A change is **sequential** when the device had seen the note's latest text
//! (`base_version` is the version of the note's last text change or later:
//! [`StoredNote::saw_text`], so a change of fields only in between does not count; and the
//! base text it carries, if any, is that text: [`StoredNote::made_on_latest`]; or the
//! stored version is the same device's own write on that base: see [`LastWrite`]) and its
//! clock is later: it simply becomes the
//! note's new state. A delete of exactly the stored text meets no edit and deletes the note.
//! Otherwise it is **concurrent**, and the note's strategy decides, case by case as the
//! table in `docs/sync-protocol.md` (section *Conflicts*, the one copy of it) says.
//!
//! The note's fields beyond its text ([`crate::fields`]) merge by their own rules, apart from
//! the text's strategy: [`resolve_within`] applies a change's field edits to whatever the
//! text's decision leaves ([`Resolution::text_kept`]).
//!
//! In every case the versions that lose, are merged or are deleted are returned as
//! revisions for the note's history: an edit is never lost, only moved to history. The
//! decision is a pure function, so every server process makes the same one, and it is
//! tested exhaustively here and end to end in `server/tests/conflicts.rs`.

use crate::hlc::Hlc;
use crate::model::{Conflict, NoteState, Strategy, Text, Version};
use crate::protocol::{Change, RevisionReason};
use crate::text::{Budget, MERGE_BUDGET, Merge3, merge3_within};

/// A sequential edit keeps the replaced version in history when it is at least this old
/// (by clock), so a note's history shows its earlier states without keeping every
/// keystroke-save.
pub const REVISION_EVERY_MS: u64 = 5 * 60 * 1000;
/// Most concurrent versions an unresolved conflict keeps side by side (older ones are in
/// the history).
pub const MAX_CONFLICT_VERSIONS: usize = 8;

/// A note as the server stores it: its state and the clock of each field's last edit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredNote {
    /// The state pulls return.
    pub note: NoteState,
    /// Clock of the change that last set the title.
    pub title_hlc: Hlc,
    /// Clock of the change that last set the content.
    pub content_hlc: Hlc,
    /// Set when the stored version was written by one device straight on top of the
    /// version it names (a sequential change, or the note's first write), or is a conflict
    /// that shows that device's change (its other versions wait for the user).
    pub last_write: Option<LastWrite>,
    /// The version of the note's last change of its text (title, content, deleted):
    /// `note.version` but after changes that edited only fields, which leave the text as
    /// it was. A device that saw this version saw the latest text, so its text edit is
    /// sequential ([`StoredNote::saw_text`]), however many field edits came since.
    pub text_version: u64,
}

impl StoredNote {
    /// True when a change made on `base` (its `base_version`) saw the note's latest text:
    /// `base` is the version of the last text change or a later one (a field edit since
    /// does not make the device's text edit concurrent), and no later than the note's.
    pub fn saw_text(&self, base: Option<u64>) -> bool {
        base.is_some_and(|b| b >= self.text_version && b <= self.note.version)
    }

    /// True when `change` was made on the note's latest text: it names a version that saw
    /// it ([`StoredNote::saw_text`]) and the base text it carries, if any, is that text. A
    /// change whose base text is another was typed on an earlier text and only names the
    /// latest version: an editor whose typing overlapped the latest text, which the device
    /// then kept beside it as a conflict. It is concurrent with the latest text, so the
    /// strategy decides and every device sees the outcome, not only the one that typed.
    pub fn made_on_latest(&self, change: &Change) -> bool {
        self.saw_text(change.base_version)
            && change
                .base_title
                .as_deref()
                .is_none_or(|t| t == self.note.title)
            && change
                .base_content
                .as_deref()
                .is_none_or(|c| c == self.note.content)
    }
}

/// Who wrote a note's current version, on top of which version.
///
/// A device whose push was applied but whose answer was lost still holds its edit as
/// pending and keeps typing; its next change names the same base version as the applied
/// one. When the note's current version is that device's own write on that same base,
/// nothing came in between: the new change continues the device's own edit and is
/// sequential, not a conflict with itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastWrite {
    /// The device (clock node) that wrote the version.
    pub node: String,
    /// The version its change named as base (`None`: it created the note).
    pub base: Option<u64>,
}

impl LastWrite {
    fn of(change: &Change) -> Self {
        Self {
            node: change.hlc.node.clone(),
            base: change.base_version,
        }
    }
}

/// What the server does with a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    /// The note's new state, or `None` when the stored state stays (the change lost under
    /// last-write-wins, or a delete lost to an edit).
    pub next: Option<StoredNote>,
    /// Versions to add to the note's history, oldest clock first.
    pub revisions: Vec<(Version, RevisionReason)>,
    /// True when `revisions` hold a version that lost under last-write-wins to a version
    /// written without seeing it: its text is then only in the history, and no one but its
    /// author is known to have seen it (a purge must not drop it: see `crate::push`).
    pub unseen: bool,
    /// True when the change's text lost (or it edited no text) while its field edits
    /// changed the note: `next` is the stored text with those fields, at a new version.
    pub text_kept: bool,
}

impl Resolution {
    fn keep(revisions: Vec<(Version, RevisionReason)>) -> Self {
        Self {
            next: None,
            revisions,
            unseen: false,
            text_kept: false,
        }
    }
}

/// The version a change writes.
pub fn version_of(change: &Change) -> Version {
    Version {
        title: if change.deleted {
            String::new()
        } else {
            change.title.clone()
        },
        content: if change.deleted {
            String::new()
        } else {
            change.content.clone()
        },
        deleted: change.deleted,
        hlc: change.hlc.clone(),
    }
}

fn state(
    base: &NoteState,
    v: &Version,
    version: u64,
    strategy: Strategy,
    conflict: Option<Conflict>,
) -> NoteState {
    NoteState {
        id: base.id.clone(),
        title: v.title.clone(),
        content: v.content.clone(),
        deleted: v.deleted,
        hlc: v.hlc.clone(),
        version,
        strategy,
        // A deleted note has no conflict to show (every version is in its history).
        conflict: if v.deleted { None } else { conflict },
        purged: false,
        fields: base.fields.clone(),
    }
}

/// Decides what `change` does to the stored note (if any). `default` is the server's
/// strategy for notes without an override (never [`Strategy::Default`]; treated as merge
/// if it is); `version` is the version the new state gets. Text merges get a budget of
/// [`MERGE_BUDGET`] work units.
pub fn resolve(
    stored: Option<&StoredNote>,
    change: &Change,
    default: Strategy,
    version: u64,
) -> Resolution {
    resolve_within(
        stored,
        change,
        default,
        version,
        &mut Budget::new(MERGE_BUDGET),
    )
}

/// [`resolve`], with its text merges spending `budget` (shared by the changes of one
/// request, so that a request's merge work is bounded too). A content merge the budget
/// does not cover is a conflict for the user, exactly like an overlapping edit.
///
/// The change's field edits ([`Change::fields`]) apply by their own rules whatever the
/// text's strategy decides: on the new state when the text makes one, else (the text lost
/// under last-write-wins, a delete lost to an edit, or the change edited only fields) on
/// the stored text at a new version ([`Resolution::text_kept`]). A change that edits only
/// fields ([`Change::edits_only_fields`]) leaves the text as stored: it never competes
/// with a concurrent text edit, nor becomes one side of a conflict.
pub fn resolve_within(
    stored: Option<&StoredNote>,
    change: &Change,
    default: Strategy,
    version: u64,
    budget: &mut Budget,
) -> Resolution {
    let mut r = match stored {
        Some(_) if change.edits_only_fields() => Resolution::keep(vec![]),
        _ => resolve_text(stored, change, default, version, budget),
    };
    if change.fields.is_empty() {
        return r;
    }
    match (r.next.as_mut(), stored) {
        (Some(next), _) => next.note.fields.apply_change(change),
        (None, Some(s)) => {
            let mut fields = s.note.fields.clone();
            fields.apply_change(change);
            if fields != s.note.fields {
                let mut next = s.clone();
                next.note.fields = fields;
                next.note.version = version;
                // Any later change clears `purged` (the field's doc).
                next.note.purged = false;
                // The text is still the last writer's: its next change on the same base
                // continues its own edit (`LastWrite`), so `last_write` stays.
                r.next = Some(next);
                r.text_kept = true;
            }
        }
        (None, None) => {}
    }
    r
}

/// The decision on the change's text (title, content, deleted), fields carried over.
fn resolve_text(
    stored: Option<&StoredNote>,
    change: &Change,
    default: Strategy,
    version: u64,
    budget: &mut Budget,
) -> Resolution {
    let incoming = version_of(change);
    let Some(s) = stored else {
        let note = NoteState {
            id: change.note_id.clone(),
            title: incoming.title.clone(),
            content: incoming.content.clone(),
            deleted: incoming.deleted,
            hlc: incoming.hlc.clone(),
            version,
            strategy: change.strategy.unwrap_or_default(),
            conflict: None,
            purged: false,
            fields: Default::default(),
        };
        return Resolution {
            next: Some(StoredNote {
                note,
                title_hlc: change.hlc.clone(),
                content_hlc: change.hlc.clone(),
                last_write: Some(LastWrite::of(change)),
                text_version: version,
            }),
            revisions: vec![],
            unseen: false,
            text_kept: false,
        };
    };
    let note_strategy = change.strategy.unwrap_or(s.note.strategy);
    let strategy = match (note_strategy, default) {
        (Strategy::Default, Strategy::Default) => Strategy::Merge,
        (Strategy::Default, d) => d,
        (st, _) => st,
    };
    let current = s.note.version_of();
    // The device saw the latest text (changes of fields only may have come since), or the
    // latest version is its own earlier change on the same base (applied, answer lost).
    let made_on_latest = s.made_on_latest(change);
    let saw_latest = made_on_latest
        || s.last_write
            .as_ref()
            .is_some_and(|w| w.node == change.hlc.node && w.base == change.base_version);
    // A resolution settles the conflict it was made for; one made before further versions
    // arrived leaves the conflict (with them) for the user to see. Made on an earlier version
    // (its answer lost, say), it may not have seen every version of the conflict: the
    // device's own write on that base may be a conflict holding versions that came meanwhile.
    let keep_conflict = if change.resolve && made_on_latest {
        None
    } else {
        s.note.conflict.clone()
    };

    // Sequential: the device saw the latest version.
    if saw_latest && change.hlc > s.note.hlc {
        let mut revisions = vec![];
        // Another device's version is kept. The author is the device whose own write the
        // version is (`last_write`): a merged or conflict state carries the greater clock of
        // its sides, which may be this device's while the text is another's.
        let worth_keeping = change.deleted
            || change.hlc.node != s.note.hlc.node
            || s.last_write
                .as_ref()
                .is_none_or(|w| w.node != change.hlc.node)
            || change.hlc.wall_ms >= s.note.hlc.wall_ms.saturating_add(REVISION_EVERY_MS)
            || (change.resolve && s.note.conflict.is_some());
        if !s.note.deleted && worth_keeping {
            let why = if change.deleted {
                RevisionReason::Deleted
            } else {
                RevisionReason::Edited
            };
            revisions.push((current.clone(), why));
        }
        let next = StoredNote {
            note: state(&s.note, &incoming, version, note_strategy, keep_conflict),
            title_hlc: if incoming.title != s.note.title {
                change.hlc.clone()
            } else {
                s.title_hlc.clone()
            },
            content_hlc: if incoming.content != s.note.content {
                change.hlc.clone()
            } else {
                s.content_hlc.clone()
            },
            last_write: Some(LastWrite::of(change)),
            text_version: version,
        };
        return Resolution {
            next: Some(next),
            revisions,
            unseen: false,
            text_kept: false,
        };
    }

    // Concurrent. Two deletes agree: the note is deleted, nothing to keep.
    if s.note.deleted && incoming.deleted {
        if incoming.hlc > s.note.hlc {
            let note = state(&s.note, &incoming, version, note_strategy, None);
            let hlc = incoming.hlc.clone();
            return Resolution {
                next: Some(StoredNote {
                    note,
                    title_hlc: hlc.clone(),
                    content_hlc: hlc,
                    last_write: None,
                    text_version: version,
                }),
                revisions: vec![],
                unseen: false,
                text_kept: false,
            };
        }
        return Resolution::keep(vec![]);
    }
    let whole = |winner: &Version, conflict: Option<Conflict>| StoredNote {
        note: state(&s.note, winner, version, note_strategy, conflict),
        title_hlc: winner.hlc.clone(),
        content_hlc: winner.hlc.clone(),
        last_write: None,
        text_version: version,
    };
    let kept = |v: &Version, why| {
        if v.deleted {
            vec![]
        } else {
            vec![(v.clone(), why)]
        }
    };

    // A delete made on the text the note still has (only its strategy changed since, say)
    // meets no concurrent edit: under every strategy it deletes the note.
    if incoming.deleted
        && !s.note.deleted
        && s.note.conflict.is_none()
        && change.base_title.as_deref() == Some(s.note.title.as_str())
        && change.base_content.as_deref() == Some(s.note.content.as_str())
    {
        let deleted = Version {
            hlc: s.note.hlc.clone().max(incoming.hlc.clone()),
            ..incoming.clone()
        };
        return Resolution {
            next: Some(whole(&deleted, None)),
            revisions: kept(&current, RevisionReason::Deleted),
            unseen: false,
            text_kept: false,
        };
    }

    match strategy {
        Strategy::Lww => {
            let mut r = if incoming.hlc > s.note.hlc {
                Resolution {
                    next: Some(whole(&incoming, keep_conflict)),
                    revisions: kept(&current, RevisionReason::Conflict),
                    unseen: false,
                    text_kept: false,
                }
            } else {
                Resolution::keep(kept(&incoming, RevisionReason::Conflict))
            };
            r.unseen = !r.revisions.is_empty();
            r
        }
        Strategy::Merge | Strategy::Default => {
            if incoming.deleted {
                // An edit wins over a concurrent delete: the delete is dropped, the note stays.
                return Resolution::keep(vec![]);
            }
            if s.note.deleted {
                // The deleted text is in history already (kept when it was deleted).
                return Resolution {
                    next: Some(whole(&incoming, keep_conflict)),
                    revisions: vec![],
                    unseen: false,
                    text_kept: false,
                };
            }
            match merge_fields(s, change, &incoming, budget) {
                Some((title, title_hlc, content, content_hlc)) => {
                    let hlc = s.note.hlc.clone().max(incoming.hlc.clone());
                    let merged = Version {
                        title,
                        content,
                        deleted: false,
                        hlc,
                    };
                    let mut revisions = vec![];
                    for side in [&current, &incoming] {
                        if side.title != merged.title || side.content != merged.content {
                            revisions.push((side.clone(), RevisionReason::Merged));
                        }
                    }
                    revisions.sort_by(|a, b| a.0.hlc.cmp(&b.0.hlc));
                    Resolution {
                        next: Some(StoredNote {
                            note: state(&s.note, &merged, version, note_strategy, keep_conflict),
                            title_hlc,
                            content_hlc,
                            last_write: None,
                            text_version: version,
                        }),
                        revisions,
                        unseen: false,
                        text_kept: false,
                    }
                }
                // No clean merge: no proposal either.
                None => conflict(s, change, &current, &incoming, version, note_strategy, None),
            }
        }
        Strategy::Manual => {
            if current.deleted == incoming.deleted
                && current.title == incoming.title
                && current.content == incoming.content
            {
                // The same text on both sides is no conflict.
                let winner = if incoming.hlc > current.hlc {
                    &incoming
                } else {
                    &current
                };
                return Resolution {
                    next: Some(whole(winner, keep_conflict)),
                    revisions: vec![],
                    unseen: false,
                    text_kept: false,
                };
            }
            let proposal = if current.deleted || incoming.deleted {
                None
            } else {
                merge_fields(s, change, &incoming, budget)
                    .map(|(title, _, content, _)| Text { title, content })
            };
            conflict(
                s,
                change,
                &current,
                &incoming,
                version,
                note_strategy,
                proposal,
            )
        }
    }
}

/// Title and content merged field by field, each with the clock of its winning edit, or
/// `None` when the content edits overlap (or cannot be told apart without a base, or
/// telling them apart needs more than `budget`).
fn merge_fields(
    s: &StoredNote,
    change: &Change,
    incoming: &Version,
    budget: &mut Budget,
) -> Option<(String, Hlc, String, Hlc)> {
    let (title, title_hlc) = match change.base_title.as_deref() {
        _ if s.note.title == incoming.title => (s.note.title.clone(), s.title_hlc.clone()),
        Some(b) if incoming.title == b => (s.note.title.clone(), s.title_hlc.clone()),
        Some(b) if s.note.title == b => (incoming.title.clone(), incoming.hlc.clone()),
        // Both changed it (or no base to tell): the later title edit wins.
        _ if incoming.hlc > s.title_hlc => (incoming.title.clone(), incoming.hlc.clone()),
        _ => (s.note.title.clone(), s.title_hlc.clone()),
    };
    let (content, content_hlc) = if s.note.content == incoming.content {
        (s.note.content.clone(), s.content_hlc.clone())
    } else {
        let base = change.base_content.as_deref()?;
        match merge3_within(base, &s.note.content, &incoming.content, budget).ok()? {
            Merge3::Clean(m) if m == s.note.content => (m, s.content_hlc.clone()),
            Merge3::Clean(m) => (m, incoming.hlc.clone().max(s.content_hlc.clone())),
            Merge3::Conflict => return None,
        }
    };
    Some((title, title_hlc, content, content_hlc))
}

/// Keeps both versions side by side for the user. The note shows the version with the
/// greater clock (an edit rather than a delete, so the conflict stays visible); the other
/// joins the conflict's versions; `proposal`, a clean merge if one exists, is offered
/// unless it is what the note shows.
fn conflict(
    s: &StoredNote,
    change: &Change,
    current: &Version,
    incoming: &Version,
    version: u64,
    strategy: Strategy,
    proposal: Option<Text>,
) -> Resolution {
    let incoming_first = if current.deleted != incoming.deleted {
        current.deleted
    } else {
        incoming.hlc > current.hlc
    };
    let (main, other) = if incoming_first {
        (incoming, current)
    } else {
        (current, incoming)
    };
    let mut versions: Vec<Version> = s
        .note
        .conflict
        .as_ref()
        .map(|c| c.versions.clone())
        .unwrap_or_default();
    versions.push(other.clone());
    // Versions are told apart by what they say, not by clock: the shown version carries
    // the greatest clock of the conflict, which may be another version's.
    versions.retain(|v| !v.says_same(main));
    versions.sort_by(|a, b| a.hlc.cmp(&b.hlc));
    let mut distinct: Vec<Version> = Vec::with_capacity(versions.len());
    for v in versions.into_iter().rev() {
        if !distinct.iter().any(|d| d.says_same(&v)) {
            distinct.push(v);
        }
    }
    distinct.reverse();
    let mut versions = distinct;
    if versions.len() > MAX_CONFLICT_VERSIONS {
        versions.drain(..versions.len() - MAX_CONFLICT_VERSIONS);
    }
    let proposal = proposal.filter(|p| {
        (p.title.as_str(), p.content.as_str()) != (main.title.as_str(), main.content.as_str())
    });
    let hlc = current.hlc.clone().max(incoming.hlc.clone());
    let shown = Version {
        hlc: hlc.clone(),
        ..main.clone()
    };
    let mut revisions: Vec<(Version, RevisionReason)> = [current, incoming]
        .into_iter()
        .filter(|v| !v.deleted)
        .map(|v| (v.clone(), RevisionReason::Conflict))
        .collect();
    revisions.sort_by(|a, b| a.0.hlc.cmp(&b.0.hlc));
    Resolution {
        next: Some(StoredNote {
            note: state(
                &s.note,
                &shown,
                version,
                strategy,
                Some(Conflict { versions, proposal }),
            ),
            title_hlc: hlc.clone(),
            content_hlc: hlc,
            // The shown version is the change's own: a device whose answer was lost goes on
            // from it (typing on, deleting) as from its own write (`LastWrite`), not as
            // concurrent with itself. Its resolution still has to have seen the versions.
            last_write: incoming_first.then(|| LastWrite::of(change)),
            text_version: version,
        }),
        revisions,
        unseen: false,
        text_kept: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::NoteId;
    use proptest::prelude::{Just, any, prop_assert, prop_assert_eq, prop_oneof, proptest};

    fn hlc(wall: u64, node: &str) -> Hlc {
        Hlc {
            wall_ms: wall,
            counter: 0,
            node: node.into(),
        }
    }

    /// A change by `node` at `wall`, made on top of `base` (the stored note the device saw).
    fn edit(
        base: Option<&StoredNote>,
        wall: u64,
        node: &str,
        title: &str,
        content: &str,
    ) -> Change {
        let mut c = Change::new(
            format!("c{wall}{node}").as_str().into(),
            NoteId::from("n1"),
            hlc(wall, node),
            base.map(|b| b.note.version),
            title,
            content,
            false,
        );
        c.base_title = base.map(|b| b.note.title.clone());
        c.base_content = base.map(|b| b.note.content.clone());
        c
    }

    fn delete(base: Option<&StoredNote>, wall: u64, node: &str) -> Change {
        let mut c = edit(base, wall, node, "", "");
        c.deleted = true;
        c
    }

    /// Applies `change` like the server does; returns the resolution.
    fn push(stored: &mut Option<StoredNote>, change: &Change, strategy: Strategy) -> Resolution {
        let version = stored.as_ref().map_or(1, |s| s.note.version + 1);
        let r = resolve(stored.as_ref(), change, strategy, version);
        if let Some(n) = &r.next {
            *stored = Some(n.clone());
        }
        r
    }

    fn created(title: &str, content: &str) -> StoredNote {
        let mut s = None;
        push(
            &mut s,
            &edit(None, 100, "origin", title, content),
            Strategy::Merge,
        );
        s.unwrap()
    }

    /// `c` with field edits (JSON: `{"tags": {"add": [...]}, "pinned": true}`).
    fn with_fields(mut c: Change, fields: serde_json::Value) -> Change {
        c.fields = serde_json::from_value(fields).unwrap();
        c
    }

    #[test]
    fn a_pin_and_a_concurrent_text_edit_both_apply_under_every_strategy() {
        for st in [Strategy::Lww, Strategy::Merge, Strategy::Manual] {
            let base = created("t", "one");
            let mut s = Some(base.clone());
            // The laptop edits the text; the phone, which saw only `base`, pins the note
            // a moment later (so under last-write-wins its stale text would win, were it
            // an edit of the text).
            push(&mut s, &edit(Some(&base), 200, "laptop", "t", "two"), st);
            let pin = with_fields(
                edit(Some(&base), 300, "phone", "t", "one"),
                serde_json::json!({"pinned": true}),
            );
            assert!(pin.edits_only_fields());
            let r = push(&mut s, &pin, st);
            let n = r.next.expect("the pin applies").note;
            assert_eq!(n.content, "two", "{st:?}: the text edit stays");
            assert!(n.fields.pinned(), "{st:?}: the pin applies");
            assert_eq!((n.conflict, r.revisions.len()), (None, 0), "{st:?}");
            assert!(r.text_kept);
        }
    }

    #[test]
    fn a_text_edit_made_before_a_field_edit_it_did_not_see_is_sequential() {
        for st in [Strategy::Lww, Strategy::Merge, Strategy::Manual] {
            for with_tag in [false, true] {
                let base = created("t", "one");
                let mut s = Some(base.clone());
                // The phone pins the note first; the laptop, which saw only `base`, then
                // edits the text (with an earlier clock than the pin, as a slow clock
                // would). Today's client sends no fields; a new one may tag as it edits.
                let pin = with_fields(
                    edit(Some(&base), 200, "phone", "t", "one"),
                    serde_json::json!({"pinned": true}),
                );
                push(&mut s, &pin, st);
                let mut text = edit(Some(&base), 150, "laptop", "t", "two");
                if with_tag {
                    text = with_fields(text, serde_json::json!({"tags": {"add": ["a"]}}));
                }
                let r = push(&mut s, &text, st);
                let n = r.next.expect("the edit applies").note;
                let case = format!("{st:?}, tag {with_tag}");
                assert_eq!(n.content, "two", "{case}");
                assert_eq!(n.conflict, None, "{case}: no false conflict");
                assert!(n.fields.pinned(), "{case}: the pin stays");
                assert!(!r.unseen, "{case}");
                assert!(
                    r.revisions
                        .iter()
                        .all(|(_, why)| *why == RevisionReason::Edited),
                    "{case}: {:?}",
                    r.revisions
                );
                // A delete made on that text, after both, deletes the note at once.
                let seen = s.clone().unwrap();
                let mut del = delete(Some(&base), 400, "laptop");
                del.base_version = Some(seen.note.version);
                del.base_title = Some("t".into());
                del.base_content = Some("two".into());
                let r = push(&mut s, &del, st);
                assert!(r.next.unwrap().note.deleted, "{case}");
                assert!(!r.unseen, "{case}");
            }
        }
    }

    #[test]
    fn a_change_that_saw_only_an_older_text_is_still_concurrent_after_a_field_edit() {
        let base = created("t", "one");
        let mut s = Some(base.clone());
        push(
            &mut s,
            &edit(Some(&base), 200, "laptop", "t", "two"),
            Strategy::Manual,
        );
        let after_text = s.clone().unwrap();
        let pin = with_fields(
            edit(Some(&after_text), 300, "phone", "t", "two"),
            serde_json::json!({"pinned": true}),
        );
        push(&mut s, &pin, Strategy::Manual);
        let stale = edit(Some(&base), 400, "tablet", "t", "three");
        let n = push(&mut s, &stale, Strategy::Manual).next.unwrap().note;
        assert!(n.conflict.is_some(), "the tablet never saw \"two\"");
        assert!(n.fields.pinned());
    }

    #[test]
    fn field_edits_apply_when_the_text_loses_or_waits_for_the_user() {
        // Last-write-wins: the phone's older text loses, its tag does not.
        let base = created("t", "one");
        let mut s = Some(base.clone());
        push(
            &mut s,
            &edit(Some(&base), 300, "laptop", "t", "two"),
            Strategy::Lww,
        );
        let tagged = with_fields(
            edit(Some(&base), 200, "phone", "t", "phone's"),
            serde_json::json!({"tags": {"add": ["t1"]}}),
        );
        let r = push(&mut s, &tagged, Strategy::Lww);
        let n = r.next.expect("the tag applies").note;
        assert_eq!(n.content, "two");
        assert_eq!(n.fields.set("tags"), ["t1".to_owned()].into());
        assert_eq!(
            r.revisions[0].0.content, "phone's",
            "the lost text is in history"
        );
        assert!(r.text_kept && r.unseen);
        // Manual: the texts wait for the user; the notebook is set at once.
        let base = created("t", "one");
        let mut s = Some(base.clone());
        push(
            &mut s,
            &edit(Some(&base), 200, "laptop", "t", "two"),
            Strategy::Manual,
        );
        let moved = with_fields(
            edit(Some(&base), 300, "phone", "t", "three"),
            serde_json::json!({"notebook": "nb1"}),
        );
        let n = push(&mut s, &moved, Strategy::Manual).next.unwrap().note;
        assert!(n.conflict.is_some());
        assert_eq!(n.fields.id("notebook").as_deref(), Some("nb1"));
    }

    #[test]
    fn a_change_without_fields_keeps_the_notes_fields() {
        for st in [Strategy::Lww, Strategy::Merge, Strategy::Manual] {
            let mut s = None;
            push(
                &mut s,
                &with_fields(
                    edit(None, 100, "new", "t", "one"),
                    serde_json::json!({"tags": {"add": ["a"]}, "notebook": "nb", "pinned": true}),
                ),
                st,
            );
            let base = s.clone().unwrap();
            // Today's client: sequential, then concurrent edits, then a delete.
            push(&mut s, &edit(Some(&base), 200, "old", "t", "two"), st);
            push(&mut s, &edit(Some(&base), 300, "old2", "t", "three"), st);
            let n = s.clone().unwrap().note;
            assert_eq!(n.fields, base.note.fields, "{st:?}");
            let last = s.clone().unwrap();
            push(&mut s, &delete(Some(&last), 400, "old"), st);
            assert_eq!(s.unwrap().note.fields, base.note.fields, "{st:?}");
        }
    }

    #[test]
    fn a_field_edit_that_changes_nothing_is_superseded_like_a_losing_edit() {
        let base = created("t", "one");
        let mut s = Some(base.clone());
        let pin = |wall, node: &str, s: &StoredNote| {
            with_fields(
                edit(Some(s), wall, node, "t", "one"),
                serde_json::json!({"pinned": true}),
            )
        };
        push(&mut s, &pin(200, "a", &base), Strategy::Lww);
        // An older pin of the same value: the register keeps the later clock.
        let r = push(&mut s, &pin(150, "b", &base), Strategy::Lww);
        assert!(r.next.is_none() && r.revisions.is_empty());
    }

    #[test]
    fn a_sequential_edit_is_applied_as_is() {
        for st in [Strategy::Lww, Strategy::Merge, Strategy::Manual] {
            let base = created("t", "one");
            let mut s = Some(base.clone());
            let r = push(&mut s, &edit(Some(&base), 200, "origin", "t", "two"), st);
            let n = r.next.unwrap().note;
            assert_eq!((n.content.as_str(), n.conflict), ("two", None));
            assert!(
                r.revisions.is_empty(),
                "a quick follow-up edit by the same device is not a revision"
            );
        }
    }

    #[test]
    fn a_sequential_edit_from_another_device_keeps_the_old_version() {
        let base = created("t", "one");
        let r = resolve(
            Some(&base),
            &edit(Some(&base), 200, "phone", "t", "two"),
            Strategy::Lww,
            2,
        );
        assert_eq!(
            r.revisions,
            vec![(base.note.version_of(), RevisionReason::Edited)]
        );
    }

    #[test]
    fn lww_keeps_the_later_clock_and_the_loser_in_history() {
        let base = created("t", "one");
        let late = edit(Some(&base), 300, "b", "t", "late");
        let early = edit(Some(&base), 200, "a", "t", "early");
        // The later edit arrives first: the earlier one loses.
        let mut s = Some(base.clone());
        push(&mut s, &late, Strategy::Lww);
        let r = push(&mut s, &early, Strategy::Lww);
        assert!(r.next.is_none());
        assert_eq!(
            r.revisions,
            vec![(version_of(&early), RevisionReason::Conflict)]
        );
        assert_eq!(s.as_ref().unwrap().note.content, "late");
        // The other order: the later edit replaces the earlier, which goes to history.
        let mut s = Some(base.clone());
        push(&mut s, &early, Strategy::Lww);
        let r = push(&mut s, &late, Strategy::Lww);
        assert_eq!(
            r.revisions,
            vec![(version_of(&early), RevisionReason::Conflict)]
        );
        assert_eq!(s.unwrap().note.content, "late");
    }

    #[test]
    fn merge_takes_each_field_from_the_side_that_changed_it() {
        let base = created("title", "body");
        let mut s = Some(base.clone());
        push(
            &mut s,
            &edit(Some(&base), 200, "a", "new title", "body"),
            Strategy::Merge,
        );
        let r = push(
            &mut s,
            &edit(Some(&base), 150, "b", "title", "new body"),
            Strategy::Merge,
        );
        let n = r.next.unwrap().note;
        assert_eq!(
            (n.title.as_str(), n.content.as_str()),
            ("new title", "new body")
        );
        assert_eq!(n.conflict, None);
        assert_eq!(
            n.hlc,
            hlc(200, "a"),
            "the merged state carries the greater clock"
        );
        assert_eq!(r.revisions.len(), 2, "both pre-merge sides are kept");
    }

    #[test]
    fn merge_of_the_same_field_by_both_is_decided_by_that_field_clock() {
        let base = created("title", "body");
        let mut s = Some(base.clone());
        push(
            &mut s,
            &edit(Some(&base), 200, "a", "from a", "body"),
            Strategy::Merge,
        );
        push(
            &mut s,
            &edit(Some(&base), 300, "b", "from b", "body"),
            Strategy::Merge,
        );
        assert_eq!(s.unwrap().note.title, "from b");
    }

    #[test]
    fn merge_combines_edits_of_different_parts_of_the_content() {
        let base = created("t", "milk\neggs\nbread");
        let mut s = Some(base.clone());
        push(
            &mut s,
            &edit(Some(&base), 200, "a", "t", "oat milk\neggs\nbread"),
            Strategy::Merge,
        );
        push(
            &mut s,
            &edit(Some(&base), 210, "b", "t", "milk\neggs\nrye bread"),
            Strategy::Merge,
        );
        assert_eq!(s.unwrap().note.content, "oat milk\neggs\nrye bread");
    }

    /// A change naming the latest version but carrying another base text was typed on that
    /// other text (an editor that kept the latest text beside its typing, as a conflict on its
    /// device): concurrent, so the strategy decides; with the latest text as its base, the
    /// same change is sequential.
    #[test]
    fn a_change_typed_on_an_earlier_text_than_the_version_it_names_is_concurrent() {
        let base = created("t", "one two three");
        let mut s = Some(base.clone());
        push(
            &mut s,
            &edit(Some(&base), 200, "b", "t", "one TWO three"),
            Strategy::Merge,
        );
        let latest = s.clone().unwrap();
        let mut typed = edit(Some(&latest), 300, "a", "t", "one 2 three");
        assert!(latest.made_on_latest(&typed));
        typed.base_content = Some("one two three".into());
        assert!(!latest.made_on_latest(&typed));
        for st in [Strategy::Merge, Strategy::Manual] {
            let r = resolve(Some(&latest), &typed, st, 3);
            let n = r.next.unwrap().note;
            assert_eq!(n.content, "one 2 three", "{st:?}: the later edit is shown");
            let c = n.conflict.expect("a conflict for every device");
            assert_eq!(c.versions.len(), 1, "{st:?}");
            assert_eq!(c.versions[0].content, "one TWO three", "{st:?}");
        }
        // Typed on an earlier text in a part the other edit left: merged, no conflict.
        let mut apart = edit(Some(&latest), 300, "a", "t", "one two three four");
        apart.base_content = Some("one two three".into());
        let n = resolve(Some(&latest), &apart, Strategy::Merge, 3)
            .next
            .unwrap()
            .note;
        assert_eq!(
            (n.content.as_str(), n.conflict),
            ("one TWO three four", None)
        );
        // The device's own applied change whose answer was lost still continues it.
        let mut again = edit(Some(&base), 400, "b", "t", "one TWO three!");
        again.base_content = Some("one two three".into());
        assert!(
            resolve(Some(&latest), &again, Strategy::Manual, 3)
                .next
                .unwrap()
                .note
                .conflict
                .is_none()
        );
    }

    #[test]
    fn overlapping_content_edits_fall_back_to_the_user() {
        let base = created("t", "meet at 10");
        let mut s = Some(base.clone());
        push(
            &mut s,
            &edit(Some(&base), 200, "a", "t", "meet at 11"),
            Strategy::Merge,
        );
        let r = push(
            &mut s,
            &edit(Some(&base), 300, "b", "t", "meet at 9"),
            Strategy::Merge,
        );
        let n = r.next.unwrap().note;
        assert_eq!(n.content, "meet at 9", "the later edit is shown");
        let c = n.conflict.expect("a conflict for the user");
        assert_eq!(c.versions.len(), 1);
        assert_eq!(c.versions[0].content, "meet at 11");
        assert_eq!(r.revisions.len(), 2);
    }

    #[test]
    fn manual_keeps_both_sides_and_offers_a_clean_merge() {
        let base = created("t", "milk\neggs");
        let mut s = Some(base.clone());
        push(
            &mut s,
            &edit(Some(&base), 200, "a", "t", "oat milk\neggs"),
            Strategy::Manual,
        );
        let r = push(
            &mut s,
            &edit(Some(&base), 300, "b", "t", "milk\nfree-range eggs"),
            Strategy::Manual,
        );
        let n = r.next.unwrap().note;
        let c = n.conflict.clone().unwrap();
        assert_eq!(n.content, "milk\nfree-range eggs");
        assert_eq!(c.versions[0].content, "oat milk\neggs");
        assert_eq!(c.proposal.unwrap().content, "oat milk\nfree-range eggs");
        // The user resolves it on a device that saw the conflict: cleared.
        let seen = s.clone().unwrap();
        let mut resolution = edit(Some(&seen), 400, "a", "t", "oat milk\nfree-range eggs");
        resolution.resolve = true;
        let r = push(&mut s, &resolution, Strategy::Manual);
        assert_eq!(r.next.unwrap().note.conflict, None);
        // A resolution made without seeing a newer version does not clear the conflict.
        let mut s = Some(seen.clone());
        push(
            &mut s,
            &edit(Some(&seen), 350, "c", "t", "something else"),
            Strategy::Manual,
        );
        let r = push(&mut s, &resolution, Strategy::Manual);
        assert!(r.next.unwrap().note.conflict.is_some());
    }

    #[test]
    fn three_devices_in_manual_mode_are_all_kept() {
        let base = created("t", "x");
        let mut s = Some(base.clone());
        for (w, node) in [(200, "a"), (300, "b"), (250, "c")] {
            push(
                &mut s,
                &edit(Some(&base), w, node, "t", node),
                Strategy::Manual,
            );
        }
        let n = s.unwrap().note;
        assert_eq!(n.content, "b");
        let mut others: Vec<_> = n
            .conflict
            .unwrap()
            .versions
            .into_iter()
            .map(|v| v.content)
            .collect();
        others.sort();
        assert_eq!(others, vec!["a", "c"]);
    }

    #[test]
    fn edit_versus_delete_under_each_strategy() {
        let base = created("t", "keep me");
        let e = edit(Some(&base), 200, "a", "t", "edited");
        let d = delete(Some(&base), 300, "b");
        for order in [[&e, &d], [&d, &e]] {
            // Last-write-wins: the later clock (the delete) wins; the edit is in history.
            let mut s = Some(base.clone());
            let mut revs = vec![];
            for c in order {
                revs.extend(push(&mut s, c, Strategy::Lww).revisions);
            }
            assert!(s.unwrap().note.deleted);
            assert!(revs.iter().any(|(v, _)| v.content == "edited"), "{revs:?}");
            // Merge: the edit wins, whatever the clocks.
            let mut s = Some(base.clone());
            for c in order {
                push(&mut s, c, Strategy::Merge);
            }
            let n = s.unwrap().note;
            assert!(!n.deleted);
            assert_eq!(n.content, "edited");
            // Manual: a conflict showing the edit, with the delete as the other side.
            let mut s = Some(base.clone());
            for c in order {
                push(&mut s, c, Strategy::Manual);
            }
            let n = s.unwrap().note;
            assert_eq!((n.deleted, n.content.as_str()), (false, "edited"));
            assert!(n.conflict.unwrap().versions.iter().any(|v| v.deleted));
        }
    }

    #[test]
    fn deleting_a_note_in_conflict_clears_the_conflict() {
        let base = created("t", "x");
        let mut s = Some(base.clone());
        push(
            &mut s,
            &edit(Some(&base), 200, "a", "t", "from a"),
            Strategy::Manual,
        );
        push(
            &mut s,
            &edit(Some(&base), 300, "b", "t", "from b"),
            Strategy::Manual,
        );
        let seen = s.clone().unwrap();
        assert!(seen.note.conflict.is_some());
        let r = push(&mut s, &delete(Some(&seen), 400, "a"), Strategy::Manual);
        let n = r.next.unwrap().note;
        assert!(n.deleted && n.conflict.is_none());
        assert_eq!(r.revisions[0].0.content, "from b", "the shown text is kept");
    }

    #[test]
    fn delete_versus_delete_is_a_delete_under_every_strategy() {
        for st in [Strategy::Lww, Strategy::Merge, Strategy::Manual] {
            let base = created("t", "x");
            let mut s = Some(base.clone());
            push(&mut s, &delete(Some(&base), 200, "a"), st);
            let r = push(&mut s, &delete(Some(&base), 150, "b"), st);
            let n = s.unwrap().note;
            assert!(n.deleted && n.conflict.is_none());
            assert!(r.revisions.is_empty());
        }
    }

    #[test]
    fn a_sequential_delete_keeps_the_text_in_history() {
        let base = created("t", "precious");
        let r = resolve(
            Some(&base),
            &delete(Some(&base), 200, "origin"),
            Strategy::Merge,
            2,
        );
        assert_eq!(
            r.revisions,
            vec![(base.note.version_of(), RevisionReason::Deleted)]
        );
    }

    #[test]
    fn a_note_override_beats_the_server_default() {
        let base = created("t", "meet at 10");
        let mut s = Some(base.clone());
        let mut set = edit(Some(&base), 150, "origin", "t", "meet at 10");
        set.strategy = Some(Strategy::Lww);
        push(&mut s, &set, Strategy::Manual);
        let seen = s.clone().unwrap();
        push(
            &mut s,
            &edit(Some(&seen), 200, "a", "t", "meet at 11"),
            Strategy::Manual,
        );
        push(
            &mut s,
            &edit(Some(&seen), 300, "b", "t", "meet at 9"),
            Strategy::Manual,
        );
        let n = s.unwrap().note;
        assert_eq!((n.content.as_str(), n.conflict), ("meet at 9", None));
    }

    fn strategy() -> impl proptest::strategy::Strategy<Value = Strategy> {
        prop_oneof![
            Just(Strategy::Lww),
            Just(Strategy::Merge),
            Just(Strategy::Manual)
        ]
    }

    #[test]
    fn a_resolution_made_before_a_newer_version_leaves_that_version_in_the_conflict() {
        for st in [Strategy::Manual, Strategy::Merge] {
            let base = created("t", "meet at 10");
            let mut s = Some(base.clone());
            push(&mut s, &edit(Some(&base), 200, "a", "t", "meet at 11"), st);
            push(&mut s, &edit(Some(&base), 300, "b", "t", "meet at 9"), st);
            let seen = s.clone().unwrap();
            assert!(seen.note.conflict.is_some(), "{st:?}");
            // Device c, still on the base, edits the same words: it joins the conflict.
            push(
                &mut s,
                &edit(Some(&base), 250, "c", "t", "meet at noon"),
                st,
            );
            // Device a resolves what it saw (keeping the shown text), not knowing c's edit.
            let mut keep = edit(Some(&seen), 400, "a", "t", "meet at 9");
            keep.resolve = true;
            let n = push(&mut s, &keep, st).next.unwrap().note;
            let c = n.conflict.expect("c's edit is still in front of the user");
            assert!(
                c.versions.iter().any(|v| v.content == "meet at noon"),
                "{st:?}: {c:?}"
            );
        }
    }

    #[test]
    fn a_version_shown_with_another_versions_clock_stays_in_the_conflict() {
        let base = created("t", "x");
        let mut s = Some(base.clone());
        // a's edit is applied; b's concurrent delete makes a conflict that shows the edit,
        // stamped with the delete's (greater) clock.
        push(
            &mut s,
            &edit(Some(&base), 200, "a", "t", "edit a"),
            Strategy::Manual,
        );
        push(&mut s, &delete(Some(&base), 300, "b"), Strategy::Manual);
        // c's later edit joins: both the delete and a's edit must stay visible.
        let n = push(
            &mut s,
            &edit(Some(&base), 400, "c", "t", "edit c"),
            Strategy::Manual,
        )
        .next
        .unwrap()
        .note;
        assert_eq!(n.content, "edit c");
        let c = n.conflict.unwrap();
        assert!(c.versions.iter().any(|v| v.deleted), "{c:?}");
        assert!(c.versions.iter().any(|v| v.content == "edit a"), "{c:?}");
    }

    #[test]
    fn a_device_whose_answer_was_lost_continues_its_own_edit() {
        for st in [Strategy::Lww, Strategy::Merge, Strategy::Manual] {
            let base = created("t", "meet at 10");
            let mut s = Some(base.clone());
            // a's change is applied, but a never hears back: it still holds base version 1
            // and keeps typing in the same words.
            push(&mut s, &edit(Some(&base), 200, "a", "t", "meet at 11"), st);
            let r = push(
                &mut s,
                &edit(Some(&base), 210, "a", "t", "meet at 11:30"),
                st,
            );
            let n = r.next.unwrap().note;
            assert_eq!(
                (n.content.as_str(), n.conflict),
                ("meet at 11:30", None),
                "{st:?}"
            );
            // ... and then deletes the note: deleted.
            let r = push(&mut s, &delete(Some(&base), 220, "a"), st);
            assert!(r.next.unwrap().note.deleted, "{st:?}");
            // Another device on the same old base is concurrent as before.
            let base = created("t", "meet at 10");
            let mut s = Some(base.clone());
            push(&mut s, &edit(Some(&base), 200, "a", "t", "meet at 11"), st);
            let r = push(
                &mut s,
                &edit(Some(&base), 210, "b", "t", "meet at 11:30"),
                st,
            );
            let treated_as_concurrent = match st {
                Strategy::Lww => r
                    .revisions
                    .iter()
                    .any(|(v, why)| v.content == "meet at 11" && *why == RevisionReason::Conflict),
                _ => r.next.unwrap().note.conflict.is_some(),
            };
            assert!(treated_as_concurrent, "{st:?}: b did not see a's edit");
        }
    }

    #[test]
    fn a_delete_meeting_only_a_strategy_change_deletes_the_note() {
        for st in [Strategy::Lww, Strategy::Merge, Strategy::Manual] {
            let base = created("t", "old list");
            let mut s = Some(base.clone());
            let mut set = edit(Some(&base), 300, "b", "t", "old list");
            set.strategy = Some(st);
            push(&mut s, &set, st);
            let r = push(&mut s, &delete(Some(&base), 200, "a"), st);
            let n = s.unwrap().note;
            assert!(n.deleted && n.conflict.is_none(), "{st:?}");
            assert_eq!(
                r.revisions[0].0.content, "old list",
                "{st:?}: kept in history"
            );
        }
    }

    proptest! {
        /// Under last-write-wins, whatever order concurrent changes arrive in, the change
        /// with the greatest clock ends up stored.
        #[test]
        fn lww_arrival_order_does_not_change_the_winner(
            specs in proptest::collection::vec((0u64..20, "[ab]", any::<bool>()), 1..8),
            seed in any::<u64>(),
        ) {
            let mk = |(w, n, d): &(u64, String, bool)| {
                if *d { delete(None, *w + 1000, n) } else { edit(None, *w + 1000, n, &format!("t{w}"), "") }
            };
            let mut changes: Vec<Change> = specs.iter().map(mk).collect();
            changes.sort_by(|a, b| a.hlc.cmp(&b.hlc));
            changes.dedup_by(|a, b| a.hlc == b.hlc);
            let mut shuffled = changes.clone();
            let mut x = seed | 1;
            for i in (1..shuffled.len()).rev() {
                x ^= x << 13; x ^= x >> 7; x ^= x << 17;
                shuffled.swap(i, (x % (i as u64 + 1)) as usize);
            }
            let run = |cs: &[Change]| {
                let mut stored = None;
                for c in cs {
                    push(&mut stored, c, Strategy::Lww);
                }
                stored.map(|s| (s.note.hlc, s.note.title, s.note.deleted))
            };
            let best = changes.last().unwrap();
            let a = run(&changes);
            prop_assert_eq!(&a, &run(&shuffled));
            prop_assert_eq!(a.unwrap().0, best.hlc.clone());
        }

        /// Under every strategy, every edit pushed is still somewhere: in the note, among its
        /// conflict versions, or in its history (or it was equal to one of those).
        #[test]
        fn no_edit_is_ever_lost(
            st in strategy(),
            steps in proptest::collection::vec(
                (0usize..4, 0u64..50, "[ab]", "(x|y|z| ){0,6}", proptest::bool::weighted(0.2)), 1..10),
        ) {
            let mut stored = Some(created("t", "x y z"));
            let mut seen: Vec<StoredNote> = vec![stored.clone().unwrap()];
            let mut history: Vec<Version> = vec![];
            let mut pushed: Vec<Version> = vec![];
            for (i, (back, wall, node, content, del)) in steps.iter().enumerate() {
                // The device edits some version it has seen (maybe not the latest).
                let base = seen[seen.len().saturating_sub(1 + back).min(seen.len() - 1)].clone();
                let w = 1000 + wall * 10 + i as u64;
                // Each step is another device, so even sequential replacements are kept.
                let node = format!("{node}{i}");
                let c = if *del { delete(Some(&base), w, &node) } else { edit(Some(&base), w, &node, "t", content) };
                pushed.push(version_of(&c));
                let r = push(&mut stored, &c, st);
                history.extend(r.revisions.into_iter().map(|(v, _)| v));
                seen.push(stored.clone().unwrap());
            }
            let n = stored.unwrap().note;
            let mut present: Vec<(String, String)> = history.iter().map(|v| (v.title.clone(), v.content.clone())).collect();
            present.push((n.title.clone(), n.content.clone()));
            if let Some(c) = &n.conflict {
                present.extend(c.versions.iter().map(|v| (v.title.clone(), v.content.clone())));
            }
            for v in pushed.iter().filter(|v| !v.deleted) {
                prop_assert!(present.contains(&(v.title.clone(), v.content.clone())), "lost {:?} under {:?}", v, st);
            }
        }

        /// Under every strategy, whatever becomes of their text (applied, merged, lost,
        /// in conflict, a delete), the field edits of every change pushed are in the note:
        /// its fields are what applying all of them, in any order, gives. And a change that
        /// edits only fields never changes the text or the conflict.
        #[test]
        fn every_field_edit_applies_whatever_the_text_does(
            st in strategy(),
            steps in proptest::collection::vec(
                (0usize..4, 0u64..50, "[ab]", "(x|y| ){0,4}", 0u8..4, "[abc]", proptest::bool::ANY),
                1..12),
        ) {
            let mut stored = Some(created("t", "x y"));
            let mut seen: Vec<StoredNote> = vec![stored.clone().unwrap()];
            let mut model = crate::fields::Fields::default();
            for (i, (back, wall, node, content, what, tag, flag)) in steps.iter().enumerate() {
                let base = seen[seen.len().saturating_sub(1 + back).min(seen.len() - 1)].clone();
                let w = 1000 + wall * 10 + i as u64;
                let node = format!("{node}{i}");
                let fields = match what {
                    0 => serde_json::json!({"tags": {"add": [tag]}}),
                    1 => serde_json::json!({"tags": {"remove": [tag]}, "pinned": flag}),
                    2 => serde_json::json!({"notebook": tag}),
                    _ => serde_json::json!({}),
                };
                // Half the changes edit the text as well; a few are deletes.
                let mut c = match (flag, what) {
                    (true, 3) => delete(Some(&base), w, &node),
                    (true, _) => edit(Some(&base), w, &node, "t", content),
                    (false, _) => edit(Some(&base), w, &node, &base.note.title, &base.note.content),
                };
                c = with_fields(c, fields);
                model.apply(&c.fields, &c.hlc);
                let before = stored.clone().unwrap().note;
                push(&mut stored, &c, st);
                let after = stored.clone().unwrap().note;
                if c.edits_only_fields() {
                    prop_assert_eq!(
                        (&before.title, &before.content, before.deleted, &before.conflict, &before.hlc),
                        (&after.title, &after.content, after.deleted, &after.conflict, &after.hlc)
                    );
                }
                seen.push(stored.clone().unwrap());
            }
            prop_assert_eq!(&stored.unwrap().note.fields, &model, "under {:?}", st);
        }
    }
}
