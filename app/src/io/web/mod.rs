//! The browser side of [`crate::io`] (feature `hydrate`).

pub mod accounts;
pub mod api;
pub mod export;
pub mod first_page;
pub mod links;
mod lock;
pub mod notes;
pub mod page;
pub mod pwa;
mod search;
pub mod sync;
