//! Signing keys at rest (docs/contract.md §10): sealed under a key-encryption key that is not in
//! the database, files readable by their owner only, plain seeds of older databases sealed on
//! start, and a clear refusal when the key-encryption key is not the right one.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};

use crate::kit::config;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

async fn key_bytes(url: &str) -> Vec<(String, Vec<u8>)> {
    let db = Database::connect(url).await.unwrap();
    let rows = db
        .query_all_raw(Statement::from_string(
            DbBackend::Sqlite,
            "SELECT kid, private_key FROM signing_keys",
        ))
        .await
        .unwrap();
    rows.iter()
        .map(|row| {
            (
                row.try_get("", "kid").unwrap(),
                row.try_get("", "private_key").unwrap(),
            )
        })
        .collect()
}

fn migrate(url: &str, envs: &[(&str, &str)]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_flowgate"))
        .arg("migrate")
        .env("DATABASE_URL", url)
        .env("RUST_LOG", "warn")
        .env_remove("FLOWGATE_KEY_ENCRYPTION_KEY")
        .env_remove("FLOWGATE_KEY_FILE")
        .envs(envs.iter().copied())
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeds_are_sealed_and_files_private() {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("flowgate.db");
    let url = format!("sqlite://{}?mode=rwc", db_path.display());
    assert!(migrate(&url, &[]).status.success());
    assert_eq!(mode(&db_path), 0o600, "the database file");
    let key_file = dir.path().join("flowgate.db.key");
    assert_eq!(mode(&key_file), 0o600, "the key file beside it");
    let stored = key_bytes(&url).await;
    assert_eq!(stored.len(), 1);
    assert_ne!(stored[0].1.len(), 32, "no plain seed in the database");

    // Without its key file the database's keys cannot be opened: a clear refusal.
    std::fs::rename(&key_file, dir.path().join("elsewhere.key")).unwrap();
    let refused = migrate(&url, &[]);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("the key file") && stderr.contains("is missing"),
        "{stderr}"
    );
    assert!(
        !key_file.exists(),
        "no new key file that could never open them"
    );
    // The wrong key: refused by name.
    let wrong = dir.path().join("wrong.key");
    std::fs::write(&wrong, "dGhpcy1pcy1hLWRpZmZlcmVudC0zMi1ieXRlLWtleSE").unwrap();
    let refused = migrate(&url, &[("FLOWGATE_KEY_FILE", wrong.to_str().unwrap())]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("does not open with this key-encryption key"),
        "{stderr}"
    );
    // With it named, all is well again.
    let elsewhere = dir.path().join("elsewhere.key");
    let named = migrate(&url, &[("FLOWGATE_KEY_FILE", elsewhere.to_str().unwrap())]);
    assert!(
        named.status.success(),
        "{}",
        String::from_utf8_lossy(&named.stderr)
    );
}

/// A database from before sealing: its plain seed is sealed at the next start, and keeps
/// signing the same way (the JWKS shows the same public key).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_seeds_are_sealed_on_start() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("flowgate.db").display()
    );
    assert!(migrate(&url, &[]).status.success());
    let seed = [42u8; 32];
    let db = Database::connect(&url).await.unwrap();
    db.execute_raw(Statement::from_sql_and_values(
        DbBackend::Sqlite,
        "UPDATE signing_keys SET private_key = ?",
        [seed.to_vec().into()],
    ))
    .await
    .unwrap();
    drop(db);
    let server = flowgate::http::start(
        flowgate::config::Config {
            key_encryption_key: None,
            ..config(&url)
        },
        "127.0.0.1:0",
    )
    .await
    .unwrap();
    let stored = key_bytes(&url).await;
    assert!(
        stored.iter().all(|(_, bytes)| bytes.len() != 32),
        "sealed now"
    );
    let jwks: serde_json::Value =
        reqwest::get(format!("{}/.well-known/jwks.json", server.base_url()))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    let public = ed25519_dalek::SigningKey::from_bytes(&seed).verifying_key();
    assert_eq!(
        jwks["keys"][0]["x"],
        URL_SAFE_NO_PAD.encode(public.as_bytes())
    );
    server.stop().await;
}
