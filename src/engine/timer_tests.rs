//! Timer definitions: ISO 8601 and Flows' Oracle formats.

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

struct Vars(Vec<(&'static str, VariableValue)>);

impl TimerVariables for Vars {
    fn substitute(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for (name, value) in &self.0 {
            out = out.replace(&format!("&F4A${name}."), &value.render());
        }
        out
    }
    fn value(&self, name: &str) -> Option<VariableValue> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    }
}

fn due(definition: &TimerDefinition, arrival: DateTime<Utc>) -> DateTime<Utc> {
    definition
        .schedule(arrival, &Vars(Vec::new()))
        .unwrap_or_else(|why| panic!("{why}"))
        .due
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
    assert_eq!(after("PT120M", start), at(2024, 1, 31, 12, 0, 0));
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

#[test]
fn iso_dates_are_read_in_their_forms() {
    let arrival = at(2025, 8, 1, 12, 0, 0);
    for (text, expected) in [
        ("2025-09-01T13:30:20Z", at(2025, 9, 1, 13, 30, 20)),
        ("2025-09-01T15:30:20+02:00", at(2025, 9, 1, 13, 30, 20)),
        ("2025-09-01T13:30:20", at(2025, 9, 1, 13, 30, 20)),
        ("20250901T13:30:20", at(2025, 9, 1, 13, 30, 20)),
        ("20250901T133020Z", at(2025, 9, 1, 13, 30, 20)),
        ("T13:30:00", at(2025, 8, 1, 13, 30, 0)),
        ("T09:00:00", at(2025, 8, 2, 9, 0, 0)),
    ] {
        let definition = TimerDefinition::iso_date(text).unwrap_or_else(|why| panic!("{why}"));
        assert_eq!(due(&definition, arrival), expected, "{text}");
    }
    for text in ["tomorrow", "2025-13-01T00:00:00", "T25:00:00"] {
        assert!(TimerDefinition::iso_date(text).is_err(), "{text}");
    }
}

#[test]
fn cycles_repeat_as_often_as_written() {
    let arrival = at(2025, 1, 1, 0, 0, 0);
    let cycle = TimerDefinition::iso_cycle("R5/PT2M").expect("cycle");
    let schedule = cycle
        .schedule(arrival, &Vars(Vec::new()))
        .expect("schedule");
    assert_eq!(schedule.due, at(2025, 1, 1, 0, 2, 0));
    let repeat = schedule.repeat.expect("repeats");
    assert_eq!(repeat.times_left, 4);
    assert_eq!(repeat.every.after(arrival), Some(at(2025, 1, 1, 0, 2, 0)));
    let forever = TimerDefinition::iso_cycle("R/P1D").expect("cycle");
    assert!(matches!(
        forever,
        TimerDefinition::Cycle {
            times: MAX_CYCLES,
            ..
        }
    ));
    let once = TimerDefinition::iso_cycle("R0/PT1M").expect("cycle");
    let schedule = once.schedule(arrival, &Vars(Vec::new())).expect("schedule");
    assert_eq!(schedule.repeat, None);
    for text in ["PT2M", "R5", "Rx/PT1M", "R5/5 minutes"] {
        assert!(TimerDefinition::iso_cycle(text).is_err(), "{text}");
    }
}

#[test]
fn oracle_formats_are_read() {
    let arrival = at(2025, 1, 1, 0, 0, 0);
    let date = TimerDefinition::oracle_date("24-JUN-2023 09:15:00", "DD-MON-YYYY HH24:MI:SS")
        .expect("date");
    assert_eq!(due(&date, arrival), at(2023, 6, 24, 9, 15, 0));
    let duration = TimerDefinition::oracle_duration("00-00", "000 00:00:15").expect("duration");
    assert_eq!(due(&duration, arrival), at(2025, 1, 1, 0, 0, 15));
    let months = TimerDefinition::oracle_duration("01-02", "").expect("duration");
    assert_eq!(due(&months, arrival), at(2026, 3, 1, 0, 0, 0));
    let cycle = TimerDefinition::oracle_cycle("000 00:01:00", "000 01:00:00", "3").expect("cycle");
    let schedule = cycle
        .schedule(arrival, &Vars(Vec::new()))
        .expect("schedule");
    assert_eq!(schedule.due, at(2025, 1, 1, 0, 1, 0));
    let repeat = schedule.repeat.expect("repeats");
    assert_eq!(
        (repeat.times_left, repeat.every.after(arrival)),
        (2, Some(at(2025, 1, 1, 1, 0, 0)))
    );
    assert!(TimerDefinition::oracle_date("31-FEB-2023", "DD-MON-YYYY").is_err());
    assert!(TimerDefinition::oracle_duration("x", "").is_err());
    assert!(TimerDefinition::oracle_cycle("000 00:01:00", "", "").is_err());
}

#[test]
fn deferred_definitions_read_process_variables() {
    let arrival = at(2025, 1, 1, 0, 0, 0);
    let vars = Vars(vec![
        ("wait", VariableValue::Varchar("PT1H".into())),
        ("when", VariableValue::Date(at(2025, 2, 1, 8, 0, 0))),
        (
            "when_text",
            VariableValue::Varchar("2025-03-01 08:00:00".into()),
        ),
        ("secs", VariableValue::Varchar("000 00:00:30".into())),
    ]);
    let cases = [
        (
            TimerDefinition::iso_duration("&F4A$wait."),
            at(2025, 1, 1, 1, 0, 0),
        ),
        (
            TimerDefinition::iso_date("&F4A$WHEN."),
            at(2025, 2, 1, 8, 0, 0),
        ),
        (
            TimerDefinition::iso_date("&F4A$when_text."),
            at(2025, 3, 1, 8, 0, 0),
        ),
        (
            TimerDefinition::oracle_date("&F4A$when_text.", "YYYY-MM-DD HH24:MI:SS"),
            at(2025, 3, 1, 8, 0, 0),
        ),
        (
            TimerDefinition::oracle_duration("", "&F4A$secs."),
            at(2025, 1, 1, 0, 0, 30),
        ),
    ];
    for (definition, expected) in cases {
        let definition = definition.expect("deferred");
        assert!(matches!(definition, TimerDefinition::Deferred(_)));
        let schedule = definition.schedule(arrival, &vars).expect("resolves");
        assert_eq!(schedule.due, expected);
    }
    let missing = TimerDefinition::iso_duration("&F4A$nothing.").expect("deferred");
    assert!(missing.schedule(arrival, &vars).is_err());
}

proptest! {
    #[test]
    fn parsing_never_panics(text in "P?T?[0-9.,YMWDTHS-]{0,12}|.{0,16}") {
        if let Ok(duration) = IsoDuration::parse(&text) {
            let _ = duration.after(at(2024, 1, 1, 0, 0, 0));
        }
        let _ = TimerDefinition::iso_date(&text);
        let _ = TimerDefinition::iso_cycle(&text);
        let _ = TimerDefinition::oracle_duration(&text, &text);
        let _ = TimerDefinition::oracle_date(&text, "DD-MON-YYYY HH24:MI:SS");
    }

    #[test]
    fn oracle_masks_never_panic(text in ".{0,24}", mask in ".{0,16}") {
        let reference = chrono::NaiveDate::default();
        let _ = crate::engine::oracle::parse_date(&text, &mask, reference);
        let _ = crate::engine::oracle::format_date(&reference.and_hms_opt(1, 2, 3).unwrap_or_default(), &mask);
    }
}
