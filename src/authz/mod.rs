//! Authorization as data: the route templates the API serves and who may call each (route
//! template, method), decided by casbin over the policy rules. Pure: no HTTP handling, no
//! database; the gate asks, the services recompute it when the rules change.

pub mod decisions;
pub mod routes;

pub use decisions::{Decisions, Grant};

/// Paths under the gate.
pub const GATED_PREFIX: &str = "/v1/";
/// The browser page a person opens to confirm a flow request: under `/v1/`, but no Bearer
/// token there.
pub const UNGATED_PREFIX: &str = "/v1/flow_requests/confirm/";

/// Whether the gate checks a path.
pub fn is_gated(path: &str) -> bool {
    path.starts_with(GATED_PREFIX) && !path.starts_with(UNGATED_PREFIX)
}
pub use routes::{Route, RouteId, RouteTable};

use serde::Serialize;

/// One policy rule: `role` (or `*`, any role) may `method` (or `*`) on `path`, a keyMatch2
/// pattern (`:param` segments, trailing `*`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Rule {
    pub id: i64,
    pub role: String,
    pub path: String,
    pub method: String,
}

const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE", "*"];

/// A rule's fields in their stored form: the role's canonical name (or `*`), the path (a
/// `/`-rooted keyMatch2 pattern), the method in capitals (or `*`).
pub fn normalise(role: &str, path: &str, method: &str) -> crate::Result<(String, String, String)> {
    use crate::Error;
    let role = if role == "*" {
        "*".to_owned()
    } else {
        crate::roles::Role::parse(role)
            .ok_or_else(|| {
                Error::attribute(
                    "role",
                    format!("unknown role {role:?} (Read, Write, Messages, Admin or *)"),
                )
            })?
            .name()
            .to_owned()
    };
    let method = method.to_ascii_uppercase();
    if !METHODS.contains(&method.as_str()) {
        return Err(Error::attribute(
            "method",
            format!("unknown method {method:?} ({})", METHODS.join(", ")),
        ));
    }
    let valid_path = path.starts_with('/')
        && path.len() <= 300
        && path
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/_-.:*".contains(c))
        && !path.contains("//");
    if !valid_path {
        return Err(Error::attribute(
            "path",
            "path must start with / and use letters, digits, _ - . and :param or * segments",
        ));
    }
    Ok((role, path.to_owned(), method))
}
