//! Moves of one instance that race (docs/contract.md §5): whichever the write lane (SQLite) or
//! the row lock (PostgreSQL) lets through first wins, and the other is refused as if it had
//! come after, also when both were made on the same state before either was written.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::kit::Kit;
use crate::on_both_backends;
use crate::process::{complete, current, dgrm_id, open_steps, process, start, steps_in, token};

on_both_backends!(
    one_of_two_concurrent_completes_wins,
    one_of_two_concurrent_messages_wins,
);

/// Sends every call twice, all at once, each on its own task. Of each pair exactly one must
/// win (200) and the other be refused (409): the refused answers, in the order of the calls.
async fn each_twice_at_once(kit: &Kit, token: &str, calls: Vec<(String, Value)>) -> Vec<Value> {
    let api = crate::binary::Api::new(&kit.base);
    let handles: Vec<_> = calls
        .iter()
        .flat_map(|call| [call.clone(), call.clone()])
        .map(|(path, body)| {
            let (api, token) = (api.clone(), token.to_owned());
            tokio::spawn(
                async move { api.call(Method::PUT, &path, Some(&token), Some(body)).await },
            )
        })
        .collect();
    let mut answers = Vec::new();
    for handle in handles {
        answers.push(handle.await.unwrap());
    }
    let mut refused = Vec::new();
    for pair in answers.chunks(2) {
        let mut statuses = [pair[0].0, pair[1].0];
        statuses.sort();
        assert_eq!(statuses, [StatusCode::OK, StatusCode::CONFLICT], "{pair:?}");
        let loser = pair.iter().find(|(s, _)| *s == StatusCode::CONFLICT);
        refused.push(loser.unwrap().1.clone());
    }
    refused
}

/// Eight instances, each step completed twice at once, all sixteen requests together (on
/// SQLite the moves queue in one write batch, the refused ones among them): one winner each,
/// every instance moved exactly once.
async fn one_of_two_concurrent_completes_wins(kit: &Kit) {
    let token = token(kit).await;
    let dgrm = dgrm_id(kit, &token, "review").await;
    let mut instances = Vec::new();
    for _ in 0..8 {
        let prcs = start(kit, &token, dgrm, Value::Null).await;
        let step = open_steps(kit, &token, prcs).await.remove(0);
        instances.push((prcs, step));
    }
    let calls = instances.iter().map(|(_, step)| {
        let path = format!("/v1/steps/{}/complete", step["sbfl_id"]);
        (path, json!({"step_key": step["step_key"]}))
    });
    each_twice_at_once(kit, &token, calls.collect()).await;
    for (prcs, _) in &instances {
        assert_eq!(
            current(kit, &token, *prcs).await,
            ["Task_Publish"],
            "moved exactly once"
        );
    }
}

/// Four instances awaiting their payment, each message sent twice at once, all eight together:
/// one delivery each, the other answered that nothing awaits it, every instance completed.
async fn one_of_two_concurrent_messages_wins(kit: &Kit) {
    let token = token(kit).await;
    let dgrm = dgrm_id(kit, &token, "order").await;
    let mut instances = Vec::new();
    for i in 0..4 {
        let order_id = format!("R-{i}");
        let vars = json!([
            {"name": "amount", "type": "number", "value": 10},
            {"name": "order_id", "type": "varchar", "value": order_id},
        ]);
        let prcs = start(kit, &token, dgrm, vars).await;
        for task in ["Task_Check", "Task_Pack", "Task_Invoice"] {
            complete(kit, &token, prcs, task).await;
        }
        let waiting = steps_in(kit, &token, prcs, "waiting for message").await;
        assert_eq!(waiting, ["Catch_Payment"]);
        instances.push((prcs, order_id));
    }
    let calls = instances.iter().map(|(_, order_id)| {
        let body = json!({"key": "order_id", "value": order_id, "payload": {"paid": 10}});
        ("/v1/messages/payment-received".to_owned(), body)
    });
    let refused = each_twice_at_once(kit, &token, calls.collect()).await;
    for ((prcs, _), loser) in instances.iter().zip(&refused) {
        assert_eq!(
            loser["message"], "Message could not be correlated",
            "{loser}"
        );
        let done = process(kit, &token, *prcs).await;
        assert_eq!(done["status"], "completed", "{done}");
    }
}
