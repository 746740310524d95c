//! Slow and greedy clients (docs/contract.md §10): half a request head, a dribbled body, an idle
//! keep-alive connection and more connections than allowed, against a server with short limits.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::kit::{Backend, TestDb, config};

async fn server(db: &TestDb, connection_limit: usize) -> flowgate::http::Running {
    let config = flowgate::config::Config {
        header_timeout_ms: 500,
        body_timeout_ms: 500,
        idle_timeout_ms: 1_000,
        connection_limit,
        ..config(&db.url)
    };
    flowgate::http::start(config, "127.0.0.1:0").await.unwrap()
}

/// Reads until the server closes the connection (or `limit` passes); returns what came and how
/// long it took.
async fn read_until_closed(socket: &mut TcpStream, limit: Duration) -> (String, Duration) {
    let started = Instant::now();
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match tokio::time::timeout(
            limit.saturating_sub(started.elapsed()),
            socket.read(&mut buffer),
        )
        .await
        {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => received.extend_from_slice(&buffer[..n]),
            Err(_) => panic!(
                "still open after {limit:?}: {}",
                String::from_utf8_lossy(&received)
            ),
        }
    }
    (
        String::from_utf8_lossy(&received).into_owned(),
        started.elapsed(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_cut_off() {
    let db = TestDb::new(Backend::Sqlite).await.unwrap();
    let running = server(&db, 64).await;
    let addr = running.addr;

    // Half a request head: closed at the header timeout.
    let mut half = TcpStream::connect(addr).await.unwrap();
    half.write_all(b"GET /health/live HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let (_, took) = read_until_closed(&mut half, Duration::from_secs(5)).await;
    assert!(took < Duration::from_secs(3), "{took:?}");

    // A body dribbled one byte at a time: 408 at the body timeout.
    let mut dribble = TcpStream::connect(addr).await.unwrap();
    dribble
        .write_all(
            b"POST /oauth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n",
        )
        .await
        .unwrap();
    let writer = tokio::spawn(async move {
        for _ in 0..20 {
            if dribble.write_all(b"a").await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        dribble
    });
    let mut dribble = writer.await.unwrap();
    let (answer, _) = read_until_closed(&mut dribble, Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");

    // A keep-alive connection left idle: closed (waiting for the next request's head counts
    // against the header timeout, and no connection outlives the idle timeout).
    let mut idle = TcpStream::connect(addr).await.unwrap();
    idle.write_all(b"GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut first = [0u8; 1024];
    let n = idle.read(&mut first).await.unwrap();
    assert!(String::from_utf8_lossy(&first[..n]).starts_with("HTTP/1.1 200"));
    let (_, took) = read_until_closed(&mut idle, Duration::from_secs(5)).await;
    assert!(
        took >= Duration::from_millis(400) && took < Duration::from_secs(3),
        "{took:?}"
    );

    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_limit_wait() {
    let db = TestDb::new(Backend::Sqlite).await.unwrap();
    let running = server(&db, 2).await;
    let url = format!("{}/health/live", running.base_url());
    let quick = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    // Two connections that say nothing hold both places.
    let first = TcpStream::connect(running.addr).await.unwrap();
    let second = TcpStream::connect(running.addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        quick.get(&url).send().await.is_err(),
        "a third is not served"
    );
    // When one goes, the waiting one is served.
    drop(first);
    let served = reqwest::Client::new().get(&url).send().await.unwrap();
    assert!(served.status().is_success());
    drop(second);
    running.stop().await;
}
