//! Push planning: everything a push decides, with no storage in sight.
//!
//! A store runs a push in three steps, in one transaction:
//! 1. [`Prepared::new`] validates the changes ([`crate::limits`]); the changes left (the
//!    *candidates*) name the notes to read ([`Prepared::note_ids`]) and how many versions
//!    to reserve ([`Prepared::versions_needed`]).
//! 2. The store reads those notes ([`NoteRecord`]) and reserves that many versions from the
//!    user's counter (so versions follow commit order), then calls [`plan`].
//! 3. It writes what the [`Plan`] says: the final state of every note it names, the new
//!    revisions, and the trims of revisions past the history limit. Then it answers
//!    [`Plan::results`].
//!
//! [`plan`] is CPU work (merges, bounded by [`crate::limits::MAX_MERGE_WORK_PER_REQUEST`]
//! per request); a server runs it off its async workers.
//!
//! ## Idempotency
//! Each note remembers the ids of its last [`RECENT_CHANGES_PER_NOTE`] changes with the
//! version each got ([`SUPERSEDED`] for one that lost). A change whose id a note
//! remembers is a retry: it is answered as the first time and changes nothing.
//!
//! The invariants (one outcome per change, replays answered alike, no applied edit lost,
//! versions strictly increasing) are property-tested without a database in
//! `sync-core/tests/push_plan.rs`; `server/tests/backends.rs` runs one story on both stores
//! that plan with it.

use std::collections::HashMap;

use crate::fields;
use crate::limits;
use crate::merge::{self, StoredNote};
use crate::model::{ChangeId, NoteId, NoteState, Strategy};
use crate::protocol::{Change, ChangeOutcome, ChangeResult, FieldsRefused, RejectCode, Revision};
use crate::text::Budget;

/// How many change ids each note remembers, so that a retried change gets its first answer
/// again.
pub const RECENT_CHANGES_PER_NOTE: usize = 32;

/// The version remembered for a change that was superseded (versions start at 1).
pub const SUPERSEDED: u64 = 0;

/// How a server resolves conflicts and keeps history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// The strategy of notes without an override.
    pub default: Strategy,
    /// Revisions kept per note.
    pub history_limit: u32,
}

/// One remembered change of a note: its id, the version it got ([`SUPERSEDED`] if it
/// lost) and the fields whose edits were refused, so that a retry gets the first answer
/// whole (a retry answered without them would let the device forget the refusal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecentChange {
    /// The change's id.
    pub change: String,
    /// The version it got, or [`SUPERSEDED`].
    pub version: u64,
    /// The names of the fields whose edits were refused ([`ChangeResult::fields_refused`]);
    /// empty: none.
    pub refused: Vec<String>,
}

/// A note as stored, with its push bookkeeping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteRecord {
    /// The note and its field clocks.
    pub note: StoredNote,
    /// Its recent changes, oldest first (at most [`RECENT_CHANGES_PER_NOTE`]).
    pub recent: Vec<RecentChange>,
    /// The number of its last revision (0: none yet); revisions are numbered from 1.
    pub rn: u64,
    /// The revisions still kept whose text lost under last-write-wins to a version written
    /// without seeing it ([`merge::Resolution::unseen`]), with their authors: a purge by
    /// any other device is an ordinary delete while one is kept. At most one per kept
    /// revision (entries go with the revisions they name).
    pub unseen: Vec<UnseenRevision>,
}

/// A kept revision that no device but its author is known to have seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnseenRevision {
    /// The revision's number.
    pub n: u64,
    /// The device (clock node) that wrote it; empty when not known (then no purge drops it).
    pub author: String,
}

impl NoteRecord {
    /// The version remembered for `change` ([`SUPERSEDED`] if it lost), if it was seen.
    pub fn remembered_version(&self, change: &ChangeId) -> Option<u64> {
        self.remembered(change).map(|r| r.version)
    }

    /// What was remembered of `change`, if it was seen.
    pub fn remembered(&self, change: &ChangeId) -> Option<&RecentChange> {
        self.recent.iter().find(|r| r.change == change.0)
    }

    /// Remembers the outcome of `change` (the oldest is dropped past the limit).
    fn remember(&mut self, change: &ChangeId, version: u64, refused: Option<&FieldsRefused>) {
        self.recent.push(RecentChange {
            change: change.0.clone(),
            version,
            refused: refused.map(|r| r.fields.clone()).unwrap_or_default(),
        });
        if self.recent.len() > RECENT_CHANGES_PER_NOTE {
            self.recent.remove(0);
        }
    }
}

/// A revision to add to a note's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRevision {
    /// The note.
    pub note_id: NoteId,
    /// Its number among the note's revisions (from 1, increasing).
    pub n: u64,
    /// The revision.
    pub revision: Revision,
}

/// The first step of a push: the changes validated.
#[derive(Debug, Clone)]
pub struct Prepared {
    outcomes: Vec<Option<ChangeOutcome>>,
}

impl Prepared {
    /// Validates `changes` at server time `now_ms`: invalid ones are rejected now.
    pub fn new(changes: &[Change], now_ms: u64) -> Self {
        Self {
            outcomes: changes
                .iter()
                .map(|c| {
                    limits::check_change(c, now_ms)
                        .err()
                        .map(|(code, message)| ChangeOutcome::Rejected { code, message })
                })
                .collect(),
        }
    }

    /// The note of each candidate (in request order; a note changed twice is named twice).
    pub fn note_ids<'a>(&self, changes: &'a [Change]) -> Vec<&'a NoteId> {
        changes
            .iter()
            .zip(&self.outcomes)
            .filter(|(_, o)| o.is_none())
            .map(|(c, _)| &c.note_id)
            .collect()
    }

    /// How many versions to reserve: one per candidate (a retry or a loser leaves its
    /// version unused; versions need only grow, not be dense).
    pub fn versions_needed(&self) -> u64 {
        self.outcomes.iter().filter(|o| o.is_none()).count() as u64
    }

    /// The answers when there is no candidate (every change was rejected).
    pub fn into_results(self, changes: &[Change]) -> Vec<ChangeResult> {
        results(changes, self.outcomes)
    }
}

/// What a push does, decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// One answer per change, in request order.
    pub results: Vec<ChangeResult>,
    /// The final state of every note the push changes, in the order first changed: write
    /// each (insert or replace) by `note.note.id`.
    pub notes: Vec<NoteRecord>,
    /// Revisions to insert.
    pub revisions: Vec<NewRevision>,
    /// `(note, n)`: delete that note's revisions numbered `n` or lower (past the history
    /// limit, or all of them for a note deleted forever).
    pub trims: Vec<(NoteId, u64)>,
    /// Text merges the request's merge budget did not cover: each left its note in conflict
    /// for the user instead (an operator's signal that the budget is too small for the
    /// notes people write).
    pub merges_over_budget: u64,
}

/// Decides every candidate of `prepared` in request order (a batch may change one note
/// twice) against `stored` (the stored notes the candidates name; absent: new notes),
/// giving applied changes versions from `first_version` on (the store reserved
/// [`Prepared::versions_needed`] of them). `now_ms` stamps the revisions.
pub fn plan(
    changes: &[Change],
    prepared: Prepared,
    mut stored: HashMap<NoteId, NoteRecord>,
    first_version: u64,
    policy: Policy,
    now_ms: u64,
) -> Plan {
    let mut outcomes = prepared.outcomes;
    let mut refusals: Vec<Option<FieldsRefused>> = vec![None; changes.len()];
    let mut next_version = first_version;
    let mut budget = Budget::new(limits::MAX_MERGE_WORK_PER_REQUEST);
    let mut touched: Vec<NoteId> = Vec::new();
    let mut revisions: Vec<NewRevision> = Vec::new();
    let mut purges: Vec<(NoteId, u64)> = Vec::new();
    for (i, c) in changes.iter().enumerate() {
        if outcomes[i].is_some() {
            continue;
        }
        let st = stored.get(&c.note_id);
        if let Some((st, remembered)) =
            st.and_then(|st| st.remembered(&c.change_id).map(|r| (st, r)))
        {
            let n = &st.note.note;
            let v = remembered.version;
            // The refusal too, as the first answer said it.
            let over: Vec<&fields::FieldDef> = remembered
                .refused
                .iter()
                .filter_map(|f| fields::def(f))
                .collect();
            if !over.is_empty() {
                refusals[i] = Some(refused_fields(&over));
            }
            outcomes[i] = Some(if v == SUPERSEDED {
                // Superseded the first time: superseded again, by what the note is now.
                ChangeOutcome::Superseded { current: n.clone() }
            } else {
                // The same answer as the first time: with the stored state if that state
                // is still the one this change produced and differs from it (merged,
                // conflict).
                ChangeOutcome::Applied {
                    version: v,
                    current: (n.version == v && !stored_as_sent(n, c)).then(|| n.clone()),
                }
            });
            continue;
        }
        // An existing record keeps its kind.
        if let Err(e) = st.map_or(Ok(()), |st| st.note.note.fields.check_kind(&c.fields)) {
            let (code, message) = limits::field_reject(&e);
            outcomes[i] = Some(ChangeOutcome::Rejected { code, message });
            continue;
        }
        // Many edits together must keep a set within its size, as one edit must: the edits
        // of a set the change would take past it are refused, the rest of the change applies
        // (its text is not held back by tags another device added meanwhile).
        let over = st
            .map(|st| st.note.note.fields.clone())
            .unwrap_or_default()
            .over_limit(&c.fields, &c.edit_clocks, &c.hlc);
        let trimmed;
        let (c_applied, refused) = if over.is_empty() {
            (c, None)
        } else {
            let mut t = c.clone();
            for d in &over {
                t.fields.remove(d.name);
                t.edit_clocks.remove(d.name);
            }
            let refused = refused_fields(&over);
            if st.is_some() && c.edits_only_fields() && t.fields.is_empty() {
                // Nothing else to apply: the note stays as it is.
                // Remembered with its refusal, so a retry is answered the same way.
                touch(&mut touched, &c.note_id);
                let rec = stored.get_mut(&c.note_id).expect("a stored note");
                rec.remember(&c.change_id, SUPERSEDED, Some(&refused));
                outcomes[i] = Some(ChangeOutcome::Superseded {
                    current: rec.note.note.clone(),
                });
                refusals[i] = Some(refused);
                continue;
            }
            trimmed = t;
            (&trimmed, Some(refused))
        };
        refusals[i] = refused;
        let mut r = merge::resolve_within(
            st.map(|st| &st.note),
            c_applied,
            policy.default,
            next_version,
            &mut budget,
        );
        let mut rn = st.map_or(0, |st| st.rn);
        // "Delete forever": only when the device had seen the latest text (or the note is
        // new; field edits since go with it), every kept revision is one it had seen (none lost unseen under
        // last-write-wins, unless it wrote that one itself), and the note ends deleted, so
        // no version another device wrote unseen is dropped. Then nothing of it is kept: no
        // new revision, and every stored one goes (numbers up to `rn`). Otherwise the
        // change is an ordinary delete (`purge` doc).
        let purged = c.purge
            && st.is_none_or(|st| {
                st.note.made_on_latest(c) && st.unseen.iter().all(|u| u.author == c.hlc.node)
            })
            && r.next.as_ref().is_some_and(|n| n.note.deleted);
        if purged {
            r.revisions.clear();
            revisions.retain(|kept| kept.note_id != c.note_id);
            if let Some(next) = r.next.as_mut() {
                next.note.purged = true;
                next.note.conflict = None;
                // Deleted forever: its tags and notebook go with its text.
                next.note.fields = Default::default();
            }
            if rn > 0 {
                purges.push((c.note_id.clone(), rn));
            }
        }
        // Who wrote the text that lost unseen: the incoming change's device when it lost,
        // else the device whose own write the stored version was (if known).
        let author = if r.next.is_none() || r.text_kept {
            c.hlc.node.clone()
        } else {
            st.and_then(|st| st.note.last_write.as_ref())
                .map_or_else(String::new, |w| w.node.clone())
        };
        let mut new_unseen = Vec::new();
        for (v, why) in &r.revisions {
            rn += 1;
            if r.unseen {
                new_unseen.push(UnseenRevision {
                    n: rn,
                    author: author.clone(),
                });
            }
            revisions.push(NewRevision {
                note_id: c.note_id.clone(),
                n: rn,
                revision: Revision {
                    version: v.clone(),
                    reason: *why,
                    saved_at_ms: now_ms,
                },
            });
        }
        // Written back whatever the outcome: a new state, or the lost change remembered.
        touch(&mut touched, &c.note_id);
        outcomes[i] = Some(match r.next {
            Some(next) => {
                next_version += 1;
                let recent = st.map(|st| st.recent.clone()).unwrap_or_default();
                let mut unseen = if purged {
                    Vec::new()
                } else {
                    st.map(|st| st.unseen.clone()).unwrap_or_default()
                };
                unseen.extend(new_unseen);
                let mut rec = NoteRecord {
                    note: next,
                    recent,
                    rn,
                    unseen,
                };
                rec.remember(&c.change_id, rec.note.note.version, refusals[i].as_ref());
                let n = &rec.note.note;
                let outcome = ChangeOutcome::Applied {
                    version: n.version,
                    current: (!stored_as_sent(n, c)).then(|| n.clone()),
                };
                stored.insert(c.note_id.clone(), rec);
                outcome
            }
            None => {
                let st = stored.get_mut(&c.note_id).expect("a kept note is stored");
                st.rn = rn;
                st.unseen.extend(new_unseen);
                st.remember(&c.change_id, SUPERSEDED, refusals[i].as_ref());
                ChangeOutcome::Superseded {
                    current: st.note.note.clone(),
                }
            }
        });
    }
    // Past the history limit, the oldest revisions of the notes that got new ones go.
    let limit = u64::from(policy.history_limit);
    let mut trims: Vec<(NoteId, u64)> = if revisions.is_empty() {
        Vec::new()
    } else {
        touched
            .iter()
            .filter_map(|id| {
                let rn = stored[id].rn;
                (rn > limit).then(|| (id.clone(), rn - limit))
            })
            .collect()
    };
    // A purge removes every revision of its note (a later trim of the same note covers
    // fewer numbers, so the purge's replaces it).
    for (id, upto) in purges {
        trims.retain(|(t, _)| *t != id);
        trims.push((id, upto));
    }
    // A trimmed revision is no longer kept: neither is its unseen mark.
    for (id, upto) in &trims {
        if let Some(rec) = stored.get_mut(id) {
            rec.unseen.retain(|u| u.n > *upto);
        }
    }
    let notes = touched
        .iter()
        .map(|id| stored.remove(id).expect("a touched note is stored"))
        .collect();
    let mut results = results(changes, outcomes);
    for (r, refused) in results.iter_mut().zip(refusals) {
        r.fields_refused = refused;
    }
    Plan {
        results,
        notes,
        revisions,
        trims,
        merges_over_budget: budget.refused(),
    }
}

/// Adds `id` to the notes a push writes back (once).
fn touch(touched: &mut Vec<NoteId>, id: &NoteId) {
    if !touched.contains(id) {
        touched.push(id.clone());
    }
}

/// True when `n` is exactly what change `c` sent (no merge, no conflict). A change with
/// field edits always gets the stored state back: the fields are the merge of every
/// device's edits, which the sender does not know.
fn stored_as_sent(n: &NoteState, c: &Change) -> bool {
    c.fields.is_empty()
        && n.conflict.is_none()
        && n.deleted == c.deleted
        && (n.deleted || (n.title == c.title && n.content == c.content))
}

fn results(changes: &[Change], outcomes: Vec<Option<ChangeOutcome>>) -> Vec<ChangeResult> {
    changes
        .iter()
        .zip(outcomes)
        .map(|(c, o)| ChangeResult {
            change_id: c.change_id.clone(),
            note_id: c.note_id.clone(),
            outcome: o.expect("every change has an outcome"),
            fields_refused: None,
        })
        .collect()
}

/// What the answer says of set fields whose edits were refused for their size.
fn refused_fields(over: &[&fields::FieldDef]) -> FieldsRefused {
    let names: Vec<String> = over.iter().map(|d| d.name.to_owned()).collect();
    let limits: Vec<String> = over
        .iter()
        .map(|d| format!("{} at most {}", d.name, d.max_items))
        .collect();
    FieldsRefused {
        fields: names,
        code: RejectCode::TooLarge,
        message: format!(
            "the note was saved without these edits: a note holds {} (edits made elsewhere \
             meanwhile filled it)",
            limits.join(", ")
        ),
    }
}
