//! The API document (generated: `server::api::openapi`, served at `/api/openapi.json`, committed as
//! `docs/openapi.json`) against the code: every route the server serves is in it and nothing
//! else; the golden fixtures of the wire format (`sync-core/tests/fixtures/`) validate against
//! its schemas; the documented limits are the code's; the committed file is the generated
//! document (run with `TERN_BLESS=1` to rewrite it after a change to the API).

mod support;

use serde_json::Value;
use support::*;

const COMMITTED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/openapi.json");

fn document() -> Value {
    serde_json::from_str(server::api::openapi::json()).unwrap()
}

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/../sync-core/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

#[test]
fn every_route_of_the_router_is_in_the_document() {
    let doc = document();
    let mut routes: Vec<(String, String)> = server::routes::table()
        .into_iter()
        .map(|(path, method, _)| (path.to_owned(), method.as_str().to_lowercase()))
        .collect();
    // Served by the router besides the API table (`server::router`).
    routes.push(("/metrics".into(), "get".into()));
    for (path, method) in &routes {
        assert!(
            doc["paths"][path.as_str()].get(method.as_str()).is_some(),
            "{} {path} is served but has no #[utoipa::path] in server::api::openapi's paths",
            method.to_uppercase()
        );
    }
    // And the document describes nothing the server does not serve.
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            assert!(
                routes.iter().any(|(p, m)| p == path && m == method),
                "the API document describes {} {path}, which the server does not serve",
                method.to_uppercase()
            );
        }
    }
}

/// A validator for `components.schemas.<name>` of the document (its `$ref`s resolve in it).
fn validator(doc: &Value, name: &str) -> jsonschema::Validator {
    let mut root = doc.clone();
    assert!(
        root["components"]["schemas"].get(name).is_some(),
        "no schema {name}"
    );
    root["$ref"] = Value::String(format!("#/components/schemas/{name}"));
    jsonschema::draft202012::new(&root).unwrap_or_else(|e| panic!("schema {name}: {e}"))
}

#[test]
fn the_golden_fixtures_validate_against_the_documents_schemas() {
    let doc = document();
    for (file, schema) in [
        ("v1_sync_request.json", "SyncRequest"),
        ("v1_minimal_request.json", "SyncRequest"),
        ("v1_conflict_request.json", "SyncRequest"),
        ("v1_sync_response.json", "SyncResponse"),
        ("v1_conflict_response.json", "SyncResponse"),
        ("v1_history_response.json", "HistoryResponse"),
        ("v1_error.json", "ErrorBody"),
    ] {
        let v = validator(&doc, schema);
        let errors: Vec<String> = v
            .iter_errors(&fixture(file))
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{file} against {schema}: {errors:#?}");
    }
    // The schemas are not vacuous: each of these bodies is refused.
    let refused = [
        ("SyncRequest", serde_json::json!({"changes": []})),
        ("SyncRequest", serde_json::json!({"protocol": 2})),
        (
            "SyncRequest",
            serde_json::json!({"protocol": 1, "changes": [{"change_id": "c", "note_id": "bad id!", "hlc": "0000000000001-00000000-d"}]}),
        ),
        (
            "SyncRequest",
            serde_json::json!({"protocol": 1, "changes": [{"change_id": "c", "note_id": "n", "hlc": "yesterday"}]}),
        ),
        (
            "ErrorBody",
            serde_json::json!({"error": "nope", "message": "m"}),
        ),
        (
            "Credentials",
            serde_json::json!({"username": "a b", "password": "long enough"}),
        ),
    ];
    for (schema, body) in refused {
        assert!(
            !validator(&doc, schema).is_valid(&body),
            "{schema} accepts {body}"
        );
    }
}

/// The numbers in the document are the limits the server enforces.
#[test]
fn the_documents_limits_are_the_codes() {
    use sync_core::limits::*;
    let doc = document();
    let s = &doc["components"]["schemas"];
    assert_eq!(
        s["Change"]["properties"]["title"]["maxLength"],
        MAX_TITLE_BYTES
    );
    assert_eq!(
        s["SyncRequest"]["properties"]["changes"]["maxItems"],
        MAX_CHANGES_PER_REQUEST
    );
    assert_eq!(
        s["SyncRequest"]["properties"]["protocol"]["maximum"],
        sync_core::protocol::PROTOCOL_VERSION
    );
    let results = s["SyncResponse"]["properties"]["results"]["description"]
        .as_str()
        .unwrap();
    assert!(results.contains(&MAX_RESULT_BYTES.to_string()), "{results}");
    let content = s["Change"]["properties"]["content"]["description"]
        .as_str()
        .unwrap();
    assert!(
        content.contains(&MAX_CONTENT_BYTES.to_string()),
        "{content}"
    );
}

/// `docs/openapi.json` is for readers of the repository; it must be what the server serves.
#[test]
fn the_committed_document_is_the_generated_one() {
    let generated = server::api::openapi::json();
    if std::env::var_os("TERN_BLESS").is_some() {
        std::fs::write(COMMITTED, generated).unwrap();
    }
    let committed = std::fs::read_to_string(COMMITTED).unwrap();
    assert!(
        committed == generated,
        "docs/openapi.json is not the generated API document: run \
         `TERN_BLESS=1 cargo test -p server --test openapi` and commit the file"
    );
}

#[tokio::test]
async fn the_served_document_is_the_generated_one() {
    let app = spawn_app().await;
    let r = app
        .http
        .get(format!("{}/api/openapi.json", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), server::api::openapi::json());
}
