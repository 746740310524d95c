//! Logs, request ids and Prometheus metrics. Request lines carry method, path (never the query,
//! which may hold credentials), status and latency; headers and bodies are never logged.

use std::cell::Cell;
use std::fmt::Write;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Instant, SystemTime};

use crossbeam_utils::CachePadded;
use poem::http::{HeaderName, HeaderValue, Method, Uri};
use poem::{Request, Response};
use tracing::{Level, Span};
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;
use buffer::LogBuffer;

mod buffer;
mod line;

/// Keeps the log writer running; dropping it writes out what is still buffered.
#[must_use = "lines buffered when this is dropped are written out and later ones are not"]
pub struct LogGuard(#[allow(dead_code)] buffer::Flusher);

/// Starts logging to stderr (`RUST_LOG` filters; `info` by default, without the migration
/// runner's chatter). Colours only when stderr is a terminal. Lines reach stderr within a few
/// milliseconds, in batches ([`buffer`]).
pub fn init(format: LogFormat) -> LogGuard {
    use std::io::IsTerminal;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm_migration=warn"));
    let (writer, guard) = buffer::start();
    let colours = std::io::stderr().is_terminal();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colours)
        .with_writer(writer.clone());
    let started = match format {
        LogFormat::Human => builder
            .event_format(line::HumanLine::default())
            .fmt_fields(line::HumanFields)
            .try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
    };
    if started.is_ok() && format == LogFormat::Human && !colours {
        let _ = ACCESS_LINES.set(writer);
    }
    LogGuard(guard)
}

/// A count that each thread adds to in a cache line of its own (one of [`STRIPES`]), and that
/// reading sums. One line written by every request on every core went from core to core at
/// each request (BENCHMARKS.md).
pub struct Counter([CachePadded<AtomicU64>; STRIPES]);

const STRIPES: usize = 8;

impl Default for Counter {
    fn default() -> Self {
        Counter(std::array::from_fn(|_| CachePadded::new(AtomicU64::new(0))))
    }
}

impl Counter {
    pub fn inc(&self) {
        self.add(1);
    }

    pub fn add(&self, n: u64) {
        self.0[stripe()].fetch_add(n, Ordering::Relaxed);
    }

    pub fn get(&self) -> u64 {
        self.0.iter().map(|n| n.load(Ordering::Relaxed)).sum()
    }
}

/// This thread's stripe of every [`Counter`].
fn stripe() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static STRIPE: usize = NEXT.fetch_add(1, Ordering::Relaxed) % STRIPES;
    }
    STRIPE.with(|stripe| *stripe)
}

/// Process-wide counters, exported at `/metrics`.
#[derive(Default)]
pub struct Metrics {
    pub responses: [Counter; 6],
    pub tokens_issued: Counter,
    pub token_errors: Counter,
    pub gate_unauthenticated: Counter,
    pub gate_denied: Counter,
    pub audit_dropped: Counter,
    pub view_reloads: Counter,
    pub request_seconds_sum_micros: Counter,
}

pub static METRICS: std::sync::LazyLock<Metrics> = std::sync::LazyLock::new(Metrics::default);

impl Metrics {
    /// Prometheus text exposition format 0.0.4.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let mut counter = |name: &str, help: &str, value: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
            );
        };
        counter(
            "flowgate_tokens_issued_total",
            "Access tokens issued.",
            self.tokens_issued.get(),
        );
        counter(
            "flowgate_token_errors_total",
            "Token requests refused.",
            self.token_errors.get(),
        );
        counter(
            "flowgate_gate_unauthenticated_total",
            "Gated requests without a valid token.",
            self.gate_unauthenticated.get(),
        );
        counter(
            "flowgate_gate_denied_total",
            "Gated requests without the role.",
            self.gate_denied.get(),
        );
        counter(
            "flowgate_audit_dropped_total",
            "Audit rows dropped under load.",
            self.audit_dropped.get(),
        );
        counter(
            "flowgate_view_reloads_total",
            "Reloads of the in-memory view (changes; revocations are applied without one).",
            self.view_reloads.get(),
        );
        let total: u64 = self.responses.iter().map(Counter::get).sum();
        let _ = writeln!(
            out,
            "# HELP flowgate_http_responses_total HTTP responses by status class."
        );
        let _ = writeln!(out, "# TYPE flowgate_http_responses_total counter");
        for (class, count) in self.responses.iter().enumerate().skip(1) {
            let _ = writeln!(
                out,
                "flowgate_http_responses_total{{class=\"{class}xx\"}} {}",
                count.get()
            );
        }
        let _ = writeln!(
            out,
            "# HELP flowgate_http_request_duration_seconds Time spent answering."
        );
        let _ = writeln!(out, "# TYPE flowgate_http_request_duration_seconds summary");
        let sum = self.request_seconds_sum_micros.get() as f64 / 1e6;
        let _ = writeln!(out, "flowgate_http_request_duration_seconds_sum {sum}");
        let _ = writeln!(out, "flowgate_http_request_duration_seconds_count {total}");
        out
    }
}

/// `<random per process>-<sequence>`: unique, and cheaper than a random id per request.
/// Each thread takes its sequence numbers in blocks: one counter for every request would move
/// its cache line between the cores at each request.
fn next_request_id() -> String {
    static PREFIX: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| uuid::Uuid::new_v4().simple().to_string()[..12].to_owned());
    static NEXT_BLOCK: AtomicU64 = AtomicU64::new(0);
    const BLOCK: u64 = 1024;
    thread_local! {
        /// The next number of this thread's block, and the block's end.
        static BLOCK_LEFT: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
    }
    let sequence = BLOCK_LEFT.with(|left| {
        let (mut next, mut end) = left.get();
        if next == end {
            next = NEXT_BLOCK.fetch_add(BLOCK, Ordering::Relaxed);
            end = next + BLOCK;
        }
        left.set((next + 1, end));
        next
    });
    let mut digits = itoa::Buffer::new();
    let sequence = digits.format(sequence);
    let mut id = String::with_capacity(PREFIX.len() + 1 + sequence.len());
    id.push_str(&PREFIX);
    id.push('-');
    id.push_str(sequence);
    id
}

/// The request id's header, named once rather than parsed from text at each use.
static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// A request's id, span and start, from its arrival until its answer is logged: every request
/// gets an id (kept from `X-Request-Id` when sane), a span, a log line and a place in the
/// metrics. Its two ends are called by the HTTP front ([`crate::http`]), which runs everything
/// else inside [`RequestLog::span`].
pub struct RequestLog {
    started: Instant,
    id: String,
    method: Method,
    /// The path is logged, never the query, which may hold credentials.
    uri: Uri,
    span: Span,
}

impl RequestLog {
    pub fn begin(req: &Request) -> RequestLog {
        let id = req
            .headers()
            .get(&X_REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_graphic()))
            .map(str::to_owned)
            .unwrap_or_else(next_request_id);
        let span = request_span(&id);
        RequestLog {
            started: Instant::now(),
            method: req.method().clone(),
            uri: req.uri().clone(),
            id,
            span,
        }
    }

    /// What runs inside this span logs with the request's id.
    pub fn span(&self) -> &Span {
        &self.span
    }

    /// Counts and logs the answer, and gives it the request's id.
    pub fn end(self, mut response: Response) -> Response {
        let status = response.status().as_u16();
        let micros = self.started.elapsed().as_micros() as u64;
        METRICS.responses[usize::from(status / 100).min(5)].inc();
        METRICS.request_seconds_sum_micros.add(micros);
        let access = line::Access {
            request_id: &self.id,
            method: self.method.as_str(),
            path: self.uri.path(),
            status,
            micros,
        };
        log_access(&self.span, &access, ACCESS_LINES.get());
        if let Ok(value) = HeaderValue::try_from(self.id) {
            response.headers_mut().insert(X_REQUEST_ID.clone(), value);
        }
        response
    }
}

/// A root span: the access line written straight names no span around it.
fn request_span(id: &str) -> Span {
    tracing::info_span!(parent: None, "request", request_id = %id)
}

/// Where access lines are written straight, once the log is the human format without colours.
static ACCESS_LINES: OnceLock<LogBuffer> = OnceLock::new();

/// Logs the access line in the request's span: as an event, or, when the log is the human
/// format without colours, written straight into the log's buffer with the text that event
/// would have (a test holds them equal). The event went through the subscriber's filter, span
/// lookup and field visitors: 4,200 of a GET's 36,300 instructions (BENCHMARKS.md).
fn log_access(span: &Span, access: &line::Access<'_>, straight: Option<&LogBuffer>) {
    span.in_scope(|| match straight {
        Some(lines) => {
            if tracing::enabled!(Level::INFO) {
                lines.append_with(|out| line::write_access(out, SystemTime::now(), access));
            }
        }
        None => tracing::info!(
            method = %access.method,
            path = %access.path,
            status = access.status,
            micros = access.micros,
            "request"
        ),
    });
}

#[cfg(test)]
mod tests {
    /// Threads drawing ids at once, each through several blocks, never draw the same one.
    #[test]
    fn request_ids_are_unique_across_threads() {
        let ids: Vec<String> = std::thread::scope(|scope| {
            let drawing: Vec<_> = (0..4)
                .map(|_| scope.spawn(|| (0..3000).map(|_| super::next_request_id()).collect()))
                .collect();
            drawing
                .into_iter()
                .flat_map(|thread| thread.join().unwrap_or_else(|_| Vec::new()))
                .collect()
        });
        let unique: std::collections::HashSet<&String> = ids.iter().collect();
        assert_eq!(ids.len(), 12_000);
        assert_eq!(unique.len(), ids.len());
    }

    /// More threads than stripes, adding at once: the count is their sum, none lost.
    #[test]
    fn a_counter_sums_what_every_thread_added() {
        let counter = super::Counter::default();
        std::thread::scope(|scope| {
            for thread in 0..super::STRIPES as u64 + 3 {
                let counter = &counter;
                scope.spawn(move || {
                    for _ in 0..1000 {
                        counter.inc();
                    }
                    counter.add(thread);
                });
            }
        });
        let threads = super::STRIPES as u64 + 3;
        assert_eq!(counter.get(), threads * 1000 + threads * (threads - 1) / 2);
    }
}
