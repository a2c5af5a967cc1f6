//! Accounts, sessions and isolation, over HTTP against the real database.

mod support;

use std::sync::Arc;
use std::time::Duration;

use leptos::config::LeptosOptions;
use serde_json::{Value, json};
use server::auth::Accounts;
use server::auth::cache::SESSION_CACHE_TTL;
use server::auth::throttle::{HashGate, Limits, Rate};
use server::storage::mongo::MongoStore;
use server::{AppState, router, serve};
use support::*;
use sync_core::protocol::ChangeOutcome;

async fn post(app: &TestApp, path: &str, body: Value) -> reqwest::Response {
    app.http
        .post(format!("{}{path}", app.base))
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn sync_needs_a_session() {
    let app = spawn_app().await;
    let r = app
        .http
        .post(format!("{}/sync", app.base))
        .header("content-type", "application/json")
        .body(r#"{"protocol":1}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"error": "unauthorized", "message": "sign in to sync; notes on this device are kept"})
    );
    let r = app
        .http
        .post(format!("{}/sync", app.base))
        .bearer_auth("not-a-real-token")
        .header("content-type", "application/json")
        .body(r#"{"protocol":1}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn the_same_note_id_in_two_accounts_never_meets() {
    let alice = spawn_app().await;
    let bob = alice.as_user("bob").await;
    let t = now();
    alice
        .sync(&request(
            None,
            vec![change("shared-id", "a", t, "alice's note")],
        ))
        .await;
    // Bob pushes the same id with an older clock: under one key it would be superseded.
    let r = bob
        .sync(&request(
            None,
            vec![change("shared-id", "b", t - 10_000, "bob's note")],
        ))
        .await;
    assert!(
        matches!(r.results[0].outcome, ChangeOutcome::Applied { .. }),
        "{r:?}"
    );
    assert_eq!(r.changes.len(), 1);
    assert_eq!(
        r.changes[0].title, "bob's note",
        "bob sees only his own note"
    );
    let a = alice.pull_all().await;
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].title, "alice's note", "alice's note is untouched");
}

#[tokio::test]
async fn cookie_sessions_are_http_only_same_site_and_refuse_other_origins() {
    let app = spawn_app().await;
    let r = post(
        &app,
        "/auth/signup",
        json!({"username": "carol", "password": PASSWORD}),
    )
    .await;
    assert_eq!(r.status(), 201);
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("tern_session="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let session = cookie.split(';').next().unwrap().to_owned();

    let sync = |origin: Option<&'static str>, ctype: &'static str| {
        let mut req = app
            .http
            .post(format!("{}/sync", app.base))
            .header("cookie", &session)
            .header("content-type", ctype)
            .body(r#"{"protocol":1}"#);
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        req.send()
    };
    assert_eq!(sync(None, "application/json").await.unwrap().status(), 200);
    let own = app.base.clone();
    let r = app
        .http
        .post(format!("{}/sync", app.base))
        .header("cookie", &session)
        .header("origin", own)
        .header("content-type", "application/json")
        .body(r#"{"protocol":1}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "same origin is fine");
    let evil = sync(Some("https://evil.example"), "application/json")
        .await
        .unwrap();
    assert_eq!(evil.status(), 403);
    assert_eq!(
        evil.json::<Value>().await.unwrap()["error"],
        "csrf_rejected"
    );
    let form = sync(None, "text/plain").await.unwrap();
    assert_eq!(
        form.status(),
        403,
        "a simple cross-site POST cannot carry the cookie"
    );

    // Sign out ends the session.
    let r = app
        .http
        .post(format!("{}/auth/signout", app.base))
        .header("cookie", &session)
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(sync(None, "application/json").await.unwrap().status(), 401);
}

#[tokio::test]
async fn sign_in_checks_the_password_and_slows_down_guessing() {
    let app = spawn_app().await; // alice exists
    let wrong = json!({"username": "alice", "password": "wrong password"});
    for _ in 0..Limits::default().per_pair.burst {
        let r = post(&app, "/auth/signin", wrong.clone()).await;
        assert_eq!(r.status(), 401);
        assert_eq!(
            r.json::<Value>().await.unwrap(),
            json!({"error": "invalid_credentials", "message": "wrong username or password"})
        );
    }
    // The budget of this account from this source is spent: even the right password waits.
    let r = post(
        &app,
        "/auth/signin",
        json!({"username": "alice", "password": PASSWORD}),
    )
    .await;
    assert_eq!(r.status(), 429);
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let every = Limits::default().per_pair.every.as_secs();
    assert!((1..=every).contains(&wait), "{wait}");
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"error": "too_many_attempts", "message": format!("too many failed sign-ins; try again in {wait} s")})
    );
    // The bucket leaks: once one period has passed (simulated by moving its clock back),
    // one more attempt is allowed, and the right password works.
    app.store
        .database()
        .collection::<mongodb::bson::Document>("throttle")
        .update_many(
            mongodb::bson::doc! {"tat": {"$exists": true}},
            mongodb::bson::doc! {"$inc": {"tat": -(every as i64 * 1000)}},
        )
        .await
        .unwrap();
    let r = post(
        &app,
        "/auth/signin",
        json!({"username": "ALICE", "password": PASSWORD}),
    )
    .await;
    assert_eq!(r.status(), 200, "after the wait the right password works");
    // Unknown users get the same answer as a wrong password.
    let r = post(
        &app,
        "/auth/signin",
        json!({"username": "nobody", "password": PASSWORD}),
    )
    .await;
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn sign_up_rules_and_taken_names() {
    let app = spawn_app().await;
    let r = post(
        &app,
        "/auth/signup",
        json!({"username": "alice", "password": PASSWORD}),
    )
    .await;
    assert_eq!(r.status(), 409);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "name_taken");
    let r = post(
        &app,
        "/auth/signup",
        json!({"username": "dave", "password": "short"}),
    )
    .await;
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"error": "invalid_account", "message": "a password is 8 to 1024 characters; choose a longer one"})
    );
    let r = post(&app, "/auth/signup", json!({"username": 5})).await;
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_request");
    // A body past the credentials' limit is told so, in words about credentials.
    let r = post(
        &app,
        "/auth/signup",
        json!({"username": "erin", "password": "p".repeat(40_000)}),
    )
    .await;
    assert_eq!(r.status(), 413);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"error": "payload_too_large", "message": "the request body is over 32768 bytes; send only a username and a password"})
    );
}

#[tokio::test]
async fn the_openapi_document_describes_every_route() {
    let app = spawn_app().await;
    let r = app
        .http
        .get(format!("{}/api/openapi.json", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let doc: Value = r.json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    for path in [
        "/sync",
        "/auth/signup",
        "/auth/signin",
        "/auth/signout",
        "/auth/me",
        "/healthz",
        "/notes/{id}/history",
        "/live",
    ] {
        assert!(
            doc["paths"].get(path).is_some(),
            "{path} missing from the OpenAPI document"
        );
    }
    // Every error code of the wire contract is listed.
    let listed: Vec<String> =
        serde_json::from_value(doc["components"]["schemas"]["ErrorCode"]["enum"].clone()).unwrap();
    for code in [
        sync_core::ErrorCode::InvalidRequest,
        sync_core::ErrorCode::UnsupportedProtocol,
        sync_core::ErrorCode::PayloadTooLarge,
        sync_core::ErrorCode::TooManyChanges,
        sync_core::ErrorCode::InvalidCursor,
        sync_core::ErrorCode::Unavailable,
        sync_core::ErrorCode::Internal,
        sync_core::ErrorCode::Unauthorized,
        sync_core::ErrorCode::CsrfRejected,
        sync_core::ErrorCode::InvalidCredentials,
        sync_core::ErrorCode::TooManyAttempts,
        sync_core::ErrorCode::NameTaken,
        sync_core::ErrorCode::InvalidAccount,
    ] {
        let name = serde_json::to_value(code)
            .unwrap()
            .as_str()
            .unwrap()
            .to_owned();
        assert!(
            listed.contains(&name),
            "{name} missing from the OpenAPI error enum"
        );
    }
}

#[tokio::test]
async fn an_expired_session_is_refused() {
    let app = spawn_app().await;
    assert_eq!(app.post_raw(r#"{"protocol":1}"#).await.0, 200);
    // Age every session past its expiry.
    app.store
        .database()
        .collection::<mongodb::bson::Document>("sessions")
        .update_many(
            mongodb::bson::doc! {},
            mongodb::bson::doc! {"$set": {"exp": mongodb::bson::DateTime::from_millis(1_000)}},
        )
        .await
        .unwrap();
    // A session checked less than SESSION_CACHE_TTL ago is not read again (an expiry
    // moved in the database is no ended session the feed tells of): at most that long.
    tokio::time::sleep(SESSION_CACHE_TTL).await;
    let (status, body) = app.post_raw(r#"{"protocol":1}"#).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("unauthorized"))
    );
}

/// A stolen session whose owner ends it through another server process (sharing the
/// database) stops working on this one within SESSION_CACHE_TTL, though this process
/// had just checked it.
#[tokio::test]
async fn a_session_ended_through_another_process_stops_working_here_within_the_cache_ttl() {
    let db = fresh_db_name();
    let here = spawn_app_on(shared_db().uri(), &db).await;
    let there = spawn_app_on(shared_db().uri(), &db).await;
    let stolen = here.token.clone();
    assert_eq!(here.post_raw(r#"{"protocol":1}"#).await.0, 200);
    assert_eq!(
        get_json(&here.http, &here.base, &stolen, "/auth/me")
            .await
            .0,
        200
    );
    // The owner, on a device served by the other process, signs out everywhere.
    let (status, _) = post_json(
        &there.http,
        &there.base,
        &there.token,
        "/account/signout-everywhere",
        json!({}),
        "alice",
    )
    .await;
    assert_eq!(status, 200);
    tokio::time::sleep(SESSION_CACHE_TTL).await;
    let (status, body) = here.post_raw(r#"{"protocol":1}"#).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("unauthorized"))
    );
    assert_eq!(
        get_json(&here.http, &here.base, &stolen, "/auth/me")
            .await
            .0,
        401
    );
}

/// The password changed on a device served by one process; within the session cache's time,
/// a session that the other process had checked before (and that the change ended) tries
/// to change it again, or to delete the account: both are refused, read from the database,
/// not the cache. (On the cache, the second change took its next credential epoch from the
/// stale session's, so the first change's epoch stayed the account's: a sign-in made with
/// the first new password, even one in flight, kept working after the second change.)
#[tokio::test]
async fn a_session_ended_elsewhere_cannot_change_the_password_or_delete_the_account() {
    let db = fresh_db_name();
    let here = spawn_app_on(shared_db().uri(), &db).await;
    let there = spawn_app_on(shared_db().uri(), &db).await;
    assert_eq!(
        get_json(&here.http, &here.base, &here.token, "/auth/me")
            .await
            .0,
        200,
        "checked here, so kept"
    );
    let (status, body) = post_json(
        &there.http,
        &there.base,
        &there.token,
        "/account/password",
        json!({"current_password": PASSWORD, "new_password": "the second long password"}),
        "alice",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = post_json(
        &here.http,
        &here.base,
        &here.token,
        "/account/password",
        json!({"current_password": "the second long password", "new_password": "the third long password"}),
        "alice",
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("unauthorized")),
        "{body}"
    );
    let (status, body) = post_json(
        &here.http,
        &here.base,
        &here.token,
        "/account/delete",
        json!({"password": "the second long password"}),
        "alice",
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("unauthorized")),
        "{body}"
    );
    // The first change stands, and the session that made it still works.
    assert_eq!(
        get_json(&there.http, &there.base, &there.token, "/auth/me")
            .await
            .0,
        200
    );
    let r = post(
        &there,
        "/auth/signin",
        json!({"username": "alice", "password": "the second long password"}),
    )
    .await;
    assert_eq!(r.status(), 200);
}

/// Ended through the process that checked it, a session is refused at once (the
/// process forgets it as soon as the database has its end).
#[tokio::test]
async fn a_session_ended_through_this_process_is_refused_at_once() {
    let app = spawn_app().await;
    let other = app.as_user("alice").await; // a second session of alice's
    for token in [&app.token, &other.token] {
        assert_eq!(
            get_json(&app.http, &app.base, token, "/auth/me").await.0,
            200
        );
    }
    let (status, _) = post_json(
        &app.http,
        &app.base,
        &app.token,
        "/account/signout-everywhere",
        json!({}),
        "alice",
    )
    .await;
    assert_eq!(status, 200);
    for token in [&app.token, &other.token] {
        assert_eq!(
            get_json(&app.http, &app.base, token, "/auth/me").await.0,
            401
        );
    }
}

// ---------------------------------------------------------------------------------------
// Throttling and the hash bound. Sources are told apart with `X-Forwarded-For` (the server
// is configured to trust it, as behind a proxy). Periods are an hour so that nothing leaks
// out of a bucket while a test runs, however slow the machine: counts are exact.

/// A server whose accounts use `limits` and `gate`, trusting `X-Forwarded-For`.
struct Throttled {
    base: String,
    state: AppState,
    http: reqwest::Client,
    _stop: tokio::sync::oneshot::Sender<()>,
}

const HOUR: Duration = Duration::from_secs(3600);

fn hourly(pair: u32, source: u32, account: u32) -> Limits {
    let rate = |burst| Rate { burst, every: HOUR };
    Limits {
        per_pair: rate(pair),
        per_source: rate(source),
        per_account: rate(account),
        known_for: HOUR,
    }
}

async fn throttled(limits: Limits, gate: HashGate) -> Throttled {
    let store = Arc::new(
        MongoStore::connect(shared_db().uri(), &fresh_db_name())
            .await
            .unwrap(),
    );
    let leptos = LeptosOptions::builder()
        .output_name("tern")
        .site_root("target/site")
        .build();
    let mut state = AppState::new(store.clone(), leptos, false);
    state.accounts = Arc::new(
        Accounts::new(&store.stores())
            .with_limits(limits)
            .with_gate(gate),
    );
    state.client_ip_header = Some("x-forwarded-for".parse().unwrap());
    state.accounts.ensure_indexes().await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(serve(listener, router(state.clone()), async move {
        let _ = rx.await;
    }));
    Throttled {
        base,
        state,
        http: reqwest::Client::new(),
        _stop: tx,
    }
}

/// Status, `Retry-After` and body of an answer.
#[derive(Debug, Clone, PartialEq)]
struct Answer {
    status: u16,
    retry_after: Option<u64>,
    body: Value,
}

impl Throttled {
    async fn auth(&self, action: &str, from: &str, name: &str, password: &str) -> Answer {
        let r = self
            .http
            .post(format!("{}/auth/{action}", self.base))
            .header("x-forwarded-for", from)
            .json(&json!({"username": name, "password": password}))
            .send()
            .await
            .unwrap();
        Answer {
            status: r.status().as_u16(),
            retry_after: r
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().parse().unwrap()),
            body: r.json().await.unwrap(),
        }
    }

    async fn sign_in(&self, from: &str, name: &str, password: &str) -> Answer {
        self.auth("signin", from, name, password).await
    }

    fn hashes(&self) -> u64 {
        self.state.accounts.hash_stats().total
    }
}

const WRONG: &str = "wrong password";

#[tokio::test]
async fn fifty_parallel_wrong_sign_ins_get_at_most_the_allowed_guesses() {
    let app = throttled(hourly(5, 1000, 1000), HashGate::for_this_machine()).await;
    assert_eq!(
        app.auth("signup", "10.0.0.1", "alice", PASSWORD)
            .await
            .status,
        201
    );
    let before = app.hashes();
    let attempts = (0..50).map(|_| app.sign_in("10.0.0.66", "alice", WRONG));
    let answers = futures::future::join_all(attempts).await;
    let checked = answers.iter().filter(|a| a.status == 401).count();
    let refused: Vec<_> = answers.iter().filter(|a| a.status == 429).collect();
    println!(
        "50 parallel wrong sign-ins: {checked} answered 401 (password checked), {} answered 429; \
         {} password hashes",
        refused.len(),
        app.hashes() - before
    );
    assert_eq!(
        checked, 5,
        "exactly the per-(account, source) burst is checked"
    );
    assert_eq!(refused.len(), 45, "{answers:?}");
    assert_eq!(app.hashes() - before, 5, "no refused attempt costs a hash");
    for a in refused {
        assert_eq!(a.body["error"], "too_many_attempts");
        assert!(a.retry_after.is_some_and(|s| s > 0), "{a:?}");
    }
    // The right password from the attacker's source is refused too: guessing it is no use.
    assert_eq!(
        app.sign_in("10.0.0.66", "alice", PASSWORD).await.status,
        429
    );
}

#[tokio::test]
async fn the_owner_signs_in_while_an_attacker_keeps_failing() {
    let limits = hourly(5, 50, 20);
    let app = throttled(limits, HashGate::for_this_machine()).await;
    // The owner's device signed up from 10.0.0.1, so that source is known to the account.
    assert_eq!(
        app.auth("signup", "10.0.0.1", "alice", PASSWORD)
            .await
            .status,
        201
    );
    // One attacker keeps failing from its own address.
    for _ in 0..30 {
        let a = app.sign_in("203.0.113.9", "alice", WRONG).await;
        assert!(matches!(a.status, 401 | 429), "{a:?}");
    }
    assert_eq!(app.sign_in("203.0.113.9", "alice", WRONG).await.status, 429);
    assert_eq!(
        app.sign_in("10.0.0.1", "alice", PASSWORD).await.status,
        200,
        "the owner's own device"
    );
    assert_eq!(
        app.sign_in("10.0.0.2", "alice", PASSWORD).await.status,
        200,
        "even a new device: one attacker spends only its own small budget"
    );
    // A distributed attack, one guess from each of many addresses, spends the account's
    // budget for unknown sources (20 failures, 5 of them the first attacker's)...
    for i in 0..15 {
        let a = app
            .sign_in(&format!("198.51.100.{i}"), "alice", WRONG)
            .await;
        assert_eq!(a.status, 401, "{a:?}");
    }
    let a = app.sign_in("198.51.100.200", "alice", WRONG).await;
    assert_eq!(a.status, 429, "{a:?}");
    assert_eq!(
        app.sign_in("192.0.2.50", "alice", PASSWORD).await.status,
        429,
        "a source the account has never seen waits"
    );
    // ...but sources that signed in to it lately are not subject to that budget.
    assert_eq!(app.sign_in("10.0.0.1", "alice", PASSWORD).await.status, 200);
    assert_eq!(app.sign_in("10.0.0.2", "alice", PASSWORD).await.status, 200);
    // IPv6: one /64 is one source.
    for i in 0..5 {
        let a = app
            .sign_in(&format!("2001:db8:7:7::{i}"), "bob", WRONG)
            .await;
        assert_eq!(a.status, 401, "{a:?}");
    }
    let a = app.sign_in("2001:db8:7:7:ffff::1", "bob", WRONG).await;
    assert_eq!(a.status, 429, "{a:?}");
}

#[tokio::test]
async fn unknown_and_existing_names_are_throttled_and_answered_alike() {
    let app = throttled(hourly(3, 1000, 1000), HashGate::for_this_machine()).await;
    assert_eq!(
        app.auth("signup", "10.0.0.1", "alice", PASSWORD)
            .await
            .status,
        201
    );
    let mut runs = Vec::new();
    for name in ["alice", "nobody"] {
        let before = app.hashes();
        let mut answers = Vec::new();
        for _ in 0..5 {
            answers.push(app.sign_in("10.9.9.9", name, WRONG).await);
        }
        runs.push((answers, app.hashes() - before));
    }
    let (existing, unknown) = (&runs[0], &runs[1]);
    assert_eq!(existing.1, unknown.1, "the same number of hashes");
    assert_eq!(existing.1, 3);
    for (a, b) in existing.0.iter().zip(&unknown.0) {
        // A refusal says how long to wait; the two buckets filled milliseconds apart, so
        // the whole seconds may differ by one.
        let (wa, wb) = (a.retry_after.unwrap_or(0), b.retry_after.unwrap_or(0));
        assert!(wa.abs_diff(wb) <= 1, "{a:?} vs {b:?}");
        let same_wait = |x: &Answer| Answer {
            retry_after: x.retry_after.map(|_| wa),
            body: serde_json::from_str(&x.body.to_string().replace(
                &format!("{} s", x.retry_after.unwrap_or(0)),
                &format!("{wa} s"),
            ))
            .unwrap(),
            ..x.clone()
        };
        assert_eq!(same_wait(a), same_wait(b));
    }
    assert_eq!(
        existing.0.iter().map(|a| a.status).collect::<Vec<_>>(),
        vec![401, 401, 401, 429, 429]
    );
}

#[tokio::test]
async fn concurrent_password_hashes_stay_bounded_under_500_parallel_sign_ins() {
    let app = throttled(Limits::default(), HashGate::for_this_machine()).await;
    // 500 sign-ins from 500 addresses, so that no bucket refuses any: all reach the gate.
    let attempts = (0..500).map(|i| {
        let from = format!("10.1.{}.{}", i / 250, i % 250);
        let name = format!("user-{i}");
        let app = &app;
        async move { app.sign_in(&from, &name, WRONG).await }
    });
    let answers = futures::future::join_all(attempts).await;
    let stats = app.state.accounts.hash_stats();
    let busy: Vec<_> = answers.iter().filter(|a| a.status == 503).collect();
    let checked = answers.iter().filter(|a| a.status == 401).count();
    println!(
        "500 parallel sign-ins: {checked} checked (401), {} refused busy (503); at most {} \
         hashes at once (bound {}, 19 MiB each)",
        busy.len(),
        stats.peak,
        stats.limit
    );
    assert!(stats.peak <= stats.limit, "{stats:?}");
    assert_eq!(checked + busy.len(), 500, "{answers:?}");
    assert_eq!(stats.total, checked as u64);
    for a in busy {
        // The answer in full: a 503 of another cause (the database watchdog) says which.
        assert_eq!(a.retry_after, Some(1), "{a:?}");
        assert_eq!(
            a.body,
            json!({"error": "unavailable", "message": "the server is busy checking other passwords; try again in a second"})
        );
    }
}

#[tokio::test]
async fn browsers_get_the_session_only_as_the_http_only_cookie() {
    let app = spawn_app().await;
    let own = app.base.clone();
    let signin = |headers: &'static [(&'static str, &'static str)], origin: bool| {
        let mut r = app
            .http
            .post(format!("{}/auth/signin", app.base))
            .json(&json!({"username": "alice", "password": PASSWORD}));
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        if origin {
            r = r.header("origin", own.clone());
        }
        r.send()
    };
    for (headers, origin) in [
        (&[][..], true),
        (
            &[
                ("sec-fetch-site", "same-origin"),
                ("sec-fetch-mode", "cors"),
            ][..],
            false,
        ),
    ] {
        let r = signin(headers, origin).await.unwrap();
        assert_eq!(r.status(), 200);
        let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
        assert!(cookie.contains("HttpOnly"), "{cookie}");
        let body = r.json::<Value>().await.unwrap();
        assert_eq!(body["user"], "alice");
        assert!(body["id"].is_string(), "{body}");
        assert!(
            body.get("token").is_none(),
            "a browser's answer carries no token: {body}"
        );
    }
    // Other clients (no Origin, no Sec-Fetch-Site) get it, to send as a bearer token.
    let r = signin(&[], false).await.unwrap();
    let body: Value = r.json().await.unwrap();
    assert!(
        body["token"].as_str().is_some_and(|t| t.len() >= 43),
        "{body}"
    );
}

#[tokio::test]
async fn the_origin_check_uses_the_configured_public_origin() {
    let store = Arc::new(
        MongoStore::connect(shared_db().uri(), &fresh_db_name())
            .await
            .unwrap(),
    );
    let leptos = LeptosOptions::builder()
        .output_name("tern")
        .site_root("target/site")
        .build();
    let mut state = AppState::new(store, leptos, true);
    state.public_origin = Some("https://notes.example.com".into());
    state.accounts.ensure_indexes().await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (_stop, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve(listener, router(state), async move {
        let _ = rx.await;
    }));
    let http = reqwest::Client::new();
    let signup = |origin: &str| {
        http.post(format!("{base}/auth/signup"))
            .header("origin", origin)
            .json(&json!({"username": format!("u{}", origin.len()), "password": PASSWORD}))
            .send()
    };
    // Behind a proxy the browser's origin is the public one, not the Host the server sees.
    let r = signup("https://notes.example.com").await.unwrap();
    assert_eq!(r.status(), 201);
    assert!(
        r.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Secure"),
        "Secure cookie"
    );
    let r = signup(&base).await.unwrap();
    assert_eq!(r.status(), 403, "the Host is not the public origin");
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "csrf_rejected");
    let r = signup("https://evil.example").await.unwrap();
    assert_eq!(r.status(), 403);
}

/// The real server binary (embedded database, `X-Forwarded-For` trusted), its peak
/// resident memory read from `/proc/<pid>/status` (`VmHWM`) after 500 parallel sign-ins
/// from 500 addresses: without a bound every one would hash at once (19 MiB each); with it
/// the peak is the idle server's plus one 19 MiB buffer per CPU.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn the_server_process_memory_stays_bounded_under_500_parallel_sign_ins() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let dir = test_data_root().join(format!("{}-mem", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut child = Command::new(env!("CARGO_BIN_EXE_server"))
        .env("TERN_ADDR", "127.0.0.1:0")
        .env("TERN_DATA_DIR", &dir)
        .env("TERN_CLIENT_IP_HEADER", "X-Forwarded-For")
        .env_remove("MONGODB_URI")
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok);
    let base = loop {
        let line = lines.next().expect("server exited before listening");
        if let Some(addr) = line.split("listening on ").nth(1) {
            break addr.trim().to_owned();
        }
    };
    std::thread::spawn(move || lines.for_each(drop));
    let hwm = || -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap();
        let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
        line.split_whitespace()
            .nth(1)
            .unwrap()
            .parse::<u64>()
            .unwrap()
            / 1024
    };
    let http = reqwest::Client::new();
    // Warm up (indexes, connection pool, one hash) so the idle figure is a fair baseline.
    let mut warm = 0;
    loop {
        let r = http
            .post(format!("{base}/auth/signup"))
            .json(&json!({"username": "warm", "password": PASSWORD}))
            .send()
            .await;
        if r.is_ok_and(|r| r.status() == 201) {
            break;
        }
        warm += 1;
        assert!(warm < 600, "the server never accepted a sign-up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let idle = hwm();
    let attempts = (0..500).map(|i| {
        let http = http.clone();
        let base = base.clone();
        async move {
            http.post(format!("{base}/auth/signin"))
                .header("x-forwarded-for", format!("10.2.{}.{}", i / 250, i % 250))
                .json(&json!({"username": format!("user-{i}"), "password": WRONG}))
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0)
        }
    });
    let statuses = futures::future::join_all(attempts).await;
    let peak = hwm();
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    let count = |s| statuses.iter().filter(|&&x| x == s).count();
    println!(
        "server process, 500 parallel sign-ins: peak RSS {peak} MiB (after warm-up {idle} MiB); \
         {} answered 401, {} answered 503",
        count(401),
        count(503)
    );
    assert_eq!(count(401) + count(503), 500, "{statuses:?}");
    // The server hashes at most one password per CPU, 19 MiB each; the rest is slack for
    // 500 connections.
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
    assert!(
        peak < idle + cpus * 19 + 64,
        "peak RSS {peak} MiB, {idle} MiB after warm-up, {cpus} CPUs: hashes are not bounded"
    );
}
