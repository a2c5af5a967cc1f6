//! The API document (`docs/openapi.json`, served at `/api/openapi.json`) against the code:
//! every route the server serves is in it, and the golden fixtures of the wire format
//! (`sync-core/tests/fixtures/`) validate against its schemas, so the document cannot drift
//! from what clients really send and receive.

mod support;

use serde_json::Value;
use support::*;

fn document() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/openapi.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
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
    let mut routes: Vec<(String, String)> = server::api::table()
        .into_iter()
        .map(|(path, method, _)| (path.to_owned(), method.as_str().to_lowercase()))
        .collect();
    // Served by the router besides the API table (`server::router`).
    routes.push(("/metrics".into(), "get".into()));
    for (path, method) in &routes {
        assert!(
            doc["paths"][path.as_str()].get(method.as_str()).is_some(),
            "{} {path} is served but missing from docs/openapi.json",
            method.to_uppercase()
        );
    }
    // And the document describes nothing the server does not serve.
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            assert!(
                routes.iter().any(|(p, m)| p == path && m == method),
                "docs/openapi.json describes {} {path}, which the server does not serve",
                method.to_uppercase()
            );
        }
    }
}

/// A validator for `components.schemas.<name>` of the document (its `$ref`s resolve in it).
fn validator(doc: &Value, name: &str) -> jsonschema::Validator {
    let mut root = doc.clone();
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
        ("v1_history_response.json", "History"),
        ("v1_error.json", "Error"),
    ] {
        let v = validator(&doc, schema);
        let errors: Vec<String> = v
            .iter_errors(&fixture(file))
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{file} against {schema}: {errors:#?}");
    }
    // The schemas are not vacuous: a request without its protocol version is refused.
    assert!(
        !validator(&doc, "SyncRequest").is_valid(&serde_json::json!({"changes": []})),
        "SyncRequest accepts a body without `protocol`"
    );
}

#[tokio::test]
async fn the_served_document_is_the_committed_one() {
    let app = spawn_app().await;
    let r = app
        .http
        .get(format!("{}/api/openapi.json", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap(), document());
}
