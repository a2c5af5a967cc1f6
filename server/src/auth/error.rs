//! Why an account operation failed ([`AuthError`]); `crate::error` turns it into HTTP.

use crate::storage::StoreError;

/// Why an account operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Username or password does not meet the rules.
    #[error("{0}")]
    InvalidAccount(String),
    /// Username already taken.
    #[error("name taken")]
    NameTaken,
    /// Wrong username or password.
    #[error("invalid credentials")]
    InvalidCredentials,
    /// Too many failed sign-ins; retry after this many seconds.
    #[error("too many attempts")]
    TooManyAttempts(u64),
    /// Too many password hashes waiting already; retry in a second.
    #[error("busy")]
    Busy,
    /// A signed-in user's password, asked again (password change, account deletion), is
    /// wrong.
    #[error("wrong password")]
    WrongPassword,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}
