//! Reads of an instance while it is written: every acknowledged write is seen by the next
//! read, and no reader sees a value go back. An instance is read from the cache of instances
//! once it was read (on PostgreSQL after a check of its row's version); these are what keep
//! that cache exact (and `sole_server`, for a server alone on PostgreSQL).

use std::sync::atomic::{AtomicBool, Ordering};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::kit::Kit;
use crate::on_both_backends;
use crate::process::{complete, current, dgrm_id, open_steps, start, token};

on_both_backends!(
    reads_follow_every_write,
    moves_and_deletion_are_seen_at_once
);

/// An instance as `GET /v1/processes/:prcs_id` shows it.
pub async fn shown(kit: &Kit, token: &str, prcs_id: i64) -> Value {
    let path = format!("/v1/processes/{prcs_id}");
    let (status, mut body) = kit.call(Method::GET, &path, Some(token), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["items"][0].take()
}

/// The variable `n` of an instance as `GET /v1/processes/:prcs_id` shows it (0 while unset).
pub async fn read_n(kit: &Kit, token: &str, prcs_id: i64) -> i64 {
    shown(kit, token, prcs_id).await["process_vars"]
        .as_array()
        .expect("process_vars")
        .iter()
        .find(|v| v["name"] == "n")
        .map_or(0, |v| v["value"].as_str().unwrap().parse().unwrap())
}

/// One writer counts `n` up while three readers read the instance as fast as they can.
async fn reads_follow_every_write(kit: &Kit) {
    let token = token(kit).await;
    let dgrm = dgrm_id(kit, &token, "Document").await;
    let prcs_id = start(kit, &token, dgrm, Value::Null).await;
    assert_eq!(read_n(kit, &token, prcs_id).await, 0);
    let done = AtomicBool::new(false);
    let writer = async {
        let path = format!("/v1/processes/{prcs_id}/process_vars");
        for n in 1..=40 {
            let body = json!({"name": "n", "type": "varchar", "value": n.to_string()});
            let (status, answer) = kit.call(Method::PUT, &path, Some(&token), Some(body)).await;
            assert_eq!(status, StatusCode::OK, "{answer}");
            assert_eq!(
                read_n(kit, &token, prcs_id).await,
                n,
                "the read after write {n}"
            );
        }
        done.store(true, Ordering::Release);
    };
    let reader = || async {
        let mut last = 0;
        let mut reads = 0;
        while !done.load(Ordering::Acquire) {
            let n = read_n(kit, &token, prcs_id).await;
            assert!(n >= last, "a reader saw n go back from {last} to {n}");
            last = n;
            reads += 1;
        }
        reads
    };
    let ((), first, second, third) = tokio::join!(writer, reader(), reader(), reader());
    assert!(first + second + third > 0);
    assert_eq!(read_n(kit, &token, prcs_id).await, 40);
    // Read again, unchanged: from the cache of instances, on SQLite as kept, on PostgreSQL
    // once its version was checked.
    assert_eq!(read_n(kit, &token, prcs_id).await, 40);
    let hits = kit.server.app.runtime.instances.hits();
    assert!(hits > 0, "no read was answered from the cache");
}

/// A step completed, the instance terminated, then deleted: each read right after shows it.
async fn moves_and_deletion_are_seen_at_once(kit: &Kit) {
    let token = token(kit).await;
    let dgrm = dgrm_id(kit, &token, "Document").await;
    let prcs_id = start(kit, &token, dgrm, Value::Null).await;
    let first = current(kit, &token, prcs_id).await;
    assert_eq!(first.len(), 1, "{first:?}");
    let path = format!("/v1/processes/{prcs_id}");
    let (_, before) = kit.call(Method::GET, &path, Some(&token), None).await;
    assert_eq!(before["items"][0]["status"], "running");

    complete(kit, &token, prcs_id, &first[0]).await;
    let after: Vec<Value> = open_steps(kit, &token, prcs_id).await;
    assert!(
        after.iter().all(|s| s["current"] != first[0].as_str()),
        "the completed step is gone at once: {after:?}"
    );

    let terminate = format!("/v1/processes/{prcs_id}/terminate");
    let (status, body) = kit.call(Method::PUT, &terminate, Some(&token), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, terminated) = kit.call(Method::GET, &path, Some(&token), None).await;
    assert_eq!(terminated["items"][0]["status"], "terminated");

    let (status, body) = kit.call(Method::DELETE, &path, Some(&token), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, gone) = kit.call(Method::GET, &path, Some(&token), None).await;
    assert_eq!(status, StatusCode::OK, "{gone}");
    assert_eq!(gone["count"], 0, "{gone}");
    assert_eq!(open_steps(kit, &token, prcs_id).await, Vec::<Value>::new());
}

/// A second server on the same SQLite file: what it writes, the first reads at once (the first
/// stops keeping instances as the second starts).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_server_on_one_sqlite_file_is_read_at_once() {
    let kit = Kit::start(crate::kit::Backend::Sqlite).await.unwrap();
    let token = token(&kit).await;
    let dgrm = dgrm_id(&kit, &token, "Document").await;
    let prcs_id = start(&kit, &token, dgrm, Value::Null).await;
    let vars = format!("/v1/processes/{prcs_id}/process_vars");
    let set = |n: i64| json!({"name": "n", "type": "varchar", "value": n.to_string()});
    let (status, body) = kit
        .call(Method::PUT, &vars, Some(&token), Some(set(1)))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(read_n(&kit, &token, prcs_id).await, 1);
    let hits = || kit.server.app.runtime.instances.hits();
    let before = hits();
    assert_eq!(
        read_n(&kit, &token, prcs_id).await,
        1,
        "read again, as kept"
    );
    assert_eq!(
        hits(),
        before + 1,
        "a server alone on its file reads a kept instance"
    );

    let other = kit.another_instance().await;
    let api = crate::binary::Api::new(&other.base_url());
    let (status, body) = api
        .call(Method::PUT, &vars, Some(&token), Some(set(2)))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        read_n(&kit, &token, prcs_id).await,
        2,
        "the first server reads the write"
    );
    let after = hits();
    assert_eq!(read_n(&kit, &token, prcs_id).await, 2);
    assert_eq!(hits(), after, "nothing is kept once another server started");
    other.stop().await;
    let (status, body) = kit
        .call(Method::PUT, &vars, Some(&token), Some(set(3)))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(read_n(&kit, &token, prcs_id).await, 3);
    kit.finish().await;
}
