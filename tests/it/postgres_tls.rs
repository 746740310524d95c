//! PostgreSQL over TLS (docs/contract.md §10, Database): `sslmode=require` encrypts every
//! connection of the pool; `verify-full` with `sslrootcert` checks the server's certificate,
//! and a wrong root certificate fails with a message that says what to do.

use std::path::PathBuf;
use std::process::Command;

use sea_orm::{ConnectionTrait, Database, Statement};

use crate::kit::{Backend, Kit, TestDb};

/// The local PostgreSQL's database, if it offers TLS.
async fn tls_database() -> Option<TestDb> {
    let Some(db) = TestDb::new(Backend::Postgres).await else {
        eprintln!("skipping the TLS test: no PostgreSQL");
        return None;
    };
    let conn = Database::connect(&db.url).await.unwrap();
    let row = conn
        .query_one_raw(Statement::from_string(
            conn.get_database_backend(),
            "SHOW ssl",
        ))
        .await
        .unwrap()
        .unwrap();
    let ssl: String = row.try_get("", "ssl").unwrap();
    conn.close().await.unwrap();
    if ssl != "on" {
        eprintln!("skipping the TLS test: the local PostgreSQL has ssl = {ssl}");
        return None;
    }
    Some(db)
}

fn with_params(url: &str, params: &str) -> String {
    format!("{url}?{params}")
}

fn migrate(url: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_flowgate"))
        .arg("migrate")
        .env("DATABASE_URL", url)
        .env("FLOWGATE_KEY_ENCRYPTION_KEY", crate::kit::TEST_KEK)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sslmode_require_encrypts_every_connection() {
    let Some(db) = tls_database().await else {
        return;
    };
    let name = db.url.rsplit('/').next().unwrap().to_owned();
    let url = with_params(&db.url, "sslmode=require");
    // A server on it (migrating and seeding over TLS): every connection it holds to its
    // database is encrypted, the change listener's too.
    let kit = Kit::start_on(TestDb::external(url)).await;
    let token = kit.admin_token().await;
    let (status, _) = kit
        .call(reqwest::Method::GET, "/v1/diagrams", Some(&token), None)
        .await;
    assert_eq!(status, reqwest::StatusCode::OK);
    let admin = Database::connect(&db.url).await.unwrap();
    let row = admin
        .query_one_raw(Statement::from_string(
            admin.get_database_backend(),
            format!(
                "SELECT count(*) AS connections, count(*) FILTER (WHERE s.ssl) AS encrypted \
                 FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) \
                 WHERE a.datname = '{name}' AND a.pid <> pg_backend_pid()"
            ),
        ))
        .await
        .unwrap()
        .unwrap();
    let connections: i64 = row.try_get("", "connections").unwrap();
    let encrypted: i64 = row.try_get("", "encrypted").unwrap();
    admin.close().await.unwrap();
    assert!(connections > 0, "the server holds connections");
    assert_eq!(encrypted, connections, "every connection is encrypted");
    kit.finish().await;
}

/// A CA certificate that did not sign the local server's certificate.
fn wrong_root() -> Option<PathBuf> {
    let preferred = PathBuf::from("/etc/ssl/certs/ISRG_Root_X1.pem");
    if preferred.is_file() {
        return Some(preferred);
    }
    std::fs::read_dir("/etc/ssl/certs")
        .ok()?
        .filter_map(|entry| Some(entry.ok()?.path()))
        .find(|path| {
            path.extension().is_some_and(|e| e == "pem")
                && !path.to_string_lossy().contains("snakeoil")
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_full_checks_the_certificate() {
    let Some(db) = tls_database().await else {
        return;
    };
    // verify-full needs the name the certificate was issued for.
    let by_name = db.url.replace("127.0.0.1", "localhost");
    if let Some(wrong) = wrong_root() {
        let url = with_params(
            &by_name,
            &format!("sslmode=verify-full&sslrootcert={}", wrong.display()),
        );
        let output = migrate(&url);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "a wrong root is refused");
        assert!(
            stderr.contains("certificate") && stderr.contains("sslrootcert="),
            "says what failed and what to do: {stderr}"
        );
        assert!(!stderr.contains("internal error"), "{stderr}");
    } else {
        eprintln!("no CA certificate under /etc/ssl/certs to use as a wrong root");
    }
    let missing = with_params(&by_name, "sslmode=verify-full&sslrootcert=/no/such/ca.pem");
    let output = migrate(&missing);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("/no/such/ca.pem"), "{stderr}");

    // The local server's own (self-signed) certificate as the root: verified.
    let own = PathBuf::from("/etc/ssl/certs/ssl-cert-snakeoil.pem");
    let server_cert = own.is_file()
        && Command::new("psql")
            .args([&db.url, "-Atc", "SHOW ssl_cert_file"])
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == own.to_string_lossy());
    if server_cert {
        let url = with_params(
            &by_name,
            &format!("sslmode=verify-full&sslrootcert={}", own.display()),
        );
        let output = migrate(&url);
        assert!(
            output.status.success(),
            "verified against its own certificate: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    } else {
        eprintln!("the server's certificate is not at hand: verify-full success not checked");
    }
}
