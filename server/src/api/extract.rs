//! What the API reads off a request besides its body: the signed-in user ([`AuthUser`],
//! with the CSRF rules), the origin check, and the client's throttling source
//! (`source_of`, [`client_ip`]).

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;

use crate::auth::{SESSION_COOKIE, SignedInSession};
use crate::clock::now_ms;
use crate::error::ApiError;
use crate::state::AppState;

/// How a request proved who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Via {
    Cookie,
    Bearer,
}

/// The signed-in user of a request: from `Authorization: Bearer <token>` or the session
/// cookie. Rejects with 401 `unauthorized`, or 403 `csrf_rejected` for a cookie sent by
/// another site.
pub struct AuthUser(pub SignedInSession);

impl std::fmt::Debug for AuthUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("AuthUser").field(&self.0).finish()
    }
}

fn token_of(parts: &Parts) -> Option<(String, Via)> {
    if let Some(h) = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        return h
            .strip_prefix("Bearer ")
            .map(|t| (t.trim().to_owned(), Via::Bearer));
    }
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == SESSION_COOKIE)
        .map(|(_, v)| (v.to_owned(), Via::Cookie))
}

/// A browser request's `Origin`, if any, must be this server's own: `TERN_PUBLIC_ORIGIN`
/// when set (behind a proxy, `Host` may not be what the browser used), else the `Host`.
pub(super) fn check_same_origin(
    parts: &Parts,
    public_origin: Option<&str>,
) -> Result<(), ApiError> {
    let Some(origin) = parts
        .headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
    else {
        return Ok(());
    };
    let same = match public_origin {
        Some(public) => origin.eq_ignore_ascii_case(public),
        None => {
            let host = parts
                .headers
                .get(header::HOST)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            let origin_host = origin.split_once("://").map_or("", |(_, h)| h);
            !host.is_empty() && origin_host.eq_ignore_ascii_case(host)
        }
    };
    if same {
        Ok(())
    } else {
        Err(ApiError::CsrfRejected(
            "cross-site request refused; use the app's own origin",
        ))
    }
}

/// The client's address in the last element of a client-address header (the element the
/// trusted proxy itself added): `203.0.113.9`, `203.0.113.9:4711`, `2001:db8::1`,
/// `[2001:db8::1]:4711`, or RFC 7239 `Forwarded` (`for=203.0.113.9;proto=https`,
/// `for="[2001:db8::1]:4711"`). `Err` with the element for anything else (`unknown`, an
/// obfuscated identifier, garbage).
pub fn client_ip(header: &str) -> Result<IpAddr, &str> {
    let last = header.rsplit(',').next().unwrap_or("").trim();
    let addr = last
        .split(';')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("for"))
        .map_or(last, |(_, v)| v.trim().trim_matches('"'));
    addr.parse::<IpAddr>()
        .or_else(|_| addr.parse::<SocketAddr>().map(|a| a.ip()))
        .or_else(|_| {
            addr.strip_prefix('[')
                .and_then(|a| a.strip_suffix(']'))
                .ok_or(())
                .and_then(|a| a.parse::<IpAddr>().map_err(|_| ()))
        })
        .map_err(|()| last)
}

/// The client's throttling key ([`crate::auth::throttle::source_key`]): the address in the
/// trusted header `TERN_CLIENT_IP_HEADER` when one is configured ([`client_ip`]), else the
/// address of the TCP peer.
///
/// A header that is there but names no address is logged (at most once a minute) and is
/// not taken as the peer's address, which behind a proxy is the proxy's, shared by every
/// user (one attacker's failures would throttle them all): the source is then the header's
/// last element itself, hashed (`h|…`), which the proxy wrote, so one client cannot
/// choose a new source per request.
pub(super) fn source_of(parts: &Parts, state: &AppState) -> String {
    if let Some(v) = state.client_ip_header.as_ref().and_then(|name| {
        let v = parts.headers.get_all(name).iter().next_back()?;
        Some(String::from_utf8_lossy(v.as_bytes()).into_owned())
    }) {
        match client_ip(&v) {
            Ok(ip) => return crate::auth::throttle::source_key(ip),
            Err(last) => {
                unparsed_header_logged(state, last);
                return crate::auth::throttle::unparsed_source_key(last);
            }
        }
    }
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    match peer {
        Some(ip) => crate::auth::throttle::source_key(ip),
        // Served without connection info (not through `serve`): one shared source.
        None => "unknown".into(),
    }
}

/// Logs a client-address header that names no address, at most once a minute (a proxy
/// that sends such values sends them on every request).
fn unparsed_header_logged(state: &AppState, last: &str) {
    use std::sync::atomic::{AtomicU64, Ordering};
    static LAST_LOGGED_S: AtomicU64 = AtomicU64::new(0);
    let now_s = now_ms() / 1000;
    let before = LAST_LOGGED_S.load(Ordering::Relaxed);
    if now_s >= before + 60
        && LAST_LOGGED_S
            .compare_exchange(before, now_s, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    {
        let shown: String = last.chars().take(64).collect();
        tracing::warn!(
            header = state.client_ip_header.as_ref().map_or("", |h| h.as_str()),
            value = %shown,
            "the client-address header names no address; each such value throttles as a source of its own (check the proxy's TERN_CLIENT_IP_HEADER setup)"
        );
    }
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let (token, via) = token_of(parts).ok_or(ApiError::Unauthorized)?;
        if via == Via::Cookie {
            check_same_origin(parts, state.public_origin.as_deref())?;
            if parts.method == axum::http::Method::POST {
                let json = parts
                    .headers
                    .get(header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v.starts_with("application/json"));
                if !json {
                    return Err(ApiError::CsrfRejected(
                        "send Content-Type: application/json with the session cookie",
                    ));
                }
            }
        }
        let session = state
            .accounts
            .session(&token)
            .await?
            .ok_or(ApiError::Unauthorized)?;
        Ok(Self(session))
    }
}
