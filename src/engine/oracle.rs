//! The Oracle notations Flows diagrams are written in: date format masks (`TO_DATE`,
//! `TO_CHAR`) and interval literals (`TO_DSINTERVAL`, `TO_YMINTERVAL`).
//!
//! Only what diagrams use is supported: the usual date elements (`YYYY`, `RR`, `MM`, `MON`,
//! `MONTH`, `DD`, `DDD`, `DY`, `DAY`, `HH24`, `HH12`, `MI`, `SS`, `FF`, `AM`/`PM`, `D`, `Q`,
//! `J` is not), `FM`, quoted literals and punctuation. Month and day names are English.

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike};

use super::timer::IsoDuration;

const MONTHS: [&str; 12] = [
    "JANUARY",
    "FEBRUARY",
    "MARCH",
    "APRIL",
    "MAY",
    "JUNE",
    "JULY",
    "AUGUST",
    "SEPTEMBER",
    "OCTOBER",
    "NOVEMBER",
    "DECEMBER",
];
const DAYS: [&str; 7] = [
    "MONDAY",
    "TUESDAY",
    "WEDNESDAY",
    "THURSDAY",
    "FRIDAY",
    "SATURDAY",
    "SUNDAY",
];

/// One element of a format mask, with the spelling it was written in (for the case of names).
#[derive(Debug, Clone, PartialEq)]
enum Part {
    Year4,
    Year2,
    Month,
    MonthAbbrev(String),
    MonthName(String),
    Day,
    DayOfYear,
    DayAbbrev(String),
    DayName(String),
    WeekDay,
    Quarter,
    Hour24,
    Hour12,
    Minute,
    Second,
    Fraction(usize),
    Meridian(String),
    FillMode,
    Literal(String),
}

fn tokenize(mask: &str) -> Result<Vec<Part>, String> {
    let chars: Vec<char> = mask.chars().collect();
    let upper: String = mask.to_ascii_uppercase();
    let upper: Vec<char> = upper.chars().collect();
    let mut parts = Vec::new();
    let mut index = 0;
    let starts = |at: usize, word: &str| {
        word.chars()
            .enumerate()
            .all(|(offset, c)| upper.get(at + offset) == Some(&c))
    };
    let spelled = |at: usize, len: usize| chars[at..at + len].iter().collect::<String>();
    while index < chars.len() {
        let c = chars[index];
        if c == '"' {
            let end = chars[index + 1..]
                .iter()
                .position(|&c| c == '"')
                .ok_or_else(|| format!("format mask '{mask}' has an unclosed quote"))?;
            parts.push(Part::Literal(spelled(index + 1, end)));
            index += end + 2;
            continue;
        }
        if !c.is_ascii_alphanumeric() {
            parts.push(Part::Literal(c.to_string()));
            index += 1;
            continue;
        }
        let (part, length) = if starts(index, "YYYY") || starts(index, "RRRR") {
            (Part::Year4, 4)
        } else if starts(index, "YY") || starts(index, "RR") {
            (Part::Year2, 2)
        } else if starts(index, "MONTH") {
            (Part::MonthName(spelled(index, 5)), 5)
        } else if starts(index, "MON") {
            (Part::MonthAbbrev(spelled(index, 3)), 3)
        } else if starts(index, "MM") {
            (Part::Month, 2)
        } else if starts(index, "MI") {
            (Part::Minute, 2)
        } else if starts(index, "DDD") {
            (Part::DayOfYear, 3)
        } else if starts(index, "DD") {
            (Part::Day, 2)
        } else if starts(index, "DAY") {
            (Part::DayName(spelled(index, 3)), 3)
        } else if starts(index, "DY") {
            (Part::DayAbbrev(spelled(index, 2)), 2)
        } else if starts(index, "D") {
            (Part::WeekDay, 1)
        } else if starts(index, "HH24") {
            (Part::Hour24, 4)
        } else if starts(index, "HH12") {
            (Part::Hour12, 4)
        } else if starts(index, "HH") {
            (Part::Hour12, 2)
        } else if starts(index, "SS") {
            (Part::Second, 2)
        } else if starts(index, "FF") {
            let digit = chars.get(index + 2).and_then(|c| c.to_digit(10));
            match digit {
                Some(n) if n > 0 => (Part::Fraction(n as usize), 3),
                _ => (Part::Fraction(6), 2),
            }
        } else if starts(index, "A.M.") || starts(index, "P.M.") {
            (Part::Meridian(spelled(index, 4)), 4)
        } else if starts(index, "AM") || starts(index, "PM") {
            (Part::Meridian(spelled(index, 2)), 2)
        } else if starts(index, "FM") {
            (Part::FillMode, 2)
        } else if starts(index, "Q") {
            (Part::Quarter, 1)
        } else if starts(index, "T") {
            (Part::Literal("T".into()), 1)
        } else {
            return Err(format!(
                "format mask '{mask}': element at '{}' is not supported",
                spelled(index, chars.len() - index)
            ));
        };
        parts.push(part);
        index += length;
    }
    Ok(parts)
}

/// Writes a name in the case of its mask spelling: `MON` → `JUN`, `Mon` → `Jun`, `mon` → `jun`.
fn cased(name: &str, spelling: &str) -> String {
    let mut letters = spelling.chars();
    let first_upper = letters.next().is_some_and(|c| c.is_ascii_uppercase());
    let second_upper = letters.next().is_some_and(|c| c.is_ascii_uppercase());
    match (first_upper, second_upper) {
        (true, true) => name.to_ascii_uppercase(),
        (true, false) => {
            let lower = name.to_ascii_lowercase();
            let mut chars = lower.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        }
        _ => name.to_ascii_lowercase(),
    }
}

/// `TO_CHAR(date, mask)`.
pub fn format_date(date: &NaiveDateTime, mask: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut fill = true; // pad names and numbers until FM toggles it off
    let number = |value: u32, width: usize, fill: bool| {
        if fill {
            format!("{value:0width$}")
        } else {
            value.to_string()
        }
    };
    let name = |full: &str, spelling: &str, width: usize, fill: bool| {
        let text = cased(full, spelling);
        if fill { format!("{text:width$}") } else { text }
    };
    let month_index = date.month0() as usize;
    let day_index = date.weekday().num_days_from_monday() as usize;
    for part in tokenize(mask)? {
        match part {
            Part::Year4 => out.push_str(&format!("{:04}", date.year())),
            Part::Year2 => out.push_str(&format!("{:02}", date.year().rem_euclid(100))),
            Part::Month => out.push_str(&number(date.month(), 2, fill)),
            Part::MonthAbbrev(spelling) => {
                out.push_str(&cased(&MONTHS[month_index][..3], &spelling))
            }
            Part::MonthName(spelling) => {
                out.push_str(&name(MONTHS[month_index], &spelling, 9, fill))
            }
            Part::Day => out.push_str(&number(date.day(), 2, fill)),
            Part::DayOfYear => out.push_str(&number(date.ordinal(), 3, fill)),
            Part::DayAbbrev(spelling) => out.push_str(&cased(&DAYS[day_index][..3], &spelling)),
            Part::DayName(spelling) => out.push_str(&name(DAYS[day_index], &spelling, 9, fill)),
            // Oracle's D depends on NLS_TERRITORY; Sunday = 1 as in America.
            Part::WeekDay => out.push_str(&(date.weekday().num_days_from_sunday() + 1).to_string()),
            Part::Quarter => out.push_str(&(date.month0() / 3 + 1).to_string()),
            Part::Hour24 => out.push_str(&number(date.hour(), 2, fill)),
            Part::Hour12 => out.push_str(&number(date.hour12().1, 2, fill)),
            Part::Minute => out.push_str(&number(date.minute(), 2, fill)),
            Part::Second => out.push_str(&number(date.second(), 2, fill)),
            Part::Fraction(digits) => {
                let nanos = format!("{:09}", date.nanosecond() % 1_000_000_000);
                out.push_str(&nanos[..digits.min(9)]);
            }
            Part::Meridian(spelling) => {
                let pm = date.hour() >= 12;
                let text = match (spelling.len(), pm) {
                    (4, true) => "P.M.",
                    (4, false) => "A.M.",
                    (_, true) => "PM",
                    (_, false) => "AM",
                };
                out.push_str(&cased(text, &spelling));
            }
            Part::FillMode => fill = !fill,
            Part::Literal(text) => out.push_str(&text),
        }
    }
    Ok(out)
}

/// `TO_DATE(text, mask)`, as leniently as Oracle reads: punctuation matches any punctuation,
/// leading zeros may be left out, names are case-insensitive. Fields the mask leaves out take
/// the year and month of `reference`, day 1, midnight.
pub fn parse_date(text: &str, mask: &str, reference: NaiveDate) -> Result<NaiveDateTime, String> {
    let fail = |why: &str| format!("'{text}' does not match format mask '{mask}': {why}");
    let input: Vec<char> = text.trim().chars().collect();
    let mut at = 0;
    let (mut year, mut month, mut day) = (reference.year(), reference.month(), 1);
    let (mut hour, mut minute, mut second, mut nanos) = (0, 0, 0, 0);
    let mut day_of_year = None;
    let mut pm = None;
    let mut twelve_hour = false;
    let skip_blanks = |at: &mut usize| {
        while input.get(*at).is_some_and(|c| c.is_whitespace()) {
            *at += 1;
        }
    };
    let read_number = |at: &mut usize, max: usize| -> Result<u32, String> {
        let start = *at;
        while *at < input.len() && *at - start < max && input[*at].is_ascii_digit() {
            *at += 1;
        }
        if *at == start {
            return Err(fail("a number is missing"));
        }
        input[start..*at]
            .iter()
            .collect::<String>()
            .parse()
            .map_err(|_| fail("a number is too large"))
    };
    let read_name = |at: &mut usize, names: &[&str], abbreviated: bool| -> Result<u32, String> {
        let rest: String = input[*at..].iter().collect::<String>().to_ascii_uppercase();
        for (index, full) in names.iter().enumerate() {
            let candidate = if abbreviated { &full[..3] } else { full };
            if rest.starts_with(candidate) {
                *at += candidate.len();
                return Ok(index as u32 + 1);
            }
        }
        Err(fail("a month or day name is not recognised"))
    };
    for part in tokenize(mask)? {
        skip_blanks(&mut at);
        match part {
            Part::Year4 => {
                let value = read_number(&mut at, 4)?;
                year = if value < 100 {
                    2000 + value as i32
                } else {
                    value as i32
                };
            }
            Part::Year2 => {
                let value = read_number(&mut at, 4)?;
                year = if value < 50 {
                    2000 + value as i32
                } else if value < 100 {
                    1900 + value as i32
                } else {
                    value as i32
                };
            }
            Part::Month => month = read_number(&mut at, 2)?,
            Part::MonthAbbrev(_) => month = read_name(&mut at, &MONTHS, true)?,
            Part::MonthName(_) => {
                month = read_name(&mut at, &MONTHS, false)
                    .or_else(|_| read_name(&mut at, &MONTHS, true))?;
            }
            Part::Day => day = read_number(&mut at, 2)?,
            Part::DayOfYear => day_of_year = Some(read_number(&mut at, 3)?),
            Part::DayAbbrev(_) => {
                read_name(&mut at, &DAYS, true)?;
            }
            Part::DayName(_) => {
                read_name(&mut at, &DAYS, false).or_else(|_| read_name(&mut at, &DAYS, true))?;
            }
            Part::WeekDay | Part::Quarter => {
                read_number(&mut at, 1)?;
            }
            Part::Hour24 => hour = read_number(&mut at, 2)?,
            Part::Hour12 => {
                hour = read_number(&mut at, 2)?;
                twelve_hour = true;
            }
            Part::Minute => minute = read_number(&mut at, 2)?,
            Part::Second => second = read_number(&mut at, 2)?,
            Part::Fraction(_) => {
                let start = at;
                let value = read_number(&mut at, 9)?;
                let digits = (at - start) as u32;
                nanos = value * 10_u32.pow(9 - digits);
            }
            Part::Meridian(_) => {
                let rest: String = input[at..].iter().collect::<String>().to_ascii_uppercase();
                let (is_pm, length) = if rest.starts_with("P.M.") {
                    (true, 4)
                } else if rest.starts_with("A.M.") {
                    (false, 4)
                } else if rest.starts_with("PM") {
                    (true, 2)
                } else if rest.starts_with("AM") {
                    (false, 2)
                } else {
                    return Err(fail("AM or PM is missing"));
                };
                pm = Some(is_pm);
                at += length;
            }
            Part::FillMode => {}
            Part::Literal(literal) => {
                let punctuation = literal.chars().all(|c| !c.is_alphanumeric());
                if punctuation {
                    // Any run of punctuation (or none) stands for the mask's punctuation.
                    while input
                        .get(at)
                        .is_some_and(|c| !c.is_alphanumeric() && !c.is_whitespace())
                    {
                        at += 1;
                    }
                } else {
                    let rest: String = input[at..].iter().collect();
                    if rest
                        .to_ascii_uppercase()
                        .starts_with(&literal.to_ascii_uppercase())
                    {
                        at += literal.chars().count();
                    } else {
                        return Err(fail(&format!("'{literal}' is missing")));
                    }
                }
            }
        }
    }
    skip_blanks(&mut at);
    if at < input.len() {
        return Err(fail("there is text left over"));
    }
    if twelve_hour || pm.is_some() {
        if !(1..=12).contains(&hour) {
            return Err(fail("the hour is not between 1 and 12"));
        }
        hour %= 12;
        if pm == Some(true) {
            hour += 12;
        }
    }
    let date = match day_of_year {
        Some(ordinal) => NaiveDate::from_yo_opt(year, ordinal),
        None => NaiveDate::from_ymd_opt(year, month, day),
    }
    .ok_or_else(|| fail("it is not a valid date"))?;
    let time = NaiveTime::from_hms_nano_opt(hour, minute, second, nanos)
        .ok_or_else(|| fail("it is not a valid time"))?;
    Ok(date.and_time(time))
}

/// `TO_DSINTERVAL`: `[+-]D HH:MI:SS[.FF]` (days and time) or an ISO 8601 duration.
pub fn ds_interval(text: &str) -> Result<IsoDuration, String> {
    let text = text.trim();
    if text.starts_with('P') {
        return IsoDuration::parse(text);
    }
    let fail = || format!("'{text}' is not a day-to-second interval (DDD HH:MI:SS)");
    let (days, time) = text.split_once(' ').ok_or_else(fail)?;
    let days: u64 = days.trim().parse().map_err(|_| fail())?;
    let mut fields = time.trim().split(':');
    let hours: i64 = fields
        .next()
        .and_then(|h| h.parse().ok())
        .ok_or_else(fail)?;
    let minutes: i64 = fields
        .next()
        .and_then(|m| m.parse().ok())
        .ok_or_else(fail)?;
    let seconds: f64 = fields
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or_else(fail)?;
    if fields.next().is_some() || hours > 23 || minutes > 59 || !(0.0..60.0).contains(&seconds) {
        return Err(fail());
    }
    #[allow(clippy::cast_possible_truncation)]
    let millis = (seconds * 1000.0).round() as i64;
    Ok(IsoDuration::from_parts(
        0,
        days,
        (hours * 3600 + minutes * 60) * 1000 + millis,
    ))
}

/// `TO_YMINTERVAL`: `Y-M` (years and months) or an ISO 8601 duration of years and months.
pub fn ym_interval(text: &str) -> Result<IsoDuration, String> {
    let text = text.trim();
    if text.starts_with('P') {
        return IsoDuration::parse(text);
    }
    let fail = || format!("'{text}' is not a year-to-month interval (YY-MM)");
    let (years, months) = text.split_once('-').ok_or_else(fail)?;
    let years: u32 = years.trim().parse().map_err(|_| fail())?;
    let months: u32 = months.trim().parse().map_err(|_| fail())?;
    if months > 11 {
        return Err(fail());
    }
    let total = years
        .checked_mul(12)
        .and_then(|m| m.checked_add(months))
        .ok_or_else(fail)?;
    Ok(IsoDuration::from_parts(total, 0, 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, mo, d)
            .and_then(|day| day.and_hms_opt(h, mi, s))
            .expect("valid")
    }

    fn reference() -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 3, 15).expect("valid")
    }

    #[test]
    fn dates_are_read_with_their_mask() {
        let cases = [
            (
                "24-JUN-2023 09:15:00",
                "DD-MON-YYYY HH24:MI:SS",
                at(2023, 6, 24, 9, 15, 0),
            ),
            ("24-jun-23", "DD-MON-RR", at(2023, 6, 24, 0, 0, 0)),
            (
                "2024-12-01 18:30:05",
                "YYYY-MM-DD HH24:MI:SS",
                at(2024, 12, 1, 18, 30, 5),
            ),
            (
                "2024/12/1 6:30 PM",
                "YYYY-MM-DD HH:MI AM",
                at(2024, 12, 1, 18, 30, 0),
            ),
            ("24-12-1970", "DD-MM-YYYY", at(1970, 12, 24, 0, 0, 0)),
            ("June 5, 2024", "Month DD, YYYY", at(2024, 6, 5, 0, 0, 0)),
            (
                "2024-06-05T10:00:00",
                "YYYY-MM-DD\"T\"HH24:MI:SS",
                at(2024, 6, 5, 10, 0, 0),
            ),
            ("10:45", "HH24:MI", at(2025, 3, 1, 10, 45, 0)),
        ];
        for (text, mask, expected) in cases {
            assert_eq!(
                parse_date(text, mask, reference()),
                Ok(expected),
                "{text} / {mask}"
            );
        }
        for (text, mask) in [
            ("31-FEB-2024", "DD-MON-YYYY"),
            ("24-JUN-2023 extra", "DD-MON-YYYY"),
            ("2024", "YYYY-MM-DD HH24"),
            ("x", "YYYY WW"),
        ] {
            assert!(
                parse_date(text, mask, reference()).is_err(),
                "{text} / {mask}"
            );
        }
    }

    #[test]
    fn dates_are_written_with_their_mask() {
        let date = at(2024, 1, 7, 15, 4, 9);
        let cases = [
            ("YYYY-MM-DD HH24:MI:SS", "2024-01-07 15:04:09"),
            ("DD-MON-YYYY", "07-JAN-2024"),
            ("Month", "January  "),
            ("FMMonth", "January"),
            ("Mon dd, yyyy", "Jan 07, 2024"),
            ("MM", "01"),
            ("HH:MI PM", "03:04 PM"),
            ("Day", "Sunday   "),
            ("DY", "SUN"),
            ("D Q DDD", "1 1 007"),
        ];
        for (mask, expected) in cases {
            assert_eq!(format_date(&date, mask).as_deref(), Ok(expected), "{mask}");
        }
    }

    #[test]
    fn intervals_are_read_in_both_notations() {
        let start = at(2024, 1, 31, 10, 0, 0).and_utc();
        let after = |d: IsoDuration| d.after(start).expect("in range").naive_utc();
        assert_eq!(
            after(ds_interval("000 00:00:15").expect("ds")),
            at(2024, 1, 31, 10, 0, 15)
        );
        assert_eq!(
            after(ds_interval("1 02:30:00").expect("ds")),
            at(2024, 2, 1, 12, 30, 0)
        );
        assert_eq!(
            after(ds_interval("PT2M").expect("iso")),
            at(2024, 1, 31, 10, 2, 0)
        );
        assert_eq!(
            after(ym_interval("00-00").expect("ym")),
            at(2024, 1, 31, 10, 0, 0)
        );
        assert_eq!(
            after(ym_interval("1-1").expect("ym")),
            at(2025, 2, 28, 10, 0, 0)
        );
        for text in ["15 seconds", "1 25:00:00", "0 00:61:00", ""] {
            assert!(ds_interval(text).is_err(), "{text}");
        }
        for text in ["1-12", "x-1", "12"] {
            assert!(ym_interval(text).is_err(), "{text}");
        }
    }
}
