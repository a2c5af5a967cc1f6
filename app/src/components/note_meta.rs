//! The open note's bar under its title: its notebook (a picker of notebook paths, "No
//! notebook", "New notebook…"), its tags (chips, and a field that completes the names of
//! existing tags; Enter makes a new one), the pin, and when it was created and modified.

use leptos::prelude::*;

use super::list::{NO_NOTEBOOK, pin_icon};
use crate::io;
use crate::model::organize::date_label;
use crate::model::{NoteView, PageState, commands};

/// The picker's value of "New notebook…".
const NEW_NOTEBOOK: &str = "+";

/// Most tag names the completion offers.
const SUGGESTIONS: usize = 6;

fn when(ms: u64) -> String {
    date_label(ms, io::page::now_ms(), io::page::utc_offset_minutes(ms))
}

/// "Created 3 Dec · Modified Today 14:05" (a note made before dates were kept: the
/// modified date only).
fn dates(n: &NoteView) -> String {
    let modified = format!("Modified {}", when(n.modified_ms));
    match n.created_ms {
        Some(c) => format!("Created {} · {modified}", when(c)),
        None => modified,
    }
}

/// The bar, while a stored note is open.
#[component]
pub fn NoteMeta() -> impl IntoView {
    let app = PageState::get();
    let ed = app.editor;
    let note = Memo::new(move |_| {
        let id = ed.open.get()?;
        app.snap.with(|s| s.find(&id).cloned())
    });
    let id = move || note.with_untracked(|n| n.as_ref().map(|n| n.id.clone()));
    let creating = RwSignal::new(false);
    let new_name = RwSignal::new(String::new());
    let tag_draft = RwSignal::new(String::new());
    Effect::new(move |_| {
        ed.open.track();
        creating.set(false);
        tag_draft.set(String::new());
    });

    let picked = move || {
        note.with(|n| {
            let nb = n.as_ref().and_then(|n| n.notebook.clone());
            nb.filter(|nb| app.organize.with(|o| o.notebook(nb).is_some()))
                .unwrap_or_else(|| NO_NOTEBOOK.to_owned())
        })
    };
    let pick = move |ev: leptos::ev::Event| {
        let Some(id) = id() else { return };
        match event_target_value(&ev).as_str() {
            NEW_NOTEBOOK => {
                creating.set(true);
                new_name.set(String::new());
                leptos::task::spawn_local(async {
                    io::page::sleep_ms(0).await;
                    io::page::focus("note-new-notebook");
                });
            }
            NO_NOTEBOOK => commands::move_notes(app, vec![id], None),
            nb => commands::move_notes(app, vec![id], Some(nb.to_owned())),
        }
    };
    let create = move || {
        let Some(id) = id() else { return };
        commands::new_notebook(app, new_name.get_untracked(), None, vec![id]);
        creating.set(false);
    };
    let add_tag = move |name: String| {
        let Some(id) = id() else { return };
        commands::tag_notes(app, vec![id], name);
        tag_draft.set(String::new());
    };
    let suggestions = move || {
        let draft = tag_draft.get();
        let own = note.with(|n| n.as_ref().map(|n| n.tags.clone()).unwrap_or_default());
        app.organize.with(|o| {
            o.complete(&draft, &own, SUGGESTIONS)
                .into_iter()
                .map(|t| t.name.clone())
                .collect::<Vec<_>>()
        })
    };
    let chips = move || {
        let Some((nid, tags)) = note.with(|n| n.as_ref().map(|n| (n.id.clone(), n.tags.clone())))
        else {
            return Vec::new();
        };
        app.organize.with(|o| {
            tags.iter()
                .filter_map(|t| o.tag(t))
                .map(|t| {
                    let (nid, tid, name) = (nid.clone(), t.id.clone(), t.name.clone());
                    view! {
                        <li class="chip" data-testid="tag-chip">
                            <span>{format!("#{name}")}</span>
                            <button type="button" class="chip-remove" aria-label=format!("Remove tag {name}")
                                on:click=move |_| commands::untag(app, nid.clone(), tid.clone())>"×"</button>
                        </li>
                    }
                })
                .collect::<Vec<_>>()
        })
    };
    let pinned = move || note.with(|n| n.as_ref().is_some_and(|n| n.pinned));

    view! {
        <Show when=move || note.with(Option::is_some)>
            <div class="note-meta" data-testid="note-meta">
                <div class="meta-row">
                    <label class="visually-hidden" for="note-notebook">"Notebook"</label>
                    <select id="note-notebook" data-testid="notebook-picker" class="notebook-picker"
                        title="Notebook (m)"
                        on:change=pick>
                        <option value=NO_NOTEBOOK prop:selected=move || picked() == NO_NOTEBOOK>
                            "No notebook"
                        </option>
                        {move || {
                            let now = picked();
                            app.organize.with(|o| o.tree().into_iter().map(|(_, nb)| view! {
                                <option value=nb.id.clone() prop:selected=now == nb.id>{o.path(&nb.id)}</option>
                            }).collect_view())
                        }}
                        <option value=NEW_NOTEBOOK>"New notebook…"</option>
                    </select>
                    <Show when=move || creating.get()>
                        <input id="note-new-notebook" data-testid="new-notebook-name"
                            placeholder="Notebook name" aria-label="New notebook's name"
                            prop:value=move || new_name.get()
                            on:input=move |ev| new_name.set(event_target_value(&ev))
                            on:keydown=move |ev: leptos::ev::KeyboardEvent| match ev.key().as_str() {
                                "Enter" => {
                                    ev.prevent_default();
                                    create();
                                }
                                "Escape" => creating.set(false),
                                _ => {}
                            }/>
                    </Show>
                    <button type="button" class="pin" data-testid="pin" title="Pin (*)"
                        aria-pressed=move || pinned().to_string()
                        on:click=move |_| {
                            if let Some(id) = id() {
                                commands::toggle_pins(app, vec![id]);
                            }
                        }>
                        {pin_icon()}
                        {move || if pinned() { " Pinned" } else { " Pin" }}
                    </button>
                    <span class="dates" data-testid="dates">
                        {move || note.with(|n| n.as_ref().map(dates).unwrap_or_default())}
                    </span>
                </div>
                <div class="meta-row tags-row">
                    <ul class="chips" aria-label="Tags">{chips}</ul>
                    <div class="tag-entry">
                        <label class="visually-hidden" for="note-tag">"Add a tag"</label>
                        <input id="note-tag" data-testid="tag-input" placeholder="Add tag…"
                            autocomplete="off" title="Tag (t)"
                            prop:value=move || tag_draft.get()
                            on:input=move |ev| tag_draft.set(event_target_value(&ev))
                            on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                                if ev.key() == "Enter" {
                                    ev.prevent_default();
                                    add_tag(tag_draft.get_untracked());
                                }
                            }/>
                        <Show when=move || !suggestions().is_empty()>
                            <ul class="suggestions" data-testid="tag-suggestions" aria-label="Existing tags">
                                {move || suggestions().into_iter().map(|name| {
                                    let n = name.clone();
                                    view! {
                                        <li><button type="button" on:click=move |_| add_tag(n.clone())>
                                            {format!("#{name}")}
                                        </button></li>
                                    }
                                }).collect_view()}
                            </ul>
                        </Show>
                    </div>
                </div>
            </div>
        </Show>
    }
}
