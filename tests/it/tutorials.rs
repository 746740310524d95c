//! Flows for APEX's tutorials, walked through the process API as each tutorial describes, when
//! a copy of its diagrams sits in `../shared/f4a` beside the repository (skipped elsewhere; the
//! engine's own tests cover the same features with diagrams of their own).

use std::path::PathBuf;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::kit::{Backend, Kit};
use crate::process::{complete, current, process, start, steps_in};

/// Uploads the tutorial whose file name starts with `prefix`, released; its `dgrm_id`.
pub(crate) async fn import(kit: &Kit, token: &str, prefix: &str) -> Option<i64> {
    import_as(kit, token, prefix, &prefix.replace(' ', "-"), None).await
}

/// Uploads a tutorial released under the name (and version) its callers call it by.
pub(crate) async fn import_as(
    kit: &Kit,
    token: &str,
    prefix: &str,
    name: &str,
    version: Option<&str>,
) -> Option<i64> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/f4a");
    let Some(file) = std::fs::read_dir(&dir).ok()?.find_map(|entry| {
        let path = entry.ok()?.path();
        let name = path.file_name()?.to_string_lossy().into_owned();
        name.starts_with(prefix).then_some(path)
    }) else {
        println!("skipped: no '{prefix}' diagram in {}", dir.display());
        return None;
    };
    let mut query = vec![("name", name), ("status", "released")];
    query.extend(version.map(|version| ("version", version)));
    let response = kit
        .http
        .post(kit.url("/v1/admin/diagrams"))
        .query(&query)
        .bearer_auth(token)
        .header("content-type", "application/xml")
        .body(std::fs::read_to_string(file).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED, "{prefix}");
    let body: Value = response.json().await.unwrap();
    body["item"]["dgrm_id"].as_i64()
}

pub(crate) async fn status(kit: &Kit, token: &str, prcs_id: i64) -> String {
    process(kit, token, prcs_id).await["status"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Fires the timer a step waits at now (`reschedule_timer` with `is_immediate`).
pub(crate) async fn fire_now(kit: &Kit, token: &str, prcs_id: i64, element: &str) {
    let steps = crate::process::open_steps(kit, token, prcs_id).await;
    let step = steps
        .iter()
        .find(|s| s["current"] == element)
        .unwrap_or_else(|| panic!("no step at {element}: {steps:?}"));
    let path = format!("/v1/steps/{}/reschedule_timer", step["sbfl_id"]);
    let body = json!({"step_key": step["step_key"], "is_immediate": true});
    let (answer, reply) = kit.call(Method::PUT, &path, Some(token), Some(body)).await;
    assert_eq!(answer, StatusCode::OK, "fire {element}: {reply}");
}

/// Completes each task in turn, checking the tasks open before each step.
pub(crate) async fn walk(kit: &Kit, token: &str, prcs_id: i64, path: &[(&[&str], &str)]) {
    for (open, next) in path {
        let mut expected: Vec<String> = open.iter().map(|s| s.to_string()).collect();
        expected.sort();
        assert_eq!(
            current(kit, token, prcs_id).await,
            expected,
            "before {next}"
        );
        complete(kit, token, prcs_id, next).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tutorials_walk_as_described() {
    let kit = Kit::start(Backend::Sqlite).await.expect("sqlite");
    let token = kit.admin_token().await;
    let token = token.as_str();

    // Tutorial 1: two tasks in a row, then a parallel split and its merge.
    if let Some(dgrm) = import(&kit, token, "Tutorial 1 ").await {
        let prcs = start(&kit, token, dgrm, Value::Null).await;
        let (a, b, c, d) = (
            "Activity_0i4a27g",
            "Activity_0k99i8a",
            "Activity_1gpoou5",
            "Activity_1uvn0o8",
        );
        walk(
            &kit,
            token,
            prcs,
            &[(&[a], a), (&[b], b), (&[c, d], c), (&[d], d)],
        )
        .await;
        assert_eq!(status(&kit, token, prcs).await, "completed");
    }

    // Tutorial 2a: a routing variable, a PL/SQL condition (`:F4A$DEPT = 'SALES'`), defaults.
    if let Some(dgrm) = import(&kit, token, "Tutorial 2a").await {
        let vars = json!([
            {"name": "Gateway_One:route", "type": "varchar", "value": "Flow_0jo4c98"},
            {"name": "DEPT", "type": "varchar", "value": "SALES"},
            {"name": "Gateway_Three:route", "type": "varchar", "value": "Flow_3_No"},
        ]);
        let prcs = start(&kit, token, dgrm, vars).await;
        let concept = [
            "Activity_Concept1",
            "Activity_Concept2",
            "Activity_Concept3",
        ];
        walk(
            &kit,
            token,
            prcs,
            &[
                (&[concept[0]], concept[0]),
                (&["Activity_1b47q7i"], "Activity_1b47q7i"),
                (&[concept[1]], concept[1]),
                (&["Activity_Sales"], "Activity_Sales"),
                (&[concept[2]], concept[2]),
                (&["Activity_0jpxv7u"], "Activity_0jpxv7u"),
            ],
        )
        .await;
        assert_eq!(status(&kit, token, prcs).await, "completed");
    }

    // Tutorial 2b: parallel splits, nested splits, and an exclusive merge that lets every
    // arriving token through (J runs once per branch).
    if let Some(dgrm) = import(&kit, token, "Tutorial 2b").await {
        let prcs = start(&kit, token, dgrm, Value::Null).await;
        let (b1, b2, b3) = ("Activity_06fpn0t", "Activity_12vd6sc", "Activity_0wuljzt");
        walk(
            &kit,
            token,
            prcs,
            &[
                (&["Activity_1xxuo52"], "Activity_1xxuo52"),
                (&[b1, b2, b3], b1),
                (&[b2, b3], b2),
                (&[b3], b3),
            ],
        )
        .await;
        complete(&kit, token, prcs, "Activity_1wamq8j").await; // C
        let (d1, e1, f, g, h, enough) = (
            "Activity_16nxamy",
            "Activity_0yc7jyq",
            "Activity_0nuq9gg",
            "Activity_0rko617",
            "Activity_04sg1f1",
            "Activity_1po2k4u",
        );
        let mut open = vec![d1, e1, f, g, h, enough];
        open.sort();
        assert_eq!(current(&kit, token, prcs).await, open);
        for task in [f, g, h] {
            complete(&kit, token, prcs, task).await;
        }
        let j = "Activity_0vesmoj";
        assert_eq!(
            steps_in(&kit, token, prcs, "running")
                .await
                .iter()
                .filter(|s| *s == j)
                .count(),
            3
        );
        for task in [
            j,
            j,
            j,
            d1,
            "Activity_14txpks",
            e1,
            "Activity_07chlsk",
            enough,
        ] {
            complete(&kit, token, prcs, task).await;
        }
        assert_eq!(status(&kit, token, prcs).await, "completed");
    }

    // Tutorial 2c: inclusive gateways, first on PL/SQL `like` conditions over a variable the
    // model sets (`PIZZA:CHIPS`), then on a routing variable that Flows' script would set (here
    // the caller sets it while the script waits as an external step).
    if let Some(dgrm) = import(&kit, token, "Tutorial 2c").await {
        let prcs = start(&kit, token, dgrm, Value::Null).await;
        let (pizza, chips) = ("Activity_1ef33ii", "Activity_1bt8ouh");
        walk(
            &kit,
            token,
            prcs,
            &[
                (&["Activity_Concept1"], "Activity_Concept1"),
                (&[pizza, chips], pizza),
                (&[chips], chips),
                (&["Activity_1yp3qv8"], "Activity_1yp3qv8"),
            ],
        )
        .await;
        let route = json!([{"name": "Gateway_Inclusive_Opening:route", "type": "varchar", "value": "Flow_A:Flow_B"}]);
        let path = format!("/v1/processes/{prcs}/process_vars");
        let (answer, reply) = kit.call(Method::PUT, &path, Some(token), Some(route)).await;
        assert_eq!(answer, StatusCode::OK, "{reply}");
        let (a, b) = ("Activity_0buy3jb", "Activity_1iqxrc6");
        walk(
            &kit,
            token,
            prcs,
            &[
                (&["Activity_0buimbx"], "Activity_0buimbx"),
                (&["Activity_1ve7i3d"], "Activity_1ve7i3d"),
                (&[a, b], a),
                (&[b], b),
                (&["Activity_0gtcq94"], "Activity_0gtcq94"),
            ],
        )
        .await;
        assert_eq!(status(&kit, token, prcs).await, "completed");
    }

    // Tutorial 2d: timers in ISO and Oracle formats. Durations are fired at once through the
    // API (`reschedule_timer`); dates already past fire at the scheduler's next tick.
    if let Some(dgrm) = import(&kit, token, "Tutorial 2d").await {
        let prcs = start(&kit, token, dgrm, Value::Null).await;
        complete(&kit, token, prcs, "Activity_16kndlc").await;
        assert_eq!(
            steps_in(&kit, token, prcs, "waiting for timer").await,
            ["Event_0s12ekd"]
        );
        fire_now(&kit, token, prcs, "Event_0s12ekd").await;
        complete(&kit, token, prcs, "Activity_1hz3cyg").await;
        for task in [
            "Activity_1dpg3fy",
            "Activity_17qqrdj",
            "Activity_0xk8wss",
            "Activity_0g0gn3b",
        ] {
            complete(&kit, token, prcs, task).await;
        }
        let durations = ["Event_ISO_Duration", "Event_Ora_Duration"];
        let mut waiting = Vec::new();
        for _ in 0..50 {
            waiting = steps_in(&kit, token, prcs, "waiting for timer").await;
            if waiting == durations {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(waiting, durations, "the past dates have fired");
        for timer in durations {
            fire_now(&kit, token, prcs, timer).await;
        }
        assert_eq!(status(&kit, token, prcs).await, "completed");
    }

    // Tutorial 3a: variables set by the model: a static route before a split, copies, PL/SQL
    // expressions, and one after its task; SQL queries need Oracle and set nothing (here the
    // caller sets what the EMP table would have answered).
    if let Some(dgrm) = import(&kit, token, "Tutorial 3a").await {
        let vars = json!([{"name": "EMP_DEPT_exists", "type": "varchar", "value": "yes"}]);
        let prcs = start(&kit, token, dgrm, vars).await;
        let (a, c) = ("Activity_07qs6zg", "Activity_04g7z25");
        walk(
            &kit,
            token,
            prcs,
            &[
                (&["Activity_0f3qzi7"], "Activity_0f3qzi7"),
                (&[a, c], a),
                (&[c], c),
                (&["Activity_Check_EMP_DEPT"], "Activity_Check_EMP_DEPT"),
            ],
        )
        .await;
        let mut open = vec![
            "Activity_Static",
            "Activity_Copy",
            "Activity_SQLSingle",
            "Activity_SQLMulti",
            "Activity_Expression",
            "Activity_FuncBody",
            "Activity_037o7il",
        ];
        open.sort();
        assert_eq!(current(&kit, token, prcs).await, open);
        let variable = |name: &'static str| {
            let kit = &kit;
            async move {
                let path = format!("/v1/processes/{prcs}/process_vars?name={name}");
                let (_, body) = kit.call(Method::GET, &path, Some(token), None).await;
                body["items"][0]["value"].clone()
            }
        };
        assert_eq!(
            variable("Static_before").await,
            "This gets set to your Static String Content Before the Task"
        );
        assert_eq!(variable("BeforeTask_CopyofEMP_DEPT_route").await, "yes");
        assert_eq!(variable("expression_number").await, "42");
        assert_eq!(
            variable("Static_After").await,
            Value::Null,
            "not before its task is done"
        );
        assert_eq!(variable("KingJob").await, Value::Null, "SQL needs Oracle");
        for task in open {
            complete(&kit, token, prcs, task).await;
        }
        assert_eq!(
            variable("Static_After").await,
            "And this one gets set after the task completes."
        );
        assert_eq!(status(&kit, token, prcs).await, "completed");
    }

    // Tutorial 6a: a collaboration's lanes and reservations; PL/SQL, e-mail and APEX-page
    // tasks are steps an external system completes; the embargo check's default path ships.
    if let Some(dgrm) = import(&kit, token, "Tutorial 6a").await {
        let prcs = start(&kit, token, dgrm, Value::Null).await;
        let (email, invoice, embargo) =
            ("Activity_1btthx3", "Activity_080aaf2", "Activity_0a9stdf");
        walk(
            &kit,
            token,
            prcs,
            &[
                (&["Activity_1fb79se"], "Activity_1fb79se"),
                (&[email, invoice, embargo], email),
                (&[invoice, embargo], invoice),
                (&["Activity_00ou09q", embargo], "Activity_00ou09q"),
                (&["Activity_1enngrb", embargo], "Activity_1enngrb"),
                (&[embargo], embargo),
                (&["Activity_1r5snya"], "Activity_1r5snya"),
                (&["Activity_0rghtfj"], "Activity_0rghtfj"),
                (&["Activity_0lm6w3e"], "Activity_0lm6w3e"),
            ],
        )
        .await;
        // The final approval is reserved for someone, then released and completed.
        let approval = "Activity_1bbwgpd";
        assert_eq!(current(&kit, token, prcs).await, [approval]);
        for (action, body) in [
            ("reserve", json!({"reservation": "alice"})),
            ("release", json!({})),
        ] {
            let steps = crate::process::open_steps(&kit, token, prcs).await;
            let step = steps.iter().find(|s| s["current"] == approval).unwrap();
            let mut body = body;
            body["step_key"] = step["step_key"].clone();
            let path = format!("/v1/steps/{}/{action}", step["sbfl_id"]);
            let (answer, reply) = kit.call(Method::PUT, &path, Some(token), Some(body)).await;
            assert_eq!(answer, StatusCode::OK, "{action}: {reply}");
        }
        walk(
            &kit,
            token,
            prcs,
            &[
                (&[approval], approval),
                (&["Activity_0j2a5z0"], "Activity_0j2a5z0"),
            ],
        )
        .await;
        assert_eq!(status(&kit, token, prcs).await, "completed");
    }

    // Tutorial 7a: message flow basics; the route variable picks the message-event lesson,
    // then a parallel split into the closing remarks (tasks that end their paths).
    if let Some(dgrm) = import(&kit, token, "Tutorial 7a").await {
        let vars =
            json!([{"name": "Gateway_1gb2wji:route", "type": "varchar", "value": "Flow_02w8qhh"}]);
        let prcs = start(&kit, token, dgrm, vars).await;
        let remarks = [
            "Activity_1cmxdp7",
            "Activity_0s2za6d",
            "Activity_04nvebw",
            "Activity_1id6b5x",
        ];
        walk(
            &kit,
            token,
            prcs,
            &[
                (&["Activity_0izlkl1"], "Activity_0izlkl1"),
                (&["Activity_1u4gq6u"], "Activity_1u4gq6u"),
                (&["Activity_1w25uqw"], "Activity_1w25uqw"),
                (&["Activity_0fixygu"], "Activity_0fixygu"),
                (&remarks, remarks[2]),
            ],
        )
        .await;
        for task in [remarks[0], remarks[1], remarks[3], "Activity_0t1ev9d"] {
            complete(&kit, token, prcs, task).await;
        }
        assert_eq!(status(&kit, token, prcs).await, "completed");
    }

    // Tutorial 5b: a subprocess with a parallel split and a nested subprocess; C runs only
    // once everything inside has ended.
    if let Some(dgrm) = import(&kit, token, "Tutorial 5b").await {
        let prcs = start(&kit, token, dgrm, Value::Null).await;
        complete(&kit, token, prcs, "Activity_13yt1ft").await;
        assert_eq!(
            steps_in(&kit, token, prcs, "in subprocess").await,
            ["Activity_1lt3f7j"]
        );
        let (b2, b3, b4a, b4b, b5) = (
            "Activity_1n7m2kj",
            "Activity_1ox4cmk",
            "Activity_1rct9yd",
            "Activity_1nqf2t2",
            "Activity_0ems563",
        );
        walk(
            &kit,
            token,
            prcs,
            &[
                (&["Activity_0kcgja9"], "Activity_0kcgja9"),
                (&[b2, b4a], b4a),
                (&[b2, b4b], b4b),
                (&[b2, b5], b5),
                (&[b2], b2),
                (&[b3], b3),
                (&["Activity_0n0h791"], "Activity_0n0h791"),
            ],
        )
        .await;
        assert_eq!(status(&kit, token, prcs).await, "completed");
    }

    // Tutorial 5c: an error end in subprocess B4 leaves by its interrupting error boundary; an
    // escalation thrown in subprocess B starts its non-interrupting boundary path beside it.
    if let Some(dgrm) = import(&kit, token, "Tutorial 5c").await {
        let prcs = start(&kit, token, dgrm, Value::Null).await;
        let (b2, b3, b4a, pre_error, handler, b6, escalated, c) = (
            "Activity_1n7m2kj",
            "Activity_1ox4cmk",
            "Activity_1rct9yd",
            "Activity_1ummob2",
            "Activity_0czq539",
            "Activity_0ksy34k",
            "Activity_1mbzten",
            "Activity_0n0h791",
        );
        walk(
            &kit,
            token,
            prcs,
            &[
                (&["Activity_13yt1ft"], "Activity_13yt1ft"),
                (&["Activity_0kcgja9"], "Activity_0kcgja9"),
                (&[b2, b4a], b4a),
                (&[b2, pre_error], pre_error),
                (&[b2, handler], b2),
                (&[b3, handler], b3),
                (&[b6, escalated, handler], handler),
                (&[b6, escalated], b6),
            ],
        )
        .await;
        let mut open = vec![c, escalated];
        open.sort();
        assert_eq!(current(&kit, token, prcs).await, open);
        let (_, activities) = kit
            .call(
                Method::GET,
                &format!("/v1/processes/{prcs}/activities"),
                Some(token),
                None,
            )
            .await;
        let completed = activities["items"][0]["completed"].to_string();
        for element in [
            "Event_185dh52",
            "Event_0ilybau",
            "Event_1yflz91",
            "Event_05m9taf",
        ] {
            assert!(completed.contains(element), "{element} in {completed}");
        }
        complete(&kit, token, prcs, c).await;
        complete(&kit, token, prcs, escalated).await;
        // The e-mail is an external step (a warning at import), then the path ends.
        complete(&kit, token, prcs, "Activity_1b9ghnl").await;
        assert_eq!(status(&kit, token, prcs).await, "completed");
    }
    kit.finish().await;
}
