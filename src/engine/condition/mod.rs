//! The condition language of sequence flows: comparisons between variables, numbers and
//! 'quoted strings', combined with `and`, `or`, `not` and parentheses.
//!
//! Conditions are parsed once at import ([`Condition::parse`]) and evaluated against the
//! process variables whenever a token reaches an exclusive gateway.

mod flow;
mod parser;

pub use flow::{ConditionContext, FlowCondition, IterationCounters};

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use thiserror::Error;

use super::value::{VariableValue, parse_date, parse_number};

/// A parsed condition. `And`/`Or` hold two or more terms, so long chains stay flat.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    Compare {
        left: Operand,
        op: CompareOp,
        right: Operand,
    },
    Not(Box<Condition>),
    And(Vec<Condition>),
    Or(Vec<Condition>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Variable(String),
    Number(f64),
    Text(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Equal,
    NotEqual,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
}

/// A syntax error, with the 1-based character position where it was found.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{message} at character {position}")]
pub struct ConditionError {
    pub position: usize,
    pub message: String,
}

impl Condition {
    /// Parses condition text (already XML-unescaped). Never panics.
    pub fn parse(text: &str) -> Result<Self, ConditionError> {
        parser::parse(text)
    }

    /// Evaluates against the process variables. A comparison that names a missing variable
    /// is false, whatever the operator.
    pub fn evaluate(&self, variables: &BTreeMap<String, VariableValue>) -> bool {
        match self {
            Self::Compare { left, op, right } => {
                match (scalar(left, variables), scalar(right, variables)) {
                    (Some(left), Some(right)) => compare(&left, *op, &right),
                    _ => false,
                }
            }
            Self::Not(inner) => !inner.evaluate(variables),
            Self::And(terms) => terms.iter().all(|term| term.evaluate(variables)),
            Self::Or(terms) => terms.iter().any(|term| term.evaluate(variables)),
        }
    }
}

impl CompareOp {
    fn symbol(self) -> &'static str {
        match self {
            Self::Equal => "=",
            Self::NotEqual => "!=",
            Self::Less => "<",
            Self::LessOrEqual => "<=",
            Self::Greater => ">",
            Self::GreaterOrEqual => ">=",
        }
    }

    fn holds(self, ordering: Ordering) -> bool {
        match self {
            Self::Equal => ordering.is_eq(),
            Self::NotEqual => ordering.is_ne(),
            Self::Less => ordering.is_lt(),
            Self::LessOrEqual => ordering.is_le(),
            Self::Greater => ordering.is_gt(),
            Self::GreaterOrEqual => ordering.is_ge(),
        }
    }
}

/// A comparable value: what an operand denotes once variables are looked up.
enum Scalar<'a> {
    Number(f64),
    Text(&'a str),
    Date(DateTime<Utc>),
    /// A JSON object, array, boolean or null: present, but equal to nothing and unordered.
    Opaque,
}

fn scalar<'a>(
    operand: &'a Operand,
    variables: &'a BTreeMap<String, VariableValue>,
) -> Option<Scalar<'a>> {
    match operand {
        Operand::Number(number) => Some(Scalar::Number(*number)),
        Operand::Text(text) => Some(Scalar::Text(text)),
        Operand::Variable(name) => match variables.get(name)? {
            VariableValue::Varchar(text) | VariableValue::Clob(text) => Some(Scalar::Text(text)),
            VariableValue::Number(number) => Some(Scalar::Number(*number)),
            VariableValue::Date(date) => Some(Scalar::Date(*date)),
            VariableValue::Json(serde_json::Value::String(text)) => Some(Scalar::Text(text)),
            VariableValue::Json(serde_json::Value::Number(number)) => {
                Some(number.as_f64().map_or(Scalar::Opaque, Scalar::Number))
            }
            VariableValue::Json(_) => Some(Scalar::Opaque),
        },
    }
}

/// Values of different kinds are converted when the text allows it; values that cannot be
/// compared are unequal (so only `!=` holds).
fn compare(left: &Scalar, op: CompareOp, right: &Scalar) -> bool {
    let ordering = match (left, right) {
        (Scalar::Number(a), Scalar::Number(b)) => a.partial_cmp(b),
        (Scalar::Text(a), Scalar::Text(b)) => Some(a.cmp(b)),
        (Scalar::Number(a), Scalar::Text(b)) => parse_number(b).and_then(|b| a.partial_cmp(&b)),
        (Scalar::Text(a), Scalar::Number(b)) => parse_number(a).and_then(|a| a.partial_cmp(b)),
        (Scalar::Date(a), Scalar::Date(b)) => Some(a.cmp(b)),
        (Scalar::Date(a), Scalar::Text(b)) => parse_date(b).map(|b| a.cmp(&b)),
        (Scalar::Text(a), Scalar::Date(b)) => parse_date(a).map(|a| a.cmp(b)),
        (Scalar::Date(_), Scalar::Number(_))
        | (Scalar::Number(_), Scalar::Date(_))
        | (Scalar::Opaque, _)
        | (_, Scalar::Opaque) => None,
    };
    match ordering {
        Some(ordering) => op.holds(ordering),
        None => op == CompareOp::NotEqual,
    }
}

/// Prints the condition so that parsing the text gives the same tree back.
impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Compare { left, op, right } => write!(f, "{left} {} {right}", op.symbol()),
            Self::Not(inner) => {
                f.write_str("not ")?;
                write_term(f, inner)
            }
            Self::And(terms) => write_terms(f, terms, " and "),
            Self::Or(terms) => write_terms(f, terms, " or "),
        }
    }
}

fn write_terms(f: &mut fmt::Formatter<'_>, terms: &[Condition], separator: &str) -> fmt::Result {
    for (index, term) in terms.iter().enumerate() {
        if index > 0 {
            f.write_str(separator)?;
        }
        write_term(f, term)?;
    }
    Ok(())
}

/// `and`/`or` inside another operator need parentheses; comparisons and `not` bind tighter.
fn write_term(f: &mut fmt::Formatter<'_>, term: &Condition) -> fmt::Result {
    match term {
        Condition::And(_) | Condition::Or(_) => write!(f, "({term})"),
        _ => write!(f, "{term}"),
    }
}

impl fmt::Display for Operand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Variable(name) => f.write_str(name),
            Self::Number(number) => write!(f, "{number}"),
            Self::Text(text) => write!(f, "'{}'", text.replace('\'', "''")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn variables() -> BTreeMap<String, VariableValue> {
        let date = Utc
            .with_ymd_and_hms(2024, 5, 1, 12, 0, 0)
            .single()
            .expect("valid date");
        BTreeMap::from([
            ("amount".to_string(), VariableValue::Number(5000.0)),
            ("region".to_string(), VariableValue::Varchar("EU".into())),
            ("code".to_string(), VariableValue::Varchar("42".into())),
            ("due".to_string(), VariableValue::Date(date)),
            (
                "doc".to_string(),
                VariableValue::Json(serde_json::json!({"a": 1})),
            ),
        ])
    }

    fn holds(text: &str) -> bool {
        Condition::parse(text)
            .unwrap_or_else(|error| panic!("{text}: {error}"))
            .evaluate(&variables())
    }

    #[test]
    fn numbers_compare_numerically() {
        assert!(holds("amount > 1000"));
        assert!(holds("amount >= 5000 and amount <= 5000.0"));
        assert!(!holds("amount < 10"));
        assert!(holds("-1 < 0"));
    }

    #[test]
    fn strings_compare_lexically() {
        assert!(holds("region = 'EU'"));
        assert!(holds("region < 'FR'"));
        assert!(holds("'it''s' = 'it''s'"));
        assert!(!holds("region != 'EU'"));
    }

    #[test]
    fn numbers_and_numeric_strings_compare_as_numbers() {
        assert!(holds("code = 42"));
        assert!(holds("code > 9"), "numeric, not lexical");
        assert!(holds("amount = '5000'"));
    }

    #[test]
    fn numbers_and_other_strings_are_unequal_and_unordered() {
        assert!(!holds("region = 1"));
        assert!(holds("region != 1"));
        assert!(!holds("region < 1"));
        assert!(!holds("region >= 1"));
    }

    #[test]
    fn missing_variables_make_any_comparison_false() {
        assert!(!holds("nothing = 1"));
        assert!(!holds("nothing != 1"));
        assert!(holds("not nothing = 1"));
    }

    #[test]
    fn dates_compare_with_date_strings() {
        assert!(holds("due > '2024-04-30'"));
        assert!(holds("due = '2024-05-01T12:00:00Z'"));
        assert!(!holds("due < 5"));
    }

    #[test]
    fn json_objects_are_not_comparable() {
        assert!(!holds("doc = 1"));
        assert!(holds("doc != 1"));
    }

    #[test]
    fn boolean_operators_follow_precedence() {
        assert!(holds("amount > 1 or region = 'US' and code = 0"));
        assert!(!holds("(amount > 1 or region = 'US') and code = 0"));
        assert!(holds("NOT amount < 1 AND Region = 'x' Or region = 'EU'"));
    }

    #[test]
    fn display_parenthesizes_nested_chains() {
        let text = "(a = 1 or b = 2) and not (c = 'x''y' and d >= -3.5)";
        let condition = Condition::parse(text).expect("parses");
        assert_eq!(condition.to_string(), text);
    }
}
