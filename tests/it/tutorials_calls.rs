//! Flows for APEX's tutorials on call activities (5d calling 5e) and iterations (7e), walked
//! through the process API as each describes, when a copy of its diagrams sits in
//! `../shared/f4a` beside the repository (skipped elsewhere; `calls.rs` and the engine's tests
//! cover the same features with diagrams of their own).

use serde_json::{Value, json};

use crate::calls::variables;
use crate::kit::{Backend, Kit};
use crate::process::{complete, start, steps_in};
use crate::tutorials::{fire_now, import, import_as, status, walk};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_and_iteration_tutorials_walk_as_described() {
    let kit = Kit::start(Backend::Sqlite).await.expect("sqlite");
    let token = kit.admin_token().await;
    let token = token.as_str();

    // Tutorial 5d: "Process order" calls Tutorial 5e (version 22.2, by name), handing over
    // OrderRef and an URGENT priority; 5e books FedEx, and ShipperName comes back.
    let called = "Tutorial 5e - ship Goods (Called by Tutorial 5d)";
    if import_as(&kit, token, "Tutorial 5e", called, Some("22.2"))
        .await
        .is_some()
        && let Some(dgrm) = import(&kit, token, "Tutorial 5d").await
    {
        let vars = json!([{"name": "OrderRef", "type": "varchar", "value": "ORD-5"}]);
        let prcs = start(&kit, token, dgrm, vars).await;
        // The first task sets Action to ORDER:FOLLOWUP: the inclusive gateway takes both flows.
        let (order, followup) = ("Activity_0gyfptj", "Activity_1h6w1sp");
        walk(
            &kit,
            token,
            prcs,
            &[
                (&["Activity_0fpcard"], "Activity_0fpcard"),
                (&[order, followup], followup),
                (&[order], order),
            ],
        )
        .await;
        assert_eq!(
            steps_in(&kit, token, prcs, "in call activity").await,
            ["Activity_0jcpdul"]
        );
        let steps = crate::process::open_steps(&kit, token, prcs).await;
        let caller = steps
            .iter()
            .find(|s| s["current"] == "Activity_0jcpdul")
            .unwrap();
        let inside = steps
            .iter()
            .find(|s| s["current"] == "Activity_19f7o06")
            .unwrap();
        assert_eq!(inside["calling_sbfl"], caller["sbfl_id"]);
        assert_eq!(inside["scope"], inside["sbfl_id"], "{inside}");
        assert_eq!(inside["diagram_level"], inside["sbfl_id"]);
        let handed = variables(&kit, token, prcs, &format!("scope={}", inside["scope"])).await;
        assert!(
            handed.contains(&("OrderRef".into(), "ORD-5".into())),
            "{handed:?}"
        );
        assert!(
            handed.contains(&("ShippingPriority".into(), "URGENT".into())),
            "{handed:?}"
        );
        walk(
            &kit,
            token,
            prcs,
            &[
                (&["Activity_19f7o06"], "Activity_19f7o06"),
                (&["Activity_Book_Urgent"], "Activity_Book_Urgent"),
                (&["Activity_Pick"], "Activity_Pick"),
                (&["Activity_Pack"], "Activity_Pack"),
                (&["Activity_Mail"], "Activity_Mail"),
            ],
        )
        .await;
        assert_eq!(
            variables(&kit, token, prcs, "scope=0&name=ShipperName").await,
            [("ShipperName".to_string(), "FedEx".to_string())]
        );
        fire_now(&kit, token, prcs, "Event_0trjr0k").await;
        complete(&kit, token, prcs, "Activity_00iss9v").await;
        assert_eq!(status(&kit, token, prcs).await, "completed");
    }

    // Tutorial 7e: a sequential multi-instance over a list, a parallel one over an array and a
    // loop, each done once three iterations completed; the branch whose collection is an SQL
    // query needs Oracle and goes into error.
    if let Some(dgrm) = import(&kit, token, "Tutorial 7e").await {
        let employees = json!([
            {"ename": "SMITH", "empno": 7369}, {"ename": "JONES", "empno": 7566},
            {"ename": "SCOTT", "empno": 7788}, {"ename": "FORD", "empno": 7902},
        ]);
        let vars = json!([
            {"name": "EmpList", "type": "varchar", "value": "SMITH:JONES:SCOTT:FORD"},
            {"name": "EmpArray", "type": "json", "value": employees},
        ]);
        let prcs = start(&kit, token, dgrm, vars).await;
        for task in [
            "Activity_PreSplit",
            "Activity_A1",
            "Activity_B1",
            "Activity_D1",
        ] {
            complete(&kit, token, prcs, task).await;
        }
        let at = |element: &'static str| {
            let kit = &kit;
            async move {
                crate::process::open_steps(kit, token, prcs)
                    .await
                    .iter()
                    .filter(|s| s["current"] == element && s["status"] == "running")
                    .count()
            }
        };
        assert_eq!(at("Activity_A2").await, 1, "sequential: one at a time");
        assert_eq!(at("Activity_B2").await, 4, "parallel: all at once");
        assert_eq!(at("Activity_D2").await, 1, "a loop: one round at a time");
        for _ in 0..3 {
            for task in ["Activity_A2", "Activity_B2", "Activity_D2"] {
                complete(&kit, token, prcs, task).await;
            }
        }
        assert_eq!(
            at("Activity_B2").await,
            0,
            "the fourth stopped once three completed"
        );
        let gathered = variables(&kit, token, prcs, "name=IterationArrayA").await;
        let names: Value = serde_json::from_str(&gathered[0].1).unwrap();
        assert_eq!(
            names,
            json!([{"ename": "SMITH"}, {"ename": "JONES"}, {"ename": "SCOTT"}])
        );
        for task in ["Activity_A3", "Activity_B3", "Activity_D3", "Activity_C1"] {
            complete(&kit, token, prcs, task).await;
        }
        assert_eq!(status(&kit, token, prcs).await, "error");
        assert_eq!(steps_in(&kit, token, prcs, "error").await, ["Activity_C2"]);
    }
    kit.finish().await;
}
