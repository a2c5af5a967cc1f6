//! Issue 25 ("Security, round two"), the server's side, over HTTP against the real
//! database: what an anonymous client, a stolen or ended session, a deleted account and a
//! proxy in front can and cannot do to the server's state.
//!
//! - Metrics: labels only from fixed sets; `TERN_METRICS=off` records nothing; a refused
//!   body is not echoed at length.
//! - `Cache-Control: no-store` on every API answer.
//! - A live stream ends with its session (and hears no poke after).
//! - Sessions carry the credentials that made them: a sign-in in flight during a password
//!   change or an account deletion yields a dead session (a store that holds the session
//!   insert makes the race happen every time).
//! - Deletion is final: an upload in progress, and a write after a restart, store nothing;
//!   a body that does not arrive within the deadline is answered 408.
//! - Client-address headers from a proxy in every form; an unparsable one does not merge
//!   users into the proxy's bucket.
//! - Account deletion removes the account's throttle records.
//! - A password is counted in characters, as the API document counts it.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use leptos::config::LeptosOptions;
use mongodb::bson::{Document, doc};
use serde_json::{Value, json};
use server::auth::Accounts;
use server::auth::throttle::{HashGate, Limits, Rate};
use server::storage::mongo::MongoAccounts;
use server::storage::mongo::MongoBuckets;
use server::storage::mongo::MongoStore;
use server::storage::{AccountStore, StoredSession, StoredUser};
use server::storage::{BoxFuture, Conflicts, StoreError, SyncStore};
use server::{AppState, router, serve};
use support::live::{WAIT, open_live};
use support::*;
use sync_core::protocol::ChangeOutcome;
use sync_core::{Hlc, Strategy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Notify;

// ---------------------------------------------------------------------------------------
// An app over a state the test builds.

/// An app served from `state`; stops when dropped.
struct Served {
    base: String,
    state: AppState,
    http: reqwest::Client,
    _stop: tokio::sync::oneshot::Sender<()>,
}

fn leptos() -> LeptosOptions {
    LeptosOptions::builder()
        .output_name("tern")
        .site_root("target/site")
        .build()
}

/// The state of a fresh database on the shared database server (test users' addresses in
/// [`TEST_SOURCE`], as [`spawn_app`] does).
async fn fresh_state() -> (AppState, Arc<MongoStore>) {
    let store = Arc::new(
        MongoStore::connect(shared_db().uri(), &fresh_db_name())
            .await
            .unwrap(),
    );
    store.ensure_indexes().await.unwrap();
    let mut state = AppState::new(store.clone(), leptos(), false);
    state.client_ip_header = Some(axum::http::HeaderName::from_static(TEST_SOURCE));
    (state, store)
}

async fn serve_state(state: AppState) -> Served {
    state.accounts.ensure_indexes().await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(serve(listener, router(state.clone()), async move {
        let _ = rx.await;
    }));
    Served {
        base,
        state,
        http: reqwest::Client::new(),
        _stop: tx,
    }
}

impl Served {
    async fn auth(&self, action: &str, name: &str, password: &str) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}/auth/{action}", self.base))
            .header(TEST_SOURCE, test_source(name))
            .json(&json!({"username": name, "password": password}))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    async fn token(&self, action: &str, name: &str) -> String {
        let (status, body) = self.auth(action, name, PASSWORD).await;
        assert!(status == 200 || status == 201, "{action} {name}: {body}");
        body["token"].as_str().unwrap().to_owned()
    }

    async fn get(&self, token: &str, path: &str) -> (u16, Value) {
        get_json(&self.http, &self.base, token, path).await
    }

    async fn post(&self, token: &str, path: &str, body: Value) -> (u16, Value) {
        post_json(&self.http, &self.base, token, path, body, "security-test").await
    }

    /// The notes of user `id` in the database.
    async fn notes_of(&self, store: &MongoStore, id: &str) -> u64 {
        store
            .database()
            .collection::<Document>("notes")
            .count_documents(doc! {"u": id})
            .await
            .unwrap()
    }
}

/// A sync request with one new note, as JSON bytes.
fn one_note(note: &str) -> Vec<u8> {
    serde_json::to_vec(&request(None, vec![change(note, "d", now(), note)])).unwrap()
}

// ---------------------------------------------------------------------------------------
// 1. Metrics.

/// The samples of a scrape (lines that are not comments).
async fn series(http: &reqwest::Client, base: &str) -> Vec<String> {
    let text = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| l.rsplit_once(' ').map_or(l, |(k, _)| k).to_owned())
        .collect()
}

/// Sends a request with method `method` to `path`.
async fn odd(http: &reqwest::Client, base: &str, method: &str, path: &str) -> u16 {
    http.request(
        reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
        format!("{base}{path}"),
    )
    .send()
    .await
    .unwrap()
    .status()
    .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_unique_methods_and_paths_add_no_metrics_series() {
    let app = spawn_app().await;
    // One of each kind first: an unknown method on an API path (405), on a page path and on
    // an unknown path, and a known method on an unknown path (404).
    let mut statuses = std::collections::BTreeSet::new();
    for (m, p) in [
        ("WARM", "/sync"),
        ("WARM", "/"),
        ("WARM", "/warm/up"),
        ("GET", "/warm/up"),
        ("WARM", "/notes/x/history"),
    ] {
        statuses.insert(odd(&app.http, &app.base, m, p).await);
    }
    // A scrape is a request too: the first one adds its own series.
    series(&app.http, &app.base).await;
    let before = series(&app.http, &app.base).await;

    let started = Instant::now();
    let http = app.http.clone();
    let base = app.base.clone();
    let seen: Vec<u16> = futures::stream::iter(0..10_000u32)
        .map(|i| {
            let (http, base) = (http.clone(), base.clone());
            async move {
                // A long unique method (the issue's attack sent 4,001 characters) and a
                // unique path, against the API, the page and the fallback.
                let method = format!("M{i}{}", "X".repeat(200));
                let path = match i % 4 {
                    0 => "/sync".to_owned(),
                    1 => format!("/notes/n{i}/history"),
                    2 => format!("/no/such/{i}"),
                    _ => "/".to_owned(),
                };
                odd(&http, &base, &method, &path).await
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    println!(
        "10,000 requests with unique methods and paths in {:?}",
        started.elapsed()
    );
    let after = series(&app.http, &app.base).await;
    let new: Vec<&String> = after.iter().filter(|s| !before.contains(s)).collect();
    assert!(
        new.is_empty(),
        "{} new series, e.g. {:?} (statuses {statuses:?}, then {:?})",
        new.len(),
        new.iter().take(3).collect::<Vec<_>>(),
        seen.iter().collect::<std::collections::BTreeSet<_>>()
    );
    assert_eq!(before.len(), after.len());
    assert!(
        after
            .iter()
            .any(|s| s.contains(r#"method="other""#) && s.contains(r#"route="/sync""#)),
        "odd methods are counted as `other`: {after:?}"
    );
}

#[tokio::test]
async fn with_metrics_off_nothing_is_recorded() {
    let (state, _) = fresh_state().await;
    let off = server::config::Config::from_lookup(|k| (k == "TERN_METRICS").then(|| "off".into()))
        .unwrap();
    let mut state = state.with_proxy(&off);
    state.client_ip_header = Some(axum::http::HeaderName::from_static(TEST_SOURCE));
    let app = serve_state(state).await;
    let token = app.token("signup", "alice").await;
    let r = app
        .http
        .post(format!("{}/sync", app.base))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(one_note("n1"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(odd(&app.http, &app.base, "ODD", "/sync").await, 405);
    assert_eq!(
        app.http
            .get(format!("{}/metrics", app.base))
            .send()
            .await
            .unwrap()
            .status(),
        404,
        "not served"
    );
    let recorded = app.state.metrics.encode();
    let samples: Vec<&str> = recorded
        .lines()
        .filter(|l| {
            (l.starts_with("tern_http_requests_total{") || l.starts_with("tern_sync_pulls_total"))
                && !l.ends_with(" 0")
        })
        .collect();
    assert!(samples.is_empty(), "recorded: {samples:?}");
}

#[tokio::test]
async fn a_refused_body_is_answered_and_logged_without_its_text() {
    let app = spawn_app().await;
    // serde's message quotes an unexpected string: 100,000 characters of it here.
    let body = json!({"protocol": 1, "changes": "x".repeat(100_000)});
    let (status, answer) = app.post_raw(serde_json::to_vec(&body).unwrap()).await;
    assert_eq!(status, 400);
    assert_eq!(answer["error"], "invalid_request");
    let message = answer["message"].as_str().unwrap();
    assert!(
        message.len() < 1024,
        "a {} byte message: {}",
        message.len(),
        &message[..200]
    );
}

// ---------------------------------------------------------------------------------------
// 2. Cache-Control.

#[tokio::test]
async fn every_api_answer_says_no_store() {
    let app = spawn_app().await;
    let alice = app.token.clone();
    let spare = app.as_user("alice").await.token.clone();
    let r = app
        .sync(&request(None, vec![change("n1", "d", now(), "t")]))
        .await;
    assert_eq!(r.results.len(), 1);
    // Every route of the table, with a body it accepts (or at least reads). Sign-outs last.
    let mut table = server::routes::table();
    table.sort_by_key(|(path, _, _)| path.contains("signout") || path.contains("delete"));
    let mut checked = Vec::new();
    for (path, method, _) in table {
        let url = format!("{}{}", app.base, path.replace("{id}", "n1"));
        let body = match path {
            "/sync" => Some(json!({"protocol": 1, "changes": []})),
            "/auth/signup" => Some(json!({"username": "carol", "password": PASSWORD})),
            "/auth/signin" => Some(json!({"username": "alice", "password": PASSWORD})),
            "/account/password" => {
                Some(json!({"current_password": "wrong password", "new_password": PASSWORD}))
            }
            "/account/delete" => Some(json!({"password": "wrong password"})),
            "/account/sessions/signout" => Some(json!({"session": "0"})),
            "/account/signout-everywhere" | "/auth/signout" => Some(json!({})),
            "/auth/me"
            | "/account/sessions"
            | "/live"
            | "/notes/{id}/history"
            | "/healthz"
            | "/api/openapi.json" => None,
            other => panic!("a new route: add {other} to this test"),
        };
        let token = if path == "/account/signout-everywhere" {
            &spare
        } else {
            &alice
        };
        let mut req = app
            .http
            .request(method.clone(), &url)
            .header(TEST_SOURCE, test_source("alice"))
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let cache = r
            .headers()
            .get("cache-control")
            .map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(
            cache.as_deref(),
            Some("no-store"),
            "{method} {path} answered {status} without no-store"
        );
        checked.push(format!("{method} {path} {status}"));
    }
    // The private answers among them were answered (not only refusals).
    for ok in [
        "GET /auth/me 200",
        "GET /notes/{id}/history 200",
        "GET /account/sessions 200",
        "POST /sync 200",
        "GET /live 200",
        "POST /auth/signin 200",
    ] {
        assert!(checked.iter().any(|c| c == ok), "{ok} in {checked:?}");
    }
    // An error of an API path with another method too.
    assert_eq!(
        app.http
            .put(format!("{}/auth/me", app.base))
            .send()
            .await
            .unwrap()
            .headers()["cache-control"],
        "no-store"
    );
}

// ---------------------------------------------------------------------------------------
// 3. Live streams end with their session.

/// Waits for `live` to end; panics if a poke (not the connect poke, already read) arrives
/// first or it stays open past the wait. Returns how long it took.
async fn ends_unpoked(live: &mut support::live::Live, what: &str) -> Duration {
    let started = Instant::now();
    let events = live
        .events_until_end()
        .await
        .unwrap_or_else(|| panic!("{what}: the live stream is still open after {WAIT:?}"));
    assert!(
        events.is_empty(),
        "{what}: the stream of an ended session heard {events:?}"
    );
    started.elapsed()
}

#[tokio::test]
async fn a_live_stream_ends_with_its_session_and_hears_no_poke_after() {
    let app = spawn_app().await;
    let t1 = app.token.clone();
    let t2 = app.as_user("alice").await.token.clone();
    let mut t2_live = open_live(&app.base, &t2).await.unwrap();
    assert_eq!(t2_live.poke().await, json!({}));

    let (status, _) = post_as(&app, &t1, "/account/signout-everywhere", json!({})).await;
    assert_eq!(status, 200);
    // Signed in again, and a push: T2's stream must have ended without hearing it.
    let t3 = app.as_user("alice").await;
    t3.sync(&request(None, vec![change("n1", "d", now(), "after")]))
        .await;
    let took = ends_unpoked(&mut t2_live, "sign out everywhere").await;
    println!("the live stream ended {took:?} after the push");
    assert_eq!(
        open_live(&app.base, &t2).await.err().map(|e| e.0),
        Some(401)
    );
}

async fn post_as(app: &TestApp, token: &str, path: &str, body: Value) -> (u16, Value) {
    post_json(&app.http, &app.base, token, path, body, "alice").await
}

#[tokio::test]
async fn sign_out_ending_one_session_a_password_change_and_deletion_end_live_streams() {
    let app = spawn_app().await;
    let keeper = app.token.clone();
    let mut keeper_live = open_live(&app.base, &keeper).await.unwrap();
    assert_eq!(keeper_live.poke().await, json!({}));

    // Its own sign-out.
    let t = app.as_user("alice").await.token.clone();
    let mut live = open_live(&app.base, &t).await.unwrap();
    live.poke().await;
    assert_eq!(post_as(&app, &t, "/auth/signout", json!({})).await.0, 200);
    let took = ends_unpoked(&mut live, "sign-out").await;
    println!("the stream ended {took:?} after the sign-out's answer");

    // Ended from the session list.
    let t = app.as_user("alice").await.token.clone();
    let mut live = open_live(&app.base, &t).await.unwrap();
    live.poke().await;
    let r = app
        .http
        .get(format!("{}/account/sessions", app.base))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    let list: Value = r.json().await.unwrap();
    let id = list["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] == true)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _) = post_as(
        &app,
        &keeper,
        "/account/sessions/signout",
        json!({"session": id}),
    )
    .await;
    assert_eq!(status, 200);
    ends_unpoked(&mut live, "ended from the list").await;

    // A password change ends every other session's stream; the changer's stays and hears
    // the next push.
    let t = app.as_user("alice").await.token.clone();
    let mut live = open_live(&app.base, &t).await.unwrap();
    live.poke().await;
    let new_password = "a brand new password";
    let (status, body) = post_as(
        &app,
        &keeper,
        "/account/password",
        json!({"current_password": PASSWORD, "new_password": new_password}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    ends_unpoked(&mut live, "password change").await;
    let mut pusher = app.same_server();
    pusher.token = keeper.clone();
    pusher
        .sync(&request(None, vec![change("n1", "d", now(), "x")]))
        .await;
    let poke = keeper_live.poke().await;
    assert!(poke["cursor"].is_string(), "{poke}");

    // Deletion ends the rest.
    let (status, _) = post_as(
        &app,
        &keeper,
        "/account/delete",
        json!({"password": new_password}),
    )
    .await;
    assert_eq!(status, 200);
    ends_unpoked(&mut keeper_live, "account deletion").await;
}

#[tokio::test]
async fn a_session_ended_through_another_server_process_ends_its_stream_here() {
    let db = fresh_db_name();
    let here = spawn_app_on(shared_db().uri(), &db).await;
    let there = support::live::start_process(&db, &[]);
    let t2 = here.as_user("alice").await.token.clone();
    let mut live = open_live(&here.base, &t2).await.unwrap();
    live.poke().await;
    let r = reqwest::Client::new()
        .post(format!("{}/account/signout-everywhere", there.base))
        .bearer_auth(&here.token)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let took = ends_unpoked(&mut live, "signed out through another process").await;
    println!("a stream here ended {took:?} after its session was ended through another process");
}

// ---------------------------------------------------------------------------------------
// 4. Sessions carry the credentials that made them.

/// The MongoDB account store, but a session insert can be held (as if the sign-in's
/// argon2 took that long) and a session lookup can be announced.
struct Holding {
    inner: MongoAccounts,
    hold_insert: AtomicBool,
    insert_reached: Notify,
    insert_release: Notify,
    announce_lookup: AtomicBool,
    looked_up: Notify,
}

impl Holding {
    fn new(db: mongodb::Database) -> Arc<Self> {
        Arc::new(Self {
            inner: MongoAccounts::new(db),
            hold_insert: AtomicBool::new(false),
            insert_reached: Notify::new(),
            insert_release: Notify::new(),
            announce_lookup: AtomicBool::new(false),
            looked_up: Notify::new(),
        })
    }
}

impl AccountStore for Holding {
    fn ensure_indexes(&self) -> BoxFuture<'_, Result<(), StoreError>> {
        self.inner.ensure_indexes()
    }
    fn insert_user<'a>(&'a self, user: &'a StoredUser) -> BoxFuture<'a, Result<bool, StoreError>> {
        self.inner.insert_user(user)
    }
    fn user_by_name<'a>(
        &'a self,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<StoredUser>, StoreError>> {
        self.inner.user_by_name(name)
    }
    fn user_by_id<'a>(
        &'a self,
        user_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<StoredUser>, StoreError>> {
        self.inner.user_by_id(user_id)
    }
    fn insert_session<'a>(
        &'a self,
        session: &'a StoredSession,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            if self.hold_insert.swap(false, Ordering::SeqCst) {
                self.insert_reached.notify_one();
                self.insert_release.notified().await;
            }
            self.inner.insert_session(session).await
        })
    }
    fn session<'a>(
        &'a self,
        key: &'a str,
        now_ms: i64,
    ) -> BoxFuture<'a, Result<Option<StoredSession>, StoreError>> {
        Box::pin(async move {
            let s = self.inner.session(key, now_ms).await;
            if self.announce_lookup.swap(false, Ordering::SeqCst) {
                self.looked_up.notify_one();
            }
            s
        })
    }
    fn delete_session<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        self.inner.delete_session(key)
    }
    fn sessions_of<'a>(
        &'a self,
        user_id: &'a str,
        now_ms: i64,
    ) -> BoxFuture<'a, Result<Vec<StoredSession>, StoreError>> {
        self.inner.sessions_of(user_id, now_ms)
    }
    fn delete_sessions_of<'a>(
        &'a self,
        user_id: &'a str,
        keep: Option<&'a str>,
    ) -> BoxFuture<'a, Result<u64, StoreError>> {
        self.inner.delete_sessions_of(user_id, keep)
    }
    fn touch_session<'a>(
        &'a self,
        key: &'a str,
        now_ms: i64,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        self.inner.touch_session(key, now_ms)
    }
    fn set_hash<'a>(
        &'a self,
        user_id: &'a str,
        hash: &'a str,
        epoch: i64,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        self.inner.set_hash(user_id, hash, epoch)
    }
    fn set_session_epoch<'a>(
        &'a self,
        key: &'a str,
        epoch: i64,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        self.inner.set_session_epoch(key, epoch)
    }
    fn delete_user<'a>(&'a self, user_id: &'a str) -> BoxFuture<'a, Result<(), StoreError>> {
        self.inner.delete_user(user_id)
    }
    fn ended_sessions(&self) -> server::storage::BoxStream<'static, server::storage::SessionEvent> {
        self.inner.ended_sessions()
    }
}

/// An app whose account store is a [`Holding`] over the real database.
async fn holding_app() -> (Served, Arc<Holding>, Arc<MongoStore>) {
    let (mut state, store) = fresh_state().await;
    let db = store.database().clone();
    let holding = Holding::new(db.clone());
    state.accounts = Arc::new(Accounts::with_stores(
        holding.clone(),
        Arc::new(MongoBuckets::new(&db)),
    ));
    (serve_state(state).await, holding, store)
}

/// Starts a sign-in of alice whose session insert is held; returns once it is held.
async fn sign_in_held(app: &Served, holding: &Holding) -> tokio::task::JoinHandle<(u16, Value)> {
    holding.hold_insert.store(true, Ordering::SeqCst);
    let (http, base) = (app.http.clone(), app.base.clone());
    let task = tokio::spawn(async move {
        let r = http
            .post(format!("{base}/auth/signin"))
            .header(TEST_SOURCE, test_source("alice"))
            .json(&json!({"username": "alice", "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    });
    holding.insert_reached.notified().await;
    task
}

#[tokio::test]
async fn a_sign_in_in_flight_during_a_password_change_gets_a_dead_session() {
    let (app, holding, _) = holding_app().await;
    let owner = app.token("signup", "alice").await;
    // The attacker knows the old password; their sign-in has checked it and is about to
    // insert its session when the owner changes the password.
    let late = sign_in_held(&app, &holding).await;
    let (status, body) = app
        .post(
            &owner,
            "/account/password",
            json!({"current_password": PASSWORD, "new_password": "the owner's new one"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    holding.insert_release.notify_one();
    let (status, body) = late.await.unwrap();
    assert_eq!(status, 200, "the sign-in itself answered: {body}");
    let stolen = body["token"].as_str().unwrap();
    assert_eq!(
        app.get(stolen, "/auth/me").await.0,
        401,
        "a session made with the old password must be dead"
    );
    let (status, _) = app.post(stolen, "/sync", json!({"protocol": 1})).await;
    assert_eq!(status, 401);
    // The owner's session stays, and the new password signs in.
    assert_eq!(app.get(&owner, "/auth/me").await.0, 200);
    assert_eq!(
        app.auth("signin", "alice", "the owner's new one").await.0,
        200
    );
}

#[tokio::test]
async fn a_sign_in_in_flight_during_an_account_deletion_gets_a_dead_session() {
    let (app, holding, store) = holding_app().await;
    let owner = app.token("signup", "alice").await;
    let id = app.get(&owner, "/auth/me").await.1["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let late = sign_in_held(&app, &holding).await;
    let (status, body) = app
        .post(&owner, "/account/delete", json!({"password": PASSWORD}))
        .await;
    assert_eq!(status, 200, "{body}");
    holding.insert_release.notify_one();
    let (status, body) = late.await.unwrap();
    assert_eq!(status, 200, "the sign-in itself answered: {body}");
    let late = body["token"].as_str().unwrap();
    assert_eq!(app.get(late, "/auth/me").await.0, 401);
    let r = app
        .http
        .post(format!("{}/sync", app.base))
        .bearer_auth(late)
        .header("content-type", "application/json")
        .body(one_note("zombie"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(app.notes_of(&store, &id).await, 0);
}

// ---------------------------------------------------------------------------------------
// 5. Deletion is final.

/// A raw HTTP/1.1 `POST /sync` whose body is sent in two halves: the second only when
/// `between` has run. Returns the status and the body of the answer.
async fn upload_in_two_halves<F: std::future::Future<Output = ()>>(
    base: &str,
    token: &str,
    body: &[u8],
    between: impl FnOnce() -> F,
) -> (u16, String) {
    let addr = base.trim_start_matches("http://");
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /sync HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    let (first, rest) = body.split_at(body.len() / 2);
    tcp.write_all(first).await.unwrap();
    tcp.flush().await.unwrap();
    between().await;
    // The server may have answered already (and closed): then the rest is not needed.
    let _ = tcp.write_all(rest).await;
    read_answer(&mut tcp).await
}

async fn read_answer(tcp: &mut tokio::net::TcpStream) -> (u16, String) {
    let mut answer = Vec::new();
    tokio::time::timeout(WAIT, tcp.read_to_end(&mut answer))
        .await
        .expect("an answer within the wait")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = answer
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_owned();
    (status, body)
}

#[tokio::test]
async fn a_slow_upload_that_finishes_after_the_account_is_deleted_stores_nothing() {
    let (app, holding, store) = holding_app().await;
    let owner = app.token("signup", "alice").await;
    let uploader = app.token("signin", "alice").await;
    let id = app.get(&owner, "/auth/me").await.1["id"]
        .as_str()
        .unwrap()
        .to_owned();
    holding.announce_lookup.store(true, Ordering::SeqCst);
    let body = one_note("late");
    let (status, answer) = upload_in_two_halves(&app.base, &uploader, &body, || async {
        // The upload passed its session check; its body is still arriving.
        holding.looked_up.notified().await;
        let (status, body) = app
            .post(&owner, "/account/delete", json!({"password": PASSWORD}))
            .await;
        assert_eq!(status, 200, "{body}");
    })
    .await;
    assert_eq!(status, 401, "{answer}");
    assert!(answer.contains("\"unauthorized\""), "{answer}");
    assert_eq!(
        app.notes_of(&store, &id).await,
        0,
        "the upload stored a note for the deleted account"
    );
}

#[tokio::test]
async fn a_write_for_a_deleted_account_is_refused_after_a_restart() {
    let (state, store) = fresh_state().await;
    let db_name = store.database().name().to_owned();
    let app = serve_state(state).await;
    let owner = app.token("signup", "alice").await;
    let id = app.get(&owner, "/auth/me").await.1["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _) = app
        .post(&owner, "/account/delete", json!({"password": PASSWORD}))
        .await;
    assert_eq!(status, 200);
    drop(app);
    // A new server process state on the same database: nothing in memory remembers the
    // deletion. A write for the account (one that passed its checks before the restart)
    // reaches the store.
    let restarted = MongoStore::connect(shared_db().uri(), &db_name)
        .await
        .unwrap();
    let late = restarted
        .push(&id, &[change("late", "d", now(), "late")], now())
        .await;
    assert!(matches!(late, Err(StoreError::Gone)), "{late:?}");
    let notes = restarted
        .database()
        .collection::<Document>("notes")
        .count_documents(doc! {"u": &id})
        .await
        .unwrap();
    assert_eq!(notes, 0);
}

#[tokio::test]
async fn a_body_that_does_not_arrive_in_time_is_answered_408_and_stores_nothing() {
    let (mut state, store) = fresh_state().await;
    state.body_deadline = Duration::from_secs(1);
    let app = serve_state(state).await;
    let token = app.token("signup", "alice").await;
    let id = app.get(&token, "/auth/me").await.1["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let body = one_note("slow");
    let started = Instant::now();
    let (status, answer) = upload_in_two_halves(&app.base, &token, &body, || async {
        tokio::time::sleep(Duration::from_secs(3)).await;
    })
    .await;
    assert_eq!(status, 408, "{answer}");
    let err: Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(err["error"], "invalid_request");
    println!("answered 408 after {:?}", started.elapsed());
    assert_eq!(app.notes_of(&store, &id).await, 0);
}

// ---------------------------------------------------------------------------------------
// 6. "Delete forever" under last-write-wins.

fn at(wall: u64, node: &str) -> Hlc {
    Hlc {
        wall_ms: wall,
        counter: 0,
        node: node.into(),
    }
}

fn edit(note: &str, hlc: Hlc, base: Option<u64>, content: &str) -> sync_core::protocol::Change {
    let mut c = change(note, &hlc.node, hlc.wall_ms, "t");
    c.hlc = hlc;
    c.base_version = base;
    c.content = content.into();
    c
}

fn delete(note: &str, hlc: Hlc, base: Option<u64>, purge: bool) -> sync_core::protocol::Change {
    let mut c = edit(note, hlc, base, "");
    c.title.clear();
    c.deleted = true;
    c.purge = purge;
    c
}

async fn push(app: &TestApp, c: sync_core::protocol::Change) -> ChangeOutcome {
    let r = app.sync_retrying(&request(None, vec![c])).await;
    r.results[0].outcome.clone()
}

fn version(o: &ChangeOutcome) -> u64 {
    match o {
        ChangeOutcome::Applied { version, .. } => *version,
        o => panic!("not applied: {o:?}"),
    }
}

#[tokio::test]
async fn a_purge_under_lww_never_drops_an_edit_the_purging_device_never_saw() {
    let app = spawn_app_with(Conflicts {
        default: Strategy::Lww,
        history_limit: 50,
    })
    .await;
    let t = now() - 60_000;
    let v1 = version(&push(&app, edit("n", at(t, "laptop"), None, "first")).await);
    // The phone edits (v2); the laptop, which never saw v2, deletes with a later clock:
    // the delete wins and the phone's edit goes to history.
    version(
        &push(
            &app,
            edit("n", at(t + 1, "phone"), Some(v1), "phone's edit"),
        )
        .await,
    );
    let v3 = version(&push(&app, delete("n", at(t + 2, "laptop"), Some(v1), false)).await);
    let kept =
        |h: &[sync_core::protocol::Revision]| h.iter().any(|r| r.version.content == "phone's edit");
    assert!(kept(&app.history("n").await));

    // The laptop deletes forever on base v3 (its own delete): an ordinary delete.
    push(&app, delete("n", at(t + 3, "laptop"), Some(v3), true)).await;
    let all = app.pull_all().await;
    let n = all.iter().find(|n| n.id.0 == "n").unwrap();
    assert!(n.deleted && !n.purged, "{n:?}");
    assert!(
        kept(&app.history("n").await),
        "the purge dropped the phone's edit the laptop never saw"
    );

    // The phone, which wrote that edit, may delete it forever.
    let head = n.version;
    push(&app, delete("n", at(t + 4, "phone"), Some(head), true)).await;
    let all = app.pull_all().await;
    let n = all.iter().find(|n| n.id.0 == "n").unwrap();
    assert!(n.deleted && n.purged, "{n:?}");
    assert!(app.history("n").await.is_empty());
}

// ---------------------------------------------------------------------------------------
// 7. Client addresses from a proxy.

/// An app throttling at most `per_source` failed sign-ins per source (an hour each), with
/// client addresses in `header`.
async fn proxied(header: &str, per_source: u32) -> Served {
    let (mut state, store) = fresh_state().await;
    let rate = |burst| Rate {
        burst,
        every: Duration::from_secs(3600),
    };
    state.accounts = Arc::new(
        Accounts::new(&store.stores())
            .with_limits(Limits {
                per_pair: rate(100),
                per_source: rate(per_source),
                per_account: rate(100),
                known_for: Duration::from_secs(3600),
            })
            .with_gate(HashGate::new(2, 64)),
    );
    state.client_ip_header = Some(header.parse().unwrap());
    serve_state(state).await
}

impl Served {
    /// A failed sign-in (an unknown name each time) with `header: value`.
    async fn fail_from(&self, header: &str, value: &str, i: u32) -> u16 {
        self.http
            .post(format!("{}/auth/signin", self.base))
            .header(header, value)
            .json(&json!({"username": format!("nobody{i}"), "password": "wrong password"}))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }
}

#[test]
fn client_addresses_parse_in_every_form_proxies_send() {
    use server::api::client_ip;
    let ip = |v: &str| client_ip(v).map(|a| a.to_string()).map_err(str::to_owned);
    assert_eq!(ip("203.0.113.9").unwrap(), "203.0.113.9");
    assert_eq!(ip("203.0.113.9:4711").unwrap(), "203.0.113.9");
    assert_eq!(ip("2001:db8::1").unwrap(), "2001:db8::1");
    assert_eq!(ip("[2001:db8::1]:4711").unwrap(), "2001:db8::1");
    assert_eq!(ip("[2001:db8::1]").unwrap(), "2001:db8::1");
    assert_eq!(ip("10.0.0.1, 203.0.113.9:80").unwrap(), "203.0.113.9");
    assert_eq!(
        ip("for=192.0.2.60;proto=http;by=203.0.113.43").unwrap(),
        "192.0.2.60"
    );
    assert_eq!(
        ip(r#"for=192.0.2.43, For="[2001:db8:cafe::17]:4711""#).unwrap(),
        "2001:db8:cafe::17"
    );
    assert_eq!(
        ip(r#"proto=https; for="198.51.100.7""#).unwrap(),
        "198.51.100.7"
    );
    assert_eq!(client_ip("for=unknown"), Err("for=unknown"));
    assert_eq!(client_ip("for=_hidden"), Err("for=_hidden"));
    assert_eq!(client_ip("1.2.3.4, garbage"), Err("garbage"));
    assert_eq!(client_ip(""), Err(""));
}

#[tokio::test]
async fn behind_a_proxy_each_client_address_form_is_a_source_of_its_own() {
    for (header, one, other) in [
        ("x-forwarded-for", "203.0.113.5:1234", "203.0.113.6:1234"),
        (
            "x-forwarded-for",
            "[2001:db8:1::1]:443",
            "[2001:db8:2::1]:443",
        ),
        (
            "forwarded",
            r#"for="[2001:db8:1::1]:4711";proto=https"#,
            "for=198.51.100.7",
        ),
        // Unparsable (obfuscated identifiers): not the proxy's one address either.
        ("forwarded", "for=_client1", "for=_client2"),
    ] {
        let app = proxied(header, 3).await;
        for i in 0..3 {
            assert_eq!(app.fail_from(header, one, i).await, 401, "{one}");
        }
        assert_eq!(
            app.fail_from(header, one, 3).await,
            429,
            "{one}: its own bucket is full"
        );
        assert_eq!(
            app.fail_from(header, other, 4).await,
            401,
            "{header}: {other} shares a bucket with {one}"
        );
        // And no request without the header (the proxy's own address) is throttled.
        let direct = app
            .http
            .post(format!("{}/auth/signin", app.base))
            .json(&json!({"username": "nobody9", "password": "wrong password"}))
            .send()
            .await
            .unwrap();
        assert_eq!(direct.status(), 401, "{header}: {one}");
    }
}

// ---------------------------------------------------------------------------------------
// 8. Throttle records go with the account.

#[tokio::test]
async fn deleting_an_account_removes_its_throttle_records() {
    let app = spawn_app().await;
    // A failed sign-in from elsewhere: buckets `p|alice|…` and `a|alice`; the sign-ins
    // made `k|alice|…`.
    let r = app
        .http
        .post(format!("{}/auth/signin", app.base))
        .header(TEST_SOURCE, "198.51.100.1")
        .json(&json!({"username": "alice", "password": "wrong password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    async fn mine(app: &TestApp) -> Vec<String> {
        let keys: Vec<String> = app
            .store
            .database()
            .collection::<Document>("throttle")
            .find(doc! {})
            .await
            .unwrap()
            .map(|d| d.unwrap().get_str("_id").unwrap().to_owned())
            .collect()
            .await;
        keys.into_iter().filter(|k| k.contains("|alice")).collect()
    }
    assert!(mine(&app).await.len() >= 3, "{:?}", mine(&app).await);
    let (status, _) = post_as(
        &app,
        &app.token,
        "/account/delete",
        json!({"password": PASSWORD}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(mine(&app).await, Vec::<String>::new());
}

// ---------------------------------------------------------------------------------------
// 9. Password length.

#[tokio::test]
async fn a_password_is_counted_in_characters_as_the_api_document_counts_them() {
    let doc: Value = serde_json::from_str(server::api::openapi::json()).unwrap();
    let schemas = &doc["components"]["schemas"];
    for (schema, field) in [
        ("PasswordChange", "new_password"),
        ("Credentials", "password"),
    ] {
        let p = &schemas[schema]["properties"][field];
        assert_eq!(
            (p["minLength"].as_u64(), p["maxLength"].as_u64()),
            (
                Some(server::auth::MIN_PASSWORD_CHARS as u64),
                Some(server::auth::MAX_PASSWORD_CHARS as u64)
            ),
            "{schema}.{field}: {p}"
        );
    }
    let app = spawn_app().await;
    // 1024 characters of two bytes each: valid for the document (maxLength counts
    // characters), 2048 bytes.
    let long = "é".repeat(1024);
    let (status, body) = post_as(
        &app,
        &app.token,
        "/account/password",
        json!({"current_password": PASSWORD, "new_password": long}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let r = app
        .http
        .post(format!("{}/auth/signin", app.base))
        .header(TEST_SOURCE, test_source("alice"))
        .json(&json!({"username": "alice", "password": long}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // 7 characters (14 bytes): too short for the document, and for the server.
    let (status, body) = post_as(
        &app,
        &app.token,
        "/account/password",
        json!({"current_password": long, "new_password": "ééééééé"}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_account");
    assert!(
        body["message"].as_str().unwrap().contains("longer"),
        "{body}"
    );
    // 1025 characters: too long, and the message says so.
    let (status, body) = post_as(
        &app,
        &app.token,
        "/account/password",
        json!({"current_password": long, "new_password": "é".repeat(1025)}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("shorter"),
        "{body}"
    );
}
