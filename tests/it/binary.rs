//! The real binary as a child process: seeded with `flowgate migrate`, served on a free port
//! with its standard output and error in a file, stopped with SIGTERM. And a small HTTP client
//! for it (the kit's helpers need an in-process server).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::kit::{Creds, TEST_KEK};

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn command(url: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_flowgate"));
    command
        .env("DATABASE_URL", url)
        .env("FLOWGATE_KEY_ENCRYPTION_KEY", TEST_KEK)
        .env("RUST_LOG", "warn")
        .env_remove("FLOWGATE_LISTEN")
        .env_remove("FLOWGATE_PUBLIC_URL")
        .env_remove("FLOWGATE_CONFIG");
    command
}

/// What the first command on an empty database prints once.
pub struct Seeded {
    pub admin: Creds,
    pub admin_password: String,
}

/// `flowgate migrate` on an empty database: the bootstrap credentials it prints.
pub fn seed(url: &str) -> Seeded {
    let output = command(url).arg("migrate").output().expect("run flowgate");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "migrate: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let field = |name: &str| {
        stdout
            .lines()
            .find_map(|line| line.trim().strip_prefix(name))
            .unwrap_or_else(|| panic!("no {name} in {stdout}"))
            .trim()
            .to_owned()
    };
    Seeded {
        admin: Creds {
            id: field("client_id:"),
            secret: field("client_secret:"),
        },
        admin_password: field("password:"),
    }
}

/// A running `flowgate serve`; killed if dropped while still running.
pub struct Binary {
    child: Option<Child>,
    pub base: String,
    pub log: PathBuf,
}

impl Binary {
    /// Serves `url` on a free port with these extra environment variables; standard output
    /// and error both go to `log`.
    pub async fn start(url: &str, env: &[(&str, &str)], log: &Path) -> Binary {
        let port = free_port();
        let file = std::fs::File::create(log).unwrap();
        let mut command = command(url);
        command
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .stdin(Stdio::null())
            .stdout(Stdio::from(file.try_clone().unwrap()))
            .stderr(Stdio::from(file));
        for (name, value) in env {
            command.env(name, value);
        }
        let mut binary = Binary {
            child: Some(command.spawn().expect("spawn flowgate")),
            base: format!("http://127.0.0.1:{port}"),
            log: log.to_owned(),
        };
        binary.wait_ready().await;
        binary
    }

    async fn wait_ready(&mut self) {
        let started = Instant::now();
        let url = self.url("/health/ready");
        while started.elapsed() < Duration::from_secs(30) {
            if reqwest::get(&url)
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return;
            }
            let child = self.child.as_mut().unwrap();
            assert!(
                child.try_wait().unwrap().is_none(),
                "the server exited: {}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no server at {url}");
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn sigterm(&self) {
        let pid = self.child.as_ref().unwrap().id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(sent.success());
    }

    /// Waits (at most `limit`) for the process to exit.
    pub async fn exited(&mut self, limit: Duration) -> ExitStatus {
        let started = Instant::now();
        let child = self.child.as_mut().unwrap();
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                self.child = None;
                return status;
            }
            assert!(started.elapsed() < limit, "still running after {limit:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGTERM, then the exit (which must be clean).
    pub async fn terminate(mut self) {
        self.sigterm();
        let status = self.exited(Duration::from_secs(20)).await;
        assert!(status.success(), "exit status {status}");
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// HTTP to a server known by its base URL.
#[derive(Clone)]
pub struct Api {
    pub http: reqwest::Client,
    pub base: String,
}

impl Api {
    pub fn new(base: &str) -> Api {
        Api {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            base: base.to_owned(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `POST /oauth/token` with a form and optional Basic credentials.
    pub async fn token_form(
        &self,
        basic: Option<&Creds>,
        form: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        let mut request = self.http.post(self.url("/oauth/token")).form(form);
        if let Some(creds) = basic {
            request = request.basic_auth(&creds.id, Some(&creds.secret));
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// A client-credentials token.
    pub async fn token(&self, creds: &Creds) -> String {
        let (status, body) = self
            .token_form(Some(creds), &[("grant_type", "client_credentials")])
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["access_token"].as_str().unwrap().to_owned()
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.http.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request");
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// The id of the released diagram whose name contains `name`.
    pub async fn dgrm_id(&self, token: &str, name: &str) -> i64 {
        let (status, body) = self
            .call(
                Method::GET,
                &format!("/v1/diagrams?name={name}"),
                Some(token),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["items"][0]["dgrm_id"].as_i64().unwrap()
    }
}
