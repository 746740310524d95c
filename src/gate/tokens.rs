//! Bearer token checks. A verified token is remembered (bounded, until it expires) so that an
//! authorized request costs a hash lookup, not a signature check; revocation, client state and
//! role changes are applied from the in-memory view on every request.

use std::sync::Arc;
use std::time::Duration;

use crate::oauth::jwt::{self, TokenError};
use crate::roles::{Role, RoleSet};
use crate::state::View;

/// What a verified token says.
#[derive(Clone, Debug)]
pub struct Verified {
    pub client_id: String,
    pub subject: String,
    pub jti: String,
    pub exp: i64,
    pub scope: String,
    pub roles: RoleSet,
}

/// The caller of a gated request, as the handlers see it.
#[derive(Clone, Debug)]
pub struct Caller {
    pub token: Arc<Verified>,
    /// The token's roles that the client still holds.
    pub roles: RoleSet,
}

/// Why a Bearer token was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// No or malformed `Authorization` header.
    Missing,
    Invalid(&'static str),
}

pub struct TokenCache {
    verified: moka::sync::Cache<String, Arc<Verified>>,
}

impl TokenCache {
    pub fn new(capacity: u64) -> TokenCache {
        TokenCache {
            verified: moka::sync::Cache::builder()
                .max_capacity(capacity)
                .time_to_live(Duration::from_secs(24 * 3600))
                .build(),
        }
    }

    /// Checks `Authorization: Bearer …` against the view.
    pub fn check(
        &self,
        view: &View,
        issuer: &str,
        authorization: Option<&[u8]>,
        now: i64,
    ) -> Result<Caller, Refusal> {
        let token = bearer(authorization).ok_or(Refusal::Missing)?;
        let verified = match self.verified.get(token) {
            Some(verified) => verified,
            None => {
                let claims = jwt::decode(&view.keys, token, issuer, now)
                    .map_err(|e: TokenError| Refusal::Invalid(e.description()))?;
                let verified = Arc::new(Verified {
                    roles: claims.roles.iter().filter_map(|r| Role::parse(r)).collect(),
                    client_id: claims.client_id,
                    subject: claims.sub,
                    jti: claims.jti,
                    exp: claims.exp,
                    scope: claims.scope,
                });
                self.verified
                    .insert(token.to_owned(), Arc::clone(&verified));
                verified
            }
        };
        if verified.exp <= now {
            self.verified.invalidate(token);
            return Err(Refusal::Invalid(TokenError::Expired.description()));
        }
        if view.revoked.contains(&verified.jti) {
            return Err(Refusal::Invalid("The access token was revoked"));
        }
        let client = view
            .clients
            .get(&verified.client_id)
            .filter(|c| c.enabled)
            .ok_or(Refusal::Invalid(
                "The client of this token is disabled or gone",
            ))?;
        let roles = verified.roles.intersection(client.roles);
        Ok(Caller {
            token: verified,
            roles,
        })
    }
}

/// The token of `Bearer <token>` (scheme case-insensitive, RFC 6750 §2.1).
fn bearer(authorization: Option<&[u8]>) -> Option<&str> {
    let header = std::str::from_utf8(authorization?).ok()?;
    let (scheme, token) = header.split_once(' ')?;
    let token = token.trim();
    let token68 = |c: char| c.is_ascii_alphanumeric() || "-._~+/=".contains(c);
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && token.chars().all(token68))
        .then_some(token)
}

#[cfg(test)]
mod tests {
    use super::bearer;

    #[test]
    fn bearer_header_forms() {
        assert_eq!(bearer(Some(b"Bearer abc.def")), Some("abc.def"));
        assert_eq!(bearer(Some(b"bearer abc")), Some("abc"));
        assert_eq!(bearer(Some(b"Basic abc")), None);
        assert_eq!(bearer(Some(b"Bearer ")), None);
        assert_eq!(bearer(Some(b"Bearer a b")), None);
        assert_eq!(bearer(Some(b"Bearer \xff")), None);
        assert_eq!(bearer(None), None);
    }
}
