//! The HTTP surface: the endpoint every request goes through ([`front`]: request log and id →
//! panic catcher → framework-error answers → `Allow` → body limit → the gate → the API, the
//! documents and the pages), starting and stopping the server, and the timer scheduler that
//! runs beside it.

mod allow;
mod body_limit;
mod connections;
mod front;
mod json_keys;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use poem::endpoint::BoxEndpoint;
use poem::middleware::SetHeader;
use poem::{Endpoint, EndpointExt, IntoEndpoint, Response};
use poem_openapi::OpenApi;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::api::{self, Services};
use crate::authz::RouteTable;
use crate::config::Config;
use crate::gate::Gate;
use crate::pages;
use crate::services::setup::{self, Bootstrap, Opened};
use crate::services::{self, App};
use crate::{Error, Result};

use allow::Allow;
use body_limit::BodyLimit;
use front::{Front, PagesOrApi};

/// A server running in this process.
pub struct Running {
    pub addr: SocketAddr,
    pub app: Arc<App>,
    /// The bootstrap admin's credentials, if this start seeded the database.
    pub bootstrap: Option<Bootstrap>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, lets in-flight requests finish (up to 10 s), then writes everything
    /// into the database file.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
        self.app.runtime.instances.stopped().await;
        services::setup::close(&self.app).await;
    }

    /// Runs until one of `signals` arrives, then stops.
    pub async fn stop_on(self, signals: StopSignals) {
        signals.arrived().await;
        tracing::info!("shutting down");
        self.stop().await;
    }
}

/// SIGINT and SIGTERM, caught from the moment this is made: made before the server answers
/// its first request, so that a signal sent as soon as it answers stops it cleanly rather than
/// killing it.
pub struct StopSignals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl StopSignals {
    pub fn catch() -> Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let caught = |kind| {
                signal(kind).map_err(|e| Error::internal(format!("cannot catch signals: {e}")))
            };
            Ok(Self {
                interrupt: caught(SignalKind::interrupt())?,
                terminate: caught(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Self {})
    }

    async fn arrived(mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Binds `listen` (port 0 picks a free port).
pub async fn bind(listen: &str) -> Result<TcpListener> {
    TcpListener::bind(listen)
        .await
        .map_err(|e| Error::attribute("listen", format!("cannot listen on {listen}: {e}")))
}

/// Binds, then opens the database (migrating and, on a new one, seeding), then serves. The
/// address is bound first so that a start that cannot serve never seeds.
pub async fn start(config: Config, listen: &str) -> Result<Running> {
    let listener = bind(listen).await?;
    let opened = setup::open(&config).await?;
    serve(config, listener, opened).await
}

/// Serves on a bound listener over an opened database.
pub async fn serve(config: Config, listener: TcpListener, opened: Opened) -> Result<Running> {
    let Opened { db, kek, bootstrap } = opened;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::internal(format!("the listener has no address: {e}")))?;
    let limits = connections::Limits {
        header_timeout: Duration::from_millis(config.header_timeout_ms),
        idle_timeout: Duration::from_millis(config.idle_timeout_ms),
        connection_limit: config.connection_limit,
    };
    let public_url = config.public_url(addr);
    let routes = RouteTable::from_meta(&Services::meta(), crate::authz::GATED_PREFIX);
    let app = App::new(config, db, kek, public_url, routes).await?;
    let (stop, stopped) = watch::channel(false);
    // Before it answers or moves anything: from now on other servers know of this one (on
    // PostgreSQL once its lease connection is open; its writes wait in the database until then
    // should another server be sole).
    app.runtime
        .instances
        .serve(&app.db, &app.config, stopped.clone())?;
    app.spawn_sync(stopped.clone());
    spawn_timer_scheduler(Arc::clone(&app), stopped.clone());
    let endpoint = endpoint(&app);
    let task = tokio::spawn(connections::serve(listener, endpoint, limits, stopped));
    tracing::info!(%addr, public_url = %app.public_url, "flowgate listening");
    Ok(Running {
        addr,
        app,
        bootstrap,
        stop,
        task,
    })
}

/// Fires due BPMN timers every second.
fn spawn_timer_scheduler(app: Arc<App>, mut stop: watch::Receiver<bool>) {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(Duration::from_secs(1));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                _ = stop.changed() => break,
            }
            if let Err(err) = services::processes::fire_due_timers(&app).await {
                tracing::warn!(error = %err, "could not look for due timers");
            }
        }
    });
}

/// Where Swagger UI is nested.
const DOCS: &str = "/docs";

const STYLESHEET: &str = include_str!("../../static/flowgate.css");

/// Swagger UI is one page with its script and style inline: those may run, nothing else is
/// loaded from elsewhere, and it may not be framed.
fn docs_headers() -> SetHeader {
    SetHeader::new()
        .overriding(
            "content-security-policy",
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
             img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'",
        )
        .overriding("x-content-type-options", "nosniff")
        .overriding("referrer-policy", "no-referrer")
        .overriding("x-frame-options", "DENY")
}

/// A document made once, served as it is.
fn document_endpoint(
    content_type: &'static str,
    document: String,
) -> impl Endpoint<Output = Response> + use<> {
    poem::endpoint::make_sync(move |_| {
        Response::builder()
            .content_type(content_type)
            .body(document.clone())
    })
}

/// The whole HTTP application.
pub fn endpoint(app: &Arc<App>) -> impl Endpoint<Output = Response> + use<> {
    let api = api::openapi(api::services(app), &app.public_url);
    let (json, yaml) = api::documents(&api);
    let max_body = app.config.max_body_bytes;
    let body_timeout = Duration::from_millis(app.config.body_timeout_ms);
    let (pages, page_methods) = pages::mount(poem::Route::new());
    let stylesheet = poem::endpoint::make_sync(|_| {
        Response::builder()
            .content_type("text/css; charset=utf-8")
            .header("cache-control", "public, max-age=3600")
            .body(STYLESHEET)
    });
    let own: [(&str, BoxEndpoint<'static>); 3] = [
        (
            "/openapi.json",
            document_endpoint("application/json", json).boxed(),
        ),
        (
            "/openapi.yaml",
            document_endpoint("application/x-yaml", yaml).boxed(),
        ),
        ("/assets/flowgate.css", stylesheet.boxed()),
    ];
    let own_paths = own
        .iter()
        .map(|(path, _)| ((*path).to_owned(), vec![poem::http::Method::GET]));
    let page_paths = RouteTable::from_templates(page_methods.iter().cloned().chain(own_paths));
    // The front sends what the gate admitted straight to the API.
    for route in page_paths.routes() {
        assert!(
            !crate::authz::is_gated(&route.template),
            "{}: a page under the gated prefix",
            route.template
        );
    }
    let pages = own
        .into_iter()
        .fold(pages, |pages, (path, endpoint)| pages.at(path, endpoint))
        .nest(DOCS, api.swagger_ui().with(docs_headers()));
    let routes = PagesOrApi {
        page_paths,
        pages: pages.data(Arc::clone(app)).boxed(),
        api: api.into_endpoint(),
    };
    let documented = crate::authz::routes::templates(&Services::meta(), "/");
    let every_route = RouteTable::from_templates(documented.into_iter().chain(page_methods));
    Front {
        routes,
        gate: Gate::new(Arc::clone(app)),
        bodies: BodyLimit::new(max_body, body_timeout),
        allow: Allow::new(every_route),
    }
}
