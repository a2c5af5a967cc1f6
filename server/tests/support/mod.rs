//! Test harness: one real database server (SecantusDB, MongoDB wire protocol) per test
//! binary, a fresh database per test, and the real router served on port 0.
#![allow(dead_code)]

pub mod live;
pub mod process;

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use leptos::config::LeptosOptions;
use serde_json::Value;
use server::embedded::{EmbeddedDb, find_binary};
use server::storage::Conflicts;
use server::storage::mongo::MongoStore;
use server::{AppState, router, serve};
use sync_core::protocol::{Change, PROTOCOL_VERSION, SyncRequest, SyncResponse};
use sync_core::{ChangeId, Hlc, NoteId};
use tokio::sync::oneshot;

/// Where test databases live; each test binary gets `<pid>/`, removed on the next run.
pub fn test_data_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/tern-test-db")
}

fn clean_stale_dirs() {
    let Ok(entries) = std::fs::read_dir(test_data_root()) else {
        return;
    };
    for e in entries.flatten() {
        // `<pid>` or `<pid>-<name>` (a test's own database): the pid owns it.
        let name = e.file_name().to_string_lossy().into_owned();
        let pid = name.split('-').next().and_then(|p| p.parse::<u32>().ok());
        let alive = pid.is_some_and(|p| PathBuf::from(format!("/proc/{p}")).exists());
        if !alive {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// The database server shared by the tests of this binary.
pub fn shared_db() -> &'static EmbeddedDb {
    static DB: OnceLock<EmbeddedDb> = OnceLock::new();
    DB.get_or_init(|| {
        clean_stale_dirs();
        let dir = test_data_root().join(std::process::id().to_string());
        start_db(&dir, 0)
    })
}

/// Starts a database server with its files in `dir`.
pub fn start_db(dir: &std::path::Path, port: u16) -> EmbeddedDb {
    let bin = find_binary(
        std::env::var_os("TERN_DB_BIN")
            .map(PathBuf::from)
            .as_deref(),
    )
    .expect("secantusd-rs is needed for the integration tests: run scripts/install-tools.sh run");
    EmbeddedDb::start_on(&bin, dir, port).expect("start the test database")
}

/// A unique database name.
pub fn fresh_db_name() -> String {
    format!("t_{}", client::platform::random_id().replace('-', "x"))
}

/// A running app on a fresh database.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// Direct access to the database.
    pub store: Arc<MongoStore>,
    /// HTTP client.
    pub http: reqwest::Client,
    /// Bearer token of the user this app's requests sync as.
    pub token: String,
    stop: Option<oneshot::Sender<()>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

/// Serves the app against `uri`/`db_name` on a free port.
pub async fn spawn_app_on(uri: &str, db_name: &str) -> TestApp {
    spawn_app_full(uri, db_name, Conflicts::default()).await
}

/// Serves the app against `uri`/`db_name`, resolving conflicts as `conflicts` says.
pub async fn spawn_app_on_with(uri: &str, db_name: &str, conflicts: Conflicts) -> TestApp {
    spawn_app_full(uri, db_name, conflicts).await
}

/// Serves the app on the shared database server, on a fresh database, resolving conflicts
/// as `conflicts` says.
pub async fn spawn_app_with(conflicts: Conflicts) -> TestApp {
    spawn_app_full(shared_db().uri(), &fresh_db_name(), conflicts).await
}

async fn spawn_app_full(uri: &str, db_name: &str, conflicts: Conflicts) -> TestApp {
    let store = Arc::new(
        MongoStore::connect(uri, db_name)
            .await
            .unwrap()
            .with_conflicts(conflicts),
    );
    let _ = store.ensure_indexes().await;
    let leptos = LeptosOptions::builder()
        .output_name("tern")
        .site_root("target/site")
        .build();
    let mut state = AppState::new(store.clone(), leptos, false);
    // Each test user signs up from an address of its own (see `sign_in_or_up`): the bench
    // creates hundreds of users, more than one source may sign up in a row.
    state.client_ip_header = Some(axum::http::HeaderName::from_static(TEST_SOURCE));
    let _ = state.accounts.ensure_indexes().await;
    let app = router(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = oneshot::channel();
    tokio::spawn(serve(listener, app, async move {
        let _ = rx.await;
    }));
    let mut app = TestApp {
        base,
        store,
        http: reqwest::Client::new(),
        token: String::new(),
        stop: Some(tx),
    };
    app.token = app.sign_in_or_up("alice").await;
    app
}

/// Serves the app on the shared database server, on a fresh database.
pub async fn spawn_app() -> TestApp {
    spawn_app_on(shared_db().uri(), &fresh_db_name()).await
}

/// The header the test server takes the client's address from (requests without it count
/// as their TCP peer, 127.0.0.1).
pub const TEST_SOURCE: &str = "x-test-source";

/// The address user `name` signs up and in from: one of its own, in 10.0.0.0/8.
pub fn test_source(name: &str) -> String {
    let h = name.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    format!("10.{}.{}.{}", (h >> 16) as u8, (h >> 8) as u8, h as u8)
}

/// The password every test user has.
pub const PASSWORD: &str = "correct horse battery";

/// `GET {base}{path}` with a bearer token: the status and the JSON body (`null` if none).
pub async fn get_json(http: &reqwest::Client, base: &str, token: &str, path: &str) -> (u16, Value) {
    let r = http
        .get(format!("{base}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

/// `POST {base}{path}` of a JSON body with a bearer token, from user `from`'s address
/// ([`test_source`]): the status and the JSON body (`null` if none).
pub async fn post_json(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    path: &str,
    body: Value,
    from: &str,
) -> (u16, Value) {
    let r = http
        .post(format!("{base}{path}"))
        .header(TEST_SOURCE, test_source(from))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

impl TestApp {
    /// Signs `name` up (or in, if it exists) and returns its bearer token.
    pub async fn sign_in_or_up(&self, name: &str) -> String {
        let body = serde_json::json!({"username": name, "password": PASSWORD});
        let source = test_source(name);
        let mut r = self
            .http
            .post(format!("{}/auth/signup", self.base))
            .header(TEST_SOURCE, &source)
            .json(&body)
            .send()
            .await
            .unwrap();
        if r.status() == 409 {
            r = self
                .http
                .post(format!("{}/auth/signin", self.base))
                .header(TEST_SOURCE, &source)
                .json(&body)
                .send()
                .await
                .unwrap();
        }
        assert!(r.status().is_success(), "sign up {name}: {}", r.status());
        let v: Value = r.json().await.unwrap();
        v["token"].as_str().unwrap().to_owned()
    }

    /// The same server, with no user yet (set `token`).
    pub fn same_server(&self) -> TestApp {
        TestApp {
            base: self.base.clone(),
            store: self.store.clone(),
            http: self.http.clone(),
            token: String::new(),
            stop: None,
        }
    }

    /// The same server, syncing as user `name`.
    pub async fn as_user(&self, name: &str) -> TestApp {
        TestApp {
            base: self.base.clone(),
            store: self.store.clone(),
            http: self.http.clone(),
            token: self.sign_in_or_up(name).await,
            stop: None,
        }
    }

    /// `POST /sync` with a raw body; returns status and JSON body.
    pub async fn post_raw(&self, body: impl Into<reqwest::Body>) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}/sync", self.base))
            .header("content-type", "application/json")
            .bearer_auth(&self.token)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// `POST /sync` expecting success.
    pub async fn sync(&self, req: &SyncRequest) -> SyncResponse {
        let (status, body) = self.post_raw(serde_json::to_vec(req).unwrap()).await;
        assert_eq!(status, 200, "sync failed: {body}");
        serde_json::from_value(body).unwrap()
    }

    /// `POST /sync` as a client does it: a `503 unavailable` (a push that kept losing to
    /// concurrent pushes of the same user past its retry budget, likely on a loaded
    /// machine) is retried after a pause; the change ids make the retry safe.
    pub async fn sync_retrying(&self, req: &SyncRequest) -> SyncResponse {
        for attempt in 0.. {
            let (status, body) = self.post_raw(serde_json::to_vec(req).unwrap()).await;
            if status == 503 && attempt < 20 {
                tokio::time::sleep(std::time::Duration::from_millis(100 * (attempt + 1))).await;
                continue;
            }
            assert_eq!(status, 200, "sync failed: {body}");
            return serde_json::from_value(body).unwrap();
        }
        unreachable!()
    }

    /// This app's `/metrics` scrape, and the value of the unlabelled metric `name` in it.
    pub async fn metric(&self, name: &str) -> Option<String> {
        let scrape = self
            .http
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        scrape
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
            .map(str::to_owned)
    }

    /// Every note state in the database, via a full pull from the start.
    pub async fn pull_all(&self) -> Vec<sync_core::NoteState> {
        let mut cursor = None;
        let mut all = Vec::new();
        loop {
            let r = self.sync(&request(cursor, vec![])).await;
            all.extend(r.changes);
            cursor = Some(r.cursor);
            if !r.has_more {
                return all;
            }
        }
    }

    /// `GET /notes/{id}/history`.
    pub async fn history(&self, id: &str) -> Vec<sync_core::protocol::Revision> {
        let r = self
            .http
            .get(format!("{}/notes/{id}/history", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.json::<sync_core::protocol::HistoryResponse>()
            .await
            .unwrap()
            .revisions
    }

    /// Count of documents in a collection of this test's database.
    pub async fn count(&self, collection: &str) -> u64 {
        self.store
            .database()
            .collection::<mongodb::bson::Document>(collection)
            .count_documents(mongodb::bson::doc! {})
            .await
            .unwrap()
    }
}

/// A sync request.
pub fn request(cursor: Option<sync_core::Cursor>, changes: Vec<Change>) -> SyncRequest {
    SyncRequest {
        protocol: PROTOCOL_VERSION,
        cursor,
        changes,
        limit: None,
    }
}

/// Now, in ms.
pub fn now() -> u64 {
    client::platform::now_ms()
}

/// A change of note `note` by device `node` at wall clock `wall`.
pub fn change(note: &str, node: &str, wall: u64, title: &str) -> Change {
    Change::new(
        ChangeId(client::platform::random_id()),
        NoteId(note.into()),
        Hlc {
            wall_ms: wall,
            counter: 0,
            node: node.into(),
        },
        None,
        title,
        &format!("{title} body"),
        false,
    )
}

/// The client engine's transport: `POST /sync` with reqwest and the app's bearer token.
pub struct Http<'a>(pub &'a TestApp);

impl client::engine::Transport for Http<'_> {
    async fn sync(
        &self,
        req: &SyncRequest,
    ) -> Result<SyncResponse, client::engine::TransportError> {
        use client::engine::TransportError;
        let r = self
            .0
            .http
            .post(format!("{}/sync", self.0.base))
            .bearer_auth(&self.0.token)
            .json(req)
            .send()
            .await
            .map_err(|e| TransportError::Network(e.to_string()))?;
        if !r.status().is_success() {
            let status = r.status().as_u16();
            let body = r.json::<sync_core::ErrorBody>().await.ok();
            return Err(TransportError::Http { status, body });
        }
        r.json()
            .await
            .map_err(|e| TransportError::Decode(e.to_string()))
    }
}
