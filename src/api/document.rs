//! The OpenAPI document as served and committed: what poem-openapi generates from the code,
//! plus two facts of the request bodies it has no attribute for.
//! - Null means absent: an optional property may be sent as `null` (`nullable: true`), which
//!   every body reader here takes as "not given".
//! - The admin API's bodies are closed: a field an operation does not take is refused
//!   (`deny_unknown_fields` on each of them), so their schemas say `additionalProperties: false`.
//!   The process API stays open, as Flows for APEX ignores what it does not read.

use serde_json::{Map, Value};

/// Paths whose request bodies are closed.
const CLOSED_PREFIX: &str = "/v1/admin/";

/// The generated document (JSON) with the request-body facts written in.
pub fn complete(generated: &str) -> String {
    let Ok(mut document) = serde_json::from_str::<Value>(generated) else {
        return generated.to_owned();
    };
    let (open, closed) = request_schemas(&document);
    if let Some(schemas) = document
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        for name in open.iter().chain(&closed) {
            if let Some(schema) = schemas.get_mut(name).and_then(Value::as_object_mut) {
                nullable_optionals(schema);
                if closed.contains(name) {
                    schema.insert("additionalProperties".into(), Value::Bool(false));
                }
            }
        }
    }
    serde_json::to_string_pretty(&document).unwrap_or_else(|_| generated.to_owned())
}

/// The component schemas that JSON request bodies refer to: (the others, the closed ones).
fn request_schemas(document: &Value) -> (Vec<String>, Vec<String>) {
    let (mut open, mut closed) = (Vec::new(), Vec::new());
    let Some(paths) = document.get("paths").and_then(Value::as_object) else {
        return (open, closed);
    };
    for (path, operations) in paths {
        let Some(operations) = operations.as_object() else {
            continue;
        };
        for operation in operations.values() {
            // `application/json`, with or without `; charset=utf-8`.
            let Some(reference) = operation
                .pointer("/requestBody/content")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .filter(|(media_type, _)| media_type.starts_with("application/json"))
                .find_map(|(_, content)| content.pointer("/schema/$ref"))
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix("#/components/schemas/"))
            else {
                continue;
            };
            let list = if path.starts_with(CLOSED_PREFIX) {
                &mut closed
            } else {
                &mut open
            };
            if !list.iter().any(|known| known == reference) {
                list.push(reference.to_owned());
            }
        }
    }
    (open, closed)
}

fn nullable_optionals(schema: &mut Map<String, Value>) {
    let required: Vec<String> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|names| {
            names
                .iter()
                .filter_map(|n| n.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let Some(properties) = schema.get_mut("properties").and_then(Value::as_object_mut) else {
        return;
    };
    for (name, property) in properties.iter_mut() {
        if required.contains(name) {
            continue;
        }
        if let Some(property) = property.as_object_mut() {
            // A `$ref` takes no siblings in OpenAPI 3.0: wrap it.
            if let Some(reference) = property.remove("$ref") {
                let mut wrapped = Map::new();
                wrapped.insert("allOf".into(), Value::Array(vec![json_ref(reference)]));
                property.extend(wrapped);
            }
            property.insert("nullable".into(), Value::Bool(true));
        }
    }
}

fn json_ref(reference: Value) -> Value {
    let mut object = Map::new();
    object.insert("$ref".into(), reference);
    Value::Object(object)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn optionals_become_nullable_and_admin_bodies_closed() {
        let generated = json!({
            "paths": {
                "/v1/admin/clients": {"post": {"requestBody": {"content": {"application/json; charset=utf-8":
                    {"schema": {"$ref": "#/components/schemas/CreateClient"}}}}}},
                "/v1/steps/{id}/start": {"put": {"requestBody": {"content": {"application/json":
                    {"schema": {"$ref": "#/components/schemas/StepAction"}}}}}},
            },
            "components": {"schemas": {
                "CreateClient": {"type": "object", "required": ["name"], "properties": {
                    "name": {"type": "string"}, "owner": {"type": "string"}}},
                "StepAction": {"type": "object", "required": ["step_key"], "properties": {
                    "step_key": {"type": "string"}, "when": {"$ref": "#/components/schemas/T"}}},
                "Client": {"type": "object", "properties": {"owner": {"type": "string"}}},
            }},
        });
        let completed: Value = serde_json::from_str(&complete(&generated.to_string())).unwrap();
        let schemas = &completed["components"]["schemas"];
        assert_eq!(schemas["CreateClient"]["additionalProperties"], false);
        assert_eq!(
            schemas["CreateClient"]["properties"]["owner"]["nullable"],
            true
        );
        assert!(
            schemas["CreateClient"]["properties"]["name"]
                .get("nullable")
                .is_none()
        );
        assert!(
            schemas["StepAction"].get("additionalProperties").is_none(),
            "Flows is open"
        );
        assert_eq!(
            schemas["StepAction"]["properties"]["when"],
            json!({"allOf": [{"$ref": "#/components/schemas/T"}], "nullable": true})
        );
        assert!(
            schemas["Client"]["properties"]["owner"]
                .get("nullable")
                .is_none(),
            "answers"
        );
    }
}
