//! The state of one process instance. Serializable as a whole; only the operations in
//! `runtime` change it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::timer::IsoDuration;
use super::value::VariableValue;
use super::variables::{self, VariableMap};

/// Subflow ids are allocated by their instance, starting at 1.
pub type SubflowId = u64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProcessStatus {
    Created,
    Running,
    Completed,
    Terminated,
    Error,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SubflowStatus {
    /// At a task, waiting to be completed through the API.
    Running,
    WaitingMessage,
    WaitingTimer,
    /// Arrived at a parallel join that still waits for other branches.
    WaitingJoin,
    /// Forked at a parallel, inclusive or event-based gateway; its children carry on until they
    /// join again (or, after an event-based gateway, until one of their events happens).
    Split,
    /// At a subprocess whose inner subflows run.
    InSubprocess,
    /// At a call activity whose called diagram runs.
    InCallActivity,
    /// At a multi-instance or loop activity whose iterations run in child subflows.
    Iterating,
    Error,
    Completed,
}

impl ProcessStatus {
    /// The status as the process API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Running => "running",
            Self::Completed => "completed",
            Self::Terminated => "terminated",
            Self::Error => "error",
        }
    }

    /// Completed and terminated instances never move again (until reset).
    pub fn has_ended(self) -> bool {
        matches!(self, Self::Completed | Self::Terminated)
    }
}

impl SubflowStatus {
    /// The status as the process API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::WaitingMessage => "waiting-message",
            Self::WaitingTimer => "waiting-timer",
            Self::WaitingJoin => "waiting-join",
            Self::Split => "split",
            Self::InSubprocess => "in-subprocess",
            Self::InCallActivity => "in-call-activity",
            Self::Iterating => "iterating",
            Self::Error => "error",
            Self::Completed => "completed",
        }
    }

    /// The status as Flows for APEX spells it (`flow_constants_pkg.gc_sbfl_status_*`).
    pub fn flows_name(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::WaitingMessage => "waiting for message",
            Self::WaitingTimer => "waiting for timer",
            Self::WaitingJoin => "waiting at gateway",
            Self::Split => "split",
            Self::InSubprocess => "in subprocess",
            Self::InCallActivity => "in call activity",
            Self::Iterating => "iterating",
            Self::Error => "error",
            Self::Completed => "completed",
        }
    }
}

/// One token of the instance (a "step" in the process API).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subflow {
    pub id: SubflowId,
    /// The subflow that forked this one at a parallel gateway (`sbfl_sbfl_id`).
    pub parent_id: Option<SubflowId>,
    pub current_element: String,
    pub status: SubflowStatus,
    /// Changes at every move; API calls must present the current one.
    pub step_key: String,
    pub became_current: DateTime<Utc>,
    pub reservation: Option<String>,
    /// Set by `start_step` on a waiting task.
    pub work_started: Option<DateTime<Utc>>,
    /// The sequence flow that brought the token here; joins count arrivals per flow.
    pub arrived_via: Option<String>,
    /// The subflow that started the process level this one runs in (a subprocess or a call
    /// activity), 0 at the top level (`process_level`).
    #[serde(default)]
    pub process_level: SubflowId,
    /// The subflow that started the called diagram this one runs in, 0 in the instance's own
    /// diagram (`diagram_level`).
    #[serde(default)]
    pub diagram_level: SubflowId,
    /// The variable scope: 0, or the first subflow of a called diagram (`scope`).
    #[serde(default)]
    pub scope: SubflowId,
    /// The subflow waiting at the subprocess or call activity this level runs for
    /// (`calling_sbfl`).
    #[serde(default)]
    pub calling_subflow: Option<SubflowId>,
    /// The element that created this subflow: the gateway that forked it, the boundary event
    /// it waits at, the activity it iterates (`starting_object`).
    #[serde(default)]
    pub origin: Option<String>,
    /// The called diagram this subflow runs in; `None` for the instance's own diagram.
    #[serde(default)]
    pub dgrm_id: Option<i64>,
    /// For an iteration of a multi-instance or loop activity: which one (1, 2, …).
    #[serde(default)]
    pub loop_counter: Option<u32>,
}

impl Subflow {
    /// Still part of the run (not completed).
    pub fn is_live(&self) -> bool {
        self.status != SubflowStatus::Completed
    }
}

/// An open message subscription of a waiting message catch event or receive task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageSubscription {
    pub subflow_id: SubflowId,
    /// The boundary event that catches the message, when it is not the element the subflow
    /// is at.
    #[serde(default)]
    pub event: Option<String>,
    pub message_name: String,
    /// `None` when the catch event has no correlation: any message of that name matches.
    pub correlation_key: Option<String>,
    /// Resolved when the subscription opened.
    pub correlation_value: Option<String>,
    pub payload_variable: Option<String>,
}

impl MessageSubscription {
    /// Whether a message with this name, key and value is meant for this subscription.
    pub fn matches(&self, name: &str, key: Option<&str>, value: Option<&str>) -> bool {
        self.message_name == name
            && (self.correlation_key.is_none()
                || (self.correlation_key.as_deref() == key
                    && self.correlation_value.as_deref() == value))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timer {
    pub subflow_id: SubflowId,
    pub due: DateTime<Utc>,
    /// The boundary event whose timer this is, when it is not the element the subflow is at.
    #[serde(default)]
    pub event: Option<String>,
    /// For a cycle: how often it fires again and how many more times.
    #[serde(default)]
    pub repeat: Option<Repeat>,
}

/// The rest of a cycle timer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Repeat {
    pub every: IsoDuration,
    pub times_left: u32,
}

/// Which diagram a call activity calls, bound when the instance starts (as Flows builds its
/// call structure when an instance is created).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallBinding {
    /// The diagram the call activity is in; `None` for the instance's own diagram.
    pub caller: Option<i64>,
    pub activity: String,
    pub dgrm_id: i64,
}

/// BPMN element ids by state, for the `activities` read model.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Activities {
    pub current: Vec<String>,
    pub completed: Vec<String>,
    pub error: Vec<String>,
}

/// The whole state of a process instance. Variables live at process level (scope 0).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Instance {
    pub(super) status: ProcessStatus,
    pub(super) subflows: Vec<Subflow>,
    /// Scope 0.
    pub(super) variables: VariableMap,
    /// Scopes of called diagrams, by the subflow that opened them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(super) scoped_variables: BTreeMap<SubflowId, VariableMap>,
    pub(super) subscriptions: Vec<MessageSubscription>,
    pub(super) timers: Vec<Timer>,
    /// Element ids in the order they were first completed.
    pub(super) completed_elements: Vec<String>,
    /// Element ids where a subflow is in error.
    pub(super) error_elements: Vec<String>,
    pub(super) next_subflow_id: SubflowId,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) calls: Vec<CallBinding>,
    /// Loop and multi-instance activities under way, by the subflow waiting at them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(super) iterations: BTreeMap<SubflowId, IterationRun>,
    /// Each iteration's own variables (its item), by the subflow running it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(super) iteration_variables: BTreeMap<SubflowId, VariableMap>,
}

/// A loop or multi-instance activity under way.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IterationRun {
    /// The variables of each item not started yet, in order (none for a loop).
    pub pending: Vec<VariableMap>,
    /// Items in all (`None` for a loop).
    pub total: Option<u32>,
    pub started: u32,
    pub completed: u32,
    /// What each finished iteration gave to the output collection, by loop counter.
    pub outputs: BTreeMap<u32, serde_json::Value>,
}

impl Default for Instance {
    fn default() -> Self {
        Self::new()
    }
}

impl Instance {
    /// A new instance in status `created`, with no variables.
    pub fn new() -> Self {
        Self {
            status: ProcessStatus::Created,
            subflows: Vec::new(),
            variables: BTreeMap::new(),
            scoped_variables: BTreeMap::new(),
            subscriptions: Vec::new(),
            timers: Vec::new(),
            completed_elements: Vec::new(),
            error_elements: Vec::new(),
            next_subflow_id: 1,
            calls: Vec::new(),
            iterations: BTreeMap::new(),
            iteration_variables: BTreeMap::new(),
        }
    }

    pub fn status(&self) -> ProcessStatus {
        self.status
    }

    /// All subflows, completed ones included, in id order.
    pub fn subflows(&self) -> &[Subflow] {
        &self.subflows
    }

    /// Subflows that are still part of the run (what the steps endpoint usually lists).
    pub fn live_subflows(&self) -> impl Iterator<Item = &Subflow> {
        self.subflows.iter().filter(|subflow| subflow.is_live())
    }

    pub fn subflow(&self, id: SubflowId) -> Option<&Subflow> {
        self.subflows.iter().find(|subflow| subflow.id == id)
    }

    /// The variables of scope 0 (process level).
    pub fn variables(&self) -> &BTreeMap<String, VariableValue> {
        &self.variables
    }

    /// A variable of scope 0, by name in any case.
    pub fn variable(&self, name: &str) -> Option<&VariableValue> {
        variables::lookup(&self.variables, name)
    }

    /// The variables of a scope: 0, or a subflow that started a called diagram.
    pub fn scope_variables(&self, scope: SubflowId) -> Option<&BTreeMap<String, VariableValue>> {
        if scope == 0 {
            Some(&self.variables)
        } else {
            self.scoped_variables.get(&scope)
        }
    }

    /// The variables of a scope as the engine reads them: empty for a scope nothing set yet.
    pub(super) fn scope_map(&self, scope: SubflowId) -> &VariableMap {
        static NONE: VariableMap = BTreeMap::new();
        self.scope_variables(scope).unwrap_or(&NONE)
    }

    pub(super) fn scope_map_mut(&mut self, scope: SubflowId) -> &mut VariableMap {
        if scope == 0 {
            &mut self.variables
        } else {
            self.scoped_variables.entry(scope).or_default()
        }
    }

    /// Every scope that exists: 0 and the scopes of called diagrams that are running or ran.
    pub fn scopes(&self) -> Vec<SubflowId> {
        let mut scopes = vec![0];
        scopes.extend(
            self.subflows
                .iter()
                .filter(|s| s.scope != 0 && s.scope == s.id)
                .map(|s| s.id),
        );
        scopes.extend(self.scoped_variables.keys().copied());
        scopes.sort_unstable();
        scopes.dedup();
        scopes
    }

    /// The variables of the iteration a subflow runs, if it runs one.
    pub fn iteration_variables(&self, id: SubflowId) -> Option<&VariableMap> {
        self.iteration_variables.get(&id)
    }

    /// Which diagram each call activity calls (bound when the instance is created).
    pub fn calls(&self) -> &[CallBinding] {
        &self.calls
    }

    /// Binds the call activities of the instance's diagram, and of the diagrams they call, to
    /// the diagrams they call, as Flows builds its call structure when it creates an instance.
    pub fn bind_calls(&mut self, calls: Vec<CallBinding>) {
        self.calls = calls;
    }

    /// The diagram a call activity calls, from a subflow running in `caller`.
    pub fn called_diagram(&self, caller: Option<i64>, activity: &str) -> Option<i64> {
        self.calls
            .iter()
            .find(|call| call.caller == caller && call.activity == activity)
            .map(|call| call.dgrm_id)
    }

    pub fn subscriptions(&self) -> &[MessageSubscription] {
        &self.subscriptions
    }

    pub fn timers(&self) -> &[Timer] {
        &self.timers
    }

    /// When the scheduler should next call `fire_due_timers`.
    pub fn next_timer_due(&self) -> Option<DateTime<Utc>> {
        self.timers.iter().map(|timer| timer.due).min()
    }

    /// Whether `correlate_message` with these arguments would move anything.
    pub fn awaits_message(&self, name: &str, key: Option<&str>, value: Option<&str>) -> bool {
        self.status == ProcessStatus::Running
            && self
                .subscriptions
                .iter()
                .any(|s| s.matches(name, key, value))
    }

    /// Current elements (tokens at tasks and waiting events), completed and error elements,
    /// each without repeats.
    pub fn activities(&self) -> Activities {
        let mut current = Vec::new();
        for subflow in &self.subflows {
            let waiting = !matches!(
                subflow.status,
                SubflowStatus::Split
                    | SubflowStatus::Iterating
                    | SubflowStatus::Error
                    | SubflowStatus::Completed
            );
            if waiting && !current.contains(&subflow.current_element) {
                current.push(subflow.current_element.clone());
            }
        }
        Activities {
            current,
            completed: self.completed_elements.clone(),
            error: self.error_elements.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscriptions_without_correlation_match_by_name() {
        let subscription = MessageSubscription {
            subflow_id: 1,
            event: None,
            message_name: "go".into(),
            correlation_key: None,
            correlation_value: None,
            payload_variable: None,
        };
        assert!(subscription.matches("go", Some("k"), Some("v")));
        assert!(subscription.matches("go", None, None));
        assert!(!subscription.matches("stop", None, None));
    }

    #[test]
    fn correlated_subscriptions_need_key_and_value() {
        let subscription = MessageSubscription {
            subflow_id: 1,
            event: None,
            message_name: "paid".into(),
            correlation_key: Some("order_id".into()),
            correlation_value: Some("A-1".into()),
            payload_variable: None,
        };
        assert!(subscription.matches("paid", Some("order_id"), Some("A-1")));
        assert!(!subscription.matches("paid", Some("order_id"), Some("A-2")));
        assert!(!subscription.matches("paid", None, None));
    }

    #[test]
    fn a_new_instance_round_trips_through_json() {
        let instance = Instance::new();
        let text = serde_json::to_string(&instance).expect("serialize");
        let back: Instance = serde_json::from_str(&text).expect("deserialize");
        assert_eq!(back, instance);
        assert_eq!(back.status().as_str(), "created");
    }
}
