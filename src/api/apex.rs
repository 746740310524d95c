//! What the process API shares with Flows for APEX's REST module: request bodies read raw and
//! judged as Flows judges them (one object, an array, or neither), its attribute rules, item
//! links and action answers. Errors are raised as domain errors with Flows' messages; they are
//! rendered by [`crate::answers::flows`].

use poem_openapi::Object;
use serde_json::{Map, Value, json};

use super::paging::Link;
pub use super::raw_body::RawJson;
use crate::Error;
use crate::answers::flows;
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

/// A required attribute: text (a string, or a number taken as its text) that is not empty, or
/// any value at all, even `null`.
#[derive(Clone, Copy, Debug)]
pub enum Needed {
    Text(&'static str),
    Any(&'static str),
}

/// What is wrong with one object of a request, as Flows names it in the object's `errors`.
#[derive(Debug)]
pub enum Problem {
    /// The required attributes it lacks: a `missing attribute` error for each.
    Missing(Vec<&'static str>),
    /// A value that failed, and why: a `processing error`.
    Failed(Error),
}

impl From<Error> for Problem {
    fn from(error: Error) -> Self {
        Problem::Failed(error)
    }
}

impl Problem {
    /// Failures on our side are no object's fault.
    fn is_server_side(&self) -> bool {
        matches!(
            self,
            Problem::Failed(Error::Unavailable(_) | Error::Internal(_))
        )
    }

    /// `[{"type", "value"}, …]` as Flows adds them to the object.
    fn errors(&self) -> Vec<Value> {
        match self {
            Problem::Missing(names) => names
                .iter()
                .map(|name| json!({"type": "missing attribute", "value": name}))
                .collect(),
            Problem::Failed(error) => {
                vec![json!({"type": "processing error", "value": flows::message_of(error)})]
            }
        }
    }

    fn into_error(self) -> Error {
        match self {
            Problem::Missing(names) => Error::attribute(
                names.first().copied().unwrap_or_default(),
                "Attribute not found",
            ),
            Problem::Failed(error) => error,
        }
    }

    /// The answer to a single object with this problem: `Attribute not found` (400) or the
    /// failure's own answer, with the object echoed carrying its `errors`.
    pub fn answer(self, item: &Map<String, Value>) -> FlowsError {
        if self.is_server_side() {
            return self.into_error().into();
        }
        let errors = self.errors();
        FlowsError::from(self.into_error()).with("item", echoed(item, errors))
    }
}

/// The object with its `errors` added, unless it is large: a client learns nothing from its own
/// megabyte coming back.
fn echoed(item: &Map<String, Value>, errors: Vec<Value>) -> Value {
    let size = serde_json::to_vec(item).map_or(usize::MAX, |bytes| bytes.len());
    let mut echoed = if size <= MAX_ECHO {
        item.clone()
    } else {
        let mut omitted = Map::new();
        omitted.insert(
            "omitted".into(),
            Value::String(format!("the item has {size} bytes; it is not echoed")),
        );
        omitted
    };
    with_errors(&mut echoed, errors);
    Value::Object(echoed)
}

/// Appends to an object's `errors` (an `errors` the client sent that is not an array goes).
fn with_errors(item: &mut Map<String, Value>, errors: Vec<Value>) {
    if errors.is_empty() {
        return;
    }
    match item.get_mut("errors") {
        Some(Value::Array(existing)) => existing.extend(errors),
        _ => {
            item.insert("errors".into(), Value::Array(errors));
        }
    }
}

/// Checks that an object has every required attribute; names all it lacks, in order.
pub fn require(item: &Map<String, Value>, needed: &[Needed]) -> Result<(), Problem> {
    let missing: Vec<&'static str> = needed
        .iter()
        .filter_map(|need| match *need {
            Needed::Text(name) => match item.get(name) {
                None | Some(Value::Null) => Some(name),
                Some(Value::String(text)) if text.is_empty() => Some(name),
                Some(_) => None,
            },
            Needed::Any(name) => (!item.contains_key(name)).then_some(name),
        })
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(Problem::Missing(missing))
    }
}

/// A text attribute (numbers are taken as their text); `None` when absent or `null`.
pub fn text(item: &Map<String, Value>, name: &str) -> Result<Option<String>, Problem> {
    match item.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(Value::Number(number)) => Ok(Some(number.to_string())),
        Some(_) => Err(Problem::Failed(Error::attribute(
            name,
            format!("Attribute {name} must be a string"),
        ))),
    }
}

/// A required text attribute.
pub fn required_text(item: &Map<String, Value>, name: &'static str) -> Result<String, Problem> {
    text(item, name)?
        .filter(|text| !text.is_empty())
        .ok_or_else(|| Problem::Missing(vec![name]))
}

/// An optional text attribute of a single object; a bad one is answered echoing the object.
pub fn optional_str(item: &Map<String, Value>, name: &str) -> Result<Option<String>, FlowsError> {
    text(item, name).map_err(|problem| problem.answer(item))
}

/// What a lookup found, `None` for an unknown id: Flows answers a GET of something that does
/// not exist with no item, not with an error.
pub fn found<T>(result: crate::Result<T>) -> Result<Option<T>, FlowsError> {
    match result {
        Ok(found) => Ok(Some(found)),
        Err(Error::NotFound(_)) => Ok(None),
        Err(other) => Err(other.into()),
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

/// Judges every element before anything is applied; when any is bad, the answer names each
/// bad one (see [`failed`]).
pub fn judge_all<T>(
    items: &[Map<String, Value>],
    is_array: bool,
    judge: impl Fn(&Map<String, Value>) -> Result<T, Problem>,
) -> Result<Vec<T>, FlowsError> {
    let mut judged = Vec::with_capacity(items.len());
    let mut problems = Vec::new();
    for (index, item) in items.iter().enumerate() {
        match judge(item) {
            Ok(good) => judged.push(good),
            Err(problem) => problems.push((index, problem)),
        }
    }
    if problems.is_empty() {
        Ok(judged)
    } else {
        Err(failed(items, is_array, problems))
    }
}

/// The answer when elements failed, each index with its problem: for one object, its own
/// answer (see [`Problem::answer`]); for an array, Flows' `Processing Error` (422) echoing
/// every element, each bad one with its `errors`. A failure on our side is answered as such.
pub fn failed(
    items: &[Map<String, Value>],
    is_array: bool,
    mut problems: Vec<(usize, Problem)>,
) -> FlowsError {
    if let Some(at) = problems.iter().position(|(_, p)| p.is_server_side()) {
        let (_, problem) = problems.swap_remove(at);
        return problem.into_error().into();
    }
    if !is_array {
        let mut problems = problems.into_iter();
        return match problems.next() {
            Some((index, problem)) => match items.get(index) {
                Some(item) => problem.answer(item),
                None => problem.into_error().into(),
            },
            None => Error::internal("an element failed without a problem").into(),
        };
    }
    let mut echoed: Vec<Map<String, Value>> = items.to_vec();
    for (index, problem) in problems {
        if let Some(item) = echoed.get_mut(index) {
            with_errors(item, problem.errors());
        }
    }
    FlowsError::from(Error::Unprocessable("Processing Error".into())).with(
        "items",
        Value::Array(echoed.into_iter().map(Value::Object).collect()),
    )
}

/// Echo of the elements an array call applied.
pub fn echo_all(items: Vec<Map<String, Value>>) -> Vec<Value> {
    items.into_iter().map(Value::Object).collect()
}
