//! The open note's conflict: the versions side by side, one to keep; and the note's
//! strategy for concurrent edits.

use leptos::prelude::*;
use leptos::task::spawn_local;
use sync_core::{Strategy, Text};

use super::lazy::{LazyScreen, split};
use crate::io;
use crate::model::{NoteView, PageState, SaveLabel};

/// The open note as the local store has it (sync state, conflict, strategy).
pub fn current(app: PageState) -> Option<NoteView> {
    let id = app.editor.open.get()?;
    app.snap.with(|s| s.find(&id).cloned())
}

/// Resolves the open note's conflict with one version (a delete removes the note).
fn resolve(app: PageState, text: Text, deleted: bool) {
    let ed = app.editor;
    let Some(id) = ed.open.get_untracked() else {
        return;
    };
    spawn_local(async move {
        match io::notes::resolve(&id, &text, deleted).await {
            Ok(()) => {
                if deleted {
                    ed.close(app).await;
                } else {
                    ed.chosen(app, id, text, SaveLabel::Saved);
                }
                app.changed();
            }
            Err(e) => ed.label.set(SaveLabel::Failed(format!("Not saved: {e}"))),
        }
    });
}

/// "When edited on two devices at once": the note's strategy.
#[component]
pub fn StrategyPicker() -> impl IntoView {
    let app = PageState::get();
    let set = move |value: String| {
        let Some(id) = app.editor.open.get_untracked() else {
            return;
        };
        let Ok(strategy) = value.parse::<Strategy>() else {
            return;
        };
        spawn_local(async move {
            match io::notes::set_strategy(&id, strategy).await {
                Ok(()) => app.changed(),
                Err(e) => app
                    .editor
                    .label
                    .set(SaveLabel::Failed(format!("Not saved: {e}"))),
            }
        });
    };
    view! {
        <label for="strategy">"When edited on two devices at once"</label>
        <select id="strategy"
            prop:value=move || current(app).map_or(Strategy::Default, |n| n.strategy).as_str()
            on:change=move |ev| set(event_target_value(&ev))>
            <option value="default">"Use the server's setting"</option>
            <option value="lww">"Keep the newest edit"</option>
            <option value="merge">"Merge the edits"</option>
            <option value="manual">"Ask me"</option>
        </select>
    }
}

/// One version of the conflict, with its button.
#[component]
fn Version(
    heading: &'static str,
    text: Text,
    deleted: bool,
    button: &'static str,
) -> impl IntoView {
    let app = PageState::get();
    let (title, content) = (text.title.clone(), text.content.clone());
    view! {
        <li class="version">
            <h3>{heading}</h3>
            <p class="version-title">{title}</p>
            <pre>{content}</pre>
            <button type="button" on:click=move |_| resolve(app, text.clone(), deleted)>
                {button}
            </button>
        </li>
    }
}

/// The conflict screen of the open note, when it has one.
#[component]
pub fn Conflict() -> impl IntoView {
    let app = PageState::get();
    let conflicted = move || {
        let Some(id) = app.editor.open.get() else {
            return false;
        };
        app.snap
            .with(|s| s.find(&id).is_some_and(|n| n.conflict.is_some()))
    };
    view! {
        <Show when=conflicted>
            <LazyScreen load=conflict_screen/>
        </Show>
    }
}

/// The open note's conflict (in a module of its own, loaded on first use:
/// [`super::lazy`]).
#[component]
pub fn ConflictScreen() -> impl IntoView {
    let app = PageState::get();
    move || {
        let note = current(app)?;
        let conflict = note.conflict.clone()?;
        let mine = note.text();
        Some(view! {
            <section class="conflict" data-testid="conflict" aria-label="Conflicting versions">
                <h2>"Edited on two devices at once"</h2>
                <p>"Choose the version to keep, or edit the text above and keep that. "
                   "The others stay in the note's history."</p>
                <ul>
                    <Version heading="Shown version" text=mine deleted=false
                        button="Keep this version"/>
                    {conflict.versions.into_iter().map(|v| {
                        let d = v.deleted;
                        let text = Text { title: v.title, content: v.content };
                        let heading = if d { "Deleted on another device" } else { "Other version" };
                        let button = if d { "Delete the note" } else { "Keep this version" };
                        view! { <Version heading text deleted=d button/> }
                    }).collect_view()}
                    {conflict.proposal.map(|p| {
                        let text = Text { title: p.title, content: p.content };
                        view! { <Version heading="Both edits merged" text deleted=false
                            button="Keep the merge"/> }
                    })}
                </ul>
                <button type="button" on:click=move |_| {
                    let ed = app.editor;
                    resolve(app, Text {
                        title: ed.title.get_untracked(),
                        content: ed.content.get_untracked(),
                    }, false)
                }>"Keep the text in the editor"</button>
            </section>
        })
    }
}

split!(
    /// The open note's conflict.
    conflict_screen,
    conflict,
    || view! { <ConflictScreen/> }.into_any()
);
