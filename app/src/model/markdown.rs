//! Notes are Markdown: the preview, and checklists that toggle from it.
//!
//! [`render`] turns a note's text into HTML with `pulldown-cmark` (CommonMark plus tables,
//! strikethrough and task lists) through a writer of our own, not the crate's HTML writer,
//! because that one passes raw HTML through. What it writes is safe to put in the page as
//! it is:
//!
//! - **No raw HTML.** HTML blocks and inline HTML in a note are shown as the text they are
//!   (escaped), never as elements; every text and attribute value is escaped.
//! - **Links** keep their target only for `http:`, `https:`, `mailto:` and relative URLs
//!   (no scheme); any other (`javascript:`, `data:`, `vbscript:`, a scheme hidden by control
//!   characters) leaves the link's text without a link. Links open in a new tab with
//!   `rel="noopener noreferrer nofollow"`.
//! - **Images are never loaded**: an image is written as a link to it ("🖼 alt text"), so a
//!   note cannot make the page fetch anything, from this origin or another. (The page's
//!   Content-Security-Policy would block other origins anyway; this also keeps a note
//!   from tracking when it is read.)
//! - No `style`, no `id`, no event attributes: the writer only writes the few attributes
//!   listed here (`href`, `title`, `rel`, `target`, `class`, `type`, `checked`,
//!   `data-task`, `aria-label`, and `data-note`/`data-create` on links between notes).
//! - **Links between notes** (`[[...]]`, [`client::links`]) go nowhere by URL: `href="#"`
//!   and the note's id (`data-note`) or the title to create (`data-create`), which the
//!   preview's click handler reads; a note's text cannot reach another origin through them.
//!
//! A task list item (`- [ ]`, `- [x]`) becomes a checkbox carrying the byte offset of its
//! marker in the note (`data-task`); [`toggle_task`] flips that marker in the text, and the
//! editor saves the result like any edit, so it syncs.
//!
//! Cost: parsing is linear in the note's length, and a note is at most
//! `sync_core::limits` long; the preview renders only while it is shown.

use client::links::Target;
use pulldown_cmark::{CodeBlockKind, Event, LinkType, Options, Parser, Tag, TagEnd};

use crate::io::LinkedNote;

/// The Markdown extensions the preview understands.
fn options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_WIKILINKS
}

/// A `[[link]]` being written: its target (`None`: one [`client::links::links`] does not
/// take, written as the text it is, `source`), and its text.
struct Wiki {
    target: Option<Target>,
    source: std::ops::Range<usize>,
    label: String,
}

/// What the preview knows of a link's note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// The note, as it is now.
    Found(LinkedNote),
    /// No such note here.
    Missing,
    /// Not looked up (yet, or past the preview's budget): shown as text.
    Unknown,
}

/// Escapes `s` for HTML text and for attribute values in double quotes.
fn escape(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// Whether a link target may be kept: `http:`, `https:`, `mailto:`, or relative (no
/// scheme). Anything with a control character or whitespace is refused outright: browsers
/// drop tabs and newlines from URLs, so `java\tscript:` would run as `javascript:`.
pub fn safe_url(url: &str) -> bool {
    if url.is_empty() || url.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return false;
    }
    // A scheme is what comes before the first ':' when no '/', '?' or '#' comes earlier.
    let end = url.find([':', '/', '?', '#']);
    match end {
        Some(i) if url[i..].starts_with(':') => {
            let scheme = url[..i].to_ascii_lowercase();
            matches!(scheme.as_str(), "http" | "https" | "mailto")
        }
        _ => true,
    }
}

/// What an open link or image closes with, and whether it is being written as text.
enum Open {
    /// `</a>` (a kept link or image link).
    Link,
    /// `</span>` (a link whose target was refused).
    Plain,
}

/// The note's text as safe HTML (see the module docs).
pub fn render(src: &str) -> String {
    render_with(src, &|_| Lookup::Unknown)
}

/// [`render`], with the links between notes (`[[...]]`, see [`client::links`]) resolved
/// by `resolve`: a link to a note here shows the note's title as it is now and opens it
/// (`data-note`); a title no note has offers to create it (`data-create`); an id not here
/// shows the title it was linked with, without a link; a link not looked up shows its
/// text. Only the links [`client::links::links`] finds are links (the ones looked up and
/// listed as backlinks); another `[[...]]` the Markdown parser sees is shown as written.
pub fn render_with(src: &str, resolve: &dyn Fn(&Target) -> Lookup) -> String {
    let mut out = String::with_capacity(src.len() * 3 / 2);
    let mut links: Vec<Open> = Vec::new();
    let mut wiki: Option<Wiki> = None;
    let ours = client::links::links(src);
    let wiki_at = |range: &std::ops::Range<usize>| Wiki {
        target: ours
            .iter()
            .find(|l| l.range.start == range.start || l.range.start == range.start + 1)
            .map(|l| l.target.clone()),
        source: range.clone(),
        label: String::new(),
    };
    // Inside a table head, cells are <th>.
    let mut in_head = false;
    for (event, range) in Parser::new_ext(src, options()).into_offset_iter() {
        // Inside a `[[link]]`, only its text is kept; it is written at its end.
        if let Some(w) = wiki.as_mut() {
            match event {
                Event::Text(t) | Event::Code(t) => w.label.push_str(&t),
                Event::End(TagEnd::Link | TagEnd::Image) => {
                    let w = wiki.take().expect("inside a link");
                    match &w.target {
                        Some(t) => note_link(&mut out, &w, t, resolve(t)),
                        None => escape(&mut out, &src[w.source.clone()]),
                    }
                }
                _ => {}
            }
            continue;
        }
        match event {
            Event::Start(tag) => match tag {
                Tag::Paragraph => out.push_str("<p>"),
                Tag::Heading { level, .. } => {
                    // No id, classes or attributes from the note (the option is off).
                    out.push_str(&format!("<{level}>"));
                }
                Tag::BlockQuote(_) => out.push_str("<blockquote>"),
                Tag::CodeBlock(kind) => {
                    out.push_str("<pre><code");
                    if let CodeBlockKind::Fenced(lang) = kind
                        && !lang.is_empty()
                    {
                        out.push_str(" class=\"language-");
                        escape(&mut out, lang.split_whitespace().next().unwrap_or(""));
                        out.push('"');
                    }
                    out.push('>');
                }
                Tag::HtmlBlock => out.push_str("<p class=\"raw-html\">"),
                Tag::List(Some(1)) => out.push_str("<ol>"),
                Tag::List(Some(n)) => out.push_str(&format!("<ol start=\"{n}\">")),
                Tag::List(None) => out.push_str("<ul>"),
                Tag::Item => out.push_str("<li>"),
                Tag::Table(_) => out.push_str("<table>"),
                Tag::TableHead => {
                    in_head = true;
                    out.push_str("<thead><tr>");
                }
                Tag::TableRow => out.push_str("<tr>"),
                Tag::TableCell => out.push_str(if in_head { "<th>" } else { "<td>" }),
                Tag::Emphasis => out.push_str("<em>"),
                Tag::Strong => out.push_str("<strong>"),
                Tag::Strikethrough => out.push_str("<del>"),
                Tag::Superscript => out.push_str("<sup>"),
                Tag::Subscript => out.push_str("<sub>"),
                // `![[x]]` (an Obsidian embed) too: a link to the note.
                Tag::Link {
                    link_type: LinkType::WikiLink { .. },
                    ..
                }
                | Tag::Image {
                    link_type: LinkType::WikiLink { .. },
                    ..
                } => wiki = Some(wiki_at(&range)),
                Tag::Link {
                    dest_url, title, ..
                } => links.push(link(&mut out, &dest_url, &title, None)),
                Tag::Image {
                    dest_url, title, ..
                } => links.push(link(&mut out, &dest_url, &title, Some("🖼 "))),
                // Not enabled; written as nothing (their text still shows).
                Tag::FootnoteDefinition(_)
                | Tag::DefinitionList
                | Tag::DefinitionListTitle
                | Tag::DefinitionListDefinition
                | Tag::MetadataBlock(_) => {}
            },
            Event::End(end) => match end {
                TagEnd::Paragraph => out.push_str("</p>\n"),
                TagEnd::Heading(level) => out.push_str(&format!("</{level}>\n")),
                TagEnd::BlockQuote(_) => out.push_str("</blockquote>\n"),
                TagEnd::CodeBlock => out.push_str("</code></pre>\n"),
                TagEnd::HtmlBlock => out.push_str("</p>\n"),
                TagEnd::List(true) => out.push_str("</ol>\n"),
                TagEnd::List(false) => out.push_str("</ul>\n"),
                TagEnd::Item => out.push_str("</li>\n"),
                TagEnd::Table => out.push_str("</tbody></table>\n"),
                TagEnd::TableHead => {
                    in_head = false;
                    out.push_str("</tr></thead><tbody>");
                }
                TagEnd::TableRow => out.push_str("</tr>"),
                TagEnd::TableCell => out.push_str(if in_head { "</th>" } else { "</td>" }),
                TagEnd::Emphasis => out.push_str("</em>"),
                TagEnd::Strong => out.push_str("</strong>"),
                TagEnd::Strikethrough => out.push_str("</del>"),
                TagEnd::Superscript => out.push_str("</sup>"),
                TagEnd::Subscript => out.push_str("</sub>"),
                TagEnd::Link | TagEnd::Image => match links.pop() {
                    Some(Open::Link) => out.push_str("</a>"),
                    Some(Open::Plain) | None => out.push_str("</span>"),
                },
                TagEnd::FootnoteDefinition
                | TagEnd::DefinitionList
                | TagEnd::DefinitionListTitle
                | TagEnd::DefinitionListDefinition
                | TagEnd::MetadataBlock(_) => {}
            },
            // Raw HTML is shown as the text it is.
            Event::Text(t) | Event::Html(t) | Event::InlineHtml(t) => escape(&mut out, &t),
            Event::Code(t) => {
                out.push_str("<code>");
                escape(&mut out, &t);
                out.push_str("</code>");
            }
            Event::InlineMath(t) | Event::DisplayMath(t) | Event::FootnoteReference(t) => {
                escape(&mut out, &t)
            }
            Event::SoftBreak => out.push('\n'),
            Event::HardBreak => out.push_str("<br>\n"),
            Event::Rule => out.push_str("<hr>\n"),
            Event::TaskListMarker(done) => {
                let at = marker_offset(src, range.start, range.end).unwrap_or(range.start);
                out.push_str(&format!(
                    "<input type=\"checkbox\" class=\"task\" data-task=\"{at}\" aria-label=\"{}\"{}> ",
                    if done { "Done" } else { "To do" },
                    if done { " checked" } else { "" },
                ));
            }
        }
    }
    out
}

/// Writes a link between notes: to its note when it is here, else as what it can be.
fn note_link(out: &mut String, w: &Wiki, target: &Target, to: Lookup) {
    match (to, target) {
        (Lookup::Found(n), _) => {
            out.push_str("<a href=\"#\" class=\"note-link\" data-note=\"");
            escape(out, &n.id);
            out.push_str("\">");
            escape(
                out,
                if n.title.trim().is_empty() {
                    "Untitled"
                } else {
                    &n.title
                },
            );
            out.push_str("</a>");
        }
        (Lookup::Unknown, _) => {
            out.push_str("<span class=\"note-link\">");
            escape(out, w.label.trim());
            out.push_str("</span>");
        }
        (Lookup::Missing, Target::Title(t)) => {
            out.push_str("<a href=\"#\" class=\"note-link missing\" title=\"Create this note\" data-create=\"");
            escape(out, t);
            out.push_str("\">");
            escape(out, w.label.trim());
            out.push_str("</a>");
        }
        (Lookup::Missing, Target::Id(_)) => {
            out.push_str(
                "<span class=\"note-link gone\" title=\"This note is not on this device\">",
            );
            escape(out, w.label.trim());
            out.push_str("</span>");
        }
    }
}

/// Opens a link (or an image, written as a link with `prefix`) and says how it closes.
fn link(out: &mut String, url: &str, title: &str, prefix: Option<&str>) -> Open {
    let open = if safe_url(url) {
        out.push_str("<a href=\"");
        escape(out, url);
        out.push('"');
        if !title.is_empty() {
            out.push_str(" title=\"");
            escape(out, title);
            out.push('"');
        }
        out.push_str(" target=\"_blank\" rel=\"noopener noreferrer nofollow\"");
        if prefix.is_some() {
            out.push_str(" class=\"image-link\"");
        }
        out.push('>');
        Open::Link
    } else {
        out.push_str("<span class=\"link-blocked\" title=\"link not allowed\">");
        Open::Plain
    };
    if let Some(p) = prefix {
        out.push_str(p);
    }
    open
}

/// The byte offset of the `[` of a task marker within `start..end` of `src`.
fn marker_offset(src: &str, start: usize, end: usize) -> Option<usize> {
    let end = end.min(src.len());
    src.get(start..end)?.find('[').map(|i| start + i)
}

/// `src` with the task marker at byte `at` (`[ ]` or `[x]`) flipped; `None` when there is
/// none there (the text changed since the preview was drawn).
pub fn toggle_task(src: &str, at: usize) -> Option<String> {
    let marker = src.get(at..at + 3)?;
    let flipped = match marker {
        "[ ]" => "[x]",
        "[x]" | "[X]" => "[ ]",
        _ => return None,
    };
    // Only a marker the parser sees as one (not `[ ]` in the middle of a line).
    let is_task = Parser::new_ext(src, options())
        .into_offset_iter()
        .any(|(e, r)| {
            matches!(e, Event::TaskListMarker(_)) && marker_offset(src, r.start, r.end) == Some(at)
        });
    if !is_task {
        return None;
    }
    let mut out = String::with_capacity(src.len());
    out.push_str(&src[..at]);
    out.push_str(flipped);
    out.push_str(&src[at + 3..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_is_rendered() {
        let html = render("# Title\n\nSome *em* and **strong**, `code`.\n\n- a\n- b\n");
        assert!(html.contains("<h1>Title</h1>"), "{html}");
        assert!(html.contains("<em>em</em>") && html.contains("<strong>strong</strong>"));
        assert!(html.contains("<code>code</code>"));
        assert!(
            html.contains("<ul>\n<li>a</li>") || html.contains("<ul><li>a</li>"),
            "{html}"
        );
        let table = render("| a | b |\n|---|---|\n| 1 | 2 |\n");
        assert!(
            table.contains("<th>a</th>") && table.contains("<td>2</td>"),
            "{table}"
        );
    }

    /// Hostile notes: nothing in the output can become an element or attribute other than
    /// the writer's own.
    #[test]
    fn no_raw_html_passes_through() {
        let hostile = [
            "<script>alert(1)</script>",
            "<img src=x onerror=alert(1)>",
            "hello <b onmouseover=alert(1)>bold</b>",
            "<iframe src=\"https://evil.example\"></iframe>",
            "<div>\n<svg onload=alert(1)>\n</div>",
            "<!-- comment --><style>body{display:none}</style>",
            "<a href=\"javascript:alert(1)\">x</a>",
        ];
        for src in hostile {
            let html = render(src);
            for bad in [
                "<script",
                "<img",
                "<b ",
                "<iframe",
                "<svg",
                "<style",
                "<div",
                "<a href=\"javascript",
            ] {
                assert!(!html.contains(bad), "{src:?} gave {html:?}");
            }
            assert!(
                !html.contains("onerror=") || html.contains("&lt;img"),
                "{html}"
            );
            assert!(html.contains("&lt;"), "the HTML is shown as text: {html}");
        }
    }

    #[test]
    fn links_keep_only_safe_targets() {
        let ok = render("[site](https://example.com \"t\") [mail](mailto:a@b.c) [rel](notes/x)");
        assert!(
            ok.contains("href=\"https://example.com\" title=\"t\""),
            "{ok}"
        );
        assert!(ok.contains("href=\"mailto:a@b.c\"") && ok.contains("href=\"notes/x\""));
        assert!(ok.contains("rel=\"noopener noreferrer nofollow\""));
        for src in [
            "[x](javascript:alert(1))",
            "[x](JaVaScRiPt:alert(1))",
            "[x](<java\tscript:alert(1)>)",
            "[x](data:text/html,<script>alert(1)</script>)",
            "[x](vbscript:msgbox)",
            "<javascript:alert(1)>",
            "[x][r]\n\n[r]: javascript:alert(1)",
        ] {
            let html = render(src);
            assert!(!html.contains("href"), "{src:?} gave {html}");
        }
        // Autolinks are links when safe.
        let auto = render("<https://example.com/a?b=1&c=2>");
        assert!(
            auto.contains("href=\"https://example.com/a?b=1&amp;c=2\""),
            "{auto}"
        );
        assert!(safe_url("/relative") && safe_url("#frag") && safe_url("a/b:c"));
        assert!(!safe_url("") && !safe_url("file:///etc/passwd") && !safe_url("data:x"));
    }

    #[test]
    fn images_are_links_never_loaded() {
        let html = render("![cat](https://evil.example/track.png) ![x](data:image/png;base64,AA)");
        assert!(!html.contains("<img"), "{html}");
        assert!(
            html.contains("<a href=\"https://evil.example/track.png\""),
            "{html}"
        );
        assert!(html.contains("🖼 cat"), "{html}");
        assert!(!html.contains("data:image"), "{html}");
    }

    #[test]
    fn attribute_values_cannot_break_out() {
        let html = render("[x](https://a.example/\"onmouseover=\"alert(1) \"t\\\"x\")");
        assert!(!html.contains("\"onmouseover"), "{html}");
        let code = render("```js\" onload=\"x\nbody\n```");
        assert!(!code.contains("\" onload"), "{code}");
    }

    #[test]
    fn checklists_toggle_in_the_text() {
        let src = "Shopping\n\n- [ ] milk\n- [x] eggs\n\nnot a task: [ ] here\n";
        let html = render(src);
        let first = src.find("[ ] milk").unwrap();
        let second = src.find("[x] eggs").unwrap();
        assert!(
            html.contains(&format!("data-task=\"{first}\" aria-label=\"To do\">")),
            "{html}"
        );
        assert!(html.contains(&format!(
            "data-task=\"{second}\" aria-label=\"Done\" checked>"
        )));
        let once = toggle_task(src, first).unwrap();
        assert!(once.contains("- [x] milk"), "{once}");
        let twice = toggle_task(&once, second).unwrap();
        assert!(twice.contains("- [ ] eggs"), "{twice}");
        // Not a task marker, or a stale offset: nothing changes.
        assert_eq!(toggle_task(src, src.find("[ ] here").unwrap()), None);
        assert_eq!(toggle_task(src, 0), None);
        assert_eq!(toggle_task(src, src.len() + 5), None);
        // Multi-byte text before the marker: offsets are bytes, and stay right.
        let uni = "- [ ] café ☕\n- [ ] thé\n";
        let at = uni.rfind("[ ]").unwrap();
        assert!(render(uni).contains(&format!("data-task=\"{at}\"")));
        assert_eq!(toggle_task(uni, at).unwrap(), "- [ ] café ☕\n- [x] thé\n");
    }

    #[test]
    fn links_between_notes() {
        const ID: &str = "AbCdEfGhIjKlMnOpQrSt-_";
        let here = |t: &Target| match t {
            Target::Id(id) if id.0 == ID => Lookup::Found(LinkedNote {
                id: ID.into(),
                title: "Renamed <b>".into(),
            }),
            Target::Title(t) if t == "Plans" => Lookup::Found(LinkedNote {
                id: "x".repeat(22),
                title: "Plans".into(),
            }),
            Target::Title(t) if t == "Later" => Lookup::Unknown,
            _ => Lookup::Missing,
        };
        let html = render_with(
            &format!(
                "a [[{ID}|Old *name*]] b [[Plans]] c [[New idea]] d [[{}|Gone]]",
                "z".repeat(22)
            ),
            &here,
        );
        assert!(
            html.contains(&format!(
                "<a href=\"#\" class=\"note-link\" data-note=\"{ID}\">Renamed &lt;b&gt;</a>"
            )),
            "{html}"
        );
        assert!(
            html.contains("data-note=\"xxxxxxxxxxxxxxxxxxxxxx\">Plans</a>"),
            "{html}"
        );
        assert!(
            html.contains("data-create=\"New idea\">New idea</a>"),
            "{html}"
        );
        assert!(
            html.contains(
                "class=\"note-link gone\" title=\"This note is not on this device\">Gone</span>"
            ),
            "{html}"
        );
        // A hostile title or label stays text; code spans are not links.
        let html = render_with("[[\"><script>x</script>]] `[[Plans]]`", &here);
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("<code>[[Plans]]</code>"), "{html}");
        // Not looked up: its text, no link (never "create": the note may exist).
        let html = render_with("[[Later]]", &here);
        assert!(
            html.contains("<span class=\"note-link\">Later</span>"),
            "{html}"
        );
        // An Obsidian embed is a link to the note, not an image.
        let html = render_with("![[Plans]]", &here);
        assert!(
            html.contains("data-note=\"xxxxxxxxxxxxxxxxxxxxxx\">Plans</a>"),
            "{html}"
        );
    }

    /// The preview's links are exactly the ones `client::links::links` lists (which the
    /// preview looks up and backlinks count): a `[[...]]` the Markdown parser takes as a
    /// link but `links` does not is shown as its text.
    #[test]
    fn the_preview_links_what_links_lists() {
        let all_missing = |_: &Target| Lookup::Missing;
        for src in [
            "[[a\nb]]",
            "[[x [[y]]",
            "[[Plans]] and [[ Plans ]]",
            &format!("[[{}]]", "long ".repeat(80)),
            "| a | [[b|c]] |\n|---|---|\n| 1 | [[d]] |",
            "\\[[escaped]] [[ok]]",
            "[[a]]]] [[[b]]",
        ] {
            let html = render_with(src, &all_missing);
            let shown = html.matches("class=\"note-link").count();
            let listed = client::links::links(src);
            assert!(shown <= listed.len(), "{src:?}: {html}");
            for create in html.split("data-create=\"").skip(1) {
                let t = create.split('"').next().unwrap();
                assert!(
                    listed.iter().any(|l| {
                        let mut esc = String::new();
                        if let Target::Title(x) = &l.target {
                            escape(&mut esc, x);
                        }
                        esc == t
                    }),
                    "{src:?}: offers to create {t:?}, which links() does not list: {html}"
                );
            }
        }
    }
}
