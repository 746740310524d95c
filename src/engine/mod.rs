//! The flowgate BPMN engine: a pure state machine over BPMN diagrams and process instances.
//!
//! Nothing here does I/O, reads the clock or draws random numbers: the caller passes the
//! time and a step-key generator in a [`Context`], so every operation is deterministic.
//!
//! * [`Diagram::parse`] imports BPMN 2.0 XML (with the Flows for APEX `apex:` extensions)
//!   and refuses what the engine cannot run with an [`ImportError`] naming the element.
//! * [`Instance`] is the whole state of one process instance: status, subflows (tokens),
//!   process variables, message subscriptions, timers and the activity record.
//! * The operations (`start`, `complete_step`, `correlate_message`, `fire_due_timers`, …)
//!   are methods on [`Instance`] returning `Result<Outcome, EngineError>`.
//!
//! # Persisting an instance
//!
//! Operations are all-or-nothing: each works on a copy and replaces the instance only on
//! success, so after an `Err` the loaded state is unchanged and nothing needs writing.
//! After an `Ok`, the store writes the **whole instance** back (it is `serde`-serializable;
//! one JSON column per process row is enough) in the same database transaction that read it,
//! guarded by a row lock or version column so two requests cannot interleave.
//! [`Outcome`] is a summary, not a diff to replay: the status change, the subflows touched,
//! the subscriptions a message closed and the timers that fired. Use it for answers, logs
//! and for refreshing any query-side copies the store keeps (for example a subscriptions
//! table to find the instances a message is for, or the next timer due for the scheduler,
//! see [`Instance::next_timer_due`]).
//!
//! An instance must always run with the diagram version it was created from, and with the
//! diagrams its call activities were bound to when it was created ([`Instance::calls`]).

mod condition;
mod diagram;
mod expressions;
mod import;
mod instance;
mod iteration;
mod oracle;
mod plsql;
mod runtime;
#[cfg(test)]
mod test_support;
mod timer;
mod value;
mod variables;

pub use condition::{CompareOp, Condition, ConditionError, FlowCondition, Operand};
pub use diagram::{
    CallDefinition, CalledVersion, Correlation, Diagram, Element, ElementKind, ImportWarning,
    MessageDefinition, SequenceFlow, TaskKind, ThrowKind, ValueSource,
};
pub use import::{APEX_NS, BPMN_NS, ImportError};
pub use instance::{
    Activities, CallBinding, Instance, MessageSubscription, ProcessStatus, Subflow, SubflowId,
    SubflowStatus, Timer,
};
pub use iteration::{Collection, Iteration, IterationMode, OutputCollection};
pub use runtime::{Context, EngineError, Outcome};
pub use timer::{IsoDuration, TimerDefinition};
pub use value::{ValueError, VariableValue};
pub use variables::BUSINESS_REF;
