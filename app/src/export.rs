//! "Export / import": every note out of Tern as one JSON file or a zip of Markdown files,
//! and back in (either of those, or `.md`/`.txt` files, or a folder of them). Works offline:
//! it reads and writes only the local store. The formats and the import rules are
//! `client::export`'s (documented in `docs/export-format.md`).
//!
//! A large export is built chunk by chunk ([`client::export::EXPORT_CHUNK`] records at a
//! time, yielding to the page between chunks) into a `Blob` whose parts stay in the
//! browser's memory, not the wasm heap, so the tab keeps responding.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::state::AppState;

/// Which export.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// One JSON file (lossless).
    Json,
    /// A zip of Markdown files with front matter.
    Markdown,
}

#[cfg(feature = "hydrate")]
mod io {
    use client::export::{self, ImportReport, ZipWriter};
    use js_sys::{Array, Uint8Array};
    use wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;

    use super::Kind;
    use crate::browser::{notes, sleep_ms};

    /// The note's history from the server (`None` when it cannot be read: offline, signed
    /// out; the export then goes on without it).
    async fn history(id: &str) -> Option<Vec<sync_core::protocol::Revision>> {
        let resp = gloo_net::http::Request::get(&format!("/notes/{id}/history"))
            .send()
            .await
            .ok()
            .filter(|r| r.ok())?;
        let h: sync_core::protocol::HistoryResponse = resp.json().await.ok()?;
        Some(h.revisions)
    }

    /// Builds the export and hands it to the browser as a download (`with_history`: each
    /// note's history from the server, one request per note, JSON only). Returns how many
    /// notes.
    pub async fn export(kind: Kind, with_history: bool) -> Result<usize, String> {
        let notes = notes().await?;
        let parts = Array::new();
        let now = client::platform::now_ms();
        let mut zip = ZipWriter::new();
        if kind == Kind::Json {
            parts.push(&JsValue::from_str(&export::json_head(now)));
        }
        let (mut after, mut count) = (None, 0);
        loop {
            let (mut chunk, next) = notes
                .export_chunk(after.as_ref())
                .await
                .map_err(|e| e.to_string())?;
            if with_history && kind == Kind::Json {
                for n in &mut chunk {
                    n.history = history(n.id.as_str()).await;
                }
            }
            match kind {
                Kind::Json => {
                    parts.push(&JsValue::from_str(&export::json_notes(&chunk, count == 0)));
                }
                Kind::Markdown => {
                    for n in &chunk {
                        let bytes =
                            zip.add(&export::markdown_name(n), export::to_markdown(n).as_bytes());
                        parts.push(&Uint8Array::from(&bytes[..]));
                    }
                }
            }
            count += chunk.len();
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
                parts.push(&Uint8Array::from(&zip.finish()[..]));
                ("tern-notes.zip", "application/zip")
            }
        };
        download(&parts, name, mime)?;
        Ok(count)
    }

    fn download(parts: &Array, name: &str, mime: &str) -> Result<(), String> {
        let err = |e: JsValue| format!("{e:?}");
        let opts = web_sys::BlobPropertyBag::new();
        opts.set_type(mime);
        let blob =
            web_sys::Blob::new_with_u8_array_sequence_and_options(parts, &opts).map_err(err)?;
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
        for i in 0..files.length() {
            let Some(file) = files.get(i) else { continue };
            let name = file.name();
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
            match export::parse_file(&name, &bytes) {
                Ok(parsed) => {
                    // The search index takes the new notes in at its next read, by the
                    // store's change sequence, like any other write.
                    let r = notes.import(parsed).await.map_err(|e| e.to_string())?;
                    report.added += r.added;
                    report.duplicates += r.duplicates;
                }
                Err(e) => problems.push(e.to_string()),
            }
            sleep_ms(0).await;
        }
        Ok((report, problems))
    }
}

#[cfg(not(feature = "hydrate"))]
mod io {
    use super::Kind;
    use client::export::ImportReport;
    pub async fn export(_: Kind, _: bool) -> Result<usize, String> {
        Ok(0)
    }
    pub async fn import(
        _: leptos::ev::Event,
        _: bool,
    ) -> Result<(ImportReport, Vec<String>), String> {
        Ok((ImportReport::default(), Vec::new()))
    }
}

/// The "Export / import" button and, while open, its panel.
/// Every note on this device as one JSON file (the lossless export), downloaded; how many
/// notes it holds. Offered where notes are at risk (the storage notice).
pub async fn export_all_json() -> Result<usize, String> {
    io::export(Kind::Json, false).await
}

#[component]
pub fn ExportImport() -> impl IntoView {
    let app = AppState::get();
    let open = RwSignal::new(false);
    let message = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let with_history = RwSignal::new(false);
    // `webkitdirectory` (pick a folder) is no attribute the view macro knows.
    let folder_input: NodeRef<leptos::html::Input> = NodeRef::new();
    Effect::new(move |_| {
        if let Some(el) = folder_input.get() {
            let _ = el.set_attribute("webkitdirectory", "");
        }
    });
    let export = move |kind: Kind| {
        busy.set(true);
        message.set("Exporting…".into());
        spawn_local(async move {
            match io::export(kind, with_history.get_untracked()).await {
                Ok(n) => message.set(format!("Exported {n} notes.")),
                Err(e) => message.set(format!("Not exported: {e}")),
            }
            busy.set(false);
        });
    };
    let import = move |ev: leptos::ev::Event, folder: bool| {
        busy.set(true);
        message.set("Importing…".into());
        spawn_local(async move {
            match io::import(ev, folder).await {
                Ok((r, problems)) => {
                    let mut m = format!(
                        "Imported {} note{}",
                        r.added,
                        if r.added == 1 { "" } else { "s" }
                    );
                    if r.duplicates > 0 {
                        m.push_str(&format!(
                            "; {} already here (same note id), skipped",
                            r.duplicates
                        ));
                    }
                    m.push('.');
                    for p in problems {
                        m.push_str(&format!(" Not imported: {p}."));
                    }
                    message.set(m);
                    app.changed();
                }
                Err(e) => message.set(format!("Not imported: {e}")),
            }
            busy.set(false);
        });
    };
    view! {
        <div class="trash-bar">
            <button type="button" aria-expanded=move || open.get().to_string()
                on:click=move |_| open.update(|o| *o = !*o)>
                {move || if open.get() { "Close export / import" } else { "Export / import" }}
            </button>
        </div>
        <Show when=move || open.get()>
            <section class="settings" data-testid="export-import" aria-label="Export and import">
                <h2>"Export"</h2>
                <p>"Every note on this device, with its conflicts and the trash, from this \
                    device (works offline)."</p>
                <div class="row">
                    <input id="export-history" type="checkbox"
                        prop:checked=move || with_history.get()
                        on:change=move |ev| with_history.set(event_target_checked(&ev))/>
                    <label for="export-history">
                        "With each note's history from the server (JSON; one request per note)"
                    </label>
                </div>
                <div class="row">
                    <button type="button" disabled=move || busy.get()
                        on:click=move |_| export(Kind::Json)>"Export JSON"</button>
                    <button type="button" disabled=move || busy.get()
                        on:click=move |_| export(Kind::Markdown)>"Export Markdown (.zip)"</button>
                </div>
                <h2>"Import"</h2>
                <p>"A Tern export (.json or .zip), or Markdown and text files. Notes already \
                    here (same note id) are skipped."</p>
                <div class="row">
                    <label for="import-files">"Files"</label>
                    <input id="import-files" type="file" multiple
                        accept=".json,.zip,.md,.markdown,.txt"
                        on:change=move |ev| import(ev, false)/>
                    <label for="import-folder">"A folder"</label>
                    <input id="import-folder" type="file" multiple node_ref=folder_input
                        on:change=move |ev| import(ev, true)/>
                </div>
                <p role="status" data-testid="export-message">{move || message.get()}</p>
            </section>
        </Show>
    }
}
