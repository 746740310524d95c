//! The items the process API answers with, as Flows for APEX shapes them, and their links.

use poem_openapi::Object;
use serde::Serialize;

use super::apex::link;
use super::paging::Link;
use crate::engine::{Subflow, SubflowStatus, VariableValue};
use crate::services::diagrams::DiagramInfo;
use crate::services::processes::ProcessView;

/// Fields that may be empty are `null`, never left out, as Flows sends them.
#[derive(Object, Clone)]
pub struct DiagramItem {
    pub dgrm_id: i64,
    pub name: String,
    /// Text, as in Flows: `1`, `2`, `1.1-beta`, …
    pub version: String,
    /// draft, released, deprecated, archived
    pub status: String,
    #[oai(nullable)]
    pub category: Option<String>,
    pub links: Vec<Link>,
}

#[derive(Object, Clone, Serialize)]
pub struct VariableItem {
    /// 0: process level; else the `sbfl_id` of the step that started a called diagram.
    pub scope: i64,
    pub name: String,
    /// VARCHAR2, NUMBER, DATE, CLOB or JSON
    #[oai(rename = "type")]
    #[serde(rename = "type")]
    pub ty: String,
    /// As Flows renders it, as text: numbers as Oracle writes them (`120`, `.5`), dates as
    /// `YYYY-MM-DD HH24:MI:SS` (UTC), JSON as its text.
    pub value: String,
}

// (Not a doc comment: poem-openapi would put it into the document.)
// `Serialize` writes the same bytes as `ToJSON` (a test below holds them equal): a process
// item is written once per view read, and the `serde_json::Value` that `ToJSON` builds first
// was a fifth of a read's CPU time on PostgreSQL.
#[derive(Object, Clone, Serialize)]
pub struct ProcessItem {
    pub dgrm_id: i64,
    pub prcs_id: i64,
    pub name: String,
    /// created, running, completed, terminated, error
    pub status: String,
    #[oai(nullable)]
    pub business_ref: Option<String>,
    /// RFC 3339
    pub init_ts: String,
    pub init_by: String,
    pub process_vars: Vec<VariableItem>,
    pub links: Vec<Link>,
}

#[derive(Object, Clone)]
pub struct StepItem {
    pub prcs_id: i64,
    pub sbfl_id: i64,
    /// The step that forked this one at a parallel gateway.
    #[oai(nullable)]
    pub sbfl_sbfl_id: Option<i64>,
    pub process_level: i64,
    pub diagram_level: i64,
    /// The step of the calling process (call activities).
    #[oai(nullable)]
    pub calling_sbfl: Option<i64>,
    pub scope: i64,
    /// The BPMN element the step is on.
    pub current: String,
    /// Send it back with every action on this step; it changes at every move.
    pub step_key: String,
    /// As Flows spells it: running, waiting for timer, waiting for message, waiting at gateway,
    /// split, in subprocess, in call activity, iterating, error.
    pub status: String,
    /// RFC 3339
    pub became_current: String,
    #[oai(nullable)]
    pub reservation: Option<String>,
    pub links: Vec<Link>,
}

/// BPMN element ids by state; all three are `null` for an unknown instance, as in Flows.
#[derive(Object, Clone)]
pub struct ActivitiesItem {
    #[oai(nullable)]
    pub current: Option<Vec<String>>,
    #[oai(nullable)]
    pub completed: Option<Vec<String>>,
    #[oai(nullable)]
    pub error: Option<Vec<String>>,
}

#[derive(Object, Clone)]
pub struct SubscriptionItem {
    /// Message name.
    pub name: String,
    /// Correlation key.
    #[oai(nullable)]
    pub key: Option<String>,
    /// Expected correlation value.
    #[oai(nullable)]
    pub value: Option<String>,
}

/// The links of a diagram, as Flows builds them: `rel` names the object a link leads to,
/// `action` tells links to the same object apart.
pub fn diagram_links(base: &str, dgrm_id: i64) -> Vec<Link> {
    let href = format!("{base}/v1/diagrams/{dgrm_id}");
    vec![
        link("diagram", href.clone(), "GET"),
        link("process", format!("{href}/processes"), "GET"),
        link("process", format!("{href}/processes"), "POST"),
    ]
}

pub fn diagram_item(base: &str, d: DiagramInfo) -> DiagramItem {
    DiagramItem {
        links: diagram_links(base, d.dgrm_id),
        dgrm_id: d.dgrm_id,
        name: d.name,
        version: d.version,
        status: d.status,
        category: d.category,
    }
}

/// The variables of every scope: process level (0) first, then each called diagram's, its
/// scope named by the step that opened it.
pub fn variables(p: &ProcessView) -> Vec<VariableItem> {
    let mut items = Vec::new();
    for scope in p.instance.scopes() {
        let Some(values) = p.instance.scope_variables(scope) else {
            continue;
        };
        let scope = if scope == 0 {
            0
        } else {
            p.step_id(scope).unwrap_or_default()
        };
        items.extend(
            values
                .iter()
                .map(|(name, value): (&String, &VariableValue)| VariableItem {
                    scope,
                    name: name.clone(),
                    ty: value.type_name().into(),
                    value: value.render(),
                }),
        );
    }
    items
}

/// The links of an instance, as Flows builds them: `process` GET and DELETE, `process` PUT
/// start, reset and terminate, `process_vars` GET and PUT.
pub fn process_links(base: &str, prcs_id: i64) -> Vec<Link> {
    let href = format!("{base}/v1/processes/{prcs_id}");
    let mut links = vec![
        link("process", href.clone(), "GET"),
        link("process", href.clone(), "DELETE"),
    ];
    for action in ["start", "reset", "terminate"] {
        links.push(link("process", format!("{href}/{action}"), "PUT"));
    }
    let vars = format!("{href}/process_vars");
    links.push(link("process_vars", vars.clone(), "GET"));
    links.push(link("process_vars", vars, "PUT"));
    links
}

pub fn process_item(base: &str, p: &ProcessView) -> ProcessItem {
    ProcessItem {
        dgrm_id: p.dgrm_id,
        prcs_id: p.prcs_id,
        name: p.name.clone(),
        status: p.status.clone(),
        business_ref: p.business_ref.clone(),
        init_ts: chrono::DateTime::from_timestamp(p.init_ts, 0)
            .map(|t| t.to_rfc3339())
            .unwrap_or_default(),
        init_by: p.init_by.clone(),
        process_vars: variables(p),
        links: process_links(base, p.prcs_id),
    }
}

/// The links of a step, as Flows builds them: `step` PUT for each step action.
pub fn step_links(base: &str, sbfl_id: i64) -> Vec<Link> {
    let href = format!("{base}/v1/steps/{sbfl_id}");
    [
        "start",
        "reserve",
        "release",
        "complete",
        "restart",
        "reschedule_timer",
    ]
    .into_iter()
    .map(|action| link("step", format!("{href}/{action}"), "PUT"))
    .collect()
}

/// A step's status as Flows spells it (`flow_constants_pkg.gc_sbfl_status_*`).
pub fn step_status(status: SubflowStatus) -> &'static str {
    match status {
        SubflowStatus::Running => "running",
        SubflowStatus::WaitingMessage => "waiting for message",
        SubflowStatus::WaitingTimer => "waiting for timer",
        SubflowStatus::WaitingJoin => "waiting at gateway",
        SubflowStatus::Split => "split",
        SubflowStatus::InSubprocess => "in subprocess",
        SubflowStatus::InCallActivity => "in call activity",
        SubflowStatus::Iterating => "iterating",
        SubflowStatus::Error => "error",
        SubflowStatus::Completed => "completed",
    }
}

pub fn step_item(base: &str, p: &ProcessView, s: &Subflow) -> StepItem {
    let sbfl_id = p.step_id(s.id).unwrap_or_default();
    StepItem {
        prcs_id: p.prcs_id,
        sbfl_id,
        sbfl_sbfl_id: s.parent_id.and_then(|parent| p.step_id(parent)),
        // Levels name the subflow that opened them (0 at the top), as Flows numbers them.
        process_level: p.step_id(s.process_level).unwrap_or_default(),
        diagram_level: p.step_id(s.diagram_level).unwrap_or_default(),
        calling_sbfl: s.calling_subflow.and_then(|calling| p.step_id(calling)),
        scope: p.step_id(s.scope).unwrap_or_default(),
        current: s.current_element.clone(),
        step_key: s.step_key.clone(),
        status: step_status(s.status).into(),
        became_current: s.became_current.to_rfc3339(),
        reservation: s.reservation.clone(),
        links: step_links(base, sbfl_id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answers::json::{json_bytes, serialized_bytes};

    fn item(business_ref: Option<&str>, process_vars: Vec<VariableItem>) -> ProcessItem {
        ProcessItem {
            dgrm_id: 3,
            prcs_id: -42,
            name: "Review \"Q4\" \\ ünïcode\t\u{1}".into(),
            status: "running".into(),
            business_ref: business_ref.map(Into::into),
            init_ts: "2026-12-06T07:00:00+00:00".into(),
            init_by: "client:ci</script>".into(),
            process_vars,
            links: process_links("https://gw.example/base", -42),
        }
    }

    #[test]
    fn a_process_item_serializes_as_poem_openapi_writes_it() {
        let vars = vec![
            VariableItem {
                scope: 0,
                name: "amount".into(),
                ty: "NUMBER".into(),
                value: ".5".into(),
            },
            VariableItem {
                scope: 17,
                name: "doc".into(),
                ty: "JSON".into(),
                value: r#"{"a":[1,"x\ny"]}"#.into(),
            },
        ];
        let mut bare_link = Link::new("self", "https://gw.example/v1".into());
        bare_link.types = Some(vec![]);
        let mut with_bare_link = item(None, vec![]);
        with_bare_link.links.push(bare_link);
        for item in [
            item(None, vec![]),
            item(Some("PO-7 \"x\""), vars),
            with_bare_link,
        ] {
            assert_eq!(
                String::from_utf8(serialized_bytes(&item)).unwrap(),
                String::from_utf8(json_bytes(&item)).unwrap()
            );
        }
    }
}
