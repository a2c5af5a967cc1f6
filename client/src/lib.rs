//! # tern-client: Tern's local-first client
//!
//! The local store is the source of truth for the UI; the network only ever feeds it.
//!
//! ## Layout
//! Listed from the bottom up: each module imports only modules listed before it (no
//! circles; `sync_core` is below them all).
//! - [`platform`]: wall clock, random ids, `navigator.onLine` and a timer
//!   (`platform::sleep_ms`, wasm32), from the browser or from `std`.
//! - [`clock`]: the device's hybrid logical clock, persisted in the store.
//! - [`editor`]: the open editor, pure: merging what arrives into unsaved typing, and the
//!   editor as one state machine ([`editor::EditorModel`]).
//! - `tabs` (wasm32 only): one syncer at a time across tabs and workers (Web Locks) and
//!   change notices between them (BroadcastChannel).
//! - [`api`]: the typed API client ([`api::ApiClient`]): every route but the live stream,
//!   the `sync_core::protocol` types in and out, one error ([`api::ApiError`]: offline,
//!   unauthorized, the server's error body, decode); sent through `gloo-net` in the
//!   browser, through `reqwest` natively (`native` feature: the server's tests and benches).
//!   `http` (wasm32 only) keeps its old name, `FetchTransport`.
//! - [`local`]: the device's notes: the note ([`local::LocalNote`], its
//!   [`local::SyncState`]), the [`local::LocalStore`] trait every backend implements, the
//!   migrations of stored records, the meta keys and this browser's account records
//!   ([`local::AccountRecords`]), the pure rules folding a server response into local
//!   state ([`local::reconcile()`]), the edits a user makes ([`local::Notes`]), the trash,
//!   and the stamping of edits by the device clock. A folder of small modules, every item
//!   re-exported from `local`.
//! - [`memory`]: an in-memory [`local::LocalStore`] for native tests; `idb` (wasm32 only):
//!   the IndexedDB store, through `rexie`.
//! - [`search`]: the in-memory word-prefix index over titles and bodies, kept up to date
//!   note by note (pure).
//! - [`export`]: export and import: the versioned JSON file, Markdown files with front
//!   matter (one zip), folders of `.md`/`.txt` files (pure, but for [`local::Notes::import`]).
//! - [`conformance`]: the behaviour every store must have, run against each backend.
//! - [`engine`]: the sync engine: a pure step ([`engine::Run`]: plan a request, fold its
//!   answer) and the loop around it ([`engine::sync`]), written once against
//!   [`local::LocalStore`] and [`engine::Transport`] (the API client, or a test's server).
//! - [`live`]: the live channel (`GET /live`): one connection per browser whose pokes
//!   make the runner sync at once (the runner starts it; it knows nothing of the runner).
//! - [`runner`]: when to sync (triggers, backoff, one syncer per browser, 401) and the
//!   [`runner::SyncStatus`] the UI shows; the page and the service worker both use it.

pub mod api;
pub mod clock;
pub mod conformance;
pub mod editor;
pub mod engine;
pub mod export;
pub mod links;
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
