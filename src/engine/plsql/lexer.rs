//! Tokens of the PL/SQL subset: words, numbers, 'strings' (with `&F4A$name.` substitutions
//! kept as holes), `:F4A$name` binds, `&F4A$name.` substitutions and operators.

use super::SyntaxError;

#[derive(Debug, Clone, PartialEq)]
pub enum Token {
    /// A name: a keyword, a function or something outside the subset. Dotted names
    /// (`dbms_random.value`) are one word.
    Word(String),
    Number(f64),
    /// A string literal: text and `&F4A$name.` holes in order.
    Text(Vec<Piece>),
    /// `:F4A$name`.
    Bind(String),
    /// A bind that is not a Flows variable (`:P1_ITEM`, `:1`).
    ForeignBind(String),
    /// `&F4A$name.` outside a string.
    Substitution(String),
    Symbol(&'static str),
}

/// Part of a string literal.
#[derive(Debug, Clone, PartialEq)]
pub enum Piece {
    Text(String),
    Substitution(String),
}

pub struct Spanned {
    pub token: Token,
    /// 1-based character position.
    pub position: usize,
}

const SYMBOLS: [&str; 16] = [
    "||", "<>", "!=", "^=", "<=", ">=", "=>", "=", "<", ">", "+", "-", "*", "/", "(", ")",
];

fn error(position: usize, message: impl Into<String>) -> SyntaxError {
    SyntaxError {
        position,
        message: message.into(),
    }
}

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '$' || c == '#'
}

/// A Flows variable name after `F4A$` (`[a-zA-Z0-9:_]`, plus `-` in substitutions).
fn variable_name(chars: &[char], start: usize, allow_dash: bool) -> usize {
    chars[start..]
        .iter()
        .take_while(|&&c| c.is_alphanumeric() || c == '_' || c == ':' || (allow_dash && c == '-'))
        .count()
}

fn starts_with_ignore_case(chars: &[char], at: usize, word: &str) -> bool {
    word.chars().enumerate().all(|(offset, c)| {
        chars
            .get(at + offset)
            .is_some_and(|d| d.eq_ignore_ascii_case(&c))
    })
}

/// `&F4A$name.` at `at`: the name and the length consumed.
fn substitution(chars: &[char], at: usize) -> Option<(String, usize)> {
    if !starts_with_ignore_case(chars, at, "&F4A$") {
        return None;
    }
    let length = variable_name(chars, at + 5, true);
    let after = at + 5 + length;
    (length > 0 && chars.get(after) == Some(&'.'))
        .then(|| (chars[at + 5..after].iter().collect(), length + 6))
}

pub fn tokenize(text: &str) -> Result<Vec<Spanned>, SyntaxError> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut index = 0;
    while let Some(&c) = chars.get(index) {
        let position = index + 1;
        if c.is_whitespace() {
            index += 1;
            continue;
        }
        if c == '-' && chars.get(index + 1) == Some(&'-') {
            while chars.get(index).is_some_and(|&c| c != '\n') {
                index += 1;
            }
            continue;
        }
        if c == '/' && chars.get(index + 1) == Some(&'*') {
            let end = chars[index + 2..]
                .windows(2)
                .position(|pair| pair == ['*', '/'])
                .ok_or_else(|| error(position, "unterminated comment"))?;
            index += end + 4;
            continue;
        }
        let (token, length) = if c == '\'' {
            lex_text(&chars, index)?
        } else if c == ':' {
            let rest_at = index + 1;
            if starts_with_ignore_case(&chars, rest_at, "F4A$") {
                let length = variable_name(&chars, rest_at + 4, false);
                if length == 0 {
                    return Err(error(position, "a bind :F4A$ needs a variable name"));
                }
                let name: String = chars[rest_at + 4..rest_at + 4 + length].iter().collect();
                (Token::Bind(name), length + 5)
            } else {
                let length = chars[rest_at..]
                    .iter()
                    .take_while(|&&c| is_name_char(c))
                    .count();
                if length == 0 {
                    return Err(error(position, "unexpected ':'"));
                }
                let name: String = chars[index..rest_at + length].iter().collect();
                (Token::ForeignBind(name), length + 1)
            }
        } else if c == '&' {
            let (name, length) =
                substitution(&chars, index).ok_or_else(|| error(position, "unexpected '&'"))?;
            (Token::Substitution(name), length)
        } else if c.is_ascii_digit()
            || (c == '.' && chars.get(index + 1).is_some_and(char::is_ascii_digit))
        {
            lex_number(&chars, index)?
        } else if c.is_alphabetic() || c == '"' {
            lex_word(&chars, index)?
        } else if c == ';' || c == ',' {
            (Token::Symbol(if c == ';' { ";" } else { "," }), 1)
        } else {
            let symbol = SYMBOLS.iter().find(|symbol| {
                symbol
                    .chars()
                    .enumerate()
                    .all(|(offset, s)| chars.get(index + offset) == Some(&s))
            });
            match symbol {
                Some(symbol) => (Token::Symbol(symbol), symbol.len()),
                None => return Err(error(position, format!("unexpected character '{c}'"))),
            }
        };
        tokens.push(Spanned { token, position });
        index += length;
    }
    Ok(tokens)
}

fn lex_text(chars: &[char], start: usize) -> Result<(Token, usize), SyntaxError> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut index = start + 1;
    loop {
        match chars.get(index) {
            None => return Err(error(start + 1, "unterminated string")),
            Some('\'') if chars.get(index + 1) == Some(&'\'') => {
                text.push('\'');
                index += 2;
            }
            Some('\'') => break,
            Some('&') => match substitution(chars, index) {
                Some((name, length)) => {
                    if !text.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut text)));
                    }
                    pieces.push(Piece::Substitution(name));
                    index += length;
                }
                None => {
                    text.push('&');
                    index += 1;
                }
            },
            Some(&c) => {
                text.push(c);
                index += 1;
            }
        }
    }
    if !text.is_empty() || pieces.is_empty() {
        pieces.push(Piece::Text(text));
    }
    Ok((Token::Text(pieces), index + 1 - start))
}

fn lex_number(chars: &[char], start: usize) -> Result<(Token, usize), SyntaxError> {
    let digits = |from: usize| {
        chars[from..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count()
    };
    let mut end = start + digits(start);
    if chars.get(end) == Some(&'.') && chars.get(end + 1) != Some(&'.') {
        end += 1 + digits(end + 1);
    }
    if chars.get(end).is_some_and(|c| matches!(c, 'e' | 'E'))
        && chars
            .get(end + 1)
            .is_some_and(|c| c.is_ascii_digit() || *c == '-' || *c == '+')
    {
        end += 2 + digits(end + 2);
    }
    if chars.get(end).is_some_and(|c| is_name_char(*c)) {
        return Err(error(end + 1, "unexpected character after a number"));
    }
    let literal: String = chars[start..end].iter().collect();
    match literal.parse::<f64>() {
        Ok(number) if number.is_finite() => Ok((Token::Number(number), end - start)),
        _ => Err(error(
            start + 1,
            format!("{literal} is not a usable number"),
        )),
    }
}

/// A name, possibly dotted (`pkg.function`), possibly "quoted".
fn lex_word(chars: &[char], start: usize) -> Result<(Token, usize), SyntaxError> {
    let mut index = start;
    let mut word = String::new();
    loop {
        if chars.get(index) == Some(&'"') {
            let length = chars[index + 1..]
                .iter()
                .position(|&c| c == '"')
                .ok_or_else(|| error(index + 1, "unterminated quoted name"))?;
            word.extend(chars[index + 1..index + 1 + length].iter());
            index += length + 2;
        } else {
            let length = chars[index..]
                .iter()
                .take_while(|&&c| is_name_char(c))
                .count();
            word.extend(chars[index..index + length].iter());
            index += length;
        }
        let dotted = chars.get(index) == Some(&'.')
            && chars
                .get(index + 1)
                .is_some_and(|&c| c.is_alphabetic() || c == '"');
        if !dotted {
            break;
        }
        word.push('.');
        index += 1;
    }
    Ok((Token::Word(word), index - start))
}
