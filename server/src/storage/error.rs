//! Why a storage call failed, and the boxed future and stream every storage trait returns.
//!
//! No backend's types appear here: a backend turns its own errors into [`StoreError`]
//! (MongoDB's in `storage::mongo`).

/// Why a storage call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Anything else; the detail is for logs only.
    #[error("database error: {0}")]
    Internal(String),
    /// The account was deleted: nothing is written for it any more.
    #[error("the account is deleted")]
    Gone,
    /// A push's cursor is above the user's head (it was issued to someone else): nothing
    /// was written.
    #[error("the cursor is ahead of the user's head")]
    CursorAhead,
}

/// A boxed future that can cross threads: what the storage traits return, so that the
/// server can hold any store as `Arc<dyn …>` (an `async fn` in a trait is not object safe).
pub type BoxFuture<'a, T> = futures::future::BoxFuture<'a, T>;

/// A boxed stream that can cross threads: what the change feeds return.
pub type BoxStream<'a, T> = futures::stream::BoxStream<'a, T>;
