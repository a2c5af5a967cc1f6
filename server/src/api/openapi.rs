//! The API document (OpenAPI 3.1), generated from the code: the wire types' schemas come
//! from their `utoipa::ToSchema` derives in `sync-core` (feature `openapi`), and each route's
//! operation from the `#[utoipa::path]` on its handler in the sibling modules. Served at
//! `GET /api/openapi.json` ([`openapi`], here so that the document lists itself without
//! an import cycle); `docs/openapi.json` is the same document committed for readers
//! (`server/tests/openapi.rs` fails when they differ, and rewrites the file when run with
//! `TERN_BLESS=1`).

use std::sync::OnceLock;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{account, history, live, meta, sync};
use crate::auth::SESSION_COOKIE;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tern sync API",
        version = "1",
        description = "Generated from the server's code (server/src/api/openapi.rs). The prose \
            contract is docs/sync-protocol.md. Every error body is `{error, message}`; a client \
            reads an error code it does not know as `unknown`.",
        license(name = "MIT OR Apache-2.0"),
    ),
    paths(
        sync::sync,
        live::live,
        history::history,
        account::sign_up,
        account::sign_in,
        account::sign_out,
        account::me,
        account::sessions,
        account::end_session,
        account::sign_out_everywhere,
        account::change_password,
        account::delete_account,
        meta::healthz,
        openapi,
        meta::metrics,
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

/// This document
#[utoipa::path(get, path = "/api/openapi.json", tag = "meta",
    responses((status = 200, description = "OpenAPI 3.1, generated from the wire types", content_type = "application/json", body = Object)))]
pub async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], json()).into_response()
}
