//! The test kit: starts the real server in this process on a free port, on a fresh SQLite file or
//! a fresh PostgreSQL database, and speaks HTTP to it.

use base64::Engine;
use flowgate::config::Config;
use flowgate::http::{self as server, Running};
use reqwest::{Method, StatusCode};
use sea_orm::{ConnectionTrait, Database};
use serde_json::Value;

#[derive(Clone, Copy, Debug)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Client credentials.
#[derive(Clone, Debug)]
pub struct Creds {
    pub id: String,
    pub secret: String,
}

/// A fresh database of either kind, gone when this is dropped.
pub struct TestDb {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    pg: Option<(String, String)>,
}

const DEFAULT_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/test";

impl TestDb {
    pub async fn new(backend: Backend) -> Option<TestDb> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!(
                    "sqlite://{}?mode=rwc",
                    dir.path().join("flowgate.db").display()
                );
                Some(TestDb {
                    url,
                    _dir: Some(dir),
                    pg: None,
                })
            }
            Backend::Postgres => {
                let explicit = std::env::var("DATABASE_URL_POSTGRES").ok();
                let required = explicit.is_some()
                    || std::env::var("FLOWGATE_REQUIRE_POSTGRES").is_ok_and(|v| v == "1");
                let admin_url = explicit.unwrap_or_else(|| DEFAULT_POSTGRES.to_owned());
                let admin = match Database::connect(&admin_url).await {
                    Ok(db) => db,
                    Err(err) if !required => {
                        eprintln!("skipping the PostgreSQL run: {err}");
                        return None;
                    }
                    Err(err) => panic!("PostgreSQL at {admin_url} is required: {err}"),
                };
                let name = format!("flowgate_test_{}", uuid::Uuid::new_v4().simple());
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .expect("create database");
                let (base, _) = admin_url
                    .rsplit_once('/')
                    .expect("database URL with a database name");
                Some(TestDb {
                    url: format!("{base}/{name}"),
                    _dir: None,
                    pg: Some((admin_url, name)),
                })
            }
        }
    }
}

impl TestDb {
    /// A database that belongs to someone else (a PostgreSQL cluster of a test's own): used
    /// as it is and not dropped.
    pub fn external(url: String) -> TestDb {
        TestDb {
            url,
            _dir: None,
            pg: None,
        }
    }
}

/// Drops the PostgreSQL database even when the test panicked (on a thread of its own, since
/// `drop` cannot await).
impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((admin_url, name)) = self.pg.take() else {
            return;
        };
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async {
                if let Ok(admin) = Database::connect(&admin_url).await {
                    let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                    if let Err(err) = admin.execute_unprepared(&sql).await {
                        eprintln!("could not drop {name}: {err}");
                    }
                }
            });
        });
        let _ = cleanup.join();
    }
}

pub struct Kit {
    pub server: Running,
    pub base: String,
    pub http: reqwest::Client,
    pub admin: Creds,
    pub db: TestDb,
}

/// The key-encryption key of the test servers: every instance on a database needs the same
/// one, and a PostgreSQL database has no folder to keep a key file beside.
pub const TEST_KEK: &str = "dGVzdC1rZXktZW5jcnlwdGlvbi1rZXktMzItYnl0ZXM";

/// The test servers' configuration. They keep the audit log forever: a retention pass at
/// their start could otherwise race a test's old rows.
pub fn config(url: &str) -> Config {
    Config {
        database_url: url.to_owned(),
        sync_interval_ms: 200,
        audit_retention_days: 0,
        key_encryption_key: Some(flowgate::config::Secret::new(TEST_KEK.into())),
        ..Config::default()
    }
}

impl Kit {
    /// A server on a fresh database, or `None` when PostgreSQL is wanted but not there.
    pub async fn start(backend: Backend) -> Option<Kit> {
        if std::env::var_os("RUST_LOG").is_some() {
            // The test binary logs until it exits.
            std::mem::forget(flowgate::telemetry::init(
                flowgate::config::LogFormat::Human,
            ));
        }
        let db = TestDb::new(backend).await?;
        Some(Kit::start_on(db).await)
    }

    /// A server on this database, which it seeds.
    pub async fn start_on(db: TestDb) -> Kit {
        let server = server::start(config(&db.url), "127.0.0.1:0")
            .await
            .expect("server starts");
        let bootstrap = server
            .bootstrap
            .clone()
            .expect("a fresh database seeds a bootstrap admin");
        Kit {
            base: server.base_url(),
            server,
            http: reqwest::Client::new(),
            admin: Creds {
                id: bootstrap.client_id,
                secret: bootstrap.client_secret,
            },
            db,
        }
    }

    /// A second instance on the same database, behind the same public URL (as behind a load
    /// balancer), so that both issue and accept the same tokens.
    pub async fn another_instance(&self) -> Running {
        let config = Config {
            public_url: Some(self.base.clone()),
            ..config(&self.db.url)
        };
        server::start(config, "127.0.0.1:0")
            .await
            .expect("second instance starts")
    }

    pub async fn finish(self) {
        self.server.stop().await;
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `POST /oauth/token` with Basic credentials and a form body; returns status, headers, JSON.
    pub async fn token_request(
        &self,
        basic: Option<&Creds>,
        form: &str,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let mut request = self
            .http
            .post(self.url("/oauth/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form.to_owned());
        if let Some(creds) = basic {
            request = request.header("authorization", basic_header(&creds.id, &creds.secret));
        }
        let response = request.send().await.expect("token request");
        let status = response.status();
        let headers = response.headers().clone();
        (
            status,
            headers,
            response.json().await.unwrap_or(Value::Null),
        )
    }

    /// A token for these credentials (optionally narrowed by `scope`).
    pub async fn token(&self, creds: &Creds, scope: Option<&str>) -> String {
        let form = match scope {
            Some(scope) => format!(
                "grant_type=client_credentials&scope={}",
                scope.replace(' ', "+")
            ),
            None => "grant_type=client_credentials".to_owned(),
        };
        let (status, _, body) = self.token_request(Some(creds), &form).await;
        assert_eq!(status, StatusCode::OK, "token for {}: {body}", creds.id);
        body["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }

    pub async fn admin_token(&self) -> String {
        self.token(&self.admin.clone(), None).await
    }

    /// Creates a client with these roles through the admin API.
    pub async fn client_with(&self, roles: &[&str]) -> Creds {
        let admin = self.admin_token().await;
        let (status, body) = self
            .call(
                Method::POST,
                "/v1/admin/clients",
                Some(&admin),
                Some(serde_json::json!({"name": "test client", "roles": roles})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let item = &body["item"];
        Creds {
            id: item["client_id"].as_str().unwrap().to_owned(),
            secret: item["client_secret"].as_str().unwrap().to_owned(),
        }
    }

    /// A JSON call with an optional Bearer token; returns status and JSON body.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let response = self.send(method, path, token, body).await;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> reqwest::Response {
        let mut request = self.http.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.expect("request")
    }
}

pub fn basic_header(id: &str, secret: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    )
}

/// Runs an `async fn(Kit)` against SQLite and against PostgreSQL.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let kit = $crate::kit::Kit::start($crate::kit::Backend::Sqlite).await.unwrap();
                    super::$name(&kit).await;
                    kit.finish().await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some(kit) = $crate::kit::Kit::start($crate::kit::Backend::Postgres).await {
                        super::$name(&kit).await;
                        kit.finish().await;
                    }
                }
            }
        )*
    };
}
