//! Security headers on every response.
//!
//! - `Content-Security-Policy`: [`csp`]. The page (`/`) gets a fresh nonce per response:
//!   Leptos puts it on its inline hydration script (leptos_axum enables Leptos' `nonce`
//!   feature and provides one while rendering); every other response gets the same policy
//!   without a nonce. Scripts only from this origin or with the nonce (never inline
//!   otherwise, never `eval`), WebAssembly allowed (`'wasm-unsafe-eval'`, for the app and
//!   for the service worker, whose own policy is the one sent with `/sw.js`), no plugins,
//!   no `<base>`, no framing, forms only to this origin.
//! - `X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY` (framing denied for
//!   browsers without `frame-ancestors`), `Referrer-Policy: no-referrer`.
//! - `Strict-Transport-Security: max-age=31536000` when the session cookie is `Secure`
//!   (the server is then reached over HTTPS).

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

/// The Content-Security-Policy, with `'nonce-<nonce>'` for the page's inline scripts.
pub fn csp(nonce: Option<&str>) -> String {
    let nonce = nonce.map(|n| format!(" 'nonce-{n}'")).unwrap_or_default();
    // `cargo leptos watch` reloads the page through a WebSocket on another port.
    let reload = if std::env::var_os("LEPTOS_WATCH").is_some() {
        " ws: wss:"
    } else {
        ""
    };
    format!(
        "default-src 'self'; script-src 'self'{nonce} 'wasm-unsafe-eval'; \
         connect-src 'self'{reload}; object-src 'none'; base-uri 'none'; \
         frame-ancestors 'none'; form-action 'self'"
    )
}

/// `Strict-Transport-Security` sent when cookies are `Secure`: one year.
pub const HSTS: &str = "max-age=31536000";

/// Adds the security headers to `res` (keeping a policy a handler set, the page's nonce).
pub fn add(res: &mut Response, hsts: bool) {
    let h = res.headers_mut();
    if !h.contains_key(header::CONTENT_SECURITY_POLICY)
        && let Ok(v) = HeaderValue::from_str(&csp(None))
    {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    let fixed: [(HeaderName, &str); 3] = [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
    ];
    for (k, v) in fixed {
        h.insert(k, HeaderValue::from_static(v));
    }
    if hsts {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        );
    }
}

/// Middleware adding the security headers; `hsts` when cookies are `Secure`.
pub async fn layer(hsts: bool, req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    add(&mut res, hsts);
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_allows_no_inline_script_without_the_nonce() {
        let p = csp(Some("abc"));
        assert!(
            p.contains("script-src 'self' 'nonce-abc' 'wasm-unsafe-eval'"),
            "{p}"
        );
        assert!(
            !p.contains("unsafe-inline") && !p.contains("'unsafe-eval'"),
            "{p}"
        );
        for d in [
            "default-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
        ] {
            assert!(p.contains(d), "{d} missing from {p}");
        }
        assert!(!csp(None).contains("nonce"));
    }
}
