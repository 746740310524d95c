//! Loops and multi-instance activities as Flows for APEX models them (`apex:` settings on
//! `bpmn:multiInstanceLoopCharacteristics` and `bpmn:standardLoopCharacteristics`): which items
//! an activity runs for, what each iteration sees, what is gathered, and when it is done.

use super::condition::FlowCondition;
use super::value::VariableValue;
use super::variables::{self, VariableMap};

/// How an activity repeats.
#[derive(Debug, Clone, PartialEq)]
pub struct Iteration {
    pub mode: IterationMode,
    /// What a multi-instance activity runs for (`apex:inputCollection`); none for a loop.
    pub input: Option<Collection>,
    /// The variable each item is set in (`apex:insideVariable`), for items that are not
    /// objects (an object's properties each become a variable).
    pub inside_variable: Option<String>,
    /// What is gathered from each iteration (`apex:outputCollection`).
    pub output: Option<OutputCollection>,
    /// Checked after each iteration; when it holds, the activity is done and iterations still
    /// running stop (`apex:completionCondition`). Reads `:F4A$loop_counter`,
    /// `:F4A$completed_instances`, `:F4A$active_instances` and `:F4A$total_instances`.
    pub completion: Option<FlowCondition>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IterationMode {
    /// Every item at once, each in a subflow of its own.
    Parallel,
    /// One item after the other.
    Sequential,
    /// A standard loop: again and again until the completion condition holds.
    Loop,
}

/// Where the items come from (`apex:expressionType` and `apex:expression`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Collection {
    /// A VARCHAR2 process variable holding a `:`-separated list (`processVariableList`).
    List(String),
    /// A JSON process variable holding an array (`processVariableArray`).
    Array(String),
    /// An SQL query (`sqlQueryList`, `sqlQueryArray`): needs Oracle.
    Oracle(String),
}

/// A JSON array variable receiving, per iteration in loop-counter order, an object of the
/// named inside variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputCollection {
    pub variable: String,
    pub inside: Vec<String>,
}

/// The most iterations a loop runs before it is stopped as endless.
pub const MAX_LOOPS: u32 = 1_000;

impl Iteration {
    /// The variables of each iteration, read from the collection; `Err` names what is wrong.
    pub fn items(&self, variables: &VariableMap) -> Result<Vec<VariableMap>, String> {
        let Some(input) = &self.input else {
            return Ok(Vec::new());
        };
        let read = |name: &str| {
            variables::lookup(variables, name)
                .ok_or_else(|| format!("the input collection '{name}' is not set"))
        };
        let inside = |value: VariableValue| {
            self.inside_variable
                .as_ref()
                .map(|name| VariableMap::from([(name.clone(), value)]))
                .ok_or_else(|| "the collection's items need apex:insideVariable".to_string())
        };
        match input {
            Collection::List(name) => read(name)?
                .to_text()
                .split(':')
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(|item| inside(VariableValue::Varchar(item.to_owned())))
                .collect(),
            Collection::Array(name) => {
                let array = match read(name)? {
                    VariableValue::Json(json) => json.clone(),
                    other => serde_json::from_str(&other.to_text())
                        .map_err(|_| format!("the input collection '{name}' is not JSON"))?,
                };
                let serde_json::Value::Array(items) = array else {
                    return Err(format!("the input collection '{name}' is not a JSON array"));
                };
                items
                    .into_iter()
                    .map(|item| match item {
                        serde_json::Value::Object(object) => Ok(object
                            .into_iter()
                            .filter_map(|(key, value)| Some((key, from_json(value)?)))
                            .collect()),
                        scalar => inside(
                            from_json(scalar).unwrap_or(VariableValue::Varchar(String::new())),
                        ),
                    })
                    .collect()
            }
            Collection::Oracle(kind) => Err(format!(
                "the input collection is an SQL query ({kind}), which needs Oracle"
            )),
        }
    }
}

/// A JSON value as the variable Flows would make of it; `None` for null.
fn from_json(value: serde_json::Value) -> Option<VariableValue> {
    Some(match value {
        serde_json::Value::Null => return None,
        serde_json::Value::String(text) => VariableValue::Varchar(text),
        serde_json::Value::Number(number) => {
            VariableValue::Number(number.as_f64().unwrap_or_default())
        }
        serde_json::Value::Bool(flag) => VariableValue::Varchar(flag.to_string()),
        other => VariableValue::Json(other),
    })
}

/// One gathered element of an output collection: the named variables as JSON.
pub fn output_element(
    names: &[String],
    value_of: impl Fn(&str) -> Option<VariableValue>,
) -> serde_json::Value {
    let mut object = serde_json::Map::new();
    for name in names {
        let value = value_of(name).map_or(serde_json::Value::Null, |value| value.to_json());
        object.insert(name.clone(), value);
    }
    serde_json::Value::Object(object)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iteration(input: Collection, inside: Option<&str>) -> Iteration {
        Iteration {
            mode: IterationMode::Parallel,
            input: Some(input),
            inside_variable: inside.map(str::to_owned),
            output: None,
            completion: None,
        }
    }

    #[test]
    fn a_list_gives_one_item_per_entry() {
        let variables = VariableMap::from([(
            "EmpList".to_string(),
            VariableValue::Varchar("SMITH:JONES: :FORD".into()),
        )]);
        let items = iteration(Collection::List("emplist".into()), Some("ename"))
            .items(&variables)
            .expect("items");
        let names: Vec<String> = items.iter().map(|i| i["ename"].to_text()).collect();
        assert_eq!(names, ["SMITH", "JONES", "FORD"]);
    }

    #[test]
    fn an_array_of_objects_gives_their_properties() {
        let json = serde_json::json!([{"ename": "SMITH", "empno": 7369}, {"ename": "FORD", "empno": 7902}]);
        let variables = VariableMap::from([("EmpArray".to_string(), VariableValue::Json(json))]);
        let items = iteration(Collection::Array("EmpArray".into()), None)
            .items(&variables)
            .expect("items");
        assert_eq!(items.len(), 2);
        assert_eq!(items[1]["ename"], VariableValue::Varchar("FORD".into()));
        assert_eq!(items[1]["empno"], VariableValue::Number(7902.0));
    }

    #[test]
    fn what_cannot_be_read_is_named() {
        let none = VariableMap::new();
        let missing = iteration(Collection::List("EmpList".into()), Some("e")).items(&none);
        assert!(missing.expect_err("missing").contains("EmpList"));
        let query = iteration(Collection::Oracle("sqlQueryArray".into()), None).items(&none);
        assert!(query.expect_err("oracle").contains("Oracle"));
        let scalars =
            VariableMap::from([("A".to_string(), VariableValue::Json(serde_json::json!([1])))]);
        let unnamed = iteration(Collection::Array("A".into()), None).items(&scalars);
        assert!(
            unnamed
                .expect_err("no inside variable")
                .contains("insideVariable")
        );
    }
}
