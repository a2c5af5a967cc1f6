//! Export and import: the user's notes out of Tern and back, without the server.
//!
//! Two export formats, both documented in `docs/export-format.md`:
//! - **JSON** (`tern-export`, [`VERSION`]): every note and record (notebooks, tags) with its
//!   fields as the user sees them, its conflict state, and the notes in the trash;
//!   importing it back gives the same (a round trip compares equal). Written in pieces
//!   ([`json_head`], [`json_notes`], [`json_tail`]) so a large export is built chunk by
//!   chunk, never as one string. Read a slice at a time by [`JsonImport`].
//! - **Markdown**: one `.md` file per note with YAML front matter (`id`, `title`,
//!   `created`/`updated` as RFC 3339 dates, `hlc`, `tags` by name, and `pinned`,
//!   `strategy`, `conflict`, `deleted` when set), in one zip ([`ZipWriter`], entries
//!   stored uncompressed) with a folder per notebook ([`MarkdownLayout`], made from the
//!   records before the notes are written; notes in the trash under `trash/`).
//!
//! Import reads either, or any `.md`/`.txt` files (a folder, an Obsidian vault):
//! [`FileImport`] turns each file into [`ExportedNote`]s ([`from_text`] for Markdown: its
//! folders and tag names ride along as [`FromFile`]); [`crate::local::Notes::import`] adds
//! those whose id is not on the device yet (duplicates are detected by id and skipped) as
//! new edits that sync like any other, turning folders and tag names into the device's
//! notebooks and tags (reused by path and name, made when missing), within the limits
//! [`MAX_FOLDER_DEPTH`], [`MAX_NAME_CHARS`] and the fields' own.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde::{Deserialize, Serialize};
use sync_core::fields::{self, FieldEdit, Kind, SetEdit};
use sync_core::{Conflict, Hlc, NoteId, Strategy};

use crate::local::{LocalNote, LocalStore, Notes, StoreError, SyncState, Trashed};

/// The `format` field of a JSON export.
pub const FORMAT: &str = "tern-export";
/// The version of the JSON export written by this build. Version 2 added the records
/// (notebooks, tags) and the notes' fields: an app that reads only version 1 would import
/// notebooks and tags as notes, so it refuses these files instead ("update the app").
pub const VERSION: u32 = 2;
/// The versions this build reads: 1 (notes without fields) and [`VERSION`].
pub const READS: std::ops::RangeInclusive<u32> = 1..=VERSION;
/// Deepest folder path a Markdown import turns into notebooks (deeper files go into the
/// notebook at this depth), and deepest notebook path a Markdown export writes as folders.
pub const MAX_FOLDER_DEPTH: usize = 16;
/// Longest notebook or tag name a Markdown import takes from a folder or front matter, in
/// characters (longer ones are cut).
pub const MAX_NAME_CHARS: usize = 200;
/// Longest folder name a Markdown export writes, in characters (longer names are cut).
pub const MAX_FOLDER_CHARS: usize = 60;
/// Largest file an import reads, in bytes (a JSON export of 100,000 short notes is about
/// 25 MB). Bounds the memory one import can take in the tab.
pub const MAX_IMPORT_BYTES: usize = 64 * 1024 * 1024;
/// Notes an export reads from the store at a time (then yields to the page).
pub const EXPORT_CHUNK: usize = 500;
/// Notes an import checks and writes at a time (one read and one write transaction).
pub const IMPORT_BATCH: usize = 500;
/// Notes of a JSON file (entries of a zip) the app reads between two yields to the page.
pub const IMPORT_PARSE_SLICE: usize = 500;

/// One note as exported.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportedNote {
    /// The note's id (duplicates are detected by it on import).
    pub id: NoteId,
    /// Title (for a note in the trash: its title when deleted).
    pub title: String,
    /// Body (for a note in the trash: its body when deleted).
    pub content: String,
    /// Clock of its last change. Absent in files from elsewhere: stamped on import.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hlc: Option<Hlc>,
    /// Its conflict strategy (omitted: the server's default).
    #[serde(default, skip_serializing_if = "Strategy::is_default")]
    pub strategy: Strategy,
    /// Concurrent versions waiting for the user to choose (omitted: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conflict: Option<Conflict>,
    /// Set for a note in the trash: when it was deleted, ms since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_ms: Option<u64>,
    /// The note's earlier versions as the server keeps them (newest first), when the export
    /// asked for them. For reading only: an import does not write history (the server
    /// keeps its own), so a round trip compares equal without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<Vec<sync_core::protocol::Revision>>,
    /// What the record is (omitted: a note). A value this build does not know refuses the
    /// file (it is from a newer app).
    #[serde(default, skip_serializing_if = "is_note")]
    pub kind: Kind,
    /// Field `notebook`: the id of the notebook record the note is in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notebook: Option<NoteId>,
    /// Field `parent`: the id of a notebook's parent notebook.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<NoteId>,
    /// Field `tags`: the ids of the note's tag records.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub tags: BTreeSet<NoteId>,
    /// Field `pinned`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub pinned: bool,
    /// Field `created`: when the note was created, ms since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_ms: Option<u64>,
    /// Read from a Markdown or text file: the names its folders and front matter gave,
    /// turned into notebook and tag records by [`Notes::import`]. Never in a JSON export.
    #[serde(skip)]
    pub file: Option<Box<FromFile>>,
}

/// What a Markdown or text file says about its note by name, resolved against the device's
/// notebooks and tags on import.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FromFile {
    /// The folders the file is in, outermost first: the notebook path (at most
    /// [`MAX_FOLDER_DEPTH`] names of at most [`MAX_NAME_CHARS`] characters).
    pub folders: Vec<String>,
    /// Tag names from its front matter (`tags:`), without `#`, at most [`MAX_NAME_CHARS`]
    /// characters each, no two equal ignoring case.
    pub tags: Vec<String>,
    /// Its front matter could not be read: the whole file is the body, nothing taken out.
    pub kept_as_text: bool,
    /// A limit cut something of the file (folders deeper than [`MAX_FOLDER_DEPTH`], a name
    /// longer than [`MAX_NAME_CHARS`], more tags than a note holds).
    pub cut: bool,
}

fn is_note(k: &Kind) -> bool {
    *k == Kind::Note
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl ExportedNote {
    /// The note as exported: live notes, and notes in the trash with their text; `None`
    /// for a tombstone whose text this device does not have.
    pub fn of(n: &LocalNote) -> Option<Self> {
        let (title, content, deleted_ms) = match (&n.trash, n.deleted) {
            (_, false) => (n.title.clone(), n.content.clone(), None),
            (Some(t), true) => (t.title.clone(), t.content.clone(), Some(t.deleted_ms)),
            (None, true) => return None,
        };
        // The fields as the user sees them: the synced state with this device's pending
        // edits on top.
        let f = n.shown_fields();
        Some(Self {
            hlc: Some(n.hlc.clone()),
            strategy: n.strategy,
            conflict: n.conflict.clone(),
            deleted_ms,
            kind: f.kind(),
            notebook: f.id("notebook").map(NoteId),
            parent: f.id("parent").map(NoteId),
            tags: f.set("tags").into_iter().map(NoteId).collect(),
            pinned: f.pinned(),
            created_ms: f.created_ms(),
            ..Self::new(n.id.clone(), title, content)
        })
    }

    /// A live note with this text and nothing else set.
    pub fn new(id: NoteId, title: String, content: String) -> Self {
        Self {
            id,
            title,
            content,
            hlc: None,
            strategy: Strategy::Default,
            conflict: None,
            deleted_ms: None,
            history: None,
            kind: Kind::Note,
            notebook: None,
            parent: None,
            tags: BTreeSet::new(),
            pinned: false,
            created_ms: None,
            file: None,
        }
    }

    /// The field edits that give a new record this note's fields (at most the tags a note
    /// holds: the first ones by id; values within their fields' limits).
    fn field_edits(&self) -> BTreeMap<String, FieldEdit> {
        let mut out = BTreeMap::new();
        let mut register = |name: &str, v: serde_json::Value| {
            out.insert(name.to_owned(), FieldEdit::Register(v));
        };
        if self.kind != Kind::Note {
            register("kind", self.kind.value());
        }
        if let Some(nb) = &self.notebook {
            register("notebook", nb.0.clone().into());
        }
        if let Some(p) = &self.parent {
            register("parent", p.0.clone().into());
        }
        if self.pinned {
            register("pinned", true.into());
        }
        if let Some(c) = self.created_ms {
            register("created", c.into());
        }
        if !self.tags.is_empty() {
            let add = self
                .tags
                .iter()
                .take(fields::MAX_SET_ITEMS)
                .map(|t| t.0.clone())
                .collect();
            out.insert(
                "tags".to_owned(),
                FieldEdit::Set(SetEdit {
                    add,
                    remove: BTreeSet::new(),
                }),
            );
        }
        // A value over its field's limit (a hostile file's date of 20 digits) is left
        // out: the server would refuse the note's every change for it.
        out.retain(|name, edit| fields::check(name, edit).is_ok());
        out
    }
}

/// A whole JSON export, as [`json_head`] + [`json_notes`]… + [`json_tail`] write it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Export {
    /// Always [`FORMAT`].
    pub format: String,
    /// The format's version ([`VERSION`]).
    pub version: u32,
    /// When it was written, ms since the epoch.
    pub exported_at_ms: u64,
    /// The notes.
    pub notes: Vec<ExportedNote>,
}

/// Why a file could not be imported (nothing of it was imported).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    /// Over [`MAX_IMPORT_BYTES`].
    #[error("{0} is larger than {MAX_IMPORT_BYTES} bytes; split it and import the parts")]
    TooLarge(String),
    /// Not a file Tern reads.
    #[error("{name}: {why}")]
    Invalid {
        /// The file.
        name: String,
        /// What is wrong with it.
        why: String,
    },
}

fn invalid(name: &str, why: impl Into<String>) -> ImportError {
    ImportError::Invalid {
        name: name.to_owned(),
        why: why.into(),
    }
}

/// The start of a JSON export written at `now_ms`.
pub fn json_head(now_ms: u64) -> String {
    format!(
        "{{\"format\":\"{FORMAT}\",\"version\":{VERSION},\"exported_at_ms\":{now_ms},\"notes\":[\n"
    )
}

/// Notes of a JSON export, one per line; `first` when none was written before.
pub fn json_notes(notes: &[ExportedNote], first: bool) -> String {
    let mut out = String::new();
    for (i, n) in notes.iter().enumerate() {
        if !(first && i == 0) {
            out.push_str(",\n");
        }
        out.push_str(&serde_json::to_string(n).expect("a note serializes"));
    }
    out
}

/// The end of a JSON export.
pub fn json_tail() -> &'static str {
    "\n]}\n"
}

/// Parses a JSON export (this format and version only), all at once: [`JsonImport`] run
/// to its end.
pub fn parse_json(name: &str, bytes: &[u8]) -> Result<Vec<ExportedNote>, ImportError> {
    let mut reader = JsonImport::new(name, bytes)?;
    while !reader.step(usize::MAX)? {}
    Ok(reader.into_notes())
}

/// A JSON export read a slice at a time, so that a file of 100,000 notes never holds the
/// page for one long parse: [`JsonImport::new`] checks the format and the version (when
/// they come before the notes, as this app writes them), then each [`JsonImport::step`]
/// parses a bounded number of notes. It accepts exactly the files a parse of the whole
/// [`Export`] accepts (a property test holds it to that), and nothing is imported until
/// the whole file has been read: a file that is cut short or bad at its end imports nothing.
#[derive(Debug)]
pub struct JsonImport<'a> {
    name: String,
    bytes: &'a [u8],
    /// The next byte to read inside the `notes` array.
    pos: usize,
    /// A note is expected next (after `[` or `,`), not `,` or `]`.
    want_note: bool,
    /// The object's other members, as JSON text, checked as [`Export`]'s when done.
    head: Vec<u8>,
    notes: Vec<ExportedNote>,
    done: bool,
}

/// The JSON whitespace bytes.
fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

fn skip_ws(bytes: &[u8], mut pos: usize) -> usize {
    while bytes.get(pos).copied().is_some_and(is_ws) {
        pos += 1;
    }
    pos
}

/// Where the JSON value starting at `pos` ends (exclusive). Finds the end only; the value
/// itself is checked by the parse that reads it.
fn value_end(bytes: &[u8], pos: usize) -> Option<usize> {
    fn string_end(bytes: &[u8], mut i: usize) -> Option<usize> {
        // `i` is just after the opening quote.
        loop {
            match *bytes.get(i)? {
                b'\\' => i += 2,
                b'"' => return Some(i + 1),
                _ => i += 1,
            }
        }
    }
    match *bytes.get(pos)? {
        b'"' => string_end(bytes, pos + 1),
        b'{' | b'[' => {
            let (mut depth, mut i) = (0usize, pos);
            loop {
                match *bytes.get(i)? {
                    b'"' => {
                        i = string_end(bytes, i + 1)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(i + 1);
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
        }
        _ => {
            let mut i = pos;
            while let Some(&b) = bytes.get(i) {
                if is_ws(b) || matches!(b, b',' | b'}' | b']') {
                    break;
                }
                i += 1;
            }
            (i > pos).then_some(i)
        }
    }
}

impl<'a> JsonImport<'a> {
    /// Opens a JSON export: reads the object's members up to its `notes` array, and checks
    /// the format and the version if they came first.
    pub fn new(name: &str, bytes: &'a [u8]) -> Result<Self, ImportError> {
        if bytes.len() > MAX_IMPORT_BYTES {
            return Err(ImportError::TooLarge(name.to_owned()));
        }
        let mut r = Self {
            name: name.to_owned(),
            bytes,
            pos: 0,
            want_note: true,
            head: b"{".to_vec(),
            notes: Vec::new(),
            done: false,
        };
        let pos = skip_ws(bytes, 0);
        if bytes.get(pos) != Some(&b'{') {
            return Err(r.bad("not a JSON object"));
        }
        match r.members(pos + 1, true)? {
            Some(at) => {
                // A file that names its format and version before the notes (as this app
                // writes them) is refused before any note is read when it is not ours.
                r.check_head(false)?;
                r.pos = skip_ws(bytes, at + 1);
                if bytes.get(r.pos) == Some(&b']') {
                    r.finish()?;
                }
            }
            None => {
                // No `notes` before the end: the head's check says what is missing.
                r.check_head(true)?;
                return Err(r.bad("missing field `notes`"));
            }
        }
        Ok(r)
    }

    fn bad(&self, why: impl Into<String>) -> ImportError {
        invalid(&self.name, why)
    }

    /// Reads members from `pos`: just after `{` (`stop_at_notes`: returns the position of
    /// the notes array's `[`) or just after the notes array (reads to the object's end).
    /// Copies each member but `notes` into `head`. `None`: the object ended.
    fn members(
        &mut self,
        mut pos: usize,
        stop_at_notes: bool,
    ) -> Result<Option<usize>, ImportError> {
        let b = self.bytes;
        // Just after `{`, a member or `}` comes next; after a member, `,` or `}`.
        let mut first = stop_at_notes;
        loop {
            pos = skip_ws(b, pos);
            if first && b.get(pos) == Some(&b'}') {
                return Ok(None);
            }
            if !first {
                match b.get(pos) {
                    Some(b',') => pos = skip_ws(b, pos + 1),
                    Some(b'}') => {
                        // The end of the object: only whitespace may follow.
                        if skip_ws(b, pos + 1) != b.len() {
                            return Err(self.bad("trailing characters after the export"));
                        }
                        return Ok(None);
                    }
                    _ => return Err(self.bad("expected `,` or `}` between members")),
                }
            }
            first = false;
            let key_end = value_end(b, pos)
                .filter(|_| b[pos] == b'"')
                .ok_or_else(|| self.bad("expected a member name"))?;
            let key: String =
                serde_json::from_slice(&b[pos..key_end]).map_err(|e| self.bad(e.to_string()))?;
            let colon = skip_ws(b, key_end);
            if b.get(colon) != Some(&b':') {
                return Err(self.bad("expected `:` after a member name"));
            }
            let value = skip_ws(b, colon + 1);
            if key == "notes" {
                if !stop_at_notes {
                    return Err(self.bad("duplicate field `notes`"));
                }
                if b.get(value) != Some(&b'[') {
                    return Err(self.bad("`notes` is not an array"));
                }
                return Ok(Some(value));
            }
            let end = value_end(b, value).ok_or_else(|| self.bad("a member is cut short"))?;
            if self.head.len() > 1 {
                self.head.push(b',');
            }
            self.head.extend_from_slice(&b[pos..end]);
            pos = end;
        }
    }

    /// Checks the members other than `notes`: the format and the version with a clear
    /// message; when `whole`, also everything else an [`Export`] requires.
    fn check_head(&self, whole: bool) -> Result<(), ImportError> {
        #[derive(Deserialize)]
        struct Head {
            format: Option<String>,
            version: Option<u32>,
        }
        #[derive(Deserialize)]
        #[allow(dead_code)] // read only to be checked, as `Export` would be
        struct Whole {
            format: String,
            version: u32,
            exported_at_ms: u64,
        }
        let mut text = self.head.clone();
        text.push(b'}');
        let head: Head = serde_json::from_slice(&text).map_err(|e| self.bad(e.to_string()))?;
        if head.format.as_deref() != Some(FORMAT) {
            if !whole && head.format.is_none() {
                return Ok(()); // it may come after the notes
            }
            return Err(self.bad("not a Tern export (no \"format\": \"tern-export\")"));
        }
        if !head.version.is_some_and(|v| READS.contains(&v)) {
            if !whole && head.version.is_none() {
                return Ok(());
            }
            return Err(self.bad(format!(
                "export version {:?}; this app reads versions 1 to {VERSION}: update the app",
                head.version
            )));
        }
        if whole {
            serde_json::from_slice::<Whole>(&text).map_err(|e| self.bad(e.to_string()))?;
        }
        Ok(())
    }

    /// Reads up to `max` more notes. `Ok(true)` once the whole file has been read.
    pub fn step(&mut self, max: usize) -> Result<bool, ImportError> {
        let b = self.bytes;
        for _ in 0..max {
            if self.done {
                break;
            }
            if !self.want_note {
                self.pos = skip_ws(b, self.pos);
                match b.get(self.pos) {
                    Some(b',') => {
                        self.pos = skip_ws(b, self.pos + 1);
                        self.want_note = true;
                    }
                    Some(b']') => {
                        self.finish()?;
                        break;
                    }
                    _ => return Err(self.bad("expected `,` or `]` between notes")),
                }
            }
            let end = value_end(b, self.pos).ok_or_else(|| self.bad("a note is cut short"))?;
            let note: ExportedNote =
                serde_json::from_slice(&b[self.pos..end]).map_err(|e| self.bad(e.to_string()))?;
            let ids = std::iter::once(&note.id)
                .chain(&note.notebook)
                .chain(&note.parent)
                .chain(&note.tags);
            for id in ids {
                if !id.is_valid() {
                    return Err(self.bad(format!("record id {:?} is not valid", id.0)));
                }
            }
            self.notes.push(note);
            self.pos = end;
            self.want_note = false;
        }
        Ok(self.done)
    }

    /// After the notes array's `]` (at `self.pos`): the object's remaining members, then
    /// the whole head's check.
    fn finish(&mut self) -> Result<(), ImportError> {
        self.members(self.pos + 1, false)?;
        self.check_head(true)?;
        self.done = true;
        Ok(())
    }

    /// How many notes have been read so far.
    pub fn read(&self) -> usize {
        self.notes.len()
    }

    /// The notes read (all of them once [`JsonImport::step`] said done).
    pub fn into_notes(self) -> Vec<ExportedNote> {
        self.notes
    }
}

/// Where a Markdown export puts each note and what it calls its tags: one folder per
/// notebook (its path of names, each made safe for file systems and unique among its
/// siblings ignoring case), tag names by id. Built from the export's records before its
/// notes are written ([`MarkdownLayout::add`] a chunk at a time, then
/// [`MarkdownLayout::finish`]), since a note may come before its notebook.
#[derive(Debug, Default)]
pub struct MarkdownLayout {
    /// Live notebooks: id to (name, parent id).
    notebooks: HashMap<NoteId, (String, Option<NoteId>)>,
    /// Live tags: id to name.
    tags: HashMap<NoteId, String>,
    /// Each notebook's folder, `a/b/` (after [`MarkdownLayout::finish`]).
    folders: HashMap<NoteId, String>,
    /// Each live note's file name without folder and `.md` ([`stem`]): what the export
    /// writes links to it as, so that Obsidian follows them ([`crate::links::with_names`]).
    stems: HashMap<NoteId, String>,
}

/// A name as a folder name that every common file system takes: no path separators or
/// characters Windows refuses, no leading or trailing dots or spaces, not a device name
/// Windows reserves, at most [`MAX_FOLDER_CHARS`] characters, never empty.
pub fn folder_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_control() || matches!(c, '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|') {
                '-'
            } else {
                c
            }
        })
        .take(MAX_FOLDER_CHARS)
        .collect();
    let trimmed = cleaned.trim_matches(|c: char| c == '.' || c.is_whitespace());
    let mut out = if trimmed.is_empty() {
        "untitled".to_owned()
    } else {
        trimmed.to_owned()
    };
    let stem = out.split('.').next().unwrap_or("").to_ascii_uppercase();
    let reserved = matches!(stem.as_str(), "CON" | "PRN" | "AUX" | "NUL")
        || (stem.len() == 4
            && (stem.starts_with("COM") || stem.starts_with("LPT"))
            && stem.as_bytes()[3].is_ascii_digit());
    if reserved {
        out.push('-');
    }
    out
}

impl MarkdownLayout {
    /// A layout with no records yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes in the live notebook and tag records among `chunk` (notes are skipped).
    pub fn add(&mut self, chunk: &[ExportedNote]) {
        for r in chunk.iter().filter(|r| r.deleted_ms.is_none()) {
            match r.kind {
                Kind::Notebook => {
                    self.notebooks
                        .insert(r.id.clone(), (r.title.clone(), r.parent.clone()));
                }
                Kind::Tag => {
                    self.tags.insert(r.id.clone(), r.title.clone());
                }
                Kind::Note => {
                    self.stems.insert(r.id.clone(), stem(r));
                }
            }
        }
    }

    /// Lays out the folders: from the top-level notebooks down, each level's names made
    /// unique. A notebook whose parent is gone is at the top level; so is one of a cycle
    /// (two devices each moved one notebook into the other), as the app shows it. Below
    /// [`MAX_FOLDER_DEPTH`] levels, notebooks share their ancestor's folder. Linear in the
    /// number of notebooks.
    pub fn finish(&mut self) {
        let mut children: HashMap<Option<NoteId>, Vec<NoteId>> = HashMap::new();
        for (id, (_, parent)) in &self.notebooks {
            let parent = parent
                .clone()
                .filter(|p| p != id && self.notebooks.contains_key(p));
            children.entry(parent).or_default().push(id.clone());
        }
        for v in children.values_mut() {
            v.sort_by(|a, b| self.notebooks[a].0.cmp(&self.notebooks[b].0).then(a.cmp(b)));
        }
        // The top level, then notebooks never reached from it (a cycle) at the top level
        // too, in id order, until every notebook has its folder.
        let mut ids: Vec<NoteId> = self.notebooks.keys().cloned().collect();
        ids.sort();
        let tops: Vec<NoteId> = children.get(&None).cloned().unwrap_or_default();
        let mut top = Level::default();
        top.unique("trash"); // the top level also holds `trash/`
        let mut stack: Vec<(NoteId, String, usize)> = Vec::new();
        for id in tops.into_iter().chain(ids) {
            if self.folders.contains_key(&id) {
                continue;
            }
            stack.push(self.place(id, "", 1, &mut top));
            while let Some((id, dir, depth)) = stack.pop() {
                let mut level = Level::default();
                for child in children.get(&Some(id)).into_iter().flatten() {
                    if !self.folders.contains_key(child) {
                        stack.push(self.place(child.clone(), &dir, depth + 1, &mut level));
                    }
                }
            }
        }
    }

    /// Gives notebook `id` its folder inside `dir` at `depth` (below
    /// [`MAX_FOLDER_DEPTH`]: `dir` itself), a name unique in `level`.
    fn place(
        &mut self,
        id: NoteId,
        dir: &str,
        depth: usize,
        level: &mut Level,
    ) -> (NoteId, String, usize) {
        let path = if depth > MAX_FOLDER_DEPTH {
            dir.to_owned()
        } else {
            format!(
                "{dir}{}/",
                level.unique(&folder_name(&self.notebooks[&id].0))
            )
        };
        self.folders.insert(id.clone(), path.clone());
        (id, path, depth)
    }
}

/// The folder names taken in one folder, ignoring case (file systems that ignore it would
/// merge two), and the next number to try for each name: a thousand notebooks of one name
/// are numbered in linear time.
#[derive(Default)]
struct Level {
    taken: HashSet<String>,
    next: HashMap<String, usize>,
}

impl Level {
    /// `base`, or `base (2)`, `base (3)`...: the first not taken yet, now taken.
    fn unique(&mut self, base: &str) -> String {
        let key = base.to_lowercase();
        if self.taken.insert(key.clone()) {
            return base.to_owned();
        }
        let k = self.next.entry(key).or_insert(2);
        loop {
            let name = format!("{base} ({k})");
            *k += 1;
            if self.taken.insert(name.to_lowercase()) {
                return name;
            }
        }
    }
}

impl MarkdownLayout {
    /// The folder of notebook `id` (`""`: none, or a notebook not exported live).
    fn folder(&self, id: Option<&NoteId>) -> &str {
        id.and_then(|id| self.folders.get(id))
            .map_or("", String::as_str)
    }

    /// The file name of note `n`: its notebook's folder (`trash/` for a note in the trash),
    /// its title's words, then its id (unique), `.md`.
    pub fn name(&self, n: &ExportedNote) -> String {
        let dir = if n.deleted_ms.is_some() {
            "trash/"
        } else {
            self.folder(n.notebook.as_ref())
        };
        // The name links to it were written with (the first pass's), should the note have
        // been renamed since.
        let stem = self.stems.get(&n.id).cloned().unwrap_or_else(|| stem(n));
        format!("{dir}{stem}.md")
    }

    /// The names of note `n`'s live tags, sorted.
    fn tag_names(&self, n: &ExportedNote) -> Vec<&str> {
        let mut names: Vec<&str> = n
            .tags
            .iter()
            .filter_map(|t| self.tags.get(t))
            .map(String::as_str)
            .collect();
        names.sort_unstable();
        names
    }

    /// Note `n` as Markdown with YAML front matter (values JSON where any text may occur,
    /// a subset of YAML, so any title survives), then its body exactly.
    pub fn markdown(&self, n: &ExportedNote) -> String {
        let json = |v: &dyn erased::Json| v.json();
        let mut out = String::from("---\n");
        out.push_str(&format!("id: {}\n", n.id));
        out.push_str(&format!("title: {}\n", json(&n.title)));
        if let Some(c) = n.created_ms.and_then(rfc3339) {
            out.push_str(&format!("created: {c}\n"));
        }
        if let Some(h) = &n.hlc {
            if let Some(u) = rfc3339(h.wall_ms) {
                out.push_str(&format!("updated: {u}\n"));
            }
            out.push_str(&format!("hlc: {}\n", json(&h.to_string())));
        }
        let tags = self.tag_names(n);
        if !tags.is_empty() {
            let list: Vec<String> = tags.into_iter().map(yaml_word).collect();
            out.push_str(&format!("tags: [{}]\n", list.join(", ")));
        }
        if n.pinned {
            out.push_str("pinned: true\n");
        }
        if !n.strategy.is_default() {
            out.push_str(&format!("strategy: {}\n", n.strategy.as_str()));
        }
        if let Some(d) = n.deleted_ms {
            out.push_str(&format!("deleted: {d}\n"));
        }
        if let Some(c) = &n.conflict {
            out.push_str(&format!("conflict: {}\n", json(c)));
        }
        out.push_str("---\n");
        // Links by id name the linked note's file, which Obsidian follows (and Tern, by
        // the id at its end).
        out.push_str(&crate::links::with_names(&n.content, |id| {
            self.stems.get(id).cloned()
        }));
        out
    }
}

/// A note's file name without folder and `.md`: its title's words (at most 40
/// characters), then its id, which makes it unique.
fn stem(n: &ExportedNote) -> String {
    let mut slug = String::new();
    for c in n.title.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
        if slug.chars().count() >= 40 {
            break;
        }
    }
    let slug = slug.trim_end_matches('-');
    let slug = if slug.is_empty() { "untitled" } else { slug };
    format!("{slug}-{}", n.id)
}

/// A tag name as an item of a YAML flow list: bare when it is letters, digits, `_`, `-`
/// and `/` (as Obsidian's tags are), else a JSON string.
fn yaml_word(name: &str) -> String {
    let bare = !name.is_empty()
        && !name.starts_with('-')
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '/'));
    if bare {
        name.to_owned()
    } else {
        serde_json::to_string(name).expect("a string serializes")
    }
}

/// Milliseconds since the epoch as RFC 3339 in UTC, to the millisecond
/// (`2025-11-25T09:56:30.000Z`); `None` past the year 262,143.
pub fn rfc3339(ms: u64) -> Option<String> {
    let dt = chrono::DateTime::from_timestamp_millis(i64::try_from(ms).ok()?)?;
    Some(dt.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

/// A front matter date as ms since the epoch: RFC 3339 (`2025-11-25T09:56:30Z`, any
/// offset), or a date and time without offset (`2025-11-25 09:56`, read as UTC), or a
/// date alone (`2025-11-25`, midnight UTC), as Obsidian and other tools write them. `None`
/// for anything else or a date before 1970.
pub fn parse_date(v: &str) -> Option<u64> {
    use chrono::{NaiveDate, NaiveDateTime};
    let v = v.trim().trim_matches(|c| c == '"' || c == '\'');
    let ms = if let Ok(dt) = chrono::DateTime::parse_from_rfc3339(v) {
        dt.timestamp_millis()
    } else if let Some(dt) = [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(v, f).ok())
    {
        dt.and_utc().timestamp_millis()
    } else {
        NaiveDate::parse_from_str(v, "%Y-%m-%d")
            .ok()?
            .and_hms_opt(0, 0, 0)?
            .and_utc()
            .timestamp_millis()
    };
    u64::try_from(ms).ok()
}

/// A file name for note `n` with no notebook folders (see [`MarkdownLayout::name`]).
pub fn markdown_name(n: &ExportedNote) -> String {
    MarkdownLayout::default().name(n)
}

/// Note `n` as Markdown without tag names (see [`MarkdownLayout::markdown`]).
pub fn to_markdown(n: &ExportedNote) -> String {
    MarkdownLayout::default().markdown(n)
}

/// Serializing front matter values through one function (a trait object keeps
/// `markdown` short).
mod erased {
    pub trait Json {
        fn json(&self) -> String;
    }
    impl<T: serde::Serialize> Json for T {
        fn json(&self) -> String {
            serde_json::to_string(self).expect("serializes")
        }
    }
}

/// The folders of file path `name` (zip entry or folder path, `/`-separated), outermost
/// first: empty, `.` and `..` parts dropped (a path never climbs out), at most
/// [`MAX_FOLDER_DEPTH`], each name at most [`MAX_NAME_CHARS`] characters. True when a
/// limit cut something.
fn folders_of(name: &str) -> (Vec<String>, bool) {
    let mut parts: Vec<&str> = name.split(['/', '\\']).collect();
    parts.pop(); // the file itself
    let mut cut = false;
    let mut out = Vec::new();
    for p in parts.into_iter().map(str::trim) {
        if p.is_empty() || p == "." || p == ".." {
            continue;
        }
        if out.len() == MAX_FOLDER_DEPTH {
            cut = true;
            break;
        }
        let (name, long) = cut_name(p);
        cut |= long;
        out.push(name);
    }
    (out, cut)
}

/// `s` cut to [`MAX_NAME_CHARS`] characters; true when it was longer.
fn cut_name(s: &str) -> (String, bool) {
    let out: String = s.chars().take(MAX_NAME_CHARS).collect();
    let cut = out.len() < s.len();
    (out, cut)
}

/// True for a path inside a hidden folder or a hidden file (`.obsidian/`, `.trash/`): the
/// settings and trash of other tools, not notes.
pub fn is_hidden(path: &str) -> bool {
    path.split(['/', '\\'])
        .any(|p| p.starts_with('.') && p != "." && p != "..")
}

/// The items of a front matter `tags` value: a flow list (`[a, "b c"]`), words separated
/// by commas or spaces (`a, b`, `#a #b`), or a block list (`- a` lines, in `block`).
/// `#` is taken off; empty items and repeats (ignoring case) are left out.
fn tag_items(v: &str, block: &[&str]) -> Vec<String> {
    let mut raw: Vec<String> = Vec::new();
    let v = v.trim();
    if let Some(inner) = v.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        match serde_json::from_str::<Vec<String>>(v) {
            Ok(items) => raw = items,
            Err(_) => raw.extend(inner.split(',').map(str::to_owned)),
        }
    } else if !v.is_empty() {
        raw.extend(
            v.split(|c: char| c == ',' || c.is_whitespace())
                .map(str::to_owned),
        );
    }
    for line in block {
        if let Some(item) = line.trim().strip_prefix('-') {
            raw.push(item.to_owned());
        }
    }
    let mut seen = HashSet::new();
    raw.into_iter()
        .map(|t| {
            t.trim()
                .trim_matches(|c| c == '"' || c == '\'')
                .trim_start_matches('#')
                .trim()
                .to_owned()
        })
        .filter(|t| !t.is_empty() && seen.insert(t.to_lowercase()))
        .collect()
}

/// A Markdown or text file as a note. A Markdown file's front matter (`---` lines at its
/// top) gives what it names: `id`, `title`, `created` (a date), `hlc` (Tern's clock; an
/// older export's `updated`), `tags`, `pinned`, `strategy`, `deleted`, `conflict`; the
/// lines it does not know stay at the top of the body, as front matter, so nothing of the
/// file is lost. A front matter with a value that does not read (a bad id or date) is not
/// taken apart: the whole file is the body. Without a title in front matter, the title is
/// the body's first `# ` heading (taken out of the body) or the file name. The folders of
/// `name` are the note's notebook path; a file without an id gets a new one.
pub fn from_text(name: &str, text: &str) -> Result<ExportedNote, ImportError> {
    let stem = name
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or(name)
        .trim_end_matches(".md")
        .trim_end_matches(".markdown")
        .trim_end_matches(".txt")
        .to_owned();
    let mut note = ExportedNote::new(NoteId(crate::platform::random_id()), stem, text.to_owned());
    let (folders, cut) = folders_of(name);
    let mut file = FromFile {
        folders,
        cut,
        ..FromFile::default()
    };
    let is_markdown = !name.to_lowercase().ends_with(".txt");
    // Files written on Windows may end their lines with `\r\n`.
    let nl = if text.starts_with("---\r\n") {
        "\r\n"
    } else {
        "\n"
    };
    let (fence, close) = (format!("---{nl}"), format!("{nl}---{nl}"));
    let front = text
        .strip_prefix(fence.as_str())
        .filter(|_| is_markdown)
        .and_then(|rest| {
            let last = &close[..close.len() - nl.len()];
            let end = rest
                .find(close.as_str())
                .or_else(|| rest.ends_with(last).then(|| rest.len() - last.len()))?;
            Some((&rest[..end], rest.get(end + close.len()..).unwrap_or("")))
        });
    let mut titled = false;
    if let Some((front, body)) = front {
        let mut parsed = note.clone();
        match read_front_matter(front, &mut parsed, &mut file) {
            Ok((t, kept)) => {
                titled = t;
                note = parsed;
                note.content = if kept.is_empty() {
                    body.to_owned()
                } else {
                    format!("---\n{kept}---\n{body}")
                };
            }
            Err(_) => {
                file.kept_as_text = true;
                file.tags.clear();
            }
        }
    }
    // A note in Tern's trash is in `trash/`, which is no notebook.
    if note.deleted_ms.is_some() && file.folders.first().is_some_and(|f| f == "trash") {
        file.folders.remove(0);
    }
    if !titled
        && !file.kept_as_text
        && is_markdown
        && let Some(first) = note.content.lines().next()
        && let Some(h) = first.strip_prefix("# ")
    {
        note.title = h.trim().to_owned();
        note.content = note.content[first.len()..]
            .trim_start_matches('\n')
            .to_owned();
    }
    note.file = Some(Box::new(file));
    Ok(note)
}

/// Reads front matter `front` into `note` and `file`. Returns whether it named a title,
/// and its lines Tern does not read (to keep). `Err` (why) when a value Tern reads does
/// not read.
fn read_front_matter(
    front: &str,
    note: &mut ExportedNote,
    file: &mut FromFile,
) -> Result<(bool, String), String> {
    // Each key with its value and the indented or `- ` lines under it.
    let mut entries: Vec<(&str, Vec<&str>)> = Vec::new();
    for line in front.lines() {
        let continues = line.starts_with([' ', '\t', '-']) || line.trim().is_empty();
        match entries.last_mut() {
            Some((_, more)) if continues => more.push(line),
            _ => entries.push((line, Vec::new())),
        }
    }
    let (mut titled, mut kept) = (false, String::new());
    let mut clock_from_updated = None;
    for (line, more) in entries {
        let Some((k, v)) = line.split_once(':') else {
            kept.push_str(line);
            kept.push('\n');
            for m in &more {
                kept.push_str(m);
                kept.push('\n');
            }
            continue;
        };
        let v = v.trim();
        let bad = |what: &str| format!("`{k}`: {what}");
        match k.trim() {
            "id" => {
                let id = NoteId(v.trim_matches('"').to_owned());
                if !id.is_valid() {
                    return Err(bad("not a valid note id"));
                }
                note.id = id;
            }
            "title" => {
                note.title = if v.starts_with('"') {
                    serde_json::from_str(v).map_err(|e| bad(&e.to_string()))?
                } else {
                    v.to_owned()
                };
                titled = true;
            }
            "hlc" => {
                let s: String = serde_json::from_str(v).unwrap_or_else(|_| v.to_owned());
                note.hlc = Some(s.parse().map_err(|_| bad("not a Tern clock"))?);
            }
            "updated" => {
                // Version 1 wrote Tern's clock here; now it is a date for other tools
                // (the clock is `hlc`).
                let s: String = serde_json::from_str(v).unwrap_or_else(|_| v.to_owned());
                match s.parse::<Hlc>() {
                    Ok(h) => clock_from_updated = Some(h),
                    Err(_) if parse_date(v).is_some() => {}
                    Err(_) => return Err(bad("neither a date nor a Tern clock")),
                }
            }
            "created" => note.created_ms = Some(parse_date(v).ok_or_else(|| bad("not a date"))?),
            "tags" | "tag" => {
                let mut tags = tag_items(v, &more);
                if tags.len() > fields::MAX_SET_ITEMS {
                    tags.truncate(fields::MAX_SET_ITEMS);
                    file.cut = true;
                }
                for t in tags {
                    let (t, long) = cut_name(&t);
                    file.cut |= long;
                    file.tags.push(t);
                }
            }
            "pinned" => {
                note.pinned = match v {
                    "true" => true,
                    "false" => false,
                    _ => return Err(bad("neither true nor false")),
                }
            }
            "strategy" => note.strategy = v.parse().map_err(|e: String| bad(&e))?,
            "deleted" => note.deleted_ms = Some(v.parse().map_err(|_| bad("not a time"))?),
            "conflict" => {
                note.conflict = Some(serde_json::from_str(v).map_err(|e| bad(&e.to_string()))?)
            }
            _ => {
                kept.push_str(line);
                kept.push('\n');
                for m in &more {
                    kept.push_str(m);
                    kept.push('\n');
                }
            }
        }
    }
    if note.hlc.is_none() {
        note.hlc = clock_from_updated;
    }
    Ok((titled, kept))
}

/// The notes in one imported file: a JSON export (`.json`), a zip of Markdown files
/// (`.zip`: its `.md` and `.txt` entries), or one `.md`/`.txt` file. [`FileImport`] run
/// to its end.
pub fn parse_file(name: &str, bytes: &[u8]) -> Result<Vec<ExportedNote>, ImportError> {
    let mut file = FileImport::new(name, bytes)?;
    while !file.step(usize::MAX)? {}
    Ok(file.into_notes())
}

/// One imported file read a slice at a time, so that a file of 100,000 notes never holds
/// the page for one long parse: a JSON export by [`JsonImport`], a zip by [`ZipReader`]
/// (each [`FileImport::step`] reads a bounded number of notes or entries); one Markdown or
/// text file at once. Nothing is imported until the whole file has been read.
#[derive(Debug)]
pub struct FileImport<'a> {
    name: String,
    reader: Reader<'a>,
    notes: Vec<ExportedNote>,
}

#[derive(Debug)]
enum Reader<'a> {
    Json(JsonImport<'a>),
    Zip(ZipReader<'a>),
    Done,
}

/// A name Tern reads as one note's text.
fn is_text_file(lower: &str) -> bool {
    lower.ends_with(".md") || lower.ends_with(".markdown") || lower.ends_with(".txt")
}

fn utf8(name: &str, b: &[u8]) -> Result<String, ImportError> {
    std::str::from_utf8(b)
        .map(str::to_owned)
        .map_err(|_| invalid(name, "not UTF-8 text"))
}

impl<'a> FileImport<'a> {
    /// Opens file `name` holding `bytes`; refuses at once what Tern does not read.
    pub fn new(name: &str, bytes: &'a [u8]) -> Result<Self, ImportError> {
        if bytes.len() > MAX_IMPORT_BYTES {
            return Err(ImportError::TooLarge(name.to_owned()));
        }
        let lower = name.to_lowercase();
        let (reader, notes) = if lower.ends_with(".json") {
            (Reader::Json(JsonImport::new(name, bytes)?), Vec::new())
        } else if lower.ends_with(".zip") {
            (Reader::Zip(ZipReader::new(name, bytes)?), Vec::new())
        } else if is_text_file(&lower) {
            (Reader::Done, vec![from_text(name, &utf8(name, bytes)?)?])
        } else {
            return Err(invalid(
                name,
                "import reads .json, .zip, .md and .txt files",
            ));
        };
        Ok(Self {
            name: name.to_owned(),
            reader,
            notes,
        })
    }

    /// Reads up to `max` more notes (zip entries, for a zip). `Ok(true)` once the whole
    /// file has been read.
    pub fn step(&mut self, max: usize) -> Result<bool, ImportError> {
        match &mut self.reader {
            Reader::Json(json) => json.step(max),
            Reader::Zip(zip) => {
                for _ in 0..max {
                    let Some((entry, data)) = zip.next_file()? else {
                        self.reader = Reader::Done;
                        return Ok(true);
                    };
                    if is_text_file(&entry.to_lowercase()) && !is_hidden(&entry) {
                        self.notes
                            .push(from_text(&entry, &utf8(&self.name, &data)?)?);
                    }
                }
                Ok(false)
            }
            Reader::Done => Ok(true),
        }
    }

    /// The notes read (all of them once [`FileImport::step`] said done).
    pub fn into_notes(self) -> Vec<ExportedNote> {
        match self.reader {
            Reader::Json(json) => json.into_notes(),
            _ => self.notes,
        }
    }
}

/// What an import did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Notes added.
    pub added: usize,
    /// Notebooks and tags added: records of a JSON export, or made for the folders and
    /// tag names of Markdown files (those already on the device are reused).
    pub records: usize,
    /// Notes and records skipped because one with the same id is on the device already.
    pub duplicates: usize,
    /// Notes kept in part because they were over a limit: more tags than a note holds
    /// (the first ones are kept), folders deeper than [`MAX_FOLDER_DEPTH`], names longer
    /// than [`MAX_NAME_CHARS`].
    pub cut: usize,
    /// Files whose front matter did not read: imported whole as the note's body.
    pub kept_as_text: usize,
}

impl ImportReport {
    /// Adds another batch's counts.
    pub fn add(&mut self, other: &ImportReport) {
        self.added += other.added;
        self.records += other.records;
        self.duplicates += other.duplicates;
        self.cut += other.cut;
        self.kept_as_text += other.kept_as_text;
    }
}

/// The device's notebooks (by parent and name) and tags (by name, ignoring case), for
/// turning a Markdown file's folders and tag names into record ids; records it makes are
/// added to it, so each is made once.
#[derive(Debug, Default)]
struct Names {
    notebooks: HashMap<(Option<NoteId>, String), NoteId>,
    tags: HashMap<String, NoteId>,
    /// Records made for this batch, to be stored with it.
    new: Vec<LocalNote>,
}

impl<S: LocalStore> Notes<S> {
    /// Adds `notes` whose id is not on the device yet; the others are duplicates and are
    /// skipped (the device's version stays). Live notes are new edits (pending: they sync
    /// like any other); notes in the trash go to the trash. A conflict comes along as
    /// versions only this device has (the user chooses, as for any local conflict).
    /// Records (notebooks, tags) and the notes' fields come along with their ids; the
    /// folders and tag names of Markdown files become notebooks and tags, reusing those
    /// on the device with the same path or name.
    pub async fn import(&self, notes: Vec<ExportedNote>) -> Result<ImportReport, StoreError> {
        let mut report = ImportReport::default();
        let mut seen = std::collections::HashSet::new();
        let mut notes = notes.into_iter().peekable();
        let mut names: Option<Names> = None;
        while notes.peek().is_some() {
            // A batch at a time: one stamp of the device clock for the files that carry
            // none, then one transaction that checks which ids are here and writes the rest.
            let mut batch = Vec::with_capacity(IMPORT_BATCH);
            for n in notes.by_ref() {
                if seen.insert(n.id.clone()) {
                    batch.push(n);
                } else {
                    report.duplicates += 1;
                }
                if batch.len() == IMPORT_BATCH {
                    break;
                }
            }
            for n in &mut batch {
                if n.tags.len() > fields::MAX_SET_ITEMS {
                    n.tags = std::mem::take(&mut n.tags)
                        .into_iter()
                        .take(fields::MAX_SET_ITEMS)
                        .collect();
                    report.cut += 1;
                }
                let Some(file) = n.file.take() else { continue };
                report.cut += usize::from(file.cut);
                report.kept_as_text += usize::from(file.kept_as_text);
                if file.folders.is_empty() && file.tags.is_empty() {
                    continue;
                }
                if names.is_none() {
                    names = Some(self.names().await?);
                }
                let names = names.as_mut().expect("just loaded");
                n.notebook = self.notebook_at(names, &file.folders).await?;
                for t in &file.tags {
                    if n.tags.len() == fields::MAX_SET_ITEMS {
                        break;
                    }
                    let id = self.tag_named(names, t).await?;
                    n.tags.insert(id);
                }
            }
            let mut stamps = self
                .stamps(batch.iter().filter(|n| n.hlc.is_none()).count())
                .await?
                .into_iter();
            let mut new: Vec<LocalNote> = names
                .as_mut()
                .map(|n| std::mem::take(&mut n.new))
                .unwrap_or_default();
            report.records += new.len();
            let made = new.len();
            new.extend(batch.into_iter().map(|n| {
                let hlc = n.hlc.clone().or_else(|| stamps.next());
                imported(n, hlc.expect("a stamp for every note without one"))
            }));
            let added = self.store.add_new(&new).await?;
            for (n, a) in new.iter().zip(&added).skip(made) {
                match (a, n.kind()) {
                    (false, _) => report.duplicates += 1,
                    (true, Kind::Note) => report.added += 1,
                    (true, _) => report.records += 1,
                }
            }
        }
        Ok(report)
    }

    /// The device's live notebooks and tags, by path step and by name: one read of the
    /// store (an import reads it once per batch that names any).
    async fn names(&self) -> Result<Names, StoreError> {
        let mut names = Names::default();
        let mut records: Vec<LocalNote> = self
            .store
            .list()
            .await?
            .into_iter()
            .filter(|n| !n.deleted && !n.is_note())
            .collect();
        // By name, then id: of two notebooks with one path, or two tags with one name, the
        // first is used (as `Notes::records` lists them).
        records.sort_by(|a, b| a.title.cmp(&b.title).then_with(|| a.id.cmp(&b.id)));
        for r in records {
            match r.kind() {
                Kind::Notebook => {
                    let key = (r.notebook_id(), r.title.clone());
                    names.notebooks.entry(key).or_insert(r.id);
                }
                Kind::Tag => {
                    names.tags.entry(r.title.to_lowercase()).or_insert(r.id);
                }
                Kind::Note => {}
            }
        }
        Ok(names)
    }

    /// The notebook at path `folders` (`None` for no folders), made where missing.
    async fn notebook_at(
        &self,
        names: &mut Names,
        folders: &[String],
    ) -> Result<Option<NoteId>, StoreError> {
        let mut at: Option<NoteId> = None;
        for f in folders {
            let key = (at.clone(), f.clone());
            let id = match names.notebooks.get(&key) {
                Some(id) => id.clone(),
                None => {
                    let nb = self.new_notebook(f, at.as_ref()).await?;
                    let id = nb.id.clone();
                    names.new.push(nb);
                    names.notebooks.insert(key, id.clone());
                    id
                }
            };
            at = Some(id);
        }
        Ok(at)
    }

    /// The tag named `name` (ignoring case), made if missing.
    async fn tag_named(&self, names: &mut Names, name: &str) -> Result<NoteId, StoreError> {
        let key = name.to_lowercase();
        if let Some(id) = names.tags.get(&key) {
            return Ok(id.clone());
        }
        let t = self.new_tag(name).await?;
        let id = t.id.clone();
        names.new.push(t);
        names.tags.insert(key, id.clone());
        Ok(id)
    }

    /// One chunk of the export: up to [`EXPORT_CHUNK`] records after `after` (by id),
    /// as exported notes, and the id to continue after (`None`: done).
    pub async fn export_chunk(
        &self,
        after: Option<&NoteId>,
    ) -> Result<(Vec<ExportedNote>, Option<NoteId>), StoreError> {
        let records = self.store.chunk(after, EXPORT_CHUNK).await?;
        let next = (records.len() == EXPORT_CHUNK)
            .then(|| records.last().map(|n| n.id.clone()))
            .flatten();
        Ok((records.iter().filter_map(ExportedNote::of).collect(), next))
    }
}

/// The local note an imported one becomes, stamped `hlc`. Its fields are pending edits
/// (they sync with the note; a note in the trash carries them when it is restored).
fn imported(n: ExportedNote, hlc: Hlc) -> LocalNote {
    let trashed = n.deleted_ms.is_some();
    let field_edits = n.field_edits();
    LocalNote {
        id: n.id,
        title: if trashed {
            String::new()
        } else {
            n.title.clone()
        },
        content: if trashed {
            String::new()
        } else {
            n.content.clone()
        },
        deleted: trashed,
        hlc,
        base_version: None,
        // A note in the trash that the server never had stays on the device until it
        // is restored (then it syncs as a new note).
        pending: (!trashed).then(|| sync_core::ChangeId(crate::platform::random_id())),
        sync: if trashed {
            SyncState::Synced
        } else {
            SyncState::Pending
        },
        base: None,
        strategy: n.strategy,
        strategy_changed: !n.strategy.is_default(),
        local_conflict: n.conflict.is_some(),
        typed_on: None,
        conflict: n.conflict,
        resolving: false,
        trash: n.deleted_ms.map(|d| Trashed {
            title: n.title,
            content: n.content,
            deleted_ms: d,
        }),
        purge: false,
        fields: Default::default(),
        field_edits,
        edit_clocks: Default::default(),
    }
}

/// CRC-32 (IEEE), as zip files check their entries.
fn crc32(data: &[u8]) -> u32 {
    const TABLE: [u32; 256] = {
        let mut t = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut c = i as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
                k += 1;
            }
            t[i] = c;
            i += 1;
        }
        t
    };
    !data.iter().fold(!0u32, |c, b| {
        TABLE[((c ^ u32::from(*b)) & 0xFF) as usize] ^ (c >> 8)
    })
}

/// Writes a zip file entry by entry (stored, not compressed: Markdown compresses well, but
/// a compressor costs the wasm bundle more than the download saves). Each [`Self::add`]
/// returns the bytes of that entry, so a large export is handed out piece by piece; only
/// the central directory (about 100 bytes per entry) is kept until [`Self::finish`].
#[derive(Default)]
pub struct ZipWriter {
    central: Vec<u8>,
    offset: u64,
    entries: u64,
}

impl std::fmt::Debug for ZipWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZipWriter").finish_non_exhaustive()
    }
}

impl ZipWriter {
    /// A zip with no entries yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The bytes of entry `name` holding `data`.
    pub fn add(&mut self, name: &str, data: &[u8]) -> Vec<u8> {
        let crc = crc32(data);
        let (name, size) = (name.as_bytes(), data.len() as u32);
        let mut out = Vec::with_capacity(30 + name.len() + data.len());
        // Local file header: version 2.0, flag bit 11 (UTF-8 names), stored, no time.
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        out.extend_from_slice(&[20, 0, 0, 8, 0, 0, 0, 0, 0x21, 0]);
        for v in [crc, size, size] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&(name.len() as u16).to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(name);
        out.extend_from_slice(data);
        let c = &mut self.central;
        c.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        c.extend_from_slice(&[20, 0, 20, 0, 0, 8, 0, 0, 0, 0, 0x21, 0]);
        for v in [crc, size, size] {
            c.extend_from_slice(&v.to_le_bytes());
        }
        c.extend_from_slice(&(name.len() as u16).to_le_bytes());
        c.extend_from_slice(&[0; 8]); // extra, comment, disk, internal attributes
        c.extend_from_slice(&0u32.to_le_bytes()); // external attributes
        c.extend_from_slice(&(self.offset as u32).to_le_bytes());
        c.extend_from_slice(name);
        self.offset += out.len() as u64;
        self.entries += 1;
        out
    }

    /// The central directory and its end: the last bytes of the file. Over 65,534 entries
    /// (a Markdown export of 100,000 notes), the count does not fit the classic end record:
    /// a Zip64 end record and its locator come first and hold it, and the classic record
    /// says so (`0xFFFF`), as every zip reader since 2001 expects.
    pub fn finish(self) -> Vec<u8> {
        let mut out = self.central;
        let size = out.len() as u64;
        let start = self.offset;
        if self.entries >= 0xFFFF {
            let at = start + size;
            out.extend_from_slice(&0x0606_4b50u32.to_le_bytes());
            out.extend_from_slice(&44u64.to_le_bytes()); // the record's size after this
            out.extend_from_slice(&[45, 0, 45, 0]); // made by, needed: 4.5 (Zip64)
            out.extend_from_slice(&[0; 8]); // this disk, the directory's disk
            for v in [self.entries, self.entries, size, start] {
                out.extend_from_slice(&v.to_le_bytes());
            }
            out.extend_from_slice(&0x0706_4b50u32.to_le_bytes());
            out.extend_from_slice(&0u32.to_le_bytes()); // the Zip64 record's disk
            out.extend_from_slice(&at.to_le_bytes());
            out.extend_from_slice(&1u32.to_le_bytes()); // disks in all
        }
        out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
        out.extend_from_slice(&[0; 4]);
        let n = (self.entries.min(0xFFFF) as u16).to_le_bytes();
        out.extend_from_slice(&n);
        out.extend_from_slice(&n);
        out.extend_from_slice(&(size as u32).to_le_bytes());
        out.extend_from_slice(&(start as u32).to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out
    }
}

/// The entries of a zip file, read by its central directory: stored (as [`ZipWriter`]
/// writes them) or deflated (as most zip tools write them). What the entries hold once
/// inflated is bounded like an import ([`MAX_IMPORT_BYTES`] in all), so a small zip that
/// inflates to gigabytes is refused, not unpacked. The work is bounded too: the entries'
/// stored bytes (headers and data) may add up to no more than the file, so each byte of the
/// file is read at most once. A crafted central directory of 65,535 entries that all point
/// at one deflated entry (which inflates to nothing, so the size bound never trips) is
/// refused after reading the file once, instead of inflating it 65,535 times.
pub fn unzip(name: &str, z: &[u8]) -> Result<Vec<(String, Vec<u8>)>, ImportError> {
    let mut reader = ZipReader::new(name, z)?;
    let mut files = Vec::with_capacity(reader.left);
    while let Some(file) = reader.next_file()? {
        files.push(file);
    }
    Ok(files)
}

/// A zip's entries one at a time ([`unzip`] reads them all; an import reads a slice of
/// them between two yields to the page).
#[derive(Debug)]
pub struct ZipReader<'a> {
    name: String,
    z: &'a [u8],
    /// The next central directory entry.
    at: usize,
    /// Entries of the directory not read yet.
    left: usize,
    /// Stored bytes (headers and data) the entries may still take: the file's size.
    unread: usize,
    /// Bytes the entries may still inflate to.
    budget: usize,
}

impl<'a> ZipReader<'a> {
    fn bad(&self, why: &str) -> ImportError {
        invalid(&self.name, why)
    }

    fn u16_at(&self, i: usize) -> Result<usize, ImportError> {
        self.z
            .get(i..i.saturating_add(2))
            .map(|b| u16::from_le_bytes([b[0], b[1]]) as usize)
            .ok_or_else(|| self.bad("truncated"))
    }

    fn u32_at(&self, i: usize) -> Result<usize, ImportError> {
        self.z
            .get(i..i.saturating_add(4))
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
            .ok_or_else(|| self.bad("truncated"))
    }

    fn u64_at(&self, i: usize) -> Result<usize, ImportError> {
        self.z
            .get(i..i.saturating_add(8))
            .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
            .and_then(|v| usize::try_from(v).ok())
            .ok_or_else(|| self.bad("truncated"))
    }

    /// Opens zip `z` (called `name` in messages) by its end record.
    pub fn new(name: &str, z: &'a [u8]) -> Result<Self, ImportError> {
        let mut r = Self {
            name: name.to_owned(),
            z,
            at: 0,
            left: 0,
            unread: z.len(),
            budget: MAX_IMPORT_BYTES,
        };
        let end = (0..z.len().saturating_sub(21))
            .rev()
            .take(66_000)
            .find(|&i| r.u32_at(i).ok() == Some(0x0605_4b50))
            .ok_or_else(|| r.bad("not a zip file"))?;
        r.left = r.u16_at(end + 10)?;
        r.at = r.u32_at(end + 16)?;
        // A Zip64 locator just before the end record: the count and the directory's
        // offset are in the Zip64 end record it points at (over 65,534 entries).
        if r.left == 0xFFFF
            && let Some(locator) = end.checked_sub(20)
            && r.u32_at(locator).ok() == Some(0x0706_4b50)
        {
            let record = r.u64_at(locator + 8)?;
            if r.u32_at(record).ok() != Some(0x0606_4b50) {
                return Err(r.bad("damaged Zip64 end record"));
            }
            r.left = r.u64_at(record + 32)?;
            r.at = r.u64_at(record + 48)?;
        }
        // Each entry takes at least 46 bytes of the directory: a count the file cannot
        // hold is refused before anything is allocated for it.
        if r.left > z.len() / 46 {
            return Err(r.bad("damaged central directory"));
        }
        Ok(r)
    }

    /// The next file (name and unpacked bytes; folders are skipped), `None` after the last.
    pub fn next_file(&mut self) -> Result<Option<(String, Vec<u8>)>, ImportError> {
        while self.left > 0 {
            self.left -= 1;
            let at = self.at;
            if self.u32_at(at).ok() != Some(0x0201_4b50) {
                return Err(self.bad("damaged central directory"));
            }
            let method = self.u16_at(at + 10)?;
            let size = self.u32_at(at + 20)?;
            let (n, extra, comment) = (
                self.u16_at(at + 28)?,
                self.u16_at(at + 30)?,
                self.u16_at(at + 32)?,
            );
            let local = self.u32_at(at + 42)?;
            let entry = String::from_utf8_lossy(
                self.z
                    .get(at + 46..at + 46 + n)
                    .ok_or_else(|| self.bad("truncated"))?,
            )
            .into_owned();
            self.at = at + 46 + n + extra + comment;
            if entry.ends_with('/') {
                continue;
            }
            let (ln, lextra) = (self.u16_at(local + 26)?, self.u16_at(local + 28)?);
            let start = local.saturating_add(30 + ln + lextra);
            let data = self
                .z
                .get(start..start.saturating_add(size))
                .ok_or_else(|| self.bad("truncated"))?;
            self.unread = self
                .unread
                .checked_sub(30 + ln + lextra + size)
                .ok_or_else(|| self.bad("damaged: its entries overlap"))?;
            let name = &self.name;
            let data = match method {
                0 => data.to_vec(),
                8 => miniz_oxide::inflate::decompress_to_vec_with_limit(data, self.budget)
                    .map_err(|e| {
                        if e.status == miniz_oxide::inflate::TINFLStatus::HasMoreOutput {
                            ImportError::TooLarge(format!("{name} (unpacked)"))
                        } else {
                            invalid(name, format!("{entry} is damaged (it does not inflate)"))
                        }
                    })?,
                _ => {
                    return Err(invalid(
                        name,
                        format!(
                            "{entry} is compressed in a way Tern does not read (only stored \
                             and deflated entries); unzip the file and import its folder \
                             instead"
                        ),
                    ));
                }
            };
            if data.len() > self.budget {
                return Err(ImportError::TooLarge(format!("{name} (unpacked)")));
            }
            self.budget -= data.len();
            return Ok(Some((entry, data)));
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Markdown export of 100,000 notes has more entries than the classic end record
    /// counts: every one reads back (it read back 65,535 before the Zip64 records).
    #[test]
    fn a_zip_of_more_than_65535_entries_reads_back_whole() {
        let mut z = ZipWriter::new();
        let mut bytes = Vec::new();
        for i in 0..70_000 {
            bytes.extend(z.add(&format!("{i}.md"), i.to_string().as_bytes()));
        }
        bytes.extend(z.finish());
        let files = unzip("big.zip", &bytes).unwrap();
        assert_eq!(files.len(), 70_000);
        assert_eq!(files[69_999], ("69999.md".to_owned(), b"69999".to_vec()));
    }

    #[test]
    fn crc32_of_a_known_string() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn a_zip_reads_back_what_was_written() {
        let mut z = ZipWriter::new();
        let mut bytes = z.add("a.md", b"# A\nhello");
        bytes.extend(z.add("trash/b \u{e9}.md", "caf\u{e9}".as_bytes()));
        bytes.extend(z.finish());
        let files = unzip("x.zip", &bytes).unwrap();
        assert_eq!(
            files,
            [
                ("a.md".to_owned(), b"# A\nhello".to_vec()),
                (
                    "trash/b \u{e9}.md".to_owned(),
                    "caf\u{e9}".as_bytes().to_vec()
                )
            ]
        );
        assert!(unzip("x.zip", b"not a zip at all, no").is_err());
    }

    /// Zips written by another tool (Python's `zipfile`, deflated, with a folder entry and
    /// a file that is not a note): read like Tern's own.
    #[test]
    fn a_deflated_zip_from_another_tool_is_imported() {
        let zip = include_bytes!("../tests/fixtures/deflated.zip");
        let notes = parse_file("Export.zip", zip).unwrap();
        let got: Vec<(&str, bool)> = notes
            .iter()
            .map(|n| (n.title.as_str(), n.content.contains("bread, bread")))
            .collect();
        assert_eq!(got, [("Groceries", true), ("plain", false)]);
        assert_eq!(notes[1].content, "A plain text note.\n");
    }

    /// A zip that inflates past the import limit is refused before it is unpacked in full,
    /// and a compression Tern does not read says so.
    #[test]
    fn a_zip_bomb_and_unknown_compression_are_refused() {
        let bomb = include_bytes!("../tests/fixtures/bomb.zip");
        assert!(bomb.len() < 100_000, "a small file");
        let err = unzip("bomb.zip", bomb).unwrap_err();
        assert!(matches!(err, ImportError::TooLarge(_)), "{err}");
        let err = unzip("b.zip", include_bytes!("../tests/fixtures/bzip2.zip")).unwrap_err();
        assert!(err.to_string().contains("does not read"), "{err}");
    }

    /// A crafted zip: one deflated entry that inflates to nothing (many empty stored
    /// blocks), and a central directory of 65,535 entries that all point at it. Reading
    /// the file once must be all the work: it is refused as overlapping (it used to inflate
    /// the entry 65,535 times, minutes of the page's main thread for a 64 MiB file).
    #[test]
    fn entries_that_share_their_bytes_are_refused_without_inflating_each() {
        // An empty stored deflate block: BFINAL=0, BTYPE=00, LEN=0, NLEN=0xffff.
        let mut deflate = [0u8, 0, 0, 0xff, 0xff].repeat(4000);
        deflate.extend_from_slice(&[1, 0, 0, 0xff, 0xff]); // the final one
        let mut z = Vec::new();
        let local_header = |z: &mut Vec<u8>, name: &[u8], size: usize| {
            z.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
            z.extend_from_slice(&[20, 0, 0, 0, 8, 0, 0, 0, 0, 0]);
            z.extend_from_slice(&0u32.to_le_bytes()); // crc of nothing
            z.extend_from_slice(&(size as u32).to_le_bytes());
            z.extend_from_slice(&0u32.to_le_bytes());
            z.extend_from_slice(&(name.len() as u16).to_le_bytes());
            z.extend_from_slice(&0u16.to_le_bytes());
            z.extend_from_slice(name);
        };
        local_header(&mut z, b"a.md", deflate.len());
        z.extend_from_slice(&deflate);
        let central_at = z.len();
        let entries = 65_535usize;
        for i in 0..entries {
            let name = format!("{i:05}.md");
            z.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
            z.extend_from_slice(&[20, 0, 20, 0, 0, 0, 8, 0, 0, 0, 0, 0]);
            z.extend_from_slice(&0u32.to_le_bytes());
            z.extend_from_slice(&(deflate.len() as u32).to_le_bytes());
            z.extend_from_slice(&0u32.to_le_bytes());
            z.extend_from_slice(&(name.len() as u16).to_le_bytes());
            z.extend_from_slice(&[0; 12]); // extra, comment, disk, attributes
            z.extend_from_slice(&0u32.to_le_bytes()); // every entry: the one local header
            z.extend_from_slice(name.as_bytes());
        }
        let central_len = z.len() - central_at;
        z.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
        z.extend_from_slice(&[0, 0, 0, 0]);
        z.extend_from_slice(&(entries as u16).to_le_bytes());
        z.extend_from_slice(&(entries as u16).to_le_bytes());
        z.extend_from_slice(&(central_len as u32).to_le_bytes());
        z.extend_from_slice(&(central_at as u32).to_le_bytes());
        z.extend_from_slice(&0u16.to_le_bytes());
        let err = unzip("crafted.zip", &z).unwrap_err();
        assert!(err.to_string().contains("overlap"), "{err}");
    }

    #[test]
    fn plain_markdown_and_text_files_become_notes() {
        let n = from_text("notes/Groceries.md", "# Shopping\neggs\nmilk").unwrap();
        assert_eq!(
            (n.title.as_str(), n.content.as_str()),
            ("Shopping", "eggs\nmilk")
        );
        let n = from_text("Ideas.md", "no heading here").unwrap();
        assert_eq!(
            (n.title.as_str(), n.content.as_str()),
            ("Ideas", "no heading here")
        );
        let n = from_text("todo.txt", "# not a heading in text\n").unwrap();
        assert_eq!(n.title, "todo");
        assert_eq!(n.content, "# not a heading in text\n");
        // Another tool's front matter: its title, the rest left out.
        let n = from_text("x.md", "---\ntitle: Trip\ntags: [a, b]\n---\nPack").unwrap();
        assert_eq!((n.title.as_str(), n.content.as_str()), ("Trip", "Pack"));
        // Windows line ends.
        let n = from_text("w.md", "---\r\ntitle: Win\r\ntags: [a]\r\n---\r\nbody\r\n").unwrap();
        assert_eq!((n.title.as_str(), n.content.as_str()), ("Win", "body\r\n"));
        assert_eq!(n.file.unwrap().tags, ["a"]);
        let n = from_text("e.md", "---\ntitle: End\n---").unwrap();
        assert_eq!((n.title.as_str(), n.content.as_str()), ("End", ""));
        // A front matter that does not read: the whole file, as text.
        let bad = "---\nid: not valid!\ntitle: x\n---\n";
        let n = from_text("x.md", bad).unwrap();
        assert_eq!((n.title.as_str(), n.content.as_str()), ("x", bad));
        assert!(n.file.unwrap().kept_as_text);
    }
}
