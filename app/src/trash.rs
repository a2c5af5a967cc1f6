//! The trash: deleted notes, restorable for [`TRASH_DAYS`] days, with "Restore" and
//! "Delete forever".
//!
//! The text of a deleted note stays on the device (`client::local::Trashed`), so the trash
//! works offline. "Restore" brings the note back as an edit that syncs like any other;
//! "Delete forever" drops the text here at once and sends a purge, after which the server
//! keeps no text of it (neither the note nor its history) and every device drops it from
//! its trash. After [`TRASH_DAYS`] days the server's sweep does the same on its own
//! (`server::trash`); this device hides such entries and drops their text when the trash
//! is opened.
//!
//! Opening the trash reads every record of the local store (deleted notes have no index);
//! it is read only while the trash is open, and again when the store changes.

use leptos::prelude::*;
use leptos::task::spawn_local;

pub use client::local::TRASH_DAYS;

use crate::state::AppState;

/// One entry of the trash, as shown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrashEntry {
    /// The note's id.
    pub id: String,
    /// Its title when deleted.
    pub title: String,
    /// Its text when deleted.
    pub content: String,
    /// When it was deleted, ms since the epoch.
    pub deleted_ms: u64,
}

const DAY_MS: u64 = 24 * 3600 * 1000;

/// "Deleted forever in N days" for an entry deleted at `deleted_ms`, at `now_ms`.
pub fn days_left(deleted_ms: u64, now_ms: u64, period_days: u32) -> u64 {
    let end = deleted_ms + u64::from(period_days) * DAY_MS;
    end.saturating_sub(now_ms).div_ceil(DAY_MS)
}

#[cfg(feature = "hydrate")]
mod io {
    use client::local::LocalNote;
    use sync_core::NoteId;

    use super::TrashEntry;
    use crate::browser::notes;

    fn entry(n: LocalNote) -> Option<TrashEntry> {
        let t = n.trash?;
        Some(TrashEntry {
            id: n.id.0,
            title: t.title,
            content: t.content,
            deleted_ms: t.deleted_ms,
        })
    }

    pub fn now_ms() -> u64 {
        client::platform::now_ms()
    }

    /// Date and time, in the browser's locale (entries can be weeks old).
    pub fn date_label(ms: u64) -> String {
        js_sys::Date::new(&(ms as f64).into())
            .to_locale_string("default", &wasm_bindgen::JsValue::UNDEFINED)
            .into()
    }

    /// The trash, newest delete first, by a trash period of `days`; expired entries' text
    /// is dropped first.
    pub async fn list(days: u32) -> Result<Vec<TrashEntry>, String> {
        let notes = notes().await?;
        let now = now_ms();
        notes
            .expire_trash(now, days)
            .await
            .map_err(|e| e.to_string())?;
        let trash = notes.trash(now, days).await.map_err(|e| e.to_string())?;
        Ok(trash.into_iter().filter_map(entry).collect())
    }

    /// The trash period: the server's (`trash_days` of a sign-in's or `/auth/me`'s answer,
    /// kept by [`crate::browser::account`] and [`crate::browser::whoami`]), else the
    /// default.
    pub async fn period() -> u32 {
        crate::browser::trash_days().await
    }

    pub async fn restore(id: &str) -> Result<(), String> {
        notes()
            .await?
            .restore(&NoteId(id.into()))
            .await
            // The search index takes the restored note in at its next read (by the
            // store's change sequence), like any other write.
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    pub async fn delete_forever(id: &str) -> Result<(), String> {
        notes()
            .await?
            .delete_forever(&NoteId(id.into()))
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

#[cfg(not(feature = "hydrate"))]
mod io {
    use super::TrashEntry;

    pub fn now_ms() -> u64 {
        0
    }
    pub fn date_label(_: u64) -> String {
        String::new()
    }
    pub async fn list(_: u32) -> Result<Vec<TrashEntry>, String> {
        Ok(Vec::new())
    }
    pub async fn period() -> u32 {
        super::TRASH_DAYS
    }
    pub async fn restore(_: &str) -> Result<(), String> {
        Ok(())
    }
    pub async fn delete_forever(_: &str) -> Result<(), String> {
        Ok(())
    }
}

/// Re-reads the trash into `entries` (while it is open).
fn reload(entries: RwSignal<Option<Result<Vec<TrashEntry>, String>>>, period: RwSignal<u32>) {
    spawn_local(async move {
        let days = io::period().await;
        period.set(days);
        let read = io::list(days).await;
        if entries.get_untracked().is_some() {
            entries.set(Some(read));
        }
    });
}

fn entry_view(
    app: AppState,
    e: TrashEntry,
    entries: RwSignal<Option<Result<Vec<TrashEntry>, String>>>,
    confirming: RwSignal<Option<String>>,
    period: RwSignal<u32>,
) -> impl IntoView {
    let left = days_left(e.deleted_ms, io::now_ms(), period.get_untracked());
    let when = format!(
        "Deleted {} · deleted forever in {left} day{}",
        io::date_label(e.deleted_ms),
        if left == 1 { "" } else { "s" }
    );
    let (rid, fid, cid, did) = (e.id.clone(), e.id.clone(), e.id.clone(), e.id.clone());
    let restore = move |_| {
        let id = rid.clone();
        spawn_local(async move {
            match io::restore(&id).await {
                Ok(()) => {
                    app.notice
                        .set("Restored: the note is back in your notes.".into());
                    app.changed();
                    reload(entries, period);
                }
                Err(e) => app.notice.set(format!("Not restored: {e}")),
            }
        });
    };
    let forever = move |_| {
        let id = fid.clone();
        confirming.set(None);
        spawn_local(async move {
            match io::delete_forever(&id).await {
                Ok(()) => {
                    app.notice.set("Deleted forever.".into());
                    app.changed();
                    reload(entries, period);
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

/// The "Trash" button and, while open, the trash.
#[component]
pub fn Trash() -> impl IntoView {
    let app = AppState::get();
    let entries: RwSignal<Option<Result<Vec<TrashEntry>, String>>> = RwSignal::new(None);
    let confirming: RwSignal<Option<String>> = RwSignal::new(None);
    let period = RwSignal::new(TRASH_DAYS);
    // While open, follow the store: a delete here or in another tab, a pulled delete or
    // purge, a restore elsewhere.
    Effect::new(move |_| {
        app.snap.track();
        if entries.get_untracked().is_some() {
            reload(entries, period);
        }
    });
    let toggle = move |_| {
        if entries.get_untracked().is_some() {
            entries.set(None);
        } else {
            entries.set(Some(Ok(Vec::new())));
            reload(entries, period);
        }
    };
    let open = move || entries.with(Option::is_some);
    view! {
        <div class="trash-bar">
            <button type="button" class="trash-toggle" aria-expanded=move || open().to_string()
                on:click=toggle>
                {move || if open() { "Close trash" } else { "Trash" }}
            </button>
        </div>
        {move || entries.get().map(|read| {
            let body = match read {
                Err(e) => view! { <p class="error" role="alert">{e}</p> }.into_any(),
                Ok(list) if list.is_empty() => view! {
                    <p class="trash-empty">"The trash is empty."</p>
                }.into_any(),
                Ok(list) => view! {
                    <ul class="trash-list">
                        {list.into_iter().map(|e| entry_view(app, e, entries, confirming, period)).collect_view()}
                    </ul>
                }.into_any(),
            };
            view! {
                <section class="trash" data-testid="trash" aria-label="Trash">
                    <h2>"Trash"</h2>
                    <p class="trash-help">
                        {move || format!("Deleted notes stay here for {} days, then they are deleted forever.", period.get())}
                    </p>
                    {body}
                </section>
            }
        })}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_left_counts_whole_days_up() {
        assert_eq!(days_left(0, 0, 30), 30);
        assert_eq!(days_left(0, 1, 30), 30);
        assert_eq!(days_left(0, DAY_MS, 30), 29);
        assert_eq!(days_left(0, 30 * DAY_MS, 30), 0);
        assert_eq!(days_left(0, DAY_MS, 7), 6);
        assert_eq!(days_left(0, 31 * DAY_MS, 30), 0);
    }
}
