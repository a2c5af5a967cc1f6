//! The API document (OpenAPI 3.1), generated from the code: the wire types' schemas come
//! from their `utoipa::ToSchema` derives in `sync-core` (feature `openapi`), and each route's
//! operation from the `#[utoipa::path]` on its handler in [`crate::api`]. Served at
//! `GET /api/openapi.json`; `docs/openapi.json` is the same document committed for readers
//! (`server/tests/openapi.rs` fails when they differ, and rewrites the file when run with
//! `TERN_BLESS=1`).

use std::sync::OnceLock;

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::auth::SESSION_COOKIE;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tern sync API",
        version = "1",
        description = "Generated from the server's code (server/src/openapi.rs). The prose \
            contract is docs/sync-protocol.md. Every error body is `{error, message}`; a client \
            reads an error code it does not know as `unknown`.",
        license(name = "MIT OR Apache-2.0"),
    ),
    paths(
        crate::api::sync,
        crate::api::live,
        crate::api::history,
        crate::api::sign_up,
        crate::api::sign_in,
        crate::api::sign_out,
        crate::api::me,
        crate::api::sessions,
        crate::api::end_session,
        crate::api::sign_out_everywhere,
        crate::api::change_password,
        crate::api::delete_account,
        crate::api::healthz,
        crate::api::openapi,
        crate::metrics::serve,
    ),
    modifiers(&Security),
    tags(
        (name = "sync", description = "Notes: push, pull, history, live updates"),
        (name = "accounts", description = "Sign-up, sign-in, sessions"),
        (name = "meta", description = "Health, metrics, this document"),
    ),
)]
struct ApiDoc;

/// The two ways a request proves who it is: the browser's session cookie, or a bearer
/// token for other clients.
struct Security;

impl Modify for Security {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(SESSION_COOKIE))),
        );
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The document, as a value.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The document as pretty JSON with a final newline: what `GET /api/openapi.json` serves and
/// `docs/openapi.json` holds. Built once.
pub fn json() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| {
        let mut s = document()
            .to_pretty_json()
            .expect("the API document serializes");
        s.push('\n');
        s
    })
}
