//! Sessions: the signed-in session a request carries ([`SignedInSession`]), its token and
//! the key it is stored under, the session cookie, and the label of what signed in.
//!
//! A session is a random 256-bit token. The database stores only its SHA-256, with an
//! expiry ([`SESSION_TTL`]). Browsers get the token only in an `HttpOnly; SameSite=Strict`
//! cookie ([`set_cookie`], plus `Secure` unless the server listens on loopback); other
//! clients send `Authorization: Bearer <token>`.

use std::time::Duration;

use argon2::password_hash::rand_core::{OsRng, RngCore};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// How long a session lasts.
pub const SESSION_TTL: Duration = Duration::from_secs(30 * 24 * 3600);
/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "tern_session";

/// The `Set-Cookie` value that gives a browser the session of `token`.
pub fn set_cookie(token: &str, secure: bool) -> String {
    format!(
        "{SESSION_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{}",
        SESSION_TTL.as_secs(),
        if secure { "; Secure" } else { "" }
    )
}

/// The `Set-Cookie` value that ends a browser's session.
pub fn clear_cookie() -> String {
    format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0")
}

/// A signed-in session. Its `Debug` leaves the token out: a session may be logged.
#[derive(Clone)]
pub struct SignedInSession {
    /// The user's id (scopes every note query).
    pub user_id: String,
    /// The user's name.
    pub name: String,
    /// The secret token (cookie value or bearer token).
    pub token: String,
    /// The credential epoch the session was made with ([`crate::storage::StoredUser::epoch`]).
    pub epoch: i64,
}

impl SignedInSession {
    /// The key the session is stored under (the token's SHA-256, hex): what the session
    /// list calls its id, and what live connections are ended by.
    pub fn key(&self) -> String {
        token_key(&self.token)
    }
}

impl std::fmt::Debug for SignedInSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedInSession")
            .field("user_id", &self.user_id)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// A new random 256-bit token, URL-safe base64.
pub(super) fn random_token() -> String {
    let mut b = [0u8; 32];
    OsRng.fill_bytes(&mut b);
    URL_SAFE_NO_PAD.encode(b)
}

/// The key a token's session is stored under: its SHA-256, hex.
pub fn token_key(token: &str) -> String {
    let d = Sha256::digest(token.as_bytes());
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// A short, bounded name for what signed in, from its `User-Agent` ("Chrome on Linux");
/// the header itself is not stored.
pub fn device_label(user_agent: Option<&str>) -> String {
    let Some(ua) = user_agent.filter(|u| !u.is_empty()) else {
        return "API client".into();
    };
    let browser = [
        ("Edg/", "Edge"),
        ("Firefox/", "Firefox"),
        ("HeadlessChrome/", "Headless Chrome"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
    ]
    .into_iter()
    .find(|(k, _)| ua.contains(k))
    .map(|(_, v)| v);
    let os = [
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("iPad", "iPadOS"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    ]
    .into_iter()
    .find(|(k, _)| ua.contains(k))
    .map(|(_, v)| v);
    match (browser, os) {
        (Some(b), Some(o)) => format!("{b} on {o}"),
        (Some(b), None) => b.into(),
        (None, Some(o)) => format!("A client on {o}"),
        (None, None) => "Another client".into(),
    }
}
