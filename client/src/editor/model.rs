//! The open editor as one state machine: [`EditorModel`] takes every [`Event`] that can
//! reach the editor (a keystroke, the save timer, a save's answer, opening a note,
//! "New note", the store read again, a conflict resolved, "Restore") and answers with the
//! [`Effect`]s the app carries out (write the fields, start a timer, run a save). It does no
//! I/O and keeps no clock, so every interleaving of events can be replayed natively
//! (`client/tests/editor_model.rs` checks random ones against a reference).
//!
//! What it guarantees:
//! - **Nothing typed is dropped or moved.** Opening the note that is open changes nothing.
//!   Opening another note, or "New note", switches at once and hands the text not saved
//!   yet to a save of the note it belongs to (queued behind the save under way, if any):
//!   keystrokes made right after the switch land in the new note, never in the old one
//!   and never under text written over them.
//! - **One save at a time.** Saves run in order, each planned on the note as stored when it
//!   writes ([`super::fold::plan_save`]); a keystroke made while one runs is saved by the next.
//!   A save's answer names the note a new note became, so later saves of that note edit it
//!   instead of creating it twice.
//! - **No conflict with itself.** The base of every save is what this editor last saved or
//!   loaded of that note. Reopening a note whose text this editor saved after the list was
//!   read starts from what it saved, not from the list's older copy; reopening a note whose
//!   save is still queued takes that text back into the editor.
//! - **The store is folded in, never written over.** What the store holds when read again
//!   (a sync, another tab) is merged into unsaved typing with the caret carried along
//!   ([`super::fold::fold`]); an overlap is saved with both versions kept; a delete underneath the
//!   open note is shown (the fields become read-only, "Restore" offers it back) and never
//!   undone by a keystroke.
//! - **An edit wins over a delete it did not see.** Text typed before this editor learnt of
//!   a delete (another device's, pulled in; another tab's) was made concurrently with it,
//!   and the sync engine's rule for that (the `merge` strategy, the default: see
//!   `sync_core::merge` and docs/sync-protocol.md, "Conflicts") is that the edit wins. So a
//!   queued or running save of a note no longer open that finds it deleted is saved again
//!   as a revive ([`Save::revive`]: the note is undeleted carrying the typed text), and the
//!   user is told which note came back and why ([`Effect::Notice`]). The open note, when
//!   deleted underneath, stays shown as deleted until "Restore"; leaving it without
//!   "Restore" while it holds text not saved yet revives it the same way (the text typed
//!   before the delete was seen is kept, in the note itself rather than in a trash entry the
//!   user would have to find), and leaving it with nothing unsaved leaves it deleted. The
//!   user's own "Delete" ([`Event::DeletedHere`]) is not such a delete: the text shown then
//!   goes to "Undo", and nothing brings the note back by itself.
//! - **A failed save is never dropped.** A save the store fails (full disk, blocked
//!   IndexedDB) stays queued, in order, and the label says it failed; it is tried again
//!   after a backoff ([`Effect::Retry`]: 1 s, doubling up to [`RETRY_MAX_MS`]), or at once
//!   on the next keystroke's save or a flush.
//!
//! The keystroke path ([`Event::Input`]) does constant work besides taking the field's
//! value: no comparison of texts, no diff.

use std::collections::VecDeque;

use sync_core::Text;

use super::fold::{Caret, Field, Fold, Stored, fold};

/// How many notes' last saved texts the model remembers (see [`EditorModel`]'s docs).
const RECENT: usize = 16;

/// The first retry of a failed save waits this long; each failure in a row doubles it.
pub const RETRY_FIRST_MS: u64 = 1_000;
/// The longest wait between retries of a failed save.
pub const RETRY_MAX_MS: u64 = 30_000;

/// The wait before retry number `failures` (1 for the first).
fn retry_delay(failures: u32) -> u64 {
    RETRY_FIRST_MS
        .saturating_mul(1u64 << failures.saturating_sub(1).min(16))
        .min(RETRY_MAX_MS)
}

/// How a notice names a note.
fn name(t: &Text) -> String {
    match t.title.trim() {
        "" => "A note without a title".into(),
        title => format!("\u{201c}{title}\u{201d}"),
    }
}

/// Which note the editor shows.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    /// A new note, created by its first save; the number tells new notes apart.
    New(u64),
    /// A stored note.
    Note(String),
}

impl Target {
    /// The note's id, once it has one.
    pub fn id(&self) -> Option<&str> {
        match self {
            Self::Note(id) => Some(id),
            Self::New(_) => None,
        }
    }
}

/// What the save label says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum SaveLabel {
    /// Nothing to say (a note just opened).
    #[default]
    Quiet,
    /// Typing, or a save under way.
    Saving,
    /// Every keystroke is in the local store.
    Saved,
    /// Changes from elsewhere were merged into the typing.
    Merged,
    /// The typing overlapped changes from elsewhere: both versions are kept.
    Conflict,
    /// A version was restored.
    Restored,
    /// A failure, with its reason.
    Failed(String),
}

impl SaveLabel {
    /// The label's words.
    pub fn text(&self) -> String {
        match self {
            Self::Quiet => String::new(),
            Self::Saving => "Saving…".into(),
            Self::Saved => "Saved on this device".into(),
            Self::Merged => "Merged with changes from elsewhere; saved on this device".into(),
            Self::Conflict => "Changed elsewhere while you typed: both versions kept".into(),
            Self::Restored => "Restored; saved on this device".into(),
            Self::Failed(e) => e.clone(),
        }
    }
}

/// A save for the app to run: write `text`, typed on `base`, to `target` (create it for a
/// new note), then answer [`Event::Saved`] with `ticket`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Save {
    /// Names the answer.
    pub ticket: u64,
    /// The note.
    pub target: Target,
    /// The text the typing was made on (what this editor last loaded or saved of it).
    pub base: Text,
    /// The text to save.
    pub text: Text,
    /// The note was deleted underneath this typing (made before the delete was seen): if it
    /// is still deleted when this save writes, bring it back with `text` (an undelete that
    /// syncs as an edit, which wins over the concurrent delete); if it is live again, save
    /// as usual.
    pub revive: bool,
}

/// A save's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SaveResult {
    /// Written (or nothing to write): the note holds `stored` (the text sent, or merged
    /// with what arrived meanwhile).
    Written {
        /// The note's id (new for a created note).
        id: String,
        /// What the note holds now.
        stored: Text,
    },
    /// Written, the overlapped stored text kept beside it as a conflict.
    Conflict {
        /// The note's id.
        id: String,
        /// What the note holds now (the text sent).
        stored: Text,
    },
    /// The note was deleted meanwhile: nothing written.
    Deleted,
    /// The store failed.
    Failed(String),
}

/// Everything that can happen to the editor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A keystroke (or paste, cut, drop): the field's whole value now.
    Input {
        /// The field typed into.
        field: Field,
        /// Its value.
        value: String,
    },
    /// The save timer started by [`Effect::Debounce`] fired (the name is historical: it is
    /// started by the first keystroke since the last save and not restarted by later ones,
    /// so typing is saved every period, not only after a pause).
    DebounceFired(u64),
    /// The timer started by [`Effect::Retry`] fired.
    RetryFired(u64),
    /// Save now (before a delete, a sign-out).
    Flush,
    /// A save's answer. `caret`: the selection now.
    Saved {
        /// [`Save::ticket`].
        ticket: u64,
        /// What it did.
        result: SaveResult,
        /// The selection, if an editor field has the focus.
        caret: Option<Caret>,
    },
    /// The user opened a note from the list, which showed it with `text` as read when
    /// [`EditorModel::writes`] was `read_at`.
    Open {
        /// The note.
        id: String,
        /// Its text as the list has it.
        text: Text,
        /// [`EditorModel::writes`] when the list's read began.
        read_at: u64,
    },
    /// "New note" (also: the editor closes, on a sign-out).
    New,
    /// The user deleted note `id`, the open one, and the app keeps the text the editor
    /// showed then ([`EditorModel::text`]) for "Undo": the editor closes (an empty new
    /// note) without saving that text, and a save of the note that finds it deleted is not
    /// brought back (this delete is the user's own, not one the typing did not see).
    DeletedHere {
        /// The note deleted.
        id: String,
    },
    /// The store was read: note `id` holds `stored` (`None`: deleted or gone). `read_at`:
    /// [`EditorModel::writes`] when the read began (a read a save overlapped is dropped:
    /// the save's answer tells more). `caret`: the selection now.
    Stored {
        /// The note read.
        id: String,
        /// Its text, `None` if deleted.
        stored: Option<Text>,
        /// The selection, if an editor field has the focus.
        caret: Option<Caret>,
        /// [`EditorModel::writes`] when the read began.
        read_at: u64,
    },
    /// The user chose `text` for note `id` (a conflict resolved, a revision restored), and
    /// it is written to the store.
    Chosen {
        /// The note.
        id: String,
        /// The text chosen.
        text: Text,
        /// What the label says then.
        label: SaveLabel,
        /// The selection, if an editor field has the focus.
        caret: Option<Caret>,
    },
    /// "Restore" on a note deleted underneath.
    Restore,
    /// A restore's answer.
    Restored {
        /// The note.
        id: String,
        /// The text it was restored with.
        text: Text,
        /// Whether the store took it.
        result: Result<(), String>,
    },
}

/// What the app does for the model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Write the fields (and the caret, if given; else the field's end, as a browser does).
    Show {
        /// The text.
        text: Text,
        /// The selection.
        caret: Option<Caret>,
    },
    /// Answer [`Event::DebounceFired`] with this number after the save period (see there).
    Debounce(u64),
    /// A save failed: answer [`Event::RetryFired`] with `generation` after `after_ms`.
    Retry {
        /// Names the timer (only the newest retries).
        generation: u64,
        /// The backoff, in milliseconds.
        after_ms: u64,
    },
    /// Run this save.
    Save(Save),
    /// Bring note `id` back with `text`, then answer [`Event::Restored`].
    Restore {
        /// The note.
        id: String,
        /// Its text.
        text: Text,
    },
    /// Tell the user (a save of a note no longer open failed, or brought it back).
    Notice(String),
}

fn empty() -> Text {
    Text {
        title: String::new(),
        content: String::new(),
    }
}

/// The editor's state. See the module docs.
#[derive(Clone, Debug)]
pub struct EditorModel {
    target: Target,
    /// What the fields show.
    text: Text,
    /// What this editor last loaded or saved of the open note (empty for a new one).
    base: Text,
    caret: Option<Caret>,
    deleted: bool,
    label: SaveLabel,
    /// The save timer's generation: only the newest timer saves (anything that saves or
    /// cancels the open note's save bumps it).
    debounce: u64,
    /// The generation of the save timer running, if one is: a keystroke then starts none.
    armed: Option<u64>,
    /// A save of the open note is asked for (debounce fired, flush) while another runs.
    due: bool,
    /// The save under way (of any note).
    running: Option<Save>,
    /// Saves of notes no longer open, waiting for the one under way.
    queue: VecDeque<Save>,
    next_ticket: u64,
    next_new: u64,
    /// Bumped at every save's start and end.
    writes: u64,
    /// A save failed: the next waits for [`Event::RetryFired`] (or the user's next save).
    held: bool,
    /// The retry timer's generation.
    retry: u64,
    /// Saves failed in a row (the backoff).
    failures: u32,
    /// The note the user deleted here (see [`Event::DeletedHere`]).
    deleted_here: Option<String>,
    /// The last texts saved of recent notes, with [`Self::writes`] when saved: a list read
    /// before that is older than what this editor wrote.
    recent: VecDeque<(String, Text, u64)>,
}

impl Default for EditorModel {
    fn default() -> Self {
        Self::new()
    }
}

impl EditorModel {
    /// An empty new note.
    pub fn new() -> Self {
        Self {
            target: Target::New(0),
            text: empty(),
            base: empty(),
            caret: None,
            deleted: false,
            label: SaveLabel::Quiet,
            debounce: 0,
            armed: None,
            due: false,
            running: None,
            queue: VecDeque::new(),
            next_ticket: 0,
            next_new: 1,
            writes: 0,
            held: false,
            retry: 0,
            failures: 0,
            deleted_here: None,
            recent: VecDeque::new(),
        }
    }

    /// The note shown.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The open note's id (`None`: a new note not created yet).
    pub fn open_id(&self) -> Option<&str> {
        self.target.id()
    }

    /// What the fields show.
    pub fn text(&self) -> &Text {
        &self.text
    }

    /// What the editor last loaded or saved of the open note.
    pub fn base(&self) -> &Text {
        &self.base
    }

    /// The last known selection.
    pub fn caret(&self) -> Option<Caret> {
        self.caret
    }

    /// The open note was deleted underneath.
    pub fn deleted(&self) -> bool {
        self.deleted
    }

    /// The save label.
    pub fn label(&self) -> &SaveLabel {
        &self.label
    }

    /// Counts saves' starts and ends (a store read overlapping a save is stale).
    pub fn writes(&self) -> u64 {
        self.writes
    }

    /// The save under way.
    pub fn running(&self) -> Option<&Save> {
        self.running.as_ref()
    }

    /// Saves waiting behind it.
    pub fn queued(&self) -> impl Iterator<Item = &Save> {
        self.queue.iter()
    }

    /// A save failed and the saves wait for its retry.
    pub fn retrying(&self) -> bool {
        self.held
    }

    /// The open note has text no save has taken yet.
    pub fn dirty(&self) -> bool {
        !self.deleted && self.text != *self.reference()
    }

    /// No save runs or waits, and nothing typed is unsaved.
    pub fn idle(&self) -> bool {
        self.running.is_none() && self.queue.is_empty() && !self.dirty()
    }

    /// What the open note's typing is measured against: the text the save under way sends,
    /// if it is this note's, else the base.
    fn reference(&self) -> &Text {
        match &self.running {
            Some(s) if s.target == self.target => &s.text,
            _ => &self.base,
        }
    }

    /// Takes `event`; returns what the app must do, in order.
    pub fn step(&mut self, event: Event) -> Vec<Effect> {
        let mut fx = Vec::new();
        match event {
            Event::Input { field, value } => {
                match field {
                    Field::Title => self.text.title = value,
                    Field::Content => self.text.content = value,
                }
                if self.deleted {
                    return fx; // nothing is saved over a delete: "Restore" brings it back
                }
                if self.label != SaveLabel::Saving {
                    self.label = SaveLabel::Saving;
                }
                // The first keystroke since the last save starts the timer; later ones
                // leave it running, so that steady typing is saved (and pushed) every
                // timer period rather than only after a pause.
                if self.armed != Some(self.debounce) {
                    self.debounce += 1;
                    self.armed = Some(self.debounce);
                    fx.push(Effect::Debounce(self.debounce));
                }
            }
            Event::DebounceFired(generation) => {
                if generation == self.debounce {
                    self.armed = None;
                    self.unhold(&mut fx);
                    self.save_open(&mut fx);
                }
            }
            Event::RetryFired(generation) => {
                if generation == self.retry && self.held {
                    self.held = false;
                    self.next(&mut fx);
                }
            }
            Event::Flush => {
                self.debounce += 1;
                self.unhold(&mut fx);
                self.save_open(&mut fx);
            }
            Event::Saved {
                ticket,
                result,
                caret,
            } => {
                self.caret = caret;
                self.saved(ticket, result, &mut fx);
            }
            Event::Open { id, text, read_at } => {
                if self.target == Target::Note(id.clone()) {
                    return fx; // the open note: nothing changes, typing goes on
                }
                self.leave(&mut fx);
                if self.deleted_here.as_deref() == Some(id.as_str()) {
                    self.deleted_here = None; // back (an undo): its saves are saves again
                }
                self.open(id, text, read_at, &mut fx);
            }
            Event::New => self.new_note(&mut fx),
            Event::DeletedHere { id } => {
                if self.target.id() == Some(id.as_str()) {
                    // Its text is in the app's "Undo": nothing to save or bring back.
                    self.text = self.reference().clone();
                    self.deleted = false;
                    self.deleted_here = Some(id);
                    self.new_note(&mut fx);
                }
            }
            Event::Stored {
                id,
                stored,
                caret,
                read_at,
            } => {
                let running_here = matches!(&self.running, Some(s) if s.target == self.target);
                if self.target.id() != Some(id.as_str()) || read_at != self.writes || running_here {
                    return fx; // another note, or a save overlapped: its answer tells more
                }
                self.caret = caret;
                match &stored {
                    Some(t) => self.fold_in(Stored::Live(t), &mut fx),
                    None => self.fold_in(Stored::Deleted, &mut fx),
                }
            }
            Event::Chosen {
                id,
                text,
                label,
                caret,
            } => {
                if self.target.id() != Some(id.as_str()) {
                    return fx;
                }
                self.caret = caret;
                self.remember(&id, &text);
                self.deleted = false;
                if self.dirty()
                    || self
                        .running
                        .as_ref()
                        .is_some_and(|s| s.target == self.target)
                {
                    // Typed since the choice was made: merged into it like any change.
                    self.fold_in(Stored::Live(&text), &mut fx);
                    if self.label == SaveLabel::Quiet {
                        self.label = label;
                    }
                } else {
                    self.debounce += 1;
                    self.text = text.clone();
                    self.base = text.clone();
                    self.label = label;
                    fx.push(Effect::Show { text, caret: None });
                }
            }
            Event::Restore => {
                if let (true, Some(id)) = (self.deleted, self.target.id()) {
                    fx.push(Effect::Restore {
                        id: id.to_owned(),
                        text: self.text.clone(),
                    });
                }
            }
            Event::Restored { id, text, result } => {
                if self.target.id() != Some(id.as_str()) {
                    return fx;
                }
                match result {
                    Ok(()) => {
                        self.remember(&id, &text);
                        self.base = text;
                        self.deleted = false;
                        self.label = SaveLabel::Restored;
                        if self.dirty() {
                            self.save_open(&mut fx);
                        }
                    }
                    Err(e) => self.label = SaveLabel::Failed(format!("Not restored: {e}")),
                }
            }
        }
        fx
    }

    /// The user asked for a save (typed, flushed): a failed save is tried again now, before
    /// the open note's.
    fn unhold(&mut self, fx: &mut Vec<Effect>) {
        if self.held {
            self.held = false;
            self.retry += 1; // the timer's answer is stale now
            self.next(fx);
        }
    }

    /// "New note": an empty note at once, the open note's unsaved text handed to a save.
    fn new_note(&mut self, fx: &mut Vec<Effect>) {
        self.leave(fx);
        self.target = Target::New(self.next_new);
        self.next_new += 1;
        self.text = empty();
        self.base = empty();
        self.deleted = false;
        self.label = SaveLabel::Quiet;
        self.debounce += 1;
        self.due = false;
        self.caret = Some(Caret {
            field: Field::Title,
            start: 0,
            end: 0,
        });
        fx.push(Effect::Show {
            text: empty(),
            caret: self.caret,
        });
    }

    /// Saves the open note's text now, or as soon as the save under way ends (or, after a
    /// failure, when it is retried).
    fn save_open(&mut self, fx: &mut Vec<Effect>) {
        if self.deleted {
            self.due = false;
            return;
        }
        if self.running.is_some() || self.held {
            self.due = true;
            return;
        }
        self.due = false;
        if !self.dirty() {
            if self.label == SaveLabel::Saving {
                self.label = SaveLabel::Saved;
            }
            return;
        }
        let save = Save {
            ticket: self.ticket(),
            target: self.target.clone(),
            base: self.base.clone(),
            text: self.text.clone(),
            revive: false,
        };
        self.start(save, fx);
    }

    fn ticket(&mut self) -> u64 {
        self.next_ticket += 1;
        self.next_ticket
    }

    fn start(&mut self, save: Save, fx: &mut Vec<Effect>) {
        self.writes += 1;
        self.running = Some(save.clone());
        fx.push(Effect::Save(save));
    }

    /// The next save, if none runs and none waits for a retry: the notes left first, then
    /// the open one if asked.
    fn next(&mut self, fx: &mut Vec<Effect>) {
        if self.running.is_some() || self.held {
            return;
        }
        if let Some(save) = self.queue.pop_front() {
            self.start(save, fx);
        } else if self.due {
            self.save_open(fx);
        }
    }

    /// The open note is left: its unsaved text goes to a save of its own (a revive, if the
    /// note was deleted underneath that text: see the module docs).
    fn leave(&mut self, fx: &mut Vec<Effect>) {
        if self.text != *self.reference() {
            let base = self.reference().clone();
            let save = Save {
                ticket: self.ticket(),
                target: self.target.clone(),
                base,
                text: std::mem::replace(&mut self.text, empty()),
                revive: self.deleted,
            };
            self.queue.push_back(save);
        }
        self.due = false;
        self.debounce += 1;
        self.next(fx);
    }

    fn open(&mut self, id: String, listed: Text, read_at: u64, fx: &mut Vec<Effect>) {
        let target = Target::Note(id.clone());
        let (text, base) = if let Some(i) = self.queue.iter().position(|s| s.target == target) {
            // Its typing was still waiting to be saved: back into the editor.
            let save = self.queue.remove(i).expect("found");
            (save.text, save.base)
        } else if let Some(s) = self.running.as_ref().filter(|s| s.target == target) {
            // Being saved: its answer lands here.
            (s.text.clone(), s.base.clone())
        } else if let Some((_, t, _)) = self
            .recent
            .iter()
            .find(|(i, _, at)| *i == id && *at > read_at)
        {
            // Saved here after the list was read: the list's copy is older.
            (t.clone(), t.clone())
        } else {
            (listed.clone(), listed)
        };
        self.target = target;
        self.text = text.clone();
        self.base = base;
        self.deleted = false;
        self.caret = None;
        self.debounce += 1;
        self.label = if self.dirty() {
            self.due = true;
            SaveLabel::Saving
        } else {
            SaveLabel::Quiet
        };
        fx.push(Effect::Show { text, caret: None });
        self.next(fx);
    }

    fn remember(&mut self, id: &str, text: &Text) {
        self.recent.retain(|(i, ..)| i != id);
        if self.recent.len() == RECENT {
            self.recent.pop_back();
        }
        self.recent
            .push_front((id.to_owned(), text.clone(), self.writes));
    }

    fn saved(&mut self, ticket: u64, result: SaveResult, fx: &mut Vec<Effect>) {
        let Some(save) = self.running.take_if(|s| s.ticket == ticket) else {
            return; // not the save under way (cannot happen: one runs at a time)
        };
        self.writes += 1;
        let failed = matches!(result, SaveResult::Failed(_));
        let written = matches!(
            result,
            SaveResult::Written { .. } | SaveResult::Conflict { .. }
        );
        let here = self.target == save.target;
        if !written {
            // Saves of the same note waiting were based on what this one was to write:
            // they are based on what it was based on, as the store still is.
            for s in self.queue.iter_mut().filter(|s| s.target == save.target) {
                if s.base == save.text {
                    s.base = save.base.clone();
                }
            }
            if here && self.base == save.text {
                self.base = save.base.clone();
            }
        }
        let id = match &result {
            SaveResult::Written { id, stored } | SaveResult::Conflict { id, stored } => {
                self.remember(id, stored);
                Some(id.clone())
            }
            _ => None,
        };
        // A created note: later saves of it (and the editor, if it is still open) edit it.
        if let (Target::New(_), Some(id)) = (&save.target, &id) {
            let created = Target::Note(id.clone());
            for s in self.queue.iter_mut().filter(|s| s.target == save.target) {
                s.target = created.clone();
            }
            if self.target == save.target {
                self.target = created;
            }
        }
        if here {
            match result {
                SaveResult::Written { stored, .. } => {
                    self.base = save.text.clone();
                    let merged = stored != save.text;
                    if merged {
                        self.fold_in(Stored::Live(&stored), fx);
                    }
                    if !self.deleted && self.running.is_none() {
                        self.label = if self.dirty() {
                            SaveLabel::Saving
                        } else if merged {
                            SaveLabel::Merged
                        } else {
                            SaveLabel::Saved
                        };
                    }
                }
                SaveResult::Conflict { stored, .. } => {
                    self.base = stored;
                    self.label = SaveLabel::Conflict;
                }
                SaveResult::Deleted => {
                    self.deleted = true;
                    self.due = false;
                    self.debounce += 1;
                    self.label = SaveLabel::Quiet;
                }
                SaveResult::Failed(e) => {
                    // The text stays in the editor; it is saved when the retry comes.
                    self.label = SaveLabel::Failed(format!("Not saved yet: {e}. Trying again."));
                    self.due = true;
                }
            }
            if written && save.revive {
                fx.push(Effect::Notice(format!(
                    "{} was deleted elsewhere while you were editing it: it is back, with \
                     your edits (an edit wins over a delete made at the same time).",
                    name(&save.text)
                )));
            }
        } else {
            match result {
                SaveResult::Written { .. } | SaveResult::Conflict { .. } => {
                    if save.revive {
                        fx.push(Effect::Notice(format!(
                            "{} was deleted elsewhere while your last edits to it were being \
                             saved: it is back, with them (an edit wins over a delete made \
                             at the same time).",
                            name(&save.text)
                        )));
                    }
                }
                SaveResult::Deleted
                    if save.target.id().is_some()
                        && self.deleted_here.as_deref() == save.target.id() =>
                {
                    // Deleted by the user here: the text is in "Undo".
                }
                SaveResult::Deleted => {
                    // Typed before the delete was seen: the edit wins, the note comes back
                    // with it (the save of it waiting, if any, carries this typing too).
                    match self.queue.iter_mut().find(|s| s.target == save.target) {
                        Some(s) => s.revive = true,
                        // A revive that found no note at all (gone from this device): the
                        // text becomes a new note.
                        None if save.revive => {
                            let ticket = self.ticket();
                            let target = Target::New(self.next_new);
                            self.next_new += 1;
                            self.queue.push_front(Save {
                                ticket,
                                target,
                                base: empty(),
                                ..save
                            });
                        }
                        None => {
                            let ticket = self.ticket();
                            self.queue.push_front(Save {
                                ticket,
                                revive: true,
                                ..save
                            });
                        }
                    }
                }
                SaveResult::Failed(e) => {
                    // Kept, first in line (the save of it waiting, if any, carries this
                    // typing too, rebased above).
                    if !self.queue.iter().any(|s| s.target == save.target) {
                        self.queue.push_front(save.clone());
                    }
                    if !self.deleted {
                        self.label = SaveLabel::Failed(format!(
                            "Your edits to {} are not saved yet: {e}. Trying again.",
                            name(&save.text)
                        ));
                    }
                }
            }
        }
        if failed {
            self.failures += 1;
            self.held = true;
            self.retry += 1;
            fx.push(Effect::Retry {
                generation: self.retry,
                after_ms: retry_delay(self.failures),
            });
        } else {
            self.failures = 0;
            if matches!(self.label, SaveLabel::Failed(_))
                && !self.deleted
                && self.queue.is_empty()
                && self.running.is_none()
            {
                self.label = if self.dirty() {
                    SaveLabel::Saving
                } else {
                    SaveLabel::Saved
                };
            }
        }
        self.next(fx);
    }

    /// Folds the stored note into the editor (see [`super::fold::fold`]).
    fn fold_in(&mut self, stored: Stored<'_>, fx: &mut Vec<Effect>) {
        // Brought back (restored here or elsewhere): the typing is merged into it, and
        // saved.
        let revived = self.deleted && matches!(stored, Stored::Live(_));
        if revived {
            self.deleted = false;
        }
        match fold(&self.base, &self.text, self.caret, stored) {
            Fold::Same if revived && self.dirty() => {
                self.label = SaveLabel::Saving;
                self.save_open(fx);
            }
            Fold::Same => {}
            Fold::Show {
                text,
                caret,
                unsaved,
            } => {
                if let Stored::Live(t) = stored {
                    self.base = t.clone();
                }
                self.text = text.clone();
                self.caret = caret;
                fx.push(Effect::Show { text, caret });
                if unsaved {
                    self.label = SaveLabel::Merged;
                    self.save_open(fx);
                }
            }
            // Saved now, against the base it was typed on: both versions are kept.
            Fold::Overlap { .. } => {
                self.label = SaveLabel::Saving;
                self.save_open(fx);
            }
            Fold::Deleted => {
                self.debounce += 1;
                self.due = false;
                self.deleted = true;
                self.label = SaveLabel::Quiet;
            }
        }
    }
}
