//! Account management over HTTP against the real database: the session list (devices, last
//! use), signing one session or every session out, changing the password (which ends every
//! other session), and deleting the account (every note, revision, session and the user
//! gone, read back from the collections). Bad input changes nothing.

mod support;

use client::api::{ApiClient, NativeHttp};
use mongodb::bson::{Document, doc};
use serde_json::{Value, json};
use support::*;
use sync_core::protocol::{Credentials, SessionInfo};

const CHROME: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36";
const PHONE: &str = "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Mobile Safari/537.36";

/// Signs `name` in from a device with this `User-Agent`; returns its bearer token.
async fn sign_in_as(app: &TestApp, name: &str, password: &str, ua: &str) -> (u16, Value) {
    let r = app
        .http
        .post(format!("{}/auth/signin", app.base))
        .header(TEST_SOURCE, test_source(name))
        .header("user-agent", ua)
        .json(&json!({"username": name, "password": password}))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

async fn token(app: &TestApp, name: &str, ua: &str) -> String {
    let device = ApiClient::new(
        NativeHttp::with_client(app.http.clone(), &app.base)
            .header(TEST_SOURCE, test_source(name))
            .header("user-agent", ua),
    );
    let credentials = Credentials {
        username: name.to_owned(),
        password: PASSWORD.to_owned(),
    };
    let signed_in = device.sign_in(&credentials).await.unwrap();
    signed_in.token.expect("a token: not a browser")
}

async fn get(app: &TestApp, token: &str, path: &str) -> (u16, Value) {
    get_json(&app.http, &app.base, token, path).await
}

async fn post(app: &TestApp, token: &str, path: &str, body: Value) -> (u16, Value) {
    post_json(&app.http, &app.base, token, path, body, "account-test").await
}

async fn signed_in(app: &TestApp, token: &str) -> bool {
    app.api_as(token).me().await.is_ok()
}

#[tokio::test]
async fn devices_are_listed_with_their_last_use_and_can_be_signed_out() {
    let app = spawn_app().await; // alice, signed in once by the harness ("API client")
    let laptop = token(&app, "alice", CHROME).await;
    let phone = token(&app, "alice", PHONE).await;
    let bob = app.as_user("bob").await;

    let sessions = app.api_as(&laptop).sessions().await.unwrap().sessions;
    assert_eq!(sessions.len(), 3, "{sessions:?}");
    let devices: Vec<&str> = sessions.iter().map(|s| s.device.as_str()).collect();
    assert!(
        devices.contains(&"Chrome on Linux") && devices.contains(&"Chrome on Android"),
        "{devices:?}"
    );
    assert!(devices.contains(&"API client"));
    let now = now();
    for s in &sessions {
        let used = s.last_used_ms.expect("last use");
        assert!(now.abs_diff(used) < 120_000, "{s:?}");
        assert!(s.expires_ms > now);
    }
    let current: Vec<&SessionInfo> = sessions.iter().filter(|s| s.current).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0].device, "Chrome on Linux");

    // Sign the phone out from the laptop.
    let phone_id = &sessions
        .iter()
        .find(|s| s.device == "Chrome on Android")
        .unwrap()
        .id;
    // Bob cannot end alice's session, even knowing its id.
    let (status, _) = post(
        &bob,
        &bob.token,
        "/account/sessions/signout",
        json!({"session": phone_id}),
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        signed_in(&app, &phone).await,
        "another account's session ends nothing"
    );
    let (status, body) = post(
        &app,
        &laptop,
        "/account/sessions/signout",
        json!({"session": phone_id}),
    )
    .await;
    assert_eq!((status, body), (200, json!({"signed_out": true})));
    assert!(!signed_in(&app, &phone).await);
    assert!(signed_in(&app, &laptop).await);

    // Bad input: 400 with the JSON error body.
    let (status, body) = post(&app, &laptop, "/account/sessions/signout", json!({"id": 1})).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_request");

    // Sign out everywhere: every session of alice ends, bob's stays.
    let (status, _) = post(&app, &laptop, "/account/signout-everywhere", json!({})).await;
    assert_eq!(status, 200);
    assert!(!signed_in(&app, &laptop).await && !signed_in(&app, &app.token).await);
    assert!(signed_in(&bob, &bob.token).await);
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one_and_ends_every_other_session() {
    let app = spawn_app().await;
    let laptop = token(&app, "alice", CHROME).await;
    let phone = token(&app, "alice", PHONE).await;

    // Wrong current password: refused, nothing changed.
    let (status, body) = post(
        &app,
        &laptop,
        "/account/password",
        json!({"current_password": "not my password", "new_password": "a new long password"}),
    )
    .await;
    assert_eq!(
        (status, body),
        (
            401,
            json!({"error": "invalid_credentials", "message": "the password is wrong; nothing was changed"})
        )
    );
    // A new password that breaks the rules: refused, nothing changed.
    let (status, body) = post(
        &app,
        &laptop,
        "/account/password",
        json!({"current_password": PASSWORD, "new_password": "short"}),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_account");
    assert!(signed_in(&app, &phone).await);
    assert_eq!(sign_in_as(&app, "alice", PASSWORD, CHROME).await.0, 200);

    let (status, body) = post(
        &app,
        &laptop,
        "/account/password",
        json!({"current_password": PASSWORD, "new_password": "a new long password"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["sessions_ended"], 3,
        "the phone, the harness's and the check's"
    );
    assert!(signed_in(&app, &laptop).await, "this session stays");
    assert!(!signed_in(&app, &phone).await && !signed_in(&app, &app.token).await);
    assert_eq!(sign_in_as(&app, "alice", PASSWORD, CHROME).await.0, 401);
    assert_eq!(
        sign_in_as(&app, "alice", "a new long password", CHROME)
            .await
            .0,
        200
    );
}

#[tokio::test]
async fn wrong_passwords_are_throttled_like_sign_ins() {
    let app = spawn_app().await;
    let mut statuses = Vec::new();
    for _ in 0..7 {
        let (status, _) = post(
            &app,
            &app.token,
            "/account/delete",
            json!({"password": "guessing wrong"}),
        )
        .await;
        statuses.push(status);
    }
    assert_eq!(&statuses[..5], [401; 5]);
    assert!(statuses[5..].iter().all(|s| *s == 429), "{statuses:?}");
    assert!(signed_in(&app, &app.token).await);
}

#[tokio::test]
async fn account_changes_with_the_cookie_are_refused_from_other_sites() {
    let app = spawn_app().await;
    for (path, body) in [
        (
            "/account/password",
            json!({"current_password": PASSWORD, "new_password": "a new long password"}),
        ),
        ("/account/delete", json!({"password": PASSWORD})),
        ("/account/signout-everywhere", json!({})),
    ] {
        let r = app
            .http
            .post(format!("{}{path}", app.base))
            .header("cookie", format!("tern_session={}", app.token))
            .header("origin", "https://evil.example")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{path}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"], "csrf_rejected");
    }
    assert!(signed_in(&app, &app.token).await);
    assert_eq!(app.count("users").await, 1);
}

/// Documents of `collection` that belong to `user` (by `u`, or `_id` for users and counters).
async fn owned(app: &TestApp, collection: &str, user: &str) -> u64 {
    let filter = match collection {
        "users" | "counters" => doc! {"_id": user},
        _ => doc! {"u": user},
    };
    app.store
        .database()
        .collection::<Document>(collection)
        .count_documents(filter)
        .await
        .unwrap()
}

#[tokio::test]
async fn deleting_the_account_removes_every_note_revision_session_and_the_user() {
    let app = spawn_app().await;
    let bob = app.as_user("bob").await;
    let t = now() - 10_000;
    // Alice has notes with history (an edit from another device keeps a revision), a
    // deleted one, and two sessions; bob has a note.
    let r = app
        .sync(&request(
            None,
            vec![change("a1", "laptop", t, "Alice's note")],
        ))
        .await;
    let v = match &r.results[0].outcome {
        sync_core::protocol::ChangeOutcome::Applied { version, .. } => *version,
        o => panic!("{o:?}"),
    };
    let mut edit = change("a1", "phone", t + 1, "Alice's note, edited");
    edit.base_version = Some(v);
    app.sync(&request(
        None,
        vec![edit, change("a2", "laptop", t + 2, "Second")],
    ))
    .await;
    bob.sync(&request(
        None,
        vec![change("b1", "laptop", t, "Bob's note")],
    ))
    .await;
    let laptop = token(&app, "alice", CHROME).await;
    let (_, me) = get(&app, &laptop, "/auth/me").await;
    let alice = me["id"].as_str().unwrap().to_owned();
    for c in ["notes", "revisions", "sessions", "users", "counters"] {
        assert!(owned(&app, c, &alice).await > 0, "alice has {c}");
    }

    // The wrong password: refused, nothing removed.
    let (status, body) = post(
        &app,
        &laptop,
        "/account/delete",
        json!({"password": "wrong password"}),
    )
    .await;
    assert_eq!(status, 401, "{body}");
    assert!(owned(&app, "notes", &alice).await > 0 && owned(&app, "users", &alice).await == 1);

    let r = app
        .http
        .post(format!("{}/account/delete", app.base))
        .header(TEST_SOURCE, test_source("account-test"))
        .bearer_auth(&laptop)
        .json(&json!({"password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.starts_with("tern_session=;") && cookie.contains("Max-Age=0"),
        "{cookie}"
    );
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"deleted": true}));

    for c in ["notes", "revisions", "sessions", "users"] {
        assert_eq!(owned(&app, c, &alice).await, 0, "{c} of alice left");
    }
    // The counter stays as the account's tombstone, with nothing of the notes in it: every
    // later push of the account is refused in its transaction.
    let tombstone = app
        .store
        .database()
        .collection::<Document>("counters")
        .find_one(doc! {"_id": &alice})
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            tombstone.len(),
            tombstone.get_i64("seq"),
            tombstone.get_bool("gone")
        ),
        (3, Ok(0), Ok(true)),
        "{tombstone}"
    );
    assert!(!signed_in(&app, &laptop).await && !signed_in(&app, &app.token).await);
    assert_eq!(sign_in_as(&app, "alice", PASSWORD, CHROME).await.0, 401);
    // Bob's account and notes are untouched.
    assert_eq!(bob.pull_all().await.len(), 1);
    assert_eq!(app.count("users").await, 1);
}
