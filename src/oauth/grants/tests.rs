//! The token endpoint's decisions, against a directory of two clients and one key.

use super::*;
use crate::oauth::fixtures::{ISSUER, NOW, basic, claims, client, expect, keys};

/// Two confidential clients, `c1` and `c2` (secrets `s1`, `s2`), and whatever a test adds.
struct Clients {
    clients: Vec<ClientAuth>,
    keys: KeyRing,
}

impl Directory for Clients {
    fn client(&self, client_id: &str) -> Option<&ClientAuth> {
        self.clients.iter().find(|c| c.client_id == client_id)
    }

    fn keys(&self) -> &KeyRing {
        &self.keys
    }
}

fn clients(more: impl IntoIterator<Item = ClientAuth>) -> Clients {
    let mut clients = vec![
        client("c1", "s1", RoleSet::parse_list("Read,Write").unwrap()),
        client("c2", "s2", RoleSet::parse_list("Read").unwrap()),
    ];
    clients.extend(more);
    Clients {
        clients,
        keys: keys("k1", 1),
    }
}

const ISSUING: Issuer = Issuer {
    issuer: ISSUER,
    audience: ISSUER,
    access_token_ttl: 600,
    now: NOW,
};

/// A form request with HTTP Basic credentials.
fn request<'a>(basic: &'a [u8], body: &'a str) -> TokenRequest<'a> {
    TokenRequest {
        address: [127, 0, 0, 1].into(),
        authorization: Some(basic),
        is_form: true,
        body: body.as_bytes(),
    }
}

/// Decides a token request as the service does: through a `&dyn Directory`.
fn token_of(directory: &Clients, request: &TokenRequest) -> Result<TokenGrant, Refused> {
    let directory: &dyn Directory = directory;
    token(&directory, &ISSUING, request)
}

fn refusal<T: std::fmt::Debug>(decided: Result<T, Refused>) -> &'static str {
    decided.unwrap_err().error.code
}

#[test]
fn client_credentials_issues_a_signed_token_that_lives_its_ttl() {
    let directory = clients([]);
    let c1 = basic("c1", "s1");
    let TokenGrant::Issued(issued) =
        token_of(&directory, &request(&c1, "grant_type=client_credentials")).unwrap()
    else {
        panic!("client_credentials is answered at once");
    };
    assert_eq!(issued.client_id, "c1");
    assert_eq!(issued.scope, "read write");
    assert_eq!((issued.expires_in, issued.exp), (600, NOW + 600));
    let decoded = jwt::decode_signed(&directory.keys, &issued.access_token).unwrap();
    assert_eq!((decoded.iat, decoded.exp), (NOW, NOW + 600));
    assert_eq!(decoded.sub, "c1");
    assert_eq!(decoded.jti, issued.jti);
    assert_eq!(decoded.roles, ["Read", "Write"]);
}

#[test]
fn every_token_gets_a_fresh_random_uuid_as_its_jti() {
    let directory = clients([]);
    let c1 = basic("c1", "s1");
    let jti = || match token_of(&directory, &request(&c1, "grant_type=client_credentials")) {
        Ok(TokenGrant::Issued(issued)) => issued.jti,
        _ => panic!("client_credentials is answered at once"),
    };
    let (first, second) = (jti(), jti());
    assert_ne!(first, second);
    for jti in [first, second] {
        let uuid = uuid::Uuid::parse_str(&jti).unwrap();
        assert_eq!(jti, uuid.simple().to_string(), "32 lower-case hex digits");
        assert_eq!(uuid.get_version(), Some(uuid::Version::Random));
        assert_eq!(uuid.get_variant(), uuid::Variant::RFC4122);
    }
}

#[test]
fn the_body_must_be_a_form() {
    let directory = clients([]);
    let c1 = basic("c1", "s1");
    let mut json = request(&c1, r#"{"grant_type":"client_credentials"}"#);
    json.is_form = false;
    let refused = token_of(&directory, &json).unwrap_err();
    assert_eq!(refused.error.code, "invalid_request");
    assert!(refused.error.description.contains("x-www-form-urlencoded"));
    // The same form, declared as one, is fine.
    let mut form = request(&c1, "grant_type=client_credentials");
    assert!(token_of(&directory, &form).is_ok());
    form.is_form = false;
    assert_eq!(refusal(token_of(&directory, &form)), "invalid_request");
}

#[test]
fn only_the_three_grants_are_supported() {
    let directory = clients([]);
    let c1 = basic("c1", "s1");
    for grant_type in ["password", "implicit", "CLIENT_CREDENTIALS"] {
        let body = format!("grant_type={grant_type}");
        let refused = token_of(&directory, &request(&c1, &body)).unwrap_err();
        assert_eq!(refused.error.code, "unsupported_grant_type", "{grant_type}");
    }
    let code = token_of(
        &directory,
        &request(
            &c1,
            "grant_type=authorization_code&code=abc&redirect_uri=https%3A%2F%2Fa.example%2Fcb\
             &code_verifier=v",
        ),
    )
    .unwrap();
    let TokenGrant::Code {
        client,
        code,
        redirect_uri,
        code_verifier,
    } = code
    else {
        panic!("a code to redeem: {code:?}");
    };
    assert_eq!(client.client_id, "c1");
    assert_eq!(code, "abc");
    assert_eq!(redirect_uri.as_deref(), Some("https://a.example/cb"));
    assert_eq!(code_verifier.as_deref(), Some("v"));
    let refresh = token_of(
        &directory,
        &request(&c1, "grant_type=refresh_token&refresh_token=r1&scope=read"),
    )
    .unwrap();
    let TokenGrant::Refresh {
        client,
        refresh_token,
        scope,
    } = refresh
    else {
        panic!("a refresh token to rotate: {refresh:?}");
    };
    assert_eq!(client.client_id, "c1");
    assert_eq!(refresh_token, "r1");
    assert_eq!(scope, Some(ScopeSet::parse("read").unwrap()));
}

#[test]
fn an_app_waiting_for_approval_gets_nothing() {
    let pending = ClientAuth {
        approved: false,
        ..client("app", "sa", RoleSet::parse_list("Read").unwrap())
    };
    let directory = clients([pending]);
    let app = basic("app", "sa");
    for body in [
        "grant_type=client_credentials",
        "grant_type=authorization_code&code=abc",
        "grant_type=refresh_token&refresh_token=r1",
    ] {
        let refused = token_of(&directory, &request(&app, body)).unwrap_err();
        assert_eq!(refused.error.code, "unauthorized_client", "{body}");
        assert!(refused.error.description.contains("approved"));
    }
}

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

#[test]
fn a_delegated_token_holds_what_all_three_allow() {
    let app = client(
        "app",
        "sa",
        RoleSet::parse_list("Read,Write,Messages").unwrap(),
    );
    let delegation = Delegation {
        client: &app,
        sub: "person-1",
        person_roles: RoleSet::parse_list("Read,Messages,Admin").unwrap(),
        scopes: ScopeSet::parse("read messages admin").unwrap(),
    };
    assert_eq!(delegation.roles().names(), ["Read", "Messages"]);
    let keys = keys("k1", 1);
    let issued = delegated(&keys, &ISSUING, &delegation);
    assert_eq!(issued.scope, "read messages");
    let decoded = jwt::decode_signed(&keys, &issued.access_token).unwrap();
    assert_eq!(decoded.sub, "person-1");
    assert_eq!(decoded.client_id, "app");
    assert_eq!(decoded.exp - decoded.iat, 600);
}

/// A revocation request of client `c1` for `token`, with an optional hint.
fn revoke_of(directory: &Clients, token: &str, hint: Option<&str>, now: i64) -> Revocation {
    let c1 = basic("c1", "s1");
    let mut body = format!("token={token}");
    if let Some(hint) = hint {
        body.push_str(&format!("&token_type_hint={hint}"));
    }
    revoke(directory, &request(&c1, &body), now).unwrap()
}

#[test]
fn revocation_tells_access_tokens_refresh_tokens_and_junk_apart() {
    let directory = clients([]);
    let token = jwt::encode(&directory.keys, &claims("j1", "c1", &["Read"]));
    let revoked = Revocation::Revoke {
        jti: "j1".into(),
        client_id: "c1".into(),
        expires_at: NOW + 600,
    };
    for hint in [None, Some("access_token"), Some("refresh_token")] {
        assert_eq!(
            revoke_of(&directory, &token, hint, NOW),
            revoked,
            "{hint:?}"
        );
    }
    assert_eq!(
        revoke_of(&directory, &token, None, NOW + 600),
        Revocation::Nothing,
        "expired already"
    );
    assert_eq!(
        revoke_of(&directory, "opaque-refresh", None, NOW),
        Revocation::Refresh {
            token: "opaque-refresh".into(),
            client_id: "c1".into(),
        }
    );
    assert_eq!(
        revoke_of(&directory, "not.a.token", None, NOW),
        Revocation::Nothing
    );

    let c1 = basic("c1", "s1");
    let body = format!("token={token}&token_type_hint=id_token");
    assert_eq!(
        refusal(revoke(&directory, &request(&c1, &body), NOW)),
        "unsupported_token_type"
    );
    // c2 may not revoke c1's token.
    let c2 = basic("c2", "s2");
    let body = format!("token={token}");
    assert_eq!(
        refusal(revoke(&directory, &request(&c2, &body), NOW)),
        "unauthorized_client"
    );
}

#[test]
fn introspection_tells_access_tokens_refresh_tokens_and_junk_apart() {
    let directory = clients([]);
    let verified = VerifiedTokens::new(16);
    let c2 = basic("c2", "s2");
    let introspect_of = |token: &str| {
        let body = format!("token={token}");
        introspect(&directory, &request(&c2, &body), &verified, &expect(NOW)).unwrap()
    };
    let token = jwt::encode(&directory.keys, &claims("j1", "c1", &["Read"]));
    let Introspection::Access(found) = introspect_of(&token) else {
        panic!("an access token");
    };
    assert_eq!((found.jti.as_str(), found.client_id.as_str()), ("j1", "c1"));
    let Introspection::Refresh(opaque) = introspect_of("opaque-refresh") else {
        panic!("perhaps a refresh token");
    };
    assert_eq!(opaque, "opaque-refresh");
    assert!(matches!(
        introspect_of("not.a.token"),
        Introspection::Inactive
    ));
}
