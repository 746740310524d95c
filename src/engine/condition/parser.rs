//! Tokenizer and recursive-descent parser for conditions.
//!
//! ```text
//! condition  := or
//! or         := and ("or" and)*
//! and        := unary ("and" unary)*
//! unary      := "not" unary | "(" or ")" | comparison
//! comparison := operand ("=" | "!=" | "<>" | "<" | "<=" | ">" | ">=") operand
//! operand    := identifier | number | 'string'
//! ```
//! Keywords are case-insensitive. Nesting is capped so that hostile input cannot exhaust
//! the stack.

use super::{CompareOp, Condition, ConditionError, Operand};

/// Deepest nesting of parentheses and `not` that is accepted.
const MAX_DEPTH: usize = 64;

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Identifier(String),
    Number(f64),
    Text(String),
    Compare(CompareOp),
    OpenParen,
    CloseParen,
    And,
    Or,
    Not,
}

impl Token {
    fn describe(&self) -> String {
        match self {
            Self::Identifier(name) => format!("'{name}'"),
            Self::Number(number) => format!("number {number}"),
            Self::Text(_) => "a string".to_string(),
            Self::Compare(op) => format!("'{}'", op.symbol()),
            Self::OpenParen => "'('".to_string(),
            Self::CloseParen => "')'".to_string(),
            Self::And => "'and'".to_string(),
            Self::Or => "'or'".to_string(),
            Self::Not => "'not'".to_string(),
        }
    }
}

struct Spanned {
    token: Token,
    /// 1-based character position of the token's first character.
    position: usize,
}

fn error(position: usize, message: impl Into<String>) -> ConditionError {
    ConditionError {
        position,
        message: message.into(),
    }
}

fn tokenize(text: &str) -> Result<Vec<Spanned>, ConditionError> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut index = 0;
    while let Some(&current) = chars.get(index) {
        let position = index + 1;
        let next = chars.get(index + 1).copied();
        let (token, length) = match current {
            c if c.is_whitespace() => {
                index += 1;
                continue;
            }
            '(' => (Token::OpenParen, 1),
            ')' => (Token::CloseParen, 1),
            '=' => (Token::Compare(CompareOp::Equal), 1),
            '!' if next == Some('=') => (Token::Compare(CompareOp::NotEqual), 2),
            '<' if next == Some('=') => (Token::Compare(CompareOp::LessOrEqual), 2),
            '<' if next == Some('>') => (Token::Compare(CompareOp::NotEqual), 2),
            '<' => (Token::Compare(CompareOp::Less), 1),
            '>' if next == Some('=') => (Token::Compare(CompareOp::GreaterOrEqual), 2),
            '>' => (Token::Compare(CompareOp::Greater), 1),
            '\'' => lex_text(&chars, index)?,
            c if c.is_ascii_digit() || (c == '-' && next.is_some_and(|n| n.is_ascii_digit())) => {
                lex_number(&chars, index)?
            }
            c if c.is_alphabetic() || c == '_' => lex_word(&chars, index),
            other => return Err(error(position, format!("unexpected character '{other}'"))),
        };
        tokens.push(Spanned { token, position });
        index += length;
    }
    Ok(tokens)
}

/// A 'quoted string' starting at `start`; a doubled quote stands for one quote.
fn lex_text(chars: &[char], start: usize) -> Result<(Token, usize), ConditionError> {
    let mut text = String::new();
    let mut index = start + 1;
    loop {
        match chars.get(index) {
            None => return Err(error(start + 1, "unterminated string")),
            Some('\'') if chars.get(index + 1) == Some(&'\'') => {
                text.push('\'');
                index += 2;
            }
            Some('\'') => return Ok((Token::Text(text), index + 1 - start)),
            Some(&c) => {
                text.push(c);
                index += 1;
            }
        }
    }
}

/// An optionally negative decimal number: digits, optionally a fraction.
fn lex_number(chars: &[char], start: usize) -> Result<(Token, usize), ConditionError> {
    let digits_from = |from: usize| {
        chars[from..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count()
    };
    let mut end = start + usize::from(chars[start] == '-');
    end += digits_from(end);
    if chars.get(end) == Some(&'.') {
        let fraction = digits_from(end + 1);
        if fraction == 0 {
            return Err(error(end + 1, "expected digits after '.'"));
        }
        end += 1 + fraction;
    }
    if chars
        .get(end)
        .is_some_and(|c| c.is_alphanumeric() || *c == '_' || *c == '.')
    {
        return Err(error(end + 1, "unexpected character after number"));
    }
    let literal: String = chars[start..end].iter().collect();
    match literal.parse::<f64>() {
        Ok(number) if number.is_finite() => Ok((Token::Number(number), end - start)),
        _ => Err(error(
            start + 1,
            format!("number {literal} is out of range"),
        )),
    }
}

/// A variable name or one of the keywords `and`, `or`, `not`.
fn lex_word(chars: &[char], start: usize) -> (Token, usize) {
    let length = chars[start..]
        .iter()
        .take_while(|c| c.is_alphanumeric() || **c == '_')
        .count();
    let word: String = chars[start..start + length].iter().collect();
    let token = match word.to_lowercase().as_str() {
        "and" => Token::And,
        "or" => Token::Or,
        "not" => Token::Not,
        _ => Token::Identifier(word),
    };
    (token, length)
}

struct Parser {
    tokens: Vec<Spanned>,
    next: usize,
    depth: usize,
    /// Position reported for "unexpected end of condition".
    end_position: usize,
}

pub(super) fn parse(text: &str) -> Result<Condition, ConditionError> {
    let mut parser = Parser {
        tokens: tokenize(text)?,
        next: 0,
        depth: 0,
        end_position: text.chars().count() + 1,
    };
    if parser.tokens.is_empty() {
        return Err(error(1, "empty condition"));
    }
    let condition = parser.parse_or()?;
    match parser.tokens.get(parser.next) {
        None => Ok(condition),
        Some(extra) => Err(error(
            extra.position,
            format!("unexpected {} after the condition", extra.token.describe()),
        )),
    }
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.next).map(|spanned| &spanned.token)
    }

    fn eat(&mut self, expected: &Token) -> bool {
        let found = self.peek() == Some(expected);
        if found {
            self.next += 1;
        }
        found
    }

    fn unexpected(&self, wanted: &str) -> ConditionError {
        match self.tokens.get(self.next) {
            Some(found) => error(
                found.position,
                format!("expected {wanted}, found {}", found.token.describe()),
            ),
            None => error(
                self.end_position,
                format!("expected {wanted}, found the end of the condition"),
            ),
        }
    }

    fn parse_or(&mut self) -> Result<Condition, ConditionError> {
        let mut terms = vec![self.parse_and()?];
        while self.eat(&Token::Or) {
            terms.push(self.parse_and()?);
        }
        Ok(single_or(terms, Condition::Or))
    }

    fn parse_and(&mut self) -> Result<Condition, ConditionError> {
        let mut terms = vec![self.parse_unary()?];
        while self.eat(&Token::And) {
            terms.push(self.parse_unary()?);
        }
        Ok(single_or(terms, Condition::And))
    }

    fn parse_unary(&mut self) -> Result<Condition, ConditionError> {
        if self.eat(&Token::Not) {
            let inner = self.nested(Self::parse_unary)?;
            return Ok(Condition::Not(Box::new(inner)));
        }
        if self.eat(&Token::OpenParen) {
            let inner = self.nested(Self::parse_or)?;
            if !self.eat(&Token::CloseParen) {
                return Err(self.unexpected("')'"));
            }
            return Ok(inner);
        }
        self.parse_comparison()
    }

    /// Runs `parse` one nesting level deeper, refusing input that nests too deeply.
    fn nested(
        &mut self,
        parse: fn(&mut Self) -> Result<Condition, ConditionError>,
    ) -> Result<Condition, ConditionError> {
        if self.depth >= MAX_DEPTH {
            let position = self
                .tokens
                .get(self.next)
                .map_or(self.end_position, |t| t.position);
            return Err(error(
                position,
                format!("nested more than {MAX_DEPTH} levels deep"),
            ));
        }
        self.depth += 1;
        let result = parse(self);
        self.depth -= 1;
        result
    }

    fn parse_comparison(&mut self) -> Result<Condition, ConditionError> {
        let left = self.parse_operand()?;
        let Some(Token::Compare(op)) = self.peek().cloned() else {
            return Err(self.unexpected("a comparison operator"));
        };
        self.next += 1;
        let right = self.parse_operand()?;
        Ok(Condition::Compare { left, op, right })
    }

    fn parse_operand(&mut self) -> Result<Operand, ConditionError> {
        let operand = match self.peek() {
            Some(Token::Identifier(name)) => Operand::Variable(name.clone()),
            Some(Token::Number(number)) => Operand::Number(*number),
            Some(Token::Text(text)) => Operand::Text(text.clone()),
            _ => return Err(self.unexpected("a variable, number or 'string'")),
        };
        self.next += 1;
        Ok(operand)
    }
}

/// One term stands for itself; several become an `and`/`or` node.
fn single_or(mut terms: Vec<Condition>, combine: fn(Vec<Condition>) -> Condition) -> Condition {
    if terms.len() == 1 {
        terms.remove(0)
    } else {
        combine(terms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn compare(name: &str, op: CompareOp, right: Operand) -> Condition {
        Condition::Compare {
            left: Operand::Variable(name.to_string()),
            op,
            right,
        }
    }

    #[test]
    fn parses_the_sample_condition() {
        assert_eq!(
            parse("amount > 1000"),
            Ok(compare(
                "amount",
                CompareOp::Greater,
                Operand::Number(1000.0)
            ))
        );
    }

    #[test]
    fn and_binds_tighter_than_or() {
        let parsed = parse("a = 1 or b = 2 and c = 3").expect("parses");
        let Condition::Or(terms) = parsed else {
            panic!("expected or, got {parsed:?}");
        };
        assert!(matches!(
            terms.as_slice(),
            [Condition::Compare { .. }, Condition::And(_)]
        ));
    }

    #[test]
    fn all_operators_are_recognised() {
        for (text, op) in [
            ("=", CompareOp::Equal),
            ("!=", CompareOp::NotEqual),
            ("<>", CompareOp::NotEqual),
            ("<", CompareOp::Less),
            ("<=", CompareOp::LessOrEqual),
            (">", CompareOp::Greater),
            (">=", CompareOp::GreaterOrEqual),
        ] {
            assert_eq!(
                parse(&format!("x {text} 'y'")),
                Ok(compare("x", op, Operand::Text("y".into())))
            );
        }
    }

    #[test]
    fn syntax_errors_say_where() {
        let cases = [
            ("", 1, "empty condition"),
            ("amount >", 9, "expected a variable, number or 'string'"),
            ("amount 5", 8, "expected a comparison operator"),
            ("(a = 1", 7, "expected ')'"),
            ("a = 'open", 5, "unterminated string"),
            ("a = 1 b = 2", 7, "unexpected 'b' after the condition"),
            ("a ! 1", 3, "unexpected character '!'"),
            ("a = 1.", 6, "expected digits after '.'"),
            ("a = 12abc", 7, "unexpected character after number"),
            ("a = 1 and", 10, "expected a variable"),
            ("not", 4, "expected a variable"),
        ];
        for (text, position, message) in cases {
            let found = parse(text).expect_err(text);
            assert_eq!(found.position, position, "{text}: {found}");
            assert!(found.message.starts_with(message), "{text}: {found}");
        }
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let deep = format!("{}a = 1{}", "(".repeat(10_000), ")".repeat(10_000));
        assert!(parse(&deep).is_err());
        let nots = format!("{}a = 1", "not ".repeat(10_000));
        assert!(parse(&nots).is_err());
        let shallow = format!("{}a = 1{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
        assert!(parse(&shallow).is_ok());
    }

    #[test]
    fn long_chains_stay_flat() {
        let chain = vec!["a = 1"; 5_000].join(" and ");
        let Ok(Condition::And(terms)) = parse(&chain) else {
            panic!("expected a flat and");
        };
        assert_eq!(terms.len(), 5_000);
    }

    #[test]
    fn huge_numbers_are_refused() {
        let huge = format!("a = 1{}", "0".repeat(400));
        assert!(parse(&huge).is_err());
    }

    fn variable_name() -> impl Strategy<Value = String> {
        "[a-zA-Z_][a-zA-Z0-9_]{0,8}".prop_filter("keywords are not names", |name| {
            !matches!(name.to_lowercase().as_str(), "and" | "or" | "not")
        })
    }

    fn operand() -> impl Strategy<Value = Operand> {
        prop_oneof![
            variable_name().prop_map(Operand::Variable),
            (-1.0e9..1.0e9f64).prop_map(Operand::Number),
            any::<i32>().prop_map(|n| Operand::Number(f64::from(n))),
            ".{0,8}".prop_map(Operand::Text),
        ]
    }

    fn compare_op() -> impl Strategy<Value = CompareOp> {
        prop_oneof![
            Just(CompareOp::Equal),
            Just(CompareOp::NotEqual),
            Just(CompareOp::Less),
            Just(CompareOp::LessOrEqual),
            Just(CompareOp::Greater),
            Just(CompareOp::GreaterOrEqual),
        ]
    }

    fn condition() -> impl Strategy<Value = Condition> {
        let leaf = (operand(), compare_op(), operand())
            .prop_map(|(left, op, right)| Condition::Compare { left, op, right });
        leaf.prop_recursive(4, 32, 4, |inner| {
            prop_oneof![
                inner.clone().prop_map(|c| Condition::Not(Box::new(c))),
                prop::collection::vec(inner.clone(), 2..4).prop_map(Condition::And),
                prop::collection::vec(inner, 2..4).prop_map(Condition::Or),
            ]
        })
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(text in any::<String>()) {
            let _ = parse(&text);
        }

        #[test]
        fn condition_like_text_never_panics(
            text in r"[a-z0-9 '()=!<>.\-]{0,40}|(not |and |or |\(|\)|x|= |'a'|1 ){0,20}"
        ) {
            let _ = parse(&text);
        }

        #[test]
        fn printed_conditions_parse_back(condition in condition()) {
            let printed = condition.to_string();
            prop_assert_eq!(parse(&printed), Ok(condition), "printed as {}", printed);
        }
    }
}
