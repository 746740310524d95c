//! The server's shared state and its in-memory view of the database: clients, signing keys,
//! revoked tokens and the policy decisions. The view is swapped atomically on every change, made
//! here or (seen through the change counter) on another instance, so authorized requests never
//! touch the database.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use arc_swap::ArcSwap;
use hashbrown::{HashMap, HashSet};
use sea_orm::DatabaseConnection;
use tokio::sync::Mutex;

use crate::config::Config;
use crate::gate::policy::Decisions;
use crate::gate::routes::RouteTable;
use crate::gate::tokens::TokenCache;
use crate::oauth::grants::{Directory, Issuer};
use crate::oauth::keys::KeyRing;
use crate::store::audit::FailureLog;
use crate::store::clients::ClientAuth;
use crate::store::keys::StoredKey;
use crate::store::policy::Rule;
use crate::store::processes::Runtime;
use crate::{Result, store};

/// What the database said at one change-counter version.
pub struct View {
    pub version: i64,
    pub clients: HashMap<String, ClientAuth>,
    pub keys: KeyRing,
    pub revoked: HashSet<String>,
    pub rules: Vec<Rule>,
    pub decisions: Decisions,
}

impl Directory for View {
    fn client(&self, client_id: &str) -> Option<&ClientAuth> {
        self.clients.get(client_id)
    }

    fn keys(&self) -> &KeyRing {
        &self.keys
    }
}

pub struct AppState {
    pub config: Config,
    pub db: DatabaseConnection,
    /// Base URL for links, without a trailing slash.
    pub public_url: String,
    /// `iss` of our tokens.
    pub issuer: String,
    pub routes: RouteTable,
    pub tokens: TokenCache,
    pub failures: FailureLog,
    /// Parsed diagrams and the engine's write lane.
    pub runtime: Runtime,
    view: ArcSwap<View>,
    last_seen: AtomicI64,
    reloading: Mutex<()>,
}

impl AppState {
    pub async fn new(
        config: Config,
        db: DatabaseConnection,
        public_url: String,
        routes: RouteTable,
    ) -> Result<Arc<AppState>> {
        let issuer = config.issuer.clone().unwrap_or_else(|| public_url.clone());
        let view = load(&db, &routes, None).await?;
        Ok(Arc::new(AppState {
            tokens: TokenCache::new(config.token_cache_capacity),
            failures: FailureLog::start(db.clone()),
            runtime: Runtime::default(),
            last_seen: AtomicI64::new(view.version),
            view: ArcSwap::from_pointee(view),
            reloading: Mutex::new(()),
            config,
            db,
            public_url,
            issuer,
            routes,
        }))
    }

    /// A state with no database behind it, for building the OpenAPI document from the code:
    /// it describes the routes but cannot serve them.
    pub fn detached() -> Arc<AppState> {
        let mut seed = [0u8; 32];
        rand::fill(&mut seed);
        let key = StoredKey {
            kid: "detached".into(),
            seed,
            created_at: 0,
            retired_at: None,
            publish_until: None,
        };
        let keys = KeyRing::new(&[key]).expect("a key ring of one fresh key");
        let view = View {
            version: 0,
            clients: HashMap::new(),
            keys,
            revoked: HashSet::new(),
            rules: Vec::new(),
            decisions: Decisions::default(),
        };
        let config = Config::default();
        let db = DatabaseConnection::default();
        Arc::new(AppState {
            tokens: TokenCache::new(16),
            failures: FailureLog::detached(),
            runtime: Runtime::default(),
            last_seen: AtomicI64::new(0),
            view: ArcSwap::from_pointee(view),
            reloading: Mutex::new(()),
            public_url: api_default_url(),
            issuer: api_default_url(),
            routes: RouteTable::default(),
            config,
            db,
        })
    }

    pub fn view(&self) -> arc_swap::Guard<Arc<View>> {
        self.view.load()
    }

    pub fn issuer_settings(&self, now: i64) -> Issuer<'_> {
        Issuer {
            issuer: &self.issuer,
            audience: &self.issuer,
            access_token_ttl: self.config.access_token_ttl,
            now,
        }
    }

    /// Reloads the view from the database (after a change made through this instance).
    pub async fn reload(&self) -> Result<()> {
        let _one_at_a_time = self.reloading.lock().await;
        let current = self.view.load_full();
        let view = load(&self.db, &self.routes, Some(&current)).await?;
        self.last_seen.store(view.version, Ordering::Release);
        self.view.store(Arc::new(view));
        Ok(())
    }

    /// Reloads if another instance changed something since the last look.
    pub async fn sync(&self) -> Result<bool> {
        let version = store::change_version(&self.db).await?;
        if version == self.last_seen.load(Ordering::Acquire) {
            return Ok(false);
        }
        self.reload().await?;
        Ok(true)
    }

    /// Polls the change counter until `stop` resolves.
    pub fn spawn_sync(self: &Arc<Self>, mut stop: tokio::sync::watch::Receiver<bool>) {
        let state = Arc::clone(self);
        let every = Duration::from_millis(state.config.sync_interval_ms.max(50));
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(every);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = ticker.tick() => {}
                    _ = stop.changed() => break,
                }
                match state.sync().await {
                    Ok(true) => tracing::info!("picked up changes from another instance"),
                    Ok(false) => {}
                    Err(err) => tracing::warn!(error = %err, "could not check for changes"),
                }
            }
        });
    }
}

fn api_default_url() -> String {
    crate::api::DEFAULT_SERVER_URL.to_owned()
}

/// Reads everything the view holds. The version is read first, so a change racing with the
/// load is seen again at the next poll.
async fn load(
    db: &DatabaseConnection,
    routes: &RouteTable,
    previous: Option<&View>,
) -> Result<View> {
    let version = store::change_version(db).await?;
    let clients = store::clients::all_auth(db).await?;
    let keys = KeyRing::new(&store::keys::published(db).await?)?;
    let revoked = store::revocations::live(db).await?;
    let rules = store::policy::list(db).await?;
    // Deciding runs casbin a few hundred times: skip it when the rules did not change.
    let decisions = match previous {
        Some(view) if view.rules == rules => view.decisions.clone(),
        _ => Decisions::decide(routes, &rules).await?,
    };
    Ok(View {
        version,
        clients: clients
            .into_iter()
            .map(|c| (c.client_id.clone(), c))
            .collect(),
        keys,
        revoked: revoked.into_iter().collect(),
        rules,
        decisions,
    })
}
