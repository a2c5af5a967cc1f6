//! Push planning, without a database: batches of random changes (edits, deletes, strategy
//! overrides, stale and fresh bases, invalid ids) are planned against a model store that
//! writes exactly what each plan says, then every batch is sent again.
//!
//! What a user would notice, checked for every run:
//! - every change gets exactly one answer, in request order;
//! - a retried change gets the answer it got the first time, and changes nothing;
//! - no applied edit is lost: its text is in the note, in its conflict or in its history;
//! - versions strictly increase, and a pull cursor's version is never handed out again.

use std::collections::HashMap;

use proptest::prelude::*;
use sync_core::Strategy as ConflictStrategy;
use sync_core::protocol::{Change, ChangeOutcome, Revision};
use sync_core::push::{self, NoteRecord, Plan, Policy, Prepared};
use sync_core::{ChangeId, Hlc, NoteId};

/// What a store holds: notes, revisions by (note, n), and the version counter.
#[derive(Default)]
struct Model {
    notes: HashMap<NoteId, NoteRecord>,
    revisions: HashMap<NoteId, Vec<(u64, Revision)>>,
    head: u64,
}

const NOW: u64 = 1_800_000_000_000;

/// Generous, so the "nothing lost" check can look at every revision ever kept.
const POLICY_HISTORY: u32 = 1000;

impl Model {
    /// One push, as a store runs it: read, reserve, plan, write what the plan says.
    fn push(&mut self, changes: &[Change], default: ConflictStrategy) -> Plan {
        let prepared = Prepared::new(changes, NOW);
        let needed = prepared.versions_needed();
        let stored = prepared
            .note_ids(changes)
            .into_iter()
            .filter_map(|id| Some((id.clone(), self.notes.get(id)?.clone())))
            .collect();
        let first = self.head + 1;
        self.head += needed;
        let plan = push::plan(
            changes,
            prepared,
            stored,
            first,
            Policy {
                default,
                history_limit: POLICY_HISTORY,
            },
            NOW,
        );
        for n in &plan.notes {
            self.notes.insert(n.note.note.id.clone(), n.clone());
        }
        for r in &plan.revisions {
            self.revisions
                .entry(r.note_id.clone())
                .or_default()
                .push((r.n, r.revision.clone()));
        }
        for (id, upto) in &plan.trims {
            if let Some(revs) = self.revisions.get_mut(id) {
                revs.retain(|(n, _)| n > upto);
            }
        }
        plan
    }
}

/// A change as generated: which note, what text, which base, which strategy.
#[derive(Debug, Clone)]
struct Spec {
    note: usize,
    title: usize,
    content: usize,
    deleted: bool,
    /// 0: no base (a new device), 1: the latest version, 2: an older one.
    base: u8,
    wall: u64,
    strategy: Option<ConflictStrategy>,
    invalid: bool,
}

const TITLES: [&str; 3] = ["Plan", "Plans", "Ideas"];
const CONTENTS: [&str; 5] = [
    "one\ntwo\nthree\n",
    "one, edited\ntwo\nthree\n",
    "one\ntwo\nthree, edited\n",
    "one\nTWO\nthree\n",
    "",
];

fn spec() -> impl Strategy<Value = Spec> {
    (
        0..3usize,
        0..TITLES.len(),
        0..CONTENTS.len(),
        prop::bool::weighted(0.15),
        0..3u8,
        0..50u64,
        prop::option::weighted(
            0.2,
            prop::sample::select(vec![
                ConflictStrategy::Lww,
                ConflictStrategy::Merge,
                ConflictStrategy::Manual,
            ]),
        ),
        prop::bool::weighted(0.05),
    )
        .prop_map(
            |(note, title, content, deleted, base, wall, strategy, invalid)| Spec {
                note,
                title,
                content,
                deleted,
                base,
                wall,
                strategy,
                invalid,
            },
        )
}

/// Turns a batch of specs into changes against the model's current notes. Every change
/// comes from a device of its own, so every replaced version is one the history keeps (a
/// device's own quick successive saves are coalesced by design: see `merge`).
fn changes(model: &Model, batch: &[Spec], seq: &mut u64) -> Vec<Change> {
    batch
        .iter()
        .map(|s| {
            *seq += 1;
            let id = NoteId(format!("note-{}", s.note));
            let stored = model.notes.get(&id).map(|r| &r.note.note);
            let base = match (s.base, stored) {
                (0, _) | (_, None) => None,
                (1, Some(n)) => Some(n.version),
                (_, Some(n)) => Some(n.version.saturating_sub(1)),
            };
            let mut c = Change::new(
                ChangeId(if s.invalid {
                    "not a valid id!".into()
                } else {
                    format!("c{seq}")
                }),
                id,
                Hlc {
                    wall_ms: NOW - 100_000 + s.wall * 1000 + *seq,
                    counter: 0,
                    node: format!("device{seq}"),
                },
                base,
                if s.deleted { "" } else { TITLES[s.title] },
                if s.deleted { "" } else { CONTENTS[s.content] },
                s.deleted,
            );
            if let (Some(n), 1) = (stored, s.base) {
                c.base_title = Some(n.title.clone());
                c.base_content = Some(n.content.clone());
            }
            c.strategy = s.strategy;
            c
        })
        .collect()
}

/// Whether two answers to one change are the same answer (a replay's `current` is the
/// note as it is now, which later changes may have moved on).
fn same_answer(first: &ChangeOutcome, replay: &ChangeOutcome) -> bool {
    match (first, replay) {
        (ChangeOutcome::Applied { version: a, .. }, ChangeOutcome::Applied { version: b, .. }) => {
            a == b
        }
        (ChangeOutcome::Superseded { .. }, ChangeOutcome::Superseded { .. }) => true,
        (a @ ChangeOutcome::Rejected { .. }, b) => a == b,
        _ => false,
    }
}

fn default_strategy() -> impl Strategy<Value = ConflictStrategy> {
    prop::sample::select(vec![
        ConflictStrategy::Lww,
        ConflictStrategy::Merge,
        ConflictStrategy::Manual,
    ])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn push_plans_keep_their_promises(
        batches in prop::collection::vec(prop::collection::vec(spec(), 1..6), 1..5),
        default in default_strategy(),
    ) {
        let mut model = Model::default();
        let mut seq = 0;
        let mut sent: Vec<(Vec<Change>, Plan)> = Vec::new();
        let mut last_version = 0;
        for batch in &batches {
            let cs = changes(&model, batch, &mut seq);
            let head_before = model.head;
            let plan = model.push(&cs, default);

            // One answer per change, in request order.
            prop_assert_eq!(plan.results.len(), cs.len());
            for (c, r) in cs.iter().zip(&plan.results) {
                prop_assert_eq!(&r.change_id, &c.change_id);
                prop_assert_eq!(&r.note_id, &c.note_id);
            }
            // Versions: above every version handed out before, increasing in request
            // order, within what was reserved.
            for r in &plan.results {
                if let ChangeOutcome::Applied { version, .. } = r.outcome {
                    prop_assert!(version > last_version && version > head_before);
                    prop_assert!(version <= model.head);
                    last_version = version;
                }
            }
            for n in &plan.notes {
                prop_assert!(n.note.note.version <= model.head);
                prop_assert!(n.recent.len() <= push::RECENT_CHANGES_PER_NOTE);
            }
            sent.push((cs, plan));
        }

        // Nothing lost: every applied or superseded edit's text is in its note, the note's
        // conflict or the note's history.
        for (cs, plan) in &sent {
            for (c, r) in cs.iter().zip(&plan.results) {
                if c.deleted || matches!(r.outcome, ChangeOutcome::Rejected { .. }) {
                    continue;
                }
                let rec = &model.notes[&c.note_id];
                let n = &rec.note.note;
                let text = (c.title.as_str(), c.content.as_str());
                let in_note = !n.deleted && (n.title.as_str(), n.content.as_str()) == text;
                let in_conflict = n.conflict.as_ref().is_some_and(|cf| {
                    cf.versions
                        .iter()
                        .any(|v| (v.title.as_str(), v.content.as_str()) == text)
                });
                let in_history = model.revisions.get(&c.note_id).is_some_and(|revs| {
                    revs.iter().any(|(_, r)| {
                        (r.version.title.as_str(), r.version.content.as_str()) == text
                    })
                });
                prop_assert!(
                    in_note || in_conflict || in_history,
                    "edit {:?} ({:?}) is lost: note {:?}, history {:?}",
                    c, r.outcome, n, model.revisions.get(&c.note_id)
                );
            }
        }

        // Every batch sent again: each change gets its first answer, and nothing changes
        // but the counter (a retry's reserved version goes unused).
        let notes_before = model.notes.clone();
        let revisions_before = model.revisions.clone();
        for (cs, first) in &sent {
            let replay = model.push(cs, default);
            for (a, b) in first.results.iter().zip(&replay.results) {
                prop_assert!(
                    same_answer(&a.outcome, &b.outcome),
                    "first {:?}, replayed {:?}", a.outcome, b.outcome
                );
                // While the note is still the state this change made, the answer is
                // exactly the first one (with the same `current`).
                if let ChangeOutcome::Applied { version, .. } = a.outcome
                    && notes_before[&a.note_id].note.note.version == version
                {
                    prop_assert_eq!(&a.outcome, &b.outcome);
                }
            }
            prop_assert!(replay.revisions.is_empty());
        }
        prop_assert_eq!(model.notes.len(), notes_before.len());
        for (id, rec) in &notes_before {
            prop_assert_eq!(&model.notes[id].note, &rec.note);
        }
        prop_assert_eq!(model.revisions, revisions_before);
    }
}

/// A batch whose every change is invalid reserves no version and reads no note.
#[test]
fn a_batch_of_rejected_changes_needs_nothing_from_storage() {
    let bad = Change::new(
        ChangeId("no spaces allowed".into()),
        NoteId("n".into()),
        Hlc {
            wall_ms: NOW,
            counter: 0,
            node: "d".into(),
        },
        None,
        "t",
        "c",
        false,
    );
    let p = Prepared::new(std::slice::from_ref(&bad), NOW);
    assert_eq!(p.versions_needed(), 0);
    assert!(p.note_ids(std::slice::from_ref(&bad)).is_empty());
    let r = p.into_results(&[bad]);
    assert!(matches!(r[0].outcome, ChangeOutcome::Rejected { .. }));
}

/// The history limit: the oldest revisions of a note past it are trimmed.
#[test]
fn revisions_past_the_history_limit_are_trimmed() {
    let mut notes: HashMap<NoteId, NoteRecord> = HashMap::new();
    let mut trims = Vec::new();
    for i in 0..5u64 {
        // Each edit from another device, on the latest version: the replaced one is kept.
        let id = NoteId("n".into());
        let base = notes.get(&id).map(|r| r.note.note.version);
        let c = Change::new(
            ChangeId(format!("c{i}")),
            id.clone(),
            Hlc {
                wall_ms: NOW - 1000 + i,
                counter: 0,
                node: format!("d{i}"),
            },
            base,
            "t",
            &format!("v{i}"),
            false,
        );
        let cs = [c];
        let prepared = Prepared::new(&cs, NOW);
        let stored = notes.clone();
        let plan = push::plan(
            &cs,
            prepared,
            stored,
            i + 1, // one version per edit: the head after it
            Policy {
                default: ConflictStrategy::Merge,
                history_limit: 2,
            },
            NOW,
        );
        for n in plan.notes {
            notes.insert(n.note.note.id.clone(), n);
        }
        trims.push(plan.trims);
    }
    let n = NoteId("n".into());
    assert_eq!(
        trims,
        [
            vec![],
            vec![],
            vec![],
            vec![(n.clone(), 1)],
            vec![(n.clone(), 2)]
        ]
    );
    assert_eq!(notes[&n].rn, 4);
}

fn at(wall: u64, node: &str) -> Hlc {
    Hlc {
        wall_ms: NOW - 10_000 + wall,
        counter: 0,
        node: node.into(),
    }
}

/// Two devices edit note "n" (the first text is kept as a revision), then `node` deletes
/// it from `base` (`purge`: forever). Returns the model and the plan of the delete.
fn edited_then_deleted(
    base: impl Fn(&Model) -> Option<u64>,
    purge: bool,
    strategy: ConflictStrategy,
) -> (Model, Plan) {
    let mut m = Model::default();
    let id = NoteId("n".into());
    m.push(
        &[Change::new(
            "c1".into(),
            id.clone(),
            at(1, "a"),
            None,
            "t",
            "secret one",
            false,
        )],
        strategy,
    );
    let base_for_delete = base(&m);
    m.push(
        &[Change::new(
            "c2".into(),
            id.clone(),
            at(2, "b"),
            Some(1),
            "t",
            "secret two",
            false,
        )],
        strategy,
    );
    let mut del = Change::new("c3".into(), id, at(3, "a"), base_for_delete, "", "", true);
    del.purge = purge;
    let plan = m.push(&[del], strategy);
    (m, plan)
}

fn texts(m: &Model) -> Vec<String> {
    let n = &m.notes[&NoteId::from("n")].note.note;
    let mut t = vec![n.title.clone(), n.content.clone()];
    for (_, r) in m.revisions.values().flatten() {
        t.push(r.version.content.clone());
    }
    t.retain(|s| !s.is_empty());
    t
}

/// "Delete forever" from a device that saw the latest version: the tombstone is `purged`
/// and no revision of the note is left, under every strategy.
#[test]
fn a_purge_of_the_latest_version_leaves_no_text_anywhere() {
    for s in [
        ConflictStrategy::Lww,
        ConflictStrategy::Merge,
        ConflictStrategy::Manual,
    ] {
        let (m, plan) = edited_then_deleted(|_| Some(2), true, s);
        let n = &m.notes[&NoteId::from("n")].note.note;
        assert!(n.deleted && n.purged, "{s:?}: {n:?}");
        assert!(texts(&m).is_empty(), "{s:?}: {:?}", texts(&m));
        assert!(plan.revisions.is_empty());
        // Sent again: the same answer, nothing written back.
        assert!(matches!(
            plan.results[0].outcome,
            ChangeOutcome::Applied { .. }
        ));
    }
    // Without `purge`, the same delete keeps both texts in history.
    let (m, _) = edited_then_deleted(|_| Some(2), false, ConflictStrategy::Merge);
    assert!(!m.notes[&NoteId::from("n")].note.note.purged);
    assert_eq!(texts(&m).len(), 2);
}

/// A purge made without having seen another device's edit drops nothing that device
/// wrote: it is decided as an ordinary delete (the edit stays, in the note or its history).
#[test]
fn a_purge_that_missed_an_edit_is_an_ordinary_delete() {
    for s in [
        ConflictStrategy::Lww,
        ConflictStrategy::Merge,
        ConflictStrategy::Manual,
    ] {
        let (m, _) = edited_then_deleted(|_| Some(1), true, s);
        assert!(!m.notes[&NoteId::from("n")].note.note.purged, "{s:?}");
        assert!(
            texts(&m).iter().any(|t| t == "secret two"),
            "{s:?}: {:?}",
            texts(&m)
        );
    }
}

/// A purge that is not a delete is refused as sent.
#[test]
fn a_purge_without_delete_is_rejected() {
    let mut c = Change::new("c".into(), "n".into(), at(1, "a"), None, "t", "x", false);
    c.purge = true;
    let r = Prepared::new(&[c.clone()], NOW).into_results(&[c]);
    assert!(matches!(r[0].outcome, ChangeOutcome::Rejected { .. }));
}

/// A record's kind is set when it is created: a later change cannot turn a note into a tag
/// record (it would vanish from every list) nor a notebook into a note; the same kind sent
/// again passes, and a new record may be created with any kind.
#[test]
fn an_existing_note_keeps_its_kind() {
    let fields = |v: serde_json::Value| serde_json::from_value(v).unwrap();
    let mut m = Model::default();
    let note = Change::new(
        "c1".into(),
        "n".into(),
        at(1, "a"),
        None,
        "Diary",
        "x",
        false,
    );
    let mut notebook = Change::new("c2".into(), "b".into(), at(2, "a"), None, "Work", "", false);
    notebook.fields = fields(serde_json::json!({"kind": "notebook"}));
    m.push(&[note, notebook], ConflictStrategy::Merge);
    let applied = |p: &Plan| matches!(p.results[0].outcome, ChangeOutcome::Applied { .. });

    let mut hide = Change::new(
        "c3".into(),
        "n".into(),
        at(3, "a"),
        Some(1),
        "Diary",
        "x",
        false,
    );
    hide.fields = fields(serde_json::json!({"kind": "tag", "pinned": true}));
    let p = m.push(&[hide], ConflictStrategy::Merge);
    assert!(
        matches!(&p.results[0].outcome, ChangeOutcome::Rejected { message, .. } if message.contains("kind")),
        "{:?}",
        p.results[0].outcome
    );
    assert!(
        m.notes[&NoteId::from("n")].note.note.fields.is_empty(),
        "nothing of it applied"
    );

    let mut back = Change::new(
        "c4".into(),
        "b".into(),
        at(4, "a"),
        Some(2),
        "Work",
        "",
        false,
    );
    back.fields = fields(serde_json::json!({"kind": "note"}));
    assert!(!applied(&m.push(&[back], ConflictStrategy::Merge)));

    let mut again = Change::new(
        "c5".into(),
        "b".into(),
        at(5, "a"),
        Some(2),
        "Work!",
        "",
        false,
    );
    again.fields = fields(serde_json::json!({"kind": "notebook"}));
    assert!(applied(&m.push(&[again], ConflictStrategy::Merge)));
}

/// What three devices do to one note under last-write-wins.
#[derive(Debug, Clone, Copy)]
enum Op {
    /// Edit (a text of its own) on the version the device last knew.
    Edit(usize),
    /// Delete, or delete forever (`true`), on the version the device last knew.
    Delete(usize, bool),
    /// Sync: the device now knows (and has seen) the note as it is.
    Pull(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..3usize).prop_map(Op::Edit),
        2 => (0..3usize, any::<bool>()).prop_map(|(d, p)| Op::Delete(d, p)),
        3 => (0..3usize).prop_map(Op::Pull),
    ]
}

/// Who has seen a text, and whether it left the note knowingly.
#[derive(Debug, Default)]
struct Seen {
    by: std::collections::HashSet<usize>,
    /// It was replaced by a change made on the version that showed it (so that device saw
    /// it), not lost to a version written without seeing it.
    settled: bool,
}

/// Every text in the note, its conflict and its history.
fn all_texts(m: &Model) -> std::collections::HashSet<String> {
    let mut t: std::collections::HashSet<String> = m
        .notes
        .values()
        .flat_map(|r| {
            let n = &r.note.note;
            std::iter::once(n.content.clone()).chain(
                n.conflict
                    .iter()
                    .flat_map(|c| c.versions.iter().map(|v| v.content.clone())),
            )
        })
        .collect();
    t.extend(
        m.revisions
            .values()
            .flatten()
            .map(|(_, r)| r.version.content.clone()),
    );
    t.remove("");
    t
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// "Delete forever" drops only what the purging device had seen: a text that lost
    /// under last-write-wins to a version written without seeing it, and that the purging
    /// device never saw, survives the purge (in the note's history). Texts replaced
    /// knowingly go, as before.
    #[test]
    fn a_purge_drops_only_texts_the_purger_saw_or_that_left_knowingly(
        ops in prop::collection::vec(op(), 1..24),
    ) {
        let mut m = Model::default();
        let id = NoteId("n".into());
        let mut known: [Option<u64>; 3] = [None; 3];
        let mut seen: HashMap<String, Seen> = HashMap::new();
        for (i, op) in ops.iter().enumerate() {
            let current = m.notes.get(&id).map(|r| r.note.note.clone());
            if let Op::Pull(d) = *op {
                if let Some(n) = &current {
                    known[d] = Some(n.version);
                    seen.entry(n.content.clone()).or_default().by.insert(d);
                }
                continue;
            }
            let (d, deleted, purge) = match *op {
                Op::Edit(d) => (d, false, false),
                Op::Delete(d, p) => (d, true, p),
                Op::Pull(_) => unreachable!(),
            };
            let text = if deleted { String::new() } else { format!("text {i} of device {d}") };
            let base = known[d];
            let mut c = Change::new(
                ChangeId(format!("c{i}")),
                id.clone(),
                at(i as u64 + 1, &format!("device{d}")),
                known[d],
                if deleted { "" } else { "t" },
                &text,
                deleted,
            );
            c.purge = purge;
            if !deleted {
                seen.entry(text.clone()).or_default().by.insert(d);
            }
            let before = all_texts(&m);
            let plan = m.push(&[c], ConflictStrategy::Lww);
            let after = all_texts(&m);
            let now = m.notes[&id].note.note.clone();
            let rejected = matches!(plan.results[0].outcome, ChangeOutcome::Rejected { .. });
            prop_assert!(!rejected, "{:?}", plan.results[0]);
            match &plan.results[0].outcome {
                ChangeOutcome::Applied { version, .. } => known[d] = Some(*version),
                ChangeOutcome::Superseded { current } => {
                    known[d] = Some(current.version);
                    seen.entry(current.content.clone()).or_default().by.insert(d);
                }
                ChangeOutcome::Rejected { .. } => {}
            }
            // The text the note showed before left it: knowingly if the change was made on
            // the version that showed it (the device had seen it).
            if let Some(cur) = &current
                && cur.content != now.content
                && let Some(s) = seen.get_mut(&cur.content)
            {
                s.settled |= base == Some(cur.version);
            }
            if purge {
                for t in before.difference(&after) {
                    let s = &seen[t];
                    prop_assert!(
                        s.settled || s.by.contains(&d),
                        "device{d}'s purge dropped {t:?}, which it never saw and which left \
                         the note unseen; ops {ops:?}"
                    );
                }
            }
        }
    }
}

/// The scenario, planned: the phone edits (v2); the laptop, which never saw v2,
/// deletes with a later clock and wins under last-write-wins (v2 goes to history); the
/// laptop's purge on its own delete is an ordinary delete; the phone's purge drops it.
#[test]
fn under_lww_a_purge_keeps_an_edit_the_purging_device_never_saw() {
    let mut m = Model::default();
    let id = NoteId("n".into());
    let edit = |c: &str, node: &str, wall, base, text: &str| {
        Change::new(c.into(), id.clone(), at(wall, node), base, "t", text, false)
    };
    let delete = |c: &str, node: &str, wall, base, purge| {
        let mut d = Change::new(c.into(), id.clone(), at(wall, node), base, "", "", true);
        d.purge = purge;
        d
    };
    let lww = ConflictStrategy::Lww;
    m.push(&[edit("c1", "laptop", 1, None, "first")], lww);
    m.push(&[edit("c2", "phone", 2, Some(1), "phone's edit")], lww);
    m.push(&[delete("c3", "laptop", 3, Some(1), false)], lww);
    let kept = |m: &Model| texts(m).iter().any(|t| t == "phone's edit");
    assert!(kept(&m));
    let v3 = m.notes[&id].note.note.version;
    m.push(&[delete("c4", "laptop", 4, Some(v3), true)], lww);
    assert!(!m.notes[&id].note.note.purged);
    assert!(kept(&m), "{:?}", texts(&m));
    // The mirror case: an edit that loses on arrival is unseen by everyone else too.
    let v4 = m.notes[&id].note.note.version;
    m.push(
        &[edit("c5", "tablet", 0, Some(1), "tablet's late edit")],
        lww,
    );
    m.push(&[delete("c6", "phone", 6, Some(v4), true)], lww);
    let n = &m.notes[&id].note.note;
    assert!(!n.purged);
    assert!(texts(&m).iter().any(|t| t == "tablet's late edit"));
    // Each author's purge: the phone's drops nothing of the tablet's; the tablet's (which
    // knows the head now) goes only when every unseen text is its own: not yet.
    let head = n.version;
    m.push(&[delete("c7", "tablet", 7, Some(head), true)], lww);
    assert!(
        !m.notes[&id].note.note.purged,
        "the phone's edit is not the tablet's"
    );
}

/// Unseen marks go with the revisions they name: past the history limit, and with a
/// purge by the author.
#[test]
fn the_author_of_an_unseen_text_may_delete_it_forever() {
    let mut m = Model::default();
    let id = NoteId("n".into());
    let lww = ConflictStrategy::Lww;
    m.push(
        &[Change::new(
            "c1".into(),
            id.clone(),
            at(1, "laptop"),
            None,
            "t",
            "a",
            false,
        )],
        lww,
    );
    m.push(
        &[Change::new(
            "c2".into(),
            id.clone(),
            at(2, "phone"),
            Some(1),
            "t",
            "b",
            false,
        )],
        lww,
    );
    m.push(
        &[Change::new(
            "c3".into(),
            id.clone(),
            at(3, "laptop"),
            Some(1),
            "",
            "",
            true,
        )],
        lww,
    );
    assert_eq!(m.notes[&id].unseen.len(), 1);
    assert_eq!(m.notes[&id].unseen[0].author, "phone");
    let head = m.notes[&id].note.note.version;
    let mut purge = Change::new(
        "c4".into(),
        id.clone(),
        at(4, "phone"),
        Some(head),
        "",
        "",
        true,
    );
    purge.purge = true;
    m.push(&[purge], lww);
    let rec = &m.notes[&id];
    assert!(rec.note.note.purged && rec.unseen.is_empty());
    assert!(texts(&m).is_empty(), "{:?}", texts(&m));
}
