//! Accounts and sessions: the rules, over the storage traits (any backend).
//!
//! - [`password`]: the account rules and argon2id hashing (default parameters: 19 MiB,
//!   2 passes), off the async runtime, at most a fixed number at a time
//!   ([`throttle::HashGate`]).
//! - [`session`]: a session is a random 256-bit token; the database stores only its
//!   SHA-256, with an expiry ([`session::SESSION_TTL`], enforced by the query and removed
//!   by the backend). Browsers get the token only in an `HttpOnly; SameSite=Strict` cookie
//!   (plus `Secure` unless the server listens on loopback); other clients send
//!   `Authorization: Bearer <token>` (`api::account` decides who gets the token in the
//!   body).
//! - [`throttle`]: sign-ins and sign-ups are throttled by source and account; an unknown
//!   name costs and answers exactly what a real one does.
//! - [`accounts`]: [`Accounts`], the service the API calls: sign-up, sign-in, sessions,
//!   password change, deletion.
//! - [`cache`]: the sessions a process checked in the last seconds, not read again per
//!   request ([`cache::SESSION_CACHE_TTL`] bounds how long a session revoked elsewhere
//!   still works here).
//! - [`error`]: the service's error, [`AuthError`].
//!
//! A session carries the credentials that made it: the account's credential epoch
//! (`StoredUser::epoch`, moved on by a password change) is copied into the session at
//! sign-in, and a session is valid only while its account exists and its epoch is not
//! older than the account's. So a sign-in that read the old hash before a password change
//! (or an account deletion) and inserts its session after it yields a dead session.
//!
//! CSRF (a cookie-authenticated request must come from the server's own origin, and a
//! cookie-authenticated POST must say `Content-Type: application/json`) is the HTTP
//! layer's: `api::extract::AuthUser`. Storage goes through [`crate::storage::AccountStore`]
//! and [`crate::storage::BucketStore`].

pub mod accounts;
pub mod cache;
pub mod error;
pub mod password;
pub mod session;
pub mod throttle;

pub use accounts::Accounts;
pub use error::AuthError;
pub use password::{MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS, check_credentials};
pub use session::{SESSION_COOKIE, SESSION_TTL, SignedInSession, device_label};
