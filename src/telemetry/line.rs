//! The human log line, written directly: the same text as tracing-subscriber's default format
//! with colours off (a test holds them equal), without its styling and formatting machinery.
//! That format styles every part (nu-ansi-term, even with colours off) and writes each through
//! `core::fmt`: an access line took 10,900 instructions, a fifth of a gated GET, and 4,200
//! through [`HumanLine`] (BENCHMARKS.md). The access line itself is now written straight, with
//! the same text, by [`write_access`], in a few hundred. With colours on (a terminal), and for
//! events that come from the `log` crate, the default format writes the line as before.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{Datelike, Timelike};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::field::{MakeVisitor, VisitFmt, VisitOutput};
use tracing_subscriber::fmt::format::{DefaultVisitor, Format, Full, Writer};
use tracing_subscriber::fmt::time::FormatTime;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

/// Writes events as `<RFC 3339 time> <LEVEL> <span>{<fields>}:… <target>: <message> <fields>`.
#[derive(Default)]
pub struct HumanLine {
    styled: Format<Full>,
}

impl<S, N> FormatEvent<S, N> for HumanLine
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        // A `log` record carries its own target and level as fields, which the default
        // format puts in their places.
        if writer.has_ansi_escapes() || meta.fields().field("log.target").is_some() {
            return self.styled.format_event(ctx, writer, event);
        }
        write_time(&mut writer, SystemTime::now())?;
        writer.write_str(level_name(meta.level()))?;
        writer.write_char(' ')?;
        if let Some(scope) = ctx.event_scope() {
            let mut any = false;
            for span in scope.from_root() {
                writer.write_str(span.metadata().name())?;
                if let Some(fields) = span.extensions().get::<FormattedFields<N>>()
                    && !fields.is_empty()
                {
                    writer.write_char('{')?;
                    writer.write_str(fields)?;
                    writer.write_char('}')?;
                }
                writer.write_char(':')?;
                any = true;
            }
            if any {
                writer.write_char(' ')?;
            }
        }
        writer.write_str(meta.target())?;
        writer.write_str(": ")?;
        ctx.format_fields(writer.by_ref(), event)?;
        writer.write_char('\n')
    }
}

/// What a request's access line says.
pub struct Access<'a> {
    pub request_id: &'a str,
    pub method: &'a str,
    pub path: &'a str,
    pub status: u16,
    pub micros: u64,
}

/// The access line as [`HumanLine`] writes the event `telemetry::log_access` logs in the
/// request's span (a root span: nothing encloses it):
/// `<time>  INFO request{request_id=…}: flowgate::telemetry: request method=… path=… status=…
/// micros=…`.
pub fn write_access(out: &mut Vec<u8>, now: SystemTime, access: &Access<'_>) {
    let time = now
        .duration_since(UNIX_EPOCH)
        .ok()
        .and_then(|since| rfc3339_micros(since.as_secs(), since.subsec_micros()));
    match time {
        Some(time) => out.extend_from_slice(&time),
        // Before 1970 or after 9999.
        None => out.extend_from_slice(
            chrono::DateTime::<chrono::Utc>::from(now)
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
                .as_bytes(),
        ),
    }
    out.extend_from_slice(b"  INFO request{request_id=");
    out.extend_from_slice(access.request_id.as_bytes());
    out.extend_from_slice(b"}: flowgate::telemetry: request method=");
    out.extend_from_slice(access.method.as_bytes());
    out.extend_from_slice(b" path=");
    out.extend_from_slice(access.path.as_bytes());
    out.extend_from_slice(b" status=");
    out.extend_from_slice(itoa::Buffer::new().format(access.status).as_bytes());
    out.extend_from_slice(b" micros=");
    out.extend_from_slice(itoa::Buffer::new().format(access.micros).as_bytes());
    out.push(b'\n');
}

/// As the default format pads them.
fn level_name(level: &Level) -> &'static str {
    match *level {
        Level::TRACE => "TRACE",
        Level::DEBUG => "DEBUG",
        Level::INFO => " INFO",
        Level::WARN => " WARN",
        Level::ERROR => "ERROR",
    }
}

/// `2026-12-06T21:13:36.123456Z `, as tracing-subscriber's `SystemTime` writes it.
fn write_time(writer: &mut Writer<'_>, now: SystemTime) -> fmt::Result {
    let Some(text) = now
        .duration_since(UNIX_EPOCH)
        .ok()
        .and_then(|since| rfc3339_micros(since.as_secs(), since.subsec_micros()))
    else {
        // Before 1970 or after 9999: rare enough for the general formatter.
        if tracing_subscriber::fmt::time::SystemTime
            .format_time(writer)
            .is_err()
        {
            writer.write_str("<unknown time>")?;
        }
        return writer.write_char(' ');
    };
    writer.write_str(std::str::from_utf8(&text).map_err(|_| fmt::Error)?)?;
    writer.write_char(' ')
}

/// The UTC time `secs` after the epoch, in years 1970–9999 (chrono works out the date; the
/// digits are placed here, without `core::fmt`).
fn rfc3339_micros(secs: u64, micros: u32) -> Option<[u8; 27]> {
    let time = chrono::DateTime::from_timestamp(i64::try_from(secs).ok()?, 0)?;
    let year = u64::try_from(time.year())
        .ok()
        .filter(|year| *year <= 9999)?;
    let mut out = *b"0000-00-00T00:00:00.000000Z";
    put_digits(&mut out[0..4], year);
    put_digits(&mut out[5..7], u64::from(time.month()));
    put_digits(&mut out[8..10], u64::from(time.day()));
    put_digits(&mut out[11..13], u64::from(time.hour()));
    put_digits(&mut out[14..16], u64::from(time.minute()));
    put_digits(&mut out[17..19], u64::from(time.second()));
    put_digits(&mut out[20..26], u64::from(micros));
    Some(out)
}

/// `value`'s last `place.len()` decimal digits, zero-padded.
fn put_digits(place: &mut [u8], mut value: u64) {
    for digit in place.iter_mut().rev() {
        *digit = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

/// Writes fields as the default format does (`message` bare, then `name=value`, space-separated),
/// numbers and booleans without `core::fmt`; any other value as the default visitor writes it.
#[derive(Default)]
pub struct HumanFields;

impl<'a> MakeVisitor<Writer<'a>> for HumanFields {
    type Visitor = FieldsVisitor<'a>;

    fn make_visitor(&self, writer: Writer<'a>) -> FieldsVisitor<'a> {
        FieldsVisitor {
            styled: writer.has_ansi_escapes(),
            writer,
            empty: true,
            result: Ok(()),
        }
    }
}

pub struct FieldsVisitor<'a> {
    writer: Writer<'a>,
    /// Colours on: every field goes to the default visitor, which styles names.
    styled: bool,
    empty: bool,
    result: fmt::Result,
}

impl FieldsVisitor<'_> {
    /// The default visitor's rendering of one field, spaced as it would space it.
    fn as_default(&mut self, record: impl FnOnce(&mut DefaultVisitor<'_>)) {
        if self.result.is_ok() {
            let mut visitor = DefaultVisitor::new(self.writer.by_ref(), self.empty);
            record(&mut visitor);
            self.result = visitor.finish();
            self.empty = false;
        }
    }

    /// Writes ` name=value` (no space before the first field), at once when it fits in
    /// [`Staged`]: a span's fields are written into a `String`, which grew at each of the three
    /// writes of `request_id=…` (840 of a GET's instructions, BENCHMARKS.md). False for what it
    /// does not write itself (the message, raw identifiers, colours).
    fn field(&mut self, field: &Field, value: impl Fn(&mut dyn fmt::Write) -> fmt::Result) -> bool {
        let name = field.name();
        if self.styled || self.result.is_err() || name == "message" || name.starts_with("r#") {
            return false;
        }
        let separator = if self.empty { "" } else { " " };
        self.empty = false;
        let mut staged = Staged::new();
        let written = |to: &mut dyn fmt::Write| {
            to.write_str(separator)?;
            to.write_str(name)?;
            to.write_char('=')?;
            value(to)
        };
        self.result = match written(&mut staged) {
            Ok(()) => self.writer.write_str(staged.as_str()),
            // Longer than the stage: written piece by piece.
            Err(_) => written(&mut self.writer),
        };
        true
    }

    fn plain(&mut self, field: &Field, text: &str, default: impl FnOnce(&mut DefaultVisitor<'_>)) {
        if !self.field(field, |to| to.write_str(text)) {
            self.as_default(default);
        }
    }
}

/// The longest field written at once.
const STAGED: usize = 128;

/// Where a field is put together before it is written.
struct Staged {
    bytes: [u8; STAGED],
    len: usize,
}

impl Staged {
    fn new() -> Staged {
        Staged {
            bytes: [0; STAGED],
            len: 0,
        }
    }

    fn as_str(&self) -> &str {
        // Only whole `str`s were put in.
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or_default()
    }
}

impl fmt::Write for Staged {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let end = self.len + text.len();
        let room = self.bytes.get_mut(self.len..end).ok_or(fmt::Error)?;
        room.copy_from_slice(text.as_bytes());
        self.len = end;
        Ok(())
    }
}

impl Visit for FieldsVisitor<'_> {
    fn record_u64(&mut self, field: &Field, value: u64) {
        let mut digits = itoa::Buffer::new();
        let text = digits.format(value);
        self.plain(field, text, |v| v.record_u64(field, value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        let mut digits = itoa::Buffer::new();
        let text = digits.format(value);
        self.plain(field, text, |v| v.record_i64(field, value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        let text = if value { "true" } else { "false" };
        self.plain(field, text, |v| v.record_bool(field, value));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.as_default(|v| v.record_str(field, value));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.as_default(|v| v.record_error(field, value));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if !self.field(field, |to| write!(to, "{value:?}")) {
            self.as_default(|v| v.record_debug(field, value));
        }
    }
}

impl VisitOutput<fmt::Result> for FieldsVisitor<'_> {
    fn finish(self) -> fmt::Result {
        self.result
    }
}

impl VisitFmt for FieldsVisitor<'_> {
    fn writer(&mut self) -> &mut dyn fmt::Write {
        &mut self.writer
    }
}

#[cfg(test)]
mod tests;
