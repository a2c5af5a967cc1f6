//! The requests each method sends, pinned (method, route, JSON body: the wire contract),
//! and the answers mapped to [`ApiError`]. Against the real server:
//! `server/tests/api_client.rs`.

use std::cell::RefCell;

use futures::executor::block_on;
use sync_core::protocol::{
    Credentials, ErrorCode, PROTOCOL_VERSION, PasswordChange, PasswordCheck, SessionRef, SignedIn,
    SyncRequest,
};
use sync_core::{Cursor, NoteId};

use super::*;

/// Records each call and answers with the next canned answer (or a network failure).
#[derive(Debug, Default)]
struct Canned {
    sent: RefCell<Vec<(Method, String, Option<String>)>>,
    answer: RefCell<Option<Result<Answer, ApiError>>>,
}

impl Http for &Canned {
    async fn send(&self, call: Call<'_>) -> Result<Answer, ApiError> {
        self.sent
            .borrow_mut()
            .push((call.method, call.path.to_owned(), call.body));
        self.answer
            .borrow_mut()
            .take()
            .unwrap_or_else(|| Err(ApiError::Offline("no answer".into())))
    }
}

fn answer(status: u16, body: &str) -> Option<Result<Answer, ApiError>> {
    Some(Ok(Answer {
        status,
        body: body.into(),
    }))
}

const SIGNED_IN: &str = r#"{"user":"alice","id":"u1","trash_days":30}"#;

/// The one request `f` sends, as (method, route, body).
fn sent(
    f: impl AsyncFnOnce(&ApiClient<&Canned>),
    ok: &str,
) -> (Method, String, Option<serde_json::Value>) {
    let canned = Canned::default();
    *canned.answer.borrow_mut() = answer(200, ok);
    let api = ApiClient::new(&canned);
    block_on(f(&api));
    let mut sent = canned.sent.take();
    assert_eq!(sent.len(), 1);
    let (m, p, b) = sent.remove(0);
    (m, p, b.map(|b| serde_json::from_str(&b).unwrap()))
}

fn creds() -> Credentials {
    Credentials {
        username: "alice".into(),
        password: "correct horse battery".into(),
    }
}

#[test]
fn each_method_sends_its_route_and_body() {
    use serde_json::json;
    let post = Method::Post;
    let get = Method::Get;
    let c = json!({"username": "alice", "password": "correct horse battery"});
    let signed_out = r#"{"signed_out":true}"#;
    let cases: Vec<(Method, &str, Option<serde_json::Value>, _)> = vec![
        (
            post,
            "/auth/signin",
            Some(c.clone()),
            sent(
                async |a| drop(a.sign_in(&creds()).await.unwrap()),
                SIGNED_IN,
            ),
        ),
        (
            post,
            "/auth/signup",
            Some(c.clone()),
            sent(
                async |a| drop(a.access(Access::SignUp, &creds()).await.unwrap()),
                SIGNED_IN,
            ),
        ),
        (
            get,
            "/auth/me",
            None,
            sent(
                async |a| {
                    let _ = a.me().await.unwrap();
                },
                SIGNED_IN,
            ),
        ),
        (
            post,
            "/auth/signout",
            None,
            sent(
                async |a| {
                    let _ = a.sign_out().await.unwrap();
                },
                signed_out,
            ),
        ),
        (
            get,
            "/account/sessions",
            None,
            sent(
                async |a| {
                    let _ = a.sessions().await.unwrap();
                },
                r#"{"sessions":[]}"#,
            ),
        ),
        (
            post,
            "/account/sessions/signout",
            Some(json!({"session": "s1"})),
            sent(
                async |a| {
                    let r = SessionRef {
                        session: "s1".into(),
                    };
                    {
                        let _ = a.end_session(&r).await.unwrap();
                    };
                },
                signed_out,
            ),
        ),
        (
            post,
            "/account/signout-everywhere",
            Some(json!({})),
            sent(
                async |a| {
                    let _ = a.sign_out_everywhere().await.unwrap();
                },
                signed_out,
            ),
        ),
        (
            post,
            "/account/password",
            Some(json!({"current_password": "old password", "new_password": "new password"})),
            sent(
                async |a| {
                    let c = PasswordChange {
                        current_password: "old password".into(),
                        new_password: "new password".into(),
                    };
                    {
                        let _ = a.change_password(&c).await.unwrap();
                    };
                },
                r#"{"sessions_ended":2}"#,
            ),
        ),
        (
            post,
            "/account/delete",
            Some(json!({"password": "pw pw pw pw"})),
            sent(
                async |a| {
                    let c = PasswordCheck {
                        password: "pw pw pw pw".into(),
                    };
                    {
                        let _ = a.delete_account(&c).await.unwrap();
                    };
                },
                r#"{"deleted":true}"#,
            ),
        ),
        (
            get,
            "/notes/n-1/history",
            None,
            sent(
                async |a| drop(a.history(&NoteId("n-1".into())).await.unwrap()),
                r#"{"revisions":[]}"#,
            ),
        ),
        (
            post,
            "/sync",
            Some(json!({"protocol": PROTOCOL_VERSION, "cursor": "c1", "changes": [], "limit": 10})),
            sent(
                async |a| {
                    let r = SyncRequest {
                        protocol: PROTOCOL_VERSION,
                        cursor: Some(Cursor("c1".into())),
                        changes: vec![],
                        limit: Some(10),
                    };
                    {
                        let _ = a.sync(&r).await.unwrap();
                    };
                },
                r#"{"protocol":1,"cursor":"c2","has_more":false,"changes":[],"results":[],"server_time_ms":1}"#,
            ),
        ),
    ];
    for (method, path, body, got) in cases {
        assert_eq!(got, (method, path.to_owned(), body), "{path}");
    }
}

fn me_answering(a: Option<Result<Answer, ApiError>>) -> Result<SignedIn, ApiError> {
    let canned = Canned::default();
    *canned.answer.borrow_mut() = a;
    block_on(ApiClient::new(&canned).me())
}

#[test]
fn answers_map_to_one_error_type() {
    let me = me_answering(answer(200, SIGNED_IN)).unwrap();
    assert_eq!((me.user.as_str(), me.trash_days), ("alice", Some(30)));

    let e = me_answering(answer(
        401,
        r#"{"error":"unauthorized","message":"Sign in again."}"#,
    ))
    .unwrap_err();
    assert!(matches!(e, ApiError::Unauthorized { .. }), "{e:?}");
    assert_eq!(e.code(), Some(ErrorCode::Unauthorized));
    assert_eq!(e.message(), "Sign in again.");
    assert_eq!(e.to_string(), "the server answered 401: Sign in again.");

    let e = me_answering(answer(
        503,
        r#"{"error":"unavailable","message":"Try again later."}"#,
    ))
    .unwrap_err();
    assert_eq!(
        (e.status(), e.code()),
        (Some(503), Some(ErrorCode::Unavailable))
    );

    // A proxy's error page: the status, no body.
    let e = me_answering(answer(502, "<html>Bad gateway</html>")).unwrap_err();
    assert_eq!(
        e,
        ApiError::Server {
            status: 502,
            body: None
        }
    );
    assert_eq!(e.message(), "the server answered 502");

    // A captive portal's page with 200.
    let e = me_answering(answer(200, "<html>Log in to the Wi-Fi</html>")).unwrap_err();
    assert!(matches!(e, ApiError::Decode(_)), "{e:?}");

    let e = me_answering(None).unwrap_err();
    assert!(matches!(e, ApiError::Offline(_)), "{e:?}");
    assert_eq!(e.message(), "cannot reach the server: no answer");
    assert_eq!((e.status(), e.code()), (None, None));
}

/// A hostile id (from an imported file, say) stays one path segment: it cannot make the
/// history read another route.
#[test]
fn a_note_id_cannot_leave_its_path_segment() {
    let (_, path, _) = sent(
        async |a| {
            let _ = a.history(&NoteId("x/../../auth/me?a=1#b".into())).await;
        },
        r#"{"revisions":[]}"#,
    );
    assert_eq!(
        path,
        "/notes/x%2F%2E%2E%2F%2E%2E%2Fauth%2Fme%3Fa%3D1%23b/history"
    );
}
