use std::io;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, SecondsFormat};
use tracing::{debug, error, info, info_span, trace, warn};

use super::*;

/// What a subscriber wrote.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl io::Write for Captured {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Captured {
    /// The lines, each without its time (the first word), which differs between two runs.
    fn lines_without_time(&self) -> Vec<String> {
        let text = String::from_utf8(self.0.lock().unwrap().clone()).unwrap();
        text.lines()
            .map(|line| {
                let (time, rest) = line.split_once(' ').unwrap();
                assert_eq!(time.len(), 27, "{line}");
                rest.to_owned()
            })
            .collect()
    }
}

#[derive(Debug)]
struct Failure(&'static str, Option<Box<Failure>>);

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for Failure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.1.as_deref().map(|e| e as _)
    }
}

/// Events of every kind of field, in spans with and without fields, and outside any.
fn log_a_bit_of_everything() {
    info!("starting outside any span");
    let method = poem::http::Method::POST;
    let path = String::from("/oauth/token");
    let request = info_span!("request", request_id = %"84d418da9ec8-0");
    request.in_scope(|| {
        info!(%method, %path, status = 200u16, micros = 1234u64, "request");
        let inner = info_span!("inner");
        inner.in_scope(|| {
            let nested = info_span!("nested", n = 3i64, flag = true, name = "a \"quoted\" name");
            nested.in_scope(|| warn!(delta = -17i64, ok = false, "numbers and booleans"));
        });
        let failure = Failure("outer", Some(Box::new(Failure("inner", None))));
        error!(
            error = &failure as &(dyn std::error::Error + 'static),
            "with a source"
        );
        warn!(error = %Failure("alone", None), "as text");
        debug!(list = ?vec![1, 2], text = "tab\there", r#type = "raw", "debug values");
        trace!(count = u64::MAX, least = i64::MIN);
        info!("escapes: \x1b[31mred\x07 bell \u{9b} C1, and plain é");
        info!(message = "a message as a string field", after = 1u64);
        info!(short = %"s", long = %"long ".repeat(40), "a field longer than its stage");
    });
}

/// The lines `log` writes through our format (or the default one), each without its time.
fn capture(ours: bool, log: impl Fn()) -> Vec<String> {
    let captured = Captured::default();
    let writer = captured.clone();
    let builder = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_max_level(Level::TRACE)
        .with_writer(move || writer.clone());
    if ours {
        let subscriber = builder
            .event_format(HumanLine::default())
            .fmt_fields(HumanFields)
            .finish();
        tracing::subscriber::with_default(subscriber, log);
    } else {
        tracing::subscriber::with_default(builder.finish(), log);
    }
    captured.lines_without_time()
}

#[test]
fn lines_are_the_default_formats_own() {
    let ours = capture(true, log_a_bit_of_everything);
    let default = capture(false, log_a_bit_of_everything);
    assert_eq!(ours.len(), 10, "{ours:#?}");
    for (ours, default) in ours.iter().zip(&default) {
        assert_eq!(ours, default);
    }
    assert_eq!(ours.len(), default.len());
    assert_eq!(
        ours[1],
        " INFO request{request_id=84d418da9ec8-0}: flowgate::telemetry::line::tests: request \
         method=POST path=/oauth/token status=200 micros=1234"
    );
}

/// The access line written straight is the one its event would write, in the request's span.
#[test]
fn access_lines_are_their_events_own() {
    let access = Access {
        request_id: "84d418da9ec8-12",
        method: "DELETE",
        path: "/v1/processes/42/{odd}%20path",
        status: 404,
        micros: 98_765,
    };
    let traced = capture(true, || {
        let span = crate::telemetry::request_span(access.request_id);
        crate::telemetry::log_access(&span, &access, None);
    });
    let mut straight = Vec::new();
    write_access(&mut straight, SystemTime::now(), &access);
    let straight = Captured(Arc::new(Mutex::new(straight)));
    assert_eq!(straight.lines_without_time(), traced);
    assert_eq!(
        straight.lines_without_time(),
        [
            " INFO request{request_id=84d418da9ec8-12}: flowgate::telemetry: request method=DELETE \
          path=/v1/processes/42/{odd}%20path status=404 micros=98765"
        ]
    );
}

#[test]
fn times_are_rfc_3339_in_microseconds() {
    for (secs, micros) in [
        (0, 0),
        (951_782_400, 1),           // 2000-02-29
        (951_868_799, 999_999),     // 2000-02-29T23:59:59
        (1_798_761_600, 500_000),   // 2027-01-01
        (4_107_542_399, 123_456),   // 2100-02-28T23:59:59
        (4_107_542_400, 7),         // 2100-03-01: no leap day in 2100
        (253_402_300_799, 999_999), // 9999-12-31T23:59:59
    ] {
        let ours = rfc3339_micros(secs, micros).unwrap();
        let expected = DateTime::from_timestamp(secs as i64, micros * 1000)
            .unwrap()
            .to_rfc3339_opts(SecondsFormat::Micros, true);
        assert_eq!(std::str::from_utf8(&ours).unwrap(), expected);
    }
    assert!(rfc3339_micros(253_402_300_800, 0).is_none(), "year 10000");
}
