//! Timer definitions as Flows for APEX diagrams write them: ISO 8601 dates, durations and
//! cycles (`timeDate`, `timeDuration`, `timeCycle`) and Flows' Oracle formats (`oracleDate`
//! with a format mask, `oracleDuration` as `YY-MM` and `DDD HH:MI:SS` intervals, `oracleCycle`).
//! A definition may name a process variable (`&F4A$name.`); it is then read when a token
//! arrives.

use chrono::{DateTime, Days, Months, NaiveDateTime, NaiveTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use super::instance::Repeat;
use super::oracle;
use super::value::{VariableValue, parse_date};

/// Flows' `timer_max_cycles` default: how often a cycle without a limit fires.
pub const MAX_CYCLES: u32 = 1000;

/// When a timer fires, relative to the moment a token reaches it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimerDefinition {
    /// `timeDuration`, `oracleDuration`: fire this long after the token arrived.
    Duration(IsoDuration),
    /// `timeDate`, `oracleDate`: fire at this moment (at once if it has passed).
    Date(DateTime<Utc>),
    /// `timeDate` of a time alone (`T13:30:00`): the next time the clock shows it (UTC).
    TimeOfDay(NaiveTime),
    /// `timeCycle` (`R5/PT2M`) and `oracleCycle`: first after `first`, then every `every`,
    /// `times` times in all.
    Cycle {
        first: IsoDuration,
        every: IsoDuration,
        times: u32,
    },
    /// A definition that names process variables, read when a token arrives.
    Deferred(DeferredTimer),
    /// A timerEventDefinition without settings: imported as Flows imports it, but a token
    /// that reaches it goes into error.
    Incomplete,
}

/// A timer whose definition is completed from process variables when a token arrives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeferredTimer {
    pub kind: TimerKind,
    /// The definition's texts as written: one for ISO timers and `oracleDate`; `intervalYM`
    /// and `intervalDS` for `oracleDuration`; start, repeat and maximum for `oracleCycle`.
    pub texts: Vec<String>,
    /// The format mask of an `oracleDate`.
    pub mask: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimerKind {
    IsoDate,
    IsoDuration,
    IsoCycle,
    OracleDate,
    OracleDuration,
    OracleCycle,
}

/// When a timer is due, and whether it fires again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    pub due: DateTime<Utc>,
    pub repeat: Option<Repeat>,
}

/// How a deferred definition reads process variables: `&F4A$name.` substitution in a text,
/// and the value of one variable.
pub trait TimerVariables {
    fn substitute(&self, text: &str) -> String;
    fn value(&self, name: &str) -> Option<VariableValue>;
}

impl TimerDefinition {
    /// An ISO 8601 `timeDate`: a date-time (RFC 3339, with or without a zone, also in the
    /// basic format `20250901T13:30:20`; no zone means UTC) or a time alone (`T09:00:00`).
    pub fn iso_date(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if has_substitution(text) {
            return Ok(Self::deferred(
                TimerKind::IsoDate,
                vec![text.to_owned()],
                None,
            ));
        }
        if let Some(time) = text.strip_prefix('T') {
            return NaiveTime::parse_from_str(time, "%H:%M:%S")
                .map(Self::TimeOfDay)
                .map_err(|_| format!("timeDate '{text}' is not a time of day (THH:MM:SS)"));
        }
        iso_date_time(text).map(Self::Date)
    }

    /// An ISO 8601 `timeDuration` such as `PT10M`.
    pub fn iso_duration(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if has_substitution(text) {
            return Ok(Self::deferred(
                TimerKind::IsoDuration,
                vec![text.to_owned()],
                None,
            ));
        }
        IsoDuration::parse(text).map(Self::Duration)
    }

    /// An ISO 8601 `timeCycle` `R[n]/duration`: `R` or `R-1` mean as often as Flows allows
    /// ([`MAX_CYCLES`]), `R0` once.
    pub fn iso_cycle(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if has_substitution(text) {
            return Ok(Self::deferred(
                TimerKind::IsoCycle,
                vec![text.to_owned()],
                None,
            ));
        }
        let refuse = || format!("timeCycle '{text}' is not a cycle (R[n]/duration)");
        let (repeat, duration) = text.split_once('/').ok_or_else(refuse)?;
        let count = repeat.strip_prefix('R').ok_or_else(refuse)?;
        let times = match count {
            "" | "-1" => MAX_CYCLES,
            "0" => 1,
            digits => digits.parse::<u32>().map_err(|_| refuse())?,
        };
        let every = IsoDuration::parse(duration)?;
        Ok(Self::Cycle {
            first: every,
            every,
            times,
        })
    }

    /// Flows' `oracleDate`: a date and its Oracle format mask.
    pub fn oracle_date(date: &str, mask: &str) -> Result<Self, String> {
        if has_substitution(date) {
            return Ok(Self::deferred(
                TimerKind::OracleDate,
                vec![date.trim().to_owned()],
                Some(mask.to_owned()),
            ));
        }
        let reference = chrono::NaiveDate::default();
        oracle::parse_date(date, mask, reference).map(|date| Self::Date(date.and_utc()))
    }

    /// Flows' `oracleDuration`: a year-to-month and a day-to-second interval (either may be
    /// empty).
    pub fn oracle_duration(ym: &str, ds: &str) -> Result<Self, String> {
        if has_substitution(ym) || has_substitution(ds) {
            let texts = vec![ym.trim().to_owned(), ds.trim().to_owned()];
            return Ok(Self::deferred(TimerKind::OracleDuration, texts, None));
        }
        oracle_interval(ym, ds).map(Self::Duration)
    }

    /// Flows' `oracleCycle`: a start interval, a repeat interval and at most `max_runs` runs.
    pub fn oracle_cycle(start: &str, repeat: &str, max_runs: &str) -> Result<Self, String> {
        if [start, repeat, max_runs]
            .iter()
            .any(|text| has_substitution(text))
        {
            let texts = [start, repeat, max_runs]
                .map(|t| t.trim().to_owned())
                .to_vec();
            return Ok(Self::deferred(TimerKind::OracleCycle, texts, None));
        }
        let times = match max_runs.trim() {
            "" => MAX_CYCLES,
            text => text
                .parse::<u32>()
                .map_err(|_| format!("maxRuns '{text}' is not a whole number"))?,
        };
        Ok(Self::Cycle {
            first: oracle::ds_interval(start)?,
            every: oracle::ds_interval(repeat)?,
            times,
        })
    }

    fn deferred(kind: TimerKind, texts: Vec<String>, mask: Option<String>) -> Self {
        Self::Deferred(DeferredTimer { kind, texts, mask })
    }

    /// When a token arriving at `arrival` is due, for definitions that need no variables;
    /// `None` if it overflows the calendar or names variables.
    pub fn due_after(&self, arrival: DateTime<Utc>) -> Option<DateTime<Utc>> {
        struct NoVariables;
        impl TimerVariables for NoVariables {
            fn substitute(&self, text: &str) -> String {
                text.to_owned()
            }
            fn value(&self, _: &str) -> Option<VariableValue> {
                None
            }
        }
        self.schedule(arrival, &NoVariables)
            .ok()
            .map(|schedule| schedule.due)
    }

    /// When a token arriving at `arrival` is due, and whether the timer fires again.
    pub fn schedule(
        &self,
        arrival: DateTime<Utc>,
        variables: &dyn TimerVariables,
    ) -> Result<Schedule, String> {
        let overflow = || "the timer's due date is out of range".to_string();
        let once = |due: Option<DateTime<Utc>>| {
            due.map(|due| Schedule { due, repeat: None })
                .ok_or_else(overflow)
        };
        match self {
            Self::Duration(duration) => once(duration.after(arrival)),
            Self::Date(date) => once(Some(*date)),
            Self::TimeOfDay(time) => {
                let today = arrival.date_naive().and_time(*time).and_utc();
                once(if today > arrival {
                    Some(today)
                } else {
                    today.checked_add_days(Days::new(1))
                })
            }
            Self::Cycle {
                first,
                every,
                times,
            } => {
                let due = first.after(arrival).ok_or_else(overflow)?;
                let repeat = (*times > 1).then(|| Repeat {
                    every: *every,
                    times_left: times - 1,
                });
                Ok(Schedule { due, repeat })
            }
            Self::Deferred(deferred) => deferred.resolve(variables)?.schedule(arrival, variables),
            Self::Incomplete => Err("incomplete timer definition (no timeDate, timeDuration, \
                                     timeCycle or apex:timerType)"
                .to_string()),
        }
    }
}

impl DeferredTimer {
    /// The definition with its variables read.
    fn resolve(&self, variables: &dyn TimerVariables) -> Result<TimerDefinition, String> {
        let text = |index: usize| {
            self.texts
                .get(index)
                .map(|text| variables.substitute(text))
                .unwrap_or_default()
        };
        let resolved = match self.kind {
            TimerKind::IsoDate | TimerKind::OracleDate => {
                let written = self.texts.first().map(String::as_str).unwrap_or_default();
                if let Some(VariableValue::Date(date)) =
                    single_substitution(written).and_then(|name| variables.value(name))
                {
                    return Ok(TimerDefinition::Date(date));
                }
                match (&self.kind, &self.mask) {
                    (TimerKind::OracleDate, Some(mask)) => {
                        TimerDefinition::oracle_date(&text(0), mask)
                    }
                    _ => parse_date(&text(0))
                        .map(TimerDefinition::Date)
                        .ok_or_else(|| format!("'{}' is not a date", text(0))),
                }
            }
            TimerKind::IsoDuration => TimerDefinition::iso_duration(&text(0)),
            TimerKind::IsoCycle => TimerDefinition::iso_cycle(&text(0)),
            TimerKind::OracleDuration => TimerDefinition::oracle_duration(&text(0), &text(1)),
            TimerKind::OracleCycle => TimerDefinition::oracle_cycle(&text(0), &text(1), &text(2)),
        }?;
        match resolved {
            TimerDefinition::Deferred(_) => Err(format!(
                "the timer definition '{}' names a process variable that is not set",
                self.texts.join(" ")
            )),
            definition => Ok(definition),
        }
    }
}

fn has_substitution(text: &str) -> bool {
    text.to_ascii_uppercase().contains("&F4A$")
}

/// `name` when the whole text is `&F4A$name.`.
fn single_substitution(text: &str) -> Option<&str> {
    let text = text.trim();
    text.get(..5).filter(|p| p.eq_ignore_ascii_case("&F4A$"))?;
    let name = text.get(5..)?.strip_suffix('.')?;
    (!name.is_empty()
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || "_:-".contains(c)))
    .then_some(name)
}

/// An ISO 8601 date-time: RFC 3339, or without a zone (UTC), or in the basic format.
fn iso_date_time(text: &str) -> Result<DateTime<Utc>, String> {
    if let Some(date) = parse_date(text) {
        return Ok(date);
    }
    let local = text.strip_suffix('Z').unwrap_or(text);
    for format in ["%Y%m%dT%H:%M:%S", "%Y%m%dT%H%M%S", "%Y%m%d %H:%M:%S"] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(local, format) {
            return Ok(naive.and_utc());
        }
    }
    Err(format!("timeDate '{text}' is not an ISO 8601 date"))
}

/// The sum of an `intervalYM` and an `intervalDS`, either of which may be empty.
fn oracle_interval(ym: &str, ds: &str) -> Result<IsoDuration, String> {
    let months = match ym.trim() {
        "" => IsoDuration::default(),
        text => oracle::ym_interval(text)?,
    };
    let rest = match ds.trim() {
        "" => IsoDuration::default(),
        text => oracle::ds_interval(text)?,
    };
    Ok(IsoDuration::from_parts(
        months.months,
        rest.days,
        rest.millis,
    ))
}

/// An ISO 8601 duration such as `PT5M` or `P1DT2H`. Years and months are calendar months,
/// weeks and days calendar days, so `P1M` from 31 January lands on the last day of February.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct IsoDuration {
    months: u32,
    days: u64,
    millis: i64,
}

impl IsoDuration {
    pub(crate) fn from_parts(months: u32, days: u64, millis: i64) -> Self {
        Self {
            months,
            days,
            millis,
        }
    }

    /// Parses `P[nY][nM][nW][nD][T[nH][nM][n[.f]S]]`; only seconds may have a fraction.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        Self::parse_components(text)
            .map_err(|why| format!("'{text}' is not an ISO 8601 duration: {why}"))
    }

    fn parse_components(text: &str) -> Result<Self, String> {
        let body = text.strip_prefix('P').ok_or("it must start with 'P'")?;
        let (date_part, time_part) = body.split_once('T').unwrap_or((body, ""));
        if body.ends_with('T') || body.is_empty() {
            return Err("it has no components after 'P' or 'T'".to_string());
        }

        let mut duration = Self::default();
        for (number, unit) in components(date_part, "YMWD")? {
            let value: u32 = whole_number(number)?;
            match unit {
                'Y' => duration.add_months(value.checked_mul(12))?,
                'M' => duration.add_months(Some(value))?,
                'W' => duration.days += u64::from(value) * 7,
                _ => duration.days += u64::from(value),
            }
        }
        let mut time = TimeDelta::zero();
        for (number, unit) in components(time_part, "HMS")? {
            let part = match unit {
                'H' => TimeDelta::try_hours(whole_number(number)?),
                'M' => TimeDelta::try_minutes(whole_number(number)?),
                _ => seconds(number)?,
            };
            time = part
                .and_then(|part| time.checked_add(&part))
                .ok_or("it is too long")?;
        }
        duration.millis = time.num_milliseconds();
        Ok(duration)
    }

    fn add_months(&mut self, months: Option<u32>) -> Result<(), String> {
        self.months = months
            .and_then(|months| self.months.checked_add(months))
            .ok_or("it has too many months")?;
        Ok(())
    }

    /// `start` plus this duration; `None` if the result is out of chrono's range.
    pub fn after(&self, start: DateTime<Utc>) -> Option<DateTime<Utc>> {
        start
            .checked_add_months(Months::new(self.months))?
            .checked_add_days(Days::new(self.days))?
            .checked_add_signed(TimeDelta::try_milliseconds(self.millis)?)
    }
}

/// Splits `12H30M` into `[("12", 'H'), ("30", 'M')]`, checking that units appear at most once
/// and in the order given by `units`.
fn components<'t>(part: &'t str, units: &str) -> Result<Vec<(&'t str, char)>, String> {
    let mut found = Vec::new();
    let mut rest = part;
    let mut last_rank = None;
    while !rest.is_empty() {
        let unit_at = rest
            .find(|c: char| c.is_ascii_alphabetic())
            .ok_or_else(|| format!("'{rest}' has no unit"))?;
        let (number, tail) = rest.split_at(unit_at);
        let mut tail_chars = tail.chars();
        let unit = tail_chars.next().unwrap_or_default();
        let rank = units
            .find(unit)
            .ok_or_else(|| format!("unexpected unit '{unit}'"))?;
        if last_rank.is_some_and(|last| rank <= last) {
            return Err(format!("unit '{unit}' is repeated or out of order"));
        }
        if number.is_empty() {
            return Err(format!("unit '{unit}' has no number"));
        }
        last_rank = Some(rank);
        found.push((number, unit));
        rest = tail_chars.as_str();
    }
    Ok(found)
}

fn whole_number<T: std::str::FromStr>(number: &str) -> Result<T, String> {
    if !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("'{number}' is not a whole number"));
    }
    number.parse().map_err(|_| format!("{number} is too large"))
}

/// Seconds with an optional fraction, kept to the millisecond.
fn seconds(number: &str) -> Result<Option<TimeDelta>, String> {
    let (whole, fraction) = number.split_once(['.', ',']).unwrap_or((number, ""));
    if !fraction.bytes().all(|b| b.is_ascii_digit()) || (whole.is_empty() && fraction.is_empty()) {
        return Err(format!("'{number}' is not a number of seconds"));
    }
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole_number(whole)?
    };
    // Milliseconds are the first three fraction digits, padded: ".5" is 500 ms.
    let millis = fraction
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(3)
        .fold(0_i64, |millis, digit| millis * 10 + i64::from(digit - b'0'));
    Ok(TimeDelta::try_seconds(whole)
        .and_then(|delta| delta.checked_add(&TimeDelta::milliseconds(millis))))
}

#[cfg(test)]
#[path = "timer_tests.rs"]
mod tests;
