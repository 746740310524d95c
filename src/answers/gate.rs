//! The gate's answers (docs/contract.md §3): 401 with a `Bearer` challenge, 403, the empty collection a GET
//! without the role gets, and 404/405 for what no handler serves.

use poem::http::{HeaderValue, Method, StatusCode, header};
use poem::{Request, Response};
use serde_json::json;

use super::{failure, json};
use crate::services::paging::clamp_limit;

/// Why a Bearer token was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// No or malformed `Authorization` header.
    Missing,
    /// A token that does not verify, has expired or was revoked; says why.
    Invalid(&'static str),
}

/// 401 with `WWW-Authenticate: Bearer` (RFC 6750 §3), `error="invalid_token"` for a bad token.
pub fn unauthorized(refusal: Refusal) -> Response {
    let (challenge, message) = match refusal {
        Refusal::Missing => (
            r#"Bearer realm="flowgate""#.to_owned(),
            "Authentication required",
        ),
        Refusal::Invalid(reason) => (
            format!(
                r#"Bearer realm="flowgate", error="invalid_token", error_description="{reason}""#
            ),
            reason,
        ),
    };
    let mut response = failure(StatusCode::UNAUTHORIZED, message);
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

pub const FORBIDDEN_MESSAGE: &str = "Necessary privilege not granted";

/// 403 for a method other than GET without the role.
pub fn forbidden() -> Response {
    failure(StatusCode::FORBIDDEN, FORBIDDEN_MESSAGE)
}

/// 404 for a path no handler serves.
pub fn no_route() -> Response {
    failure(StatusCode::NOT_FOUND, "Resource not found")
}

/// 405 for a method no handler of the path serves, with the methods that are (`Allow`).
pub fn method_not_allowed(allowed: &[Method]) -> Response {
    let mut response = failure(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed");
    let mut names: Vec<&str> = allowed.iter().map(Method::as_str).collect();
    if allowed.contains(&Method::GET) {
        names.push("HEAD");
    }
    if let Ok(value) = HeaderValue::from_str(&names.join(", ")) {
        response.headers_mut().insert(header::ALLOW, value);
    }
    response
}

/// A router's 405, which does not say what the path takes.
pub fn refuses_the_method(err: &poem::Error) -> bool {
    err.status() == StatusCode::METHOD_NOT_ALLOWED
}

/// A 405 answer without `Allow`.
pub fn says_not_what_is_allowed(answer: &Response) -> bool {
    answer.status() == StatusCode::METHOD_NOT_ALLOWED
        && !answer.headers().contains_key(header::ALLOW)
}

/// The collection envelope with no rows, paged as asked: a GET without the role.
pub fn empty_collection(public_url: &str, req: &Request) -> Response {
    let limit = clamp_limit(limit_from_query(req.uri().query()));
    let href = format!(
        "{public_url}{}",
        req.uri()
            .path_and_query()
            .map(|pq| pq.as_str())
            .unwrap_or("/")
    );
    let body = json!({
        "items": [],
        "hasMore": false,
        "limit": limit,
        "offset": 0,
        "count": 0,
        "links": [{"rel": "self", "href": href}],
    });
    json(StatusCode::OK, &body)
}

/// The `limit` of a raw query string.
fn limit_from_query(query: Option<&str>) -> Option<u64> {
    query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .find_map(|pair| pair.strip_prefix("limit="))
        .and_then(|v| v.parse::<u64>().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_of_the_empty_answer() {
        let limit = |query| clamp_limit(limit_from_query(query));
        assert_eq!(limit(None), 100);
        assert_eq!(limit(Some("offset=3&limit=7")), 7);
        assert_eq!(limit(Some("limit=100000")), 1000);
        assert_eq!(limit(Some("limit=0")), 1);
        assert_eq!(limit(Some("limit=x")), 100);
    }
}
