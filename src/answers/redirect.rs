//! Errors sent back to a client's redirect URI (RFC 6749 §4.1.2.1): `error`,
//! `error_description` and `state`, the state exactly as the client sent it. Only for a
//! redirect URI already checked against the client's registration; anything else gets an
//! HTML error page instead, never a redirect.

use poem::Response;
use poem::http::{StatusCode, header};

use crate::Error;

/// The OAuth error code of a domain error at the authorization endpoint.
pub fn code_of(err: &Error) -> &'static str {
    match err {
        Error::Forbidden(_) => "access_denied",
        Error::Unavailable(_) | Error::RateLimited { .. } => "temporarily_unavailable",
        Error::Internal(_) => "server_error",
        _ => "invalid_request",
    }
}

/// `302 Found` to `redirect_uri` with the error and the state added to its query.
pub fn error(
    redirect_uri: &url::Url,
    code: &str,
    description: &str,
    state: Option<&str>,
) -> Response {
    let mut target = redirect_uri.clone();
    {
        let mut query = target.query_pairs_mut();
        query.append_pair("error", code);
        query.append_pair("error_description", description);
        if let Some(state) = state {
            query.append_pair("state", state);
        }
    }
    to(&target)
}

/// A domain error sent back to the client.
pub fn domain_error(redirect_uri: &url::Url, err: &Error, state: Option<&str>) -> Response {
    error(
        redirect_uri,
        code_of(err),
        &super::public_message(err),
        state,
    )
}

/// `302 Found` to a URL (the answer of a successful authorization too).
pub fn to(target: &url::Url) -> Response {
    Response::builder()
        .status(StatusCode::FOUND)
        .header(header::LOCATION, target.as_str())
        .header(header::CACHE_CONTROL, "no-store")
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_comes_back_unchanged() {
        let uri = url::Url::parse("https://app.example/cb?keep=1").unwrap();
        let state = "a b&c=d%2F/ü~";
        let response = error(&uri, "access_denied", "The person declined", Some(state));
        assert_eq!(response.status(), StatusCode::FOUND);
        let location = url::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
        let pairs: Vec<(String, String)> = location.query_pairs().into_owned().collect();
        assert_eq!(pairs[0], ("keep".into(), "1".into()));
        assert_eq!(pairs[1], ("error".into(), "access_denied".into()));
        assert_eq!(pairs[3], ("state".into(), state.into()));
    }

    #[test]
    fn kinds_map_to_oauth_codes() {
        assert_eq!(code_of(&Error::Forbidden("no".into())), "access_denied");
        assert_eq!(code_of(&Error::internal("x")), "server_error");
        assert_eq!(code_of(&Error::invalid("x")), "invalid_request");
    }
}
