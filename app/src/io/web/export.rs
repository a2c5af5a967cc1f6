//! Export to a download and import from chosen files, on the local store (it works
//! offline). The formats and the import rules are `client::export`'s (documented in
//! `docs/export-format.md`).
//!
//! A large export is built chunk by chunk ([`client::export::EXPORT_CHUNK`] records at a
//! time, yielding to the page between chunks) into a `Blob` whose parts stay in the
//! browser's memory, not the wasm heap, so the tab keeps responding.

use client::export::{self, ImportReport, ZipWriter};
use js_sys::{Array, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use super::accounts::notes;
use super::api;
use super::page::sleep_ms;
use crate::io::ExportKind as Kind;
use sync_core::fields::Kind as NoteKind;

/// Builds the export and hands it to the browser as a download (`with_history`: each
/// note's history from the server, one request per note, JSON only). Returns how many
/// notes (not counting notebook and tag records).
pub async fn export(kind: Kind, with_history: bool) -> Result<usize, String> {
    let notes = notes().await?;
    let parts = Array::new();
    let now = client::platform::now_ms();
    let mut zip = ZipWriter::new();
    if kind == Kind::Json {
        parts.push(&JsValue::from_str(&export::json_head(now)));
    }
    // A Markdown export first reads the notebooks and tags (their folders and names),
    // chunk by chunk like the export itself: a note may come before its notebook.
    let mut layout = export::MarkdownLayout::new();
    if kind == Kind::Markdown {
        let mut after = None;
        loop {
            let (chunk, next) = notes
                .export_chunk(after.as_ref())
                .await
                .map_err(|e| e.to_string())?;
            layout.add(&chunk);
            let Some(n) = next else { break };
            after = Some(n);
            sleep_ms(0).await;
        }
        layout.finish();
    }
    let (mut after, mut count, mut written) = (None, 0, false);
    loop {
        let (mut chunk, next) = notes
            .export_chunk(after.as_ref())
            .await
            .map_err(|e| e.to_string())?;
        if with_history && kind == Kind::Json {
            for n in &mut chunk {
                // Offline or signed out: the export goes on without it.
                n.history = api::history(n.id.as_str()).await.ok();
            }
        }
        match kind {
            Kind::Json => {
                parts.push(&blob(&JsValue::from_str(&export::json_notes(
                    &chunk, !written,
                )))?);
                written |= !chunk.is_empty();
            }
            Kind::Markdown => {
                // One part per chunk, not per note: a Blob of 100,000 parts took the
                // browser a long pause to build.
                let mut bytes = Vec::new();
                // Records (notebooks, tags) are folders and front matter, not files.
                for n in chunk.iter().filter(|n| n.kind == NoteKind::Note) {
                    bytes.extend(zip.add(&layout.name(n), layout.markdown(n).as_bytes()));
                }
                parts.push(&blob(&Uint8Array::from(&bytes[..]))?);
            }
        }
        // Notes, as the user counts them (notebooks and tags are not).
        count += chunk.iter().filter(|n| n.kind == NoteKind::Note).count();
        let Some(n) = next else { break };
        after = Some(n);
        sleep_ms(0).await; // let the page paint and take input between chunks
    }
    let (name, mime) = match kind {
        Kind::Json => {
            parts.push(&JsValue::from_str(export::json_tail()));
            ("tern-notes.json", "application/json")
        }
        Kind::Markdown => {
            parts.push(&blob(&Uint8Array::from(&zip.finish()[..]))?);
            ("tern-notes.zip", "application/zip")
        }
    };
    sleep_ms(0).await;
    download(&parts, name, mime)?;
    // The file names of 100,000 notes are freed on a turn of their own (about 30 ms).
    sleep_ms(0).await;
    drop(layout);
    Ok(count)
}

/// A chunk's part of the export as a `Blob` of its own: the browser copies a part's bytes
/// when a `Blob` is made of it, and a `Blob` made of blobs only refers to them, so the copy
/// is paid chunk by chunk, not all at the end (the final `Blob` of a 30 MB zip held the page
/// for about 50 ms, with the rest of the last step 100 ms without a frame). `part` is bytes
/// (a `Uint8Array`) or a JS string, kept as UTF-8: `new Blob([part])` either way, whatever
/// the binding's name says.
fn blob(part: &JsValue) -> Result<JsValue, String> {
    web_sys::Blob::new_with_u8_array_sequence(&Array::of1(part))
        .map(JsValue::from)
        .map_err(|e| format!("{e:?}"))
}

fn download(parts: &Array, name: &str, mime: &str) -> Result<(), String> {
    let err = |e: JsValue| format!("{e:?}");
    let opts = web_sys::BlobPropertyBag::new();
    opts.set_type(mime);
    let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(parts, &opts).map_err(err)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(err)?;
    let doc = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("no document")?;
    let a: web_sys::HtmlAnchorElement = doc
        .create_element("a")
        .map_err(err)?
        .dyn_into()
        .map_err(|_| "not an anchor".to_owned())?;
    a.set_href(&url);
    a.set_download(name);
    a.click();
    // The download has its own reference to the blob once started.
    let _ = web_sys::Url::revoke_object_url(&url);
    Ok(())
}

/// Imports the files chosen in `input` (a file picker or a folder picker). Files that
/// are not notes are skipped in a folder and refused otherwise.
pub async fn import(
    ev: leptos::ev::Event,
    folder: bool,
) -> Result<(ImportReport, Vec<String>), String> {
    let input: web_sys::HtmlInputElement = leptos::prelude::event_target(&ev);
    let r = import_from(&input, folder).await;
    input.set_value(""); // the same file can be chosen again
    r
}

async fn import_from(
    input: &web_sys::HtmlInputElement,
    folder: bool,
) -> Result<(ImportReport, Vec<String>), String> {
    let files = input.files().ok_or("no files chosen")?;
    let notes = notes().await?;
    let mut report = ImportReport::default();
    let mut problems = Vec::new();
    let mut pending = Vec::new();
    for i in 0..files.length() {
        let Some(file) = files.get(i) else { continue };
        let mut name = file.name();
        if folder {
            // The path inside the chosen folder (`Vault/Work/plan.md` → `Work/plan.md`):
            // its folders are notebooks; the chosen folder itself is none. Hidden folders
            // (`.obsidian/`, `.trash/`) hold other tools' settings and trash, not notes.
            let path = js_sys::Reflect::get(&file, &JsValue::from_str("webkitRelativePath"))
                .ok()
                .and_then(|p| p.as_string())
                .unwrap_or_default();
            if let Some((_, inside)) = path.split_once('/') {
                if export::is_hidden(inside) {
                    continue;
                }
                name = inside.to_owned();
            }
        }
        let lower = name.to_lowercase();
        let known = [".json", ".zip", ".md", ".markdown", ".txt"]
            .iter()
            .any(|e| lower.ends_with(e));
        if folder && (!known || lower.ends_with(".json") || lower.ends_with(".zip")) {
            continue; // a folder import reads its .md and .txt files
        }
        if file.size() > export::MAX_IMPORT_BYTES as f64 {
            problems.push(export::ImportError::TooLarge(name).to_string());
            continue;
        }
        let buf = JsFuture::from(file.array_buffer())
            .await
            .map_err(|e| format!("{e:?}"))?;
        let bytes = Uint8Array::new(&buf).to_vec();
        let parsed = read_file(&name, &bytes).await;
        match parsed {
            // Files' notes are written a batch at a time, not a file at a time: a folder
            // of 10,000 Markdown files is 20 transactions, not 10,000.
            Ok(mut parsed) => pending.append(&mut parsed),
            Err(e) => problems.push(e.to_string()),
        }
        if pending.len() >= export::IMPORT_BATCH {
            write(&notes, &mut pending, &mut report).await?;
        }
        sleep_ms(0).await;
    }
    write(&notes, &mut pending, &mut report).await?;
    Ok((report, problems))
}

/// Imports the notes read so far. The search index takes them in at its next read, by
/// the store's change sequence, like any other write.
async fn write(
    notes: &super::accounts::PageNotes,
    pending: &mut Vec<export::ExportedNote>,
    report: &mut ImportReport,
) -> Result<(), String> {
    if pending.is_empty() {
        return Ok(());
    }
    let r = notes
        .import(std::mem::take(pending))
        .await
        .map_err(|e| e.to_string())?;
    report.add(&r);
    Ok(())
}

/// The notes of one file, read a slice at a time with a yield to the page between slices
/// (a parse of 100,000 notes at once held the tab for about a second).
async fn read_file(
    name: &str,
    bytes: &[u8],
) -> Result<Vec<export::ExportedNote>, export::ImportError> {
    let mut file = export::FileImport::new(name, bytes)?;
    while !file.step(export::IMPORT_PARSE_SLICE)? {
        sleep_ms(0).await;
    }
    Ok(file.into_notes())
}
