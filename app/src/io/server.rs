//! The server side of [`crate::io`] (no `hydrate` feature): the renderer of the first
//! paint has no local store, no service worker and no page, and never runs effects or
//! event handlers, so these stubs of the browser's functions do nothing. Their
//! signatures are the browser's.

/// See the browser's `page`.
pub mod page {
    use leptos::prelude::NodeRef;

    pub async fn sleep_ms(_: u64) {}
    pub fn now_ms() -> u64 {
        client::platform::now_ms()
    }
    pub fn time_label(_: u64) -> String {
        String::new()
    }
    pub fn date_label(_: u64) -> String {
        String::new()
    }
    pub fn is_online() -> bool {
        true
    }
    pub fn on_store_closed(_: impl Fn(String) + 'static) {}
    pub fn announce_change() {}
    pub fn on_change(_: impl Fn() + 'static) {}
    pub fn focus(_: &str) {}
    pub fn typing() -> bool {
        false
    }
    pub fn type_text(_: &str) -> bool {
        false
    }
    pub fn leave_field() -> bool {
        false
    }
    pub fn focus_note(_: &str) {}
    pub fn load_on_sight(
        _: NodeRef<leptos::html::P>,
        _: impl Fn() + 'static,
        _: impl Fn() + 'static,
    ) {
    }
    pub fn take_share_params() -> Option<(String, String, String)> {
        None
    }
    pub fn notice_dismissed() -> Option<String> {
        None
    }
    pub fn dismiss_notice(_: &str) {}
    pub fn user_agent() -> (String, bool) {
        (String::new(), false)
    }
    pub fn utc_offset_minutes(_: u64) -> i32 {
        0
    }
    pub fn start_drag(_: &leptos::ev::DragEvent, _: &[String]) {}
    pub fn end_drag() {}
    pub fn dragged_notes(_: &leptos::ev::DragEvent) -> Vec<String> {
        Vec::new()
    }
    pub fn accept_drop(_: &leptos::ev::DragEvent) -> bool {
        false
    }
}

/// See the browser's `first_page`.
pub mod first_page {
    use crate::io::FirstPage;

    pub fn write(_: FirstPage) {}
    pub fn row_clicked(_: &leptos::ev::MouseEvent) -> Option<String> {
        None
    }
    pub fn clicked_before() -> Option<Option<String>> {
        None
    }
    pub fn mark_chosen(_: Option<&str>) {}
    pub fn clear() {}
}

/// See the browser's `accounts`.
pub mod accounts {
    use client::api::Access;
    use client::local::AccountRecord as Account;

    use super::NOT_HERE;
    use crate::io::{GUEST_DB, Joining, SessionCheck, SignInError, Start};

    pub fn store_name() -> String {
        GUEST_DB.into()
    }
    pub async fn records_now() -> Start {
        Start::default()
    }
    pub async fn start() -> Start {
        Start::default()
    }
    pub fn switch_account(_: Option<&Account>) {}
    pub async fn adopt(_: &Account) -> Result<Joining, String> {
        Err(NOT_HERE.into())
    }
    pub async fn join_guest_notes(_: &Account) -> Result<usize, String> {
        Err(NOT_HERE.into())
    }
    pub async fn sign_in(_: Access, _: &str, _: &str) -> Result<(Account, Joining), SignInError> {
        Err(SignInError::Storage(NOT_HERE.into()))
    }
    pub async fn whoami() -> SessionCheck {
        SessionCheck::Unknown
    }
    pub async fn trash_days() -> u32 {
        client::local::TRASH_DAYS
    }
    pub async fn sign_out() -> Result<(), String> {
        Ok(())
    }
    pub async fn end_pending_sign_out() -> bool {
        true
    }
    pub fn forget_local(_: String) {}
}

/// See the browser's `api`.
pub mod api {
    use client::api::ApiError;
    use sync_core::protocol::{Revision, SessionInfo};

    use super::NOT_HERE;

    fn not_here<T>() -> Result<T, ApiError> {
        Err(ApiError::Offline(NOT_HERE.into()))
    }
    pub async fn sessions() -> Result<Vec<SessionInfo>, ApiError> {
        not_here()
    }
    pub async fn end_session(_: &str) -> Result<(), ApiError> {
        not_here()
    }
    pub async fn sign_out_everywhere() -> Result<(), ApiError> {
        not_here()
    }
    pub async fn change_password(_: &str, _: &str) -> Result<u64, ApiError> {
        not_here()
    }
    pub async fn delete_account(_: &str) -> Result<(), ApiError> {
        not_here()
    }
    pub async fn history(_: &str) -> Result<Vec<Revision>, ApiError> {
        not_here()
    }
}

/// See the browser's `links`.
pub mod links {
    use client::links::Target;

    use crate::io::LinkedNote;

    pub async fn resolve(targets: Vec<Target>) -> Vec<(Target, Option<LinkedNote>)> {
        targets.into_iter().map(|t| (t, None)).collect()
    }
    pub async fn suggest(_: &str, _: Option<String>, _: usize) -> Vec<LinkedNote> {
        Vec::new()
    }
    pub async fn backlinks(_: &str, _: usize) -> Vec<LinkedNote> {
        Vec::new()
    }
    pub async fn open(_: &str) -> Option<sync_core::Text> {
        None
    }
}

/// See the browser's `notes`.
pub mod notes {
    use client::local::LocalNote;
    use sync_core::{Strategy, Text};

    use super::NOT_HERE;
    use crate::io::{NotesRead, Query, RecordsRead, Saved};

    pub async fn read(_: &Query) -> Result<NotesRead, String> {
        Ok(NotesRead::default())
    }
    pub async fn save_draft(
        _: Option<String>,
        _: &Text,
        _: &Text,
        _: bool,
    ) -> Result<Saved, String> {
        Err(NOT_HERE.into())
    }
    pub async fn delete(_: &str) -> Result<(), String> {
        Err(NOT_HERE.into())
    }
    pub async fn restore(_: &str, _: &Text) -> Result<(), String> {
        Err(NOT_HERE.into())
    }
    pub async fn resolve(_: &str, _: &Text, _: bool) -> Result<(), String> {
        Err(NOT_HERE.into())
    }
    pub async fn set_strategy(_: &str, _: Strategy) -> Result<(), String> {
        Err(NOT_HERE.into())
    }
    pub async fn trash(_: u32) -> Result<Vec<LocalNote>, String> {
        Ok(Vec::new())
    }
    pub async fn restore_from_trash(_: &str) -> Result<(), String> {
        Err(NOT_HERE.into())
    }
    pub async fn delete_forever(_: &str) -> Result<(), String> {
        Err(NOT_HERE.into())
    }
    pub fn list_shown() {}
    pub fn on_search_ready(_: impl Fn() + 'static) {}
    pub async fn records() -> Result<RecordsRead, String> {
        Ok(RecordsRead::default())
    }
    pub async fn create_notebook(_: &str, _: Option<&str>) -> Result<String, String> {
        Err(NOT_HERE.into())
    }
    pub async fn create_tag(_: &str) -> Result<String, String> {
        Err(NOT_HERE.into())
    }
    pub async fn rename(_: &str, _: &str) -> Result<(), String> {
        Err(NOT_HERE.into())
    }
    pub async fn move_notebook(_: &str, _: Option<&str>) -> Result<(), String> {
        Err(NOT_HERE.into())
    }
    pub async fn set_notebook(_: &[String], _: Option<&str>) -> Result<(), String> {
        Err(NOT_HERE.into())
    }
    pub async fn add_tag(_: &[String], _: &str) -> Result<(), String> {
        Err(NOT_HERE.into())
    }
    pub async fn remove_tag(_: &str, _: &str) -> Result<(), String> {
        Err(NOT_HERE.into())
    }
    pub async fn set_pinned(_: &[String], _: bool) -> Result<(), String> {
        Err(NOT_HERE.into())
    }
    pub fn counts(_: &str) -> Option<client::search::Counts> {
        None
    }
}

/// See the browser's `sync`.
pub mod sync {
    use client::runner::{SyncStatus, Trigger};

    pub async fn start(
        _: bool,
        _: impl Fn(SyncStatus) + 'static,
        _: impl Fn() + 'static,
    ) -> Result<(), String> {
        Ok(())
    }
    pub fn trigger(_: Trigger) {}
    pub fn local_change() {}
}

/// See the browser's `pwa`.
pub mod pwa {
    pub fn start(_: impl Fn() + 'static, _: impl Fn() + 'static, _: impl Fn(String) + 'static) {}
    pub async fn apply_update() -> Result<(), String> {
        Err("updates are applied in the browser".into())
    }
    pub fn request_background_sync() {}
    pub async fn worker_sync() -> Result<String, String> {
        Err("the sync worker runs in the browser".into())
    }
}

/// See the browser's `export`.
pub mod export {
    use client::export::ImportReport;

    use super::NOT_HERE;
    use crate::io::ExportKind;

    pub async fn export(_: ExportKind, _: bool) -> Result<usize, String> {
        Err(NOT_HERE.into())
    }
    pub async fn import(
        _: leptos::ev::Event,
        _: bool,
    ) -> Result<(ImportReport, Vec<String>), String> {
        Err(NOT_HERE.into())
    }
}

const NOT_HERE: &str = "this runs in the browser";
