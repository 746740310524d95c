//! The executable model of one BPMN process, as [`Diagram::parse`] builds it.

use std::collections::HashMap;

use super::condition::FlowCondition;
use super::import::{self, ImportError};
use super::timer::TimerDefinition;

/// A validated, runnable process definition. Built only by [`Diagram::parse`], so every
/// flow names existing elements and every element has the flows its kind needs.
#[derive(Debug, Clone)]
pub struct Diagram {
    process_id: String,
    process_name: Option<String>,
    start_event: String,
    elements: Vec<Element>,
    element_index: HashMap<String, usize>,
    flows: Vec<SequenceFlow>,
    flow_index: HashMap<String, usize>,
    warnings: Vec<ImportWarning>,
}

/// Something the import accepted but the engine does not run itself (a script, an e-mail,
/// an APEX page): the step waits until an external system completes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportWarning {
    pub element_id: String,
    pub message: String,
}

/// A flow node of the process. `incoming`/`outgoing` list sequence-flow ids in document order.
#[derive(Debug, Clone, PartialEq)]
pub struct Element {
    pub id: String,
    pub name: Option<String>,
    pub kind: ElementKind,
    pub incoming: Vec<String>,
    pub outgoing: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ElementKind {
    StartEvent,
    /// `terminate` for an end event with a terminateEventDefinition.
    EndEvent {
        terminate: bool,
    },
    /// Any task that waits as a step until it is completed through the API.
    Task(TaskKind),
    /// Takes the first flow whose condition holds (or the one its routing variable names).
    ExclusiveGateway {
        default_flow: Option<String>,
    },
    /// Takes every flow whose condition holds; as a merge, waits for the branches its split
    /// actually started.
    InclusiveGateway {
        default_flow: Option<String>,
    },
    ParallelGateway,
    /// Waits at every catch event after it; the first that happens wins, the others close.
    EventBasedGateway,
    /// An intermediateCatchEvent with a messageEventDefinition.
    MessageCatchEvent(MessageDefinition),
    ReceiveTask(MessageDefinition),
    /// An intermediateCatchEvent with a timerEventDefinition.
    TimerCatchEvent(TimerDefinition),
    /// An intermediateThrowEvent the token passes: none, or a throw whose effect (message,
    /// escalation, signal) has nobody to catch it at the top level of the instance.
    ThrowEvent(ThrowKind),
    /// An intermediateThrowEvent with a linkEventDefinition: the token continues at the link
    /// catch event of the same name.
    LinkThrow {
        target: String,
    },
    /// An intermediateCatchEvent with a linkEventDefinition: where a link throw continues.
    LinkCatch {
        name: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThrowKind {
    None,
    Message,
    Escalation,
    Signal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskKind {
    Task,
    UserTask,
    ManualTask,
    ScriptTask,
    ServiceTask,
    SendTask,
    BusinessRuleTask,
}

/// What a message catch subscribes to (Flows for APEX `apex:` extensions).
#[derive(Debug, Clone, PartialEq)]
pub struct MessageDefinition {
    pub message_name: ValueSource,
    /// Without a correlation, any message of that name matches.
    pub correlation: Option<Correlation>,
    /// The process variable that receives the message payload.
    pub payload_variable: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Correlation {
    pub key: ValueSource,
    pub value: ValueSource,
}

/// An `apex:expressionType` + `apex:expression` pair, resolved when the subscription opens.
#[derive(Debug, Clone, PartialEq)]
pub enum ValueSource {
    Static(String),
    ProcessVariable(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct SequenceFlow {
    pub id: String,
    pub source: String,
    pub target: String,
    pub condition: Option<FlowCondition>,
    /// `apex:sequence`: the order in which a gateway evaluates its conditions (document
    /// order among equals, unnumbered flows last), as Flows for APEX orders them.
    pub sequence: Option<i64>,
}

impl Diagram {
    /// Imports BPMN 2.0 XML, refusing anything the engine cannot run.
    pub fn parse(xml: &str) -> Result<Self, ImportError> {
        import::parse_diagram(xml)
    }

    /// Assembles a diagram; `import` validates the graph right after.
    pub(super) fn assemble(
        process_id: String,
        process_name: Option<String>,
        start_event: String,
        elements: Vec<Element>,
        flows: Vec<SequenceFlow>,
        warnings: Vec<ImportWarning>,
    ) -> Self {
        let element_index = elements
            .iter()
            .enumerate()
            .map(|(index, element)| (element.id.clone(), index))
            .collect();
        let flow_index = flows
            .iter()
            .enumerate()
            .map(|(index, flow)| (flow.id.clone(), index))
            .collect();
        Self {
            process_id,
            process_name,
            start_event,
            elements,
            element_index,
            flows,
            flow_index,
            warnings,
        }
    }

    pub(super) fn add_warnings(&mut self, warnings: Vec<ImportWarning>) {
        self.warnings.extend(warnings);
    }

    /// What the import accepted without running it, in document order.
    pub fn warnings(&self) -> &[ImportWarning] {
        &self.warnings
    }

    pub fn process_id(&self) -> &str {
        &self.process_id
    }

    pub fn process_name(&self) -> Option<&str> {
        self.process_name.as_deref()
    }

    pub fn start_event(&self) -> &Element {
        // `parse` only builds diagrams whose start event exists.
        &self.elements[self.element_index[&self.start_event]]
    }

    /// Elements in document order.
    pub fn elements(&self) -> &[Element] {
        &self.elements
    }

    /// Sequence flows in document order.
    pub fn flows(&self) -> &[SequenceFlow] {
        &self.flows
    }

    pub fn element(&self, id: &str) -> Option<&Element> {
        self.element_index
            .get(id)
            .map(|&index| &self.elements[index])
    }

    pub fn flow(&self, id: &str) -> Option<&SequenceFlow> {
        self.flow_index.get(id).map(|&index| &self.flows[index])
    }
}
