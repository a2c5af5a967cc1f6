//! Fuzz targets of the pure core, driven by proptest so they run on the stable toolchain
//! inside `cargo test`: the clock parser (`Hlc` from its wire string and from JSON), the
//! request body's types, the three-way text merge and the server's decision for a pushed
//! change (`merge::resolve`).
//!
//! `cargo test` runs a short campaign (256 cases per target). The long one is
//! `TERN_FUZZ_CASES=1000000 cargo test --release -p sync-core --test fuzz` (or
//! `scripts/fuzz.sh`); a failure prints the shrunk input, and proptest records it in a
//! `proptest-regressions` file beside this one, which later runs try first.
//!
//! Why proptest rather than `cargo fuzz`: it needs no nightly toolchain (none in CI), it
//! shrinks a failure to a minimal input, and the same properties run as ordinary tests.
//! What coverage-guided fuzzing would add is mostly reach into serde_json, which is fuzzed
//! upstream; the generators here aim at the shapes our own code branches on instead.
//!
//! The merge properties hold with a work budget on the merge: a merge over budget may end
//! in a conflict (both sides kept for the user), never in an error or a lost edit.

use proptest::prelude::*;
use proptest::strategy::Strategy as _;
use proptest::test_runner::Config;
use sync_core::merge::{LastWrite, Resolution, StoredNote, resolve};
use sync_core::protocol::{Change, SyncRequest};
use sync_core::text::{Merge3, merge3};
use sync_core::{ChangeId, Conflict, Hlc, HlcClock, NoteId, NoteState, Strategy, Text, Version};

/// Cases per target: `TERN_FUZZ_CASES`, else 256.
fn config() -> Config {
    let cases = std::env::var("TERN_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    Config {
        cases,
        // Long runs: no shrinking timeout surprises, and no per-case file I/O.
        max_shrink_iters: 10_000,
        ..Config::default()
    }
}

// ---------------------------------------------------------------------------------------
// The calls under test, each in one place (so a change of signature is one edit here).

fn merge_text(base: &str, ours: &str, theirs: &str) -> Merge3 {
    merge3(base, ours, theirs)
}

fn decide(stored: Option<&StoredNote>, change: &Change, default: Strategy, v: u64) -> Resolution {
    resolve(stored, change, default, v)
}

// ---------------------------------------------------------------------------------------
// Generators.

/// Strings that look like clocks, almost clocks, and anything at all.
fn clockish() -> impl proptest::strategy::Strategy<Value = String> {
    prop_oneof![
        "[0-9]{13}-[0-9a-fA-F]{8}-[A-Za-z0-9_-]{1,64}",
        "[0-9]{0,20}-[0-9a-fA-FxX+ ]{0,10}-[A-Za-z0-9_ .é-]{0,70}",
        "[0-9-]{0,30}",
        ".{0,80}",
        "\\PC{0,30}",
    ]
}

fn node() -> impl proptest::strategy::Strategy<Value = String> {
    "[A-Za-z0-9_-]{1,64}"
}

fn hlc() -> impl proptest::strategy::Strategy<Value = Hlc> {
    (0u64..10_000_000_000_000, any::<u32>(), node()).prop_map(|(wall_ms, counter, node)| Hlc {
        wall_ms,
        counter,
        node,
    })
}

/// A small clock from few devices, so that ties and orderings actually happen.
fn small_hlc() -> impl proptest::strategy::Strategy<Value = Hlc> {
    (0u64..6, 0u32..3, "[abc]").prop_map(|(w, c, n)| Hlc {
        wall_ms: 1_000 + w,
        counter: c,
        node: n,
    })
}

/// Text: words from a tiny vocabulary (so edits meet), or arbitrary Unicode.
fn text() -> impl proptest::strategy::Strategy<Value = String> {
    prop_oneof![
        4 => "((x|y|zz|é|日本| |\n|,)){0,12}",
        1 => "\\PC{0,24}",
        1 => ".{0,24}",
    ]
}

fn strategy() -> impl proptest::strategy::Strategy<Value = Strategy> {
    prop_oneof![
        Just(Strategy::Default),
        Just(Strategy::Lww),
        Just(Strategy::Merge),
        Just(Strategy::Manual),
    ]
}

fn version() -> impl proptest::strategy::Strategy<Value = Version> {
    (text(), text(), any::<bool>(), small_hlc()).prop_map(|(title, content, deleted, hlc)| {
        Version {
            title: if deleted { String::new() } else { title },
            content: if deleted { String::new() } else { content },
            deleted,
            hlc,
        }
    })
}

/// Any stored note the server could hold, and some it should never (inconsistent clocks,
/// conflicts on deleted notes): the decision must not panic on them either.
fn stored() -> impl proptest::strategy::Strategy<Value = StoredNote> {
    (
        version(),
        1u64..20,
        strategy(),
        proptest::option::of((proptest::collection::vec(version(), 0..10), any::<bool>())),
        small_hlc(),
        small_hlc(),
        proptest::option::of(("[abc]", proptest::option::of(0u64..20))),
    )
        .prop_map(|(v, version, strategy, conflict, th, ch, lw)| StoredNote {
            note: NoteState {
                id: NoteId::from("n"),
                title: v.title.clone(),
                content: v.content.clone(),
                deleted: v.deleted,
                hlc: v.hlc,
                version,
                strategy,
                conflict: conflict.map(|(versions, proposal)| Conflict {
                    proposal: proposal.then(|| Text {
                        title: v.title.clone(),
                        content: format!("{}+", v.content),
                    }),
                    versions,
                }),
                purged: false,
                fields: Default::default(),
            },
            title_hlc: th,
            content_hlc: ch,
            last_write: lw.map(|(node, base)| LastWrite { node, base }),
            text_version: version,
        })
}

/// Any change a client could push that passes the per-change checks (the server checks
/// limits before deciding).
fn change() -> impl proptest::strategy::Strategy<Value = Change> {
    (
        small_hlc(),
        proptest::option::of(0u64..20),
        text(),
        text(),
        proptest::bool::weighted(0.2),
        proptest::option::of((text(), text())),
        proptest::option::of(strategy()),
        any::<bool>(),
    )
        .prop_map(
            |(hlc, base_version, title, content, deleted, base, strategy, resolve)| {
                let mut c = Change::new(
                    ChangeId::from("c"),
                    NoteId::from("n"),
                    hlc,
                    base_version,
                    if deleted { "" } else { &title },
                    if deleted { "" } else { &content },
                    deleted,
                );
                c.base_title = base.as_ref().map(|b| b.0.clone());
                c.base_content = base.map(|b| b.1);
                c.strategy = strategy;
                c.resolve = resolve;
                c
            },
        )
}

/// Lines of words, for edits of separate regions.
fn lines() -> impl proptest::strategy::Strategy<Value = Vec<String>> {
    proptest::collection::vec("[a-e]{1,3}( [a-e]{1,3}){0,3}", 1..5)
}

// ---------------------------------------------------------------------------------------
// Helpers.

/// Every text a resolution keeps: the new state, its conflict versions and the revisions.
fn kept_texts(stored: Option<&StoredNote>, r: &Resolution) -> Vec<(String, String)> {
    let note = r.next.as_ref().or(stored).map(|s| &s.note);
    let mut out: Vec<(String, String)> = r
        .revisions
        .iter()
        .map(|(v, _)| (v.title.clone(), v.content.clone()))
        .collect();
    if let Some(n) = note {
        out.push((n.title.clone(), n.content.clone()));
        if let Some(c) = &n.conflict {
            out.extend(
                c.versions
                    .iter()
                    .map(|v| (v.title.clone(), v.content.clone())),
            );
        }
    }
    out
}

fn created(title: &str, content: &str) -> StoredNote {
    let c = Change::new(
        ChangeId::from("c0"),
        NoteId::from("n"),
        Hlc {
            wall_ms: 100,
            counter: 0,
            node: "origin".into(),
        },
        None,
        title,
        content,
        false,
    );
    decide(None, &c, Strategy::Merge, 1).next.unwrap()
}

/// A change by `node` at `wall` made on top of `base`.
fn edit_on(base: &StoredNote, wall: u64, node: &str, title: &str, content: &str) -> Change {
    let mut c = Change::new(
        ChangeId(format!("c{wall}{node}")),
        NoteId::from("n"),
        Hlc {
            wall_ms: wall,
            counter: 0,
            node: node.into(),
        },
        Some(base.note.version),
        title,
        content,
        false,
    );
    c.base_title = Some(base.note.title.clone());
    c.base_content = Some(base.note.content.clone());
    c
}

/// Applies `c` on `s` like the server does (the next version is one more).
fn apply(s: &StoredNote, c: &Change, st: Strategy) -> (StoredNote, Resolution) {
    let r = decide(Some(s), c, st, s.note.version + 1);
    (r.next.clone().unwrap_or_else(|| s.clone()), r)
}

// ---------------------------------------------------------------------------------------
// The clock parser.

proptest! {
    #![proptest_config(config())]

    /// Any string either parses to a clock whose wire form parses back to the same clock,
    /// or is refused with a message that quotes at most 100 characters of it; never a panic.
    #[test]
    fn clock_parse_never_panics_and_round_trips(s in clockish()) {
        match s.parse::<Hlc>() {
            Ok(h) => {
                let wire = h.to_string();
                prop_assert_eq!(wire.parse::<Hlc>().unwrap(), h.clone());
                // The only freedom in the wire form is the case of the hex digits.
                prop_assert_eq!(wire.to_ascii_lowercase(), s.to_ascii_lowercase());
            }
            Err(e) => prop_assert!(e.to_string().chars().count() < 100 + 120),
        }
    }

    /// Every clock a device can make formats to a string that parses back to it, and the
    /// string order is the clock order.
    #[test]
    fn clock_format_round_trips(a in hlc(), b in hlc()) {
        prop_assert_eq!(a.to_string().parse::<Hlc>().unwrap(), a.clone());
        prop_assert_eq!(a.cmp(&b), a.to_string().cmp(&b.to_string()));
    }

    /// A clock read from JSON (any JSON value) is either a clock or a serde error.
    #[test]
    fn clock_from_any_json_never_panics(s in clockish(), n in any::<i64>(), f in any::<f64>()) {
        for v in [
            serde_json::json!(s),
            serde_json::json!(n),
            serde_json::json!(f),
            serde_json::json!([s]),
            serde_json::json!({"wall_ms": n}),
            serde_json::Value::Null,
        ] {
            if let Ok(h) = serde_json::from_value::<Hlc>(v.clone()) {
                // Only a string is a clock, and it is the clock's wire form (hex in any case).
                let wire = v.as_str().map(str::to_ascii_lowercase);
                prop_assert_eq!(Some(h.to_string().to_ascii_lowercase()), wire);
            }
        }
    }

    /// Clocks absorbing any clock from the wire never panic and stay strictly increasing.
    #[test]
    fn clock_absorbs_any_wire_clock(
        remote in proptest::collection::vec((hlc(), 0u64..10_000_000_000_000), 1..20),
    ) {
        let mut c = HlcClock::new("me");
        let mut last = c.last().clone();
        for (r, now) in remote {
            c.observe(&r, now);
            let t = c.tick(now);
            let remote_here = Hlc { node: t.node.clone(), ..r.clone() };
            prop_assert!(t > last && t > remote_here);
            last = t;
        }
    }
}

// ---------------------------------------------------------------------------------------
// The request body's types (the server's parser adds the protocol check and the limits on
// top: fuzzed in `server/tests/fuzz_http.rs`).

proptest! {
    #![proptest_config(config())]

    /// Arbitrary bytes never panic the request decoder.
    #[test]
    fn request_decoding_of_any_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = serde_json::from_slice::<SyncRequest>(&bytes);
    }

    /// A request that decodes re-encodes to JSON that decodes to the same request.
    #[test]
    fn decoded_requests_round_trip(c in change(), cursor in proptest::option::of(".{0,10}"),
                                   limit in proptest::option::of(any::<u32>())) {
        let req = SyncRequest {
            protocol: 1,
            cursor: cursor.map(sync_core::Cursor),
            changes: vec![c],
            limit,
        };
        let json = serde_json::to_vec(&req).unwrap();
        prop_assert_eq!(serde_json::from_slice::<SyncRequest>(&json).unwrap(), req);
    }
}

// ---------------------------------------------------------------------------------------
// The three-way merge.

proptest! {
    #![proptest_config(config())]

    /// Any three texts merge without panicking, the same way every time; a clean merge of
    /// a side with an unchanged other side is that side.
    #[test]
    fn text_merge_never_panics_and_is_deterministic(b in text(), o in text(), t in text()) {
        let m = merge_text(&b, &o, &t);
        prop_assert_eq!(&m, &merge_text(&b, &o, &t));
        prop_assert_eq!(merge_text(&b, &o, &o), Merge3::Clean(o.clone()));
        prop_assert_eq!(merge_text(&b, &b, &t), Merge3::Clean(t.clone()));
        prop_assert_eq!(merge_text(&b, &o, &b), Merge3::Clean(o.clone()));
    }

    /// Edits of separate lines (an untouched line between them) both land.
    #[test]
    fn text_merge_keeps_both_non_overlapping_edits(
        head in lines(), tail in lines(), new_head in lines(), new_tail in lines(),
    ) {
        let j = |l: &[String]| l.join("\n");
        let base = format!("{}\n--\n{}", j(&head), j(&tail));
        let ours = format!("{}\n--\n{}", j(&new_head), j(&tail));
        let theirs = format!("{}\n--\n{}", j(&head), j(&new_tail));
        let want = format!("{}\n--\n{}", j(&new_head), j(&new_tail));
        prop_assert_eq!(merge_text(&base, &ours, &theirs), Merge3::Clean(want));
    }

    /// The server's decision on any stored note and any change never panics, is the same
    /// every time, and loses nothing: the change's text and the stored text are each in
    /// the new state, its conflict versions or the revisions (unless the change wrote on
    /// top of the stored text, which it had seen).
    #[test]
    fn resolve_never_panics_is_deterministic_and_keeps_edits(
        s in proptest::option::of(stored()), c in change(), default in strategy(), v in 1u64..40,
    ) {
        let r = decide(s.as_ref(), &c, default, v);
        prop_assert_eq!(&r, &decide(s.as_ref(), &c, default, v));
        let kept = kept_texts(s.as_ref(), &r);
        if !c.deleted {
            prop_assert!(kept.contains(&(c.title.clone(), c.content.clone())),
                "the change's text is gone: {:?}", r);
        }
        if let (Some(s), Some(next)) = (&s, &r.next) {
            let overwritten_by_one_who_saw_it = c.base_version == Some(s.note.version)
                || s.last_write.as_ref().is_some_and(|w| w.node == c.hlc.node && w.base == c.base_version);
            if !s.note.deleted && !overwritten_by_one_who_saw_it {
                prop_assert!(kept.contains(&(s.note.title.clone(), s.note.content.clone())),
                    "the stored text is gone: {:?}", r);
            }
            prop_assert_eq!(next.note.version, v);
            if next.note.deleted {
                prop_assert!(next.note.title.is_empty() && next.note.content.is_empty());
                prop_assert!(next.note.conflict.is_none());
            }
        }
    }

    /// Two devices editing separate lines of one note at once, under the merge strategy:
    /// both edits are in the note, in whichever order they arrive; or, if the merge went
    /// over its budget, both sides are kept as a conflict for the user.
    #[test]
    fn resolve_merges_non_overlapping_edits_in_either_order(
        head in lines(), tail in lines(), new_head in lines(), new_tail in lines(), swap in any::<bool>(),
    ) {
        let j = |l: &[String]| l.join("\n");
        let base = created("t", &format!("{}\n--\n{}", j(&head), j(&tail)));
        let ours = format!("{}\n--\n{}", j(&new_head), j(&tail));
        let theirs = format!("{}\n--\n{}", j(&head), j(&new_tail));
        let want = format!("{}\n--\n{}", j(&new_head), j(&new_tail));
        let a = edit_on(&base, 200, "a", "t", &ours);
        let b = edit_on(&base, 300, "b", "t", &theirs);
        let (first, second) = if swap { (&b, &a) } else { (&a, &b) };
        let (s1, _) = apply(&base, first, Strategy::Merge);
        let (s2, r) = apply(&s1, second, Strategy::Merge);
        match &s2.note.conflict {
            None => prop_assert_eq!(&s2.note.content, &want),
            Some(_) => {
                let kept = kept_texts(Some(&s1), &r);
                prop_assert!(kept.contains(&("t".into(), ours.clone())));
                prop_assert!(kept.contains(&("t".into(), theirs.clone())));
            }
        }
    }

    /// Two devices making the same edit at once: the note gets that text, with no conflict,
    /// under every strategy.
    #[test]
    fn resolve_of_identical_sides_is_that_side_without_conflict(
        base_text in text(), new_text in text(), st in strategy(), swap in any::<bool>(),
    ) {
        let base = created("t", &base_text);
        let a = edit_on(&base, 200, "a", "t", &new_text);
        let b = edit_on(&base, 300, "b", "t", &new_text);
        let (first, second) = if swap { (&b, &a) } else { (&a, &b) };
        let (s1, _) = apply(&base, first, st);
        let (s2, _) = apply(&s1, second, st);
        prop_assert_eq!(&s2.note.content, &new_text);
        prop_assert!(s2.note.conflict.is_none(), "{:?}", s2.note.conflict);
        prop_assert!(!s2.note.deleted);
    }
}

// ---------------------------------------------------------------------------------------
// Regressions found by the fuzz targets and the simulation.

/// Found by the simulation (`TERN_SIM_SEED=1002502`): device a's edit is applied; device
/// b's concurrent change (a strategy change, so its text is still the old one) merges into
/// a's text and, with the greater clock, stamps the merged state with b's clock; b then
/// edits the note on top of it. a's text was replaced by another device: it must be in the
/// history, as for any edit another device replaces.
#[test]
fn text_of_one_device_replaced_by_another_after_a_merge_stays_in_history() {
    let base = created("t", "tea");
    let (s1, _) = apply(
        &base,
        &edit_on(&base, 200, "a", "t", "tea and milk"),
        Strategy::Merge,
    );
    let (s2, r2) = apply(&s1, &edit_on(&base, 300, "b", "t", "tea"), Strategy::Merge);
    assert_eq!(
        (s2.note.content.as_str(), s2.note.hlc.node.as_str()),
        ("tea and milk", "b")
    );
    let (s3, r3) = apply(&s2, &edit_on(&s2, 400, "b", "t", "coffee"), Strategy::Merge);
    // What is left: the note now, and every revision kept on the way.
    let mut kept = kept_texts(Some(&s3), &r3);
    kept.extend(
        r2.revisions
            .iter()
            .map(|(v, _)| (v.title.clone(), v.content.clone())),
    );
    assert!(
        kept.contains(&("t".into(), "tea and milk".into())),
        "a's edit is gone: {kept:?}"
    );
}
