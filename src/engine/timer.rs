//! Timer definitions of catch events: ISO 8601 durations and RFC 3339 dates.

use chrono::{DateTime, Days, Months, TimeDelta, Utc};

/// When a timer catch event fires, relative to the moment a token reaches it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimerDefinition {
    /// `timeDuration`: fire this long after the token arrived.
    Duration(IsoDuration),
    /// `timeDate`: fire at this moment (at once if it has passed).
    Date(DateTime<Utc>),
}

impl TimerDefinition {
    /// The due time for a token arriving at `arrival`; `None` if it overflows the calendar.
    pub fn due_after(&self, arrival: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Self::Duration(duration) => duration.after(arrival),
            Self::Date(date) => Some(*date),
        }
    }
}

/// An ISO 8601 duration such as `PT5M` or `P1DT2H`. Years and months are calendar months,
/// weeks and days calendar days, so `P1M` from 31 January lands on the last day of February.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IsoDuration {
    months: u32,
    days: u64,
    time: TimeDelta,
}

impl IsoDuration {
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
        for (number, unit) in components(time_part, "HMS")? {
            let part = match unit {
                'H' => TimeDelta::try_hours(whole_number(number)?),
                'M' => TimeDelta::try_minutes(whole_number(number)?),
                _ => seconds(number)?,
            };
            duration.time = part
                .and_then(|part| duration.time.checked_add(&part))
                .ok_or("it is too long")?;
        }
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
            .checked_add_signed(self.time)
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
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, s)
            .single()
            .expect("valid date")
    }

    fn after(text: &str, start: DateTime<Utc>) -> DateTime<Utc> {
        IsoDuration::parse(text)
            .unwrap_or_else(|why| panic!("{why}"))
            .after(start)
            .expect("in range")
    }

    #[test]
    fn durations_add_their_components() {
        let start = at(2024, 1, 31, 10, 0, 0);
        assert_eq!(after("PT5M", start), at(2024, 1, 31, 10, 5, 0));
        assert_eq!(after("P1DT2H", start), at(2024, 2, 1, 12, 0, 0));
        assert_eq!(after("P1W", start), at(2024, 2, 7, 10, 0, 0));
        assert_eq!(after("P1M", start), at(2024, 2, 29, 10, 0, 0));
        assert_eq!(after("P1Y2M", start), at(2025, 3, 31, 10, 0, 0));
        assert_eq!(after("PT1H30M15S", start), at(2024, 1, 31, 11, 30, 15));
        assert_eq!(after("PT0.5S", start), start + TimeDelta::milliseconds(500));
    }

    #[test]
    fn malformed_durations_are_refused() {
        for text in [
            "",
            "5M",
            "P",
            "PT",
            "P5",
            "PT5",
            "P1H",
            "PT1D",
            "P1M1Y",
            "PT1M1M",
            "P-1D",
            "P1.5D",
            "PTM",
            "P1DT",
            "P99999999999D",
            "PT1.2.3S",
            "PT1xS",
        ] {
            assert!(
                IsoDuration::parse(text).is_err(),
                "{text} should be refused"
            );
        }
    }

    #[test]
    fn dates_are_due_as_given() {
        let date = at(2030, 1, 1, 0, 0, 0);
        assert_eq!(
            TimerDefinition::Date(date).due_after(at(2024, 1, 1, 0, 0, 0)),
            Some(date)
        );
    }

    proptest! {
        #[test]
        fn parsing_never_panics(text in "P?T?[0-9.,YMWDTHS-]{0,12}|.{0,16}") {
            if let Ok(duration) = IsoDuration::parse(&text) {
                let _ = duration.after(at(2024, 1, 1, 0, 0, 0));
            }
        }
    }
}
