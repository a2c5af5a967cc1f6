//! Fuzzing of the request parser, in process, and of the running server over real HTTP
//! against the real database: hostile `/sync` bodies (valid shapes with hostile values,
//! wrong types, huge and deep JSON, bad UTF-8, truncated bodies, duplicate keys, NaN-ish
//! and huge numbers, cursors out of range), wrong content types and credentials, and
//! hostile `/auth/*` and `/notes/{id}/history` requests.
//!
//! What must hold for every request: no 5xx, no dropped connection (a panicking handler),
//! every 4xx carries the JSON error body, and a request refused as a whole (or whose every
//! change was rejected) leaves the user's notes, revisions and counter as they were.
//!
//! `cargo test` runs a short campaign; `scripts/fuzz.sh` the long one. Knobs:
//! `TERN_FUZZ_SEED` (printed by every run; the same seed sends the same bodies),
//! `TERN_FUZZ_HTTP_BODIES` (requests over HTTP, default 3,000), `TERN_FUZZ_WORKERS`
//! (concurrent users sending, default 2), `TERN_FUZZ_CASES` (bodies for the in-process
//! parser, default 3,000).

mod fuzz_gen;
mod support;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::body::to_bytes;
use axum::response::IntoResponse;
use fuzz_gen::Rng;
use mongodb::bson::{Document, doc};
use server::api::{decode_cursor, encode_cursor, parse_request};
use support::*;
use sync_core::limits::MAX_CHANGES_PER_REQUEST;
use sync_core::protocol::{ChangeOutcome, ErrorBody, HistoryResponse, SyncResponse};

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

/// The campaign's seed: `TERN_FUZZ_SEED`, else a fresh one (printed).
fn seed() -> u64 {
    let s = env_u64(
        "TERN_FUZZ_SEED",
        now() ^ u64::from(std::process::id()) << 32,
    );
    eprintln!("fuzz seed: TERN_FUZZ_SEED={s}");
    s
}

// ---------------------------------------------------------------------------------------
// In process: the request parser and the cursor decoder.

/// Any body: `parse_request` returns a request within the limits, or an error whose
/// response is a 4xx with the JSON error body. Never a panic.
#[tokio::test]
async fn the_request_parser_never_panics_and_refuses_with_a_typed_4xx() {
    let seed = seed();
    let cases = env_u64("TERN_FUZZ_CASES", 3_000);
    let mut r = Rng::new(seed);
    let issued = vec!["v1.0".to_owned(), "v1.3".to_owned()];
    let mut accepted = 0u64;
    for case in 0..cases {
        let body = fuzz_gen::sync_body(&mut r, &issued, case % 500 == 499);
        let ctx = || format!("seed {seed}, case {case}: {}", preview(&body));
        match parse_request(&body) {
            Ok(req) => {
                accepted += 1;
                assert_eq!(req.protocol, 1, "{}", ctx());
                assert!(req.changes.len() <= MAX_CHANGES_PER_REQUEST, "{}", ctx());
                // What was accepted reads back the same when re-encoded.
                let again = parse_request(&serde_json::to_vec(&req).unwrap()).unwrap();
                assert_eq!(again, req, "{}", ctx());
                if let Ok(v) = decode_cursor(req.cursor.as_ref()) {
                    assert_eq!(decode_cursor(Some(&encode_cursor(v))).unwrap(), v);
                }
            }
            Err(e) => {
                let resp = e.into_response();
                let status = resp.status().as_u16();
                assert!((400..500).contains(&status), "{status}: {}", ctx());
                let bytes = to_bytes(resp.into_body(), usize::MAX).await.unwrap();
                let body: ErrorBody =
                    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{e}: {}", ctx()));
                assert!(!body.message.is_empty());
            }
        }
    }
    eprintln!("parser: {cases} bodies, {accepted} accepted as requests");
    assert!(
        accepted > cases / 10,
        "the generator reaches the valid paths"
    );
}

/// Any cursor string decodes to a version or to `invalid_cursor`, never a panic; every
/// cursor the server issues decodes to its version.
#[test]
fn the_cursor_decoder_never_panics_and_round_trips() {
    let mut r = Rng::new(seed());
    for _ in 0..env_u64("TERN_FUZZ_CASES", 3_000) {
        let v = r.next_u64() >> r.below(64);
        assert_eq!(decode_cursor(Some(&encode_cursor(v))).unwrap(), v);
        let len = r.below(24) as usize;
        let s: String = (0..len)
            .map(|_| *r.pick(&['v', '1', '.', '0', '9', '-', '+', 'é', ' ', 'x', '\u{0}']))
            .collect();
        let _ = decode_cursor(Some(&sync_core::Cursor(s)));
    }
}

// ---------------------------------------------------------------------------------------
// Over HTTP.

fn preview(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(&b[..b.len().min(300)]).into_owned();
    format!(
        "{s}{} ({} bytes)",
        if b.len() > 300 { "…" } else { "" },
        b.len()
    )
}

/// What the database holds for one user, for "a refused request changed nothing". Note
/// texts are left out (they may be 256 KiB each and every write of a note also changes its
/// version, change ids or revision count, which are in); revisions by count and newest id.
async fn snapshot(app: &TestApp, user: &str) -> String {
    // The harness's own reads retry: on a machine under heavy load the database may not
    // answer within the driver's timeouts (that is the server's 503, not the harness's).
    for _ in 0..30 {
        if let Ok(s) = tokio::time::timeout(
            std::time::Duration::from_secs(60),
            tokio::spawn(snapshot_once(app.store.clone(), user.to_owned())),
        )
        .await
            && let Ok(s) = s
        {
            return s;
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
    panic!("the database did not answer the snapshot reads");
}

async fn snapshot_once(
    store: std::sync::Arc<server::storage::mongo::MongoStore>,
    user: String,
) -> String {
    let user = user.as_str();
    let db = store.database();
    let notes: Vec<Document> = futures::TryStreamExt::try_collect(
        db.collection::<Document>("notes")
            .find(doc! {"u": user})
            .projection(doc! {"content": 0})
            .sort(doc! {"id": 1})
            .await
            .unwrap(),
    )
    .await
    .unwrap();
    let revisions = db.collection::<Document>("revisions");
    let count = revisions.count_documents(doc! {"u": user}).await.unwrap();
    let newest = revisions
        .find_one(doc! {"u": user})
        .sort(doc! {"_id": -1})
        .projection(doc! {"_id": 1})
        .await
        .unwrap();
    let counter = db
        .collection::<Document>("counters")
        .find_one(doc! {"_id": user})
        .await
        .unwrap();
    format!("{notes:?}|{count}|{newest:?}|{counter:?}")
}

/// The user id behind a bearer token.
async fn user_of(app: &TestApp, token: &str) -> String {
    let s = server::auth::Accounts::new(&app.store.stores())
        .session(token)
        .await
        .unwrap()
        .unwrap();
    s.user_id
}

#[derive(Default)]
struct Tally {
    by_status: BTreeMap<String, u64>,
    failures: Vec<String>,
    sent: u64,
    unchanged_checks: u64,
}

impl Tally {
    fn fail(&mut self, msg: String) {
        if self.failures.len() < 20 {
            self.failures.push(msg);
        }
    }
}

/// Checks one answer: no 5xx, a 4xx has the JSON error body. Returns the body if 2xx.
fn check_answer(
    t: &mut Tally,
    label: &str,
    ctx: &dyn Fn() -> String,
    status: u16,
    content_type: &str,
    body: &[u8],
) -> bool {
    t.sent += 1;
    *t.by_status.entry(format!("{label} {status}")).or_default() += 1;
    if status >= 500 {
        t.fail(format!("{status} for {}: {}", ctx(), preview(body)));
        return false;
    }
    if status >= 400 {
        let ok = content_type.starts_with("application/json")
            && serde_json::from_slice::<ErrorBody>(body).is_ok();
        if !ok {
            t.fail(format!(
                "{status} without the JSON error body ({content_type}: {}) for {}",
                preview(body),
                ctx()
            ));
        }
        return false;
    }
    true
}

struct Sent {
    status: u16,
    content_type: String,
    body: Vec<u8>,
}

async fn send(rb: reqwest::RequestBuilder) -> Result<Sent, String> {
    let r = rb.send().await.map_err(|e| format!("{e:?}"))?;
    let status = r.status().as_u16();
    let content_type = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let body = r.bytes().await.map_err(|e| format!("{e:?}"))?.to_vec();
    Ok(Sent {
        status,
        content_type,
        body,
    })
}

/// One worker: one user sending `n` hostile requests one after another.
async fn worker(
    app: Arc<TestApp>,
    w: u64,
    seed: u64,
    n: u64,
    large: bool,
    tally: Arc<Mutex<Tally>>,
) -> (String, String) {
    let me = app.as_user(&format!("fuzzer{w}")).await;
    let user = user_of(&app, &me.token).await;
    let mut r = Rng::new(seed ^ (w.wrapping_mul(0x9E37_79B9)));
    let mut issued: Vec<String> = vec![];
    let mut before = snapshot(&app, &user).await;
    let base = &app.base;
    let http = reqwest::Client::new();
    for case in 0..n {
        let ctx_base = format!("seed {seed}, worker {w}, case {case}");
        let pick = r.below(100);
        let mut t = Tally::default();
        let (label, resp, body_preview) = if pick < 88 {
            // POST /sync
            let big = large && r.chance(0.003);
            let body = fuzz_gen::sync_body(&mut r, &issued, big);
            let mut rb = http.post(format!("{base}/sync"));
            match r.below(10) {
                0 => {}
                1 => rb = rb.header("content-type", "text/plain"),
                2 => rb = rb.header("content-type", "application/x-www-form-urlencoded"),
                3 => rb = rb.header("content-type", "application/json; charset=utf-16"),
                4 => rb = rb.header("content-type", "multipart/form-data; boundary=x"),
                _ => rb = rb.header("content-type", "application/json"),
            }
            match r.below(40) {
                0 => {}
                1 => rb = rb.bearer_auth("not-a-session"),
                2 => rb = rb.header("authorization", "Basic Zm9vOmJhcg=="),
                3 => {
                    rb = rb
                        .header("cookie", format!("tern_session={}", me.token))
                        .header("origin", "https://evil.example")
                }
                4 => {
                    rb = rb
                        .header("cookie", format!("tern_session={}", me.token))
                        .header("origin", base.as_str())
                }
                _ => rb = rb.bearer_auth(&me.token),
            }
            let p = preview(&body);
            ("POST /sync", send(rb.body(body)).await, p)
        } else if pick < 93 {
            let id = fuzz_gen::history_id(&mut r);
            let rb = http
                .get(format!("{base}/notes/{id}/history"))
                .bearer_auth(&me.token);
            ("GET /notes/{id}/history", send(rb).await, id)
        } else if pick < 96 {
            // Wrong methods and unknown API paths.
            let (m, path) = r
                .pick(&[
                    (reqwest::Method::GET, "/sync"),
                    (reqwest::Method::PUT, "/sync"),
                    (reqwest::Method::DELETE, "/notes/n-a/history"),
                    (reqwest::Method::GET, "/auth/signin"),
                    (reqwest::Method::POST, "/auth/me"),
                ])
                .clone();
            let rb = http
                .request(m.clone(), format!("{base}{path}"))
                .bearer_auth(&me.token);
            ("wrong method", send(rb).await, format!("{m} {path}"))
        } else if w == 0 {
            // Sign-up and sign-in with hostile credentials (one worker: each valid-looking
            // one costs a password hash).
            let body = fuzz_gen::credentials_body(&mut r);
            let path = if r.chance(0.5) {
                "/auth/signup"
            } else {
                "/auth/signin"
            };
            let mut rb = http
                .post(format!("{base}{path}"))
                .header("content-type", "application/json");
            if r.chance(0.1) {
                rb = rb.header("origin", "https://evil.example");
            }
            let p = format!("{path} {}", preview(&body));
            ("POST /auth/*", send(rb.body(body)).await, p)
        } else {
            let rb = http
                .get(format!("{base}/auth/me"))
                .bearer_auth(format!("{:x}", r.next_u64()));
            ("GET /auth/me", send(rb).await, "bad token".into())
        };
        let ctx = || format!("{ctx_base}: {label} {body_preview}");
        let resp = match resp {
            Ok(s) => s,
            Err(e) => {
                t.sent += 1;
                t.fail(format!("no answer (server crashed?) for {}: {e}", ctx()));
                merge_tally(&tally, t);
                continue;
            }
        };
        let ok = check_answer(
            &mut t,
            label,
            &ctx,
            resp.status,
            &resp.content_type,
            &resp.body,
        );
        // Did this request write? It must not have, unless it was a sync that applied a
        // change.
        let mut may_write = false;
        if ok && label == "POST /sync" {
            match serde_json::from_slice::<SyncResponse>(&resp.body) {
                Ok(s) => {
                    issued.push(s.cursor.0.clone());
                    if issued.len() > 8 {
                        issued.remove(0);
                    }
                    may_write = s
                        .results
                        .iter()
                        .any(|r| !matches!(r.outcome, ChangeOutcome::Rejected { .. }));
                }
                Err(e) => t.fail(format!(
                    "200 that is not a sync response ({e}) for {}",
                    ctx()
                )),
            }
        }
        if ok
            && label == "GET /notes/{id}/history"
            && let Err(e) = serde_json::from_slice::<HistoryResponse>(&resp.body)
        {
            t.fail(format!("200 that is not a history ({e}) for {}", ctx()));
        }
        let after = snapshot(&app, &user).await;
        if !may_write {
            t.unchanged_checks += 1;
            if after != before {
                t.fail(format!(
                    "the database changed after {} {}: before {before}\nafter {after}",
                    resp.status,
                    ctx()
                ));
            }
        }
        before = after;
        merge_tally(&tally, t);
    }
    (user, before)
}

fn merge_tally(into: &Mutex<Tally>, t: Tally) {
    let mut all = into.lock().unwrap();
    all.sent += t.sent;
    // Long campaigns report as they go, so a run stopped early still has its figures.
    if all.sent.is_multiple_of(10_000) && all.sent > 0 {
        eprintln!(
            "  ... {} requests, {} failures, by status {:?}",
            all.sent,
            all.failures.len(),
            all.by_status
        );
    }
    all.unchanged_checks += t.unchanged_checks;
    for (k, v) in t.by_status {
        *all.by_status.entry(k).or_default() += v;
    }
    for f in t.failures {
        all.fail(f);
    }
}

/// The HTTP campaign: hostile requests from several users at once against the running
/// server and the real database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_requests_get_a_json_4xx_and_change_nothing() {
    let seed = seed();
    let total = env_u64("TERN_FUZZ_HTTP_BODIES", 3_000);
    let workers = env_u64("TERN_FUZZ_WORKERS", 2).max(1);
    let app = Arc::new(spawn_app().await);
    let tally = Arc::new(Mutex::new(Tally::default()));
    let started = Instant::now();
    let handles: Vec<_> = (0..workers)
        .map(|w| {
            let n = total / workers + u64::from(w < total % workers);
            tokio::spawn(worker(app.clone(), w, seed, n, true, tally.clone()))
        })
        .collect();
    let mut finals = vec![];
    for h in handles {
        finals.push(h.await.expect("a worker panicked"));
    }
    let elapsed = started.elapsed();

    // The server is still up, and nothing was written under any other user.
    let r = app
        .http
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "the server survived");
    let db = app.store.database();
    let mut own = 0;
    for (user, _) in &finals {
        own += db
            .collection::<Document>("notes")
            .count_documents(doc! {"u": user})
            .await
            .unwrap();
    }
    let all = db
        .collection::<Document>("notes")
        .count_documents(doc! {})
        .await
        .unwrap();
    assert_eq!(own, all, "notes written only for the users who sent them");

    let t = tally.lock().unwrap();
    eprintln!(
        "HTTP fuzz: {} requests in {:.1} s ({:.0}/s), {} workers, seed {seed}; \
         {} refused or fully rejected requests checked to leave the database unchanged",
        t.sent,
        elapsed.as_secs_f64(),
        t.sent as f64 / elapsed.as_secs_f64(),
        workers,
        t.unchanged_checks
    );
    for (k, v) in &t.by_status {
        eprintln!("  {k}: {v}");
    }
    assert!(
        t.failures.is_empty(),
        "{} failures (reproduce with TERN_FUZZ_SEED={seed} TERN_FUZZ_HTTP_BODIES={total} \
         TERN_FUZZ_WORKERS={workers}):\n{}",
        t.failures.len(),
        t.failures.join("\n\n")
    );
    assert_eq!(t.sent, total);
}

/// Cases the campaign found answered without the JSON error body (an empty 405, a
/// text/plain 400), pinned as exact JSON.
#[tokio::test]
async fn a_wrong_method_and_an_undecodable_history_id_get_the_json_error_body() {
    let app = spawn_app().await;
    let r = app
        .http
        .get(format!("{}/sync", app.base))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        body,
        serde_json::json!({
            "error": "invalid_request",
            "message": "this endpoint does not answer that HTTP method; see docs/sync-protocol.md"
        })
    );
    let r = app
        .http
        .get(format!("{}/notes/%FF%FE/history", app.base))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: ErrorBody = r.json().await.unwrap();
    assert_eq!(serde_json::to_value(body.error).unwrap(), "invalid_request");
}
