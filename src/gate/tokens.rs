//! Bearer token checks: the token, verified once and then remembered
//! ([`crate::oauth::verified`]), against the current view on every request (revocation, client
//! and person state, roles).

use crate::answers::gate::Refusal;
use crate::caller::Caller;
use crate::oauth::is_token68;
use crate::oauth::jwt::Expectations;
use crate::oauth::verified::VerifiedTokens;
use crate::services::View;

/// Checks `Authorization: Bearer …` against the view, loaded after the standing `epoch` was
/// read ([`crate::services::App::standing_epoch`]).
pub fn check(
    tokens: &VerifiedTokens,
    view: &View,
    epoch: u64,
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
    // Revocation, client and person as they stood at this epoch: known already if this
    // thread's copy of the token met it (most requests), worked out and kept otherwise.
    if let Some(roles) = verified.standing.get(epoch) {
        return Ok(Caller::new(verified, roles));
    }
    let standing = view.standing(&verified).map_err(Refusal::Invalid)?;
    let mut roles = verified.roles.intersection(standing.client.roles);
    if let Some(person) = standing.person {
        roles = roles.intersection(person.roles);
    }
    verified.standing.set(epoch, roles);
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

    /// A fresh [`view`] in place of `previous`, as a reload puts one: the same revocations, the
    /// standing epoch moved on.
    fn reloaded(previous: &View) -> View {
        let view = View {
            revoked: std::sync::Arc::clone(&previous.revoked),
            ..view()
        };
        view.revoked.standing_changed();
        view
    }

    fn header(token: &str) -> Vec<u8> {
        format!("Bearer {token}").into_bytes()
    }

    /// Checks at the view's current standing epoch (a test that edits a view in place moves
    /// it on, as a new view in place would).
    fn check_raw(tokens: &VerifiedTokens, view: &View, header: &[u8]) -> Result<Caller, Refusal> {
        let epoch = view.revoked.standing_epoch();
        check(tokens, view, epoch, &expect(NOW), Some(header))
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
        let check = |view: &View, token: &str| check_raw(&tokens, view, &header(token));
        assert_eq!(check(&view, &client_token).unwrap().roles.names(), ["Read"]);
        assert_eq!(check(&view, &person_token).unwrap().roles.names(), ["Read"]);

        view.people.get_mut("p1").unwrap().enabled = false;
        view.revoked.standing_changed();
        let refusal = Refusal::Invalid("The person of this token is disabled or gone");
        assert_eq!(check(&view, &person_token).unwrap_err(), refusal);
        assert!(check(&view, &client_token).is_ok());

        view.revoked.insert("j1".into(), NOW + 600);
        let refusal = Refusal::Invalid("The access token was revoked");
        assert_eq!(check(&view, &client_token).unwrap_err(), refusal);

        let mut view = reloaded(&view);
        view.clients.get_mut("c1").unwrap().tokens_not_before = Some(NOW);
        assert_eq!(check(&view, &person_token).unwrap_err(), refusal);
        view.clients.get_mut("c1").unwrap().enabled = false;
        view.revoked.standing_changed();
        let refusal = Refusal::Invalid("The client of this token is disabled or gone");
        assert_eq!(check(&view, &person_token).unwrap_err(), refusal);

        let mut view = reloaded(&view);
        view.keys = KeyRing::single(&StoredKey::generate(0));
        let refusal = Refusal::Invalid(TokenError::UnknownKey.description());
        assert_eq!(check(&view, &client_token).unwrap_err(), refusal);
        // Not a token68 at all, or not even text: as if no credentials were sent.
        assert_eq!(check(&view, "a\"b.c").unwrap_err(), Refusal::Missing);
        let not_text = check_raw(&tokens, &view, b"Bearer a.b.\xff");
        assert_eq!(not_text.unwrap_err(), Refusal::Missing);
    }

    /// The roles in force are remembered with the standing epoch they were found at, on the
    /// thread's copy of the token: at the same epoch the view is not asked again (so a test that
    /// edits it in place without moving the epoch sees the old roles), at the next it is.
    #[test]
    fn standing_is_remembered_for_its_epoch_only() {
        let tokens = VerifiedTokens::new(1000);
        let mut view = view();
        let token = jwt::encode(&view.keys, &claims("j1", "c1", &["Read", "Admin"]));
        let header = header(&token);
        let at = |view: &View, epoch| check(&tokens, view, epoch, &expect(NOW), Some(&header));
        assert_eq!(at(&view, 7).unwrap().roles.names(), ["Read", "Admin"]);
        view.clients.get_mut("c1").unwrap().roles = RoleSet::parse_list("Read").unwrap();
        assert_eq!(at(&view, 7).unwrap().roles.names(), ["Read", "Admin"]);
        assert_eq!(at(&view, 8).unwrap().roles.names(), ["Read"]);
        view.clients.get_mut("c1").unwrap().enabled = false;
        let refusal = Refusal::Invalid("The client of this token is disabled or gone");
        assert_eq!(at(&view, 9).unwrap_err(), refusal);
        // A refusal is not remembered: back in standing, the token works at the next epoch.
        view.clients.get_mut("c1").unwrap().enabled = true;
        assert_eq!(at(&view, 9).unwrap().roles.names(), ["Read"]);
        // The signature, expiry and key are checked at every use all the same.
        let later = check(&tokens, &view, 9, &expect(NOW + 7200), Some(&header));
        assert_eq!(
            later.unwrap_err(),
            Refusal::Invalid(TokenError::Expired.description())
        );
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
