//! The three-legged flow through a browser (docs/contract.md §2, §7): sign-in, consent,
//! authorization code with PKCE, every refusal of the authorization endpoint, remembered
//! consent, developer apps awaiting approval, and the sign-in rate limit.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::browser::{Browser, authorize_url, code_client, param, person, pkce, token_form};
use crate::kit::Kit;
use crate::on_both_backends;

on_both_backends!(
    code_and_pkce_round_trip,
    remembered_consent_and_denial,
    refusals_of_the_authorization_endpoint,
    developer_apps_wait_for_approval,
    failed_sign_ins_are_slowed,
);

const REDIRECT: &str = "https://app.example/callback";

async fn code_and_pkce_round_trip(kit: &Kit) {
    let client = code_client(kit, &["Read", "Write"], &[REDIRECT], false).await;
    let alice = person(kit, "alice", "alice-password-1", &["Read"]).await;
    let browser = Browser::new(&kit.base);
    let (verifier, challenge) = pkce();
    let state = "st&te=1 ü/%";
    let start = browser
        .get(&authorize_url(
            &client.id,
            Some(REDIRECT),
            "read write",
            state,
            Some(&challenge),
        ))
        .await;
    assert_eq!(start.status, StatusCode::SEE_OTHER, "sign in first");
    let login = start.location.unwrap();
    assert!(login.starts_with("/login?next="), "{login}");
    let consent = browser
        .login_then_follow(&login, "alice", "alice-password-1")
        .await;
    assert_eq!(consent.status, StatusCode::OK, "{}", consent.body);
    assert!(consent.body.contains("Third-party app"), "names the app");
    assert!(
        consent.body.contains("<code>read</code>") && consent.body.contains("<code>write</code>")
    );
    assert!(
        consent.headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    let answer = browser.decide(&consent, "approve").await;
    assert_eq!(answer.status, StatusCode::FOUND);
    let back = answer.location.unwrap();
    assert!(back.starts_with(REDIRECT), "{back}");
    assert_eq!(
        param(&back, "state").as_deref(),
        Some(state),
        "state byte for byte"
    );
    let code = param(&back, "code").unwrap();
    assert!(code.len() >= 43, "256 random bits");

    let (status, tokens) = token_form(
        kit,
        Some(&client),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(
        tokens["scope"], "read",
        "asked ∩ app ∩ person: alice holds Read only"
    );
    assert!(
        tokens["refresh_token"]
            .as_str()
            .is_some_and(|r| r.len() >= 43)
    );
    let access = tokens["access_token"].as_str().unwrap();
    let (_, me) = kit.call(Method::GET, "/v1/me", Some(access), None).await;
    assert_eq!(me["user"], "alice", "{me}");
    assert_eq!(me["sub"], alice.as_str());
    assert_eq!(me["client_id"], client.id.as_str());
    assert_eq!(me["roles"], json!(["Read"]));
    let (status, diagrams) = kit
        .call(Method::GET, "/v1/diagrams", Some(access), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        diagrams["count"].as_u64().unwrap() >= 1,
        "Read lets her list diagrams"
    );
    let (status, _) = kit
        .call(
            Method::POST,
            "/v1/diagrams/1/processes",
            Some(access),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "no Write for alice");

    // The same code again: refused, and the tokens issued from it are revoked.
    let (status, reuse) = token_form(
        kit,
        Some(&client),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_eq!(
        (status, reuse["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    let (status, _) = kit.call(Method::GET, "/v1/me", Some(access), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "revoked with its code");
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let (status, again) = token_form(
        kit,
        Some(&client),
        &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
    )
    .await;
    assert_eq!(
        (status, again["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
}

/// Approves a fresh authorization and returns the code.
async fn code_for(
    kit: &Kit,
    browser: &Browser,
    client_id: &str,
    scope: &str,
    verifier_challenge: &(String, String),
) -> String {
    let page = browser
        .get(&authorize_url(
            client_id,
            Some(REDIRECT),
            scope,
            "s",
            Some(&verifier_challenge.1),
        ))
        .await;
    let back = if page.status == StatusCode::OK {
        browser.decide(&page, "approve").await.location.unwrap()
    } else {
        page.location.unwrap()
    };
    let _ = kit;
    param(&back, "code").expect("a code")
}

async fn remembered_consent_and_denial(kit: &Kit) {
    let client = code_client(kit, &["Read", "Write"], &[REDIRECT], false).await;
    person(kit, "bob", "bob-password-12", &["Read", "Write"]).await;
    let browser = Browser::new(&kit.base);
    assert_eq!(
        browser.login("bob", "bob-password-12").await.status,
        StatusCode::SEE_OTHER
    );
    let pair = pkce();
    // First time: the consent page; approve.
    let first = browser
        .get(&authorize_url(
            &client.id,
            Some(REDIRECT),
            "read",
            "one",
            Some(&pair.1),
        ))
        .await;
    assert_eq!(first.status, StatusCode::OK, "consent page");
    browser.decide(&first, "approve").await;
    // Same app, same (or fewer) scopes: straight back with a code.
    let again = browser
        .get(&authorize_url(
            &client.id,
            Some(REDIRECT),
            "read",
            "two",
            Some(&pair.1),
        ))
        .await;
    assert_eq!(
        again.status,
        StatusCode::FOUND,
        "no consent page the second time"
    );
    let back = again.location.unwrap();
    assert!(param(&back, "code").is_some());
    assert_eq!(param(&back, "state").as_deref(), Some("two"));
    // More scopes: asked again; deny.
    let wider = browser
        .get(&authorize_url(
            &client.id,
            Some(REDIRECT),
            "read write",
            "three",
            Some(&pair.1),
        ))
        .await;
    assert_eq!(wider.status, StatusCode::OK, "asked again for more");
    let denied = browser.decide(&wider, "deny").await;
    assert_eq!(denied.status, StatusCode::FOUND);
    let back = denied.location.unwrap();
    assert_eq!(param(&back, "error").as_deref(), Some("access_denied"));
    assert_eq!(param(&back, "state").as_deref(), Some("three"));
    assert!(param(&back, "code").is_none());
    // A forged consent answer (no CSRF token) is refused with a page.
    let forged = browser
        .post(
            "/oauth/authorize",
            &[
                ("response_type", "code"),
                ("client_id", &client.id),
                ("redirect_uri", REDIRECT),
                ("scope", "read write"),
                ("decision", "approve"),
                ("code_challenge", &pair.1),
                ("code_challenge_method", "S256"),
            ],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(forged.location.is_none());
    let _ = code_for(kit, &browser, &client.id, "read", &pair).await;
}

async fn refusals_of_the_authorization_endpoint(kit: &Kit) {
    let confidential = code_client(
        kit,
        &["Read"],
        &[REDIRECT, "https://app.example/other"],
        false,
    )
    .await;
    let public = code_client(kit, &["Read"], &["http://127.0.0.1:8765/cb"], true).await;
    let browser = Browser::new(&kit.base);
    let (_, challenge) = pkce();
    // Pages, never redirects: unknown client, unregistered or missing (of several) redirect URI.
    for url in [
        authorize_url(
            "no-such-client",
            Some(REDIRECT),
            "read",
            "s",
            Some(&challenge),
        ),
        authorize_url(
            &confidential.id,
            Some("https://evil.example/cb"),
            "read",
            "s",
            Some(&challenge),
        ),
        authorize_url(&confidential.id, None, "read", "s", Some(&challenge)),
    ] {
        let page = browser.get(&url).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{url}");
        assert!(page.location.is_none(), "{url}");
        assert!(
            page.headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
    }
    // Redirects with error and state (the client and its redirect URI are known).
    let cases = [
        (
            format!(
                "/oauth/authorize?response_type=token&client_id={}&redirect_uri={}&state=x1",
                confidential.id,
                urlencode(REDIRECT)
            ),
            REDIRECT,
            "unsupported_response_type",
        ),
        (
            authorize_url(&confidential.id, Some(REDIRECT), "admin", "x1", None),
            REDIRECT,
            "invalid_scope",
        ),
        (
            authorize_url(&public.id, None, "read", "x1", None),
            "http://127.0.0.1:8765/cb",
            "invalid_request",
        ),
        (
            format!(
                "/oauth/authorize?response_type=code&client_id={}&state=x1&code_challenge={challenge}&code_challenge_method=plain",
                public.id
            ),
            "http://127.0.0.1:8765/cb",
            "invalid_request",
        ),
    ];
    for (url, target, error) in cases {
        let page = browser.get(&url).await;
        assert_eq!(page.status, StatusCode::FOUND, "{url}: {}", page.body);
        let back = page.location.unwrap();
        assert!(back.starts_with(target), "{back}");
        assert_eq!(param(&back, "error").as_deref(), Some(error), "{url}");
        assert_eq!(param(&back, "state").as_deref(), Some("x1"));
    }
    // A repeated parameter is malformed: a page.
    let page = browser
        .get(&format!(
            "/oauth/authorize?client_id={0}&client_id={0}&response_type=code",
            confidential.id
        ))
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    // Omniport's spelling is the same endpoint.
    let page = browser
        .get(
            &authorize_url("no-such-client", None, "read", "s", None)
                .replace("authorize", "authorise"),
        )
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// A description of `words` words.
fn description(words: usize) -> String {
    const WORDS: [&str; 6] = ["reports", "for", "people", "who", "run", "processes"];
    (0..words)
        .map(|i| WORDS[i % WORDS.len()])
        .collect::<Vec<_>>()
        .join(" ")
}

async fn developer_apps_wait_for_approval(kit: &Kit) {
    person(kit, "dev", "developer-pass", &["Read", "Write"]).await;
    person(kit, "carol", "carol-password", &["Read"]).await;
    let developer = Browser::new(&kit.base);
    assert_eq!(
        developer.login("dev", "developer-pass").await.status,
        StatusCode::SEE_OTHER
    );
    let form = developer.get("/developer/apps/new").await;
    assert_eq!(form.status, StatusCode::OK);
    let csrf = form.input("csrf").unwrap();
    let register = |description: String, redirect: &'static str| {
        let csrf = csrf.clone();
        let developer = &developer;
        async move {
            developer
                .post(
                    "/developer/apps",
                    &[
                        ("csrf", csrf.as_str()),
                        ("name", "Reports"),
                        ("redirect_uris", redirect),
                        ("client_type", "confidential"),
                        ("description", description.as_str()),
                        ("scope", "read"),
                        ("terms", "yes"),
                    ],
                )
                .await
        }
    };
    // Refusals say what is wrong and keep what was typed.
    let short = register(description(126), REDIRECT).await;
    assert_eq!(short.status, StatusCode::BAD_REQUEST);
    assert!(short.body.contains("127 to 511 words"), "{}", short.body);
    let long = register(description(512), REDIRECT).await;
    assert_eq!(long.status, StatusCode::BAD_REQUEST);
    let plain_http = register(description(200), "http://app.example/cb").await;
    assert_eq!(plain_http.status, StatusCode::BAD_REQUEST);
    assert!(plain_http.body.contains("https"), "{}", plain_http.body);
    // Registered: pending, the secret shown once.
    let created = register(description(127), REDIRECT).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert!(created.body.contains("pending"));
    let client_id = created
        .body
        .split("Client ID: <code>")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap()
        .to_owned();
    let secret = created
        .body
        .split("<code class=\"secret\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap()
        .to_owned();
    let shown_again = developer.get(&format!("/developer/apps/{client_id}")).await;
    assert!(
        !shown_again.body.contains(&secret),
        "the secret is shown once"
    );
    // Pending: no token, no consent page.
    let creds = crate::kit::Creds {
        id: client_id.clone(),
        secret: secret.clone(),
    };
    let (status, refused) = token_form(
        kit,
        Some(&creds),
        &[("grant_type", "authorization_code"), ("code", "x")],
    )
    .await;
    assert_eq!(
        (status, refused["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("unauthorized_client"))
    );
    let carol = Browser::new(&kit.base);
    carol.login("carol", "carol-password").await;
    let (verifier, challenge) = pkce();
    let page = carol
        .get(&authorize_url(
            &client_id,
            None,
            "read",
            "s",
            Some(&challenge),
        ))
        .await;
    assert_eq!(
        page.status,
        StatusCode::BAD_REQUEST,
        "no consent page for a pending app"
    );
    assert!(page.body.contains("not been approved"));
    // Listed for admins; approved, the flow works.
    let admin = kit.admin_token().await;
    let (_, pending) = kit
        .call(
            Method::GET,
            "/v1/admin/apps?status=pending",
            Some(&admin),
            None,
        )
        .await;
    assert!(
        pending["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["client_id"] == client_id.as_str())
    );
    let (status, _) = kit
        .call(
            Method::PUT,
            &format!("/v1/admin/apps/{client_id}/approve"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let page = carol
        .get(&authorize_url(
            &client_id,
            None,
            "read",
            "s",
            Some(&challenge),
        ))
        .await;
    assert_eq!(
        page.status,
        StatusCode::OK,
        "the consent page once approved"
    );
    // Carol lets it act for her: a refresh token, active until the app is rejected (below).
    let code = crate::delegated::code(&carol, &creds, None, "read", Some(&challenge)).await;
    let (status, pair) = token_form(
        kit,
        Some(&creds),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{pair}");
    let refresh = pair["refresh_token"].as_str().unwrap().to_owned();
    let resource_server = kit.client_with(&["Read"]).await;
    let refresh_active = || async {
        let (status, body) = crate::delegated::introspect(kit, &resource_server, &refresh).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["active"].as_bool().unwrap()
    };
    assert!(refresh_active().await);
    // The owner edits redirect URLs and rotates the secret (shown once).
    let app_page = developer.get(&format!("/developer/apps/{client_id}")).await;
    let csrf = app_page.input("csrf").unwrap();
    let edited = developer
        .post(
            &format!("/developer/apps/{client_id}/redirect_uris"),
            &[
                ("csrf", &csrf),
                (
                    "redirect_uris",
                    "https://app.example/a\nhttps://app.example/b",
                ),
            ],
        )
        .await;
    assert_eq!(edited.status, StatusCode::OK);
    assert!(edited.body.contains("https://app.example/b"));
    let rotated = developer
        .post(
            &format!("/developer/apps/{client_id}/secret"),
            &[("csrf", &csrf)],
        )
        .await;
    assert!(rotated.body.contains("<code class=\"secret\">"));
    // Another person cannot see it; rejected apps get nothing either.
    assert_eq!(
        carol
            .get(&format!("/developer/apps/{client_id}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    kit.call(
        Method::PUT,
        &format!("/v1/admin/apps/{client_id}/reject"),
        Some(&admin),
        None,
    )
    .await;
    let page = carol
        .get(&authorize_url(
            &client_id,
            Some("https://app.example/a"),
            "read",
            "s",
            Some(&challenge),
        ))
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(!refresh_active().await, "a rejected app's refresh tokens");
    // An app never gets tokens of its own.
    let (_, listed) = kit
        .call(Method::GET, "/v1/admin/apps", Some(&admin), None)
        .await;
    let _: &Value = &listed;
}

async fn failed_sign_ins_are_slowed(kit: &Kit) {
    person(kit, "dora", "dora-password-1", &["Read"]).await;
    let browser = Browser::new(&kit.base);
    for _ in 0..5 {
        let page = browser.login("dora", "wrong password").await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED);
        assert!(page.body.contains("not right"));
    }
    let page = browser.login("dora", "wrong password").await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = page.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry));
    assert!(
        page.body.contains("Too many failed sign-ins"),
        "says so in words"
    );
    // Even the right password waits now; another person does not.
    assert_eq!(
        browser.login("dora", "dora-password-1").await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    person(kit, "erin", "erin-password-1", &["Read"]).await;
    assert_eq!(
        Browser::new(&kit.base)
            .login("erin", "erin-password-1")
            .await
            .status,
        StatusCode::SEE_OTHER
    );
}
