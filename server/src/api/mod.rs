//! The HTTP API, one module per area; the route table is [`crate::routes`].
//!
//! - [`sync`]: `POST /sync` (push, then pull), and the cursors it hands out.
//! - [`history`]: `GET /notes/{id}/history`.
//! - [`live`]: `GET /live`, the live connection ([`crate::live`] holds them).
//! - [`account`]: `/auth/*` (sign-up, sign-in, sign-out, who is signed in) and `/account/*`
//!   (sessions, password, deletion).
//! - [`meta`]: `GET /healthz`, `GET /metrics`, `GET /sw.js`.
//! - [`openapi`]: the API document, generated from the handlers, and `GET /api/openapi.json`.
//! - [`extract`]: the signed-in user of a request ([`extract::AuthUser`], with the CSRF
//!   rules) and its throttling source.
//! - [`layers`]: the database watchdog, `no-store`, the JSON 405.
//!
//! Every API answer is `Cache-Control: no-store`, and a request that waits on a stopped
//! database answers 503 ([`layers::watchdog`]). Handlers return [`crate::error::ApiError`],
//! which becomes HTTP in one place; bodies are read by [`crate::http::ApiJson`].

pub mod account;
pub mod extract;
pub mod history;
pub mod layers;
pub mod live;
pub mod meta;
pub mod openapi;
pub mod sync;

pub use crate::http::MAX_CREDENTIALS_BYTES;
pub use extract::{AuthUser, client_ip};
pub use sync::{SYNC_DEADLINE, decode_cursor, encode_cursor, parse_request};
