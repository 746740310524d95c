//! A server alone on its PostgreSQL database serves the instances it keeps without asking
//! the database, for as long as it holds the sole-server lease; every other writer waits in
//! the database until it has stepped down (or, had its lease's connection been cut, until its
//! lease ran out). What it serves must still be what a read would find.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use migration::SOLE_SERVER_LOCK;
use reqwest::{Method, StatusCode};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use serde_json::{Value, json};

use crate::instance_reads::{read_n, shown};
use crate::kit::{Backend, Kit};
use crate::process::{dgrm_id, start, token};

/// Waits (up to ten seconds) until `check` holds.
async fn until(what: &str, check: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check() {
        assert!(Instant::now() < deadline, "never {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A server on PostgreSQL that has become sole, with an instance and a token.
async fn sole_server() -> Option<(Kit, String, i64)> {
    let kit = Kit::start(Backend::Postgres).await?;
    let token = token(&kit).await;
    let dgrm = dgrm_id(&kit, &token, "Document").await;
    let prcs_id = start(&kit, &token, dgrm, Value::Null).await;
    until("sole", || kit.server.app.runtime.instances.unchecked()).await;
    Some((kit, token, prcs_id))
}

/// A connection of no server's, as a database administrator's would be.
async fn outsider(kit: &Kit) -> DatabaseConnection {
    Database::connect(&kit.db.url).await.expect("connects")
}

async fn rename(db: &DatabaseConnection, prcs_id: i64, name: &str) {
    let sql = format!("UPDATE processes SET name = '{name}' WHERE id = {prcs_id}");
    db.execute_unprepared(&sql).await.expect("renames");
}

async fn name(kit: &Kit, token: &str, prcs_id: i64) -> String {
    let item = shown(kit, token, prcs_id).await;
    item["name"].as_str().expect("a name").to_owned()
}

/// The name of an instance, read twice: kept by the first read.
async fn kept_name(kit: &Kit, token: &str, prcs_id: i64) -> String {
    let first = name(kit, token, prcs_id).await;
    assert_eq!(name(kit, token, prcs_id).await, first, "kept");
    first
}

/// The sessions that hold the lease's lock exclusively, as `pg_locks` shows them.
fn holders() -> String {
    let (class, object) = SOLE_SERVER_LOCK;
    format!(
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' \
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
         AND classid = {class} AND objid = {object} AND objsubid = 2 \
         AND mode = 'ExclusiveLock' AND granted"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sole_server_reads_what_it_kept_without_asking() {
    let Some((kit, token, prcs_id)) = sole_server().await else {
        return;
    };
    let app = &kit.server.app;
    let hits = || app.runtime.instances.hits();
    assert_eq!(read_n(&kit, &token, prcs_id).await, 0);
    let before = (hits(), app.versions.groups());
    assert_eq!(read_n(&kit, &token, prcs_id).await, 0, "as kept");
    assert_eq!(hits(), before.0 + 1, "read from what was kept");
    assert_eq!(app.versions.groups(), before.1, "without a check");

    // Its own writes are read at once.
    let vars = format!("/v1/processes/{prcs_id}/process_vars");
    let set = json!({"name": "n", "type": "varchar", "value": "5"});
    let (status, body) = kit.call(Method::PUT, &vars, Some(&token), Some(set)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(read_n(&kit, &token, prcs_id).await, 5);
    assert!(app.runtime.instances.unchecked(), "still sole");
    kit.finish().await;
}

/// Two servers on one database: the first steps down when the second arrives, so each serves
/// the other's writes and deletions at once; once the second stops, the first is sole again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_server_ends_the_term_and_its_writes_are_read_at_once() {
    let Some((kit, token, prcs_id)) = sole_server().await else {
        return;
    };
    let app = &kit.server.app;
    assert_eq!(read_n(&kit, &token, prcs_id).await, 0);

    let other = kit.another_instance().await;
    let api = crate::binary::Api::new(&other.base_url());
    let vars = format!("/v1/processes/{prcs_id}/process_vars");
    let set = json!({"name": "n", "type": "varchar", "value": "2"});
    let (status, body) = api.call(Method::PUT, &vars, Some(&token), Some(set)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(read_n(&kit, &token, prcs_id).await, 2, "the other's write");
    until("stepped down beside another", || {
        !app.runtime.instances.unchecked()
    })
    .await;
    let checks = app.versions.groups();
    assert_eq!(read_n(&kit, &token, prcs_id).await, 2);
    assert_eq!(app.versions.groups(), checks + 1, "checked, beside another");

    let path = format!("/v1/processes/{prcs_id}");
    let (status, body) = api.call(Method::DELETE, &path, Some(&token), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, gone) = kit.call(Method::GET, &path, Some(&token), None).await;
    assert_eq!(status, StatusCode::OK, "{gone}");
    assert_eq!(gone["count"], 0, "the other's deletion: {gone}");

    other.stop().await;
    until("sole again", || app.runtime.instances.unchecked()).await;
    kit.finish().await;
}

/// Readers on the sole server while a second server starts and the two take turns writing:
/// every acknowledged write is read at once on both, and no reader sees a value go back,
/// across the handover and back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_follow_both_servers_writes_across_the_handover() {
    let Some((kit, token, prcs_id)) = sole_server().await else {
        return;
    };
    assert_eq!(read_n(&kit, &token, prcs_id).await, 0);
    let vars = format!("/v1/processes/{prcs_id}/process_vars");
    let done = AtomicBool::new(false);
    let writer = async {
        let other = kit.another_instance().await;
        let api = crate::binary::Api::new(&other.base_url());
        for n in 1..=30 {
            let set = json!({"name": "n", "type": "varchar", "value": n.to_string()});
            let (status, body) = if n % 2 == 1 {
                api.call(Method::PUT, &vars, Some(&token), Some(set)).await
            } else {
                kit.call(Method::PUT, &vars, Some(&token), Some(set)).await
            };
            assert_eq!(status, StatusCode::OK, "{body}");
            assert_eq!(
                read_n(&kit, &token, prcs_id).await,
                n,
                "the first, after {n}"
            );
            let path = format!("/v1/processes/{prcs_id}");
            let (status, body) = api.call(Method::GET, &path, Some(&token), None).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            let seen = body["items"][0]["process_vars"].to_string();
            assert!(
                seen.contains(&format!("\"value\":\"{n}\"")),
                "the second, after {n}: {seen}"
            );
        }
        done.store(true, Ordering::Release);
        // Its client may hold a spare connection that never sent a request, whose request a
        // stopping server waits for up to its header timeout (ten seconds, as the shutdown
        // contract wants): long enough for the first server to close the readers' idle
        // connections under their feet.
        drop(api);
        other.stop().await;
    };
    let reader = || async {
        let mut last = 0;
        while !done.load(Ordering::Acquire) {
            let n = read_n(&kit, &token, prcs_id).await;
            assert!(n >= last, "a reader saw n go back from {last} to {n}");
            last = n;
        }
    };
    tokio::join!(writer, reader(), reader());
    let app = &kit.server.app;
    until("sole again", || app.runtime.instances.unchecked()).await;
    assert_eq!(read_n(&kit, &token, prcs_id).await, 30);
    let hits = app.runtime.instances.hits();
    assert_eq!(read_n(&kit, &token, prcs_id).await, 30);
    assert_eq!(
        app.runtime.instances.hits(),
        hits + 1,
        "kept again, in the new term"
    );
    kit.finish().await;
}

/// A write from outside any server (an administrator's `UPDATE`) waits in the database until
/// the sole server stepped down, and is read at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_from_outside_waits_for_the_step_down() {
    let Some((kit, token, prcs_id)) = sole_server().await else {
        return;
    };
    kept_name(&kit, &token, prcs_id).await;
    let db = outsider(&kit).await;
    rename(&db, prcs_id, "renamed outside").await;
    // The outsider is no server: once its write is done, the server is sole again, in a new
    // term, and what it kept in the last one is checked before it is served.
    until("sole again", || {
        kit.server.app.runtime.instances.unchecked()
    })
    .await;
    assert_eq!(name(&kit, &token, prcs_id).await, "renamed outside");
    assert_eq!(name(&kit, &token, prcs_id).await, "renamed outside");
    kit.finish().await;
}

/// The sole server's lease connection is cut: the database frees its lock at once, before the
/// server can know, so a writer waits out the lease, which the server stops serving within.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_lease_connection_is_waited_out() {
    let Some((kit, token, prcs_id)) = sole_server().await else {
        return;
    };
    kept_name(&kit, &token, prcs_id).await;
    let db = outsider(&kit).await;
    let cut = format!(
        "SELECT pg_terminate_backend(pid) FROM ({}) AS holder",
        holders()
    );
    let began = Instant::now();
    db.execute_unprepared(&cut).await.expect("terminates");
    rename(&db, prcs_id, "renamed after the cut").await;
    // Most of the two seconds from the last renewal, 100 ms ago unless the machine is busy.
    assert!(
        began.elapsed() >= Duration::from_millis(500),
        "waited out the lease: {:?}",
        began.elapsed()
    );
    assert_eq!(name(&kit, &token, prcs_id).await, "renamed after the cut");
    until("sole again, on a new connection", || {
        kit.server.app.runtime.instances.unchecked()
    })
    .await;
    kit.finish().await;
}

/// A server that stops steps down first: nothing to wait out. A holder that does not step down
/// (its process stopped, its session still open) cannot hold writers up for good: after five
/// seconds the writer ends its session, and waits out the lease it had.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_server_steps_down_and_a_stuck_holder_is_ended() {
    let Some((kit, _, prcs_id)) = sole_server().await else {
        return;
    };
    let Kit { server, db, .. } = kit;
    server.stop().await;
    let writer = Database::connect(&db.url).await.expect("connects");
    let began = Instant::now();
    rename(&writer, prcs_id, "renamed after the stop").await;
    let waited = began.elapsed();
    assert!(
        waited < Duration::from_secs(1),
        "stepped down as it stopped: {waited:?}"
    );

    let stuck = Database::connect(&db.url).await.expect("connects");
    let (class, object) = SOLE_SERVER_LOCK;
    let hold = format!("SELECT pg_advisory_lock({class}, {object})::text");
    stuck
        .execute_unprepared(&hold)
        .await
        .expect("holds the lock");
    let began = Instant::now();
    rename(&writer, prcs_id, "renamed past a stuck holder").await;
    assert!(
        began.elapsed() >= Duration::from_secs(5),
        "{:?}",
        began.elapsed()
    );
    let left = writer.query_all_raw(sea_orm::Statement::from_string(
        sea_orm::DbBackend::Postgres,
        holders(),
    ));
    assert!(
        left.await.expect("reads").is_empty(),
        "the stuck session was ended"
    );
}
