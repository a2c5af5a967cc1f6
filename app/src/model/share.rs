//! Share into Tern: text or a link shared from another app becomes a new note (the offer
//! is shown by `components::share_offer`).
//!
//! The manifest (`public/manifest.webmanifest`) declares a `share_target`: Android and
//! Chromium open `/?share_title=…&share_text=…&share_url=…` (a GET, so the service
//! worker's cached page answers it offline too). At start the page reads those parameters,
//! replaces the address with `/` (a reload offers nothing twice) and **asks** "Save as a new
//! note?", showing the text. Nothing is written until the user says so: any website can
//! navigate a signed-in user to such an address (a GET needs no consent), so a visit alone
//! must not put a note (a fake "security notice", a phishing link) into the account and onto
//! every device. What is offered is bounded by the note limits before it is shown.

use leptos::prelude::*;
use sync_core::Text;
use sync_core::limits::{MAX_CONTENT_BYTES, MAX_TITLE_BYTES};

use super::{PageState, Pane, Ui, copy};
use crate::io::{self, Saved};

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

/// What a share offers to save: the note, or why it cannot be one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Offer {
    /// A note within the limits, waiting for the user's yes.
    Note(Text),
    /// The shared text is longer than a note may be (`MAX_TITLE_BYTES`/`MAX_CONTENT_BYTES`):
    /// shown cut short, and not saved (a note the server would refuse would sit in the
    /// outbox failing).
    TooLong(Text),
}

/// Bytes of a refused text shown in the offer (enough to recognise it).
const PREVIEW_BYTES: usize = 2000;

/// The offer for what was shared, bounded by the note limits.
pub fn offer(title: &str, text: &str, url: &str) -> Option<Offer> {
    let note = shared_note(title, text, url)?;
    if note.title.len() <= MAX_TITLE_BYTES && note.content.len() <= MAX_CONTENT_BYTES {
        return Some(Offer::Note(note));
    }
    Some(Offer::TooLong(Text {
        title: cut(&note.title, TITLE_CHARS * 4),
        content: cut(&note.content, PREVIEW_BYTES),
    }))
}

/// `s` cut to at most `max` bytes, on a character boundary.
fn cut(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}

/// The shared-text offer of this page (one per page), provided by the `App`.
#[derive(Clone, Copy, Debug)]
pub struct Shared(pub RwSignal<Option<Offer>>);

impl Shared {
    /// No offer yet.
    pub fn new() -> Self {
        Self(RwSignal::new(None))
    }
}

impl Default for Shared {
    fn default() -> Self {
        Self::new()
    }
}

/// If the page was opened by a share: takes the parameters off the address and offers the
/// text. Writes nothing.
pub fn receive(shared: Shared) {
    let Some((title, text, url)) = io::page::take_share_params() else {
        return;
    };
    shared.0.set(offer(&title, &text, &url));
}

/// Saves the offered note (the user said yes) and opens it.
pub async fn save(app: PageState, ui: Ui, note: Text) {
    let empty = Text {
        title: String::new(),
        content: String::new(),
    };
    match io::notes::save_draft(None, &empty, &note, false).await {
        Ok(Saved::Written { id, stored }) => {
            app.editor.load(app, Some(id), stored);
            ui.pane.set(Pane::Editor);
            app.notice.set("Shared into a new note.".into());
            app.changed();
        }
        Ok(_) => {}
        Err(e) => app.notice.set(format!(
            "The shared text was not saved: {}",
            copy::storage_error(&e)
        )),
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

    #[test]
    fn an_offer_is_bounded_by_the_note_limits() {
        assert_eq!(offer("", "", ""), None);
        assert!(matches!(offer("T", "short", ""), Some(Offer::Note(_))));
        let huge = "é".repeat(MAX_CONTENT_BYTES);
        let Some(Offer::TooLong(shown)) = offer("T", &huge, "") else {
            panic!("over the content limit is refused");
        };
        assert!(shown.content.len() <= PREVIEW_BYTES);
        let Some(Offer::TooLong(shown)) = offer(&"t".repeat(MAX_TITLE_BYTES + 1), "x", "") else {
            panic!("over the title limit is refused");
        };
        assert!(shown.title.len() <= TITLE_CHARS * 4);
    }
}
