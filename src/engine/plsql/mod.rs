//! The subset of PL/SQL that Flows for APEX diagrams write their conditions and variable
//! expressions in: `:F4A$name` binds and `&F4A$name.` substitutions; `= <> != < <= > >=`,
//! `like`, `between`, `in (…)`, `is [not] null`, `and`/`or`/`not`, `||` and arithmetic;
//! `upper`, `lower`, `trim`, `nvl`, `coalesce`, `to_number`, `to_char`, `to_date`, `length`,
//! `substr`, `instr` (and a few more, see [`functions`]); `sysdate`; function bodies of the
//! form `return …;`.
//!
//! Expressions are parsed at import, so anything outside the subset is refused there, naming
//! the part. They evaluate as Oracle would: binds are the variables' text (as Flows binds them),
//! `''` is null, comparisons with null are unknown, text meets numbers and dates by implicit
//! conversion.

mod eval;
mod functions;
mod lexer;
mod parser;
#[cfg(test)]
mod tests;

use chrono::{DateTime, NaiveDateTime, Utc};
use thiserror::Error;

pub use eval::Value;
pub use functions::Function;
pub use lexer::Piece;

use super::value::VariableValue;

/// A syntax error or a part outside the subset, with the 1-based character position.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{message} at character {position}")]
pub struct SyntaxError {
    pub position: usize,
    pub message: String,
}

/// Why an expression could not be evaluated (Oracle would raise an error).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{0}")]
pub struct EvalError(pub String);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Equal,
    NotEqual,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Null,
    Boolean(bool),
    Number(f64),
    Text(Vec<Piece>),
    Bind(String),
    Substitution(String),
    Now,
    Negate(Box<Expr>),
    Arithmetic(Box<Expr>, char, Box<Expr>),
    Concat(Box<Expr>, Box<Expr>),
    Compare(Box<Expr>, CompareOp, Box<Expr>),
    Like {
        value: Box<Expr>,
        pattern: Box<Expr>,
        escape: Option<Box<Expr>>,
        negated: bool,
    },
    Between {
        value: Box<Expr>,
        low: Box<Expr>,
        high: Box<Expr>,
        negated: bool,
    },
    In {
        value: Box<Expr>,
        list: Vec<Expr>,
        negated: bool,
    },
    IsNull(Box<Expr>, bool),
    Not(Box<Expr>),
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Call(Function, Vec<Expr>),
}

/// How an expression is written: Flows' `plsqlExpression` or `plsqlFunctionBody` (and their
/// `Raw` forms, which differ only in the type of the result).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    Expression,
    FunctionBody,
}

/// A parsed expression with its text.
#[derive(Debug, Clone, PartialEq)]
pub struct Expression {
    tree: Expr,
    text: String,
}

/// What an expression can read while it is evaluated.
pub trait Env {
    /// A process variable of the scope the expression runs in, by name in any case.
    fn variable(&self, name: &str) -> Option<VariableValue>;
    /// Flows' built-in names (`PROCESS_ID`, `SUBFLOW_ID`, `STEP_KEY`, `SCOPE`,
    /// `LOOP_COUNTER`, …), upper case.
    fn builtin(&self, name: &str) -> Option<Value>;
    fn now(&self) -> DateTime<Utc>;
}

impl Expression {
    /// Parses an expression or a function body (text already XML-unescaped).
    pub fn parse(text: &str, form: Form) -> Result<Self, SyntaxError> {
        let parser = parser::Parser::new(text)?;
        let tree = match form {
            Form::Expression => parser.expression()?,
            Form::FunctionBody => parser.function_body()?,
        };
        Ok(Self {
            tree,
            text: text.trim().to_owned(),
        })
    }

    /// Parses a condition: an expression or function body that yields true or false.
    pub fn parse_condition(text: &str, form: Form) -> Result<Self, SyntaxError> {
        let expression = Self::parse(text, form)?;
        if !expression.tree.is_boolean() {
            return Err(SyntaxError {
                position: 1,
                message: "a condition must be true or false (a comparison, like, between, in \
                          or is null)"
                    .to_string(),
            });
        }
        Ok(expression)
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// Evaluates to a value.
    pub fn evaluate(&self, env: &dyn Env) -> Result<Value, EvalError> {
        eval::evaluate(&self.tree, env)
    }

    /// Evaluates a condition: true only when it holds (false and unknown do not).
    pub fn holds(&self, env: &dyn Env) -> Result<bool, EvalError> {
        match self.evaluate(env)? {
            Value::Bool(holds) => Ok(holds),
            Value::Null => Ok(false),
            other => Err(EvalError(format!(
                "the condition gave {} instead of true or false",
                other.describe()
            ))),
        }
    }

    /// The process variables the expression reads (binds and substitutions), as written.
    #[cfg(test)]
    pub fn variables(&self) -> Vec<String> {
        let mut names = Vec::new();
        self.tree.collect_variables(&mut names);
        names
    }
}

impl Expr {
    fn is_boolean(&self) -> bool {
        matches!(
            self,
            Self::Boolean(_)
                | Self::Compare(..)
                | Self::Like { .. }
                | Self::Between { .. }
                | Self::In { .. }
                | Self::IsNull(..)
                | Self::Not(_)
                | Self::And(_)
                | Self::Or(_)
        )
    }

    #[cfg(test)]
    fn collect_variables(&self, names: &mut Vec<String>) {
        let mut add = |name: &String| {
            if !names.contains(name) {
                names.push(name.clone());
            }
        };
        match self {
            Self::Bind(name) | Self::Substitution(name) => add(name),
            Self::Text(pieces) => {
                for piece in pieces {
                    if let Piece::Substitution(name) = piece {
                        add(name);
                    }
                }
            }
            Self::Negate(inner) | Self::Not(inner) | Self::IsNull(inner, _) => {
                inner.collect_variables(names);
            }
            Self::Arithmetic(left, _, right)
            | Self::Concat(left, right)
            | Self::Compare(left, _, right) => {
                left.collect_variables(names);
                right.collect_variables(names);
            }
            Self::Like {
                value,
                pattern,
                escape,
                ..
            } => {
                value.collect_variables(names);
                pattern.collect_variables(names);
                if let Some(escape) = escape {
                    escape.collect_variables(names);
                }
            }
            Self::Between {
                value, low, high, ..
            } => {
                for part in [value, low, high] {
                    part.collect_variables(names);
                }
            }
            Self::In { value, list, .. } => {
                value.collect_variables(names);
                for item in list {
                    item.collect_variables(names);
                }
            }
            Self::And(terms) | Self::Or(terms) | Self::Call(_, terms) => {
                for term in terms {
                    term.collect_variables(names);
                }
            }
            Self::Null | Self::Boolean(_) | Self::Number(_) | Self::Now => {}
        }
    }
}

/// The text Flows binds for a variable (`get_var_as_vc2`).
pub fn bind_value(value: &VariableValue) -> Value {
    Value::text(value.render())
}

/// A date-time as the subset's values hold it (UTC, no zone).
pub fn naive(date: &DateTime<Utc>) -> NaiveDateTime {
    date.naive_utc()
}
