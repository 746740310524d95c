//! Wires the server: database, migrations, the in-memory view, the routes and their
//! middleware, graceful shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use poem::http::{StatusCode, header};
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::{Body, Endpoint, EndpointExt, IntoResponse, Request, Response, Server};
use poem_openapi::OpenApi;
use tokio::sync::watch;

use crate::api::{self, Services};
use crate::config::Config;
use crate::gate::routes::RouteTable;
use crate::gate::{Gate, failure};
use crate::state::AppState;
use crate::store::{self, Bootstrap};
use crate::telemetry::RequestLog;
use crate::{Error, Result};

/// A server running in this process.
pub struct Running {
    pub addr: SocketAddr,
    pub state: Arc<AppState>,
    /// The bootstrap admin's credentials, if this start created the database.
    pub bootstrap: Option<Bootstrap>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, lets in-flight requests finish (up to 10 s), then returns.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }

    /// Runs until the stop signal, SIGINT or SIGTERM.
    pub async fn wait_for_signal(self) {
        shutdown_signal().await;
        tracing::info!("shutting down");
        self.stop().await;
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => return std::future::pending().await,
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

/// Connects, migrates (seeding an empty database), binds `listen` and starts serving.
pub async fn start(config: Config, listen: &str) -> Result<Running> {
    let db = store::connect(&config).await?;
    let bootstrap = store::migrate(&db, &config).await?;
    let acceptor = TcpListener::bind(listen.to_owned())
        .into_acceptor()
        .await
        .map_err(|e| Error::invalid(format!("cannot listen on {listen}: {e}")))?;
    let addr = acceptor
        .local_addr()
        .first()
        .and_then(|a| a.as_socket_addr().copied())
        .ok_or_else(|| Error::Internal("listener has no address".into()))?;
    let public_url = config.public_url(addr);
    let routes = RouteTable::from_meta(&Services::meta(), "/v1/");
    let state = AppState::new(config, db, public_url, routes).await?;
    let (stop, stopped) = watch::channel(false);
    state.spawn_sync(stopped.clone());
    spawn_timer_scheduler(Arc::clone(&state), stopped.clone());
    let app = app(&state);
    let mut signal = stopped;
    let task = tokio::spawn(async move {
        Server::new_with_acceptor(acceptor)
            .run_with_graceful_shutdown(
                app,
                async move {
                    let _ = signal.changed().await;
                },
                Some(Duration::from_secs(10)),
            )
            .await
    });
    tracing::info!(%addr, public_url = %state.public_url, "flowgate listening");
    Ok(Running {
        addr,
        state,
        bootstrap,
        stop,
        task,
    })
}

/// Fires due BPMN timers every second. Several instances may race for one process: the row
/// lock serialises them and the loser finds nothing due.
fn spawn_timer_scheduler(state: Arc<AppState>, mut stop: watch::Receiver<bool>) {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(Duration::from_secs(1));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                _ = stop.changed() => break,
            }
            let due = match store::processes::with_due_timers(&state.db, crate::now()).await {
                Ok(due) => due,
                Err(err) => {
                    tracing::warn!(error = %err, "could not look for due timers");
                    continue;
                }
            };
            for prcs_id in due {
                let fired =
                    store::processes::apply(&state.db, &state.runtime, prcs_id, |instance, ctx| {
                        instance.fire_due_timers(ctx)
                    })
                    .await;
                if let Err(err) = fired {
                    tracing::warn!(prcs_id, error = %err, "timer could not fire");
                }
            }
        }
    });
}

/// The whole HTTP application.
pub fn app(state: &Arc<AppState>) -> impl Endpoint<Output = Response> + use<> {
    let api = api::openapi(api::services(state), &state.public_url);
    let max_body = state.config.max_body_bytes;
    let docs = poem::Route::new()
        .at("/openapi.json", api.spec_endpoint())
        .at("/openapi.yaml", api.spec_endpoint_yaml())
        .nest("/docs", api.swagger_ui())
        .nest("/", api);
    let gated = Gate::new(docs, Arc::clone(state));
    let limited = BodyLimit {
        inner: gated,
        max: max_body,
    };
    RequestLog(limited.catch_all_error(|err: poem::Error| async move { json_error(err) }))
}

/// Every framework error (unknown route, wrong method, unparsable JSON or parameter) as
/// `{"success": false, "message": …}`; server errors say nothing of their cause.
fn json_error(err: poem::Error) -> Response {
    // Our own answers (ApiResponse types) already carry their JSON body.
    if err.is_from_response() {
        return err.into_response();
    }
    let status = err.status();
    let message = match status {
        StatusCode::NOT_FOUND => "Resource not found".to_owned(),
        StatusCode::METHOD_NOT_ALLOWED => "Method not allowed".to_owned(),
        StatusCode::PAYLOAD_TOO_LARGE => "Payload too large".to_owned(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "Unsupported Media Type".to_owned(),
        s if s.is_server_error() => {
            tracing::error!(error = %err, "request failed");
            "Internal error".to_owned()
        }
        _ => err.to_string(),
    };
    let mut response = failure(status, &message);
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            poem::http::HeaderValue::from_static(r#"Bearer realm="flowgate""#),
        );
    }
    response
}

/// Bodies up to this many times the limit are drained before the 413 answer.
const DRAIN_FACTOR: usize = 16;

/// Refuses bodies over `max` bytes with 413, whether or not they announce their length.
struct BodyLimit<E> {
    inner: E,
    max: usize,
}

impl<E: Endpoint> Endpoint for BodyLimit<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> poem::Result<Response> {
        let announced = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        match announced {
            Some(length) if length > self.max => {
                // Read and drop a moderately large body so the client, still sending, gets the
                // answer instead of a reset connection (what nginx calls lingering close).
                if length <= self.max.saturating_mul(DRAIN_FACTOR) {
                    let mut body = req.take_body().into_async_read();
                    let _ = tokio::io::copy(&mut body, &mut tokio::io::sink()).await;
                }
                return Ok(failure(StatusCode::PAYLOAD_TOO_LARGE, "Payload too large"));
            }
            Some(_) => {}
            None => {
                let body = req.take_body();
                match body.into_bytes_limit(self.max).await {
                    Ok(bytes) => req.set_body(Body::from_bytes(bytes)),
                    Err(_) => {
                        return Ok(failure(StatusCode::PAYLOAD_TOO_LARGE, "Payload too large"));
                    }
                }
            }
        }
        self.inner.call(req).await.map(IntoResponse::into_response)
    }
}
