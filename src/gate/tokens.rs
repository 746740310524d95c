//! Bearer token checks: the token, verified once and then remembered
//! ([`crate::oauth::verified`]), against the current view on every request (revocation, client
//! and person state, roles).

use crate::answers::gate::Refusal;
use crate::caller::Caller;
use crate::oauth::is_token68;
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

/// The credentials of `Bearer <credentials>` (scheme case-insensitive, RFC 6750 §2.1), as
/// bytes not yet checked to be a token68 (nor text): a cached token was checked when it was
/// verified, so only a new one needs to be.
fn bearer(authorization: Option<&[u8]>) -> Option<&[u8]> {
    let (scheme, rest) = authorization?.split_at_checked(SCHEME.len())?;
    let token = rest.strip_prefix(b" ")?.trim_ascii();
    (scheme.eq_ignore_ascii_case(SCHEME) && !token.is_empty()).then_some(token)
}

const SCHEME: &[u8] = b"Bearer";

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

    fn check_raw(tokens: &VerifiedTokens, view: &View, header: &[u8]) -> Result<Caller, Refusal> {
        check(tokens, view, &expect(NOW), Some(header))
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
        // Not a token68 at all, or not even text: as if no credentials were sent.
        assert_eq!(check(&view, "a\"b.c").unwrap_err(), Refusal::Missing);
        let not_text = check_raw(&tokens, &view, b"Bearer a.b.\xff");
        assert_eq!(not_text.unwrap_err(), Refusal::Missing);
    }

    #[test]
    fn bearer_header_forms() {
        assert_eq!(bearer(Some(b"Bearer abc.def")), Some(&b"abc.def"[..]));
        assert_eq!(bearer(Some(b"bearer  abc ")), Some(&b"abc"[..]));
        assert_eq!(bearer(Some(b"Basic abc")), None);
        assert_eq!(bearer(Some(b"Bearerabc")), None);
        assert_eq!(bearer(Some(b"Bearer ")), None);
        assert_eq!(bearer(Some(b"Bear")), None);
        // Not text: the check refuses it as if no credentials were sent.
        assert_eq!(bearer(Some(b"Bearer \xff")), Some(&b"\xff"[..]));
        assert!(is_token68(b"abc.DEF-_~+/="));
        assert!(!is_token68(b"a b"));
        assert!(!is_token68(b"a\"b"));
        assert!(!is_token68(b"\xff"));
        assert_eq!(bearer(None), None);
    }
}
