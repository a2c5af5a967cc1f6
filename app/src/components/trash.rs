//! The trash: deleted notes, restorable for the trash period (the server's, else
//! `client::local::TRASH_DAYS` days), with "Restore" and "Delete forever".
//!
//! The text of a deleted note stays on the device (`client::local::Trashed`), so the trash
//! works offline. "Restore" brings the note back as an edit that syncs like any other;
//! "Delete forever" drops the text here at once and sends a purge, after which the server
//! keeps no text of it (neither the note nor its history) and every device drops it from
//! its trash. After the trash period the server's sweep does the same on its own
//! (`server::trash`); this device hides such entries and drops their text when the trash
//! is opened.
//!
//! "Trash" is in the sidebar (the start-up module); the open trash ([`TrashScreen`]) is in a
//! module of its own, loaded on first use ([`super::lazy`]). It is read (a Leptos
//! `LocalResource`) while open, and again when the store changes; the read takes only the
//! trash (`LocalStore::trashed`), not every note.

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::lazy::{LazyScreen, split};
use crate::io;
use crate::model::views::days_left;
use crate::model::{PageState, TrashEntry, Ui};

/// One read of the trash: the period in days, and the entries (newest delete first) or
/// why they could not be read.
type Read = (u32, Result<Vec<TrashEntry>, String>);

fn entry_view(
    app: PageState,
    e: TrashEntry,
    read: LocalResource<Read>,
    confirming: RwSignal<Option<String>>,
    period: u32,
) -> impl IntoView {
    let left = days_left(e.deleted_ms, io::page::now_ms(), period);
    let when = format!(
        "Deleted {} · deleted forever in {left} day{}",
        io::page::date_label(e.deleted_ms),
        if left == 1 { "" } else { "s" }
    );
    let (rid, fid, cid, did) = (e.id.clone(), e.id.clone(), e.id.clone(), e.id.clone());
    let restore = move |_| {
        let id = rid.clone();
        spawn_local(async move {
            match io::notes::restore_from_trash(&id).await {
                Ok(()) => {
                    app.notice
                        .set("Restored: the note is back in your notes.".into());
                    app.changed();
                    read.refetch();
                }
                Err(e) => app.notice.set(format!("Not restored: {e}")),
            }
        });
    };
    let forever = move |_| {
        let id = fid.clone();
        confirming.set(None);
        spawn_local(async move {
            match io::notes::delete_forever(&id).await {
                Ok(()) => {
                    app.notice.set("Deleted forever.".into());
                    app.changed();
                    read.refetch();
                }
                Err(e) => app.notice.set(format!("Not deleted: {e}")),
            }
        });
    };
    let asking = move || confirming.get().as_deref() == Some(did.as_str());
    view! {
        <li class="trash-entry" data-id=e.id.clone()>
            <h3>{if e.title.is_empty() { "Untitled".to_owned() } else { e.title.clone() }}</h3>
            <p class="trash-text">{e.content.clone()}</p>
            <p class="trash-when">{when}</p>
            <div class="trash-actions">
                <button type="button" on:click=restore>"Restore"</button>
                <Show
                    when=asking
                    fallback=move || {
                        let id = cid.clone();
                        view! {
                            <button type="button" class="danger"
                                on:click=move |_| confirming.set(Some(id.clone()))>
                                "Delete forever"
                            </button>
                        }
                    }
                >
                    <span class="confirm" role="alert">
                        "Its text is removed from this device and the server, history included. "
                        <button type="button" class="danger" on:click=forever.clone()>
                            "Yes, delete forever"
                        </button>
                        <button type="button" on:click=move |_| confirming.set(None)>"Cancel"</button>
                    </span>
                </Show>
            </div>
        </li>
    }
}

/// The trash, while the sidebar's "Trash" shows it.
#[component]
pub fn Trash() -> impl IntoView {
    let ui = Ui::get();
    view! {
        <Show when=move || ui.trash.get()>
            <div class="trash-panel">
                <button type="button" class="close" aria-label="Hide the deleted notes"
                    on:click=move |_| ui.trash.set(false)>"✕"</button>
                <LazyScreen load=trash_screen/>
            </div>
        </Show>
    }
}

/// The open trash.
#[component]
pub fn TrashScreen() -> impl IntoView {
    let app = PageState::get();
    let confirming: RwSignal<Option<String>> = RwSignal::new(None);
    // It follows the store: a delete here or in another tab, a pulled delete or purge, a
    // restore elsewhere.
    let read = LocalResource::new(move || {
        app.snap.track();
        async move {
            let days = io::accounts::trash_days().await;
            let entries = io::notes::trash(days).await.map(|notes| {
                notes
                    .into_iter()
                    .filter_map(TrashEntry::of)
                    .collect::<Vec<_>>()
            });
            (days, entries)
        }
    });
    move || {
        read.get().map(|(period, entries)| {
        let body = match entries {
            Err(e) => view! { <p class="error" role="alert">{e}</p> }.into_any(),
            Ok(list) if list.is_empty() => view! {
                <p class="trash-empty">"The trash is empty."</p>
            }.into_any(),
            Ok(list) => view! {
                <ul class="trash-list">
                    {list.into_iter().map(|e| entry_view(app, e, read, confirming, period)).collect_view()}
                </ul>
            }.into_any(),
        };
        view! {
            <section class="trash" data-testid="trash" aria-label="Trash">
                <h2>"Trash"</h2>
                <p class="trash-help">
                    {format!("Deleted notes stay here for {period} days, then they are deleted forever.")}
                </p>
                {body}
            </section>
        }
    })
    }
}

split!(
    /// The open trash.
    trash_screen,
    trash,
    || view! { <TrashScreen/> }.into_any()
);
