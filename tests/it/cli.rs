//! The `flowgate` command line against a fresh SQLite database, and the server honouring what it
//! did.

use std::process::Command;

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::kit::{Backend, Creds, TestDb, config};

fn flowgate(db: &str, args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_flowgate"))
        .args(args)
        .env("DATABASE_URL", db)
        .env("RUST_LOG", "warn")
        // The key the test servers on this database use.
        .env("FLOWGATE_KEY_ENCRYPTION_KEY", crate::kit::TEST_KEK)
        .output()
        .expect("run flowgate");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn ok(db: &str, args: &[&str]) -> String {
    let (success, stdout, stderr) = flowgate(db, args);
    assert!(success, "flowgate {args:?} failed: {stderr}");
    stdout
}

/// Writes a file next to the test database and returns its path.
fn test_db_dir_file(db: &TestDb, name: &str, content: &str) -> String {
    let path = std::path::Path::new(
        db.url
            .trim_start_matches("sqlite://")
            .split('?')
            .next()
            .unwrap(),
    )
    .with_file_name(name);
    std::fs::write(&path, content).unwrap();
    path.display().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_manages_clients_policy_keys_and_diagrams() {
    let test_db = TestDb::new(Backend::Sqlite).await.unwrap();
    let db = test_db.url.as_str();

    let first = ok(db, &["migrate"]);
    assert!(
        first.contains("client_secret:"),
        "first start prints the bootstrap credentials: {first}"
    );
    let second = ok(db, &["migrate"]);
    assert!(
        !second.contains("client_secret"),
        "and never again: {second}"
    );

    let created: Value = serde_json::from_str(&ok(
        db,
        &[
            "clients",
            "create",
            "--name",
            "ERP",
            "--roles",
            "Read,Write",
            "--json",
        ],
    ))
    .unwrap();
    let id = created["client_id"].as_str().unwrap().to_owned();
    let secret = created["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(created["roles"], serde_json::json!(["Read", "Write"]));

    let list: Value = serde_json::from_str(&ok(db, &["clients", "list", "--json"])).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert!(
        !list.to_string().contains(&secret),
        "list never shows secrets"
    );
    assert!(ok(db, &["clients", "show", &id]).contains("Read,Write"));
    assert!(
        ok(db, &["clients", "grant", &id, "--roles", "Messages"]).contains("Read,Write,Messages")
    );
    assert!(ok(db, &["clients", "revoke", &id, "--roles", "Write"]).contains("Read,Messages"));
    assert!(
        ok(db, &["clients", "update", &id, "--name", "ERP connector"]).contains("ERP connector")
    );
    assert!(ok(db, &["clients", "disable", &id]).contains("disabled"));
    assert!(ok(db, &["clients", "enable", &id]).contains("enabled"));
    let rotated: Value =
        serde_json::from_str(&ok(db, &["clients", "rotate-secret", &id, "--json"])).unwrap();
    let new_secret = rotated["client_secret"].as_str().unwrap().to_owned();
    assert_ne!(new_secret, secret);
    let rotated: Value = serde_json::from_str(&ok(
        db,
        &["clients", "rotate-secret", &id, "--revoke-tokens", "--json"],
    ))
    .unwrap();
    assert_ne!(rotated["client_secret"].as_str().unwrap(), new_secret);
    // Only the latest secret opens the door.
    let new_secret = rotated["client_secret"].as_str().unwrap().to_owned();

    let (success, _, stderr) =
        flowgate(db, &["clients", "create", "--name", "x", "--roles", "Root"]);
    assert!(!success && stderr.contains("unknown role"), "{stderr}");
    let (success, _, stderr) = flowgate(db, &["clients", "show", "nobody"]);
    assert!(!success && stderr.contains("not found"), "{stderr}");

    assert!(ok(db, &["policy", "list"]).contains("/v1/admin/*"));
    assert!(
        ok(
            db,
            &[
                "policy",
                "add",
                "--role",
                "Read",
                "--path",
                "/v1/utils/roles",
                "--method",
                "GET"
            ]
        )
        .contains("added rule")
    );
    let (success, _, _) = flowgate(
        db,
        &[
            "policy",
            "add",
            "--role",
            "Read",
            "--path",
            "/v1/utils/roles",
            "--method",
            "GET",
        ],
    );
    assert!(!success, "duplicate rule");

    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/bpmn/linear-review.bpmn");
    assert!(
        ok(db, &["diagrams", "import", sample, "--release"]).contains("version 2"),
        "the sample is version 1"
    );
    let named = [
        "diagrams",
        "import",
        sample,
        "--name",
        "Reviews",
        "--version",
        "2026.1",
        "--category",
        "docs",
    ];
    assert!(
        ok(db, &named).contains("imported Reviews version 2026.1"),
        "name and version as given"
    );
    let (success, _, stderr) = flowgate(db, &named);
    assert!(
        !success && stderr.contains("2026.1"),
        "a version twice: {stderr}"
    );
    let broken = test_db_dir_file(&test_db, "broken.bpmn", "<bpmn:definitions/>");
    let (success, _, stderr) = flowgate(db, &["diagrams", "import", &broken]);
    assert!(!success && stderr.contains("diagram refused"), "{stderr}");

    assert!(ok(db, &["keys", "rotate"]).contains("new signing key"));
    assert_eq!(ok(db, &["keys", "list"]).lines().count(), 2);

    // The server sees all of it.
    let server = flowgate::http::start(config(db), "127.0.0.1:0")
        .await
        .unwrap();
    let base = server.base_url();
    let http = reqwest::Client::new();
    let creds = Creds {
        id: id.clone(),
        secret: new_secret,
    };
    let token: Value = http
        .post(format!("{base}/oauth/token"))
        .basic_auth(&creds.id, Some(&creds.secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(token["scope"], "read messages", "{token}");
    let token = token["access_token"].as_str().unwrap();
    let roles: Value = http
        .request(Method::GET, format!("{base}/v1/utils/roles"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        roles["count"], 2,
        "the CLI's policy rule lets Read see its roles: {roles}"
    );
    let jwks: Value = http
        .get(format!("{base}/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);

    // Changes made by the CLI while the server runs reach it within two seconds.
    ok(db, &["clients", "delete", &id]);
    let started = std::time::Instant::now();
    loop {
        let status = http
            .get(format!("{base}/v1/utils/ping"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .status();
        if status == StatusCode::UNAUTHORIZED {
            break;
        }
        assert!(
            started.elapsed().as_secs() < 2,
            "deletion by the CLI not seen by the server"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    server.stop().await;
}

/// A client made through the CLI while a server runs gets tokens at once, not after the next
/// poll: the server looks an id it does not know up in the database before refusing it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_made_by_the_cli_works_at_once() {
    let test_db = TestDb::new(Backend::Sqlite).await.unwrap();
    let db = test_db.url.as_str();
    let slow_poll = flowgate::config::Config {
        sync_interval_ms: 60_000,
        ..config(db)
    };
    let server = flowgate::http::start(slow_poll, "127.0.0.1:0")
        .await
        .unwrap();
    let base = server.base_url();
    let http = reqwest::Client::new();
    let token_status = |id: String, secret: String| {
        let http = http.clone();
        let url = format!("{base}/oauth/token");
        async move {
            http.post(url)
                .basic_auth(id, Some(secret))
                .form(&[("grant_type", "client_credentials")])
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    // An unknown id first: refused, and remembered as unknown for a while.
    assert_eq!(
        token_status("not-yet".into(), "x".into()).await,
        StatusCode::UNAUTHORIZED
    );
    let created: Value = serde_json::from_str(&ok(
        db,
        &[
            "clients", "create", "--name", "Fresh", "--roles", "Read", "--json",
        ],
    ))
    .unwrap();
    let id = created["client_id"].as_str().unwrap().to_owned();
    let secret = created["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(
        token_status(id.clone(), secret.clone()).await,
        StatusCode::OK
    );
    // Its tokens pass the gate at once too (the lookup reloaded the view).
    let token: Value = http
        .post(format!("{base}/oauth/token"))
        .basic_auth(&id, Some(&secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let status = http
        .get(format!("{base}/v1/utils/ping"))
        .bearer_auth(token["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, StatusCode::OK);
    // A wrong secret for the new client is still refused.
    assert_eq!(
        token_status(id, "wrong".into()).await,
        StatusCode::UNAUTHORIZED
    );
    server.stop().await;
}
