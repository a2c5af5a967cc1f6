//! Accounts, sessions and isolation, over HTTP against the real database.

mod support;

use serde_json::{Value, json};
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
    for _ in 0..4 {
        let r = post(&app, "/auth/signin", wrong.clone()).await;
        assert_eq!(r.status(), 401);
        assert_eq!(
            r.json::<Value>().await.unwrap(),
            json!({"error": "invalid_credentials", "message": "wrong username or password"})
        );
    }
    // The fifth failure locks further attempts for a while, even with the right password.
    assert_eq!(
        post(&app, "/auth/signin", wrong.clone()).await.status(),
        401
    );
    let r = post(
        &app,
        "/auth/signin",
        json!({"username": "alice", "password": PASSWORD}),
    )
    .await;
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "too_many_attempts"
    );
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
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
    ] {
        assert!(
            doc["paths"].get(path).is_some(),
            "{path} missing from the OpenAPI document"
        );
    }
    // Every error code of the wire contract is listed.
    let listed: Vec<String> = serde_json::from_value(
        doc["components"]["schemas"]["Error"]["properties"]["error"]["enum"].clone(),
    )
    .unwrap();
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
    let (status, body) = app.post_raw(r#"{"protocol":1}"#).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("unauthorized"))
    );
}
