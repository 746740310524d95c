//! Client authentication at the token, revocation and introspection endpoints:
//! `client_secret_basic` (with RFC 6749 §2.3.1 form-decoding of id and secret) or
//! `client_secret_post`, one method per request.

use std::borrow::Cow;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::form::{FormParams, decode_component};
use super::{OAuthError, secret};
use crate::roles::RoleSet;

/// What the token endpoint, the authorization endpoint and the gate keep in memory about every
/// client.
#[derive(Clone, Debug)]
pub struct ClientAuth {
    pub client_id: String,
    pub name: String,
    /// `None` for public clients.
    pub secret_hash: Option<String>,
    pub enabled: bool,
    /// A developer app an admin has not approved (pending or rejected) may not get tokens.
    pub approved: bool,
    /// Registered by a person as a developer app: it acts for people, never for itself.
    pub is_app: bool,
    /// The roles it may hold (for an app: the scopes it registered for).
    pub roles: RoleSet,
    pub redirect_uris: Vec<String>,
    /// Access tokens issued (`iat`) before this (Unix seconds) are refused: set when the client
    /// is disabled or its secret rotated with its tokens revoked.
    pub tokens_not_before: Option<i64>,
}

impl ClientAuth {
    /// Whether a token issued at `iat` was cut off.
    pub fn cut_off(&self, iat: i64) -> bool {
        self.tokens_not_before.is_some_and(|cut| iat < cut)
    }
}

impl ClientAuth {
    pub fn is_public(&self) -> bool {
        self.secret_hash.is_none()
    }
}

/// How the client presented itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Presented {
    Basic {
        client_id: String,
        secret: String,
    },
    Post {
        client_id: String,
        secret: String,
    },
    /// Only a `client_id`: a public client.
    IdOnly {
        client_id: String,
    },
}

impl Presented {
    pub fn client_id(&self) -> &str {
        match self {
            Presented::Basic { client_id, .. }
            | Presented::Post { client_id, .. }
            | Presented::IdOnly { client_id } => client_id,
        }
    }

    pub fn used_basic(&self) -> bool {
        matches!(self, Presented::Basic { .. })
    }
}

/// Reads the credentials from the `Authorization` header and the form.
pub fn presented(authorization: Option<&[u8]>, form: &FormParams) -> Result<Presented, OAuthError> {
    let Some(header) = authorization else {
        return match (form.get("client_id"), form.get("client_secret")) {
            (Some(id), Some(secret)) => Ok(Presented::Post {
                client_id: id.to_owned(),
                secret: secret.to_owned(),
            }),
            (Some(id), None) => Ok(Presented::IdOnly {
                client_id: id.to_owned(),
            }),
            (None, _) => Err(OAuthError::invalid_client(true)),
        };
    };
    let (client_id, secret) =
        parse_basic(header).ok_or_else(|| OAuthError::invalid_client(true))?;
    if form.get("client_secret").is_some() {
        return Err(OAuthError::invalid_request(
            "Use one client authentication method: Basic or client_secret in the body, not both",
        ));
    }
    if form.get("client_id").is_some_and(|id| id != client_id) {
        return Err(OAuthError::invalid_request(
            "client_id in the body differs from the Basic credentials",
        ));
    }
    Ok(Presented::Basic { client_id, secret })
}

/// The client id a request claims (Basic, or `client_id` in the form), before anything is
/// checked: what failures are counted against.
pub fn claimed_client_id(authorization: Option<&[u8]>, body: &[u8]) -> Option<String> {
    if let Some((id, _)) = authorization.and_then(parse_basic) {
        return Some(id);
    }
    let text = std::str::from_utf8(body).ok()?;
    text.split('&')
        .find_map(|pair| pair.strip_prefix("client_id="))
        .and_then(|raw| decode_component(raw).ok())
        .map(Cow::into_owned)
}

/// `Basic base64(urlencode(id):urlencode(secret))`.
fn parse_basic(header: &[u8]) -> Option<(String, String)> {
    let header = std::str::from_utf8(header).ok()?;
    let (scheme, encoded) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let id = decode_component(id).ok()?.into_owned();
    let secret = decode_component(secret).ok()?.into_owned();
    (!id.is_empty()).then_some((id, secret))
}

/// Checks the presented credentials against the client; every failure looks the same.
pub fn authenticate<'c>(
    presented: &Presented,
    client: Option<&'c ClientAuth>,
) -> Result<&'c ClientAuth, OAuthError> {
    let fail = || OAuthError::invalid_client(presented.used_basic());
    let client = client.filter(|c| c.enabled).ok_or_else(fail)?;
    match (presented, &client.secret_hash) {
        (Presented::Basic { secret, .. } | Presented::Post { secret, .. }, Some(hash))
            if secret::verify(secret, hash) =>
        {
            Ok(client)
        }
        (Presented::IdOnly { .. }, None) => Ok(client),
        _ => Err(fail()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::fixtures::{basic, client};
    use crate::roles::RoleSet;

    fn form(body: &str) -> FormParams<'_> {
        FormParams::parse(body.as_bytes()).unwrap()
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        let got = presented(Some(&basic("my%20app", "p%3Aw+d")), &form("")).unwrap();
        assert_eq!(
            got,
            Presented::Basic {
                client_id: "my app".into(),
                secret: "p:w d".into()
            }
        );
    }

    #[test]
    fn one_method_per_request() {
        let header = basic("a", "s");
        assert!(
            presented(Some(&header), &form("client_id=a")).is_ok(),
            "agreeing client_id is fine"
        );
        assert_eq!(
            presented(Some(&header), &form("client_id=b"))
                .unwrap_err()
                .code,
            "invalid_request"
        );
        assert_eq!(
            presented(Some(&header), &form("client_secret=s"))
                .unwrap_err()
                .code,
            "invalid_request"
        );
        let missing = presented(None, &form("")).unwrap_err();
        assert_eq!(
            (missing.code, missing.basic_challenge),
            ("invalid_client", true)
        );
        for bad in ["Basic !!!", "Basic", "Bearer abc", "Basic Zm9v"] {
            assert_eq!(
                presented(Some(bad.as_bytes()), &form("")).unwrap_err().code,
                "invalid_client",
                "{bad}"
            );
        }
    }

    #[test]
    fn the_claimed_client_id_is_read_before_anything_is_checked() {
        let wrong_secret = basic("my%20app", "wrong");
        assert_eq!(
            claimed_client_id(Some(&wrong_secret), b"client_id=other").as_deref(),
            Some("my app"),
            "Basic first"
        );
        let body = b"grant_type=client_credentials&client_id=my%20app&client_secret=x";
        assert_eq!(claimed_client_id(None, body).as_deref(), Some("my app"));
        assert_eq!(
            claimed_client_id(None, b"grant_type=client_credentials"),
            None
        );
        for presented in [
            presented(Some(&wrong_secret), &form("")).unwrap(),
            presented(None, &form("client_id=my+app&client_secret=s")).unwrap(),
            presented(None, &form("client_id=my+app")).unwrap(),
        ] {
            assert_eq!(presented.client_id(), "my app", "{presented:?}");
        }
    }

    #[test]
    fn a_failed_basic_authentication_is_challenged_and_a_form_post_is_not() {
        let client = client("a", "right", RoleSet::all());
        let by_basic = presented(Some(&basic("a", "wrong")), &form("")).unwrap();
        let by_post = presented(None, &form("client_id=a&client_secret=wrong")).unwrap();
        assert!(by_basic.used_basic() && !by_post.used_basic());
        // RFC 6749 §5.2: a 401 with WWW-Authenticate where the client used the header.
        assert!(
            authenticate(&by_basic, Some(&client))
                .unwrap_err()
                .basic_challenge
        );
        assert!(
            !authenticate(&by_post, Some(&client))
                .unwrap_err()
                .basic_challenge
        );
    }

    #[test]
    fn a_public_client_presents_its_id_alone() {
        let public = ClientAuth {
            secret_hash: None,
            ..client("a", "unused", RoleSet::all())
        };
        let id_only = presented(None, &form("client_id=a")).unwrap();
        assert_eq!(
            authenticate(&id_only, Some(&public)).unwrap().client_id,
            "a"
        );
        let with_secret = presented(None, &form("client_id=a&client_secret=s")).unwrap();
        assert!(authenticate(&with_secret, Some(&public)).is_err());
    }

    #[test]
    fn tokens_issued_before_the_cut_are_cut_off() {
        let mut client = client("a", "s", RoleSet::all());
        assert!(!client.cut_off(0));
        client.tokens_not_before = Some(1_000);
        assert!(client.cut_off(999));
        // The cut is the second after the change; tokens issued since are signed with an
        // `iat` no earlier than it.
        assert!(!client.cut_off(1_000), "issued after the cut");
    }

    #[test]
    fn failures_look_alike() {
        let secret = secret::random_token();
        let client = client("a", &secret, RoleSet::all());
        let good = Presented::Post {
            client_id: "a".into(),
            secret: secret.clone(),
        };
        assert!(authenticate(&good, Some(&client)).is_ok());
        let wrong = Presented::Post {
            client_id: "a".into(),
            secret: "nope".into(),
        };
        let disabled = ClientAuth {
            enabled: false,
            ..client.clone()
        };
        let errors = [
            authenticate(&wrong, Some(&client)).unwrap_err(),
            authenticate(&good, Some(&disabled)).unwrap_err(),
            authenticate(&good, None).unwrap_err(),
            authenticate(
                &Presented::IdOnly {
                    client_id: "a".into(),
                },
                Some(&client),
            )
            .unwrap_err(),
        ];
        assert!(errors.iter().all(|e| *e == errors[0]));
    }
}
