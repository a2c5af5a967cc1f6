//! The first paint: a small shell in the start-up module, the app in a module of its own.
//!
//! The page's HTML holds the shell: the list's frame and a note field that says
//! "Opening…". A small script in the HTML ([`rows_script`], run while the page is parsed,
//! before any wasm) draws the rows of the list's first page as the app last showed it
//! (`io::first_page`, in `localStorage`), so the notes are on screen as soon as the HTML
//! and its style are. The start-up wasm module holds only this shell (and Leptos): it
//! hydrates it and loads the app's module (`crate::App`'s split point). The app mounts
//! hidden beside the shell and takes over when it has drawn its own
//! list, in one update ([`crate::model::take_over`]): until then the shell cannot be typed
//! in, and what is clicked there (a row, "New note") is done by the app when it takes over.
//! A module that fails to load is said so, with automatic retries and "Retry"
//! ([`super::lazy::loading`]); the rows stay.
//!
//! The shell's markup and classes are the list's and the editor's, so nothing moves when
//! the app takes over; its elements have no ids or test ids of the app's (both are in the
//! page for a moment). The rows are the script's alone: the shell's view has no children
//! in the list and the count (hydration leaves them be).

use leptos::prelude::*;

use super::lazy::{Loader, NotLoaded, loading};
use super::list::PIN_PATH;
use crate::io::{self, FirstPage};
use crate::model::LIST_PAGE;
use crate::model::take_over::{Event, Handoff, Intent};

/// The shell, then the app `load` gives (see the module's docs).
#[component]
pub fn FirstPaint(
    /// The app's split point.
    load: Loader,
) -> impl IntoView {
    let handoff = Handoff::new();
    provide_context(handoff);
    // (At once: the rows are drawn already, by the page's script.)
    let (state, again) = loading(load);
    Effect::new(move |_| {
        let event = match state.get() {
            Some(Err(NotLoaded)) => Event::Failed,
            None => Event::Retry,
            Some(Ok(_)) => return,
        };
        handoff.step(event);
    });
    let app = move || match state.get() {
        Some(Ok(build)) => Some(build()),
        _ => None,
    };
    view! {
        <Show when=move || !handoff.taken()>
            <Shell handoff again/>
        </Show>
        {app}
    }
}

#[component]
fn Shell(handoff: Handoff, again: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    let click = move |i: Intent| handoff.step(Event::Click(i));
    let failed = move || handoff.0.with(|m| m.failed());
    // A click before this hydrated was heard by the page's script: it counts the same.
    Effect::new(move |_| match io::first_page::clicked_before() {
        Some(Some(id)) => {
            click(Intent::Open(id));
        }
        Some(None) => {
            click(Intent::New);
        }
        None => {}
    });
    // The chosen row is the one the app will open (none after "New note").
    Effect::new(move |_| {
        handoff.0.with(|m| io::first_page::mark_chosen(m.chosen()));
    });
    // One listener for the script's rows: a click chooses the row's note.
    let choose = move |ev: leptos::ev::MouseEvent| {
        if let Some(id) = io::first_page::row_clicked(&ev) {
            click(Intent::Open(id));
        }
    };
    view! {
        <main class="first-paint" data-pane="list" data-drawer="false" aria-busy="true">
            <header>
                <button type="button" class="sidebar-open" aria-label="Notebooks and tags">"☰"</button>
                <h1>"Tern"</h1>
            </header>
            <Show when=failed>
                <p class="error lazy-failed" role="alert" data-testid="app-failed">
                    "Tern could not be loaded (are you offline?). Retrying… "
                    <button type="button" on:click=move |_| again()>"Retry"</button>
                </p>
            </Show>
            <div class="layout">
                <aside class="sidebar" aria-label="Notebooks and tags"></aside>
                <section class="list" aria-label="Notes">
                    <div class="row">
                        <button type="button" data-new-note="" on:click=move |_| { click(Intent::New); }>"New note"</button>
                        <input type="search" placeholder="Search" aria-label="Search notes" readonly/>
                    </div>
                    <div class="list-head">
                        <p class="count"></p>
                    </div>
                    <ul class="notes" data-page=LIST_PAGE.to_string() on:click=choose></ul>
                </section>
                <form class="editor" aria-label="Note">
                    <label for="first-paint-title">"Title"</label>
                    <input id="first-paint-title" placeholder="Opening…" readonly/>
                    <label for="first-paint-content">"Note"</label>
                    <textarea id="first-paint-content" rows="8" placeholder="Opening…" readonly></textarea>
                </form>
            </div>
        </main>
    }
}

/// The script that draws the shell's rows from the stored first page, in the page's HTML
/// after the shell (see the module's docs). A stored value that does not read draws
/// nothing; each text is cut to [`FirstPage::TEXT`] characters, at most
/// [`FirstPage::ROWS`] rows (also when the stored value says otherwise), each text set as
/// text (never HTML); the rows' dates only when it was written today (they say "Today
/// 14:05"). What a script of this origin can write there, it could show anyway.
pub fn rows_script() -> String {
    format!(
        r#"(() => {{
const main = document.querySelector('main.first-paint');
const ul = main && main.querySelector('ul.notes');
if (!ul) return;
let v;
try {{ v = JSON.parse(localStorage.getItem({key:?})); }} catch (e) {{ return; }}
if (!v || !Array.isArray(v.rows) || typeof v.written !== 'number' || typeof v.count !== 'string') return;
// (At most {text} characters: never more than twice as many UTF-16 units.)
const cut = (s) => Array.from(s.slice(0, 2 * {text})).slice(0, {text}).join('');
const text = (x) => (typeof x === 'string' ? cut(x) : null);
const today = new Date(v.written).toDateString() === new Date().toDateString();
const el = (tag, cls, t) => {{
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (t !== undefined) e.textContent = t;
  return e;
}};
const rows = [];
for (const r of v.rows.slice(0, {rows})) {{
  const f = r && typeof r === 'object' ? r : {{}};
  const [id, title, snippet, date, notebook, tags] = ['id', 'title', 'snippet', 'date', 'notebook', 'tags'].map((k) => text(f[k]));
  if ([id, title, snippet, date, notebook, tags].includes(null) || typeof f.pinned !== 'boolean') return;
  const li = el('li', 'note');
  li.dataset.id = id;
  const open = el('button', 'open');
  open.type = 'button';
  const h2 = el('h2');
  if (f.pinned) {{
    const mark = el('span', 'pin-mark');
    mark.title = 'Pinned';
    const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
    svg.setAttribute('class', 'pin-icon');
    svg.setAttribute('viewBox', '0 0 16 16');
    svg.setAttribute('aria-hidden', 'true');
    const path = document.createElementNS('http://www.w3.org/2000/svg', 'path');
    path.setAttribute('d', {pin:?});
    svg.append(path);
    mark.append(svg);
    h2.append(mark);
  }}
  h2.append(title);
  const meta = el('span', 'meta');
  meta.append(el('time', '', today ? date : ''));
  if (notebook) meta.append(el('span', 'in-notebook', notebook));
  if (tags) meta.append(el('span', 'row-tags', tags));
  open.append(h2, el('p', '', snippet), meta);
  li.append(open);
  rows.push(li);
}}
main.querySelector('.count').textContent = cut(v.count);
ul.replaceChildren(...rows);
// A click before the start-up module runs: marked at once, and left in `data-intent` /
// `data-chosen` for the shell (`first_page::clicked_before`).
main.addEventListener('click', (ev) => {{
  const at = ev.target instanceof Element ? ev.target : null;
  const li = at && at.closest('li.note');
  let chosen = null;
  if (li && ul.contains(li)) {{
    main.dataset.intent = 'open';
    main.dataset.chosen = chosen = li.dataset.id;
  }} else if (at && at.closest('[data-new-note]')) {{
    main.dataset.intent = 'new';
    delete main.dataset.chosen;
  }} else {{
    return;
  }}
  for (const r of ul.children) r.classList.toggle('selected', r.dataset.id === chosen);
}});
}})();"#,
        key = FirstPage::KEY,
        text = FirstPage::TEXT,
        rows = FirstPage::ROWS,
        pin = PIN_PATH,
    )
}

#[cfg(test)]
mod tests {
    use super::rows_script;

    /// The script is written into the page's HTML raw: nothing in it may end it early.
    #[test]
    fn the_rows_script_cannot_end_its_element() {
        let s = rows_script().to_lowercase();
        assert!(!s.contains("</script") && !s.contains("<!--"), "{s}");
        assert!(s.contains("\"tern-first-page\""));
    }
}
