//! What the process API shares with Flows for APEX's REST module: request bodies read raw and
//! judged as Flows judges them (one object, an array, or neither), its attribute rules, item
//! links and action answers. Errors are raised as domain errors with Flows' messages; they are
//! rendered by [`crate::answers::flows`].

use poem_openapi::Object;
use serde_json::{Map, Value, json};

use super::paging::Link;
pub use super::raw_body::RawJson;
use crate::Error;
pub use crate::answers::flows::{FlowsError, FlowsResult};

/// A parsed body: nothing, one object, or an array.
pub enum Body {
    Empty,
    One(Map<String, Value>),
    Many(Vec<Value>),
}

fn payload_not_accepted() -> FlowsError {
    Error::invalid("Payload not accepted").into()
}

impl<Doc> RawJson<Doc> {
    /// Judges the body as Flows does; an empty body is fine unless `required`.
    pub fn parse(&self, required: bool) -> Result<Body, FlowsError> {
        if self.bytes.iter().all(u8::is_ascii_whitespace) {
            return if required {
                Err(payload_not_accepted())
            } else {
                Ok(Body::Empty)
            };
        }
        if !self.declared {
            return Err(Error::UnsupportedMediaType {
                accepted: &["application/json"],
            }
            .into());
        }
        let value: Value = serde_json::from_slice(&self.bytes).map_err(|_| {
            let content = String::from_utf8_lossy(&self.bytes)
                .chars()
                .take(4000)
                .collect::<String>();
            FlowsError::from(Error::invalid("JSON Payload can not be processed"))
                .with("payload", json!({"content": content}))
        })?;
        match value {
            Value::Object(map) => Ok(Body::One(map)),
            Value::Array(items) => Ok(Body::Many(items)),
            _ => Err(payload_not_accepted()),
        }
    }

    /// One object (or nothing when optional); an array is refused.
    pub fn object(&self, required: bool) -> Result<Map<String, Value>, FlowsError> {
        match self.parse(required)? {
            Body::Empty => Ok(Map::new()),
            Body::One(map) => Ok(map),
            Body::Many(_) => Err(Error::invalid("Multiple objects found").into()),
        }
    }
}

/// Echoes larger than this are not sent back.
const MAX_ECHO: usize = 4096;

/// The item echoed beside an error about it (as Flows does), unless it is large: a client
/// learns nothing from its own megabyte coming back.
pub fn echo(item: &Map<String, Value>, error: Error) -> FlowsError {
    let size = serde_json::to_vec(item).map_or(usize::MAX, |bytes| bytes.len());
    let echoed = if size <= MAX_ECHO {
        Value::Object(item.clone())
    } else {
        json!({"omitted": format!("the item has {size} bytes; it is not echoed")})
    };
    FlowsError::from(error).with("item", echoed)
}

/// A required string attribute, or Flows' "Attribute not found" echoing the item.
pub fn required_str<'m>(item: &'m Map<String, Value>, name: &str) -> Result<&'m str, FlowsError> {
    match item.get(name) {
        Some(Value::String(text)) if !text.is_empty() => Ok(text),
        _ => Err(echo(item, Error::attribute(name, "Attribute not found"))),
    }
}

/// A required attribute of any type.
pub fn required<'m>(item: &'m Map<String, Value>, name: &str) -> Result<&'m Value, FlowsError> {
    item.get(name)
        .ok_or_else(|| echo(item, Error::attribute(name, "Attribute not found")))
}

/// An optional string attribute (numbers are taken as their text).
pub fn optional_str(item: &Map<String, Value>, name: &str) -> Result<Option<String>, FlowsError> {
    match item.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(Value::Number(number)) => Ok(Some(number.to_string())),
        Some(_) => Err(echo(
            item,
            Error::attribute(name, format!("Attribute {name} must be a string")),
        )),
    }
}

/// A link of an item: `{rel, href, action, types}`.
pub fn link(rel: &str, href: String, action: &str) -> Link {
    Link {
        rel: rel.into(),
        href,
        action: Some(action.into()),
        types: Some(vec!["application/json".into()]),
    }
}

/// `{"success": true, "message": …, "links"?, "items"?}`
#[derive(Object)]
#[oai(skip_serializing_if_is_none)]
pub struct Answer {
    pub success: bool,
    pub message: String,
    pub links: Option<Vec<Link>>,
    /// The elements as sent (array calls).
    pub items: Option<Vec<Value>>,
}

impl Answer {
    pub fn new(
        message: &str,
        links: Option<Vec<Link>>,
        items: Option<Vec<Value>>,
    ) -> poem_openapi::payload::Json<Answer> {
        poem_openapi::payload::Json(Answer {
            success: true,
            message: message.into(),
            links,
            items,
        })
    }
}

/// The elements of a call that takes one object or an array, and whether an array was sent.
pub fn elements(raw_body: Body) -> Result<(Vec<Map<String, Value>>, bool), FlowsError> {
    match raw_body {
        Body::Empty => Err(payload_not_accepted()),
        Body::One(map) => Ok((vec![map], false)),
        Body::Many(items) => {
            if items.is_empty() {
                return Err(payload_not_accepted());
            }
            let mut maps = Vec::with_capacity(items.len());
            for item in items {
                match item {
                    Value::Object(map) => maps.push(map),
                    _ => return Err(payload_not_accepted()),
                }
            }
            Ok((maps, true))
        }
    }
}

/// Reads every element; the first that fails fails the call (naming it, when an array was
/// sent).
pub fn each<T>(
    items: &[Map<String, Value>],
    is_array: bool,
    read: impl Fn(&Map<String, Value>) -> Result<T, FlowsError>,
) -> Result<Vec<T>, FlowsError> {
    items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            read(item).map_err(|failed| element_failed(items, is_array, index, failed))
        })
        .collect()
}

/// The answer when element `index` failed: for an array, Flows' `Processing Error` (422)
/// echoing every element, the failing one with its `errors`; for one object, its own error.
pub fn element_failed(
    items: &[Map<String, Value>],
    is_array: bool,
    index: usize,
    failed: FlowsError,
) -> FlowsError {
    let server_side = matches!(failed.error, Error::Unavailable(_) | Error::Internal(_));
    if !is_array || server_side {
        return failed;
    }
    let kind = if matches!(failed.error, Error::Invalid { .. }) {
        "missing attribute"
    } else {
        "processing error"
    };
    let reason = failed.message();
    let echoed: Vec<Value> = items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let mut item = item.clone();
            if i == index {
                item.insert("errors".into(), json!([{"type": kind, "value": reason}]));
            }
            Value::Object(item)
        })
        .collect();
    FlowsError::from(Error::Unprocessable("Processing Error".into()))
        .with("items", Value::Array(echoed))
}

/// Echo of the elements an array call applied.
pub fn echo_all(items: Vec<Map<String, Value>>) -> Vec<Value> {
    items.into_iter().map(Value::Object).collect()
}
