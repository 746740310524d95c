//! The token endpoint's logic (RFC 6749 §4.4 and §5), and revocation (RFC 7009).

use super::OAuthError;
use super::client_auth::{self, ClientAuth, Presented};
use super::form::FormParams;
use super::jwt::{self, AccessClaims};
use super::keys::KeyRing;
use crate::roles::RoleSet;
use crate::scope::ScopeSet;

/// What a token request carries, already taken off the wire.
pub struct TokenRequest<'a> {
    pub authorization: Option<&'a [u8]>,
    /// Whether the body was sent as `application/x-www-form-urlencoded`.
    pub is_form: bool,
    pub body: &'a [u8],
}

/// What issuing needs to know about this server.
pub struct Issuer<'a> {
    pub issuer: &'a str,
    pub audience: &'a str,
    pub access_token_ttl: i64,
    pub now: i64,
}

/// The in-memory view issuing consults.
pub trait Directory {
    fn client(&self, client_id: &str) -> Option<&ClientAuth>;
    fn keys(&self) -> &KeyRing;
}

#[derive(Debug)]
pub struct Issued {
    pub access_token: String,
    pub expires_in: i64,
    pub scope: String,
    pub client_id: String,
}

/// A failed request, with the client id it claimed (for the audit log) if any.
#[derive(Debug)]
pub struct Refused {
    pub error: OAuthError,
    pub claimed_client: Option<String>,
    /// The claimed client is not in the directory at all (it may be newer than the directory).
    pub unknown_client: bool,
}

impl From<OAuthError> for Refused {
    fn from(error: OAuthError) -> Self {
        Refused {
            error,
            claimed_client: None,
            unknown_client: false,
        }
    }
}

fn parse_form(is_form: bool, body: &[u8]) -> Result<FormParams, OAuthError> {
    if !is_form {
        return Err(OAuthError::invalid_request(
            "The body must be application/x-www-form-urlencoded",
        ));
    }
    FormParams::parse(body)
}

/// Authenticates the client of a request (token, revoke, introspect).
fn authenticate<'d>(
    directory: &'d impl Directory,
    authorization: Option<&[u8]>,
    form: &FormParams,
) -> Result<(&'d ClientAuth, Presented), Refused> {
    let presented = client_auth::presented(authorization, form)?;
    let known = directory.client(presented.client_id());
    let client = client_auth::authenticate(&presented, known).map_err(|error| Refused {
        error,
        claimed_client: Some(presented.client_id().to_owned()),
        unknown_client: known.is_none(),
    })?;
    Ok((client, presented))
}

pub fn token(
    directory: &impl Directory,
    issuer: &Issuer,
    request: &TokenRequest,
) -> Result<Issued, Refused> {
    let form = parse_form(request.is_form, request.body)?;
    let grant_type = form.require("grant_type")?;
    match grant_type {
        "client_credentials" => {
            let (client, _) = authenticate(directory, request.authorization, &form)?;
            Ok(client_credentials(
                directory.keys(),
                issuer,
                client,
                form.get("scope"),
            )?)
        }
        other => Err(OAuthError::unsupported_grant_type(other).into()),
    }
}

/// RFC 6749 §4.4: a token for the client itself, its roles narrowed by `scope`.
fn client_credentials(
    keys: &KeyRing,
    issuer: &Issuer,
    client: &ClientAuth,
    scope: Option<&str>,
) -> Result<Issued, OAuthError> {
    if client.secret_hash.is_none() {
        return Err(OAuthError::unauthorized_client(
            "Public clients may not use the client_credentials grant",
        ));
    }
    let roles = narrow(client.roles, scope)?;
    let scope = ScopeSet::of_roles(roles).to_string();
    let claims = AccessClaims {
        iss: issuer.issuer.to_owned(),
        sub: client.client_id.clone(),
        aud: issuer.audience.to_owned(),
        client_id: client.client_id.clone(),
        exp: issuer.now + issuer.access_token_ttl,
        iat: issuer.now,
        jti: uuid::Uuid::new_v4().simple().to_string(),
        scope: scope.clone(),
        roles: roles.names(),
    };
    Ok(Issued {
        access_token: jwt::encode(keys, &claims),
        expires_in: issuer.access_token_ttl,
        scope,
        client_id: client.client_id.clone(),
    })
}

/// The roles a `scope` asks for, which must all be held; no scope means all held roles.
pub fn narrow(held: RoleSet, scope: Option<&str>) -> Result<RoleSet, OAuthError> {
    let Some(scope) = scope else { return Ok(held) };
    let asked = ScopeSet::parse(scope)
        .map_err(|name| OAuthError::invalid_scope(format!("Unknown scope {name:?}")))?
        .roles();
    if !asked.is_subset(held) {
        return Err(OAuthError::invalid_scope(
            "The requested scope exceeds the client's roles",
        ));
    }
    if asked.is_empty() {
        return Ok(held);
    }
    Ok(asked)
}

/// What revocation (RFC 7009) decided to do.
#[derive(Debug, PartialEq, Eq)]
pub enum Revocation {
    /// Revoke this token (`jti`, `exp`).
    Revoke {
        jti: String,
        client_id: String,
        expires_at: i64,
    },
    /// Nothing to do: the token is unknown, malformed or already expired (still a 200).
    Nothing,
}

pub fn revoke(
    directory: &impl Directory,
    request: &TokenRequest,
    now: i64,
) -> Result<Revocation, Refused> {
    let form = parse_form(request.is_form, request.body)?;
    let token = form.require("token")?;
    let (client, _) = authenticate(directory, request.authorization, &form)?;
    if let Some(hint) = form.get("token_type_hint")
        && !matches!(hint, "access_token" | "refresh_token")
    {
        return Err(OAuthError::unsupported_token_type(format!(
            "Unknown token_type_hint {hint:?}"
        ))
        .into());
    }
    let Ok(claims) = jwt::decode_signed(directory.keys(), token) else {
        return Ok(Revocation::Nothing);
    };
    if claims.client_id != client.client_id {
        return Err(
            OAuthError::unauthorized_client("The token was not issued to this client").into(),
        );
    }
    if claims.exp <= now {
        return Ok(Revocation::Nothing);
    }
    Ok(Revocation::Revoke {
        jti: claims.jti,
        client_id: claims.client_id,
        expires_at: claims.exp,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_narrows_and_never_widens() {
        let held = RoleSet::parse_list("Read,Write").unwrap();
        assert_eq!(narrow(held, None).unwrap(), held);
        assert_eq!(narrow(held, Some("READ")).unwrap().names(), ["Read"]);
        assert_eq!(
            narrow(held, Some("admin")).unwrap_err().code,
            "invalid_scope"
        );
        assert_eq!(
            narrow(held, Some("read bogus")).unwrap_err().code,
            "invalid_scope"
        );
    }
}
