//! Test harness: one real database server (SecantusDB, MongoDB wire protocol) per test
//! binary, a fresh database per test, and the real router served on port 0.
#![allow(dead_code)]

pub mod live;
pub mod process;

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use client::api::{ApiClient, NativeHttp};
use leptos::config::LeptosOptions;
use serde_json::Value;
use server::embedded::{EmbeddedDb, find_binary};
use server::storage::Conflicts;
use server::storage::mongo::MongoStore;
use server::{AppState, router, serve};
use sync_core::protocol::{
    Change, Credentials, ErrorCode, PROTOCOL_VERSION, SyncRequest, SyncResponse,
};
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
    /// The API client of this app's user (its bearer token); also the sync engine's
    /// transport.
    pub fn api(&self) -> ApiClient<NativeHttp> {
        self.api_as(&self.token)
    }

    /// The API client of the session with bearer `token`.
    pub fn api_as(&self, token: &str) -> ApiClient<NativeHttp> {
        ApiClient::new(NativeHttp::with_client(self.http.clone(), &self.base).bearer(token))
    }

    /// An API client with no session, from user `name`'s address ([`test_source`]).
    pub fn anonymous(&self, name: &str) -> ApiClient<NativeHttp> {
        ApiClient::new(
            NativeHttp::with_client(self.http.clone(), &self.base)
                .header(TEST_SOURCE, test_source(name)),
        )
    }

    /// The id of user `name` in this app's database.
    pub async fn user_id(&self, name: &str) -> String {
        self.store
            .database()
            .collection::<mongodb::bson::Document>("users")
            .find_one(mongodb::bson::doc! {"name": name})
            .await
            .unwrap()
            .unwrap()
            .get_str("_id")
            .unwrap()
            .to_owned()
    }

    /// Signs `name` up (or in, if it exists) and returns its bearer token.
    pub async fn sign_in_or_up(&self, name: &str) -> String {
        let api = self.anonymous(name);
        let credentials = Credentials {
            username: name.to_owned(),
            password: PASSWORD.to_owned(),
        };
        let signed_in = match api.sign_up(&credentials).await {
            Err(e) if e.code() == Some(ErrorCode::NameTaken) => api.sign_in(&credentials).await,
            r => r,
        };
        let signed_in = signed_in.unwrap_or_else(|e| panic!("sign up {name}: {e:?}"));
        signed_in
            .token
            .expect("a token: the test client is not a browser")
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
        self.api()
            .sync(req)
            .await
            .unwrap_or_else(|e| panic!("sync failed: {e:?}"))
    }

    /// `POST /sync` as a client does it: a `503 unavailable` (a push that kept losing to
    /// concurrent pushes of the same user past its retry budget, likely on a loaded
    /// machine) is retried after a pause; the change ids make the retry safe.
    pub async fn sync_retrying(&self, req: &SyncRequest) -> SyncResponse {
        for attempt in 0.. {
            match self.api().sync(req).await {
                Err(e) if e.status() == Some(503) && attempt < 20 => {
                    tokio::time::sleep(std::time::Duration::from_millis(100 * (attempt + 1))).await;
                }
                r => return r.unwrap_or_else(|e| panic!("sync failed: {e:?}")),
            }
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

    /// `GET /notes/{id}/history`, expecting success.
    pub async fn history(&self, id: &str) -> Vec<sync_core::protocol::Revision> {
        self.api()
            .history(&NoteId(id.into()))
            .await
            .unwrap_or_else(|e| panic!("history of {id}: {e:?}"))
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
