//! Tokens that act for a person (docs/contract.md §2): the token endpoint's rules for codes
//! (redirect URI, PKCE, expiry), refresh rotation and reuse, introspection, revocation of a
//! family, disabled people, two instances sharing sessions and families, and a third-party
//! OAuth client library driving the whole flow.

use reqwest::{Method, StatusCode};
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};

use crate::browser::{Browser, authorize_url, code_client, param, person, pkce, token_form};
use crate::kit::{Creds, Kit};
use crate::on_both_backends;

on_both_backends!(
    code_redemption_rules,
    refresh_rotation_and_reuse,
    replays_at_once_have_one_winner,
    introspection_and_revocation,
    disabled_people_get_nothing,
    an_oauth_library_drives_code_and_refresh,
);

pub(crate) const REDIRECT: &str = "https://app.example/callback";

/// A signed-in browser for a new person with these roles.
pub(crate) async fn signed_in(kit: &Kit, username: &str, roles: &[&str]) -> Browser {
    person(kit, username, "a-good-password", roles).await;
    let browser = Browser::new(&kit.base);
    assert_eq!(
        browser.login(username, "a-good-password").await.status,
        StatusCode::SEE_OTHER
    );
    browser
}

/// A code for `client`, approved in `browser`.
pub(crate) async fn code(
    browser: &Browser,
    client: &Creds,
    redirect_uri: Option<&str>,
    scope: &str,
    challenge: Option<&str>,
) -> String {
    let page = browser
        .get(&authorize_url(
            &client.id,
            redirect_uri,
            scope,
            "st",
            challenge,
        ))
        .await;
    let back = match page.status {
        StatusCode::OK => browser.decide(&page, "approve").await.location.unwrap(),
        StatusCode::FOUND => page.location.unwrap(),
        other => panic!("{other}: {}", page.body),
    };
    param(&back, "code").unwrap_or_else(|| panic!("no code in {back}"))
}

fn is_invalid_grant(status: StatusCode, body: &Value) -> bool {
    status == StatusCode::BAD_REQUEST && body["error"] == "invalid_grant"
}

async fn code_redemption_rules(kit: &Kit) {
    let client = code_client(kit, &["Read"], &[REDIRECT], false).await;
    let browser = signed_in(kit, "rules", &["Read"]).await;
    let (verifier, challenge) = pkce();

    // redirect_uri sent to the authorization endpoint must be sent again, equal.
    let c = code(&browser, &client, Some(REDIRECT), "read", Some(&challenge)).await;
    let (status, body) = redeem(kit, &client, &c, &verifier).await;
    assert!(
        is_invalid_grant(status, &body),
        "redirect_uri missing: {body}"
    );
    let c = code(&browser, &client, Some(REDIRECT), "read", Some(&challenge)).await;
    let (status, body) = token_form(
        kit,
        Some(&client),
        &[
            ("grant_type", "authorization_code"),
            ("code", &c),
            ("redirect_uri", "https://app.example/other"),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert!(
        is_invalid_grant(status, &body),
        "redirect_uri differs: {body}"
    );
    // Not sent there: absent or equal (to the one registered URI) is fine, another is not.
    let c = code(&browser, &client, None, "read", Some(&challenge)).await;
    let (status, body) = redeem(kit, &client, &c, &verifier).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for (given, accepted) in [(REDIRECT, true), ("https://app.example/other", false)] {
        let c = code(&browser, &client, None, "read", Some(&challenge)).await;
        let form = [
            ("grant_type", "authorization_code"),
            ("code", &c),
            ("redirect_uri", given),
            ("code_verifier", &verifier),
        ];
        let (status, body) = token_form(kit, Some(&client), &form).await;
        assert_eq!(status == StatusCode::OK, accepted, "{given}: {body}");
        assert_eq!(
            is_invalid_grant(status, &body),
            !accepted,
            "{given}: {body}"
        );
    }

    // PKCE: a wrong or missing verifier is refused.
    let c = code(&browser, &client, None, "read", Some(&challenge)).await;
    let (wrong, _) = pkce();
    let (status, body) = redeem(kit, &client, &c, &wrong).await;
    assert!(is_invalid_grant(status, &body), "wrong verifier: {body}");
    // A refused redemption changes nothing: the code still redeems with its own verifier.
    let (status, body) = redeem(kit, &client, &c, &verifier).await;
    assert_eq!(status, StatusCode::OK, "after a refused try: {body}");
    let c = code(&browser, &client, None, "read", Some(&challenge)).await;
    let (status, body) = token_form(
        kit,
        Some(&client),
        &[("grant_type", "authorization_code"), ("code", &c)],
    )
    .await;
    assert!(is_invalid_grant(status, &body), "no verifier: {body}");

    // The code belongs to its client; a confidential client must authenticate.
    let other = code_client(kit, &["Read"], &[REDIRECT], false).await;
    let c = code(&browser, &client, None, "read", Some(&challenge)).await;
    let (status, body) = redeem(kit, &other, &c, &verifier).await;
    assert!(
        is_invalid_grant(status, &body),
        "another client's code: {body}"
    );
    let (status, body) = token_form(
        kit,
        None,
        &[
            ("grant_type", "authorization_code"),
            ("code", &c),
            ("client_id", &client.id),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"))
    );

    // A code lives 60 seconds.
    let c = code(&browser, &client, None, "read", Some(&challenge)).await;
    let db = Database::connect(&kit.db.url).await.unwrap();
    db.execute_unprepared("UPDATE authorization_codes SET expires_at = 0")
        .await
        .unwrap();
    let (status, body) = redeem(kit, &client, &c, &verifier).await;
    assert!(is_invalid_grant(status, &body), "expired: {body}");

    // A public client needs no secret, only its PKCE verifier.
    let public = code_client(kit, &["Read"], &["http://127.0.0.1:8765/cb"], true).await;
    let c = code(&browser, &public, None, "read", Some(&challenge)).await;
    let (status, body) = token_form(
        kit,
        None,
        &[
            ("grant_type", "authorization_code"),
            ("code", &c),
            ("client_id", &public.id),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["refresh_token"].is_string());
    // …and no client_credentials.
    let (status, body) = token_form(
        kit,
        None,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &public.id),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("unauthorized_client"))
    );
}

/// Redeems a code for `client` (Basic) with this verifier, sending no `redirect_uri`.
async fn redeem(kit: &Kit, client: &Creds, code: &str, verifier: &str) -> (StatusCode, Value) {
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("code_verifier", verifier),
    ];
    token_form(kit, Some(client), &form).await
}

/// A fresh pair of tokens for a new person.
pub(crate) async fn tokens(kit: &Kit, client: &Creds, username: &str) -> Value {
    let browser = signed_in(kit, username, &["Read", "Write"]).await;
    let (verifier, challenge) = pkce();
    let c = code(&browser, client, None, "read write", Some(&challenge)).await;
    let (status, body) = redeem(kit, client, &c, &verifier).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn refresh_rotation_and_reuse(kit: &Kit) {
    let client = code_client(kit, &["Read", "Write"], &[REDIRECT], false).await;
    let first = tokens(kit, &client, "rot").await;
    let refresh_1 = first["refresh_token"].as_str().unwrap();
    // Rotation: each use gives a new refresh token; narrowing is allowed, widening is not.
    let (status, second) = token_form(
        kit,
        Some(&client),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_1),
            ("scope", "read"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{second}");
    assert_eq!(second["scope"], "read");
    let refresh_2 = second["refresh_token"].as_str().unwrap();
    assert_ne!(refresh_1, refresh_2);
    let (status, wider) = token_form(
        kit,
        Some(&client),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_2),
            ("scope", "read write admin"),
        ],
    )
    .await;
    assert_eq!(
        (status, wider["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_scope"))
    );
    // A confidential client must authenticate to refresh.
    let (status, body) = token_form(
        kit,
        None,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_2),
            ("client_id", &client.id),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"))
    );
    // A blank scope is as if none were sent: what was granted (read, narrowed above).
    let (status, third) = token_form(
        kit,
        Some(&client),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_2),
            ("scope", " "),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{third}");
    assert_eq!(third["scope"], "read");
    let access_3 = third["access_token"].as_str().unwrap();
    let refresh_3 = third["refresh_token"].as_str().unwrap();
    assert_eq!(
        kit.call(Method::GET, "/v1/me", Some(access_3), None)
            .await
            .0,
        StatusCode::OK
    );

    // Presenting a used refresh token revokes the whole family.
    let (status, body) = token_form(
        kit,
        Some(&client),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_1),
        ],
    )
    .await;
    assert!(is_invalid_grant(status, &body), "{body}");
    let (status, body) = token_form(
        kit,
        Some(&client),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_3),
        ],
    )
    .await;
    assert!(
        is_invalid_grant(status, &body),
        "the newest of the family is revoked too: {body}"
    );
    assert_eq!(
        kit.call(Method::GET, "/v1/me", Some(access_3), None)
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    // Another client's refresh token is not yours.
    let other = code_client(kit, &["Read"], &[REDIRECT], false).await;
    let fresh = tokens(kit, &client, "rot2").await;
    let (status, body) = token_form(
        kit,
        Some(&other),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", fresh["refresh_token"].as_str().unwrap()),
        ],
    )
    .await;
    assert!(is_invalid_grant(status, &body), "{body}");
}

/// Sends one grant `n` times at once: exactly one must win, every other answer must be
/// `invalid_grant`. The winner's answer.
async fn one_winner_of(kit: &Kit, client: &Creds, form: &[(&str, &str)], n: usize) -> Value {
    let form: Vec<(String, String)> = form
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let requests = (0..n).map(|_| {
        let request = kit
            .http
            .post(kit.url("/oauth/token"))
            .basic_auth(&client.id, Some(&client.secret))
            .form(&form);
        async move {
            let response = request.send().await.unwrap();
            (
                response.status(),
                response.json().await.unwrap_or(Value::Null),
            )
        }
    });
    let mut answers = crate::concurrency::futures_all(requests).await;
    answers.sort_by_key(|(status, _)| *status != StatusCode::OK);
    assert_eq!(answers[0].0, StatusCode::OK, "{answers:?}");
    for (status, body) in &answers[1..] {
        assert!(is_invalid_grant(*status, body), "{answers:?}");
    }
    answers.swap_remove(0).1
}

/// One code, and then one refresh token, each presented eight times at once: exactly one
/// winner, every other answer `invalid_grant`, and the replays revoke what the winner got
/// (RFC 6749 §4.1.2; on SQLite the eight may share one batch of writes).
async fn replays_at_once_have_one_winner(kit: &Kit) {
    let client = code_client(kit, &["Read", "Write"], &[REDIRECT], false).await;
    let browser = signed_in(kit, "replayer", &["Read"]).await;
    let (verifier, challenge) = pkce();
    let c = code(&browser, &client, None, "read", Some(&challenge)).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", c.as_str()),
        ("code_verifier", verifier.as_str()),
    ];
    let won = one_winner_of(kit, &client, &form, 8).await;
    let refresh = won["refresh_token"].as_str().unwrap();
    let (status, body) = token_form(
        kit,
        Some(&client),
        &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
    )
    .await;
    assert!(
        is_invalid_grant(status, &body),
        "revoked by the replays: {body}"
    );

    let fresh = tokens(kit, &client, "replayer2").await;
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", fresh["refresh_token"].as_str().unwrap()),
    ];
    let won = one_winner_of(kit, &client, &form, 8).await;
    let access = won["access_token"].as_str().unwrap();
    assert_eq!(
        kit.call(Method::GET, "/v1/me", Some(access), None).await.0,
        StatusCode::UNAUTHORIZED,
        "the winner's access token is revoked with its family"
    );
}

/// `POST /oauth/introspect` for `token`, as `creds` (Basic).
pub(crate) async fn introspect(kit: &Kit, creds: &Creds, token: &str) -> (StatusCode, Value) {
    let response = kit
        .http
        .post(kit.url("/oauth/introspect"))
        .basic_auth(&creds.id, Some(&creds.secret))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    (
        response.status(),
        response.json().await.unwrap_or(Value::Null),
    )
}

async fn introspection_and_revocation(kit: &Kit) {
    let client = code_client(kit, &["Read", "Write"], &[REDIRECT], false).await;
    let resource_server = kit.client_with(&["Read"]).await;
    let pair = tokens(kit, &client, "intro").await;
    let access = pair["access_token"].as_str().unwrap();
    let refresh = pair["refresh_token"].as_str().unwrap();
    let (status, body) = introspect(kit, &resource_server, access).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["active"], true, "{body}");
    assert_eq!(body["username"], "intro");
    assert_eq!(body["client_id"], client.id.as_str());
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "read write");
    let config = &kit.server.app.config;
    let lifetime = |body: &Value| body["exp"].as_i64().unwrap() - body["iat"].as_i64().unwrap();
    assert_eq!(lifetime(&body), config.access_token_ttl, "{body}");
    let (_, body) = introspect(kit, &resource_server, refresh).await;
    assert_eq!(
        (body["active"].clone(), body["token_type"].clone()),
        (json!(true), json!("refresh_token"))
    );
    assert_eq!(lifetime(&body), config.refresh_token_ttl, "{body}");
    for junk in ["nonsense", "a.b.c", ""] {
        let (status, body) = introspect(kit, &resource_server, junk).await;
        if junk.is_empty() {
            assert_eq!(status, StatusCode::BAD_REQUEST);
        } else {
            assert_eq!(body, json!({"active": false}), "{junk}");
        }
    }
    // Introspection needs client credentials.
    let response = kit
        .http
        .post(kit.url("/oauth/introspect"))
        .form(&[("token", access)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    // Revoking the refresh token revokes its family.
    let response = kit
        .http
        .post(kit.url("/oauth/revoke"))
        .basic_auth(&client.id, Some(&client.secret))
        .form(&[("token", refresh), ("token_type_hint", "refresh_token")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        introspect(kit, &resource_server, refresh).await.1["active"],
        false
    );
    assert_eq!(
        introspect(kit, &resource_server, access).await.1["active"],
        false
    );
    assert_eq!(
        kit.call(Method::GET, "/v1/me", Some(access), None).await.0,
        StatusCode::UNAUTHORIZED
    );
    // Only the client the token was issued to may revoke it.
    let pair = tokens(kit, &client, "intro2").await;
    let response = kit
        .http
        .post(kit.url("/oauth/revoke"))
        .basic_auth(&resource_server.id, Some(&resource_server.secret))
        .form(&[("token", pair["refresh_token"].as_str().unwrap())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    // The metadata names it all.
    let (_, metadata) = kit
        .call(
            Method::GET,
            "/.well-known/oauth-authorization-server",
            None,
            None,
        )
        .await;
    assert_eq!(metadata["response_types_supported"], json!(["code"]));
    assert_eq!(
        metadata["code_challenge_methods_supported"],
        json!(["S256"])
    );
    assert_eq!(
        metadata["introspection_endpoint"],
        kit.url("/oauth/introspect")
    );
    assert_eq!(
        metadata["authorization_endpoint"],
        kit.url("/oauth/authorize")
    );
    assert!(
        metadata["grant_types_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("refresh_token"))
    );
}

async fn disabled_people_get_nothing(kit: &Kit) {
    let client = code_client(kit, &["Read", "Write"], &[REDIRECT], false).await;
    let pair = tokens(kit, &client, "gone").await;
    let access = pair["access_token"].as_str().unwrap();
    let admin = kit.admin_token().await;
    let (status, body) = kit
        .call(
            Method::PUT,
            "/v1/admin/users/gone/disable",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        kit.call(Method::GET, "/v1/me", Some(access), None).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (status, body) = token_form(
        kit,
        Some(&client),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", pair["refresh_token"].as_str().unwrap()),
        ],
    )
    .await;
    assert!(is_invalid_grant(status, &body), "{body}");
    // A disabled person cannot sign in either.
    let browser = Browser::new(&kit.base);
    assert_eq!(
        browser.login("gone", "a-good-password").await.status,
        StatusCode::UNAUTHORIZED
    );
    // Removing a role from the person narrows their live tokens at once.
    let pair = tokens(kit, &client, "narrow").await;
    let access = pair["access_token"].as_str().unwrap();
    kit.call(
        Method::DELETE,
        "/v1/admin/users/narrow/roles",
        Some(&admin),
        Some(json!({"roles": ["Write"]})),
    )
    .await;
    let (_, me) = kit.call(Method::GET, "/v1/me", Some(access), None).await;
    assert_eq!(me["roles"], json!(["Read"]), "{me}");
}

/// The Rust `oauth2` crate (written by others) drives authorization code + PKCE and refresh;
/// only the person's part in the browser is ours.
async fn an_oauth_library_drives_code_and_refresh(kit: &Kit) {
    use oauth2::{
        AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, PkceCodeChallenge,
        RedirectUrl, RefreshToken, Scope, TokenResponse, TokenUrl, basic::BasicClient,
    };
    let app = code_client(kit, &["Read", "Write"], &[REDIRECT], false).await;
    let browser = signed_in(kit, "library", &["Read"]).await;
    let client = BasicClient::new(ClientId::new(app.id.clone()))
        .set_client_secret(ClientSecret::new(app.secret.clone()))
        .set_auth_uri(AuthUrl::new(kit.url("/oauth/authorize")).unwrap())
        .set_token_uri(TokenUrl::new(kit.url("/oauth/token")).unwrap())
        .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf) = client
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("read".into()))
        .set_pkce_challenge(challenge)
        .url();
    let consent = browser.get(url.as_str()).await;
    assert_eq!(consent.status, StatusCode::OK, "{}", consent.body);
    let back = browser.decide(&consent, "approve").await.location.unwrap();
    assert_eq!(
        param(&back, "state").as_deref(),
        Some(csrf.secret().as_str())
    );
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let token = client
        .exchange_code(AuthorizationCode::new(param(&back, "code").unwrap()))
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("the library redeems the code");
    let access = token.access_token().secret().clone();
    assert_eq!(
        kit.call(Method::GET, "/v1/me", Some(&access), None).await.1["user"],
        "library"
    );
    let refresh = token.refresh_token().expect("a refresh token").clone();
    let refreshed = client
        .exchange_refresh_token(&refresh)
        .request_async(&http)
        .await
        .expect("the library refreshes");
    assert_ne!(
        refreshed.refresh_token().unwrap().secret(),
        refresh.secret()
    );
    // The library reports the reuse as the server's invalid_grant.
    let reused = client
        .exchange_refresh_token(&RefreshToken::new(refresh.secret().clone()))
        .request_async(&http)
        .await;
    let message = format!("{reused:?}");
    assert!(message.contains("invalid_grant"), "{message}");
}

/// Two instances on one PostgreSQL database: a session made on one works on the other, and a
/// refresh family is one family on both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_sessions_and_families() {
    let Some(kit) = Kit::start(crate::kit::Backend::Postgres).await else {
        return;
    };
    let other = kit.another_instance().await;
    let client = code_client(&kit, &["Read"], &[REDIRECT], false).await;
    let browser = signed_in(&kit, "shared", &["Read"]).await;
    // The client is new: let the other instance see it now rather than at its next poll (this
    // test is about sessions and families; propagation has its own tests).
    other.app.sync().await.unwrap();
    // The same browser (cookie) on the other instance: no sign-in, straight to consent.
    let on_b = Browser {
        http: browser.http.clone(),
        base: other.base_url(),
    };
    let (verifier, challenge) = pkce();
    let page = on_b
        .get(&authorize_url(
            &client.id,
            None,
            "read",
            "s",
            Some(&challenge),
        ))
        .await;
    assert_eq!(
        page.status,
        StatusCode::OK,
        "the session is shared: {}",
        page.body
    );
    let back = on_b.decide(&page, "approve").await.location.unwrap();
    let c = param(&back, "code").unwrap();
    // Redeemed on A, refreshed on B, the old refresh token replayed on A: the family dies.
    let (_, pair) = token_form(
        &kit,
        Some(&client),
        &[
            ("grant_type", "authorization_code"),
            ("code", &c),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    let refresh_1 = pair["refresh_token"].as_str().unwrap().to_owned();
    let http = reqwest::Client::new();
    let on_b_token = http
        .post(format!("{}/oauth/token", other.base_url()))
        .basic_auth(&client.id, Some(&client.secret))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_1.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(on_b_token.status(), StatusCode::OK);
    let pair_2: Value = on_b_token.json().await.unwrap();
    let (status, body) = token_form(
        &kit,
        Some(&client),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh_1),
        ],
    )
    .await;
    assert!(is_invalid_grant(status, &body));
    let (status, body) = token_form(
        &kit,
        Some(&client),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", pair_2["refresh_token"].as_str().unwrap()),
        ],
    )
    .await;
    assert!(
        is_invalid_grant(status, &body),
        "the family is revoked everywhere"
    );
    other.stop().await;
    kit.finish().await;
}
