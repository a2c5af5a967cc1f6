//! Export and import: the user's notes out of Tern and back, without the server.
//!
//! Two export formats, both documented in `docs/export-format.md`:
//! - **JSON** (`tern-export`, [`VERSION`]): every note with its conflict state and the
//!   notes in the trash; importing it back gives the same notes (a round trip compares
//!   equal). Written in pieces ([`json_head`], [`json_notes`], [`json_tail`]) so a large
//!   export is built chunk by chunk, never as one string.
//! - **Markdown**: one `.md` file per note with YAML front matter (`id`, `title`,
//!   `updated`, and `strategy`, `conflict`, `deleted` when set), in one zip ([`ZipWriter`],
//!   entries stored uncompressed; notes in the trash under `trash/`).
//!
//! Import reads either, or any `.md`/`.txt` files (a folder): [`parse_file`] turns each
//! file into [`ExportedNote`]s; [`crate::local::Notes::import`] adds those whose id is not
//! on the device yet (duplicates are detected by note id and skipped) as new edits that
//! sync like any other.

use serde::{Deserialize, Serialize};
use sync_core::{Conflict, Hlc, NoteId, Strategy};

use crate::local::{LocalNote, LocalStore, Notes, StoreError, SyncState, Trashed};

/// The `format` field of a JSON export.
pub const FORMAT: &str = "tern-export";
/// The version of the JSON export written by this build (read: this one only).
pub const VERSION: u32 = 1;
/// Largest file an import reads, in bytes (a JSON export of 100,000 short notes is about
/// 25 MB). Bounds the memory one import can take in the tab.
pub const MAX_IMPORT_BYTES: usize = 64 * 1024 * 1024;
/// Notes an export reads from the store at a time (then yields to the page).
pub const EXPORT_CHUNK: usize = 2000;
/// Notes an import checks and writes at a time (one read and one write transaction).
pub const IMPORT_BATCH: usize = 500;

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
        Some(Self {
            id: n.id.clone(),
            title,
            content,
            hlc: Some(n.hlc.clone()),
            strategy: n.strategy,
            conflict: n.conflict.clone(),
            deleted_ms,
            history: None,
        })
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

/// Parses a JSON export (this format and version only).
pub fn parse_json(name: &str, bytes: &[u8]) -> Result<Vec<ExportedNote>, ImportError> {
    #[derive(Deserialize)]
    struct Head {
        format: Option<String>,
        version: Option<u32>,
    }
    let head: Head = serde_json::from_slice(bytes).map_err(|e| invalid(name, e.to_string()))?;
    if head.format.as_deref() != Some(FORMAT) {
        return Err(invalid(
            name,
            "not a Tern export (no \"format\": \"tern-export\")",
        ));
    }
    if head.version != Some(VERSION) {
        return Err(invalid(
            name,
            format!(
                "export version {:?}; this app reads version {VERSION}: update the app",
                head.version
            ),
        ));
    }
    let export: Export = serde_json::from_slice(bytes).map_err(|e| invalid(name, e.to_string()))?;
    for n in &export.notes {
        if !n.id.is_valid() {
            return Err(invalid(name, format!("note id {:?} is not valid", n.id.0)));
        }
    }
    Ok(export.notes)
}

/// A file name for note `n`: its title's words, then its id (unique), `.md`.
pub fn markdown_name(n: &ExportedNote) -> String {
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
    let dir = if n.deleted_ms.is_some() { "trash/" } else { "" };
    format!("{dir}{slug}-{}.md", n.id)
}

/// Note `n` as Markdown with YAML front matter. Values are JSON (a subset of YAML), so
/// any title survives.
pub fn to_markdown(n: &ExportedNote) -> String {
    let json = |v: &dyn erased::Json| v.json();
    let mut out = String::from("---\n");
    out.push_str(&format!("id: {}\n", n.id));
    out.push_str(&format!("title: {}\n", json(&n.title)));
    if let Some(h) = &n.hlc {
        out.push_str(&format!("updated: {}\n", json(&h.to_string())));
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
    out.push_str(&n.content);
    out
}

/// Serializing front matter values through one function (a trait object keeps
/// `to_markdown` short).
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

/// A Markdown or text file as a note: front matter (if any) gives the id, title, clock,
/// strategy, conflict and trash state; else the title is the first `# ` heading (removed
/// from the body) or the file name. A file without an id gets a new one.
pub fn from_text(name: &str, text: &str) -> Result<ExportedNote, ImportError> {
    let stem = name
        .rsplit('/')
        .next()
        .unwrap_or(name)
        .trim_end_matches(".md")
        .trim_end_matches(".markdown")
        .trim_end_matches(".txt")
        .to_owned();
    let mut note = ExportedNote {
        id: NoteId(crate::platform::random_id()),
        title: stem,
        content: text.to_owned(),
        hlc: None,
        strategy: Strategy::Default,
        conflict: None,
        deleted_ms: None,
        history: None,
    };
    let is_markdown = !name.ends_with(".txt");
    if let Some(rest) = text.strip_prefix("---\n").filter(|_| is_markdown)
        && let Some(end) = rest
            .find("\n---\n")
            .or_else(|| rest.ends_with("\n---").then(|| rest.len() - 4))
    {
        let (front, body) = (&rest[..end], rest.get(end + 5..).unwrap_or(""));
        let mut titled = false;
        for line in front.lines() {
            let Some((k, v)) = line.split_once(':') else {
                continue;
            };
            let v = v.trim();
            let bad = |what: &str| invalid(name, format!("front matter `{k}`: {what}"));
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
                "updated" => {
                    let s: String = serde_json::from_str(v).unwrap_or_else(|_| v.to_owned());
                    note.hlc = Some(s.parse().map_err(|_| bad("not a Tern clock"))?);
                }
                "strategy" => note.strategy = v.parse().map_err(|e: String| bad(&e))?,
                "deleted" => note.deleted_ms = Some(v.parse().map_err(|_| bad("not a time"))?),
                "conflict" => {
                    note.conflict = Some(serde_json::from_str(v).map_err(|e| bad(&e.to_string()))?)
                }
                _ => {} // other tools' keys (tags, dates) are left out
            }
        }
        note.content = body.to_owned();
        if titled {
            return Ok(note);
        }
    }
    if is_markdown
        && let Some(first) = note.content.lines().next()
        && let Some(h) = first.strip_prefix("# ")
    {
        note.title = h.trim().to_owned();
        note.content = note.content[first.len()..]
            .trim_start_matches('\n')
            .to_owned();
    }
    Ok(note)
}

/// The notes in one imported file: a JSON export (`.json`), a zip of Markdown files
/// (`.zip`: its `.md` and `.txt` entries), or one `.md`/`.txt` file.
pub fn parse_file(name: &str, bytes: &[u8]) -> Result<Vec<ExportedNote>, ImportError> {
    if bytes.len() > MAX_IMPORT_BYTES {
        return Err(ImportError::TooLarge(name.to_owned()));
    }
    let lower = name.to_lowercase();
    let text = |b: &[u8]| {
        std::str::from_utf8(b)
            .map(str::to_owned)
            .map_err(|_| invalid(name, "not UTF-8 text"))
    };
    if lower.ends_with(".json") {
        parse_json(name, bytes)
    } else if lower.ends_with(".zip") {
        let mut notes = Vec::new();
        for (entry, data) in unzip(name, bytes)? {
            let l = entry.to_lowercase();
            if l.ends_with(".md") || l.ends_with(".markdown") || l.ends_with(".txt") {
                notes.push(from_text(&entry, &text(&data)?)?);
            }
        }
        Ok(notes)
    } else if lower.ends_with(".md") || lower.ends_with(".markdown") || lower.ends_with(".txt") {
        Ok(vec![from_text(name, &text(bytes)?)?])
    } else {
        Err(invalid(
            name,
            "import reads .json, .zip, .md and .txt files",
        ))
    }
}

/// What an import did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Notes added.
    pub added: usize,
    /// Notes skipped because a note with the same id is on the device already.
    pub duplicates: usize,
}

impl<S: LocalStore> Notes<S> {
    /// Adds `notes` whose id is not on the device yet; the others are duplicates and are
    /// skipped (the device's version stays). Live notes are new edits (pending: they sync
    /// like any other); notes in the trash go to the trash. A conflict comes along as
    /// versions only this device has (the user chooses, as for any local conflict).
    pub async fn import(&self, notes: Vec<ExportedNote>) -> Result<ImportReport, StoreError> {
        let mut report = ImportReport::default();
        let mut seen = std::collections::HashSet::new();
        let mut notes = notes.into_iter().peekable();
        while notes.peek().is_some() {
            // A batch at a time: one read of the ids already here, one write.
            let batch: Vec<ExportedNote> = notes.by_ref().take(IMPORT_BATCH).collect();
            let ids: Vec<NoteId> = batch.iter().map(|n| n.id.clone()).collect();
            let here: std::collections::HashSet<NoteId> = self
                .store
                .get_many(&ids)
                .await?
                .into_iter()
                .map(|n| n.id)
                .collect();
            let mut new = Vec::with_capacity(batch.len());
            for n in batch {
                if here.contains(&n.id) || !seen.insert(n.id.clone()) {
                    report.duplicates += 1;
                    continue;
                }
                new.push(self.imported(n).await?);
            }
            self.store.put_many(&new).await?;
            report.added += new.len();
        }
        Ok(report)
    }

    /// The local note an imported one becomes.
    async fn imported(&self, n: ExportedNote) -> Result<LocalNote, StoreError> {
        let hlc = match n.hlc {
            Some(h) => h,
            None => self.stamp(None, false).await?,
        };
        let trashed = n.deleted_ms.is_some();
        Ok(LocalNote {
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
            conflict: n.conflict,
            resolving: false,
            trash: n.deleted_ms.map(|d| Trashed {
                title: n.title,
                content: n.content,
                deleted_ms: d,
            }),
            purge: false,
            fields: Default::default(),
            field_edits: Default::default(),
        })
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

    /// The central directory and its end: the last bytes of the file.
    pub fn finish(self) -> Vec<u8> {
        let mut out = self.central;
        let size = out.len() as u32;
        out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
        out.extend_from_slice(&[0; 4]);
        let n = (self.entries.min(0xFFFF) as u16).to_le_bytes();
        out.extend_from_slice(&n);
        out.extend_from_slice(&n);
        out.extend_from_slice(&size.to_le_bytes());
        out.extend_from_slice(&(self.offset as u32).to_le_bytes());
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
    let mut budget = MAX_IMPORT_BYTES;
    let mut unread = z.len();
    let bad = |why: &str| invalid(name, why);
    let u16_at = |i: usize| {
        z.get(i..i + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]) as usize)
    };
    let u32_at = |i: usize| {
        z.get(i..i + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    };
    let end = (0..z.len().saturating_sub(21))
        .rev()
        .take(66_000)
        .find(|&i| u32_at(i) == Some(0x0605_4b50))
        .ok_or_else(|| bad("not a zip file"))?;
    let count = u16_at(end + 10).ok_or_else(|| bad("truncated"))?;
    let mut at = u32_at(end + 16).ok_or_else(|| bad("truncated"))?;
    let mut files = Vec::with_capacity(count);
    for _ in 0..count {
        if u32_at(at) != Some(0x0201_4b50) {
            return Err(bad("damaged central directory"));
        }
        let method = u16_at(at + 10).ok_or_else(|| bad("truncated"))?;
        let size = u32_at(at + 20).ok_or_else(|| bad("truncated"))?;
        let (n, extra, comment) = (
            u16_at(at + 28).ok_or_else(|| bad("truncated"))?,
            u16_at(at + 30).ok_or_else(|| bad("truncated"))?,
            u16_at(at + 32).ok_or_else(|| bad("truncated"))?,
        );
        let local = u32_at(at + 42).ok_or_else(|| bad("truncated"))?;
        let entry = String::from_utf8_lossy(
            z.get(at + 46..at + 46 + n)
                .ok_or_else(|| bad("truncated"))?,
        )
        .into_owned();
        at += 46 + n + extra + comment;
        if entry.ends_with('/') {
            continue;
        }
        let (ln, lextra) = (
            u16_at(local + 26).ok_or_else(|| bad("truncated"))?,
            u16_at(local + 28).ok_or_else(|| bad("truncated"))?,
        );
        let start = local + 30 + ln + lextra;
        let data = z.get(start..start + size).ok_or_else(|| bad("truncated"))?;
        unread = unread
            .checked_sub(30 + ln + lextra + size)
            .ok_or_else(|| bad("damaged: its entries overlap"))?;
        let data = match method {
            0 => data.to_vec(),
            8 => miniz_oxide::inflate::decompress_to_vec_with_limit(data, budget).map_err(|e| {
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
                        "{entry} is compressed in a way Tern does not read (only stored and \
                         deflated entries); unzip the file and import its folder instead"
                    ),
                ));
            }
        };
        if data.len() > budget {
            return Err(ImportError::TooLarge(format!("{name} (unpacked)")));
        }
        budget -= data.len();
        files.push((entry, data));
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(from_text("x.md", "---\nid: not valid!\ntitle: x\n---\n").is_err());
    }
}
