//! Evaluation with Oracle's rules: null propagates, `''` is null, text converts to numbers and
//! dates where the other side needs it, and a conversion that fails is an error.

use std::cmp::Ordering;

use chrono::{NaiveDateTime, TimeDelta};

use super::{CompareOp, Env, EvalError, Expr, Piece, bind_value, naive};
use crate::engine::value::{FLOWS_DATE_FORMAT, oracle_number, parse_date, parse_number};

/// A value during evaluation.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Text(String),
    Number(f64),
    /// A date and time (UTC).
    Date(NaiveDateTime),
    Bool(bool),
}

impl Value {
    /// Text, with Oracle's rule that the empty string is null.
    pub fn text(text: impl Into<String>) -> Self {
        let text = text.into();
        if text.is_empty() {
            Self::Null
        } else {
            Self::Text(text)
        }
    }

    pub fn describe(&self) -> &'static str {
        match self {
            Self::Null => "null",
            Self::Text(_) => "text",
            Self::Number(_) => "a number",
            Self::Date(_) => "a date",
            Self::Bool(_) => "a boolean",
        }
    }

    /// The value as text (null for null): numbers as `TO_CHAR` writes them, dates as Flows'
    /// `YYYY-MM-DD HH24:MI:SS`, booleans as `TRUE`/`FALSE`.
    pub fn as_text(&self) -> Option<String> {
        match self {
            Self::Null => None,
            Self::Text(text) => Some(text.clone()),
            Self::Number(number) => Some(oracle_number(*number)),
            Self::Date(date) => Some(date.format(FLOWS_DATE_FORMAT).to_string()),
            Self::Bool(value) => Some(if *value { "TRUE" } else { "FALSE" }.to_string()),
        }
    }

    /// The value as a number (null for null); text must be numeric (ORA-01722 otherwise).
    pub fn as_number(&self) -> Result<Option<f64>, EvalError> {
        match self {
            Self::Null => Ok(None),
            Self::Number(number) => Ok(Some(*number)),
            Self::Text(text) => parse_number(text)
                .map(Some)
                .ok_or_else(|| EvalError(format!("invalid number: '{text}'"))),
            other => Err(EvalError(format!(
                "expected a number, found {}",
                other.describe()
            ))),
        }
    }

    /// The value as a date (null for null); text must be a date in Flows' formats.
    pub fn as_date(&self) -> Result<Option<NaiveDateTime>, EvalError> {
        match self {
            Self::Null => Ok(None),
            Self::Date(date) => Ok(Some(*date)),
            Self::Text(text) => parse_date(text)
                .map(|date| Some(naive(&date)))
                .ok_or_else(|| EvalError(format!("'{text}' is not a date"))),
            other => Err(EvalError(format!(
                "expected a date, found {}",
                other.describe()
            ))),
        }
    }
}

pub fn evaluate(expr: &Expr, env: &dyn Env) -> Result<Value, EvalError> {
    match expr {
        Expr::Null => Ok(Value::Null),
        Expr::Boolean(value) => Ok(Value::Bool(*value)),
        Expr::Number(number) => Ok(Value::Number(*number)),
        Expr::Now => Ok(Value::Date(naive(&env.now()))),
        Expr::Text(pieces) => {
            let mut text = String::new();
            for piece in pieces {
                match piece {
                    Piece::Text(part) => text.push_str(part),
                    // Flows leaves a substitution that names no variable as it is.
                    Piece::Substitution(name) => match lookup(name, env) {
                        Some(value) => text.push_str(&value.as_text().unwrap_or_default()),
                        None => text.push_str(&format!("&F4A${name}.")),
                    },
                }
            }
            Ok(Value::text(text))
        }
        Expr::Bind(name) => Ok(lookup(name, env).unwrap_or(Value::Null)),
        Expr::Substitution(name) => {
            let value = lookup(name, env)
                .ok_or_else(|| EvalError(format!("&F4A${name}. names no process variable")))?;
            let text = value.as_text().unwrap_or_default();
            Ok(match parse_number(&text) {
                Some(number) => Value::Number(number),
                None => Value::text(text),
            })
        }
        Expr::Negate(inner) => Ok(match evaluate(inner, env)?.as_number()? {
            Some(number) => Value::Number(-number),
            None => Value::Null,
        }),
        Expr::Arithmetic(left, op, right) => {
            arithmetic(&evaluate(left, env)?, *op, &evaluate(right, env)?)
        }
        Expr::Concat(left, right) => {
            let left = evaluate(left, env)?.as_text().unwrap_or_default();
            let right = evaluate(right, env)?.as_text().unwrap_or_default();
            Ok(Value::text(left + right.as_str()))
        }
        Expr::Compare(left, op, right) => {
            let ordering = compare(&evaluate(left, env)?, &evaluate(right, env)?)?;
            Ok(ordering.map_or(Value::Null, |ordering| Value::Bool(holds(*op, ordering))))
        }
        Expr::Like {
            value,
            pattern,
            escape,
            negated,
        } => {
            let value = evaluate(value, env)?.as_text();
            let pattern = evaluate(pattern, env)?.as_text();
            let escape = match escape {
                Some(escape) => match evaluate(escape, env)?.as_text() {
                    Some(text) if text.chars().count() == 1 => text.chars().next(),
                    Some(_) => return Err(EvalError("the escape must be one character".into())),
                    None => return Ok(Value::Null),
                },
                None => None,
            };
            Ok(match (value, pattern) {
                (Some(value), Some(pattern)) => {
                    Value::Bool(like(&value, &pattern, escape) != *negated)
                }
                _ => Value::Null,
            })
        }
        Expr::Between {
            value,
            low,
            high,
            negated,
        } => {
            let value = evaluate(value, env)?;
            let above = compare(&value, &evaluate(low, env)?)?.map(Ordering::is_ge);
            let below = compare(&value, &evaluate(high, env)?)?.map(Ordering::is_le);
            Ok(and(above, below).map_or(Value::Null, |inside| Value::Bool(inside != *negated)))
        }
        Expr::In {
            value,
            list,
            negated,
        } => {
            let value = evaluate(value, env)?;
            let mut result = Some(false);
            for item in list {
                let equal = compare(&value, &evaluate(item, env)?)?.map(Ordering::is_eq);
                result = or(result, equal);
                if result == Some(true) {
                    break;
                }
            }
            Ok(result.map_or(Value::Null, |found| Value::Bool(found != *negated)))
        }
        Expr::IsNull(inner, negated) => {
            let is_null = evaluate(inner, env)? == Value::Null;
            Ok(Value::Bool(is_null != *negated))
        }
        Expr::Not(inner) => Ok(match truth(&evaluate(inner, env)?)? {
            Some(value) => Value::Bool(!value),
            None => Value::Null,
        }),
        Expr::And(terms) => {
            let mut result = Some(true);
            for term in terms {
                result = and(result, truth(&evaluate(term, env)?)?);
                if result == Some(false) {
                    break;
                }
            }
            Ok(result.map_or(Value::Null, Value::Bool))
        }
        Expr::Or(terms) => {
            let mut result = Some(false);
            for term in terms {
                result = or(result, truth(&evaluate(term, env)?)?);
                if result == Some(true) {
                    break;
                }
            }
            Ok(result.map_or(Value::Null, Value::Bool))
        }
        Expr::Call(function, arguments) => {
            let values = arguments
                .iter()
                .map(|argument| evaluate(argument, env))
                .collect::<Result<Vec<_>, _>>()?;
            function.call(&values, env)
        }
    }
}

/// A built-in name or a variable, as Flows binds it.
fn lookup(name: &str, env: &dyn Env) -> Option<Value> {
    env.builtin(&name.to_ascii_uppercase())
        .or_else(|| env.variable(name).map(|value| bind_value(&value)))
}

fn truth(value: &Value) -> Result<Option<bool>, EvalError> {
    match value {
        Value::Bool(value) => Ok(Some(*value)),
        Value::Null => Ok(None),
        other => Err(EvalError(format!(
            "expected true or false, found {}",
            other.describe()
        ))),
    }
}

fn and(left: Option<bool>, right: Option<bool>) -> Option<bool> {
    match (left, right) {
        (Some(false), _) | (_, Some(false)) => Some(false),
        (Some(true), Some(true)) => Some(true),
        _ => None,
    }
}

fn or(left: Option<bool>, right: Option<bool>) -> Option<bool> {
    match (left, right) {
        (Some(true), _) | (_, Some(true)) => Some(true),
        (Some(false), Some(false)) => Some(false),
        _ => None,
    }
}

fn holds(op: CompareOp, ordering: Ordering) -> bool {
    match op {
        CompareOp::Equal => ordering.is_eq(),
        CompareOp::NotEqual => ordering.is_ne(),
        CompareOp::Less => ordering.is_lt(),
        CompareOp::LessOrEqual => ordering.is_le(),
        CompareOp::Greater => ordering.is_gt(),
        CompareOp::GreaterOrEqual => ordering.is_ge(),
    }
}

/// Orders two values as Oracle compares them; `None` when either is null.
pub fn compare(left: &Value, right: &Value) -> Result<Option<Ordering>, EvalError> {
    let ordering = match (left, right) {
        (Value::Null, _) | (_, Value::Null) => return Ok(None),
        (Value::Text(a), Value::Text(b)) => a.cmp(b),
        (Value::Bool(a), Value::Bool(b)) => a.cmp(b),
        (Value::Number(_), _) | (_, Value::Number(_)) => {
            let (Some(a), Some(b)) = (left.as_number()?, right.as_number()?) else {
                return Ok(None);
            };
            a.partial_cmp(&b)
                .ok_or_else(|| EvalError("numbers that cannot be compared".into()))?
        }
        (Value::Date(_), _) | (_, Value::Date(_)) => {
            let (Some(a), Some(b)) = (left.as_date()?, right.as_date()?) else {
                return Ok(None);
            };
            a.cmp(&b)
        }
        (a, b) => {
            return Err(EvalError(format!(
                "{} and {} cannot be compared",
                a.describe(),
                b.describe()
            )));
        }
    };
    Ok(Some(ordering))
}

fn arithmetic(left: &Value, op: char, right: &Value) -> Result<Value, EvalError> {
    if *left == Value::Null || *right == Value::Null {
        return Ok(Value::Null);
    }
    let days = |number: f64| {
        #[allow(clippy::cast_possible_truncation)]
        let millis = (number * 86_400_000.0).round() as i64;
        TimeDelta::try_milliseconds(millis)
            .ok_or_else(|| EvalError("the date is out of range".into()))
    };
    match (left, op, right) {
        (Value::Date(date), '+' | '-', other) | (other, '+', Value::Date(date))
            if !matches!(other, Value::Date(_)) =>
        {
            let delta = days(other.as_number()?.unwrap_or_default())?;
            let moved = if op == '+' {
                date.checked_add_signed(delta)
            } else {
                date.checked_sub_signed(delta)
            };
            moved
                .map(Value::Date)
                .ok_or_else(|| EvalError("the date is out of range".into()))
        }
        (Value::Date(a), '-', Value::Date(b)) => {
            let millis = (*a - *b).num_milliseconds() as f64;
            Ok(Value::Number(millis / 86_400_000.0))
        }
        _ => {
            let (Some(a), Some(b)) = (left.as_number()?, right.as_number()?) else {
                return Ok(Value::Null);
            };
            let result = match op {
                '+' => a + b,
                '-' => a - b,
                '*' => a * b,
                _ if b == 0.0 => return Err(EvalError("divisor is equal to zero".into())),
                _ => a / b,
            };
            if result.is_finite() {
                Ok(Value::Number(result))
            } else {
                Err(EvalError("numeric overflow".into()))
            }
        }
    }
}

/// SQL `LIKE`: `%` any run, `_` one character, `escape` makes the next one literal.
pub fn like(value: &str, pattern: &str, escape: Option<char>) -> bool {
    #[derive(Clone, Copy, PartialEq)]
    enum Item {
        Any,
        One,
        Char(char),
    }
    let mut items = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        items.push(match c {
            c if Some(c) == escape => Item::Char(chars.next().unwrap_or(c)),
            '%' => Item::Any,
            '_' => Item::One,
            c => Item::Char(c),
        });
    }
    let text: Vec<char> = value.chars().collect();
    // Dynamic programming over (pattern position, text position).
    let mut reachable = vec![false; text.len() + 1];
    reachable[0] = true;
    for item in &items {
        let mut next = vec![false; text.len() + 1];
        match item {
            Item::Any => {
                let mut seen = false;
                for (position, slot) in next.iter_mut().enumerate() {
                    seen |= reachable[position];
                    *slot = seen;
                }
            }
            Item::One | Item::Char(_) => {
                for position in 0..text.len() {
                    let fits = match item {
                        Item::Char(c) => text[position] == *c,
                        _ => true,
                    };
                    if reachable[position] && fits {
                        next[position + 1] = true;
                    }
                }
            }
        }
        reachable = next;
    }
    reachable[text.len()]
}
