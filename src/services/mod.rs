//! The use cases: one function per thing a caller can do (create a client, add a policy rule,
//! rotate keys, import a diagram, move a process, issue a token, …). Each owns its
//! transaction, its audit row, the change-counter bump other instances watch and making the
//! change visible on this instance at once. The admin API, the pages and the CLI call these and
//! nothing below them; the rules live here or in the engine, the rows in [`crate::store`].
//!
//! [`App`] is what the use cases run against: the database, the configuration and the
//! in-memory [`View`] of what authorized requests need (clients, keys, policy decisions),
//! reloaded on every change made here or, through the change counter (and LISTEN/NOTIFY on
//! PostgreSQL), on another instance. Revoked tokens are not reloaded but caught up: the
//! revocation counter says when there are new ones, and only those are read
//! ([`revocations::Revocations`]).

pub mod apps;
pub mod audit;
pub mod authorization;
pub mod calls;
pub mod clients;
pub mod delegation;
pub mod diagrams;
pub mod flow_requests;
pub mod housekeeping;
mod instance_cache;
pub mod keys;
pub mod limits;
mod moves;
pub mod paging;
pub mod policy;
pub mod processes;
pub mod revocations;
pub mod sessions;
pub mod setup;
mod sole;
pub mod tokens;
pub mod users;
pub mod variables;
mod view;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use arc_swap::ArcSwap;
use sea_orm::{DatabaseConnection, DbBackend};
use tokio::sync::{Mutex, watch};

pub use view::{PersonAuth, Standing, View};

use crate::authz::RouteTable;
use crate::config::Config;
use crate::oauth::jwt::Expectations;
use crate::oauth::sealing::Kek;
use crate::oauth::verified::VerifiedTokens;
use crate::telemetry::METRICS;
use crate::{Result, now, store};

pub struct App {
    pub config: Config,
    pub db: DatabaseConnection,
    /// Statements that run alone (no transaction), on connections held out of the pool.
    pub autocommit: store::Autocommit,
    /// PostgreSQL's code redemptions and refresh rotations, spent in groups.
    pub spends: store::Spends,
    /// PostgreSQL's checks of kept instances' versions, sent in groups.
    pub versions: store::Versions,
    /// Base URL for links, without a trailing slash.
    pub public_url: String,
    /// `iss` (and `aud`) of our tokens.
    pub issuer: String,
    /// The routes the policy is decided for.
    pub routes: RouteTable,
    pub failures: audit::FailureLog,
    /// Seals and opens signing keys at rest.
    pub kek: Kek,
    /// Parsed diagrams and the engine's write lane.
    pub runtime: processes::Runtime,
    pub(crate) unknown_clients: tokens::UnknownClients,
    /// Access tokens verified once, for the gate and introspection.
    pub verified_tokens: VerifiedTokens,
    /// Failed logins, slowed per username and address.
    pub login_limits: limits::FailureLimits,
    /// Failed client authentications, slowed per client id and address.
    pub client_limits: limits::FailureLimits,
    view: ArcSwap<View>,
    /// The revocations every view carries, reached without loading the view.
    revoked: Arc<revocations::Revocations>,
    last_seen: AtomicI64,
    reloading: Mutex<()>,
    /// How often this instance reloaded its whole view.
    reloads: AtomicU64,
}

impl App {
    /// The application over an open, migrated database.
    pub async fn new(
        config: Config,
        db: DatabaseConnection,
        kek: Kek,
        public_url: String,
        routes: RouteTable,
    ) -> Result<Arc<App>> {
        let issuer = config.issuer.clone().unwrap_or_else(|| public_url.clone());
        let revoked = Arc::new(revocations::Revocations::default());
        let counters = store::counters(&db).await?;
        revoked.catch_up(&db, counters.revocations, now()).await?;
        let view = view::load(&db, &kek, &routes, None, Arc::clone(&revoked)).await?;
        let autocommit = store::autocommit(&db, &config);
        Ok(Arc::new(App {
            kek,
            failures: audit::FailureLog::start(db.clone()),
            reloads: AtomicU64::new(0),
            runtime: processes::Runtime::default(),
            unknown_clients: tokens::UnknownClients::default(),
            verified_tokens: VerifiedTokens::new(config.token_cache_capacity),
            login_limits: limits::FailureLimits::logins(),
            client_limits: limits::FailureLimits::clients(),
            last_seen: AtomicI64::new(view.version),
            view: ArcSwap::from_pointee(view),
            revoked,
            reloading: Mutex::new(()),
            spends: store::Spends::new(&db, autocommit.clone()),
            versions: store::Versions::new(autocommit.clone()),
            autocommit,
            config,
            db,
            public_url,
            issuer,
            routes,
        }))
    }

    /// An application with no database behind it, for building the OpenAPI document from the
    /// code: it describes the routes but cannot serve them.
    pub fn detached(public_url: &str) -> Arc<App> {
        let autocommit = store::Autocommit::new(&DatabaseConnection::default(), 0);
        let view = View::empty();
        Arc::new(App {
            kek: Kek::generate().0,
            failures: audit::FailureLog::detached(),
            reloads: AtomicU64::new(0),
            runtime: processes::Runtime::default(),
            unknown_clients: tokens::UnknownClients::default(),
            verified_tokens: VerifiedTokens::new(0),
            login_limits: limits::FailureLimits::logins(),
            client_limits: limits::FailureLimits::clients(),
            last_seen: AtomicI64::new(0),
            revoked: Arc::clone(&view.revoked),
            view: ArcSwap::from_pointee(view),
            reloading: Mutex::new(()),
            config: Config::default(),
            spends: store::Spends::new(&DatabaseConnection::default(), autocommit.clone()),
            versions: store::Versions::new(autocommit.clone()),
            autocommit,
            db: DatabaseConnection::default(),
            public_url: public_url.to_owned(),
            issuer: public_url.to_owned(),
            routes: RouteTable::default(),
        })
    }

    /// What our access tokens must say at `now`: our issuer, for us, and no longer-lived than
    /// we issue them.
    pub fn expectations(&self, now: i64) -> Expectations<'_> {
        Expectations {
            issuer: &self.issuer,
            audience: &self.issuer,
            max_lifetime: self.config.access_token_ttl,
            now,
        }
    }

    pub fn view(&self) -> arc_swap::Guard<Arc<View>> {
        self.view.load()
    }

    /// See [`revocations::Revocations::standing_epoch`]; read it before the view.
    pub fn standing_epoch(&self) -> u64 {
        self.revoked.standing_epoch()
    }

    /// How many times this instance reloaded its whole view (revocations do not).
    pub fn view_reloads(&self) -> u64 {
        self.reloads.load(Ordering::Relaxed)
    }

    /// Makes a change committed through this instance visible here at once.
    pub async fn changed(&self) -> Result<()> {
        let _one_at_a_time = self.reloading.lock().await;
        self.reload().await
    }

    /// Loads the view anew; the caller holds `reloading`.
    async fn reload(&self) -> Result<()> {
        let current = self.view.load_full();
        let revoked = Arc::clone(&self.revoked);
        let view = view::load(&self.db, &self.kek, &self.routes, Some(&current), revoked).await?;
        self.last_seen.store(view.version, Ordering::Release);
        self.view.store(Arc::new(view));
        self.revoked.standing_changed();
        self.reloads.fetch_add(1, Ordering::Relaxed);
        METRICS.view_reloads.inc();
        Ok(())
    }

    /// Makes revocations committed through this instance (numbered up to `seq`) apply here at
    /// once, without reloading the view.
    pub async fn revoked(&self, seq: i64) -> Result<()> {
        self.revoked.catch_up(&self.db, seq, now()).await?;
        Ok(())
    }

    /// Picks up what other instances did since the last look: new revocations are read (only
    /// those), other changes reload the view. Expired revocations are dropped once a minute.
    pub async fn sync(&self) -> Result<bool> {
        let counters = store::counters(&self.db).await?;
        let at = now();
        self.revoked
            .catch_up(&self.db, counters.revocations, at)
            .await?;
        if self.revoked.prune(at) {
            store::revocations::delete_expired(&self.db, at).await?;
        }
        if counters.version == self.last_seen.load(Ordering::Acquire) {
            return Ok(false);
        }
        let _one_at_a_time = self.reloading.lock().await;
        // A change made here reloads at once: if that reload ran while this one waited, it has
        // already brought the view to this version (a second would be for nothing).
        if counters.version == self.last_seen.load(Ordering::Acquire) {
            return Ok(false);
        }
        self.reload().await?;
        Ok(true)
    }

    /// Keeps the view in step with other instances until `stop` changes: polls the change
    /// and revocation counters, and on PostgreSQL also listens for their notifications (the poll
    /// stays as the fallback when the listening connection drops). Also deletes what has run
    /// its course, at once and then every hour ([`housekeeping`]).
    pub fn spawn_sync(self: &Arc<Self>, stop: watch::Receiver<bool>) {
        let every = Duration::from_millis(self.config.sync_interval_ms.max(50));
        let app = Arc::clone(self);
        let mut polling = stop.clone();
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(every);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = ticker.tick() => {}
                    _ = polling.changed() => break,
                }
                app.sync_logged().await;
            }
        });
        let app = Arc::clone(self);
        let mut hourly = stop.clone();
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(Duration::from_secs(3600));
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = ticker.tick() => {}
                    _ = hourly.changed() => break,
                }
                housekeeping::sweep_logged(&app).await;
            }
        });
        if self.db.get_database_backend() == DbBackend::Postgres {
            let app = Arc::clone(self);
            tokio::spawn(async move { app.listen(stop).await });
        }
    }

    async fn sync_logged(&self) {
        match self.sync().await {
            Ok(true) => tracing::debug!("picked up changes from another instance"),
            Ok(false) => {}
            Err(err) => tracing::warn!(error = %err, "could not check for changes"),
        }
    }

    /// LISTEN for change notifications; reconnects after a pause when the connection drops.
    async fn listen(&self, mut stop: watch::Receiver<bool>) {
        use sea_orm::sqlx::postgres::PgListener;
        loop {
            let connected = async {
                let mut listener = PgListener::connect(&self.config.database_url).await?;
                listener.listen(store::CHANGES_CHANNEL).await?;
                Ok::<_, sea_orm::sqlx::Error>(listener)
            };
            let mut listener = tokio::select! {
                listener = connected => match listener {
                    Ok(listener) => listener,
                    Err(err) => {
                        tracing::debug!(error = %err, "cannot listen for changes; polling only");
                        tokio::select! {
                            _ = tokio::time::sleep(Duration::from_secs(5)) => continue,
                            _ = stop.changed() => return,
                        }
                    }
                },
                _ = stop.changed() => return,
            };
            loop {
                tokio::select! {
                    received = listener.recv() => match received {
                        Ok(_) => self.sync_logged().await,
                        Err(err) => {
                            tracing::debug!(error = %err, "change listener dropped");
                            break;
                        }
                    },
                    _ = stop.changed() => return,
                }
            }
        }
    }

    /// Token lifetimes and the issuer, for the token logic.
    pub fn issuer_settings(&self, now: i64) -> crate::oauth::grants::Issuer<'_> {
        crate::oauth::grants::Issuer {
            issuer: &self.issuer,
            audience: &self.issuer,
            access_token_ttl: self.config.access_token_ttl,
            now,
        }
    }
}

/// Whether the application can serve: the database answers.
pub async fn ready(app: &App) -> Result<()> {
    store::ping(&app.db).await
}
