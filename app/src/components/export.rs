//! "Export / import": every note out of Tern as one JSON file or a zip of Markdown files,
//! and back in (either of those, or `.md`/`.txt` files, or a folder of them). Works offline:
//! it reads and writes only the local store. The formats and the import rules are
//! `client::export`'s (documented in `docs/export-format.md`).
//!
//! The export is built and the files are read by `io::export`. The button is in the
//! start-up module; the open panel ([`ExportScreen`]), with the zip and JSON formats, is in
//! a module of its own, loaded on first use ([`super::lazy`]).

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::io::{self, ExportKind as Kind};
use crate::model::PageState;

use super::lazy::{LazyScreen, split};

/// The "Export / import" button and, while open, its panel.
#[component]
pub fn ExportImport() -> impl IntoView {
    let open = RwSignal::new(false);
    view! {
        <div class="trash-bar">
            <button type="button" aria-expanded=move || open.get().to_string()
                on:click=move |_| open.update(|o| *o = !*o)>
                {move || if open.get() { "Close export / import" } else { "Export / import" }}
            </button>
        </div>
        <Show when=move || open.get()>
            <LazyScreen load=export_screen/>
        </Show>
    }
}

/// The open panel.
#[component]
pub fn ExportScreen() -> impl IntoView {
    let app = PageState::get();
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
            match io::export::export(kind, with_history.get_untracked()).await {
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
            match io::export::import(ev, folder).await {
                Ok((r, problems)) => {
                    let mut m = format!(
                        "Imported {} note{}",
                        r.added,
                        if r.added == 1 { "" } else { "s" }
                    );
                    if r.records > 0 {
                        m.push_str(&if r.records == 1 {
                            " and 1 notebook or tag".to_owned()
                        } else {
                            format!(" and {} notebooks and tags", r.records)
                        });
                    }
                    if r.duplicates > 0 {
                        m.push_str(&format!(
                            "; {} already here (same note id), skipped",
                            r.duplicates
                        ));
                    }
                    m.push('.');
                    if r.cut > 0 {
                        m.push_str(&format!(
                            " {} kept in part (over a limit: at most {} tags a note, {} \
                             folder levels, names of {} characters).",
                            r.cut,
                            sync_core::fields::MAX_SET_ITEMS,
                            client::export::MAX_FOLDER_DEPTH,
                            client::export::MAX_NAME_CHARS
                        ));
                    }
                    if r.kept_as_text > 0 {
                        m.push_str(&format!(
                            " {} with front matter Tern could not read: kept whole as text.",
                            r.kept_as_text
                        ));
                    }
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
    }
}

split!(
    /// The open export and import panel (and the export formats).
    export_screen,
    export,
    || view! { <ExportScreen/> }.into_any()
);
