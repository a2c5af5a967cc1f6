//! The client's typed API client (`client::api`, native transport) against the real server
//! over HTTP: every route's answer decodes into its `sync_core::protocol` type, and every
//! kind of failure arrives as the `ApiError` variant that says what happened (a wrong
//! password, no session, a refusal with its JSON code, a stopped or unreachable server, an
//! answer that is not the API's).

mod support;

use client::api::{Access, ApiClient, ApiError, NativeHttp};
use support::*;
use sync_core::NoteId;
use sync_core::protocol::{Credentials, ErrorCode, PasswordChange, PasswordCheck, SessionRef};

fn credentials(name: &str, password: &str) -> Credentials {
    Credentials {
        username: name.to_owned(),
        password: password.to_owned(),
    }
}

#[tokio::test]
async fn every_route_answers_its_type() {
    let app = spawn_app().await; // alice, signed in by the harness
    let bob = app.anonymous("bob");
    let signed_up = bob
        .access(Access::SignUp, &credentials("bob", PASSWORD))
        .await
        .unwrap();
    assert_eq!(signed_up.user, "bob");
    let token = signed_up.token.expect("a token: not a browser");
    let laptop = bob.bearer(&token);
    let phone = bob.bearer(
        bob.sign_in(&credentials("bob", PASSWORD))
            .await
            .unwrap()
            .token
            .unwrap(),
    );

    let me = laptop.me().await.unwrap();
    assert_eq!((me.user.as_str(), me.id), ("bob", signed_up.id));

    // A note written on one device, then on another: the first text is in its history.
    let req = request(None, vec![change("n1", "laptop", now(), "first")]);
    let r = laptop.sync(&req).await.unwrap();
    assert_eq!(r.results.len(), 1);
    let mut edit = change("n1", "phone", now() + 1, "second");
    edit.base_version = Some(1);
    laptop.sync(&request(None, vec![edit])).await.unwrap();
    let history = laptop.history(&NoteId("n1".into())).await.unwrap();
    assert_eq!(history.revisions.len(), 1, "{history:?}");
    assert_eq!(history.revisions[0].version.title, "first");

    let sessions = laptop.sessions().await.unwrap().sessions;
    assert_eq!(sessions.len(), 2, "{sessions:?}"); // the sign-up's and the phone's
    let other = sessions.iter().find(|s| !s.current).unwrap();
    let ended = laptop
        .end_session(&SessionRef {
            session: other.id.clone(),
        })
        .await
        .unwrap();
    assert!(ended.signed_out);
    assert!(matches!(
        phone.me().await,
        Err(ApiError::Unauthorized { .. })
    ));

    let tablet = bob.bearer(
        bob.sign_in(&credentials("bob", PASSWORD))
            .await
            .unwrap()
            .token
            .unwrap(),
    );
    let changed = laptop
        .change_password(&PasswordChange {
            current_password: PASSWORD.into(),
            new_password: "a new password".into(),
        })
        .await
        .unwrap();
    assert_eq!(changed.sessions_ended, 1);
    assert!(matches!(
        tablet.me().await,
        Err(ApiError::Unauthorized { .. })
    ));

    let tablet = bob.bearer(
        bob.sign_in(&credentials("bob", "a new password"))
            .await
            .unwrap()
            .token
            .unwrap(),
    );
    assert!(tablet.sign_out().await.unwrap().signed_out);
    assert!(matches!(
        tablet.me().await,
        Err(ApiError::Unauthorized { .. })
    ));
    assert!(laptop.sign_out_everywhere().await.unwrap().signed_out);
    assert!(matches!(
        laptop.me().await,
        Err(ApiError::Unauthorized { .. })
    ));

    let last = bob.bearer(
        bob.sign_in(&credentials("bob", "a new password"))
            .await
            .unwrap()
            .token
            .unwrap(),
    );
    let deleted = last
        .delete_account(&PasswordCheck {
            password: "a new password".into(),
        })
        .await
        .unwrap();
    assert!(deleted.deleted);
    let gone = bob.sign_in(&credentials("bob", "a new password")).await;
    assert_eq!(
        gone.unwrap_err().code(),
        Some(ErrorCode::InvalidCredentials)
    );
}

#[tokio::test]
async fn a_wrong_password_or_no_session_is_unauthorized_with_its_code() {
    let app = spawn_app().await;
    let api = app.anonymous("alice");
    let e = api
        .sign_in(&credentials("alice", "not the password"))
        .await
        .unwrap_err();
    assert!(matches!(e, ApiError::Unauthorized { .. }), "{e:?}");
    assert_eq!(e.code(), Some(ErrorCode::InvalidCredentials));
    // The server's words, for the user.
    let said = &e.body().expect("the JSON error body").message;
    assert!(!said.is_empty());
    assert_eq!(&e.message(), said);

    let e = api.me().await.unwrap_err();
    assert!(matches!(e, ApiError::Unauthorized { .. }), "{e:?}");
    assert_eq!(e.code(), Some(ErrorCode::Unauthorized));

    // A client printed in a log or a failing test does not show its session.
    let printed = format!("{:?}", app.api());
    assert!(!printed.contains(&app.token), "{printed}");

    // The sync engine sees the same error: a stale session signs the device out.
    let e = api.bearer("expired").sync(&request(None, vec![])).await;
    assert_eq!(e.unwrap_err().code(), Some(ErrorCode::Unauthorized));
}

#[tokio::test]
async fn a_refusal_carries_its_status_and_json_code() {
    let app = spawn_app().await;
    let api = app.anonymous("alice");
    let taken = api
        .sign_up(&credentials("alice", PASSWORD))
        .await
        .unwrap_err();
    assert_eq!(
        (taken.status(), taken.code()),
        (Some(409), Some(ErrorCode::NameTaken)),
        "{taken:?}"
    );
    let short = app
        .anonymous("carol")
        .sign_up(&credentials("carol", "short"))
        .await
        .unwrap_err();
    assert_eq!(
        (short.status(), short.code()),
        (Some(400), Some(ErrorCode::InvalidAccount)),
        "{short:?}"
    );
    let cursor = request(Some(sync_core::Cursor("not a cursor".into())), vec![]);
    let bad = app.api().sync(&cursor).await.unwrap_err();
    assert!(
        matches!(&bad, ApiError::Server { status: 400, body: Some(b) } if b.error == ErrorCode::InvalidCursor),
        "{bad:?}"
    );
    // A page of another site (the Origin a browser adds) is refused before the password is
    // looked at.
    let cross_site = ApiClient::new(
        NativeHttp::with_client(app.http.clone(), &app.base)
            .header(TEST_SOURCE, test_source("alice"))
            .header("origin", "https://evil.example"),
    );
    let e = cross_site
        .sign_in(&credentials("alice", PASSWORD))
        .await
        .unwrap_err();
    assert_eq!(
        (e.status(), e.code()),
        (Some(403), Some(ErrorCode::CsrfRejected))
    );
}

#[tokio::test]
async fn a_stopped_or_unreachable_server_is_offline() {
    // Nothing listens on a port just released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let e = ApiClient::native(format!("http://127.0.0.1:{port}"))
        .me()
        .await
        .unwrap_err();
    assert!(matches!(e, ApiError::Offline(_)), "{e:?}");

    // A server that stops: once it is down every call is offline, never another error.
    // (A new connection each time: the stopped server refuses it.)
    let app = spawn_app().await;
    let (base, token) = (app.base.clone(), app.token.clone());
    let me = async || ApiClient::native(&base).bearer(&token).me().await;
    assert_eq!(me().await.unwrap().user, "alice");
    drop(app);
    let mut e = None;
    for _ in 0..10_000 {
        match me().await {
            Ok(_) => tokio::time::sleep(std::time::Duration::from_millis(10)).await,
            Err(err) => {
                e = Some(err);
                break;
            }
        }
    }
    let e = e.expect("the server stopped");
    assert!(matches!(e, ApiError::Offline(_)), "{e:?}");
}

#[tokio::test]
async fn an_answer_that_is_not_the_apis_is_a_decode_error() {
    // A captive portal: every request answered `200` with its sign-in page.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut s, _)) = listener.accept().await {
            let mut buf = [0; 4096];
            let _ = s.read(&mut buf).await;
            let page = "<html>Sign in to the Wi-Fi</html>";
            let answer = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{page}",
                page.len()
            );
            let _ = s.write_all(answer.as_bytes()).await;
        }
    });
    let e = ApiClient::native(base).me().await.unwrap_err();
    assert!(matches!(e, ApiError::Decode(_)), "{e:?}");
    assert_eq!((e.status(), e.code()), (None, None));
}
