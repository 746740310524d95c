//! Accepting and serving connections, with the limits a server facing the network needs: at
//! most `connection_limit` open connections (further ones wait in the kernel's backlog), the
//! request head within `header_timeout` (a client holding half a header is cut off), no
//! connection idle longer than `idle_timeout`, and a graceful stop that lets in-flight requests
//! finish. (Bodies are bounded in time by [`super::body_limit`].)

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use poem::http::uri::Scheme;
use poem::web::{LocalAddr, RemoteAddr};
use poem::{Addr, Endpoint, IntoResponse};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

/// How long in-flight requests may take to finish once the server stops.
const GRACE: Duration = Duration::from_secs(10);

#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
    pub connection_limit: usize,
}

/// Serves `endpoint` on `listener` until `stop` changes, then stops accepting and waits (up to
/// ten seconds) for the requests under way.
pub async fn serve<E>(
    listener: TcpListener,
    endpoint: E,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
) -> io::Result<()>
where
    E: Endpoint + 'static,
{
    let endpoint = Arc::new(endpoint);
    let local = listener.local_addr()?;
    let permits = Arc::new(Semaphore::new(limits.connection_limit.max(1)));
    let (closing, closing_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    loop {
        let permit = tokio::select! {
            permit = Arc::clone(&permits).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            _ = stop.changed() => break,
        };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.changed() => break,
        };
        let (socket, remote) = match accepted {
            Ok(pair) => pair,
            Err(err) => {
                // Out of file descriptors and the like: wait a moment rather than spin.
                tracing::warn!(error = %err, "could not accept a connection");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = socket.set_nodelay(true);
        let endpoint = Arc::clone(&endpoint);
        let closing = closing_rx.clone();
        connections.spawn(async move {
            serve_one(socket, local, remote, endpoint, limits, closing).await;
            drop(permit);
        });
        // Reap finished connections as we go, so the set does not grow.
        while connections.try_join_next().is_some() {}
    }
    let _ = closing.send(true);
    // Connections the kernel completed but we had not yet accepted would be reset when the
    // listener closes, losing requests their clients already sent: take them in first (each
    // answers one request, then closes).
    for socket in backlog(listener) {
        let (endpoint, closing) = (Arc::clone(&endpoint), closing_rx.clone());
        connections.spawn(async move {
            if let Ok(remote) = socket.peer_addr() {
                serve_one(socket, local, remote, endpoint, limits, closing).await;
            }
        });
    }
    let drained = tokio::time::timeout(GRACE, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!("stopped with requests still under way after {GRACE:?}");
    }
    Ok(())
}

/// Accepts whatever waits in the listen backlog, without waiting for more, and closes the
/// listener. A plain non-blocking `accept` each time: the reactor's readiness may lag behind.
fn backlog(listener: TcpListener) -> Vec<TcpStream> {
    let Ok(listener) = listener.into_std() else {
        return Vec::new();
    };
    let mut waiting = Vec::new();
    while let Ok((socket, _)) = listener.accept() {
        let socket = socket
            .set_nonblocking(true)
            .and_then(|()| TcpStream::from_std(socket));
        if let Ok(socket) = socket {
            let _ = socket.set_nodelay(true);
            waiting.push(socket);
        }
    }
    waiting
}

async fn serve_one<E: Endpoint + 'static>(
    socket: TcpStream,
    local: SocketAddr,
    remote: SocketAddr,
    endpoint: Arc<E>,
    limits: Limits,
    mut closing: watch::Receiver<bool>,
) {
    let activity = Arc::new(AtomicU64::new(0));
    let answered = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let io = TokioIo::new(Watched {
        inner: socket,
        activity: Arc::clone(&activity),
        answered: Arc::clone(&answered),
        started,
    });
    let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        let endpoint = Arc::clone(&endpoint);
        async move {
            let req: poem::Request = (
                req,
                LocalAddr(Addr::SocketAddr(local)),
                RemoteAddr(Addr::SocketAddr(remote)),
                Scheme::HTTP,
            )
                .into();
            let response = match endpoint.call(req).await {
                Ok(response) => response.into_response(),
                Err(err) => err.into_response(),
            };
            Ok::<_, Infallible>(hyper::Response::from(response))
        }
    });
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(256);
    let connection = builder.serve_connection_with_upgrades(io, service);
    tokio::pin!(connection);
    let idle = idle_watch(activity, started, limits.idle_timeout);
    tokio::pin!(idle);
    tokio::select! {
        _ = &mut connection => return,
        _ = &mut idle => {
            tracing::debug!(%remote, "closing an idle connection");
        }
        _ = closing.changed() => {
            // Until a connection has answered once, it may still be choosing between HTTP/1
            // and HTTP/2, and a graceful shutdown then drops it with its request unread. Let it
            // answer its first request (a silent client is cut off at the header timeout).
            let first_answer = async {
                while !answered.load(Ordering::Relaxed) {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            };
            tokio::select! {
                _ = &mut connection => return,
                _ = first_answer => {}
                _ = tokio::time::sleep(limits.header_timeout) => {}
            }
        }
    }
    connection.as_mut().graceful_shutdown();
    let _ = tokio::time::timeout(GRACE, connection).await;
}

/// Resolves once the connection has seen no byte either way for `timeout`.
async fn idle_watch(activity: Arc<AtomicU64>, started: Instant, timeout: Duration) {
    let tick = (timeout / 4).max(Duration::from_millis(100));
    loop {
        tokio::time::sleep(tick).await;
        let last = Duration::from_millis(activity.load(Ordering::Relaxed));
        if started.elapsed().saturating_sub(last) >= timeout {
            return;
        }
    }
}

/// A socket that notes when bytes last moved (milliseconds since the connection began), and
/// whether it has written anything yet.
struct Watched {
    inner: TcpStream,
    activity: Arc<AtomicU64>,
    answered: Arc<AtomicBool>,
    started: Instant,
}

impl Watched {
    fn wrote(&self) {
        self.answered.store(true, Ordering::Relaxed);
        self.touch();
    }

    fn touch(&self) {
        let now = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.activity.store(now, Ordering::Relaxed);
    }
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.touch();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.wrote();
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.wrote();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
