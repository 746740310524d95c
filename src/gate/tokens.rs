//! Bearer token checks: the token, verified once and then remembered
//! ([`crate::oauth::verified`]), against the current view on every request (revocation, client
//! and person state, roles).

use crate::answers::gate::Refusal;
use crate::caller::Caller;
use crate::oauth::jwt::Expectations;
use crate::oauth::verified::VerifiedTokens;
use crate::services::View;

/// Checks `Authorization: Bearer …` against the view.
pub fn check(
    tokens: &VerifiedTokens,
    view: &View,
    expect: &Expectations,
    authorization: Option<&[u8]>,
) -> Result<Caller, Refusal> {
    let token = bearer(authorization).ok_or(Refusal::Missing)?;
    let verified = match tokens.verify(&view.keys, token, expect) {
        Ok(verified) => verified,
        // Credentials that are not even a token68 say nothing about a token (a cached one
        // was one, so this costs nothing on the way in).
        Err(_) if !is_token68(token) => return Err(Refusal::Missing),
        Err(error) => return Err(Refusal::Invalid(error.description())),
    };
    let standing = view.standing(&verified).map_err(Refusal::Invalid)?;
    let mut roles = verified.roles.intersection(standing.client.roles);
    if let Some(person) = standing.person {
        roles = roles.intersection(person.roles);
    }
    Ok(Caller::new(verified, roles))
}

/// The credentials of `Bearer <credentials>` (scheme case-insensitive, RFC 6750 §2.1), not yet
/// checked to be a token68: a cached token was checked when it was verified.
fn bearer(authorization: Option<&[u8]>) -> Option<&str> {
    let header = std::str::from_utf8(authorization?).ok()?;
    let (scheme, token) = header.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// RFC 6750 §2.1 `b64token`.
fn is_token68(token: &str) -> bool {
    token
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-._~+/=".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::oauth::client_auth::ClientAuth;
    use crate::oauth::fixtures::{NOW, claims, expect, keys};
    use crate::oauth::jwt::{self, TokenError};
    use crate::oauth::keys::{KeyRing, StoredKey};
    use crate::roles::RoleSet;
    use crate::services::PersonAuth;

    /// A view with one client `c1` holding Read and Admin, and one person `p1` holding Read,
    /// signing with `k1`.
    fn view() -> View {
        let mut view = View::empty();
        view.keys = keys("k1", 1);
        view.clients.insert(
            "c1".into(),
            ClientAuth {
                client_id: "c1".into(),
                name: "C1".into(),
                secret_hash: Some("sha256$x".into()),
                enabled: true,
                approved: true,
                is_app: false,
                roles: RoleSet::parse_list("Read,Admin").unwrap(),
                redirect_uris: vec![],
                tokens_not_before: None,
            },
        );
        view.people.insert(
            "p1".into(),
            PersonAuth {
                username: "pat".into(),
                enabled: true,
                roles: RoleSet::parse_list("Read").unwrap(),
            },
        );
        view
    }

    fn header(token: &str) -> Vec<u8> {
        format!("Bearer {token}").into_bytes()
    }

    /// Roles are what the token says ∩ what its client (and person) hold now; a token verified
    /// (and so cached) before is refused once revoked, cut off or its client or person is
    /// disabled, and once its key is no longer published.
    #[test]
    fn the_view_decides_at_every_request() {
        let tokens = VerifiedTokens::new(1000);
        let mut view = view();
        let client_token = jwt::encode(&view.keys, &claims("j1", "c1", &["Read", "Write"]));
        let person_token = jwt::encode(&view.keys, &claims("j2", "p1", &["Read", "Admin"]));
        let check =
            |view: &View, token: &str| check(&tokens, view, &expect(NOW), Some(&header(token)));
        assert_eq!(check(&view, &client_token).unwrap().roles.names(), ["Read"]);
        assert_eq!(check(&view, &person_token).unwrap().roles.names(), ["Read"]);

        view.people.get_mut("p1").unwrap().enabled = false;
        let refusal = Refusal::Invalid("The person of this token is disabled or gone");
        assert_eq!(check(&view, &person_token).unwrap_err(), refusal);
        assert!(check(&view, &client_token).is_ok());

        view.revoked.insert("j1".into(), NOW + 600);
        let refusal = Refusal::Invalid("The access token was revoked");
        assert_eq!(check(&view, &client_token).unwrap_err(), refusal);

        let mut view = self::view();
        view.clients.get_mut("c1").unwrap().tokens_not_before = Some(NOW);
        assert_eq!(check(&view, &person_token).unwrap_err(), refusal);
        view.clients.get_mut("c1").unwrap().enabled = false;
        let refusal = Refusal::Invalid("The client of this token is disabled or gone");
        assert_eq!(check(&view, &person_token).unwrap_err(), refusal);

        let mut view = self::view();
        view.keys = KeyRing::single(&StoredKey::generate(0));
        let refusal = Refusal::Invalid(TokenError::UnknownKey.description());
        assert_eq!(check(&view, &client_token).unwrap_err(), refusal);
        // Not a token68 at all: as if no credentials were sent.
        assert_eq!(check(&view, "a\"b.c").unwrap_err(), Refusal::Missing);
    }

    #[test]
    fn bearer_header_forms() {
        assert_eq!(bearer(Some(b"Bearer abc.def")), Some("abc.def"));
        assert_eq!(bearer(Some(b"bearer abc")), Some("abc"));
        assert_eq!(bearer(Some(b"Basic abc")), None);
        assert_eq!(bearer(Some(b"Bearer ")), None);
        assert_eq!(bearer(Some(b"Bearer \xff")), None);
        assert!(is_token68("abc.DEF-_~+/="));
        assert!(!is_token68("a b"));
        assert!(!is_token68("a\"b"));
        assert_eq!(bearer(None), None);
    }
}
