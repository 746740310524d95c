//! What a newcomer meets in the first hour, through the real binary: clear database errors,
//! settings read by the bare command, a bootstrap secret that cannot be lost, a database file
//! that holds everything after a clean stop, XML uploads.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::kit::Kit;
use crate::on_both_backends;

on_both_backends!(bpmn_uploads_take_the_xml_types);

fn flowgate(url: &str, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_flowgate"))
        .args(args)
        .env("DATABASE_URL", url)
        .env("RUST_LOG", "warn")
        .env_remove("FLOWGATE_LISTEN")
        .env_remove("FLOWGATE_PUBLIC_URL")
        .output()
        .expect("run flowgate")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn sqlite_url(dir: &Path) -> String {
    format!("sqlite://{}?mode=rwc", dir.join("flowgate.db").display())
}

/// Waits until the server answers on `port`.
async fn wait_ready(port: u16, child: &mut Child) {
    let started = Instant::now();
    let url = format!("http://127.0.0.1:{port}/health/live");
    while started.elapsed() < Duration::from_secs(20) {
        if reqwest::get(&url)
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return;
        }
        assert!(child.try_wait().unwrap().is_none(), "the server exited");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no server on port {port}");
}

/// SIGTERM, then the exit.
fn terminate(mut child: Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        assert!(started.elapsed() < Duration::from_secs(15), "no clean stop");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn database_problems_say_what_was_tried_and_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let missing = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("no/such/folder/flowgate.db").display()
    );
    let cases = [
        ("mysql://root:hunter2@localhost/test", "postgres://"),
        ("not-a-url", "sqlite://"),
        (missing.as_str(), "does not exist"),
        (
            "postgres://postgres:hunter2@127.0.0.1:1/test",
            "pg_isready -h 127.0.0.1 -p 1",
        ),
    ];
    for (url, advice) in cases {
        let output = flowgate(url, &["migrate"]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{url}");
        assert!(stderr.contains(advice), "{url}: {stderr}");
        assert!(
            !stderr.contains("hunter2"),
            "the password is masked: {stderr}"
        );
        assert!(
            stderr.contains("***") || !url.contains("hunter2"),
            "{stderr}"
        );
    }
    let read_only = dir.path().join("ro.db");
    flowgate(
        &format!("sqlite://{}?mode=rwc", read_only.display()),
        &["migrate"],
    );
    let output = flowgate(
        &format!("sqlite://{}?mode=ro", read_only.display()),
        &["clients", "list"],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("read-only"), "{stderr}");
    assert!(!stderr.contains("internal error"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_database_that_does_not_exist() {
    let Some(db) = crate::kit::TestDb::new(crate::kit::Backend::Postgres).await else {
        return;
    };
    let url = format!("{}_missing", db.url);
    let output = flowgate(&url, &["migrate"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("does not exist") && stderr.contains("createdb"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bare_command_reads_the_same_settings_as_serve() {
    for with_flag in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let listen = format!("127.0.0.1:{port}");
        let mut command = Command::new(env!("CARGO_BIN_EXE_flowgate"));
        command
            .env("DATABASE_URL", sqlite_url(dir.path()))
            .env("RUST_LOG", "warn")
            .env("FLOWGATE_PUBLIC_URL", "https://gw.example")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if with_flag {
            command.args(["--listen", &listen]);
        } else {
            command.env("FLOWGATE_LISTEN", &listen);
        }
        let mut child = command.spawn().unwrap();
        wait_ready(port, &mut child).await;
        let metadata: Value = reqwest::get(format!(
            "http://{listen}/.well-known/oauth-authorization-server"
        ))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
        assert_eq!(metadata["issuer"], "https://gw.example", "{metadata}");
        terminate(child);
    }
}

#[test]
fn the_bootstrap_secret_cannot_be_lost() {
    // A first start that cannot listen seeds nothing: the next command still shows the secret.
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    let busy = TcpListener::bind("127.0.0.1:0").unwrap();
    let listen = busy.local_addr().unwrap().to_string();
    let failed = flowgate(&url, &["serve", "--listen", &listen]);
    assert!(!failed.status.success());
    assert!(String::from_utf8_lossy(&failed.stderr).contains("cannot listen"));
    let first = flowgate(&url, &["migrate"]);
    let stdout = String::from_utf8_lossy(&first.stdout);
    assert!(stdout.contains("client_secret:"), "{stdout}");
    assert!(
        stdout.contains("rotate-secret"),
        "says how to get a new one: {stdout}"
    );

    // Whichever command seeds shows it; a JSON command keeps its standard output parseable.
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    let created = flowgate(&url, &["clients", "create", "--name", "First", "--json"]);
    assert!(created.status.success());
    let json: Value = serde_json::from_slice(&created.stdout).unwrap();
    assert!(json["client_secret"].is_string());
    let stderr = String::from_utf8_lossy(&created.stderr);
    assert!(
        stderr.contains("bootstrap admin client") && stderr.contains("client_secret:"),
        "{stderr}"
    );
    let again = flowgate(&url, &["clients", "list"]);
    assert!(!String::from_utf8_lossy(&again.stderr).contains("client_secret"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clean_stop_leaves_everything_in_the_database_file() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_flowgate"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("DATABASE_URL", sqlite_url(dir.path()))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_ready(port, &mut child).await;
    terminate(child);
    let wal = dir.path().join("flowgate.db-wal");
    assert!(
        std::fs::metadata(&wal).map_or(true, |m| m.len() == 0),
        "the write-ahead log was written back"
    );
    // The database file (with the key file that opens its signing keys), copied elsewhere,
    // holds everything.
    let copy = tempfile::tempdir().unwrap();
    for file in ["flowgate.db", "flowgate.db.key"] {
        std::fs::copy(dir.path().join(file), copy.path().join(file)).unwrap();
    }
    let listed = flowgate(&sqlite_url(copy.path()), &["clients", "list", "--json"]);
    let clients: Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(clients.as_array().map(Vec::len), Some(1), "{clients}");
}

/// Two instances starting together on a new SQLite file, many times: one seeds, neither fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_starts_never_race() {
    for _ in 0..15 {
        let db = crate::kit::TestDb::new(crate::kit::Backend::Sqlite)
            .await
            .unwrap();
        let (a, b) = tokio::join!(
            flowgate::http::start(crate::kit::config(&db.url), "127.0.0.1:0"),
            flowgate::http::start(crate::kit::config(&db.url), "127.0.0.1:0"),
        );
        let (a, b) = (a.expect("first instance"), b.expect("second instance"));
        assert_eq!(
            usize::from(a.bootstrap.is_some()) + usize::from(b.bootstrap.is_some()),
            1
        );
        a.stop().await;
        b.stop().await;
    }
}

async fn bpmn_uploads_take_the_xml_types(kit: &Kit) {
    let admin = kit.admin_token().await;
    let xml = include_str!("../../bpmn/linear-review.bpmn");
    for content_type in [
        "application/xml",
        "text/xml",
        "text/plain",
        "application/xml; charset=utf-8",
    ] {
        let response = kit
            .http
            .post(kit.url("/v1/admin/diagrams"))
            .bearer_auth(&admin)
            .header("content-type", content_type)
            .body(xml)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED, "{content_type}");
        let body: Value = response.json().await.unwrap();
        let own = &body["item"]["links"][0];
        assert_eq!(
            (own["rel"].clone(), own["action"].clone()),
            (serde_json::json!("diagram"), serde_json::json!("GET")),
            "{body}"
        );
    }
    let refused = kit
        .http
        .post(kit.url("/v1/admin/diagrams"))
        .bearer_auth(&admin)
        .header("content-type", "application/json")
        .body(xml)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(
        refused.headers()["accept"],
        "application/xml, text/xml, text/plain"
    );
    let body: Value = refused.json().await.unwrap();
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("application/xml") && message.contains("text/xml"),
        "{message}"
    );
    let (status, _) = kit
        .call(Method::GET, "/v1/diagrams?status=all", Some(&admin), None)
        .await;
    assert_eq!(status, StatusCode::OK);
}
