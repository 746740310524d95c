//! The OpenAPI document: generated from the code, committed under `openapi/`, served by the
//! server, complete (summary, tag and security on every operation).

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::kit::Kit;
use crate::on_both_backends;
use flowgate::api::{DEFAULT_SERVER_URL, document};

on_both_backends!(served_document_and_ui);

#[test]
fn committed_openapi_matches_the_code() {
    for (file, yaml) in [
        ("openapi/openapi.json", false),
        ("openapi/openapi.yaml", true),
    ] {
        let path = format!("{}/{file}", env!("CARGO_MANIFEST_DIR"));
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        let generated = document(yaml, DEFAULT_SERVER_URL);
        assert!(
            committed.trim_end() == generated.trim_end(),
            "{file} differs from what the code generates: run `cargo run -- openapi{} > {file}`",
            if yaml { " --yaml" } else { "" }
        );
    }
}

#[test]
fn every_operation_is_documented() {
    let doc: Value = serde_json::from_str(&document(false, DEFAULT_SERVER_URL)).unwrap();
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(
        schemes["OAuth2"]["flows"]["clientCredentials"]["tokenUrl"],
        "/oauth/token"
    );
    assert_eq!(schemes["BearerAuth"]["scheme"], "bearer");
    let mut operations = 0;
    let mut operation_ids = std::collections::HashSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            operations += 1;
            let what = format!("{method} {path}");
            assert!(
                op["summary"]
                    .as_str()
                    .is_some_and(|s| !s.is_empty() && !s.contains('\n')),
                "{what} has no one-line summary"
            );
            assert!(
                op["description"].as_str().is_some_and(|d| d.len() > 20),
                "{what} has no description"
            );
            let id = op["operationId"].as_str().unwrap_or_default();
            assert!(
                id.chars().next().is_some_and(|c| c.is_ascii_lowercase())
                    && id.chars().all(|c| c.is_ascii_alphanumeric()),
                "{what} has no camelCase operationId: {id:?}"
            );
            assert!(operation_ids.insert(id.to_owned()), "{what}: {id} twice");
            assert!(
                op["tags"].as_array().is_some_and(|t| t.len() == 1),
                "{what} has no tag"
            );
            assert!(
                op["responses"].as_object().is_some_and(|r| !r.is_empty()),
                "{what} has no responses"
            );
            if path.starts_with("/v1/") {
                let security = op["security"]
                    .as_array()
                    .unwrap_or_else(|| panic!("{what} has no security"));
                assert!(
                    security.iter().any(|s| s.get("BearerAuth").is_some()),
                    "{what}"
                );
                assert!(security.iter().any(|s| s.get("OAuth2").is_some()), "{what}");
            }
        }
    }
    assert!(operations >= 50, "{operations} operations");
    let upload = &doc["paths"]["/v1/admin/diagrams"]["post"]["requestBody"]["content"];
    let first = upload.as_object().and_then(|c| c.keys().next().cloned());
    assert_eq!(
        first.as_deref(),
        Some("application/xml"),
        "the upload is XML: {upload}"
    );
    let tags: Vec<&str> = doc["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    for tag in [
        "diagrams",
        "processes",
        "process variables",
        "steps",
        "messages",
        "utils",
        "admin",
        "oauth",
    ] {
        assert!(tags.contains(&tag), "tag {tag} missing: {tags:?}");
    }
}

async fn served_document_and_ui(kit: &Kit) {
    let (status, doc) = kit.call(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        doc["servers"][0]["url"], kit.base,
        "served with this server's public URL"
    );
    assert!(doc["paths"]["/v1/steps/{sbfl_id}/complete"]["put"].is_object());
    let yaml = kit
        .send(Method::GET, "/openapi.yaml", None, None)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        yaml.starts_with("openapi: 3"),
        "{}",
        &yaml[..40.min(yaml.len())]
    );
    let ui = kit.send(Method::GET, "/docs", None, None).await;
    assert_eq!(ui.status(), StatusCode::OK);
    assert!(
        ui.text().await.unwrap().contains("swagger"),
        "an interactive UI"
    );
}

/// poem-openapi writes a path once per service that serves it: a path split across two services
/// would appear twice in the document and one of them would be lost by every reader.
#[test]
fn no_path_is_split_across_services() {
    use poem_openapi::OpenApi;
    let meta = flowgate::api::Services::meta();
    let mut paths: Vec<&str> = meta
        .iter()
        .flat_map(|api| api.paths.iter().map(|p| p.path.as_str()))
        .collect();
    let total = paths.len();
    paths.sort_unstable();
    paths.dedup();
    assert_eq!(paths.len(), total, "a path is served by two services");
}

#[test]
fn committed_postman_matches_the_document() {
    let doc: Value = serde_json::from_str(&document(false, DEFAULT_SERVER_URL)).unwrap();
    assert_eq!(
        flowgate::postman::uncovered(&doc),
        Vec::<String>::new(),
        "operations the Postman walk does not run"
    );
    let (collection, environment) = flowgate::postman::generate(&doc);
    let text = collection.to_string();
    for name in text.split("\"name\":").skip(1) {
        let name = name.split("\",").next().unwrap_or_default();
        assert!(
            !name.contains("\\n"),
            "a request name with a line break: {name}"
        );
    }
    for (file, generated) in [
        (flowgate::postman::COLLECTION_FILE, collection),
        (flowgate::postman::ENVIRONMENT_FILE, environment),
    ] {
        let path = format!("{}/postman/{file}", env!("CARGO_MANIFEST_DIR"));
        let committed: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_default())
                .unwrap_or(Value::Null);
        assert!(
            committed == generated,
            "postman/{file} differs from what the code generates: run `cargo run -- postman --out postman`"
        );
    }
}

#[test]
fn postman_collection_shape() {
    let doc: Value = serde_json::from_str(&document(false, DEFAULT_SERVER_URL)).unwrap();
    let (collection, environment) = flowgate::postman::generate(&doc);
    let folders: Vec<&str> = collection["item"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(folders[0], "Auth");
    for tag in [
        "utils",
        "diagrams",
        "processes",
        "process variables",
        "steps",
        "messages",
        "admin",
        "oauth",
    ] {
        assert!(folders.contains(&tag), "folder {tag}: {folders:?}");
    }
    let auth = &collection["item"][0]["item"][0]["request"];
    assert_eq!(auth["auth"]["type"], "basic");
    assert_eq!(auth["url"]["raw"], "{{host}}/oauth/token");
    assert_eq!(collection["auth"]["bearer"][0]["value"], "{{access_token}}");
    let secrets: Vec<&str> = environment["values"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["type"] == "secret")
        .map(|v| v["key"].as_str().unwrap())
        .collect();
    assert_eq!(secrets, ["client_pw", "access_token"]);
    let text = collection.to_string();
    for stored in [
        "'dgrm_id'",
        "'prcs_id'",
        "'sbfl_id'",
        "'step_key'",
        "'access_token'",
    ] {
        assert!(
            text.contains(&format!("pm.environment.set({stored}")),
            "stores {stored}"
        );
    }
}
