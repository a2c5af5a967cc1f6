//! Security headers over HTTP: the page's Content-Security-Policy carries the nonce of its
//! hydration script, every other answer has the same policy without one, and framing,
//! sniffing, referrers and (with `Secure` cookies) HSTS are set everywhere.

mod support;

use std::sync::Arc;

use leptos::config::LeptosOptions;
use server::storage::mongo::MongoStore;
use server::{AppState, router, serve};
use support::*;

async fn spawn(cookie_secure: bool) -> (String, tokio::sync::oneshot::Sender<()>) {
    let store = Arc::new(
        MongoStore::connect(shared_db().uri(), &fresh_db_name())
            .await
            .unwrap(),
    );
    let leptos = LeptosOptions::builder()
        .output_name("tern")
        .site_root("target/site")
        .build();
    let state = AppState::new(store, leptos, cookie_secure);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(serve(listener, router(state), async move {
        let _ = rx.await;
    }));
    (base, tx)
}

fn header(r: &reqwest::Response, name: &str) -> String {
    r.headers()
        .get(name)
        .unwrap_or_else(|| panic!("{name} missing from {} {}", r.status(), r.url()))
        .to_str()
        .unwrap()
        .to_owned()
}

/// The directives of a policy, by name.
fn directives(csp: &str) -> std::collections::HashMap<String, Vec<String>> {
    csp.split(';')
        .filter_map(|d| {
            let mut words = d.split_whitespace().map(str::to_owned);
            Some((words.next()?, words.collect()))
        })
        .collect()
}

fn assert_strict(csp: &str) {
    let d = directives(csp);
    let has = |k: &str, v: &[&str]| {
        assert_eq!(
            d.get(k)
                .map(|x| x.iter().map(String::as_str).collect::<Vec<_>>()),
            Some(v.to_vec()),
            "{k} in {csp}"
        )
    };
    has("default-src", &["'self'"]);
    has("object-src", &["'none'"]);
    has("base-uri", &["'none'"]);
    has("frame-ancestors", &["'none'"]);
    let scripts = &d["script-src"];
    assert!(scripts.contains(&"'wasm-unsafe-eval'".to_owned()), "{csp}");
    assert!(
        !csp.contains("'unsafe-inline'") && !csp.contains("'unsafe-eval'"),
        "{csp}"
    );
}

#[tokio::test]
async fn the_page_policy_carries_the_nonce_of_its_only_inline_script() {
    let (base, _stop) = spawn(false).await;
    let http = reqwest::Client::new();
    let mut nonces = Vec::new();
    for _ in 0..2 {
        let r = http.get(&base).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let csp = header(&r, "content-security-policy");
        assert_strict(&csp);
        let nonce = directives(&csp)["script-src"]
            .iter()
            .find_map(|s| {
                s.strip_prefix("'nonce-")?
                    .strip_suffix('\'')
                    .map(str::to_owned)
            })
            .unwrap_or_else(|| panic!("no nonce in {csp}"));
        assert!(nonce.len() >= 22, "at least 128 bits: {nonce}");
        let html = r.text().await.unwrap();
        // Every inline script carries the nonce (scripts with a src are 'self').
        let inline: Vec<&str> = html
            .split("<script")
            .skip(1)
            .map(|s| &s[..s.find('>').unwrap()])
            .filter(|attrs| !attrs.contains("src="))
            .collect();
        assert!(!inline.is_empty(), "the hydration script is inline");
        for attrs in inline {
            assert!(
                attrs.contains(&format!("nonce=\"{nonce}\"")),
                "inline script without the nonce: <script{attrs}>"
            );
        }
        nonces.push(nonce);
    }
    assert_ne!(nonces[0], nonces[1], "a fresh nonce per response");
}

#[tokio::test]
async fn every_answer_forbids_framing_and_sniffing() {
    let (base, _stop) = spawn(false).await;
    let http = reqwest::Client::new();
    for (method, path) in [
        ("GET", "/"),
        ("GET", "/sw.js"),
        ("GET", "/healthz"),
        ("GET", "/no/such/page"),
        ("GET", "/api/openapi.json"),
        ("POST", "/sync"),
        ("POST", "/auth/signin"),
    ] {
        let r = http
            .request(method.parse().unwrap(), format!("{base}{path}"))
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_strict(&header(&r, "content-security-policy"));
        assert_eq!(header(&r, "x-content-type-options"), "nosniff", "{path}");
        assert_eq!(header(&r, "x-frame-options"), "DENY", "{path}");
        assert_eq!(header(&r, "referrer-policy"), "no-referrer", "{path}");
        assert!(
            r.headers().get("strict-transport-security").is_none(),
            "no HSTS without Secure cookies ({path})"
        );
    }
    // The service worker's own policy lets it instantiate the wasm it runs.
    let r = http.get(format!("{base}/sw.js")).send().await.unwrap();
    let csp = header(&r, "content-security-policy");
    assert!(directives(&csp)["script-src"].contains(&"'self'".to_owned()));
}

#[tokio::test]
async fn hsts_is_sent_when_cookies_are_secure() {
    let (base, _stop) = spawn(true).await;
    let http = reqwest::Client::new();
    for path in ["/", "/healthz", "/sw.js"] {
        let r = http.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(
            header(&r, "strict-transport-security"),
            "max-age=31536000",
            "{path}"
        );
    }
}
