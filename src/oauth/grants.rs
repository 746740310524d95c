//! The token endpoint's logic (RFC 6749 §4.4 and §5), and revocation (RFC 7009).

use std::sync::Arc;

use super::OAuthError;
use super::client_auth::{self, ClientAuth, Presented};
use super::form::FormParams;
use super::jwt::{self, NewClaims};
use super::keys::KeyRing;
use super::verified::VerifiedTokens;
use crate::caller::Verified;
use crate::roles::RoleSet;
use crate::scope::ScopeSet;

/// What a token request carries, already taken off the wire.
pub struct TokenRequest<'a> {
    /// The peer's address, which failures are counted against.
    pub address: std::net::IpAddr,
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

impl<D: Directory + ?Sized> Directory for &D {
    fn client(&self, client_id: &str) -> Option<&ClientAuth> {
        (**self).client(client_id)
    }

    fn keys(&self) -> &KeyRing {
        (**self).keys()
    }
}

#[derive(Debug)]
pub struct Issued {
    pub access_token: String,
    pub expires_in: i64,
    pub scope: String,
    pub client_id: String,
    /// The access token's id and expiry (a refresh token records them, to revoke them with it).
    pub jti: String,
    pub exp: i64,
    /// For the authorization-code and refresh grants.
    pub refresh_token: Option<String>,
}

/// What a token request asks for once its client has authenticated.
#[derive(Debug)]
pub enum TokenGrant {
    /// `client_credentials`, issued already: nothing to look up.
    Issued(Issued),
    /// `authorization_code`: a code to redeem (RFC 6749 §4.1.3).
    Code {
        client: ClientAuth,
        code: String,
        redirect_uri: Option<String>,
        code_verifier: Option<String>,
    },
    /// `refresh_token`: a refresh token to rotate (§6), optionally narrowed.
    Refresh {
        client: ClientAuth,
        refresh_token: String,
        scope: Option<ScopeSet>,
    },
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

fn parse_form(is_form: bool, body: &[u8]) -> Result<FormParams<'_>, OAuthError> {
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
) -> Result<TokenGrant, Refused> {
    let form = parse_form(request.is_form, request.body)?;
    let grant_type = form.require("grant_type")?;
    if !matches!(
        grant_type,
        "client_credentials" | "authorization_code" | "refresh_token"
    ) {
        return Err(OAuthError::unsupported_grant_type(grant_type).into());
    }
    let (client, _) = authenticate(directory, request.authorization, &form)?;
    if !client.approved {
        return Err(OAuthError::unauthorized_client(
            "This app has not been approved by an administrator",
        )
        .into());
    }
    match grant_type {
        "client_credentials" => Ok(TokenGrant::Issued(client_credentials(
            directory.keys(),
            issuer,
            client,
            form.get("scope"),
        )?)),
        "authorization_code" => Ok(TokenGrant::Code {
            client: client.clone(),
            code: form.require("code")?.to_owned(),
            redirect_uri: form.get("redirect_uri").map(str::to_owned),
            code_verifier: form.get("code_verifier").map(str::to_owned),
        }),
        _ => {
            let scope = form
                .get("scope")
                .map(|scope| {
                    ScopeSet::parse(scope).map_err(|name| {
                        OAuthError::invalid_scope(format!("Unknown scope {name:?}"))
                    })
                })
                .transpose()?;
            Ok(TokenGrant::Refresh {
                client: client.clone(),
                refresh_token: form.require("refresh_token")?.to_owned(),
                scope,
            })
        }
    }
}

/// A person's grant to a client, as a token needs it.
pub struct Delegation<'a> {
    pub client: &'a ClientAuth,
    /// The person's stable id: the token's `sub`.
    pub sub: &'a str,
    pub person_roles: RoleSet,
    /// What the person granted.
    pub scopes: ScopeSet,
}

impl Delegation<'_> {
    /// The roles the token carries: what was granted, that the app may hold and the person
    /// holds.
    pub fn roles(&self) -> RoleSet {
        self.scopes
            .roles()
            .intersection(self.client.roles)
            .intersection(self.person_roles)
    }
}

/// An access token acting for a person (authorization code and refresh grants).
pub fn delegated(keys: &KeyRing, issuer: &Issuer, delegation: &Delegation) -> Issued {
    let roles = delegation.roles();
    sign(keys, issuer, delegation.client, delegation.sub, roles)
}

fn sign(keys: &KeyRing, issuer: &Issuer, client: &ClientAuth, sub: &str, roles: RoleSet) -> Issued {
    let scope = ScopeSet::of_roles(roles).to_string();
    // A token issued right after a cut-off (in the same second) must not fall before it.
    let iat = issuer.now.max(client.tokens_not_before.unwrap_or(i64::MIN));
    let exp = iat + issuer.access_token_ttl;
    // A random (v4) UUID from the thread's CSPRNG: `Uuid::new_v4` asks the kernel for every one,
    // a system call per token.
    let mut jti = [0u8; uuid::fmt::Simple::LENGTH];
    let jti = uuid::Builder::from_random_bytes(rand::random())
        .into_uuid()
        .simple()
        .encode_lower(&mut jti);
    let access_token = jwt::encode(
        keys,
        &NewClaims {
            iss: issuer.issuer,
            sub,
            aud: issuer.audience,
            client_id: &client.client_id,
            exp,
            iat,
            jti,
            scope: &scope,
            roles,
        },
    );
    Issued {
        access_token,
        expires_in: issuer.access_token_ttl,
        jti: jti.to_owned(),
        scope,
        client_id: client.client_id.clone(),
        exp,
        refresh_token: None,
    }
}

/// RFC 6749 §4.4: a token for the client itself, its roles narrowed by `scope`.
fn client_credentials(
    keys: &KeyRing,
    issuer: &Issuer,
    client: &ClientAuth,
    scope: Option<&str>,
) -> Result<Issued, OAuthError> {
    if client.is_public() {
        return Err(OAuthError::unauthorized_client(
            "Public clients may not use the client_credentials grant",
        ));
    }
    if client.is_app {
        return Err(OAuthError::unauthorized_client(
            "A developer app acts for people: use the authorization_code grant",
        ));
    }
    let roles = narrow(client.roles, scope)?;
    Ok(sign(keys, issuer, client, &client.client_id, roles))
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
    /// Not an access token: perhaps a refresh token of this client's (looked up by the caller).
    Refresh { token: String, client_id: String },
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
    let claims = match jwt::decode_signed(directory.keys(), token) {
        Ok(claims) => claims,
        // Refresh tokens are opaque: no dots.
        Err(_) if !token.contains('.') => {
            return Ok(Revocation::Refresh {
                token: token.to_owned(),
                client_id: client.client_id.clone(),
            });
        }
        Err(_) => return Ok(Revocation::Nothing),
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

/// What an introspection request (RFC 7662) is about, once its client has authenticated.
#[derive(Debug)]
pub enum Introspection {
    /// An access token that verifies and has not expired; the caller checks it still counts.
    Access(Arc<Verified>),
    /// Perhaps a refresh token (opaque).
    Refresh(String),
    /// Neither: `{"active": false}`.
    Inactive,
}

/// Authenticates the introspecting client and verifies the token (or finds it verified).
pub fn introspect(
    directory: &impl Directory,
    request: &TokenRequest,
    tokens: &VerifiedTokens,
    expect: &jwt::Expectations,
) -> Result<Introspection, Refused> {
    let form = parse_form(request.is_form, request.body)?;
    let token = form.require("token")?;
    let (client, presented) = authenticate(directory, request.authorization, &form)?;
    if client.is_public() {
        // A public client has nothing to authenticate with, and introspection is not for it.
        return Err(Refused {
            error: OAuthError::invalid_client(presented.used_basic()),
            claimed_client: Some(client.client_id.clone()),
            unknown_client: false,
        });
    }
    let verified = tokens.verify(directory.keys(), token.as_bytes(), expect);
    Ok(match verified {
        Ok(verified) => Introspection::Access(verified),
        Err(_) if !token.contains('.') => Introspection::Refresh(token.to_owned()),
        Err(_) => Introspection::Inactive,
    })
}

#[cfg(test)]
mod tests;
