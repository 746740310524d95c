//! SIGTERM under load (docs/contract.md §10, Shutdown): the real binary stops accepting, lets
//! the requests under way finish, and exits. No request is lost (each one gets a whole answer,
//! or its connection is refused before the server took it) and no change is lost (every 201 is
//! a row afterwards, and nothing else is). A connection the server accepted before the signal
//! gets its request answered, even one sent after the signal.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use sea_orm::{ColumnTrait, Database, EntityTrait, QueryFilter};
use serde_json::json;

use crate::binary::{Api, Binary, seed};
use crate::kit::{Backend, TestDb};

/// What became of one request.
#[derive(Debug)]
enum Fate {
    /// A whole answer: the status, and the business reference it carried.
    Answered(StatusCode, String),
    /// The connection was refused: the server no longer listens.
    Refused,
    /// The connection was reset before any answer. The kernel completes connections for a
    /// listening socket by itself, and resets those still waiting to be accepted when the
    /// socket closes: a connection completed after the server's last accept was never the
    /// server's (the database check below shows no such request changed anything).
    /// Connections the server did accept are answered: see
    /// `a_connection_accepted_before_the_signal_is_answered`.
    Reset,
    /// Anything else: accepted, then dropped without a whole answer.
    Lost(String),
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_loses_nothing() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let Some(db) = TestDb::new(backend).await else {
            continue;
        };
        under_load(&db, backend).await;
    }
}

async fn under_load(db: &TestDb, backend: Backend) {
    let started = Instant::now();
    let seeded = seed(&db.url);
    let dir = tempfile::tempdir().unwrap();
    let mut server = Binary::start(&db.url, &[], &dir.path().join("flowgate.log")).await;
    let api = Api::new(&server.base);
    let token = api.token(&seeded.admin).await;
    let dgrm_id = api.dgrm_id(&token, "Document").await;

    // A fresh connection per request: a request either reaches a connection the server
    // accepted, or is refused.
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let refused = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for worker in 0..8 {
        let (http, token, refused) = (http.clone(), token.clone(), Arc::clone(&refused));
        let url = api.url(&format!("/v1/diagrams/{dgrm_id}/processes"));
        workers.push(tokio::spawn(async move {
            let mut fates = Vec::new();
            for i in 0.. {
                let reference = format!("sd-{worker}-{i}");
                let sent = http
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&json!({"business_ref": reference}))
                    .send()
                    .await;
                let fate = match sent {
                    Ok(response) => {
                        let status = response.status();
                        match response.text().await {
                            Ok(body)
                                if serde_json::from_str::<serde_json::Value>(&body).is_ok() =>
                            {
                                Fate::Answered(status, reference)
                            }
                            Ok(body) => {
                                Fate::Lost(format!("{status} with a body that is no JSON: {body}"))
                            }
                            Err(err) => {
                                Fate::Lost(format!("{status}, then the body broke off: {err:?}"))
                            }
                        }
                    }
                    Err(err) if err.is_connect() => Fate::Refused,
                    Err(err) if reset(&err) => Fate::Reset,
                    Err(err) => Fate::Lost(format!("{reference}: {err:?}")),
                };
                let done = !matches!(fate, Fate::Answered(..));
                fates.push(fate);
                if done || (refused.load(Ordering::Relaxed) && i % 50 == 49) {
                    break;
                }
            }
            fates
        }));
    }
    // Some load first, then the signal in the middle of it.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    server.sigterm();
    let status = server.exited(Duration::from_secs(20)).await;
    refused.store(true, Ordering::Relaxed);
    assert!(status.success(), "exit status {status}");

    let mut created = BTreeSet::new();
    let mut lost = Vec::new();
    let mut refusals = 0;
    let mut resets = 0;
    for worker in workers {
        for fate in worker.await.unwrap() {
            match fate {
                Fate::Answered(StatusCode::CREATED, reference) => {
                    created.insert(reference);
                }
                Fate::Answered(status, reference) => {
                    lost.push(format!("{reference}: answered {status}"));
                }
                Fate::Refused => refusals += 1,
                Fate::Reset => resets += 1,
                Fate::Lost(what) => lost.push(what),
            }
        }
    }
    assert!(
        lost.is_empty(),
        "{backend:?}: requests lost at shutdown: {lost:#?}"
    );
    assert!(
        created.len() >= 8,
        "{backend:?}: load before the signal: {}",
        created.len()
    );
    assert!(refusals > 0, "{backend:?}: the server stopped listening");

    let conn = Database::connect(&db.url).await.unwrap();
    let rows: BTreeSet<String> = entity::process::Entity::find()
        .filter(entity::process::Column::BusinessRef.like("sd-%"))
        .all(&conn)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|row| row.business_ref)
        .collect();
    conn.close().await.unwrap();
    assert_eq!(
        rows.len(),
        created.len(),
        "{backend:?}: rows in the database vs 201 answers"
    );
    assert_eq!(rows, created, "{backend:?}: the same instances");
    eprintln!(
        "shutdown under load on {backend:?}: {} created, {refusals} refused, {resets} reset \
         unaccepted, {:?}",
        created.len(),
        started.elapsed()
    );
    drop(server);
}

/// Whether a request failed because its connection was reset before any answer came.
fn reset(err: &reqwest::Error) -> bool {
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            return io.kind() == std::io::ErrorKind::ConnectionReset;
        }
        source = cause.source();
    }
    false
}

/// A connection the server accepted before SIGTERM, whose request comes only after the signal,
/// is answered (and then closed) rather than dropped with its request unread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_accepted_before_the_signal_is_answered() {
    let db = TestDb::new(Backend::Sqlite).await.unwrap();
    seed(&db.url);
    let dir = tempfile::tempdir().unwrap();
    let mut server = Binary::start(&db.url, &[], &dir.path().join("flowgate.log")).await;
    let address = server.base.trim_start_matches("http://").to_owned();
    let mut connection = std::net::TcpStream::connect(&address).unwrap();
    connection
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    // The server accepts at once; give it the moment, then stop it before anything is sent.
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.sigterm();
    tokio::time::sleep(Duration::from_millis(300)).await;
    connection
        .write_all(b"GET /health/live HTTP/1.1\r\nhost: flowgate\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    let read =
        tokio::task::spawn_blocking(move || connection.read_to_string(&mut answer).map(|_| answer));
    let answer = read
        .await
        .unwrap()
        .expect("a whole answer, then the connection closed");
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(answer.ends_with(r#"{"status":"ok"}"#), "{answer}");
    let status = server.exited(Duration::from_secs(20)).await;
    assert!(status.success(), "exit status {status}");
}
