//! The API client: every conversation with the server but the live stream (`GET /live`,
//! [`crate::live`]), typed, with one error type.
//!
//! - [`ApiClient`]: one method per route (`POST /sync`, `/auth/*`, `/account/*`,
//!   `GET /notes/{id}/history`), taking and returning the [`sync_core::protocol`] types.
//!   It also is the sync engine's transport (`engine::Transport`, implemented there).
//! - [`ApiError`]: what went wrong, as a caller tells it apart: no answer
//!   ([`ApiError::Offline`]), no valid session or wrong password ([`ApiError::Unauthorized`]),
//!   any other error answer with the server's JSON error body ([`ApiError::Server`]), an
//!   answer that is not what the route returns ([`ApiError::Decode`]).
//! - [`Http`]: how one request is sent. Two implementations: `BrowserHttp` (wasm32 only,
//!   `gloo-net`, the session cookie) and `NativeHttp` (the `native` feature, `reqwest`, a
//!   bearer token), used by the server's tests and benches. The status and body are mapped
//!   to [`ApiError`] once, here ([`ApiClient::call`]), whatever sends them.
//!
//! Layout (each file imports only those before it): `error`, `http`, `client`, then the
//! transports `browser` and `native`; this file only names them.

mod client;
mod error;
mod http;

#[cfg(target_arch = "wasm32")]
mod browser;
#[cfg(feature = "native")]
mod native;

pub use client::{Access, ApiClient};
pub use error::ApiError;
pub use http::{Answer, Call, Http, Method};

#[cfg(target_arch = "wasm32")]
pub use browser::BrowserHttp;
#[cfg(feature = "native")]
pub use native::NativeHttp;

#[cfg(test)]
mod tests;
