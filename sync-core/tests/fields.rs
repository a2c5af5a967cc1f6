//! The merge rules of the note's fields (`sync_core::fields`), checked with random
//! histories: two or three devices edit tags, notebook and pinned concurrently, and every
//! order in which their changes reach a replica gives the same fields.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use serde_json::json;
use sync_core::Hlc;
use sync_core::fields::{
    FieldEdit, FieldError, FieldState, Fields, MAX_SET_REMOVED, SetEdit, SetState, check,
};

fn hlc(ms: u64, node: &str) -> Hlc {
    Hlc {
        wall_ms: ms,
        counter: 0,
        node: node.into(),
    }
}

fn set(xs: &[&str]) -> BTreeSet<String> {
    xs.iter().map(|s| (*s).to_owned()).collect()
}

fn tags(edit: SetEdit) -> BTreeMap<String, FieldEdit> {
    BTreeMap::from([("tags".to_owned(), FieldEdit::Set(edit))])
}

#[test]
fn concurrent_tag_edits_on_two_devices_keep_both() {
    // Both devices saw {work}; the phone adds "travel", the laptop adds "ideas" and
    // removes "work".
    let mut server = Fields::default();
    server.apply(
        &tags(SetEdit::between(&set(&[]), &set(&["work"]))),
        &hlc(1, "a"),
    );
    let base = server.set("tags");
    let phone = tags(SetEdit::between(&base, &set(&["work", "travel"])));
    let laptop = tags(SetEdit::between(&base, &set(&["ideas"])));
    let mut one = server.clone();
    one.apply(&phone, &hlc(5, "phone"));
    one.apply(&laptop, &hlc(4, "laptop"));
    let mut two = server.clone();
    two.apply(&laptop, &hlc(4, "laptop"));
    two.apply(&phone, &hlc(5, "phone"));
    assert_eq!(one, two, "the order of arrival does not matter");
    assert_eq!(one.set("tags"), set(&["ideas", "travel"]));
}

#[test]
fn an_add_and_a_remove_of_one_tag_the_later_clock_wins() {
    let mut start = Fields::default();
    start.apply(
        &tags(SetEdit::between(&set(&[]), &set(&["x"]))),
        &hlc(1, "a"),
    );
    // The laptop removes x at 10; the phone, which had removed and re-added it, adds it at
    // 12 (its edit from the base it saw is an add after its own remove).
    let remove = tags(SetEdit::between(&set(&["x"]), &set(&[])));
    let add = tags(SetEdit {
        add: set(&["x"]),
        remove: set(&[]),
    });
    for (a, b) in [(&remove, &add), (&add, &remove)] {
        let mut f = start.clone();
        let (ha, hb) = if std::ptr::eq(a, &remove) {
            (hlc(10, "laptop"), hlc(12, "phone"))
        } else {
            (hlc(12, "phone"), hlc(10, "laptop"))
        };
        f.apply(a, &ha);
        f.apply(b, &hb);
        assert_eq!(
            f.set("tags"),
            set(&["x"]),
            "the later add wins, in either order"
        );
    }
}

#[test]
fn a_move_on_one_device_and_a_pin_on_another_keep_both() {
    let notebook = BTreeMap::from([("notebook".to_owned(), FieldEdit::Register(json!("nb-2")))]);
    let pin = BTreeMap::from([("pinned".to_owned(), FieldEdit::Register(json!(true)))]);
    let mut f = Fields::default();
    f.apply(&pin, &hlc(7, "phone"));
    f.apply(&notebook, &hlc(5, "laptop"));
    assert_eq!(f.register("notebook"), json!("nb-2"));
    assert_eq!(f.register("pinned"), json!(true));
    // Two moves: the later one wins, whatever arrives last.
    let other = BTreeMap::from([("notebook".to_owned(), FieldEdit::Register(json!("nb-3")))]);
    f.apply(&other, &hlc(4, "tablet"));
    assert_eq!(f.register("notebook"), json!("nb-2"));
}

#[test]
fn a_change_that_names_no_field_keeps_them_all() {
    let mut f = Fields::default();
    f.apply(
        &tags(SetEdit::between(&set(&[]), &set(&["a", "b"]))),
        &hlc(1, "x"),
    );
    let before = f.clone();
    f.apply(&BTreeMap::new(), &hlc(9, "old-client"));
    assert_eq!(f, before);
}

#[test]
fn bad_edits_are_refused_with_the_field_named() {
    assert_eq!(
        check("colour", &FieldEdit::Register(json!("red"))),
        Err(FieldError::Unknown("colour".into()))
    );
    assert_eq!(
        check("tags", &FieldEdit::Register(json!("x"))),
        Err(FieldError::Kind("tags"))
    );
    let long = "x".repeat(65);
    assert!(matches!(
        check(
            "tags",
            &FieldEdit::Set(SetEdit {
                add: set(&[&long]),
                remove: set(&[])
            })
        ),
        Err(FieldError::TooLong("tags", 64))
    ));
    let many: BTreeSet<String> = (0..201).map(|i| format!("t{i}")).collect();
    assert!(matches!(
        check(
            "tags",
            &FieldEdit::Set(SetEdit {
                add: many,
                remove: set(&[])
            })
        ),
        Err(FieldError::TooMany("tags", 100))
    ));
    // A hostile object in a set field does not read as a set edit.
    let edit: FieldEdit = serde_json::from_value(json!({"add": ["a"], "evil": 1})).unwrap();
    assert_eq!(check("tags", &edit), Err(FieldError::Kind("tags")));
    // The wire form of an edit.
    assert_eq!(
        serde_json::to_value(FieldEdit::Set(SetEdit {
            add: set(&["a"]),
            remove: set(&[])
        }))
        .unwrap(),
        json!({"add": ["a"]})
    );
}

#[test]
fn removed_elements_are_remembered_up_to_a_bound() {
    let mut s = SetState::default();
    for i in 0..(MAX_SET_REMOVED as u64 + 50) {
        let t = format!("t{i}");
        s.apply(
            &SetEdit {
                add: set(&[&t]),
                remove: set(&[]),
            },
            &hlc(2 * i, "a"),
        );
        s.apply(
            &SetEdit {
                add: set(&[]),
                remove: set(&[&t]),
            },
            &hlc(2 * i + 1, "a"),
        );
    }
    assert_eq!(s.elements.len(), MAX_SET_REMOVED);
    assert!(s.values().is_empty());
}

/// One device's change: a few tag adds/removes from a small alphabet, maybe a notebook or
/// pin, at a clock.
fn change() -> impl Strategy<Value = (BTreeMap<String, FieldEdit>, Hlc)> {
    let tag = prop::sample::select(vec!["a", "b", "c", "d", "e"]);
    (
        prop::collection::btree_set(tag.clone(), 0..3),
        prop::collection::btree_set(tag, 0..3),
        prop::option::of(prop::sample::select(vec!["nb1", "nb2", "nb3"])),
        prop::option::of(any::<bool>()),
        0u64..50,
        prop::sample::select(vec!["p", "q", "r"]),
    )
        .prop_map(|(add, remove, nb, pin, ms, node)| {
            let remove: BTreeSet<String> =
                remove.difference(&add).map(|s| (*s).to_owned()).collect();
            let add: BTreeSet<String> = add.into_iter().map(str::to_owned).collect();
            let mut edits = BTreeMap::new();
            if !add.is_empty() || !remove.is_empty() {
                edits.insert("tags".to_owned(), FieldEdit::Set(SetEdit { add, remove }));
            }
            if let Some(nb) = nb {
                edits.insert("notebook".to_owned(), FieldEdit::Register(json!(nb)));
            }
            if let Some(pin) = pin {
                edits.insert("pinned".to_owned(), FieldEdit::Register(json!(pin)));
            }
            (edits, hlc(ms, node))
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    /// Any order of arrival, and any grouping of replicas merging each other's states,
    /// ends in the same fields.
    #[test]
    fn every_order_of_arrival_converges(
        changes in prop::collection::vec(change(), 1..12),
        order in Just(()).prop_perturb(|_, mut rng| rng.random::<u64>()),
    ) {
        // Distinct clocks per change (one device never stamps two changes alike).
        let changes: Vec<_> = changes
            .into_iter()
            .enumerate()
            .map(|(i, (e, mut h))| { h.counter = i as u32; (e, h) })
            .collect();
        let mut in_order = Fields::default();
        for (e, h) in &changes {
            in_order.apply(e, h);
        }
        // A shuffled order.
        let mut idx: Vec<usize> = (0..changes.len()).collect();
        let mut x = order | 1;
        for i in (1..idx.len()).rev() {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            idx.swap(i, (x % (i as u64 + 1)) as usize);
        }
        let mut shuffled = Fields::default();
        for &i in &idx {
            shuffled.apply(&changes[i].0, &changes[i].1);
        }
        prop_assert_eq!(&in_order, &shuffled);
        // Two replicas each applying half, then merging states, both ways.
        let (mut left, mut right) = (Fields::default(), Fields::default());
        for (k, &i) in idx.iter().enumerate() {
            let r = if k % 2 == 0 { &mut left } else { &mut right };
            r.apply(&changes[i].0, &changes[i].1);
        }
        let mut lr = left.clone();
        lr.merge(&right);
        let mut rl = right.clone();
        rl.merge(&left);
        prop_assert_eq!(&lr, &rl, "merge is commutative");
        prop_assert_eq!(&lr, &in_order, "merging states = applying every change");
        let mut again = lr.clone();
        again.merge(&left);
        prop_assert_eq!(&again, &lr, "merge is idempotent");
    }

    /// Without concurrency, a device's edit computed from what it saw gives exactly what it
    /// shows: `between(base, local)` applied at a later clock turns base into local.
    #[test]
    fn a_sequential_edit_gives_what_the_device_shows(
        history in prop::collection::vec(change(), 0..6),
        local in prop::collection::btree_set(prop::sample::select(vec!["a", "b", "c", "d", "e", "f"]), 0..6),
    ) {
        let mut f = Fields::default();
        for (i, (e, _)) in history.iter().enumerate() {
            f.apply(e, &hlc(i as u64, "p"));
        }
        let base = f.set("tags");
        let local: BTreeSet<String> = local.into_iter().map(str::to_owned).collect();
        f.apply(&tags(SetEdit::between(&base, &local)), &hlc(100, "p"));
        prop_assert_eq!(f.set("tags"), local);
    }

    /// A field's state survives its JSON form (what a store or an export keeps).
    #[test]
    fn states_round_trip_as_json(changes in prop::collection::vec(change(), 0..8)) {
        let mut f = Fields::default();
        for (e, h) in &changes {
            f.apply(e, h);
        }
        let back: Fields = serde_json::from_str(&serde_json::to_string(&f).unwrap()).unwrap();
        prop_assert_eq!(back, f);
    }
}

#[test]
fn state_kinds_read_back_as_themselves() {
    let s: FieldState = serde_json::from_value(json!({"elements": {}})).unwrap();
    assert!(matches!(s, FieldState::Set(_)));
    let r: FieldState =
        serde_json::from_value(json!({"value": true, "hlc": "0000000000001-00000000-a"})).unwrap();
    assert!(matches!(r, FieldState::Register(_)));
}

#[test]
fn each_field_edit_of_a_change_applies_at_its_own_clock() {
    use sync_core::fields::{EditClock, EditClocks, check_clocks};
    // The laptop removed "urgent" at 10 and typed at 30; the phone re-added it at 20.
    let mut f = Fields::default();
    f.apply(
        &tags(SetEdit::between(&set(&[]), &set(&["urgent"]))),
        &hlc(1, "phone"),
    );
    f.apply(
        &tags(SetEdit::between(&set(&[]), &set(&["urgent"]))),
        &hlc(20, "phone"),
    );
    let removal = tags(SetEdit::between(&set(&["urgent"]), &set(&[])));
    let clocks: EditClocks = BTreeMap::from([(
        "tags".to_owned(),
        EditClock::Set(BTreeMap::from([("urgent".to_owned(), hlc(10, "laptop"))])),
    )]);
    assert_eq!(check_clocks(&removal, &clocks, &hlc(30, "laptop")), Ok(()));
    f.merge(&Fields::of_edits_at(&removal, &clocks, &hlc(30, "laptop")));
    assert_eq!(f.set("tags"), set(&["urgent"]), "the later re-add stays");
    // Without the clock, the removal would be as late as the typing.
    let mut g = f.clone();
    g.apply(&removal, &hlc(30, "laptop"));
    assert!(g.set("tags").is_empty());

    // A clock later than the change's, another device's, or naming no edit is refused.
    let pin = BTreeMap::from([("pinned".to_owned(), FieldEdit::Register(json!(true)))]);
    let one = |name: &str, c: EditClock| -> EditClocks { BTreeMap::from([(name.to_owned(), c)]) };
    for bad in [
        one("pinned", EditClock::Register(hlc(31, "laptop"))),
        one("pinned", EditClock::Register(hlc(5, "phone"))),
        one("notebook", EditClock::Register(hlc(5, "laptop"))),
        one("pinned", EditClock::Set(BTreeMap::new())),
    ] {
        assert!(
            matches!(
                check_clocks(&pin, &bad, &hlc(30, "laptop")),
                Err(FieldError::Clock(_))
            ),
            "{bad:?}"
        );
    }
    // On the wire: a register's clock is a string, a set's an object by element.
    let c: EditClocks = serde_json::from_value(json!({
        "pinned": "0000000000005-00000000-laptop",
        "tags": {"urgent": "0000000000010-00000000-laptop"}
    }))
    .unwrap();
    assert!(matches!(c["pinned"], EditClock::Register(_)));
    assert!(matches!(c["tags"], EditClock::Set(_)));
}

/// One element's history past the removal bound: removed at some clock, maybe added again
/// later (never an add older than its removal: see
/// `an_add_older_than_a_forgotten_removal_comes_back`).
fn element_history() -> impl Strategy<Value = (u64, Option<u64>)> {
    (0u64..1_000, proptest::option::of(1u64..1_000)).prop_map(|(r, a)| (r, a.map(|d| r + d)))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Past `MAX_SET_REMOVED` removals the set forgets the oldest; any order of arrival and
    /// any grouping of replicas still ends in the same elements, as long as no add older
    /// than a removal arrives after that removal was forgotten (the documented bound).
    /// Which removals are remembered may differ: a removal later overtaken by an add counted
    /// towards the bound only where it arrived first.
    #[test]
    fn past_the_removal_bound_every_order_converges(
        histories in prop::collection::vec(element_history(), MAX_SET_REMOVED..MAX_SET_REMOVED * 2),
        order in Just(()).prop_perturb(|_, mut rng| rng.random::<u64>()),
    ) {
        // One decision per change, each at a distinct clock.
        let mut decisions: Vec<(SetEdit, Hlc)> = Vec::new();
        for (i, (removed, added)) in histories.iter().enumerate() {
            let t = format!("t{i}");
            let at = |ms: u64| Hlc { wall_ms: ms, counter: i as u32, node: "d".into() };
            decisions.push((SetEdit { add: set(&[]), remove: set(&[&t]) }, at(*removed)));
            if let Some(a) = added {
                decisions.push((SetEdit { add: set(&[&t]), remove: set(&[]) }, at(*a)));
            }
        }
        let apply_all = |idx: &[usize]| {
            let mut s = SetState::default();
            for &i in idx {
                s.apply(&decisions[i].0, &decisions[i].1);
            }
            s
        };
        let in_order: Vec<usize> = (0..decisions.len()).collect();
        let mut idx = in_order.clone();
        let mut x = order | 1;
        for i in (1..idx.len()).rev() {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            idx.swap(i, (x % (i as u64 + 1)) as usize);
        }
        let a = apply_all(&in_order);
        let shuffled = apply_all(&idx);
        prop_assert_eq!(a.values(), shuffled.values());
        for s in [&a, &shuffled] {
            let removed = s.elements.values().filter(|e| !e.present).count();
            prop_assert!(removed <= MAX_SET_REMOVED);
            // Every element present is at its latest decision's clock.
            for (k, e) in s.elements.iter().filter(|(_, e)| e.present) {
                prop_assert_eq!(&a.elements[k], e);
            }
        }
        // Two replicas, each half, merged both ways.
        let (l, r): (Vec<usize>, Vec<usize>) = idx.iter().partition(|&&i| i % 2 == 0);
        let (left, right) = (apply_all(&l), apply_all(&r));
        let mut lr = left.clone();
        lr.merge(&right);
        let mut rl = right.clone();
        rl.merge(&left);
        prop_assert_eq!(lr.values(), rl.values());
        prop_assert_eq!(lr.values(), a.values());
    }
}

/// The bound, pinned: an add older than a removal that the set has forgotten (after
/// `MAX_SET_REMOVED` later removals) comes back when it arrives late, while it loses when it
/// arrives before. A device would have to hold such an add offline while other devices
/// removed more than that many tags of the note.
#[test]
fn an_add_older_than_a_forgotten_removal_comes_back() {
    let one = |add: bool, t: &str| SetEdit {
        add: if add { set(&[t]) } else { set(&[]) },
        remove: if add { set(&[]) } else { set(&[t]) },
    };
    let mut early = SetState::default();
    early.apply(&one(true, "x"), &hlc(1, "late"));
    early.apply(&one(false, "x"), &hlc(2, "a"));
    let mut late = SetState::default();
    late.apply(&one(false, "x"), &hlc(2, "a"));
    for i in 0..MAX_SET_REMOVED as u64 {
        let t = format!("t{i}");
        early.apply(&one(false, &t), &hlc(10 + i, "a"));
        late.apply(&one(false, &t), &hlc(10 + i, "a"));
    }
    late.apply(&one(true, "x"), &hlc(1, "late"));
    assert!(!early.values().contains("x"));
    assert!(
        late.values().contains("x"),
        "past the bound, the late old add is back"
    );
}
