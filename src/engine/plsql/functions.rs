//! The SQL functions of the subset: `upper`, `lower`, `initcap`, `trim`, `ltrim`, `rtrim`,
//! `nvl`, `nvl2`, `coalesce`, `to_number`, `to_char`, `to_date`, `length`, `substr`, `instr`,
//! `replace`, `round`, `trunc`, `abs`, `mod`.

use chrono::{Datelike, NaiveDateTime, NaiveTime};

use super::{Env, EvalError, Value, naive};
use crate::engine::oracle;
use crate::engine::value::{FLOWS_DATE_FORMAT, parse_date};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    Upper,
    Lower,
    Initcap,
    Trim,
    Ltrim,
    Rtrim,
    Nvl,
    Nvl2,
    Coalesce,
    ToNumber,
    ToChar,
    ToDate,
    Length,
    Substr,
    Instr,
    Replace,
    Round,
    Trunc,
    Abs,
    Mod,
}

impl Function {
    pub fn named(name: &str) -> Option<Self> {
        Some(match name {
            "upper" => Self::Upper,
            "lower" => Self::Lower,
            "initcap" => Self::Initcap,
            "trim" => Self::Trim,
            "ltrim" => Self::Ltrim,
            "rtrim" => Self::Rtrim,
            "nvl" => Self::Nvl,
            "nvl2" => Self::Nvl2,
            "coalesce" => Self::Coalesce,
            "to_number" => Self::ToNumber,
            "to_char" => Self::ToChar,
            "to_date" | "to_timestamp" => Self::ToDate,
            "length" => Self::Length,
            "substr" => Self::Substr,
            "instr" => Self::Instr,
            "replace" => Self::Replace,
            "round" => Self::Round,
            "trunc" => Self::Trunc,
            "abs" => Self::Abs,
            "mod" => Self::Mod,
            _ => return None,
        })
    }

    fn arity(self) -> (usize, usize) {
        match self {
            Self::Upper | Self::Lower | Self::Initcap | Self::Trim | Self::Length | Self::Abs => {
                (1, 1)
            }
            Self::Ltrim | Self::Rtrim | Self::ToNumber | Self::ToChar | Self::ToDate => (1, 2),
            Self::Round | Self::Trunc => (1, 2),
            Self::Nvl | Self::Mod => (2, 2),
            Self::Nvl2 => (3, 3),
            Self::Coalesce => (1, usize::MAX),
            Self::Substr | Self::Replace => (2, 3),
            Self::Instr => (2, 4),
        }
    }

    pub fn check_arity(self, count: usize) -> Result<(), String> {
        let (least, most) = self.arity();
        if count < least || count > most {
            let wanted = match (least, most) {
                (l, m) if l == m => format!("{l}"),
                (l, usize::MAX) => format!("at least {l}"),
                (l, m) => format!("{l} to {m}"),
            };
            return Err(format!("takes {wanted} arguments, not {count}"));
        }
        Ok(())
    }

    pub fn call(self, args: &[Value], env: &dyn Env) -> Result<Value, EvalError> {
        let arg = |index: usize| args.get(index).cloned().unwrap_or(Value::Null);
        let text = |index: usize| arg(index).as_text();
        let number = |index: usize| arg(index).as_number();
        let with_text = |f: &dyn Fn(&str) -> String| -> Result<Value, EvalError> {
            Ok(text(0).map_or(Value::Null, |t| Value::text(f(&t))))
        };
        match self {
            Self::Upper => with_text(&|t| t.to_uppercase()),
            Self::Lower => with_text(&|t| t.to_lowercase()),
            Self::Initcap => with_text(&initcap),
            Self::Trim => with_text(&|t| t.trim_matches(' ').to_owned()),
            Self::Ltrim | Self::Rtrim => {
                let set = if args.len() > 1 {
                    text(1)
                } else {
                    Some(" ".into())
                };
                let Some(set) = set else {
                    return Ok(Value::Null);
                };
                let strip = |c: char| set.contains(c);
                with_text(&|t| {
                    if self == Self::Ltrim {
                        t.trim_start_matches(strip).to_owned()
                    } else {
                        t.trim_end_matches(strip).to_owned()
                    }
                })
            }
            Self::Nvl => Ok(if arg(0) == Value::Null {
                arg(1)
            } else {
                arg(0)
            }),
            Self::Nvl2 => Ok(if arg(0) == Value::Null {
                arg(2)
            } else {
                arg(1)
            }),
            Self::Coalesce => Ok(args
                .iter()
                .find(|value| **value != Value::Null)
                .cloned()
                .unwrap_or(Value::Null)),
            Self::ToNumber => match arg(0) {
                Value::Text(t) => {
                    let cleaned: String = t
                        .chars()
                        .filter(|c| !matches!(c, ',' | '$' | ' '))
                        .collect();
                    Value::Text(cleaned)
                        .as_number()
                        .map(|n| n.map_or(Value::Null, Value::Number))
                }
                other => other
                    .as_number()
                    .map(|n| n.map_or(Value::Null, Value::Number)),
            },
            Self::ToChar => to_char(&arg(0), text(1).as_deref()),
            Self::ToDate => to_date(&arg(0), text(1).as_deref(), env),
            Self::Length => {
                Ok(text(0).map_or(Value::Null, |t| Value::Number(t.chars().count() as f64)))
            }
            Self::Substr => substr(
                text(0),
                number(1)?,
                if args.len() > 2 { number(2)? } else { None },
                args.len() > 2,
            ),
            Self::Instr => {
                let (Some(haystack), Some(needle)) = (text(0), text(1)) else {
                    return Ok(Value::Null);
                };
                let start = if args.len() > 2 {
                    number(2)?
                } else {
                    Some(1.0)
                };
                let occurrence = if args.len() > 3 {
                    number(3)?
                } else {
                    Some(1.0)
                };
                match (start, occurrence) {
                    (Some(start), Some(occurrence)) => instr(&haystack, &needle, start, occurrence),
                    _ => Ok(Value::Null),
                }
            }
            Self::Replace => {
                let Some(source) = text(0) else {
                    return Ok(Value::Null);
                };
                let Some(from) = text(1) else {
                    return Ok(Value::text(source));
                };
                let to = text(2).unwrap_or_default();
                Ok(Value::text(source.replace(&from, &to)))
            }
            Self::Round | Self::Trunc => {
                if let Value::Date(date) = arg(0) {
                    return Ok(Value::Date(date.date().and_time(NaiveTime::MIN)));
                }
                let places = if args.len() > 1 {
                    number(1)?.unwrap_or_default()
                } else {
                    0.0
                };
                let Some(value) = number(0)? else {
                    return Ok(Value::Null);
                };
                let scale = 10_f64.powi(places.trunc() as i32);
                let scaled = value * scale;
                let rounded = if self == Self::Round {
                    scaled.abs().round().copysign(scaled)
                } else {
                    scaled.trunc()
                };
                Ok(Value::Number(rounded / scale))
            }
            Self::Abs => Ok(number(0)?.map_or(Value::Null, |n| Value::Number(n.abs()))),
            Self::Mod => match (number(0)?, number(1)?) {
                (Some(_), Some(0.0)) => Ok(arg(0)),
                (Some(a), Some(b)) => Ok(Value::Number(a - b * (a / b).trunc())),
                _ => Ok(Value::Null),
            },
        }
    }
}

fn initcap(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut start = true;
    for c in text.chars() {
        if c.is_alphanumeric() {
            if start {
                out.extend(c.to_uppercase());
            } else {
                out.extend(c.to_lowercase());
            }
            start = false;
        } else {
            out.push(c);
            start = true;
        }
    }
    out
}

fn to_char(value: &Value, mask: Option<&str>) -> Result<Value, EvalError> {
    match (value, mask) {
        (Value::Date(date), mask) => {
            oracle::format_date(date, mask.unwrap_or("YYYY-MM-DD HH24:MI:SS"))
                .map(Value::text)
                .map_err(EvalError)
        }
        (Value::Number(number), Some(mask)) => format_number(*number, mask).map(Value::text),
        (Value::Text(text), Some(mask)) if parse_date(text).is_some() && !mask.contains('9') => {
            to_char(
                &Value::Date(value.as_date()?.unwrap_or_default()),
                Some(mask),
            )
        }
        (other, _) => Ok(other.as_text().map_or(Value::Null, Value::text)),
    }
}

/// `TO_CHAR(number, mask)` for masks of `9`, `0`, `.`/`D`, `,`/`G`, `$` and `FM`.
fn format_number(number: f64, mask: &str) -> Result<String, EvalError> {
    let upper = mask.to_ascii_uppercase();
    let fill = !upper.starts_with("FM");
    let body = upper.trim_start_matches("FM");
    let dollar = body.contains('$');
    let body: String = body.chars().filter(|c| *c != '$').collect();
    if body
        .chars()
        .any(|c| !matches!(c, '9' | '0' | '.' | 'D' | ',' | 'G'))
    {
        return Err(EvalError(format!(
            "number format '{mask}' is not supported"
        )));
    }
    let (integer_mask, fraction_mask) = body.split_once(['.', 'D']).unwrap_or((&body, ""));
    let places = fraction_mask.len();
    let rounded = format!("{:.*}", places, number.abs());
    let (integer, fraction) = rounded.split_once('.').unwrap_or((&rounded, ""));
    let integer_digits = integer_mask
        .chars()
        .filter(|c| matches!(c, '9' | '0'))
        .count();
    let integer = if integer == "0" && !integer_mask.contains('0') {
        ""
    } else {
        integer
    };
    if integer.len() > integer_digits {
        return Ok("#".repeat(mask.len() + 1));
    }
    // Fill the integer mask from the right.
    let mut digits = integer.chars().rev();
    let mut out: Vec<char> = Vec::new();
    let mut leading_zero = false;
    for c in integer_mask.chars().rev() {
        match c {
            '9' | '0' => match digits.next() {
                Some(d) => out.push(d),
                None if c == '0' || leading_zero => {
                    leading_zero = true;
                    out.push('0');
                }
                None => out.push(' '),
            },
            _ => out.push(if digits.clone().next().is_some() || leading_zero {
                ','
            } else {
                ' '
            }),
        }
    }
    out.reverse();
    let mut text: String = out.into_iter().collect();
    if !fraction_mask.is_empty() {
        text.push('.');
        text.push_str(fraction);
    }
    let sign = if number < 0.0 {
        "-"
    } else if fill {
        " "
    } else {
        ""
    };
    let text = format!(
        "{sign}{}{}",
        if dollar { "$" } else { "" },
        text.trim_start()
    );
    let width = mask.len() + 1;
    Ok(if fill {
        format!("{text:>width$}")
    } else {
        text
    })
}

fn to_date(value: &Value, mask: Option<&str>, env: &dyn Env) -> Result<Value, EvalError> {
    match (value, mask) {
        (Value::Null, _) => Ok(Value::Null),
        (Value::Date(date), _) => Ok(Value::Date(*date)),
        (other, Some(mask)) => {
            let text = other.as_text().unwrap_or_default();
            let reference = naive(&env.now()).date().with_day(1).unwrap_or_default();
            oracle::parse_date(&text, mask, reference)
                .map(Value::Date)
                .map_err(EvalError)
        }
        (other, None) => {
            let text = other.as_text().unwrap_or_default();
            match parse_date(&text) {
                Some(date) => Ok(Value::Date(naive(&date))),
                None => NaiveDateTime::parse_from_str(&text, FLOWS_DATE_FORMAT)
                    .map(Value::Date)
                    .map_err(|_| EvalError(format!("'{text}' is not a date"))),
            }
        }
    }
}

fn substr(
    text: Option<String>,
    start: Option<f64>,
    length: Option<f64>,
    has_length: bool,
) -> Result<Value, EvalError> {
    let (Some(text), Some(start)) = (text, start) else {
        return Ok(Value::Null);
    };
    if has_length && length.is_none() {
        return Ok(Value::Null);
    }
    let chars: Vec<char> = text.chars().collect();
    let count = chars.len() as i64;
    let start = start.trunc() as i64;
    let begin = match start {
        0 => 0,
        s if s > 0 => s - 1,
        s => count + s,
    };
    if begin < 0 || begin >= count {
        return Ok(Value::Null);
    }
    let end = match length {
        Some(length) if length < 1.0 => return Ok(Value::Null),
        Some(length) => (begin + length.trunc() as i64).min(count),
        None => count,
    };
    Ok(Value::text(
        chars[begin as usize..end as usize]
            .iter()
            .collect::<String>(),
    ))
}

fn instr(haystack: &str, needle: &str, start: f64, occurrence: f64) -> Result<Value, EvalError> {
    let occurrence = occurrence.trunc() as i64;
    if occurrence < 1 {
        return Err(EvalError("instr: the occurrence must be 1 or more".into()));
    }
    let text: Vec<char> = haystack.chars().collect();
    let pattern: Vec<char> = needle.chars().collect();
    let count = text.len() as i64;
    let start = start.trunc() as i64;
    if start == 0 || pattern.is_empty() || pattern.len() > text.len() {
        return Ok(Value::Number(0.0));
    }
    let fits = |at: usize| text[at..].starts_with(&pattern);
    let last = text.len() - pattern.len();
    let positions: Vec<usize> = if start > 0 {
        ((start - 1).max(0) as usize..=last)
            .filter(|&at| fits(at))
            .collect()
    } else {
        let from = (count + start).min(last as i64);
        if from < 0 {
            return Ok(Value::Number(0.0));
        }
        (0..=from as usize).rev().filter(|&at| fits(at)).collect()
    };
    Ok(Value::Number(
        positions
            .get(occurrence as usize - 1)
            .map_or(0.0, |at| (*at + 1) as f64),
    ))
}
