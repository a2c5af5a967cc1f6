//! What an operator sees: a request id on every answer and on every log line of the
//! request (its error logs included), and the Prometheus metrics at `/metrics`.

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use support::*;

/// Everything the server logs in this test binary (the subscriber is process-wide).
fn logs() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let sink = buf.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter("server=debug")
            .with_ansi(false)
            .with_writer(move || Sink(sink.clone()))
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("one subscriber");
        buf
    })
}

struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn log_lines_with(needle: &str) -> Vec<String> {
    String::from_utf8_lossy(&logs().lock().unwrap())
        .lines()
        .filter(|l| l.contains(needle))
        .map(str::to_owned)
        .collect()
}

fn request_id(r: &reqwest::Response) -> String {
    r.headers()
        .get("x-request-id")
        .unwrap_or_else(|| panic!("no x-request-id on {} {}", r.status(), r.url()))
        .to_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn every_answer_names_its_request_and_the_error_log_names_it_too() {
    logs();
    let app = spawn_app().await;
    // A rejected sync: the answer carries a fresh id, and the server's log line about the
    // rejection carries the same one.
    let r = app
        .http
        .post(format!("{}/sync", app.base))
        .bearer_auth("not-a-session")
        .body(r#"{"protocol":1}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let id = request_id(&r);
    assert_eq!(id.len(), 36, "a UUID: {id}");
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap(),
        serde_json::json!({"error": "unauthorized", "message": "sign in to sync; notes on this device are kept"})
    );
    let lines = log_lines_with(&id);
    assert!(
        lines.iter().any(|l| l.contains("rejected request")),
        "no log line of the rejection names {id}: {lines:#?}"
    );

    // Two requests never share an id; an id set by a proxy in front is kept.
    let r = app
        .http
        .get(format!("{}/healthz", app.base))
        .header("x-request-id", "proxy-1234")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(request_id(&r), "proxy-1234");
    let r2 = app
        .http
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .unwrap();
    assert_ne!(request_id(&r2), id);
    assert_eq!(
        r2.json::<serde_json::Value>().await.unwrap(),
        serde_json::json!({"status": "ok", "database": "reachable"})
    );
}

/// The scrape's samples (`name{labels} value` lines), without comments.
async fn scrape(app: &TestApp) -> Vec<String> {
    let r = app
        .http
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-type"],
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    let text = r.text().await.unwrap();
    assert!(text.ends_with("# EOF\n"), "{text}");
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

fn has(samples: &[String], line: &str) {
    assert!(
        samples.iter().any(|s| s == line),
        "{line} missing from the scrape:\n{}",
        samples.join("\n")
    );
}

#[tokio::test]
async fn a_push_and_a_failed_sign_in_show_up_in_a_scrape() {
    // This app's own metrics: the harness signed alice up (one 201) and nothing else.
    let app = spawn_app().await;
    let before = scrape(&app).await;
    has(&before, "tern_sync_pushes_total 0");
    has(&before, "tern_auth_sign_in_failures_total 0");
    has(
        &before,
        r#"tern_http_requests_total{route="/auth/signup",method="POST",status="201"} 1"#,
    );

    let pushed = app
        .sync(&request(
            None,
            vec![change("n1", "dev-a", now(), "Groceries")],
        ))
        .await;
    assert_eq!(pushed.results.len(), 1);
    let wrong = app
        .http
        .post(format!("{}/auth/signin", app.base))
        .header(TEST_SOURCE, test_source("alice"))
        .json(&serde_json::json!({"username": "alice", "password": "not the password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);

    let after = scrape(&app).await;
    has(&after, "tern_sync_pushes_total 1");
    has(&after, "tern_sync_pulls_total 1");
    has(&after, r#"tern_sync_changes_total{outcome="applied"} 1"#);
    has(&after, "tern_sync_conflicts_total 0");
    has(&after, "tern_auth_sign_in_failures_total 1");
    has(
        &after,
        r#"tern_http_requests_total{route="/sync",method="POST",status="200"} 1"#,
    );
    has(
        &after,
        r#"tern_http_requests_total{route="/auth/signin",method="POST",status="401"} 1"#,
    );
    has(
        &after,
        r#"tern_http_request_duration_seconds_count{route="/sync",method="POST",status="200"} 1"#,
    );
    // The scrapes themselves are requests of their own route.
    has(
        &after,
        r#"tern_http_requests_total{route="/metrics",method="GET",status="200"} 1"#,
    );
}
