//! A note's fields beyond its text, each declared once with the rule that merges it.
//!
//! Title and body are text: concurrent edits merge three ways ([`crate::text`], driven by
//! [`crate::merge`]). The fields declared in [`FIELDS`] merge by rules that need no base
//! version and no text diff, so a device can apply them as well as the server (the
//! precondition for end-to-end encryption, where the server stores fields it cannot read
//! and devices merge):
//!
//! - [`Rule::Set`] (tags): an *element-wise last-writer-wins set*. Each element remembers
//!   whether it is in the set and the clock of the change that last added or removed it.
//!   A change carries what its device added and removed since the version it saw
//!   ([`SetEdit::between`]), not the whole set, so concurrent adds and removes of
//!   different elements all apply. An add and a remove of the same element on two devices
//!   resolve by the later clock (the rule users can predict: "the last thing done to this
//!   tag wins"), and the same in any order of arrival.
//! - [`Rule::Register`] (notebook, pinned): the value of the change with the later clock
//!   wins, per field: moving a note on one device and pinning it on another keeps both.
//!
//! A change that does not name a field leaves it as it is, so a client that knows no
//! fields (today's) keeps every field of a note it edits. Adding a field is one line in
//! [`FIELDS`] (its name, rule and size limit) plus its user interface.
//!
//! Every operation here is pure. [`FieldState::merge`] joins two replicas' states
//! (commutative, associative, idempotent: `sync-core/tests/fields.rs` checks it with random
//! histories), and applying a change's edit is the same as merging the state that edit
//! alone describes, so a device and the server that see the same edits in different orders
//! hold the same fields.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::hlc::Hlc;

/// How a field merges concurrent edits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// A set of short strings; see the module docs.
    Set,
    /// One value; the later clock wins.
    Register,
}

/// One declared field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldDef {
    /// The field's name on the wire and in storage.
    pub name: &'static str,
    /// How it merges.
    pub rule: Rule,
    /// Longest value (a set's element, or a register's value as JSON), in bytes.
    pub max_bytes: usize,
    /// Most elements in the set (registers: 1).
    pub max_items: usize,
    /// What a value must be (a set's elements, a register's value).
    pub value: ValueType,
}

/// The type of a field's values, checked on every edit ([`check`]): a value of another type
/// is refused, so no device stores (or shows) `{"pinned": 7}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueType {
    /// A record id ([`crate::model::is_valid_id`]): a set's elements.
    Id,
    /// A record id, or JSON `null` (none).
    IdOrNull,
    /// JSON `true` or `false`.
    Bool,
    /// A [`Kind`]: `"note"`, `"notebook"` or `"tag"`.
    Kind,
    /// Milliseconds since the Unix epoch: a whole JSON number, 0 or more.
    Ms,
}

impl ValueType {
    /// True when `v` is of this type.
    pub fn admits(self, v: &serde_json::Value) -> bool {
        use serde_json::Value;
        let id = |s: &str| crate::id::is_valid_id(s, crate::id::MAX_ID_LEN);
        match (self, v) {
            (Self::Id | Self::IdOrNull, Value::String(s)) => id(s),
            (Self::IdOrNull, Value::Null) | (Self::Bool, Value::Bool(_)) => true,
            (Self::Kind, v) => serde_json::from_value::<Kind>(v.clone()).is_ok(),
            (Self::Ms, Value::Number(n)) => n.is_u64(),
            _ => false,
        }
    }
}

/// The fields a note has besides title and body: the one table of them.
pub const FIELDS: &[FieldDef] = &[
    // Tag ids: a tag's name lives in the tag's own record, so renaming a tag used by many
    // notes is one change.
    FieldDef {
        name: "tags",
        rule: Rule::Set,
        max_bytes: 64,
        max_items: MAX_SET_ITEMS,
        value: ValueType::Id,
    },
    // The id of the notebook the note is in (JSON `null`: none).
    FieldDef {
        name: "notebook",
        rule: Rule::Register,
        max_bytes: 80,
        max_items: 1,
        value: ValueType::IdOrNull,
    },
    // JSON `true` or `false`.
    FieldDef {
        name: "pinned",
        rule: Rule::Register,
        max_bytes: 5,
        max_items: 1,
        value: ValueType::Bool,
    },
    // What the record is: JSON `"note"` (also when never set), `"notebook"` or `"tag"`
    // ([`Kind`]). Notebooks and tags are records synced like notes, their name the title.
    FieldDef {
        name: "kind",
        rule: Rule::Register,
        max_bytes: 16,
        max_items: 1,
        value: ValueType::Kind,
    },
    // A notebook's parent notebook id (JSON `null`: top level).
    FieldDef {
        name: "parent",
        rule: Rule::Register,
        max_bytes: 80,
        max_items: 1,
        value: ValueType::IdOrNull,
    },
    // When the note was created: milliseconds since the Unix epoch, a JSON number, set by
    // the device that creates it (or by an import, from the file's date). Notes created
    // before fields have none; they show their first known date instead.
    FieldDef {
        name: "created",
        rule: Rule::Register,
        max_bytes: 16,
        max_items: 1,
        value: ValueType::Ms,
    },
];

/// What a synced record is (register field `kind`). Notebooks and tags are records of
/// their own, referenced by id from notes (`notebook`, `tags`), so renaming one is one
/// change to one record however many notes use it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A note (every record of a client that knows no kinds).
    #[default]
    Note,
    /// A notebook: its title is its name; register `parent` nests it.
    Notebook,
    /// A tag: its title is its name.
    Tag,
}

impl Kind {
    /// The register value of this kind.
    pub fn value(self) -> serde_json::Value {
        serde_json::Value::String(
            match self {
                Kind::Note => "note",
                Kind::Notebook => "notebook",
                Kind::Tag => "tag",
            }
            .to_owned(),
        )
    }
}

/// Most elements a set field holds.
pub const MAX_SET_ITEMS: usize = 100;
/// Most removed elements a set field remembers (the oldest are forgotten first). A
/// remembered removal is what makes an older add arriving late lose to it; an add older
/// than this many later removals of the same note may come back. Past the bound, every
/// order of arrival still gives the same elements (but for such a late old add), though
/// replicas may remember different removals (one later overtaken by an add counted only
/// where it arrived first): `sync-core/tests/fields.rs` checks both.
pub const MAX_SET_REMOVED: usize = 100;

/// The declaration of field `name`.
pub fn def(name: &str) -> Option<&'static FieldDef> {
    FIELDS.iter().find(|d| d.name == name)
}

/// One element of a set field: in the set or removed, and the clock of that decision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Element {
    /// True when the element is in the set.
    pub present: bool,
    /// The clock of the change that last added or removed it.
    pub hlc: Hlc,
}

/// A set field's state with its clocks (what a store keeps).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetState {
    /// Every element added or removed and not forgotten.
    pub elements: BTreeMap<String, Element>,
}

/// What a device did to a set field since the version it saw.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
// An object with other keys is no set edit: it fails here and reads as a register value,
// which `check` then refuses for a set field.
#[serde(deny_unknown_fields)]
pub struct SetEdit {
    /// Elements added.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub add: BTreeSet<String>,
    /// Elements removed.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub remove: BTreeSet<String>,
}

impl SetEdit {
    /// The edit that turns `base` (what the device saw) into `local` (what it shows now).
    pub fn between(base: &BTreeSet<String>, local: &BTreeSet<String>) -> Self {
        Self {
            add: local.difference(base).cloned().collect(),
            remove: base.difference(local).cloned().collect(),
        }
    }

    /// True when it changes nothing.
    pub fn is_empty(&self) -> bool {
        self.add.is_empty() && self.remove.is_empty()
    }
}

impl SetState {
    /// The elements in the set.
    pub fn values(&self) -> BTreeSet<String> {
        self.elements
            .iter()
            .filter(|(_, e)| e.present)
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// The state `edit` alone describes, made at `hlc`.
    pub fn of_edit(edit: &SetEdit, hlc: &Hlc) -> Self {
        Self::of_edit_at(edit, None, hlc)
    }

    /// The state `edit` alone describes, each element added or removed at its clock in
    /// `clocks` (an element not named there: at `hlc`).
    pub fn of_edit_at(edit: &SetEdit, clocks: Option<&BTreeMap<String, Hlc>>, hlc: &Hlc) -> Self {
        let mut elements = BTreeMap::new();
        // A device never adds and removes one element in one edit; if a hostile one does,
        // the removal stands (the state must not depend on the order of these loops).
        for (v, present) in edit
            .add
            .iter()
            .map(|v| (v, true))
            .chain(edit.remove.iter().map(|v| (v, false)))
        {
            let at = clocks.and_then(|c| c.get(v)).unwrap_or(hlc);
            elements.insert(
                v.clone(),
                Element {
                    present,
                    hlc: at.clone(),
                },
            );
        }
        Self { elements }
    }

    /// Applies a change's edit made at `hlc`: each element it names takes the decision with
    /// the later clock.
    pub fn apply(&mut self, edit: &SetEdit, hlc: &Hlc) {
        self.merge(&Self::of_edit(edit, hlc));
    }

    /// Joins another replica's state: per element, the decision with the later clock (at
    /// equal clocks, a removal). Then forgets the oldest removals past [`MAX_SET_REMOVED`].
    pub fn merge(&mut self, other: &SetState) {
        for (v, theirs) in &other.elements {
            match self.elements.get_mut(v) {
                Some(mine) => {
                    if later(theirs, mine) {
                        *mine = theirs.clone();
                    }
                }
                None => {
                    self.elements.insert(v.clone(), theirs.clone());
                }
            }
        }
        self.forget();
    }

    fn forget(&mut self) {
        let removed = self.elements.values().filter(|e| !e.present).count();
        if removed <= MAX_SET_REMOVED {
            return;
        }
        let mut by_age: Vec<(Hlc, String)> = self
            .elements
            .iter()
            .filter(|(_, e)| !e.present)
            .map(|(k, e)| (e.hlc.clone(), k.clone()))
            .collect();
        by_age.sort();
        for (_, k) in by_age.into_iter().take(removed - MAX_SET_REMOVED) {
            self.elements.remove(&k);
        }
    }
}

/// True when decision `a` wins over `b`: a later clock, or a removal at an equal one.
fn later(a: &Element, b: &Element) -> bool {
    a.hlc > b.hlc || (a.hlc == b.hlc && !a.present && b.present)
}

/// A register field's state: its value and the clock of the change that set it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterState {
    /// The value (JSON: a field's own type).
    pub value: serde_json::Value,
    /// The clock of the change that set it.
    pub hlc: Hlc,
}

impl RegisterState {
    /// Joins another replica's state: the later clock wins. At equal clocks (one change)
    /// the values are equal; should a hostile device send two, the larger JSON text wins,
    /// so every replica still agrees.
    pub fn merge(&mut self, other: &RegisterState) {
        let wins = other.hlc > self.hlc || (other.hlc == self.hlc && json_gt(other, self));
        if wins {
            *self = other.clone();
        }
    }
}

fn json_gt(a: &RegisterState, b: &RegisterState) -> bool {
    let (a, b) = (a.value.to_string(), b.value.to_string());
    a > b
}

/// One field's state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum FieldState {
    /// A [`Rule::Set`] field.
    Set(SetState),
    /// A [`Rule::Register`] field.
    Register(RegisterState),
}

/// What a change does to one field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum FieldEdit {
    /// A [`Rule::Set`] field's adds and removes.
    Set(SetEdit),
    /// A [`Rule::Register`] field's new value.
    Register(serde_json::Value),
}

/// When a change's edit of one field was made, when that was before the change's own
/// clock: a device sends its pending field edits with its next change of the note, and
/// each keeps the clock of the moment it was made, so a later edit of the text does not
/// make an old tag removal newer than another device's re-add made in between.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum EditClock {
    /// A [`Rule::Register`] field's edit clock.
    Register(Hlc),
    /// A [`Rule::Set`] field's, by element (an element not named: the change's clock).
    Set(BTreeMap<String, Hlc>),
}

/// The clocks of a change's field edits made before its own clock, by field name
/// (`Change::edit_clocks`; a field not named: the change's clock).
pub type EditClocks = BTreeMap<String, EditClock>;

/// Checks a change's `clocks` against its `edits` and own clock `hlc`: each names a field
/// edited and of its kind (a set's: elements the edit adds or removes), and is this device's
/// (`hlc`'s node) and not later than `hlc` (a clock is only ever earlier: a change cannot
/// reach past the server's clock check through it).
pub fn check_clocks(
    edits: &BTreeMap<String, FieldEdit>,
    clocks: &EditClocks,
    hlc: &Hlc,
) -> Result<(), FieldError> {
    let ok = |h: &Hlc| h.node == hlc.node && h <= hlc;
    for (name, clock) in clocks {
        let fine = match (edits.get(name), clock) {
            (Some(FieldEdit::Register(_)), EditClock::Register(h)) => ok(h),
            (Some(FieldEdit::Set(e)), EditClock::Set(hs)) => hs
                .iter()
                .all(|(v, h)| (e.add.contains(v) || e.remove.contains(v)) && ok(h)),
            _ => false,
        };
        if !fine {
            return Err(FieldError::Clock(name.chars().take(64).collect()));
        }
    }
    Ok(())
}

/// Why a field edit is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    /// No such field is declared.
    #[error("unknown field `{0}`")]
    Unknown(String),
    /// The edit's kind does not match the field's rule.
    #[error("field `{0}` takes a different kind of value")]
    Kind(&'static str),
    /// A value is longer than the field allows.
    #[error("a value of field `{0}` is longer than {1} bytes")]
    TooLong(&'static str, usize),
    /// The edit names more elements than the field may hold.
    #[error("field `{0}` holds at most {1} elements")]
    TooMany(&'static str, usize),
    /// A value is not of the field's type ([`ValueType`]).
    #[error("a value of field `{0}` is not of its type")]
    Type(&'static str),
    /// The edit gives an existing record another kind.
    #[error("a record's kind is set when it is created")]
    KindChanged,
    /// A field edit's clock names no edit of the change, or is another device's or later
    /// than the change's.
    #[error("the clock of field `{0}`'s edit is not one of this change's edits, or is later")]
    Clock(String),
}

/// Checks one edit of field `name` against its declaration.
pub fn check(name: &str, edit: &FieldEdit) -> Result<&'static FieldDef, FieldError> {
    let d = def(name).ok_or_else(|| FieldError::Unknown(name.chars().take(64).collect()))?;
    match (d.rule, edit) {
        (Rule::Set, FieldEdit::Set(e)) => {
            if e.add.len() + e.remove.len() > 2 * d.max_items {
                return Err(FieldError::TooMany(d.name, d.max_items));
            }
            if e.add
                .iter()
                .chain(&e.remove)
                .any(|v| v.len() > d.max_bytes || v.is_empty())
            {
                return Err(FieldError::TooLong(d.name, d.max_bytes));
            }
            if !e
                .add
                .iter()
                .chain(&e.remove)
                .all(|v| d.value.admits(&serde_json::Value::String(v.clone())))
            {
                return Err(FieldError::Type(d.name));
            }
        }
        (Rule::Register, FieldEdit::Register(v)) => {
            if v.to_string().len() > d.max_bytes {
                return Err(FieldError::TooLong(d.name, d.max_bytes));
            }
            if !d.value.admits(v) {
                return Err(FieldError::Type(d.name));
            }
        }
        _ => return Err(FieldError::Kind(d.name)),
    }
    Ok(d)
}

/// The fields of one note: name to state. Fields never set are absent.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fields(pub BTreeMap<String, FieldState>);

impl Fields {
    /// True when no field was ever set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The state the edits of one change alone describe, made at `hlc`. Edits that do not
    /// match their declaration are skipped (the server refuses such a change first, with
    /// [`check`]).
    pub fn of_edits(edits: &BTreeMap<String, FieldEdit>, hlc: &Hlc) -> Self {
        Self::of_edits_at(edits, &EditClocks::new(), hlc)
    }

    /// [`Fields::of_edits`], each edit made at its clock in `clocks` (if named there).
    pub fn of_edits_at(
        edits: &BTreeMap<String, FieldEdit>,
        clocks: &EditClocks,
        hlc: &Hlc,
    ) -> Self {
        let mut out = BTreeMap::new();
        for (name, edit) in edits {
            let Ok(d) = check(name, edit) else { continue };
            let state = match (edit, clocks.get(name)) {
                (FieldEdit::Set(e), Some(EditClock::Set(at))) => {
                    FieldState::Set(SetState::of_edit_at(e, Some(at), hlc))
                }
                (FieldEdit::Set(e), _) => FieldState::Set(SetState::of_edit(e, hlc)),
                (FieldEdit::Register(v), at) => FieldState::Register(RegisterState {
                    value: v.clone(),
                    hlc: match at {
                        Some(EditClock::Register(at)) => at.clone(),
                        _ => hlc.clone(),
                    },
                }),
            };
            out.insert(d.name.to_owned(), state);
        }
        Self(out)
    }

    /// Applies the field edits of a change made at `hlc`.
    pub fn apply(&mut self, edits: &BTreeMap<String, FieldEdit>, hlc: &Hlc) {
        self.merge(&Self::of_edits(edits, hlc));
    }

    /// Joins another replica's fields, field by field.
    pub fn merge(&mut self, other: &Fields) {
        for (name, theirs) in &other.0 {
            match (self.0.get_mut(name), theirs) {
                (None, t) => {
                    self.0.insert(name.clone(), t.clone());
                }
                (Some(FieldState::Set(m)), FieldState::Set(t)) => m.merge(t),
                (Some(FieldState::Register(m)), FieldState::Register(t)) => m.merge(t),
                // A field's rule never changes; a state of the wrong kind (a hostile
                // replica) is ignored, so it cannot displace a good one.
                (Some(_), _) => {}
            }
        }
    }

    /// The elements of set field `name` (empty when never set).
    pub fn set(&self, name: &str) -> BTreeSet<String> {
        match self.0.get(name) {
            Some(FieldState::Set(s)) => s.values(),
            _ => BTreeSet::new(),
        }
    }

    /// The latest clock of any field's last edit (`None`: no field set). A device stamps
    /// its next edit of the note after it, so the edit wins over every state it has seen.
    pub fn latest(&self) -> Option<&Hlc> {
        self.0
            .values()
            .flat_map(|f| -> Box<dyn Iterator<Item = &Hlc> + '_> {
                match f {
                    FieldState::Set(s) => Box::new(s.elements.values().map(|e| &e.hlc)),
                    FieldState::Register(r) => Box::new(std::iter::once(&r.hlc)),
                }
            })
            .max()
    }

    /// The record's kind (a note when never set, or set to a kind this build does not
    /// know: a newer client's record is shown as a note rather than lost).
    pub fn kind(&self) -> Kind {
        serde_json::from_value(self.register("kind")).unwrap_or_default()
    }

    /// A register field's value as a string id (`None` when never set, `null` or not a
    /// string): the `notebook` of a note, the `parent` of a notebook.
    pub fn id(&self, name: &str) -> Option<String> {
        match self.register(name) {
            serde_json::Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// Register `created`: when the note was created, in milliseconds since the Unix epoch
    /// (`None`: never set, or not a whole non-negative number).
    pub fn created_ms(&self) -> Option<u64> {
        self.register("created").as_u64()
    }

    /// True when register `pinned` is `true`.
    pub fn pinned(&self) -> bool {
        self.register("pinned") == serde_json::Value::Bool(true)
    }

    /// Checks that applying `edits` keeps every set within its declared size: the
    /// elements present afterwards (the edit alone is bounded by [`check`]; many edits
    /// together must be bounded too). The server refuses a change that would pass it.
    pub fn check_apply(
        &self,
        edits: &BTreeMap<String, FieldEdit>,
        clocks: &EditClocks,
        hlc: &Hlc,
    ) -> Result<(), FieldError> {
        match self.over_limit(edits, clocks, hlc).first() {
            Some(d) => Err(FieldError::TooMany(d.name, d.max_items)),
            None => Ok(()),
        }
    }

    /// The set fields `edits` edit that applying them would take past their declared size
    /// (elements present afterwards): many changes together, each within [`check`], may.
    pub fn over_limit(
        &self,
        edits: &BTreeMap<String, FieldEdit>,
        clocks: &EditClocks,
        hlc: &Hlc,
    ) -> Vec<&'static FieldDef> {
        let mut after = self.clone();
        after.merge(&Self::of_edits_at(edits, clocks, hlc));
        FIELDS
            .iter()
            .filter(|d| d.rule == Rule::Set)
            .filter(|d| edits.contains_key(d.name) && after.set(d.name).len() > d.max_items)
            .collect()
    }

    /// Checks that `edits` keep the kind of the existing record these fields belong to: a
    /// kind is set when the record is created. Changed later, a note would vanish from
    /// every device's list (a hostile client's `{"kind": "tag"}`), or a notebook would
    /// turn into a note. An edit that names the kind the record has (a creation sent again
    /// under a new change id) passes.
    pub fn check_kind(&self, edits: &BTreeMap<String, FieldEdit>) -> Result<(), FieldError> {
        match edits.get("kind") {
            Some(FieldEdit::Register(v))
                if serde_json::from_value::<Kind>(v.clone()).ok() != Some(self.kind()) =>
            {
                Err(FieldError::KindChanged)
            }
            _ => Ok(()),
        }
    }

    /// The value of register field `name` (`null` when never set).
    pub fn register(&self, name: &str) -> serde_json::Value {
        match self.0.get(name) {
            Some(FieldState::Register(r)) => r.value.clone(),
            _ => serde_json::Value::Null,
        }
    }
}
