//! The open note's history (from the server, read as a Leptos `LocalResource`), each
//! earlier version with "Restore". In a module of its own, loaded when "History" is first
//! clicked ([`super::lazy`]).

use leptos::prelude::*;
use leptos::task::spawn_local;
use sync_core::Text;
use sync_core::protocol::RevisionReason;

use super::lazy::{LazyScreen, split};
use crate::io;
use crate::model::{PageState, RevisionView, SaveLabel, copy};

/// Why a version is in the history, as the list says it.
fn why(reason: RevisionReason) -> &'static str {
    match reason {
        RevisionReason::Deleted => "before it was deleted",
        RevisionReason::Conflict => "from a conflict",
        RevisionReason::Merged => "before a merge",
        RevisionReason::Edited => "earlier version",
    }
}

/// Makes `text` the open note's text again.
fn restore(app: PageState, text: Text) {
    let ed = app.editor;
    let Some(id) = ed.open.get_untracked() else {
        return;
    };
    spawn_local(async move {
        match io::notes::restore(&id, &text).await {
            Ok(()) => {
                ed.chosen(app, id, text, SaveLabel::Restored);
                app.history.set(None);
                app.changed();
            }
            Err(e) => ed
                .label
                .set(SaveLabel::Failed(format!("Not restored: {e}"))),
        }
    });
}

fn revision(app: PageState, r: RevisionView) -> impl IntoView {
    let text = Text {
        title: r.text.title.clone(),
        content: r.text.content.clone(),
    };
    view! {
        <li class="revision">
            <h3>{format!("{} · {}", r.saved, why(r.reason))}</h3>
            <p class="version-title">{r.text.title}</p>
            <pre>{r.text.content}</pre>
            <button type="button" on:click=move |_| restore(app, text.clone())>"Restore"</button>
        </li>
    }
}

/// The history panel, while open.
#[component]
pub fn History() -> impl IntoView {
    let app = PageState::get();
    view! {
        <Show when=move || app.history.with(Option::is_some)>
            <LazyScreen load=history_screen/>
        </Show>
    }
}

/// The open history: the open note's history, read from the server when "History" is
/// clicked.
#[component]
pub fn HistoryScreen() -> impl IntoView {
    let app = PageState::get();
    let read = LocalResource::new(move || {
        let id = app.history.get();
        async move {
            let id = id?;
            let revisions = io::api::history(&id)
                .await
                .map(|r| r.into_iter().map(RevisionView::from).collect::<Vec<_>>())
                .map_err(|e| copy::history_error(&e));
            Some((id, revisions))
        }
    });
    move || {
        let open = app.history.get()?;
        // (The read of the note shown, not of one shown before.)
        let (_, h) = read.get().flatten().filter(|(id, _)| *id == open)?;
        Some(match h {
            Err(e) => {
                view! { <p class="error" role="alert" data-testid="history-error">{e}</p> }
                    .into_any()
            }
            Ok(list) => view! {
                <section class="history" data-testid="history" aria-label="History">
                    <h2>"History"</h2>
                    {list.is_empty().then(|| view! { <p>"No earlier versions of this note yet."</p> })}
                    <ul>{list.into_iter().map(|r| revision(app, r)).collect_view()}</ul>
                    <button type="button" on:click=move |_| app.history.set(None)>
                        "Close history"
                    </button>
                </section>
            }
            .into_any(),
        })
    }
}

split!(
    /// The open note's history.
    history_screen,
    history,
    || view! { <HistoryScreen/> }.into_any()
);
