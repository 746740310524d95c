//! The condition of a sequence flow in either language the engine reads: flowgate's own
//! (no `language` attribute) or Flows for APEX's PL/SQL (`plsqlExpression`,
//! `plsqlFunctionBody` and their `Raw` forms).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::Condition;
use crate::engine::plsql::{Env, Expression, Form, Value};
use crate::engine::value::VariableValue;
use crate::engine::variables;

/// A parsed flow condition, ready to evaluate.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowCondition {
    language: Language,
}

#[derive(Debug, Clone, PartialEq)]
enum Language {
    Own(Condition),
    Plsql(Expression),
}

/// What a condition reads besides the variables: Flows' built-in binds and the time.
pub struct ConditionContext<'a> {
    pub variables: &'a BTreeMap<String, VariableValue>,
    /// The variables of the iterations the subflow runs in, innermost first: they hide
    /// variables of the same name in `variables`.
    pub iteration_layers: Vec<&'a BTreeMap<String, VariableValue>>,
    /// The counters a completion condition reads.
    pub counters: Option<IterationCounters>,
    pub subflow_id: u64,
    pub step_key: &'a str,
    pub scope: u64,
    pub now: DateTime<Utc>,
}

/// `:F4A$loop_counter`, `:F4A$completed_instances`, `:F4A$active_instances`,
/// `:F4A$total_instances` of a loop or multi-instance activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IterationCounters {
    pub loop_counter: u32,
    pub completed: u32,
    pub active: u32,
    /// `None` for a loop, whose total is not known in advance.
    pub total: Option<u32>,
}

impl FlowCondition {
    /// Parses `text` written in `language` (the `conditionExpression`'s attribute). Without a
    /// language, flowgate's own syntax is tried first and then a PL/SQL expression.
    pub fn parse(text: &str, language: Option<&str>) -> Result<Self, String> {
        let plsql = |form| {
            Expression::parse_condition(text, form)
                .map(|expression| Self {
                    language: Language::Plsql(expression),
                })
                .map_err(|error| format!("the PL/SQL condition is outside the subset: {error}"))
        };
        match language.map(str::trim) {
            None | Some("") => match Condition::parse(text) {
                Ok(condition) => Ok(Self {
                    language: Language::Own(condition),
                }),
                Err(own_error) => plsql(Form::Expression)
                    .map_err(|_| format!("condition syntax error: {own_error}")),
            },
            Some("plsqlExpression" | "plsqlRawExpression") => plsql(Form::Expression),
            Some("plsqlFunctionBody" | "plsqlRawFunctionBody") => plsql(Form::FunctionBody),
            Some(other) => Err(format!(
                "conditions in language '{other}' are not supported (use plsqlExpression, \
                 plsqlFunctionBody or no language)"
            )),
        }
    }

    /// Whether the condition holds; an error is what Oracle would raise evaluating it.
    pub fn holds(&self, context: &ConditionContext) -> Result<bool, String> {
        match &self.language {
            Language::Own(condition) => Ok(condition.evaluate(&context.visible())),
            Language::Plsql(expression) => expression
                .holds(context)
                .map_err(|error| format!("evaluating '{}': {error}", expression.text())),
        }
    }
}

/// The condition as written (flowgate's own language normalized).
impl std::fmt::Display for FlowCondition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.language {
            Language::Own(condition) => write!(f, "{condition}"),
            Language::Plsql(expression) => f.write_str(expression.text()),
        }
    }
}

impl ConditionContext<'_> {
    /// The variables as the subflow sees them: the iterations' own over the scope's. Borrowed
    /// when the subflow runs in no iteration (the common case), merged otherwise.
    pub fn visible(&self) -> std::borrow::Cow<'_, BTreeMap<String, VariableValue>> {
        if self.iteration_layers.is_empty() {
            return std::borrow::Cow::Borrowed(self.variables);
        }
        let mut seen = self.variables.clone();
        for layer in self.iteration_layers.iter().rev() {
            for (name, value) in layer.iter() {
                variables::store(&mut seen, name, value.clone());
            }
        }
        std::borrow::Cow::Owned(seen)
    }
}

impl Env for ConditionContext<'_> {
    fn variable(&self, name: &str) -> Option<VariableValue> {
        self.iteration_layers
            .iter()
            .find_map(|layer| variables::lookup(layer, name))
            .or_else(|| variables::lookup(self.variables, name))
            .cloned()
    }

    fn builtin(&self, name: &str) -> Option<Value> {
        let counter = |n: u32| Some(Value::Number(f64::from(n)));
        match (name, self.counters) {
            ("SUBFLOW_ID", _) => Some(Value::Number(self.subflow_id as f64)),
            ("STEP_KEY", _) => Some(Value::text(self.step_key)),
            ("SCOPE", _) => Some(Value::Number(self.scope as f64)),
            ("LOOP_COUNTER", Some(c)) => counter(c.loop_counter),
            ("COMPLETED_INSTANCES", Some(c)) => counter(c.completed),
            ("ACTIVE_INSTANCES", Some(c)) => counter(c.active),
            ("TOTAL_INSTANCES", Some(IterationCounters { total: Some(t), .. })) => counter(t),
            _ => None,
        }
    }

    fn now(&self) -> DateTime<Utc> {
        self.now
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn context(variables: &BTreeMap<String, VariableValue>) -> ConditionContext<'_> {
        ConditionContext {
            variables,
            iteration_layers: Vec::new(),
            counters: None,
            subflow_id: 3,
            step_key: "k",
            scope: 0,
            now: Utc
                .with_ymd_and_hms(2024, 1, 1, 0, 0, 0)
                .single()
                .expect("valid"),
        }
    }

    #[test]
    fn both_languages_read_the_variables() {
        let variables =
            BTreeMap::from([("Dept".to_string(), VariableValue::Varchar("SALES".into()))]);
        let own = FlowCondition::parse("Dept = 'SALES'", None).expect("own syntax");
        assert_eq!(own.holds(&context(&variables)), Ok(true));
        let plsql =
            FlowCondition::parse(":F4A$DEPT = 'SALES'", Some("plsqlExpression")).expect("plsql");
        assert_eq!(plsql.holds(&context(&variables)), Ok(true));
        let unlabelled = FlowCondition::parse(":F4A$dept like 'SAL%'", None).expect("fallback");
        assert_eq!(unlabelled.holds(&context(&variables)), Ok(true));
        let body = FlowCondition::parse("return :F4A$SUBFLOW_ID = 3;", Some("plsqlFunctionBody"))
            .expect("function body");
        assert_eq!(body.holds(&context(&variables)), Ok(true));
    }

    #[test]
    fn other_languages_and_parts_outside_the_subset_are_named() {
        let error = FlowCondition::parse("x", Some("javascript")).expect_err("refused");
        assert!(error.contains("'javascript'"), "{error}");
        let error = FlowCondition::parse("my_pkg.check(:F4A$x) = 1", Some("plsqlExpression"))
            .expect_err("refused");
        assert!(error.contains("outside the subset"), "{error}");
    }
}
