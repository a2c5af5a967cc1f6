//! Organising notes: tags, notebooks and pinning ([`Notes::add_tag`], [`Notes::set_notebook`],
//! [`Notes::set_pinned`], ...), and the notebook and tag records themselves.
//!
//! Each is a field edit ([`sync_core::fields`]) queued on the note like a text edit: durable
//! and pending when the method returns, pushed with the note's next change, merged by the
//! field's rule with what other devices did meanwhile. Notebooks and tags are records of
//! their own (register `kind`), their name the record's title: renaming one is one edit of
//! one record, however many notes use it. A note names its notebook and tags by record id;
//! one naming a record deleted since shows it as "no notebook" / without that tag
//! ([`Notes::notebook_of`], [`Notes::tags_of`]), and gets it back if the record is restored.

use std::collections::BTreeSet;

use sync_core::fields::{self, EditClock, FieldEdit, Kind, SetEdit};
use sync_core::{NoteId, Strategy};

use super::{LocalNote, LocalStore, Notes, StoreError};

/// Adds `edit` of field `name` to the note's pending field edits: a set edit combines with
/// the pending one (the later add or remove of an element wins), a register's value
/// replaces it. False (nothing queued) when the result breaks the field's declared limits.
fn queue(n: &mut LocalNote, name: &str, edit: FieldEdit) -> bool {
    let edit_names: Option<BTreeSet<String>> = match &edit {
        FieldEdit::Set(e) => Some(e.add.iter().chain(&e.remove).cloned().collect()),
        FieldEdit::Register(_) => None,
    };
    let combined = match (n.field_edits.get(name), edit) {
        (Some(FieldEdit::Set(old)), FieldEdit::Set(new)) => {
            let mut e = old.clone();
            for v in new.add {
                e.remove.remove(&v);
                e.add.insert(v);
            }
            for v in new.remove {
                e.add.remove(&v);
                e.remove.insert(v);
            }
            FieldEdit::Set(e)
        }
        (_, edit) => edit,
    };
    if fields::check(name, &combined).is_err() {
        return false;
    }
    // The elements this edit names are made now: at the note's new stamp, so their
    // earlier clocks go.
    let mut clocks = n.edit_clocks.clone();
    match (&edit_names, clocks.get_mut(name)) {
        (Some(names), Some(EditClock::Set(at))) => at.retain(|v, _| !names.contains(v)),
        (_, Some(_)) => {
            clocks.remove(name);
        }
        (_, None) => {}
    }
    let mut edits = n.field_edits.clone();
    edits.insert(name.to_owned(), combined);
    if n.fields.check_apply(&edits, &clocks, &n.hlc).is_err() {
        return false;
    }
    n.field_edits = edits;
    n.edit_clocks = clocks;
    n.tidy_edit_clocks();
    true
}

fn one(v: &NoteId) -> BTreeSet<String> {
    BTreeSet::from([v.0.clone()])
}

impl<S: LocalStore> Notes<S> {
    /// Queues a field edit of note `id` unless it changes nothing shown or breaks a limit
    /// (then the note is returned as it is).
    async fn edit_field(
        &self,
        id: &NoteId,
        name: &str,
        edit: FieldEdit,
    ) -> Result<Option<LocalNote>, StoreError> {
        self.change_if(id, |n| {
            let shown = n.shown_fields();
            let changes = match &edit {
                FieldEdit::Set(e) => {
                    let now = shown.set(name);
                    e.add.iter().any(|v| !now.contains(v))
                        || e.remove.iter().any(|v| now.contains(v))
                }
                FieldEdit::Register(v) => shown.register(name) != *v,
            };
            // The queued edit applies at the note's new stamp, later than every field
            // clock the device has seen (`Notes::change_if`); the edits queued before keep
            // their own clocks.
            changes && queue(n, name, edit.clone())
        })
        .await
    }

    /// Tags note `id` with tag record `tag`.
    pub async fn add_tag(
        &self,
        id: &NoteId,
        tag: &NoteId,
    ) -> Result<Option<LocalNote>, StoreError> {
        let edit = SetEdit {
            add: one(tag),
            remove: BTreeSet::new(),
        };
        self.edit_field(id, "tags", FieldEdit::Set(edit)).await
    }

    /// Removes tag `tag` from note `id`.
    pub async fn remove_tag(
        &self,
        id: &NoteId,
        tag: &NoteId,
    ) -> Result<Option<LocalNote>, StoreError> {
        let edit = SetEdit {
            add: BTreeSet::new(),
            remove: one(tag),
        };
        self.edit_field(id, "tags", FieldEdit::Set(edit)).await
    }

    /// Gives note `id` exactly the tags `tags` (as the adds and removes from what it shows).
    pub async fn set_tags(
        &self,
        id: &NoteId,
        tags: &BTreeSet<NoteId>,
    ) -> Result<Option<LocalNote>, StoreError> {
        let Some(n) = self.store.get(id).await? else {
            return Ok(None);
        };
        let wanted = tags.iter().map(|t| t.0.clone()).collect();
        let edit = SetEdit::between(&n.tag_ids(), &wanted);
        self.edit_field(id, "tags", FieldEdit::Set(edit)).await
    }

    /// Moves note `id` into notebook `notebook` (`None`: out of every notebook).
    pub async fn set_notebook(
        &self,
        id: &NoteId,
        notebook: Option<&NoteId>,
    ) -> Result<Option<LocalNote>, StoreError> {
        let v = notebook.map_or(serde_json::Value::Null, |nb| nb.0.clone().into());
        self.edit_field(id, "notebook", FieldEdit::Register(v))
            .await
    }

    /// Pins or unpins note `id`.
    pub async fn set_pinned(
        &self,
        id: &NoteId,
        pinned: bool,
    ) -> Result<Option<LocalNote>, StoreError> {
        self.edit_field(id, "pinned", FieldEdit::Register(pinned.into()))
            .await
    }

    /// Creates a notebook named `name` inside `parent` (`None`: at the top level).
    pub async fn create_notebook(
        &self,
        name: &str,
        parent: Option<&NoteId>,
    ) -> Result<LocalNote, StoreError> {
        let n = self.new_notebook(name, parent).await?;
        self.store.put(&n).await?;
        Ok(n)
    }

    /// A new notebook record, pending, not stored yet (an import stores it with its batch).
    pub(crate) async fn new_notebook(
        &self,
        name: &str,
        parent: Option<&NoteId>,
    ) -> Result<LocalNote, StoreError> {
        let mut n = self.new_record(name, Kind::Notebook).await?;
        if let Some(p) = parent {
            queue(&mut n, "parent", FieldEdit::Register(p.0.clone().into()));
        }
        Ok(n)
    }

    /// Creates a tag named `name`.
    pub async fn create_tag(&self, name: &str) -> Result<LocalNote, StoreError> {
        let n = self.new_tag(name).await?;
        self.store.put(&n).await?;
        Ok(n)
    }

    /// A new tag record, pending, not stored yet (an import stores it with its batch).
    pub(crate) async fn new_tag(&self, name: &str) -> Result<LocalNote, StoreError> {
        self.new_record(name, Kind::Tag).await
    }

    /// A new notebook or tag record. Its strategy is `merge`, set explicitly (not the
    /// server's default): its text is its name only, so concurrent renames go to the later
    /// one and a rename wins over a concurrent delete (a notebook still in use is not lost),
    /// never a conflict, which no view shows for records (under a `manual` default, it
    /// would wait unseen). Last-write-wins would settle renames alike, but would let a
    /// delete win over a concurrent rename by clock alone.
    async fn new_record(&self, name: &str, kind: Kind) -> Result<LocalNote, StoreError> {
        let mut n = self.new_local(name, "").await?;
        queue(&mut n, "kind", FieldEdit::Register(kind.value()));
        n.strategy = Strategy::Merge;
        n.strategy_changed = true;
        Ok(n)
    }

    /// Renames notebook or tag `id`: one edit of its record (its title), whatever the
    /// number of notes in it; merged with a concurrent rename like a title.
    pub async fn rename(&self, id: &NoteId, name: &str) -> Result<Option<LocalNote>, StoreError> {
        self.change_if(id, |n| {
            if n.title == name || n.deleted {
                return false;
            }
            n.title = name.to_owned();
            true
        })
        .await
    }

    /// Moves notebook `id` into notebook `parent` (`None`: to the top level). A move that
    /// would put a notebook inside itself (directly or below) is not made.
    pub async fn move_notebook(
        &self,
        id: &NoteId,
        parent: Option<&NoteId>,
    ) -> Result<Option<LocalNote>, StoreError> {
        if let Some(p) = parent {
            let notebooks = self.records(Kind::Notebook).await?;
            let mut at = Some(p.clone());
            let mut hops = 0;
            while let Some(a) = at {
                if a == *id {
                    return self.store.get(id).await;
                }
                hops += 1;
                if hops > notebooks.len() {
                    break; // a cycle made concurrently elsewhere: nothing above
                }
                at = notebooks
                    .iter()
                    .find(|n| n.id == a)
                    .and_then(LocalNote::notebook_id);
            }
        }
        let v = parent.map_or(serde_json::Value::Null, |p| p.0.clone().into());
        self.edit_field(id, "parent", FieldEdit::Register(v)).await
    }

    /// The live records of `kind` (notebooks or tags), by name.
    pub async fn records(&self, kind: Kind) -> Result<Vec<LocalNote>, StoreError> {
        let mut out: Vec<LocalNote> = self
            .store
            .list()
            .await?
            .into_iter()
            .filter(|n| !n.deleted && n.kind() == kind)
            .collect();
        out.sort_by(|a, b| a.title.cmp(&b.title).then_with(|| a.id.cmp(&b.id)));
        Ok(out)
    }

    /// The notebook note `n` is in: `None` when it is in none, or its notebook was deleted
    /// (shown as "no notebook"; the note keeps the id, so restoring the notebook brings it
    /// back).
    pub async fn notebook_of(&self, n: &LocalNote) -> Result<Option<LocalNote>, StoreError> {
        let Some(id) = n.notebook_id() else {
            return Ok(None);
        };
        Ok(self
            .store
            .get(&id)
            .await?
            .filter(|nb| !nb.deleted && nb.kind() == Kind::Notebook))
    }

    /// The notebook notebook `nb` is inside: `None` at the top level, when its parent was
    /// deleted, or when it is in a cycle (two devices each moved one notebook into the
    /// other at once): the notebooks of a cycle are shown at the top level.
    pub async fn parent_of(&self, nb: &LocalNote) -> Result<Option<LocalNote>, StoreError> {
        let notebooks = self.records(Kind::Notebook).await?;
        let find = |id: &NoteId| notebooks.iter().find(|n| n.id == *id);
        let Some(parent) = nb.notebook_id().as_ref().and_then(find) else {
            return Ok(None);
        };
        // Walk up from the parent: meeting `nb` again is a cycle.
        let mut at = Some(parent);
        for _ in 0..=notebooks.len() {
            match at {
                None => return Ok(Some(parent.clone())),
                Some(a) if a.id == nb.id => return Ok(None),
                Some(a) => at = a.notebook_id().as_ref().and_then(find),
            }
        }
        // A cycle above that does not pass through `nb`: its parent is still its parent.
        Ok(Some(parent.clone()))
    }

    /// The tags of note `n` whose records are live (a deleted tag is not shown), by name.
    pub async fn tags_of(&self, n: &LocalNote) -> Result<Vec<LocalNote>, StoreError> {
        let mut out = Vec::new();
        for t in n.tag_ids() {
            if let Some(tag) = self
                .store
                .get(&NoteId(t))
                .await?
                .filter(|t| !t.deleted && t.kind() == Kind::Tag)
            {
                out.push(tag);
            }
        }
        out.sort_by(|a, b| a.title.cmp(&b.title));
        Ok(out)
    }
}
