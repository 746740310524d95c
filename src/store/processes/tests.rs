//! How a move's writes reach the rows.

use super::*;
use sea_orm::PaginatorTrait;

/// A database with one instance that has one step and awaits one message.
async fn one_instance() -> (sea_orm::DatabaseConnection, i64) {
    let db = crate::store::in_memory().await;
    let diagram = crate::store::diagrams::NewDiagram {
        name: "d".into(),
        version: "1".into(),
        status: "released",
        category: None,
        xml: "<definitions/>",
        created_at: 0,
    };
    let dgrm_id = crate::store::diagrams::insert(&db, diagram)
        .await
        .expect("diagram")
        .dgrm_id;
    let prcs_id = new_process(&db, dgrm_id, "before").await;
    let first = MoveWrites {
        saved: saved("read"),
        new_steps: vec![1],
        subscriptions: Some(subscribed(false, &["m1"])),
    };
    write_move(&db, prcs_id, "before", first)
        .await
        .expect("first move");
    (db, prcs_id)
}

/// A new instance of the diagram, in this state: its id.
async fn new_process(db: &sea_orm::DatabaseConnection, dgrm_id: i64, state: &str) -> i64 {
    let new = NewProcess {
        dgrm_id,
        name: "p".into(),
        status: "running".into(),
        business_ref: None,
        init_ts: 0,
        init_by: "t".into(),
        state: state.into(),
    };
    insert(db, new).await.expect("process").id
}

fn saved(state: &str) -> SavedState {
    SavedState {
        status: "running".into(),
        state: state.into(),
        next_timer_due: Some(7),
        updated_at: 1,
    }
}

fn subscribed(had_any: bool, names: &[&str]) -> Subscriptions {
    let open = names.iter().map(|name| OpenSubscription {
        message_name: (*name).into(),
        correlation_key: Some("k".into()),
        correlation_value: None,
    });
    Subscriptions {
        had_any,
        open: open.collect(),
    }
}

/// The instance's state, engine step ids and awaited messages, as stored.
async fn stored(db: &impl ConnectionTrait, prcs_id: i64) -> (String, Vec<u64>, Vec<String>) {
    let found = find(db, prcs_id).await.expect("reads").expect("found");
    let awaited = subscription::Entity::find()
        .filter(subscription::Column::PrcsId.eq(prcs_id))
        .order_by_asc(subscription::Column::Id)
        .all(db)
        .await
        .expect("subscriptions");
    (
        found.row.state,
        found.step_ids.iter().map(|(local, _)| *local).collect(),
        awaited.into_iter().map(|s| s.message_name).collect(),
    )
}

#[tokio::test]
async fn a_move_made_ahead_is_written_only_on_the_state_it_was_made_on() {
    // The write lane is the process's: take turns with its tests.
    let _turn = crate::store::TEST_TURNS.lock().await;
    let (db, prcs_id) = one_instance().await;
    let txn = crate::store::begin_write(&db).await.expect("begins");
    let before = stored(&txn, prcs_id).await;
    assert_eq!(before, ("read".into(), vec![1], vec!["m1".into()]));
    let next = || MoveWrites {
        saved: saved("after"),
        new_steps: vec![2, 3],
        subscriptions: Some(subscribed(true, &["m2", "m3"])),
    };
    // Made on a state the row no longer has: nothing at all is written.
    let stale = write_move_if_unchanged(&txn, prcs_id, "before", next()).await;
    assert!(!stale.expect("runs"));
    assert_eq!(stored(&txn, prcs_id).await, before);
    // Made on the state it has: all of it is.
    let current = write_move_if_unchanged(&txn, prcs_id, "read", next()).await;
    assert!(current.expect("runs"));
    let after = (
        "after".into(),
        vec![1, 2, 3],
        vec!["m2".into(), "m3".into()],
    );
    assert_eq!(stored(&txn, prcs_id).await, after);
    let row = row(&txn, prcs_id).await.expect("reads").expect("found");
    assert_eq!((row.next_timer_due, row.updated_at), (Some(7), 1));
    // The same move again is now stale itself.
    let again = write_move_if_unchanged(&txn, prcs_id, "read", next()).await;
    assert!(!again.expect("runs"));
    assert_eq!(stored(&txn, prcs_id).await, after);
    // Nor does it write for an instance that is gone.
    let gone = write_move_if_unchanged(&txn, prcs_id + 1, "after", next()).await;
    assert!(!gone.expect("runs"));
    txn.commit().await.expect("commits");
    assert_eq!(stored(&db, prcs_id).await, after);
}

#[tokio::test]
async fn a_move_on_an_instance_that_vanished_fails_and_writes_nothing() {
    let (db, prcs_id) = one_instance().await;
    let before = stored(&db, prcs_id).await;
    let writes = || MoveWrites {
        saved: saved("after"),
        new_steps: vec![2],
        subscriptions: Some(subscribed(true, &["m2"])),
    };
    let gone = write_move(&db, prcs_id + 1, "read", writes()).await;
    assert!(gone.is_err());
    // Its new rows would have named the missing instance: none were inserted.
    let stray_steps = subflow_ref::Entity::find()
        .filter(subflow_ref::Column::PrcsId.eq(prcs_id + 1))
        .count(&db)
        .await
        .expect("counts");
    let stray_subscriptions = subscription::Entity::find()
        .filter(subscription::Column::PrcsId.eq(prcs_id + 1))
        .count(&db)
        .await
        .expect("counts");
    assert_eq!((stray_steps, stray_subscriptions), (0, 0));
    assert_eq!(stored(&db, prcs_id).await, before);
    write_move(&db, prcs_id, "read", writes())
        .await
        .expect("moves");
    assert_eq!(stored(&db, prcs_id).await.1, [1, 2]);
}

#[tokio::test]
async fn a_step_is_read_with_its_instance() {
    let (db, prcs_id) = one_instance().await;
    let (_, sbfl_id) = find(&db, prcs_id)
        .await
        .expect("reads")
        .expect("found")
        .step_ids[0];
    let (local, row) = step_with_row(&db, sbfl_id)
        .await
        .expect("reads")
        .expect("found");
    assert_eq!((local, row.id, row.state.as_str()), (1, prcs_id, "read"));
    assert!(
        step_with_row(&db, sbfl_id + 1)
            .await
            .expect("reads")
            .is_none()
    );
}

#[tokio::test]
async fn a_message_finds_the_instances_that_may_await_it() {
    let (db, prcs_id) = one_instance().await;
    // It awaits m1 with the key k and no value; another instance awaits any m1.
    let keyed = |value| awaiting(&db, "m1", Some("k"), value);
    assert_eq!(keyed(None).await.expect("reads"), [prcs_id]);
    assert!(keyed(Some("v")).await.expect("reads").is_empty());
    assert!(
        awaiting(&db, "m1", None, None)
            .await
            .expect("reads")
            .is_empty()
    );
    let sole = sole_awaiting(&db, "m1", Some("k"), None)
        .await
        .expect("reads");
    assert_eq!(sole.map(|row| row.id), Some(prcs_id));
    let dgrm_id = row(&db, prcs_id)
        .await
        .expect("reads")
        .expect("found")
        .dgrm_id;
    let other = new_process(&db, dgrm_id, "other").await;
    let any = MoveWrites {
        saved: saved("other"),
        new_steps: vec![],
        subscriptions: Some(Subscriptions {
            had_any: false,
            open: vec![OpenSubscription {
                message_name: "m1".into(),
                correlation_key: None,
                correlation_value: None,
            }],
        }),
    };
    write_move(&db, other, "other", any)
        .await
        .expect("subscribes");
    assert_eq!(keyed(None).await.expect("reads"), [prcs_id, other]);
    assert_eq!(keyed(Some("v")).await.expect("reads"), [other]);
    // Two may: not one.
    let sole = sole_awaiting(&db, "m1", Some("k"), None)
        .await
        .expect("reads");
    assert!(sole.is_none());
    let sole = sole_awaiting(&db, "m1", Some("k"), Some("v"))
        .await
        .expect("reads");
    assert_eq!(sole.map(|row| row.id), Some(other));
}
