//! The executable model of one BPMN process, as [`Diagram::parse`] builds it.

use std::collections::HashMap;

use super::condition::FlowCondition;
use super::expressions::VariableExpression;
use super::import::{self, ImportError};
use super::iteration::Iteration;
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
    /// Each element inside an embedded subprocess, with the id of that subprocess.
    scopes: HashMap<String, String>,
    warnings: Vec<ImportWarning>,
    /// `apex:isCallable`: whether call activities may call it.
    callable: bool,
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
    /// The `apex:` process-variable expressions it runs, by phase, in sequence.
    pub expressions: Vec<VariableExpression>,
    /// Loop or multi-instance settings of an activity.
    pub iteration: Option<Iteration>,
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
    /// A process's start event with a timerEventDefinition: once the instance is started, its
    /// first step waits there until the timer fires.
    TimerStart(TimerDefinition),
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
    /// An embedded subprocess: the token waits here while a child token runs the inner
    /// process from `start_event`; once every inner token has ended, it moves on.
    SubProcess {
        start_event: String,
    },
    /// A call activity: the token waits here while the called diagram runs, in a variable
    /// scope of its own, from its none start event; once everything in it has ended, the
    /// out-variables are copied back and the token moves on.
    CallActivity(CallDefinition),
    /// A boundary event on a task or subprocess, taken when its trigger happens while a token
    /// is at the activity: an interrupting one takes the token away from the activity (and
    /// stops the subprocess's inside), a non-interrupting one starts a token of its own.
    BoundaryEvent {
        attached_to: String,
        interrupting: bool,
        trigger: BoundaryTrigger,
    },
    /// An end event throwing an error (its `errorRef`): caught by an error boundary event of
    /// the enclosing subprocess, else the path ends there.
    ErrorEnd {
        error: Option<String>,
    },
    /// An end event throwing an escalation (its `escalationRef`), caught like an error.
    EscalationEnd {
        escalation: Option<String>,
    },
    /// An intermediate throw event raising an escalation; the token passes it.
    EscalationThrow {
        escalation: Option<String>,
    },
}

/// Which diagram a call activity calls (`apex:calledDiagram…`), and the variables it hands
/// over: `in_variables` are evaluated in the caller's scope and set in the called one,
/// `out_variables` the other way round.
#[derive(Debug, Clone, PartialEq)]
pub struct CallDefinition {
    /// `None` when the modeler left it empty: the diagram imports (as in Flows), but no
    /// instance of it can be created.
    pub diagram_name: Option<String>,
    pub version: CalledVersion,
    pub in_variables: Vec<VariableExpression>,
    pub out_variables: Vec<VariableExpression>,
}

/// `apex:calledDiagramVersionSelection`, as Flows resolves it when an instance is created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CalledVersion {
    /// The released version of that name (else its draft version `0`).
    Latest,
    Named(String),
}

/// What a boundary event waits for.
#[derive(Debug, Clone, PartialEq)]
pub enum BoundaryTrigger {
    Timer(TimerDefinition),
    Message(MessageDefinition),
    /// An error thrown inside the subprocess (`errorRef`, or any error when `None`).
    Error(Option<String>),
    /// An escalation raised inside the subprocess.
    Escalation(Option<String>),
}

impl BoundaryTrigger {
    /// Whether an error or escalation thrown with `thrown` reaches a boundary waiting for
    /// `caught`: the same reference, or either side unnamed.
    pub fn catches(caught: Option<&str>, thrown: Option<&str>) -> bool {
        match (caught, thrown) {
            (Some(caught), Some(thrown)) => caught == thrown,
            _ => true,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThrowKind {
    None,
    Message,
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
        scopes: HashMap<String, String>,
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
            scopes,
            warnings,
            callable: false,
        }
    }

    pub(super) fn set_callable(&mut self, callable: bool) {
        self.callable = callable;
    }

    /// Whether a call activity of another diagram may call this one (`apex:isCallable`).
    pub fn is_callable(&self) -> bool {
        self.callable
    }

    /// The call activities, in document order.
    pub fn calls(&self) -> impl Iterator<Item = (&Element, &CallDefinition)> {
        self.elements
            .iter()
            .filter_map(|element| match &element.kind {
                ElementKind::CallActivity(call) => Some((element, call)),
                _ => None,
            })
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

    /// The boundary events attached to an activity, in document order.
    pub fn boundary_events<'d>(&'d self, activity: &'d str) -> impl Iterator<Item = &'d Element> {
        self.elements.iter().filter(move |element| {
            matches!(&element.kind, ElementKind::BoundaryEvent { attached_to, .. }
                if attached_to == activity)
        })
    }

    /// The embedded subprocess an element is directly inside, if any.
    pub fn scope_of(&self, id: &str) -> Option<&str> {
        self.scopes.get(id).map(String::as_str)
    }
}
