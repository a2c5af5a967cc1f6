//! The editor's state machine ([`client::editor::EditorModel`]) under random interleavings
//! of everything that can reach it, checked after every step against a reference.
//!
//! Each case is a schedule drawn from a seed: a user typing words into one tab (keystroke
//! by keystroke, at the end of the text, at the start of a line or in the title), clicking
//! the open note, other notes and "New note", asking for a save at once, resolving
//! conflicts, restoring a note deleted underneath and deleting the open note; between any two keystrokes the save
//! debounce fires, saves write to the store and answer later, reads of the store land (or
//! are overtaken by newer ones), and, in the modes with company, a second tab of the same
//! browser types into the same notes and another device's edits and deletes land in the
//! store (a pull); at any point the store may fail its next few writes (a full disk), and
//! the retry timers fire. The store is a small reference of the local store: a save is
//! planned with [`client::editor::plan_save`] on the note as it is when the save writes, as
//! `Notes::save_editor` does (a revive of a deleted note undeletes it with the typing, as
//! `Notes::revive_editor` does), and every text a note ever held is its history.
//!
//! After every step:
//! - the model's text is what the fields show;
//! - the caret is in its field, and a word being typed is right before it (typing goes on
//!   where the user is);
//! - every word typed so far is somewhere: in the fields, in a save under way or waiting,
//!   or in a note's text, its conflict versions or its history (also when its note was
//!   deleted underneath a save of it, or the store failed the save);
//! - a save the store failed leaves the label saying so.
//!
//! Once the schedule ends and everything pending has landed:
//! - each tab's open note in the store is what its fields show;
//! - every word typed is in its own note's text or its conflict versions (or, for a note
//!   the user resolved or another device deleted, in its history, or in the fields of the
//!   tab showing that delete);
//! - the label says neither "Saving" nor a failure;
//! - with one tab and no other device, no note ever has a conflict: a tab's own typing
//!   never conflicts with itself.
//!
//! `TERN_EDITOR_CASES` sets the number of cases (2,000 here; `scripts/editor-model.sh` runs
//! 100,000), `TERN_EDITOR_BASE_SEED` the first seed, `TERN_EDITOR_SEED` replays one case
//! (a failure prints its seed and the steps that led to it).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};

/// How often the rarer paths ran over all cases (printed, so a change to the schedule that
/// stops reaching them shows): saves that found their note deleted, revives written, saves
/// the store failed, retries fired.
static FOUND_DELETED: AtomicU64 = AtomicU64::new(0);
static REVIVED: AtomicU64 = AtomicU64::new(0);
static FAILED: AtomicU64 = AtomicU64::new(0);
static RETRIED: AtomicU64 = AtomicU64::new(0);

fn count(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

use client::editor::{
    Caret, EditorModel, Effect, Event, Field, Save, SaveLabel, SavePlan, SaveResult, Stored,
    Target, plan_save,
};
use sync_core::Text;

/// SplitMix64: small, seeded, the same everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn percent(&mut self, p: u64) -> bool {
        self.next() % 100 < p
    }
}

fn text(title: &str, content: &str) -> Text {
    Text {
        title: title.into(),
        content: content.into(),
    }
}

fn field(t: &Text, f: Field) -> &String {
    match f {
        Field::Title => &t.title,
        Field::Content => &t.content,
    }
}

fn field_mut(t: &mut Text, f: Field) -> &mut String {
    match f {
        Field::Title => &mut t.title,
        Field::Content => &mut t.content,
    }
}

/// A note of the reference store.
#[derive(Clone, Debug)]
struct Note {
    text: Text,
    deleted: bool,
    conflicts: Vec<Text>,
    /// Every text it ever held, conflict versions included.
    history: Vec<Text>,
    /// The user chose a version (the others are in its history).
    resolved: bool,
    /// Another device deleted it at some point.
    removed: bool,
    /// The tab that deleted it, while it stays deleted.
    deleted_by: Option<char>,
}

impl Note {
    fn has(&self, w: &str) -> bool {
        let t = &self.text;
        t.title.contains(w) || t.content.contains(w) || self.conflicts_have(w)
    }
    fn conflicts_have(&self, w: &str) -> bool {
        self.conflicts
            .iter()
            .any(|c| c.title.contains(w) || c.content.contains(w))
    }
    fn ever_had(&self, w: &str) -> bool {
        self.has(w)
            || self
                .history
                .iter()
                .any(|c| c.title.contains(w) || c.content.contains(w))
    }
}

/// The local store the tabs share.
#[derive(Default)]
struct Store {
    notes: BTreeMap<String, Note>,
    next: u64,
    /// The next this many writes fail (a full disk, a blocked IndexedDB).
    failing: u32,
}

impl Store {
    fn create(&mut self, t: Text) -> String {
        self.next += 1;
        let id = format!("n{}", self.next);
        self.notes.insert(
            id.clone(),
            Note {
                text: t.clone(),
                deleted: false,
                conflicts: Vec::new(),
                history: vec![t],
                resolved: false,
                removed: false,
                deleted_by: None,
            },
        );
        id
    }

    fn set(&mut self, id: &str, t: Text) {
        let n = self.notes.get_mut(id).expect("a stored note");
        n.deleted_by = None;
        n.history.push(t.clone());
        n.text = t;
    }

    /// `Notes::save_editor` (and `Notes::create` for a new note), in reference form.
    fn save(&mut self, s: &Save) -> SaveResult {
        if self.failing > 0 {
            self.failing -= 1;
            count(&FAILED);
            return SaveResult::Failed("the disk is full".into());
        }
        let id = match &s.target {
            Target::New(_) => {
                let id = self.create(s.text.clone());
                return SaveResult::Written {
                    id,
                    stored: s.text.clone(),
                };
            }
            Target::Note(id) => id.clone(),
        };
        let n = self.notes.get(&id).expect("saved notes exist");
        if s.revive && n.deleted {
            // `Notes::revive_editor`: back, with the typing.
            count(&REVIVED);
            self.notes.get_mut(&id).expect("there").deleted = false;
            self.set(&id, s.text.clone());
            return SaveResult::Written {
                id,
                stored: s.text.clone(),
            };
        }
        let stored = if n.deleted {
            Stored::Deleted
        } else {
            Stored::Live(&n.text)
        };
        match plan_save(&s.base, &s.text, stored) {
            SavePlan::Deleted => {
                count(&FOUND_DELETED);
                SaveResult::Deleted
            }
            SavePlan::Nothing => SaveResult::Written {
                stored: n.text.clone(),
                id,
            },
            SavePlan::Write(t) => {
                self.set(&id, t.clone());
                SaveResult::Written { id, stored: t }
            }
            SavePlan::WriteWithConflict { theirs } => {
                let n = self.notes.get_mut(&id).expect("there");
                n.conflicts.push(theirs);
                self.set(&id, s.text.clone());
                SaveResult::Conflict {
                    id,
                    stored: s.text.clone(),
                }
            }
        }
    }
}

/// A word typed (or being typed) by a tab.
#[derive(Clone, Debug)]
struct Word {
    /// The whole word, with its leading space.
    word: String,
    /// Bytes typed so far.
    typed: usize,
    field: Field,
    /// The note it is typed into.
    target: Target,
}

impl Word {
    fn so_far(&self) -> &str {
        &self.word[..self.typed]
    }
}

/// A read of the store as `AppState::refresh` makes it.
#[derive(Clone, Debug)]
struct Read {
    notes: BTreeMap<String, Option<Text>>,
    read_at: u64,
}

/// One tab: the model, the fields (the DOM), and what the app has under way for it.
struct Tab {
    name: char,
    m: EditorModel,
    dom: Text,
    caret: Caret,
    timers: VecDeque<u64>,
    /// Retry timers ([`Effect::Retry`]).
    retries: VecDeque<u64>,
    /// The save under way, and its answer once it wrote.
    save: Option<(Save, Option<SaveResult>)>,
    restore: Option<(String, Text)>,
    reads: VecDeque<Read>,
    /// The list as last read: text, and the model's writes when that read began.
    list: BTreeMap<String, (Text, u64)>,
    word: Option<Word>,
    words: Vec<Word>,
    new_ids: HashMap<Target, String>,
    notices: Vec<String>,
    /// The texts "Undo" offered after this tab's deletes.
    undo: Vec<Text>,
    saw_conflict: bool,
    count: u32,
}

impl Tab {
    fn new(name: char) -> Self {
        Self {
            name,
            m: EditorModel::new(),
            dom: text("", ""),
            caret: Caret {
                field: Field::Title,
                start: 0,
                end: 0,
            },
            timers: VecDeque::new(),
            retries: VecDeque::new(),
            save: None,
            restore: None,
            reads: VecDeque::new(),
            list: BTreeMap::new(),
            word: None,
            words: Vec::new(),
            new_ids: HashMap::new(),
            notices: Vec::new(),
            undo: Vec::new(),
            saw_conflict: false,
            count: 0,
        }
    }

    fn send(&mut self, ev: Event, log: &mut Vec<String>) {
        log.push(format!("{}: {ev:?}", self.name));
        let failed = matches!(
            ev,
            Event::Saved {
                result: SaveResult::Failed(_),
                ..
            }
        );
        let fx = self.m.step(ev);
        if failed && !self.m.deleted() {
            assert!(
                matches!(self.m.label(), SaveLabel::Failed(_)),
                "a failed save, and the label says {:?}",
                self.m.label()
            );
        }
        for e in fx {
            log.push(format!("{}   -> {e:?}", self.name));
            match e {
                Effect::Show { text, caret } => {
                    let changed =
                        field(&text, self.caret.field) != field(&self.dom, self.caret.field);
                    self.dom = text;
                    self.caret = match caret {
                        Some(c) => c,
                        // A field given a new value puts the caret at its end.
                        None if changed => {
                            let end = field(&self.dom, self.caret.field).len();
                            Caret {
                                field: self.caret.field,
                                start: end,
                                end,
                            }
                        }
                        None => self.caret,
                    };
                }
                Effect::Debounce(g) => self.timers.push_back(g),
                Effect::Retry { generation, .. } => self.retries.push_back(generation),
                Effect::Save(s) => {
                    assert!(self.save.is_none(), "two saves at once");
                    self.save = Some((s, None));
                }
                Effect::Restore { id, text } => self.restore = Some((id, text)),
                Effect::Notice(n) => self.notices.push(n),
            }
        }
        if *self.m.label() == SaveLabel::Conflict {
            self.saw_conflict = true;
        }
    }

    fn busy(&self) -> bool {
        !self.timers.is_empty()
            || !self.retries.is_empty()
            || self.save.is_some()
            || self.restore.is_some()
            || !self.reads.is_empty()
    }

    fn start_read(&mut self, store: &Store) {
        // A create's answer comes with its write: the tab's list never shows the note
        // before the editor knows it made it.
        let creating = match &self.save {
            Some((s, Some(SaveResult::Written { id, .. })))
                if matches!(s.target, Target::New(_)) =>
            {
                Some(id.clone())
            }
            _ => None,
        };
        let notes = store
            .notes
            .iter()
            .filter(|(id, _)| Some(*id) != creating.as_ref())
            .map(|(id, n)| (id.clone(), (!n.deleted).then(|| n.text.clone())))
            .collect();
        self.reads.push_back(Read {
            notes,
            read_at: self.m.writes(),
        });
    }

    fn resolve(&self, t: &Target) -> Option<String> {
        match t {
            Target::Note(id) => Some(id.clone()),
            Target::New(_) => self.new_ids.get(t).cloned(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// One tab, nobody else: nothing may ever conflict.
    Solo,
    /// One tab and another device.
    Remote,
    /// Two tabs and another device.
    Crowd,
}

struct World {
    rng: Rng,
    mode: Mode,
    store: Store,
    tabs: Vec<Tab>,
    log: Vec<String>,
    remote: u32,
    /// Store failures were injected (a notice may say so).
    failures: bool,
    /// A broken rule seen while carrying out an effect (reported by the next check).
    bug: Option<String>,
}

impl World {
    fn new(seed: u64) -> Self {
        let mut rng = Rng(seed);
        let mode = match rng.below(3) {
            0 => Mode::Solo,
            1 => Mode::Remote,
            _ => Mode::Crowd,
        };
        let mut store = Store::default();
        // A few notes to start with, read by every tab.
        for i in 0..1 + rng.below(3) {
            store.create(text(&format!("T{i}"), &format!("line{i} one\nline{i} two")));
        }
        let n = if mode == Mode::Crowd { 2 } else { 1 };
        let mut tabs: Vec<Tab> = (0..n).map(|i| Tab::new((b'a' + i as u8) as char)).collect();
        for t in &mut tabs {
            t.start_read(&store);
        }
        let mut w = Self {
            rng,
            mode,
            store,
            tabs,
            log: Vec::new(),
            remote: 0,
            failures: false,
            bug: None,
        };
        for i in 0..w.tabs.len() {
            w.deliver_read(i);
        }
        w
    }

    fn deliver_read(&mut self, i: usize) {
        let tab = &mut self.tabs[i];
        let Some(read) = tab.reads.pop_front() else {
            return;
        };
        if !tab.reads.is_empty() {
            return; // a newer read is under way (`AppState::refresh` keeps the newest)
        }
        tab.list = read
            .notes
            .iter()
            .filter_map(|(id, t)| Some((id.clone(), (t.clone()?, read.read_at))))
            .collect();
        if let Some(id) = tab.m.open_id().map(str::to_owned)
            && let Some(stored) = read.notes.get(&id)
        {
            let caret = Some(tab.caret);
            tab.send(
                Event::Stored {
                    id,
                    stored: stored.clone(),
                    caret,
                    read_at: read.read_at,
                },
                &mut self.log,
            );
        }
    }

    /// The store changed: the tabs read it again (the page after its own save, the other
    /// tab when told, both after a sync).
    fn reads_after_change(&mut self) {
        for i in 0..self.tabs.len() {
            if self.rng.percent(70) {
                let store = &self.store;
                self.tabs[i].start_read(store);
            }
        }
    }

    /// One keystroke of tab `i` (starting a word where the user puts the caret).
    fn keystroke(&mut self, i: usize) {
        let rng = &mut self.rng;
        let tab = &mut self.tabs[i];
        if tab.m.deleted() {
            if let Some(w) = tab.word.take() {
                tab.words.push(w); // abandoned: the field is read-only now
            }
            return;
        }
        if tab.word.is_none() {
            tab.count += 1;
            let word = format!(" {}{}x", tab.name, tab.count);
            let (f, pos) = match rng.below(10) {
                0 | 1 => (Field::Title, tab.dom.title.len()),
                2 => {
                    // At the start of a line of the text.
                    let c = &tab.dom.content;
                    let starts: Vec<usize> = std::iter::once(0)
                        .chain(c.match_indices('\n').map(|(i, _)| i + 1))
                        .collect();
                    (Field::Content, starts[rng.below(starts.len())])
                }
                _ => (Field::Content, tab.dom.content.len()),
            };
            tab.caret = Caret {
                field: f,
                start: pos,
                end: pos,
            };
            tab.word = Some(Word {
                word,
                typed: 0,
                field: f,
                target: tab.m.target().clone(),
            });
        }
        let w = tab.word.as_mut().expect("a word");
        let ch = w.word[w.typed..].chars().next().expect("more to type");
        let at = tab.caret.start;
        field_mut(&mut tab.dom, w.field).insert(at, ch);
        tab.caret.start = at + ch.len_utf8();
        tab.caret.end = tab.caret.start;
        w.typed += ch.len_utf8();
        let value = field(&tab.dom, w.field).clone();
        let f = w.field;
        if w.typed == w.word.len() {
            let done = tab.word.take().expect("a word");
            tab.words.push(done);
        }
        tab.send(Event::Input { field: f, value }, &mut self.log);
    }

    /// A click of tab `i`: the open note, another, or "New note".
    fn click(&mut self, i: usize) {
        let rng = &mut self.rng;
        let tab = &mut self.tabs[i];
        let ev = match rng.below(10) {
            0..=3 => match tab
                .m
                .open_id()
                .and_then(|id| tab.list.get(id).map(|l| (id, l)))
            {
                Some((id, (t, at))) => Event::Open {
                    id: id.to_owned(),
                    text: t.clone(),
                    read_at: *at,
                },
                None => Event::New,
            },
            4..=7 if !tab.list.is_empty() => {
                let k = rng.below(tab.list.len());
                let (id, (t, at)) = tab.list.iter().nth(k).expect("in range");
                Event::Open {
                    id: id.clone(),
                    text: t.clone(),
                    read_at: *at,
                }
            }
            _ => Event::New,
        };
        tab.send(ev, &mut self.log);
    }

    fn remote_edit(&mut self) {
        let ids: Vec<String> = self.store.notes.keys().cloned().collect();
        let id = &ids[self.rng.below(ids.len())];
        self.remote += 1;
        let r = format!("r{}", self.remote);
        let n = self.store.notes.get(id).expect("there").clone();
        self.log.push(format!("remote: {r} on {id}"));
        match self.rng.below(10) {
            0 if !n.deleted => {
                let note = self.store.notes.get_mut(id).expect("there");
                note.deleted = true;
                note.removed = true;
            }
            0 | 1 if n.deleted => {
                self.store.notes.get_mut(id).expect("there").deleted = false;
                self.store.set(id, n.text.clone());
            }
            _ if n.deleted => {}
            2 => self
                .store
                .set(id, text(&format!("{r} {}", n.text.title), &n.text.content)),
            3..=5 => self
                .store
                .set(id, text(&n.text.title, &format!("{} {r}", n.text.content))),
            _ => self
                .store
                .set(id, text(&n.text.title, &format!("{r}\n{}", n.text.content))),
        }
        self.reads_after_change();
    }

    /// One step of the schedule: something that may happen now, drawn at random.
    fn step(&mut self) {
        let i = self.rng.below(self.tabs.len());
        match self.rng.below(100) {
            0..=39 => self.keystroke(i),
            40..=47 if self.tabs[i].word.is_none() => self.click(i),
            48..=49 if self.tabs[i].word.is_none() => {
                let tab = &mut self.tabs[i];
                if tab.m.deleted() {
                    tab.send(Event::Restore, &mut self.log);
                } else {
                    tab.send(Event::Flush, &mut self.log);
                }
            }
            50..=51 if self.tabs[i].word.is_none() => self.resolve(i),
            52 if self.tabs[i].word.is_none() => self.close(i),
            62 if self.tabs[i].word.is_none() => self.delete(i),
            53..=59 if self.mode != Mode::Solo => self.remote_edit(),
            60..=61 => {
                // The store fails the next few writes.
                self.store.failing = 1 + self.rng.below(3) as u32;
                self.failures = true;
                self.log
                    .push(format!("store fails {} writes", self.store.failing));
            }
            _ => self.system(i),
        }
    }

    /// A sign-out or a delete closes the editor as `EditorState::close` does: a save now,
    /// wait until every save has landed (asking again while typing is unsaved), then an
    /// empty note.
    fn close(&mut self, i: usize) {
        self.tabs[i].send(Event::Flush, &mut self.log);
        for _ in 0..1_000 {
            if self.tabs[i].m.idle() {
                break;
            }
            if self.tabs[i].m.running().is_none() && self.tabs[i].m.dirty() {
                self.tabs[i].send(Event::Flush, &mut self.log);
            }
            self.drain_one(i);
        }
        assert!(self.tabs[i].m.idle(), "a close never settled");
        self.tabs[i].send(Event::New, &mut self.log);
    }

    /// "Delete" on the open note, as `editor::delete_open` does: every save lands first,
    /// then the note is deleted (a key may be pressed while that is written), its text
    /// goes to "Undo", and the model hears [`Event::DeletedHere`]. For the other tab it is
    /// another tab's delete.
    fn delete(&mut self, i: usize) {
        if self.tabs[i].m.deleted() || self.tabs[i].m.open_id().is_none() {
            return; // no "Delete" button then
        }
        self.tabs[i].send(Event::Flush, &mut self.log);
        for _ in 0..1_000 {
            if self.tabs[i].m.idle() {
                break;
            }
            if self.tabs[i].m.running().is_none() && self.tabs[i].m.dirty() {
                self.tabs[i].send(Event::Flush, &mut self.log);
            }
            self.drain_one(i);
        }
        assert!(self.tabs[i].m.idle(), "a delete never settled");
        let Some(id) = self.tabs[i].m.open_id().map(str::to_owned) else {
            return; // a new note: nothing to delete
        };
        let name = self.tabs[i].name;
        let note = self.store.notes.get_mut(&id).expect("there");
        if note.deleted {
            return;
        }
        note.deleted = true;
        note.removed = true;
        note.deleted_by = Some(name);
        self.log.push(format!("{name}: deleted {id}"));
        if self.rng.percent(30) {
            self.keystroke(i);
        }
        let tab = &mut self.tabs[i];
        if let Some(w) = tab.word.take() {
            tab.words.push(w); // the rest is typed into the next note
        }
        tab.undo.push(tab.m.text().clone());
        // The list drops it at once, and the page reads the store again (`app.changed()`),
        // which overtakes the reads under way.
        tab.list.remove(&id);
        tab.start_read(&self.store);
        tab.send(Event::DeletedHere { id }, &mut self.log);
        self.reads_after_change();
    }

    /// The user picks a version of the open note's conflict.
    fn resolve(&mut self, i: usize) {
        let tab = &mut self.tabs[i];
        let Some(id) = tab.m.open_id().map(str::to_owned) else {
            return;
        };
        let Some(n) = self.store.notes.get_mut(&id) else {
            return;
        };
        if n.conflicts.is_empty() || n.deleted {
            return;
        }
        let k = self.rng.below(n.conflicts.len() + 1);
        let chosen = if k == 0 {
            n.text.clone()
        } else {
            n.conflicts[k - 1].clone()
        };
        n.conflicts.clear();
        n.resolved = true;
        self.store.set(&id, chosen.clone());
        tab.send(
            Event::Chosen {
                id,
                text: chosen,
                label: SaveLabel::Saved,
                caret: Some(tab.caret),
            },
            &mut self.log,
        );
        self.reads_after_change();
    }

    /// Something the app or the browser does for tab `i` (if anything is pending).
    fn system(&mut self, i: usize) {
        let pick = self.rng.below(7);
        self.system_do(i, pick);
    }

    /// What is pending for tab `i`, the first of: a timer, a save's answer, its write, a
    /// restore, a read.
    fn drain_one(&mut self, i: usize) {
        let tab = &self.tabs[i];
        let pick = if !tab.timers.is_empty() {
            0
        } else if matches!(tab.save, Some((_, Some(_)))) {
            2
        } else if tab.save.is_some() {
            1
        } else if tab.restore.is_some() {
            3
        } else if !tab.retries.is_empty() {
            6
        } else {
            5
        };
        self.system_do(i, pick);
    }

    fn system_do(&mut self, i: usize, pick: usize) {
        let tab = &mut self.tabs[i];
        match pick {
            0 => {
                if let Some(g) = tab.timers.pop_front() {
                    tab.send(Event::DebounceFired(g), &mut self.log);
                }
            }
            1 => {
                if let Some((s, None)) = &tab.save {
                    let own = s.target.id().and_then(|id| self.store.notes.get(id));
                    if s.revive && own.is_some_and(|n| n.deleted && n.deleted_by == Some(tab.name))
                    {
                        self.bug.get_or_insert(format!(
                            "{}: its save brings back a note it deleted itself",
                            tab.name
                        ));
                    }
                    let r = self.store.save(s);
                    if let (Target::New(_), SaveResult::Written { id, .. }) = (&s.target, &r) {
                        tab.new_ids.insert(s.target.clone(), id.clone());
                    }
                    self.log
                        .push(format!("{}: store wrote {s:?}: {r:?}", tab.name));
                    tab.save = Some((s.clone(), Some(r)));
                    // Another tab hears of it.
                    for (j, t) in self.tabs.iter_mut().enumerate() {
                        if j != i && self.rng.percent(70) {
                            t.start_read(&self.store);
                        }
                    }
                }
            }
            2 => {
                if let Some((_, Some(_))) = &tab.save {
                    let (s, r) = tab.save.take().expect("there");
                    tab.send(
                        Event::Saved {
                            ticket: s.ticket,
                            result: r.expect("written"),
                            caret: Some(tab.caret),
                        },
                        &mut self.log,
                    );
                    // `app.changed()`: the page reads the store again.
                    tab.start_read(&self.store);
                }
            }
            3 => {
                if let Some((id, t)) = tab.restore.take() {
                    let n = self.store.notes.get_mut(&id).expect("there");
                    n.deleted = false;
                    self.store.set(&id, t.clone());
                    tab.send(
                        Event::Restored {
                            id,
                            text: t,
                            result: Ok(()),
                        },
                        &mut self.log,
                    );
                    self.reads_after_change();
                }
            }
            4 => tab.start_read(&self.store),
            6 => {
                if let Some(g) = tab.retries.pop_front() {
                    count(&RETRIED);
                    tab.send(Event::RetryFired(g), &mut self.log);
                }
            }
            _ => self.deliver_read(i),
        }
    }

    /// Lets everything pending land (no user, no other device), reading the store again
    /// until nothing changes.
    fn settle(&mut self) -> Result<(), String> {
        for i in 0..self.tabs.len() {
            while self.tabs[i].word.is_some() {
                self.keystroke(i);
            }
        }
        for _round in 0..20 {
            for _ in 0..10_000 {
                let Some(i) = (0..self.tabs.len()).find(|&i| self.tabs[i].busy()) else {
                    break;
                };
                self.drain_one(i);
                self.check()?;
            }
            if self.tabs.iter().any(Tab::busy) {
                return Err("never settled".into());
            }
            let store = &self.store;
            for t in &mut self.tabs {
                t.start_read(store);
            }
            let before: Vec<u64> = self.tabs.iter().map(|t| t.m.writes()).collect();
            for i in 0..self.tabs.len() {
                self.deliver_read(i);
            }
            self.check()?;
            let after: Vec<u64> = self.tabs.iter().map(|t| t.m.writes()).collect();
            if before == after && !self.tabs.iter().any(Tab::busy) {
                return Ok(());
            }
        }
        Err("still saving after 20 rounds".into())
    }

    /// The invariants that hold after every step.
    fn check(&self) -> Result<(), String> {
        if let Some(bug) = &self.bug {
            return Err(bug.clone());
        }
        for tab in &self.tabs {
            let n = tab.name;
            if *tab.m.text() != tab.dom {
                return Err(format!(
                    "{n}: the model holds {:?}, the fields {:?}",
                    tab.m.text(),
                    tab.dom
                ));
            }
            let f = field(&tab.dom, tab.caret.field);
            if tab.caret.end > f.len()
                || !f.is_char_boundary(tab.caret.end)
                || tab.caret.start > tab.caret.end
            {
                return Err(format!("{n}: caret {:?} outside {f:?}", tab.caret));
            }
            if let Some(w) = &tab.word
                && w.typed > 0
                && !tab.m.deleted()
            {
                let before = &field(&tab.dom, w.field)[..tab.caret.start];
                if tab.caret.field != w.field || !before.ends_with(w.so_far()) {
                    return Err(format!(
                        "{n}: typing {:?} but the caret is at {:?} of {:?}",
                        w.so_far(),
                        tab.caret,
                        tab.dom
                    ));
                }
            }
            for w in tab.words.iter().chain(&tab.word) {
                let s = w.so_far();
                if s.is_empty() {
                    continue;
                }
                let id = tab.resolve(&w.target);
                let in_dom = tab.dom.title.contains(s)
                    || tab.dom.content.contains(s)
                    || tab
                        .undo
                        .iter()
                        .any(|u| u.title.contains(s) || u.content.contains(s));
                let in_saves = self.tabs.iter().any(|t| {
                    t.m.running()
                        .into_iter()
                        .chain(t.m.queued())
                        .any(|x| x.text.title.contains(s) || x.text.content.contains(s))
                });
                let stored = match &id {
                    Some(id) => self.store.notes[id].ever_had(s),
                    None => false,
                };
                if !(in_dom || in_saves || stored) {
                    return Err(format!(
                        "{n}: typed {s:?} into {:?} ({id:?}), now nowhere",
                        w.target
                    ));
                }
            }
        }
        Ok(())
    }

    /// The invariants once everything landed.
    fn check_end(&self) -> Result<(), String> {
        for tab in &self.tabs {
            let n = tab.name;
            if !tab.m.idle() {
                return Err(format!("{n}: not idle at the end"));
            }
            if matches!(tab.m.label(), SaveLabel::Saving | SaveLabel::Failed(_)) {
                return Err(format!("{n}: still says {:?} at the end", tab.m.label()));
            }
            if let (Some(id), false) = (tab.m.open_id(), tab.m.deleted()) {
                let note = &self.store.notes[id];
                if note.text != tab.dom && !note.deleted {
                    return Err(format!(
                        "{n}: the fields show {:?}, the store holds {:?} for {id}",
                        tab.dom, note.text
                    ));
                }
            }
            if let Some(notice) = tab.notices.first().filter(|_| !self.failures) {
                let removed = tab
                    .words
                    .iter()
                    .filter_map(|w| tab.resolve(&w.target))
                    .any(|id| self.store.notes[&id].removed);
                if !removed {
                    return Err(format!("{n}: notice {notice:?}"));
                }
            }
            for w in &tab.words {
                let s = w.so_far();
                let Some(id) = tab.resolve(&w.target) else {
                    return Err(format!("{n}: typed {s:?} into a new note never created"));
                };
                let note = &self.store.notes[&id];
                // Resolved by the user, or deleted by another device (maybe after the
                // typing brought it back): the typing is in its history, if not in the
                // fields of a tab showing the delete.
                let shown = (tab.m.deleted()
                    && tab.m.open_id() == Some(id.as_str())
                    && (tab.dom.title.contains(s) || tab.dom.content.contains(s)))
                    || tab
                        .undo
                        .iter()
                        .any(|u| u.title.contains(s) || u.content.contains(s));
                let kept = if note.resolved || note.removed {
                    note.ever_had(s) || shown
                } else {
                    note.has(s)
                };
                if !kept {
                    return Err(format!(
                        "{n}: typed {s:?} into {id}, which holds {:?} (conflicts {:?})",
                        note.text, note.conflicts
                    ));
                }
            }
            if self.mode == Mode::Solo && tab.saw_conflict {
                return Err(format!("{n}: a conflict with its own typing"));
            }
        }
        if self.mode == Mode::Solo
            && let Some((id, _)) = self
                .store
                .notes
                .iter()
                .find(|(_, n)| !n.conflicts.is_empty())
        {
            return Err(format!("{id}: a conflict with the tab's own typing"));
        }
        Ok(())
    }
}

fn run_case(seed: u64) -> Result<(), (String, Vec<String>)> {
    let mut log = Vec::new();
    let result = catch_unwind(AssertUnwindSafe(|| {
        let mut w = World::new(seed);
        let steps = 10 + w.rng.below(120);
        let r = (|| {
            w.check()?;
            for _ in 0..steps {
                w.step();
                w.check()?;
            }
            w.settle()?;
            w.check_end()
        })();
        log = std::mem::take(&mut w.log);
        r.map_err(|e| format!("{:?} mode: {e}", w.mode))
    }));
    match result {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err((e, log)),
        Err(p) => {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            Err((format!("panicked: {msg}"), log))
        }
    }
}

fn env(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

#[test]
fn random_interleavings_keep_every_keystroke() {
    let (base, cases) = match env("TERN_EDITOR_SEED") {
        Some(seed) => (seed, 1),
        None => (
            env("TERN_EDITOR_BASE_SEED").unwrap_or(1),
            env("TERN_EDITOR_CASES").unwrap_or(2_000),
        ),
    };
    let started = std::time::Instant::now();
    let mut failures = Vec::new();
    for seed in base..base + cases {
        if let Err((e, log)) = run_case(seed) {
            if failures.is_empty() {
                eprintln!("seed {seed} failed: {e}\nits steps (last 60):");
                for l in log.iter().rev().take(60).rev() {
                    eprintln!("  {l}");
                }
            }
            failures.push((seed, e));
        }
    }
    eprintln!(
        "editor model: {cases} cases from seed {base} in {:.1} s, {} failed",
        started.elapsed().as_secs_f64(),
        failures.len()
    );
    eprintln!(
        "  saves that found their note deleted: {}, revives written: {}, store failures: {}, \
         retry timers fired: {}",
        FOUND_DELETED.load(Ordering::Relaxed),
        REVIVED.load(Ordering::Relaxed),
        FAILED.load(Ordering::Relaxed),
        RETRIED.load(Ordering::Relaxed),
    );
    for (seed, e) in failures.iter().take(10) {
        eprintln!("failed: seed {seed}: {e}");
    }
    if let Some((seed, e)) = failures.first() {
        panic!(
            "{} of {cases} cases failed; first: seed {seed}: {e} (replay: TERN_EDITOR_SEED={seed} \
             cargo test -p tern-client --test editor_model -- --nocapture)",
            failures.len()
        );
    }
}

#[test]
fn clicking_the_open_note_changes_nothing() {
    let mut m = EditorModel::new();
    let t = text("T", "start Alpha");
    m.step(Event::Open {
        id: "n1".into(),
        text: t.clone(),
        read_at: 0,
    });
    m.step(Event::Input {
        field: Field::Content,
        value: "start Alpha one".into(),
    });
    // The list still shows the text from before the typing.
    let fx = m.step(Event::Open {
        id: "n1".into(),
        text: t,
        read_at: 0,
    });
    assert!(fx.is_empty(), "{fx:?}");
    assert_eq!(m.text().content, "start Alpha one");
}

#[test]
fn new_note_hands_the_typing_to_a_save_and_switches_at_once() {
    let mut m = EditorModel::new();
    m.step(Event::Open {
        id: "n1".into(),
        text: text("T", "one"),
        read_at: 0,
    });
    m.step(Event::Input {
        field: Field::Content,
        value: "one two".into(),
    });
    let fx = m.step(Event::New);
    assert_eq!(m.text(), &text("", ""), "the new note at once");
    let save = fx
        .iter()
        .find_map(|e| match e {
            Effect::Save(s) => Some(s.clone()),
            _ => None,
        })
        .expect("the old note's typing is saved");
    assert_eq!(save.target, Target::Note("n1".into()));
    assert_eq!(save.text, text("T", "one two"));
    // Typed into the new note while that save runs: its own.
    m.step(Event::Input {
        field: Field::Title,
        value: "N".into(),
    });
    assert_eq!(m.text().title, "N");
}

fn saves(fx: &[Effect]) -> Vec<Save> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Save(s) => Some(s.clone()),
            _ => None,
        })
        .collect()
}

/// Opens `n1` holding `one`, types `one two`, and opens `n2`: the save of `n1` runs.
fn left_with_a_save() -> (EditorModel, Save) {
    let mut m = EditorModel::new();
    m.step(Event::Open {
        id: "n1".into(),
        text: text("T", "one"),
        read_at: 0,
    });
    m.step(Event::Input {
        field: Field::Content,
        value: "one two".into(),
    });
    let fx = m.step(Event::Open {
        id: "n2".into(),
        text: text("U", "other"),
        read_at: 0,
    });
    let save = saves(&fx).pop().expect("the left note's typing is saved");
    assert_eq!(save.text, text("T", "one two"));
    assert!(!save.revive);
    (m, save)
}

#[test]
fn a_left_note_deleted_underneath_comes_back_with_the_typing() {
    let (mut m, save) = left_with_a_save();
    let fx = m.step(Event::Saved {
        ticket: save.ticket,
        result: SaveResult::Deleted,
        caret: None,
    });
    let revive = saves(&fx).pop().expect("saved again, as a revive");
    assert!(revive.revive);
    assert_eq!(revive.target, Target::Note("n1".into()));
    assert_eq!(revive.text, text("T", "one two"));
    let fx = m.step(Event::Saved {
        ticket: revive.ticket,
        result: SaveResult::Written {
            id: "n1".into(),
            stored: text("T", "one two"),
        },
        caret: None,
    });
    let notice = fx
        .iter()
        .find_map(|e| match e {
            Effect::Notice(n) => Some(n.clone()),
            _ => None,
        })
        .expect("the user is told");
    assert!(
        notice.contains("\u{201c}T\u{201d}") && notice.contains("back"),
        "{notice}"
    );
    assert!(m.idle());
}

#[test]
fn a_failed_save_stays_queued_and_is_retried_with_backoff() {
    let (mut m, save) = left_with_a_save();
    let mut waits = Vec::new();
    let mut ticket = save.ticket;
    for _ in 0..7 {
        let fx = m.step(Event::Saved {
            ticket,
            result: SaveResult::Failed("the disk is full".into()),
            caret: None,
        });
        assert!(saves(&fx).is_empty(), "not at once: {fx:?}");
        assert!(matches!(m.label(), SaveLabel::Failed(_)), "{:?}", m.label());
        assert_eq!(m.queued().count(), 1, "kept");
        let (generation, after_ms) = fx
            .iter()
            .find_map(|e| match e {
                Effect::Retry {
                    generation,
                    after_ms,
                } => Some((*generation, *after_ms)),
                _ => None,
            })
            .expect("a retry timer");
        waits.push(after_ms);
        let fx = m.step(Event::RetryFired(generation));
        let again = saves(&fx).pop().expect("tried again");
        assert_eq!(again.text, text("T", "one two"));
        assert_eq!(again.base, text("T", "one"));
        ticket = again.ticket;
    }
    assert_eq!(waits, [1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
    m.step(Event::Saved {
        ticket,
        result: SaveResult::Written {
            id: "n1".into(),
            stored: text("T", "one two"),
        },
        caret: None,
    });
    assert!(m.idle());
    assert_eq!(m.label(), &SaveLabel::Saved, "the failure is over");
}

#[test]
fn a_keystroke_retries_a_failed_save_at_once() {
    let (mut m, save) = left_with_a_save();
    m.step(Event::Saved {
        ticket: save.ticket,
        result: SaveResult::Failed("the disk is full".into()),
        caret: None,
    });
    let fx = m.step(Event::Input {
        field: Field::Content,
        value: "other!".into(),
    });
    let generation = fx
        .iter()
        .find_map(|e| match e {
            Effect::Debounce(g) => Some(*g),
            _ => None,
        })
        .expect("a keystroke starts the debounce");
    let fx = m.step(Event::DebounceFired(generation));
    let s = saves(&fx).pop().expect("the failed save first");
    assert_eq!(s.target, Target::Note("n1".into()));
}

#[test]
fn leaving_the_open_note_deleted_underneath_keeps_what_was_typed() {
    let mut m = EditorModel::new();
    m.step(Event::Open {
        id: "n1".into(),
        text: text("T", "one"),
        read_at: 0,
    });
    m.step(Event::Input {
        field: Field::Content,
        value: "one two".into(),
    });
    let fx = m.step(Event::Flush);
    let save = saves(&fx).pop().expect("saved");
    m.step(Event::Saved {
        ticket: save.ticket,
        result: SaveResult::Deleted,
        caret: None,
    });
    assert!(m.deleted(), "shown as deleted, offered back");
    // Left without "Restore": the typing made before the delete was seen brings it back.
    let fx = m.step(Event::New);
    let revive = saves(&fx).pop().expect("kept");
    assert!(revive.revive);
    assert_eq!(revive.target, Target::Note("n1".into()));
    assert_eq!(revive.text, text("T", "one two"));
    // Nothing typed since it was loaded: leaving leaves it deleted.
    let mut m = EditorModel::new();
    m.step(Event::Open {
        id: "n1".into(),
        text: text("T", "one"),
        read_at: 0,
    });
    m.step(Event::Stored {
        id: "n1".into(),
        stored: None,
        caret: None,
        read_at: 0,
    });
    assert!(m.deleted());
    assert!(saves(&m.step(Event::New)).is_empty());
}

#[test]
fn steady_typing_is_saved_every_period_not_only_after_a_pause() {
    let mut m = EditorModel::new();
    m.step(Event::Open {
        id: "n1".into(),
        text: text("T", ""),
        read_at: 0,
    });
    let timer = |fx: &[Effect]| {
        fx.iter().find_map(|e| match e {
            Effect::Debounce(g) => Some(*g),
            _ => None,
        })
    };
    // The first keystroke starts the timer; the ones after it, typed before it fires, do not
    // restart it (a restart on every keystroke would save nothing until the typist pauses).
    let first = timer(&m.step(Event::Input {
        field: Field::Content,
        value: "a".into(),
    }))
    .expect("the first keystroke starts the save timer");
    for v in ["ab", "abc"] {
        let fx = m.step(Event::Input {
            field: Field::Content,
            value: v.into(),
        });
        assert_eq!(timer(&fx), None, "the timer keeps running");
    }
    let save = saves(&m.step(Event::DebounceFired(first)))
        .pop()
        .expect("saved while typing goes on");
    assert_eq!(save.text, text("T", "abc"));
    // The next keystroke starts the next period.
    assert!(
        timer(&m.step(Event::Input {
            field: Field::Content,
            value: "abcd".into(),
        }))
        .is_some()
    );
}
