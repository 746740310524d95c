//! The authorization request (RFC 6749 §4.1.1, RFC 7636 §4.3), judged before anyone sees a
//! page. Errors about the client or its redirect URI are shown as a page and never redirect
//! (the URI cannot be trusted yet); every other error goes back to the client with `error` and
//! `state` (§4.1.2.1).

use url::Url;

use super::OAuthError;
use super::client_auth::ClientAuth;
use super::form::FormParams;
use super::pkce;
use crate::roles::RoleSet;
use crate::scope::ScopeSet;

/// Why a request cannot go on.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Shown to the person; never a redirect.
    Page(String),
    /// Sent back to the client's (checked) redirect URI.
    Redirect {
        redirect_uri: Box<Url>,
        error: OAuthError,
        state: Option<String>,
    },
}

/// A well-formed request from a known, approved client to one of its redirect URIs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthorizationRequest {
    pub client_id: String,
    pub client_name: String,
    pub redirect_uri: Url,
    /// The redirect URI as registered (and as given, when given): what a token request compares.
    pub redirect_uri_text: String,
    /// Whether the request named the redirect URI (then the token request must name it too).
    pub redirect_uri_given: bool,
    pub scopes: ScopeSet,
    pub state: Option<String>,
    pub code_challenge: Option<String>,
}

/// The parameters as they came, for pages that send them on (the consent form).
pub const PARAMETERS: [&str; 7] = [
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
];

/// Judges a request; `client` is the directory's entry for its `client_id`.
pub fn check<'c>(
    params: &FormParams,
    client: impl FnOnce(&str) -> Option<&'c ClientAuth>,
) -> Result<AuthorizationRequest, Refusal> {
    let client_id = params
        .get("client_id")
        .ok_or_else(|| Refusal::Page("The request names no client (client_id).".into()))?;
    let client = client(client_id)
        .filter(|c| c.enabled)
        .ok_or_else(|| Refusal::Page("The request names a client that does not exist.".into()))?;
    if !client.approved {
        return Err(Refusal::Page(format!(
            "The app \u{201c}{}\u{201d} has not been approved, so it cannot ask for access yet.",
            client.name
        )));
    }
    let given = params.get("redirect_uri");
    let redirect_uri = match given {
        Some(uri)
            if client
                .redirect_uris
                .iter()
                .any(|registered| registered == uri) =>
        {
            uri
        }
        Some(_) => {
            return Err(Refusal::Page(
                "The redirect URI of the request is not registered for this app.".into(),
            ));
        }
        None => match client.redirect_uris.as_slice() {
            [only] => only.as_str(),
            [] => {
                return Err(Refusal::Page(
                    "This app has no redirect URI registered.".into(),
                ));
            }
            _ => {
                return Err(Refusal::Page(
                    "This app has several redirect URIs; the request must name one.".into(),
                ));
            }
        },
    };
    let redirect_uri_text = redirect_uri.to_owned();
    let redirect_uri = Url::parse(redirect_uri)
        .map_err(|_| Refusal::Page("The app's redirect URI is not a URL.".into()))?;
    let state = params.get("state").map(str::to_owned);
    let refuse = |error: OAuthError| Refusal::Redirect {
        redirect_uri: Box::new(redirect_uri.clone()),
        error,
        state: state.clone(),
    };
    match params.get("response_type") {
        Some("code") => {}
        Some(other) => {
            return Err(refuse(OAuthError::unsupported_response_type(format!(
                "response_type {other:?} is not supported; use code"
            ))));
        }
        None => {
            return Err(refuse(OAuthError::invalid_request(
                "response_type is missing",
            )));
        }
    }
    let scopes = requested_scopes(params.get("scope"), client.roles).map_err(&refuse)?;
    let code_challenge = challenge(params, client).map_err(&refuse)?;
    Ok(AuthorizationRequest {
        client_id: client.client_id.clone(),
        client_name: client.name.clone(),
        redirect_uri_given: given.is_some(),
        redirect_uri,
        redirect_uri_text,
        scopes,
        state,
        code_challenge,
    })
}

/// The scopes asked for, all of which the app must be allowed; none asked means all it may.
fn requested_scopes(scope: Option<&str>, allowed: RoleSet) -> Result<ScopeSet, OAuthError> {
    let Some(scope) = scope else {
        return Ok(ScopeSet::of_roles(allowed));
    };
    let asked = ScopeSet::parse(scope)
        .map_err(|name| OAuthError::invalid_scope(format!("Unknown scope {name:?}")))?;
    if !asked.roles().is_subset(allowed) {
        return Err(OAuthError::invalid_scope(
            "The requested scope exceeds what this app may ask for",
        ));
    }
    Ok(if asked.is_empty() {
        ScopeSet::of_roles(allowed)
    } else {
        asked
    })
}

/// The PKCE challenge: `S256` only, required of public clients.
fn challenge(params: &FormParams, client: &ClientAuth) -> Result<Option<String>, OAuthError> {
    let method = params.get("code_challenge_method");
    match (params.get("code_challenge"), method) {
        (None, Some(_)) => Err(OAuthError::invalid_request(
            "code_challenge_method without a code_challenge",
        )),
        (None, None) if client.is_public() => Err(OAuthError::invalid_request(
            "Public clients must use PKCE (code_challenge with code_challenge_method S256)",
        )),
        (None, None) => Ok(None),
        (Some(_), method) if method != Some("S256") => Err(OAuthError::invalid_request(
            "code_challenge_method must be S256 (plain is not accepted)",
        )),
        (Some(challenge), _) if !pkce::valid_challenge(challenge) => Err(
            OAuthError::invalid_request("code_challenge is not an S256 challenge"),
        ),
        (Some(challenge), _) => Ok(Some(challenge.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn app(public: bool, uris: &[&str]) -> ClientAuth {
        ClientAuth {
            client_id: "app".into(),
            name: "App".into(),
            secret_hash: (!public).then(|| "sha256$x".into()),
            enabled: true,
            approved: true,
            is_app: true,
            roles: RoleSet::parse_list("Read,Write").unwrap(),
            redirect_uris: uris.iter().map(|u| (*u).to_owned()).collect(),
            tokens_not_before: None,
        }
    }

    fn judge(query: &str, client: &ClientAuth) -> Result<AuthorizationRequest, Refusal> {
        let params = FormParams::parse(query.as_bytes()).unwrap();
        check(&params, |id| (id == client.client_id).then_some(client))
    }

    fn error_code(refusal: Refusal) -> &'static str {
        match refusal {
            Refusal::Redirect { error, .. } => error.code,
            Refusal::Page(text) => panic!("a page: {text}"),
        }
    }

    #[test]
    fn client_and_redirect_problems_are_pages() {
        let client = app(false, &["https://a.example/cb", "https://a.example/other"]);
        for query in [
            "response_type=code",
            "response_type=code&client_id=nobody",
            "response_type=code&client_id=app",
            "response_type=code&client_id=app&redirect_uri=https%3A%2F%2Fevil.example%2Fcb",
            "response_type=code&client_id=app&redirect_uri=https%3A%2F%2Fa.example%2Fcb%2F",
        ] {
            assert!(
                matches!(judge(query, &client), Err(Refusal::Page(_))),
                "{query}"
            );
        }
        let pending = ClientAuth {
            approved: false,
            ..app(false, &["https://a.example/cb"])
        };
        assert!(matches!(
            judge("response_type=code&client_id=app", &pending),
            Err(Refusal::Page(_))
        ));
    }

    #[test]
    fn a_page_says_which_redirect_uri_problem_it_is() {
        let page = |query: &str, client: &ClientAuth| match judge(query, client) {
            Err(Refusal::Page(text)) => text,
            other => panic!("a page expected for {query}, not {other:?}"),
        };
        let none = app(false, &[]);
        assert!(page("response_type=code&client_id=app", &none).contains("no redirect URI"));
        let two = app(false, &["https://a.example/cb", "https://a.example/other"]);
        assert!(page("response_type=code&client_id=app", &two).contains("must name one"));
        let elsewhere =
            "response_type=code&client_id=app&redirect_uri=https%3A%2F%2Fb.example%2Fcb";
        assert!(page(elsewhere, &two).contains("not registered"));
    }

    #[test]
    fn a_named_redirect_uri_must_be_one_of_the_registered() {
        let client = app(false, &["https://a.example/cb", "https://a.example/other"]);
        let query = "response_type=code&client_id=app&redirect_uri=https%3A%2F%2Fa.example%2Fother";
        let request = judge(query, &client).unwrap();
        assert_eq!(request.redirect_uri.as_str(), "https://a.example/other");
        assert_eq!(request.redirect_uri_text, "https://a.example/other");
        assert!(request.redirect_uri_given);
    }

    #[test]
    fn the_single_registered_uri_is_used_when_none_is_given() {
        let client = app(false, &["https://a.example/cb"]);
        let request = judge("response_type=code&client_id=app&state=x%20y", &client).unwrap();
        assert_eq!(request.redirect_uri.as_str(), "https://a.example/cb");
        assert!(!request.redirect_uri_given);
        assert_eq!(request.state.as_deref(), Some("x y"));
        assert_eq!(request.scopes.to_string(), "read write", "all the app may");
    }

    #[test]
    fn other_problems_redirect_with_the_state() {
        let client = app(false, &["https://a.example/cb"]);
        let refused = judge("response_type=token&client_id=app&state=s1", &client).unwrap_err();
        match &refused {
            Refusal::Redirect {
                state,
                redirect_uri,
                ..
            } => {
                assert_eq!(state.as_deref(), Some("s1"));
                assert_eq!(redirect_uri.as_str(), "https://a.example/cb");
            }
            Refusal::Page(_) => panic!("redirect expected"),
        }
        assert_eq!(error_code(refused), "unsupported_response_type");
        assert_eq!(
            error_code(judge("client_id=app", &client).unwrap_err()),
            "invalid_request"
        );
        assert_eq!(
            error_code(judge("response_type=code&client_id=app&scope=admin", &client).unwrap_err()),
            "invalid_scope"
        );
        assert_eq!(
            error_code(judge("response_type=code&client_id=app&scope=bogus", &client).unwrap_err()),
            "invalid_scope"
        );
    }

    #[test]
    fn pkce_is_s256_only_and_required_of_public_clients() {
        let public = app(true, &["http://127.0.0.1:9/cb"]);
        assert_eq!(
            error_code(judge("response_type=code&client_id=app", &public).unwrap_err()),
            "invalid_request"
        );
        let plain = format!(
            "response_type=code&client_id=app&code_challenge={CHALLENGE}&code_challenge_method=plain"
        );
        assert_eq!(
            error_code(judge(&plain, &public).unwrap_err()),
            "invalid_request"
        );
        let implicit_plain = format!("response_type=code&client_id=app&code_challenge={CHALLENGE}");
        assert_eq!(
            error_code(judge(&implicit_plain, &public).unwrap_err()),
            "invalid_request"
        );
        let short =
            "response_type=code&client_id=app&code_challenge=abc&code_challenge_method=S256";
        assert_eq!(
            error_code(judge(short, &public).unwrap_err()),
            "invalid_request"
        );
        let good = format!(
            "response_type=code&client_id=app&code_challenge={CHALLENGE}&code_challenge_method=S256"
        );
        assert_eq!(
            judge(&good, &public).unwrap().code_challenge.as_deref(),
            Some(CHALLENGE)
        );
        let confidential = app(false, &["https://a.example/cb"]);
        assert_eq!(
            judge("response_type=code&client_id=app", &confidential)
                .unwrap()
                .code_challenge,
            None
        );
    }
}
