//! # io: everything that leaves the page's memory
//!
//! The bottom layer of the app: IndexedDB (one database per account, through
//! `tern-client`), the server's API, timers and the clock, the page's singletons (the open
//! store, the sync runner, the search index), the DOM beyond the components (focus,
//! `localStorage`, the address), and the service worker. The layers above (`model`, `components`)
//! call these functions and never `web_sys` or `gloo_net`.
//!
//! This is the app's one `cfg` switch: with the `hydrate` feature (the browser) the
//! functions are `web`'s; without it (the server, which renders the first paint and never
//! runs effects or event handlers) they are `server`'s stubs of the same signatures, which
//! do nothing. The typed values both take and give are `types`'s, re-exported here.
//!
//! ## Layout (the same submodules on both sides)
//! - `accounts`: which account's database the page shows, this browser's account records,
//!   sign-in, sign-out and the notes written before any sign-in.
//! - `api`: every HTTP call to the server other than `/sync` (the runner's), typed.
//! - `notes`: reads and writes of the local store (notes, and the notebooks, tags and pins
//!   that organize them), and the search index's life cycle.
//! - `sync`: the page's sync runner (`client::runner`).
//! - `pwa`: the service worker: registration, updates, Background Sync, the worker's sync.
//! - `export`: export to a download, import from chosen files.
//! - `first_page`: the list's first page kept in `localStorage` for the next start's
//!   first-paint shell.
//! - `page`: timers, the clock, local time labels and the time zone's offset, focus,
//!   `localStorage`, the list's drag of notes, events of the page and of other tabs.

mod types;
pub use types::*;

#[cfg(feature = "hydrate")]
mod web;
#[cfg(feature = "hydrate")]
pub use web::*;

#[cfg(not(feature = "hydrate"))]
mod server;
#[cfg(not(feature = "hydrate"))]
pub use server::*;
