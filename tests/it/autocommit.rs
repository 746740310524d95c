//! Statements run alone on connections held out of the pool (`store::Autocommit`), which sqlx
//! does not ping when they are done: a statement cancelled half-way leaves its connection fit
//! for the next one, and a connection the server dropped is replaced without the caller seeing
//! it.

use std::time::Duration;

use flowgate::store::Autocommit;
use sea_orm::{ConnectionTrait, DbBackend, Statement};

use crate::kit::{Backend, Kit};
use crate::on_both_backends;

on_both_backends!(
    a_cancelled_statement_leaves_its_connection_usable,
    int8_pairs_are_read_on_postgres_and_refused_elsewhere,
);

async fn number(alone: &Autocommit, sql: &str) -> i64 {
    let stmt = Statement::from_string(alone.get_database_backend(), sql);
    let row = alone.query_one_raw(stmt).await.unwrap().expect("a row");
    row.try_get_by_index::<i64>(0).unwrap()
}

const BACKEND_PID: &str = "SELECT CAST(pg_backend_pid() AS BIGINT)";

/// Counts to three million, long enough to be cancelled on the way.
const SLOW: &str = "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c \
                    WHERE n < 3000000) SELECT CAST(count(*) AS BIGINT) FROM c";

async fn a_cancelled_statement_leaves_its_connection_usable(kit: &Kit) {
    let alone = Autocommit::new(&kit.server.app.db, 1);
    let postgres = alone.get_database_backend() == DbBackend::Postgres;
    let pid = if postgres {
        Some(number(&alone, BACKEND_PID).await)
    } else {
        assert_eq!(number(&alone, "SELECT 1").await, 1);
        None
    };
    let cancelled = tokio::time::timeout(Duration::from_millis(30), number(&alone, SLOW)).await;
    assert!(cancelled.is_err(), "the slow statement was cancelled");
    assert_eq!(number(&alone, "SELECT CAST(41 + 1 AS BIGINT)").await, 42);
    if let Some(pid) = pid {
        assert_eq!(
            number(&alone, BACKEND_PID).await,
            pid,
            "still the one held connection"
        );
    }
}

/// A query of an `int8[]` answering pairs (the checks of kept instances' versions) reads its
/// rows on a held connection and on the pool alike; SQLite, which has no arrays, refuses it
/// with an error.
async fn int8_pairs_are_read_on_postgres_and_refused_elsewhere(kit: &Kit) {
    const PAIRS: &str = "SELECT id, id * 10 FROM unnest($1::int8[]) AS t(id) WHERE id > 1";
    for held in [1, 0] {
        let alone = Autocommit::new(&kit.server.app.db, held);
        let pairs = alone.int8_pairs(PAIRS, &[3, 1, 2]).await;
        if alone.get_database_backend() == DbBackend::Postgres {
            assert_eq!(pairs.unwrap(), [(3, 30), (2, 20)], "held: {held}");
        } else {
            assert!(pairs.is_err(), "held: {held}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_the_server_dropped_is_replaced() {
    let Some(kit) = Kit::start(Backend::Postgres).await else {
        return;
    };
    let db = &kit.server.app.db;
    let alone = Autocommit::new(db, 1);
    let first = number(&alone, BACKEND_PID).await;
    let terminate = format!("SELECT pg_terminate_backend({first})");
    db.execute_unprepared(&terminate).await.unwrap();
    // The server closes the connection as it answers.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let second = number(&alone, BACKEND_PID).await;
    assert_ne!(second, first, "a new connection");
    assert_eq!(number(&alone, BACKEND_PID).await, second, "held in turn");
    kit.finish().await;
}
