//! Share into Tern: text or a link shared from another app becomes a new note.
//!
//! The manifest (`public/manifest.webmanifest`) declares a `share_target`: Android and
//! Chromium open `/?share_title=…&share_text=…&share_url=…` (a GET, so the service
//! worker's cached page answers it offline too). At start the page turns those parameters
//! into a new note, opens it, and replaces the address with `/`, so a reload does not add
//! it twice.

use leptos::prelude::*;
use sync_core::Text;

use crate::state::AppState;
use crate::ui::{Pane, Ui};

/// The query parameters of the share target (the manifest's `params`).
pub const PARAMS: [&str; 3] = ["share_title", "share_text", "share_url"];

/// Longest title taken from shared text (characters) when none is given.
const TITLE_CHARS: usize = 80;

/// The note made of what was shared, or `None` when nothing was. Android puts a shared
/// link in `text` more often than in `url`, so the link is added only when the text does
/// not already hold it; without a title, the first line of the text (or the link) is it.
pub fn shared_note(title: &str, text: &str, url: &str) -> Option<Text> {
    let (title, text, url) = (title.trim(), text.trim(), url.trim());
    if title.is_empty() && text.is_empty() && url.is_empty() {
        return None;
    }
    let mut content = text.to_owned();
    if !url.is_empty() && !text.contains(url) {
        if !content.is_empty() {
            content.push_str("\n\n");
        }
        content.push_str(url);
    }
    let title = if title.is_empty() {
        content
            .lines()
            .next()
            .unwrap_or_default()
            .chars()
            .take(TITLE_CHARS)
            .collect()
    } else {
        title.to_owned()
    };
    Some(Text { title, content })
}

/// If the page was opened by a share: saves the shared note and opens it.
pub async fn receive(app: AppState, ui: Ui) {
    let Some((title, text, url)) = imp::take_params() else {
        return;
    };
    let Some(note) = shared_note(&title, &text, &url) else {
        return;
    };
    let empty = Text {
        title: String::new(),
        content: String::new(),
    };
    match crate::browser::save_draft(None, &empty, &note).await {
        Ok(crate::browser::Saved::Written { id, stored }) => {
            app.editor.load(app, Some(id), stored);
            ui.pane.set(Pane::Editor);
            app.notice.set("Shared into a new note.".into());
            app.changed();
        }
        Ok(_) => {}
        Err(e) => app
            .notice
            .set(format!("The shared text was not saved: {e}")),
    }
}

#[cfg(feature = "hydrate")]
mod imp {
    use super::PARAMS;

    /// The shared title, text and link, if the address carries any; the address becomes
    /// `/` (keeping no share parameters for a reload).
    pub fn take_params() -> Option<(String, String, String)> {
        let w = web_sys::window()?;
        let search = w.location().search().ok()?;
        let params = web_sys::UrlSearchParams::new_with_str(&search).ok()?;
        if !PARAMS.iter().any(|p| params.has(p)) {
            return None;
        }
        let get = |k| params.get(k).unwrap_or_default();
        let found = (get(PARAMS[0]), get(PARAMS[1]), get(PARAMS[2]));
        if let Ok(h) = w.history() {
            let _ = h.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some("/"));
        }
        Some(found)
    }
}

#[cfg(not(feature = "hydrate"))]
mod imp {
    pub fn take_params() -> Option<(String, String, String)> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_text_and_links_become_a_note() {
        assert_eq!(shared_note(" ", "", ""), None);
        let n = shared_note(
            "",
            "Look at this https://a.example/x",
            "https://a.example/x",
        )
        .unwrap();
        assert_eq!(
            n.content, "Look at this https://a.example/x",
            "the link once"
        );
        assert_eq!(n.title, "Look at this https://a.example/x");
        let n = shared_note("Article", "Worth reading", "https://a.example/y").unwrap();
        assert_eq!(
            (n.title.as_str(), n.content.as_str()),
            ("Article", "Worth reading\n\nhttps://a.example/y")
        );
        let n = shared_note("", "", "https://a.example/z").unwrap();
        assert_eq!(
            (n.title.as_str(), n.content.as_str()),
            ("https://a.example/z", "https://a.example/z")
        );
        let long = "x".repeat(500);
        assert_eq!(shared_note("", &long, "").unwrap().title.len(), TITLE_CHARS);
    }
}
