//! The HTTP API on the in-memory stores (`server::storage::memory`): the real router and real HTTP,
//! no database process, so each test runs in milliseconds. These check the API's own
//! behaviour (sessions, scoping, answers); what storage does is checked on MongoDB by every
//! other test, and on both by `backends.rs`.

mod support;

use leptos::config::LeptosOptions;
use serde_json::{Value, json};
use server::storage::{Stores, memory};
use server::{AppState, router, serve};
use sync_core::protocol::{ChangeOutcome, PROTOCOL_VERSION, SyncRequest, SyncResponse};
use sync_core::{Change, ChangeId, Hlc, NoteId};
use tokio::sync::oneshot;

/// A server on in-memory stores, on a free port.
struct App {
    base: String,
    http: reqwest::Client,
    _stop: oneshot::Sender<()>,
}

async fn app() -> App {
    app_with(|s| s).await
}

/// An app whose state `f` adjusts first.
async fn app_with(f: impl FnOnce(AppState) -> AppState) -> App {
    app_on(memory::stores(), f).await
}

/// An app on `stores` (other apps may share them, as server processes share a database),
/// whose state `f` adjusts first.
async fn app_on(stores: Stores, f: impl FnOnce(AppState) -> AppState) -> App {
    let leptos = LeptosOptions::builder()
        .output_name("tern")
        .site_root("target/site")
        .build();
    let state = f(AppState::new(stores, leptos, false));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = oneshot::channel();
    tokio::spawn(serve(listener, router(state), async move {
        let _ = rx.await;
    }));
    App {
        base,
        http: reqwest::Client::new(),
        _stop: tx,
    }
}

const PASSWORD: &str = "correct horse battery";

impl App {
    /// Signs `name` up; returns the bearer token.
    async fn sign_up(&self, name: &str) -> String {
        let r = self
            .http
            .post(format!("{}/auth/signup", self.base))
            .json(&json!({"username": name, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "sign up {name}");
        r.json::<Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    async fn sync(&self, token: &str, req: &SyncRequest) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}/sync", self.base))
            .bearer_auth(token)
            .json(req)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }
}

fn request(changes: Vec<Change>) -> SyncRequest {
    SyncRequest {
        protocol: PROTOCOL_VERSION,
        cursor: None,
        changes,
        limit: None,
    }
}

fn change(note: &str, node: &str, content: &str) -> Change {
    Change::new(
        ChangeId(format!("{note}-{node}-{}", content.len())),
        NoteId(note.into()),
        Hlc {
            wall_ms: client::platform::now_ms(),
            counter: 0,
            node: node.into(),
        },
        None,
        "Title",
        content,
        false,
    )
}

#[tokio::test]
async fn a_note_pushed_from_one_device_is_pulled_by_another() {
    let app = app().await;
    let laptop = app.sign_up("alice").await;
    let (status, body) = app
        .sync(&laptop, &request(vec![change("n1", "laptop", "hello")]))
        .await;
    assert_eq!(status, 200, "{body}");
    let pushed: SyncResponse = serde_json::from_value(body).unwrap();
    assert!(matches!(
        pushed.results[0].outcome,
        ChangeOutcome::Applied { .. }
    ));

    // The phone signs in to the same account and pulls from the start.
    let r = app
        .http
        .post(format!("{}/auth/signin", app.base))
        .json(&json!({"username": "alice", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let phone = r.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, body) = app.sync(&phone, &request(vec![])).await;
    assert_eq!(status, 200);
    let pulled: SyncResponse = serde_json::from_value(body).unwrap();
    assert_eq!(pulled.changes.len(), 1);
    assert_eq!(pulled.changes[0].content, "hello");
    assert!(!pulled.has_more);
}

#[tokio::test]
async fn users_see_only_their_own_notes_and_history() {
    let app = app().await;
    let alice = app.sign_up("alice").await;
    let bob = app.sign_up("bob").await;
    app.sync(&alice, &request(vec![change("n1", "laptop", "alice's")]))
        .await;
    let (_, body) = app
        .sync(
            &alice,
            &request(vec![change("n1", "phone", "alice's, edited")]),
        )
        .await;
    assert_eq!(body["results"][0]["status"], "applied", "{body}");

    let (status, body) = app.sync(&bob, &request(vec![])).await;
    assert_eq!(status, 200);
    assert_eq!(body["changes"], json!([]));
    let history = |token: String| {
        let req = app
            .http
            .get(format!("{}/notes/n1/history", app.base))
            .bearer_auth(token)
            .send();
        async move {
            let r = req.await.unwrap();
            assert_eq!(r.status(), 200);
            let body = r.json::<Value>().await.unwrap();
            body["revisions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["content"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    // The phone's edit was concurrent with the laptop's (no base): the laptop's text is in
    // alice's history, and bob's history of the same note id is empty.
    assert!(history(alice).await.contains(&"alice's".to_owned()));
    assert_eq!(history(bob).await, Vec::<String>::new());
}

#[tokio::test]
async fn without_a_session_nothing_syncs() {
    let app = app().await;
    let (status, body) = app.sync("not a token", &request(vec![])).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("unauthorized"))
    );
    let token = app.sign_up("alice").await;
    let r = app
        .http
        .post(format!("{}/auth/signout", app.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let (status, _) = app.sync(&token, &request(vec![])).await;
    assert_eq!(status, 401, "a signed-out token is refused");
}

#[tokio::test]
async fn health_and_bad_requests_answer_as_on_the_database() {
    let app = app().await;
    let r = app
        .http
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let token = app.sign_up("alice").await;
    let r = app
        .http
        .post(format!("{}/sync", app.base))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
}

/// Signing up and `GET /auth/me` tell devices the server's trash period
/// (`TERN_TRASH_DAYS`), so their trash shows and expires entries by it.
#[tokio::test]
async fn devices_are_told_the_servers_trash_period() {
    for (days, want) in [(None, 30), (Some(7), 7)] {
        let app = app_with(|mut s| {
            if let Some(d) = days {
                s.trash_days = d;
            }
            s
        })
        .await;
        let signed_up: Value = app
            .http
            .post(format!("{}/auth/signup", app.base))
            .json(&json!({"username": "ann", "password": PASSWORD}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(signed_up["trash_days"], want, "{signed_up}");
        let token = signed_up["token"].as_str().unwrap();
        let me: Value = app
            .http
            .get(format!("{}/auth/me", app.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(me["user"], "ann");
        assert_eq!(me["trash_days"], want, "{me}");
    }
}

/// Live updates across two servers sharing one in-memory store, as across processes sharing
/// a database: a push through one pokes the device connected to the other, with the cursor
/// of the new head; signing out through the first ends the connection on the second.
#[tokio::test]
async fn a_push_through_one_server_pokes_a_device_live_on_another() {
    let stores = memory::stores();
    let (a, b) = (
        app_on(stores.clone(), |s| s).await,
        app_on(stores, |s| s).await,
    );
    let token = a.sign_up("ann").await;
    let mut live = support::live::open_live(&b.base, &token)
        .await
        .expect("live connection");
    assert_eq!(live.poke().await, json!({}), "the poke on connecting");
    let (status, _) = a
        .sync(&token, &request(vec![change("n1", "phone", "hello")]))
        .await;
    assert_eq!(status, 200);
    // `{}` pokes may come between (the feed opening): the one that counts names the head.
    loop {
        let poke = live.poke().await;
        if poke != json!({}) {
            assert_eq!(poke, json!({"cursor": "v1.1"}));
            break;
        }
    }
    let r = a
        .http
        .post(format!("{}/auth/signout", a.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(live.ended().await, "the session ended on the other server");
}
