//! Recursive-descent parser for the PL/SQL subset, with Oracle's precedence:
//!
//! ```text
//! expression := or
//! or         := and ("or" and)*
//! and        := not ("and" not)*
//! not        := "not" not | predicate
//! predicate  := sum [ compare sum | [not] like sum [escape sum] | [not] between sum and sum
//!                   | [not] in "(" expression {"," expression} ")" | is [not] null ]
//! sum        := product (("+" | "-" | "||") product)*
//! product    := unary (("*" | "/") unary)*
//! unary      := ("-" | "+") unary | primary
//! primary    := number | 'text' | :F4A$name | &F4A$name. | null | true | false
//!             | sysdate | systimestamp | current_date | function "(" [arguments] ")"
//!             | "(" expression ")"
//! body       := ["begin"] "return" expression ";" ["end" [";"]]
//! ```
//! Anything else is refused, naming the part. Nesting is capped.

use super::functions::Function;
use super::lexer::{Spanned, Token, tokenize};
use super::{CompareOp, Expr, SyntaxError};

const MAX_DEPTH: usize = 64;

const RESERVED: &[&str] = &[
    "and", "or", "not", "like", "between", "in", "is", "null", "escape", "return", "begin", "end",
    "declare",
];

pub struct Parser {
    tokens: Vec<Spanned>,
    next: usize,
    depth: usize,
    end_position: usize,
}

fn error(position: usize, message: impl Into<String>) -> SyntaxError {
    SyntaxError {
        position,
        message: message.into(),
    }
}

impl Parser {
    pub fn new(text: &str) -> Result<Self, SyntaxError> {
        Ok(Self {
            tokens: tokenize(text)?,
            next: 0,
            depth: 0,
            end_position: text.chars().count() + 1,
        })
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.next).map(|spanned| &spanned.token)
    }

    fn position(&self) -> usize {
        self.tokens
            .get(self.next)
            .map_or(self.end_position, |spanned| spanned.position)
    }

    fn is_word(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(w)) if w.eq_ignore_ascii_case(word))
    }

    fn is_symbol(&self, symbol: &str) -> bool {
        matches!(self.peek(), Some(Token::Symbol(s)) if *s == symbol)
    }

    fn eat_word(&mut self, word: &str) -> bool {
        let found = self.is_word(word);
        if found {
            self.next += 1;
        }
        found
    }

    fn eat_symbol(&mut self, symbol: &str) -> bool {
        let found = self.is_symbol(symbol);
        if found {
            self.next += 1;
        }
        found
    }

    fn expect_symbol(&mut self, symbol: &str) -> Result<(), SyntaxError> {
        if self.eat_symbol(symbol) {
            Ok(())
        } else {
            Err(error(
                self.position(),
                format!("expected '{symbol}'{}", self.found()),
            ))
        }
    }

    fn found(&self) -> String {
        match self.peek() {
            None => ", found the end".to_string(),
            Some(token) => format!(", found {}", describe(token)),
        }
    }

    /// A whole expression; nothing may follow (a trailing `;` is allowed).
    pub fn expression(mut self) -> Result<Expr, SyntaxError> {
        let expr = self.or()?;
        self.eat_symbol(";");
        self.finish()?;
        Ok(expr)
    }

    /// A function body `[begin] return expression; [end;]`.
    pub fn function_body(mut self) -> Result<Expr, SyntaxError> {
        if self.is_word("declare") {
            return Err(error(
                self.position(),
                "declarations are outside the PL/SQL subset (only `return …;` bodies)",
            ));
        }
        let wrapped = self.eat_word("begin");
        if !self.eat_word("return") {
            return Err(error(
                self.position(),
                format!(
                    "only function bodies of the form `return …;` are supported{}",
                    self.found()
                ),
            ));
        }
        let expr = self.or()?;
        self.expect_symbol(";")?;
        if wrapped {
            if !self.eat_word("end") {
                return Err(error(
                    self.position(),
                    format!("only a single `return …;` is supported{}", self.found()),
                ));
            }
            self.eat_symbol(";");
        }
        self.finish()?;
        Ok(expr)
    }

    fn finish(&self) -> Result<(), SyntaxError> {
        match self.peek() {
            None => Ok(()),
            Some(token) => Err(error(
                self.position(),
                format!("unexpected {} after the expression", describe(token)),
            )),
        }
    }

    fn nested<T>(
        &mut self,
        parse: impl FnOnce(&mut Self) -> Result<T, SyntaxError>,
    ) -> Result<T, SyntaxError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(error(
                self.position(),
                "the expression is nested too deeply",
            ));
        }
        let result = parse(self);
        self.depth -= 1;
        result
    }

    fn or(&mut self) -> Result<Expr, SyntaxError> {
        let mut terms = vec![self.and()?];
        while self.eat_word("or") {
            terms.push(self.and()?);
        }
        Ok(if terms.len() == 1 {
            terms.remove(0)
        } else {
            Expr::Or(terms)
        })
    }

    fn and(&mut self) -> Result<Expr, SyntaxError> {
        let mut terms = vec![self.not()?];
        while self.eat_word("and") {
            terms.push(self.not()?);
        }
        Ok(if terms.len() == 1 {
            terms.remove(0)
        } else {
            Expr::And(terms)
        })
    }

    fn not(&mut self) -> Result<Expr, SyntaxError> {
        if self.eat_word("not") {
            return self
                .nested(|p| p.not())
                .map(|inner| Expr::Not(Box::new(inner)));
        }
        self.predicate()
    }

    fn predicate(&mut self) -> Result<Expr, SyntaxError> {
        let left = self.sum()?;
        let op = match self.peek() {
            Some(Token::Symbol("=")) => Some(CompareOp::Equal),
            Some(Token::Symbol("<>" | "!=" | "^=")) => Some(CompareOp::NotEqual),
            Some(Token::Symbol("<")) => Some(CompareOp::Less),
            Some(Token::Symbol("<=")) => Some(CompareOp::LessOrEqual),
            Some(Token::Symbol(">")) => Some(CompareOp::Greater),
            Some(Token::Symbol(">=")) => Some(CompareOp::GreaterOrEqual),
            _ => None,
        };
        if let Some(op) = op {
            self.next += 1;
            let right = self.sum()?;
            return Ok(Expr::Compare(Box::new(left), op, Box::new(right)));
        }
        if self.eat_word("is") {
            let negated = self.eat_word("not");
            if !self.eat_word("null") {
                return Err(error(
                    self.position(),
                    format!("expected 'null' after 'is'{}", self.found()),
                ));
            }
            return Ok(Expr::IsNull(Box::new(left), negated));
        }
        let negated = self.is_word("not")
            && matches!(self.tokens.get(self.next + 1).map(|s| &s.token),
                Some(Token::Word(w)) if ["like", "between", "in"].iter().any(|k| w.eq_ignore_ascii_case(k)));
        if negated {
            self.next += 1;
        }
        if self.eat_word("like") {
            let pattern = self.sum()?;
            let escape = if self.eat_word("escape") {
                Some(Box::new(self.sum()?))
            } else {
                None
            };
            return Ok(Expr::Like {
                value: Box::new(left),
                pattern: Box::new(pattern),
                escape,
                negated,
            });
        }
        if self.eat_word("between") {
            let low = self.sum()?;
            if !self.eat_word("and") {
                return Err(error(
                    self.position(),
                    format!("expected 'and' in 'between'{}", self.found()),
                ));
            }
            let high = self.sum()?;
            return Ok(Expr::Between {
                value: Box::new(left),
                low: Box::new(low),
                high: Box::new(high),
                negated,
            });
        }
        if self.eat_word("in") {
            self.expect_symbol("(")?;
            let mut list = vec![self.nested(|p| p.or())?];
            while self.eat_symbol(",") {
                list.push(self.nested(|p| p.or())?);
            }
            self.expect_symbol(")")?;
            return Ok(Expr::In {
                value: Box::new(left),
                list,
                negated,
            });
        }
        if negated {
            return Err(error(
                self.position(),
                "expected like, between or in after 'not'",
            ));
        }
        Ok(left)
    }

    fn sum(&mut self) -> Result<Expr, SyntaxError> {
        let mut left = self.product()?;
        loop {
            let op = match self.peek() {
                Some(Token::Symbol(s @ ("+" | "-" | "||"))) => *s,
                _ => return Ok(left),
            };
            self.next += 1;
            let right = self.product()?;
            left = match op {
                "||" => Expr::Concat(Box::new(left), Box::new(right)),
                _ => Expr::Arithmetic(
                    Box::new(left),
                    op.chars().next().unwrap_or('+'),
                    Box::new(right),
                ),
            };
        }
    }

    fn product(&mut self) -> Result<Expr, SyntaxError> {
        let mut left = self.unary()?;
        loop {
            let op = match self.peek() {
                Some(Token::Symbol(s @ ("*" | "/"))) => *s,
                _ => return Ok(left),
            };
            self.next += 1;
            let right = self.unary()?;
            left = Expr::Arithmetic(
                Box::new(left),
                op.chars().next().unwrap_or('*'),
                Box::new(right),
            );
        }
    }

    fn unary(&mut self) -> Result<Expr, SyntaxError> {
        if self.eat_symbol("-") {
            return self
                .nested(|p| p.unary())
                .map(|inner| Expr::Negate(Box::new(inner)));
        }
        if self.eat_symbol("+") {
            return self.nested(|p| p.unary());
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, SyntaxError> {
        let position = self.position();
        let Some(token) = self.peek().cloned() else {
            return Err(error(position, "the expression ends too early"));
        };
        self.next += 1;
        match token {
            Token::Number(number) => Ok(Expr::Number(number)),
            Token::Text(pieces) => Ok(Expr::Text(pieces)),
            Token::Bind(name) => Ok(Expr::Bind(name)),
            Token::Substitution(name) => Ok(Expr::Substitution(name)),
            Token::ForeignBind(name) => Err(error(
                position,
                format!("bind {name} is not a Flows process variable (use :F4A$name)"),
            )),
            Token::Symbol("(") => {
                let inner = self.nested(|p| p.or())?;
                self.expect_symbol(")")?;
                Ok(inner)
            }
            Token::Symbol(symbol) => Err(error(position, format!("unexpected '{symbol}'"))),
            Token::Word(word) => self.word(&word, position),
        }
    }

    fn word(&mut self, word: &str, position: usize) -> Result<Expr, SyntaxError> {
        let lower = word.to_ascii_lowercase();
        match lower.as_str() {
            "null" => return Ok(Expr::Null),
            "true" => return Ok(Expr::Boolean(true)),
            "false" => return Ok(Expr::Boolean(false)),
            "sysdate" | "current_date" | "localtimestamp" | "systimestamp"
            | "current_timestamp"
                if !self.is_symbol("(") =>
            {
                return Ok(Expr::Now);
            }
            _ => {}
        }
        if RESERVED.contains(&lower.as_str()) {
            return Err(error(position, format!("unexpected '{word}'")));
        }
        if !self.is_symbol("(") {
            return Err(error(
                position,
                format!(
                    "'{word}' is outside the PL/SQL subset (process variables are written :F4A${word})"
                ),
            ));
        }
        let function = Function::named(&lower).ok_or_else(|| {
            error(
                position,
                format!("function {word} is outside the PL/SQL subset"),
            )
        })?;
        self.next += 1;
        let mut arguments = Vec::new();
        if !self.eat_symbol(")") {
            loop {
                if matches!(
                    self.tokens.get(self.next + 1).map(|s| &s.token),
                    Some(Token::Symbol("=>"))
                ) {
                    return Err(error(
                        self.position(),
                        "named arguments (=>) are outside the PL/SQL subset",
                    ));
                }
                arguments.push(self.nested(|p| p.or())?);
                if self.eat_symbol(")") {
                    break;
                }
                self.expect_symbol(",")?;
            }
        }
        function
            .check_arity(arguments.len())
            .map_err(|why| error(position, format!("{word}: {why}")))?;
        Ok(Expr::Call(function, arguments))
    }
}

fn describe(token: &Token) -> String {
    match token {
        Token::Word(word) => format!("'{word}'"),
        Token::Number(number) => format!("number {number}"),
        Token::Text(_) => "a string".to_string(),
        Token::Bind(name) => format!("bind :F4A${name}"),
        Token::ForeignBind(name) => format!("bind {name}"),
        Token::Substitution(name) => format!("&F4A${name}."),
        Token::Symbol(symbol) => format!("'{symbol}'"),
    }
}
