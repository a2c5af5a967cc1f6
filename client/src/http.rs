//! The browser's sync transport under its old name: [`crate::api::ApiClient`] over
//! [`crate::api::BrowserHttp`] (kept while the app still names it).

/// `POST /sync` (and every other route) from the page or the service worker.
pub type FetchTransport = crate::api::ApiClient<crate::api::BrowserHttp>;
