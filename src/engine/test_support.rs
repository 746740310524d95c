//! Helpers for engine tests: a diagram, an instance, a settable clock and counted step keys.

use chrono::{DateTime, TimeZone, Utc};

use super::diagram::Diagram;
use super::instance::{CallBinding, Instance, ProcessStatus, Subflow, SubflowStatus};
use super::runtime::{Context, EngineError, Outcome};
use super::value::VariableValue;

pub const ORDER_FULFILMENT: &str = include_str!("../../bpmn/order-fulfilment.bpmn");
pub const LINEAR_REVIEW: &str = include_str!("../../bpmn/linear-review.bpmn");

/// Wraps process content in `definitions` with the BPMN and apex namespaces.
pub fn process(body: &str) -> String {
    format!(
        r#"<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
              xmlns:apex="https://flowsforapex.org" id="Defs">
             <bpmn:process id="P" name="Test process">{body}</bpmn:process>
           </bpmn:definitions>"#
    )
}

/// A sequence flow, optionally with a condition (XML-escaped by the caller).
pub fn flow(id: &str, source: &str, target: &str, condition: Option<&str>) -> String {
    match condition {
        None => {
            format!(r#"<bpmn:sequenceFlow id="{id}" sourceRef="{source}" targetRef="{target}"/>"#)
        }
        Some(condition) => format!(
            r#"<bpmn:sequenceFlow id="{id}" sourceRef="{source}" targetRef="{target}">
                 <bpmn:conditionExpression>{condition}</bpmn:conditionExpression>
               </bpmn:sequenceFlow>"#
        ),
    }
}

pub fn at(hour: u32, minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 1, 1, hour, minute, 0)
        .single()
        .expect("valid time")
}

pub struct Harness {
    pub diagram: Diagram,
    /// Diagrams the instance's call activities call, by id.
    pub called: Vec<(i64, Diagram)>,
    pub instance: Instance,
    pub now: DateTime<Utc>,
    keys_issued: u64,
}

impl Harness {
    pub fn new(xml: &str) -> Self {
        let diagram = Diagram::parse(xml).unwrap_or_else(|error| panic!("import failed: {error}"));
        Self {
            diagram,
            called: Vec::new(),
            instance: Instance::new(),
            now: at(8, 0),
            keys_issued: 0,
        }
    }

    /// Runs an operation with a context whose step keys are `key-1`, `key-2`, …
    pub fn run<T>(&mut self, operation: impl FnOnce(&mut Instance, &mut Context) -> T) -> T {
        let issued = &mut self.keys_issued;
        let mut next_key = move || {
            *issued += 1;
            format!("key-{issued}")
        };
        let mut ctx = Context::new(&self.diagram, self.now, &mut next_key);
        for (dgrm_id, diagram) in &self.called {
            ctx = ctx.with_called(*dgrm_id, diagram);
        }
        operation(&mut self.instance, &mut ctx)
    }

    /// Binds call activity `activity` (of diagram `caller`, `None` for the instance's own) to
    /// a diagram parsed from `xml`, stored as `dgrm_id`.
    pub fn bind_call(&mut self, caller: Option<i64>, activity: &str, dgrm_id: i64, xml: &str) {
        let diagram = Diagram::parse(xml).unwrap_or_else(|error| panic!("import failed: {error}"));
        self.called.push((dgrm_id, diagram));
        let mut calls = self.instance.calls().to_vec();
        calls.push(CallBinding {
            caller,
            activity: activity.to_owned(),
            dgrm_id,
        });
        self.instance.bind_calls(calls);
    }

    pub fn start(&mut self) -> Outcome {
        self.run(|instance, ctx| instance.start(ctx))
            .unwrap_or_else(|error| panic!("start failed: {error}"))
    }

    pub fn set(&mut self, name: &str, value: VariableValue) {
        self.instance
            .set_variables(vec![(name.to_string(), value)])
            .unwrap_or_else(|error| panic!("set_variables failed: {error}"));
    }

    /// The live, non-split subflow at `element` (panics if there is none).
    pub fn at_element(&self, element: &str) -> Subflow {
        self.instance
            .subflows()
            .iter()
            .find(|subflow| {
                subflow.current_element == element
                    && !matches!(
                        subflow.status,
                        SubflowStatus::Completed | SubflowStatus::Split
                    )
            })
            .cloned()
            .unwrap_or_else(|| panic!("no subflow at {element}: {:#?}", self.instance.subflows()))
    }

    /// Completes the task at `element` with its current step key.
    pub fn complete(&mut self, element: &str) -> Result<Outcome, EngineError> {
        let subflow = self.at_element(element);
        self.run(|instance, ctx| instance.complete_step(ctx, subflow.id, &subflow.step_key))
    }

    pub fn current(&self) -> Vec<String> {
        self.instance.activities().current
    }

    pub fn status(&self) -> ProcessStatus {
        self.instance.status()
    }
}
