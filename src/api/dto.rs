//! The items the process API answers with, as Flows for APEX shapes them, and their links.

use poem_openapi::Object;
use serde_json::Value;

use super::apex::link;
use super::paging::Link;
use crate::engine::{Instance, Subflow, VariableValue};
use crate::services::diagrams::DiagramInfo;
use crate::services::processes::ProcessView;

#[derive(Object, Clone)]
#[oai(skip_serializing_if_is_none)]
pub struct DiagramItem {
    pub dgrm_id: i64,
    pub name: String,
    pub version: i32,
    /// draft, released, deprecated, archived
    pub status: String,
    pub category: Option<String>,
    pub links: Vec<Link>,
}

#[derive(Object, Clone)]
pub struct VariableItem {
    /// 0: process level.
    pub scope: i64,
    pub name: String,
    /// VARCHAR2, NUMBER, DATE, CLOB or JSON
    #[oai(rename = "type")]
    pub ty: String,
    pub value: Value,
}

#[derive(Object, Clone)]
#[oai(skip_serializing_if_is_none)]
pub struct ProcessItem {
    pub dgrm_id: i64,
    pub prcs_id: i64,
    pub name: String,
    /// created, running, completed, terminated, error
    pub status: String,
    pub business_ref: Option<String>,
    /// RFC 3339
    pub init_ts: String,
    pub init_by: String,
    pub process_vars: Vec<VariableItem>,
    pub links: Vec<Link>,
}

#[derive(Object, Clone)]
#[oai(skip_serializing_if_is_none)]
pub struct StepItem {
    pub prcs_id: i64,
    pub sbfl_id: i64,
    /// The step that forked this one at a parallel gateway.
    pub sbfl_sbfl_id: Option<i64>,
    pub process_level: i64,
    pub diagram_level: i64,
    pub calling_sbfl: Option<i64>,
    pub scope: i64,
    /// The BPMN element the step is on.
    pub current: String,
    /// Send it back with every action on this step; it changes at every move.
    pub step_key: String,
    pub status: String,
    /// RFC 3339
    pub became_current: String,
    pub reservation: Option<String>,
    pub links: Vec<Link>,
}

#[derive(Object, Clone)]
pub struct ActivitiesItem {
    pub current: Vec<String>,
    pub completed: Vec<String>,
    pub error: Vec<String>,
}

#[derive(Object, Clone)]
#[oai(skip_serializing_if_is_none)]
pub struct SubscriptionItem {
    /// Message name.
    pub name: String,
    /// Correlation key.
    pub key: Option<String>,
    /// Expected correlation value.
    pub value: Option<String>,
}

pub fn diagram_item(base: &str, d: DiagramInfo) -> DiagramItem {
    let href = format!("{base}/v1/diagrams/{}", d.dgrm_id);
    DiagramItem {
        links: vec![
            link("self", href.clone(), "GET"),
            Link {
                types: Some(vec!["application/xml".into()]),
                ..link("export", format!("{href}/export"), "GET")
            },
            link("processes", format!("{href}/processes"), "GET"),
            link("create-process", format!("{href}/processes"), "POST"),
        ],
        dgrm_id: d.dgrm_id,
        name: d.name,
        version: d.version,
        status: d.status,
        category: d.category,
    }
}

pub fn variables(instance: &Instance) -> Vec<VariableItem> {
    instance
        .variables()
        .iter()
        .map(|(name, value): (&String, &VariableValue)| VariableItem {
            scope: 0,
            name: name.clone(),
            ty: value.type_name().into(),
            value: value.to_json(),
        })
        .collect()
}

/// The links of an instance: itself and its actions.
pub fn process_links(base: &str, prcs_id: i64) -> Vec<Link> {
    let href = format!("{base}/v1/processes/{prcs_id}");
    let mut links = vec![
        link("self", href.clone(), "GET"),
        link("steps", format!("{href}/steps"), "GET"),
    ];
    for action in ["start", "reset", "terminate"] {
        links.push(link(action, format!("{href}/{action}"), "PUT"));
    }
    links.push(link("delete", href, "DELETE"));
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
        process_vars: variables(&p.instance),
        links: process_links(base, p.prcs_id),
    }
}

/// The links of a step: itself and its actions.
pub fn step_links(base: &str, sbfl_id: i64) -> Vec<Link> {
    let href = format!("{base}/v1/steps/{sbfl_id}");
    let mut links = vec![link("self", href.clone(), "GET")];
    for action in [
        "start",
        "reserve",
        "release",
        "complete",
        "restart",
        "reschedule_timer",
    ] {
        links.push(link(action, format!("{href}/{action}"), "PUT"));
    }
    links
}

pub fn step_item(base: &str, p: &ProcessView, s: &Subflow) -> StepItem {
    let sbfl_id = p.step_id(s.id).unwrap_or_default();
    StepItem {
        prcs_id: p.prcs_id,
        sbfl_id,
        sbfl_sbfl_id: s.parent_id.and_then(|parent| p.step_id(parent)),
        process_level: 0,
        diagram_level: 0,
        calling_sbfl: None,
        scope: 0,
        current: s.current_element.clone(),
        step_key: s.step_key.clone(),
        status: s.status.as_str().into(),
        became_current: s.became_current.to_rfc3339(),
        reservation: s.reservation.clone(),
        links: step_links(base, sbfl_id),
    }
}
