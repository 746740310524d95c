//! The two bundled sample diagrams, run end to end.

use serde_json::json;

use crate::engine::instance::{ProcessStatus, SubflowStatus};
use crate::engine::test_support::{Harness, LINEAR_REVIEW, ORDER_FULFILMENT};
use crate::engine::value::VariableValue;

#[test]
fn linear_review_runs_two_tasks_in_order() {
    let mut harness = Harness::new(LINEAR_REVIEW);
    let outcome = harness.start();
    assert_eq!(outcome.previous_status, ProcessStatus::Created);
    assert_eq!(outcome.status, ProcessStatus::Running);
    assert_eq!(harness.current(), ["Task_Review"]);

    harness.complete("Task_Review").expect("review");
    assert_eq!(harness.current(), ["Task_Publish"]);
    let outcome = harness.complete("Task_Publish").expect("publish");

    assert!(outcome.status_changed());
    assert_eq!(harness.status(), ProcessStatus::Completed);
    let activities = harness.instance.activities();
    assert!(activities.current.is_empty());
    assert_eq!(
        activities.completed,
        ["Start", "Task_Review", "Task_Publish", "End"]
    );
}

/// Starts an order with the given amount and order id.
fn order(amount: f64) -> Harness {
    let mut harness = Harness::new(ORDER_FULFILMENT);
    harness.set("amount", VariableValue::Number(amount));
    harness.set("order_id", VariableValue::Varchar("A-1".into()));
    harness.start();
    assert_eq!(harness.current(), ["Task_Check"]);
    harness
}

/// From the parallel split to the payment message and the end.
fn pack_invoice_and_pay(harness: &mut Harness) {
    let mut current = harness.current();
    current.sort();
    assert_eq!(current, ["Task_Invoice", "Task_Pack"]);
    let parent = harness
        .instance
        .subflows()
        .iter()
        .find(|s| s.status == SubflowStatus::Split);
    let parent = parent.expect("the split parent waits").id;
    for task in ["Task_Pack", "Task_Invoice"] {
        assert_eq!(harness.at_element(task).parent_id, Some(parent));
    }

    harness.complete("Task_Pack").expect("pack");
    assert_eq!(
        harness.at_element("Gw_Join").status,
        SubflowStatus::WaitingJoin
    );
    assert_eq!(harness.current(), ["Gw_Join", "Task_Invoice"]);

    harness.complete("Task_Invoice").expect("invoice");
    let waiting = harness.at_element("Catch_Payment");
    assert_eq!(
        waiting.id, parent,
        "the parent subflow carries on after the join"
    );
    assert_eq!(waiting.status, SubflowStatus::WaitingMessage);
    assert_eq!(
        harness.instance.live_subflows().count(),
        1,
        "the branches completed at the join"
    );
    let subscription = &harness.instance.subscriptions()[0];
    assert_eq!(subscription.message_name, "payment-received");
    assert_eq!(subscription.correlation_key.as_deref(), Some("order_id"));
    assert_eq!(subscription.correlation_value.as_deref(), Some("A-1"));

    let payload = json!({"paid": 5000});
    let other_order = harness
        .run(|i, ctx| {
            i.correlate_message(
                ctx,
                "payment-received",
                Some("order_id"),
                Some("B-2"),
                Some(&payload),
            )
        })
        .expect("correlate");
    assert!(other_order.correlated.is_empty());
    assert_eq!(harness.status(), ProcessStatus::Running);

    let outcome = harness
        .run(|i, ctx| {
            i.correlate_message(
                ctx,
                "payment-received",
                Some("order_id"),
                Some("A-1"),
                Some(&payload),
            )
        })
        .expect("correlate");
    assert_eq!(outcome.correlated.len(), 1);
    assert_eq!(outcome.status, ProcessStatus::Completed);
    assert_eq!(
        harness.instance.variable("payment"),
        Some(&VariableValue::Json(payload))
    );
    assert!(harness.instance.subscriptions().is_empty());
}

#[test]
fn large_order_needs_approval() {
    let mut harness = order(5000.0);
    harness.complete("Task_Check").expect("check");
    assert_eq!(harness.current(), ["Task_Approve"]);
    harness.complete("Task_Approve").expect("approve");
    pack_invoice_and_pay(&mut harness);
    assert!(
        harness
            .instance
            .activities()
            .completed
            .contains(&"Task_Approve".to_string())
    );
}

#[test]
fn small_order_takes_the_default_flow() {
    let mut harness = order(10.0);
    harness.complete("Task_Check").expect("check");
    pack_invoice_and_pay(&mut harness);
    let completed = harness.instance.activities().completed;
    assert!(!completed.contains(&"Task_Approve".to_string()));
    for element in [
        "Gw_Amount",
        "Gw_Merge",
        "Gw_Split",
        "Gw_Join",
        "Catch_Payment",
        "End",
    ] {
        assert!(
            completed.contains(&element.to_string()),
            "{element} completed"
        );
    }
}
