//! The server's decision for one pushed change against the note it already holds.
//!
//! Strategy (protocol v1): last-write-wins on the whole note by hybrid logical clock. A
//! change whose clock is not greater than the stored one is superseded, and the client
//! receives the winning state. The decision is a pure function so it can be tested
//! exhaustively and so any server process makes the same one.

use crate::model::NoteState;
use crate::protocol::Change;

/// What the server does with a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Store the change as the note's new state.
    Apply,
    /// Keep the stored note; the change lost to it.
    Supersede,
}

/// Decides what to do with `change` given the note's stored state, if any.
pub fn decide(stored: Option<&NoteState>, change: &Change) -> Decision {
    match stored {
        None => Decision::Apply,
        Some(s) if change.hlc > s.hlc => Decision::Apply,
        Some(_) => Decision::Supersede,
    }
}

/// The state a change produces when applied at `version`.
pub fn apply(change: &Change, version: u64) -> NoteState {
    NoteState {
        id: change.note_id.clone(),
        title: if change.deleted { String::new() } else { change.title.clone() },
        content: if change.deleted { String::new() } else { change.content.clone() },
        deleted: change.deleted,
        hlc: change.hlc.clone(),
        version,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hlc::Hlc;
    use proptest::prelude::*;

    fn change(wall: u64, node: &str, deleted: bool) -> Change {
        Change {
            change_id: format!("c{wall}{node}").as_str().into(),
            note_id: "n1".into(),
            hlc: Hlc { wall_ms: wall, counter: 0, node: node.into() },
            base_version: None,
            title: if deleted { String::new() } else { format!("t{wall}") },
            content: String::new(),
            deleted,
        }
    }

    proptest! {
        /// Whatever order the server receives concurrent changes in, the same one ends up
        /// stored: the one with the greatest clock.
        #[test]
        fn arrival_order_does_not_change_the_winner(
            specs in proptest::collection::vec((0u64..20, "[ab]", any::<bool>()), 1..8),
            seed in any::<u64>(),
        ) {
            // A device never hands out the same clock twice, so clocks are unique.
            let mut changes: Vec<Change> = specs.iter().map(|(w, n, d)| change(*w, n, *d)).collect();
            changes.sort_by(|a, b| a.hlc.cmp(&b.hlc));
            changes.dedup_by(|a, b| a.hlc == b.hlc);
            let mut shuffled = changes.clone();
            // Deterministic shuffle from the seed.
            let mut x = seed | 1;
            for i in (1..shuffled.len()).rev() {
                x ^= x << 13; x ^= x >> 7; x ^= x << 17;
                shuffled.swap(i, (x % (i as u64 + 1)) as usize);
            }
            let run = |cs: &[Change]| {
                let mut stored: Option<NoteState> = None;
                for (v, c) in cs.iter().enumerate() {
                    if decide(stored.as_ref(), c) == Decision::Apply {
                        stored = Some(apply(c, v as u64 + 1));
                    }
                }
                stored.map(|s| (s.hlc, s.title, s.deleted))
            };
            let best = changes.iter().max_by(|a, b| a.hlc.cmp(&b.hlc)).unwrap();
            let a = run(&changes);
            prop_assert_eq!(&a, &run(&shuffled));
            prop_assert_eq!(a.unwrap().0, best.hlc.clone());
        }
    }

    #[test]
    fn a_delete_with_a_later_clock_wins_over_an_edit() {
        let edit = change(5, "a", false);
        let stored = apply(&edit, 1);
        let del = change(6, "b", true);
        assert_eq!(decide(Some(&stored), &del), Decision::Apply);
        let tomb = apply(&del, 2);
        assert!(tomb.deleted && tomb.title.is_empty());
        // ...and an older edit arriving late does not resurrect the note.
        assert_eq!(decide(Some(&tomb), &change(4, "a", false)), Decision::Supersede);
    }
}
