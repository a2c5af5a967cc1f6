//! # tern-client: Tern's local-first client
//!
//! The local store is the source of truth for the UI; the network only ever feeds it.
//!
//! ## Layout
//! - [`local`]: the note as a device keeps it ([`local::LocalNote`], with its
//!   [`local::SyncState`]), the [`local::LocalStore`] trait every backend implements, the
//!   edits a user makes ([`local::Notes`]) and the pure rules that fold a server response
//!   into local state ([`local::reconcile()`]).
//! - [`memory`]: an in-memory [`local::LocalStore`] for native tests.
//! - `idb` (wasm32 only): the IndexedDB store, through `rexie`.
//! - [`editor`]: the open editor against the store, pure: merging what arrives into unsaved
//!   typing, and the editor as one state machine ([`editor::EditorModel`]).
//! - [`engine`]: the sync engine: a pure step ([`engine::Run`]: plan a request, fold its
//!   answer) and the loop around it ([`engine::sync`]), written once against
//!   [`local::LocalStore`] and [`engine::Transport`] (the API client, or a test's server).
//! - [`runner`]: when to sync (triggers, backoff, one syncer per browser, 401) and the
//!   [`runner::SyncStatus`] the UI shows; the page and the service worker both use it.
//! - [`search`]: the in-memory word-prefix index over titles and bodies, kept up to date
//!   note by note (pure).
//! - [`live`]: the live channel (`GET /live`): one connection per browser whose pokes
//!   make the runner sync at once.
//! - [`clock`]: the device's hybrid logical clock, persisted in the store.
//! - [`api`]: the typed API client ([`api::ApiClient`]): every route but the live stream,
//!   the `sync_core::protocol` types in and out, one error ([`api::ApiError`]); sent
//!   through `gloo-net` in the browser, through `reqwest` natively (`native` feature, the
//!   server's tests and benches). It is the engine's [`engine::Transport`].
//! - `http` (wasm32 only): `FetchTransport`, the browser's API client under its old name.
//! - [`conformance`]: the behaviour every store must have, run against each backend.
//! - `tabs` (wasm32 only): one syncer at a time across tabs and workers (Web Locks) and
//!   change notices between them (BroadcastChannel).
//! - [`platform`]: wall clock and random ids, from the browser or from `std`.
//! - [`export`]: export and import: the versioned JSON file, Markdown files with front
//!   matter (one zip), folders of `.md`/`.txt` files (pure, but for [`local::Notes::import`]).

pub mod api;
pub mod clock;
pub mod conformance;
pub mod editor;
pub mod engine;
pub mod export;
pub mod live;
pub mod local;
pub mod memory;
pub mod platform;
pub mod runner;
pub mod search;

#[cfg(target_arch = "wasm32")]
pub mod http;
#[cfg(target_arch = "wasm32")]
pub mod idb;
#[cfg(target_arch = "wasm32")]
pub mod tabs;
