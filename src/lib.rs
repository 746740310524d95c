//! flowgate: a role-based API gateway and OAuth 2.0 authorization server for process APIs.
//!
//! Layers, from the outside in: [`cli`] and [`server`] wire things up; [`api`] holds the thin
//! poem-openapi services; [`gate`] checks Bearer tokens and decides with casbin; [`oauth`] issues
//! and verifies tokens; [`store`] owns every database query and transaction; [`roles`] and
//! [`error`] are shared vocabulary. [`engine`] is the pure BPMN engine (no HTTP, no database)
//! that the process API (next stage) runs on.

pub mod api;
pub mod cli;
pub mod config;
pub mod engine;
pub mod error;
pub mod gate;
pub mod oauth;
pub mod postman;
pub mod roles;
pub mod server;
pub mod state;
pub mod store;
pub mod telemetry;

pub use error::{Error, Result};

/// Seconds since the Unix epoch: every timestamp flowgate stores or signs.
pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}
