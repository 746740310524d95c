//! flowgate: a role-based API gateway and OAuth 2.0 authorization server for process APIs.
//!
//! Data flows one way, and the modules are named for their room:
//!
//! ```text
//! cli ─┐
//! http ─ gate ─ api ─┬─ services ─┬─ engine   (BPMN, pure)
//!              pages ┘            ├─ oauth    (token logic, pure)
//!                                 ├─ authz    (routes, casbin decisions)
//!                                 └─ store    (rows) ─ entity, migration
//! ```
//!
//! [`answers`] turns every error into the answer of its dialect; [`error`], [`caller`],
//! [`roles`], [`scope`] and [`config`] are shared vocabulary that depends on nothing above it.

pub mod answers;
pub mod api;
pub mod authz;
pub mod caller;
pub mod cli;
pub mod config;
pub mod engine;
pub mod error;
pub mod gate;
pub mod http;
pub mod oauth;
pub mod pages;
pub mod postman;
pub mod roles;
pub mod scope;
pub mod services;
pub mod store;
pub mod telemetry;

pub use error::{Error, Result};

#[cfg(test)]
mod layers;

/// Seconds since the Unix epoch: every timestamp flowgate stores or signs.
pub fn now() -> i64 {
    // The system clock read directly: chrono's `Utc::now` also works out the calendar date,
    // which nothing here needs (about 110 instructions a call, and the gate calls it for each
    // request).
    let since_epoch = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    since_epoch.map_or(0, |elapsed| {
        i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX)
    })
}
