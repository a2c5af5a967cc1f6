//! What the app tells the user, in one place: the messages made of typed outcomes (a sync
//! report, an API error, a storage error). Copy that belongs to one screen's own logic
//! stays with it ([`super::activity`], [`super::storage`]).

use client::engine::SyncReport;

use crate::io::{ApiError, SignInError};

/// The account notice while nobody is signed in.
pub const SIGN_IN_TO_SYNC: &str = "Notes are saved on this device. Sign in to sync them.";

/// What the account settings say when the server cannot be reached.
pub const SETTINGS_OFFLINE: &str = "This needs a connection to the server; try again when online.";

/// What to tell the user after a sync run, if anything: edits that lost, deletes undone,
/// conflicts, notes refused on the device.
pub fn sync_notice(r: &SyncReport) -> String {
    let mut notice = Vec::new();
    if r.superseded > 0 {
        notice.push(format!(
            "{} of your edits lost to newer edits from another device; open the note's \
             History to bring them back.",
            r.superseded
        ));
    }
    if r.deletes_undone > 0 {
        notice.push(format!(
            "{} note(s) you deleted were edited on another device meanwhile, so they were kept.",
            r.deletes_undone
        ));
    }
    if r.conflicts > 0 {
        notice.push(format!(
            "{} note(s) were edited on two devices at once: choose a version.",
            r.conflicts
        ));
    }
    if r.refused > 0 {
        notice.push(format!(
            "{} note(s) are over a size limit and stay on this device: see the note.",
            r.refused
        ));
    }
    notice.join(" ")
}

/// A local-storage error as the user should read it: quota errors say that storage is full.
pub fn storage_error(message: &str) -> String {
    let lower = message.to_ascii_lowercase();
    if lower.contains("quota") || lower.contains("storage is full") {
        "storage is full: free some space on this device, then edit again".to_owned()
    } else {
        message.to_owned()
    }
}

/// Why a sign-in or sign-up failed: the server's words, else what went wrong.
pub fn sign_in_error(e: &SignInError) -> String {
    match e {
        SignInError::Api(e) => e.message(),
        SignInError::Storage(e) => e.clone(),
    }
}

/// Why a request of the account settings failed.
pub fn settings_error(e: &ApiError) -> String {
    match e {
        ApiError::Offline(_) => SETTINGS_OFFLINE.to_owned(),
        e => e.message(),
    }
}

/// Why a note's history could not be read.
pub fn history_error(e: &ApiError) -> String {
    match e {
        ApiError::Offline(_) => "History needs a connection to the server.".to_owned(),
        ApiError::Unauthorized { .. } => "Sign in to see the note's history.".to_owned(),
        ApiError::Server { status, .. } => format!("The server answered {status}."),
        ApiError::Decode(_) => e.message(),
    }
}

#[cfg(test)]
mod tests {
    use sync_core::protocol::{ErrorBody, ErrorCode};

    use super::*;

    #[test]
    fn errors_read_as_before() {
        let full = storage_error("QuotaExceededError: the quota has been exceeded");
        assert!(full.starts_with("storage is full"), "{full}");
        assert_eq!(storage_error("other"), "other");
        let refused = ApiError::Server {
            status: 409,
            body: Some(ErrorBody {
                error: ErrorCode::InvalidRequest,
                message: "that username is taken".into(),
            }),
        };
        assert_eq!(
            sign_in_error(&SignInError::Api(refused)),
            "that username is taken"
        );
        let bare = ApiError::Server {
            status: 503,
            body: None,
        };
        assert_eq!(settings_error(&bare), "the server answered 503");
        assert_eq!(
            history_error(&ApiError::Unauthorized { body: None }),
            "Sign in to see the note's history."
        );
        assert_eq!(
            settings_error(&ApiError::Offline("x".into())),
            SETTINGS_OFFLINE
        );
        assert_eq!(
            sign_in_error(&SignInError::Api(ApiError::Offline("refused".into()))),
            "cannot reach the server: refused"
        );
    }
}
