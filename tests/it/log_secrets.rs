//! Nothing secret reaches the log (docs/contract.md §10, Logs): the real binary at
//! `RUST_LOG=debug` through a whole working day — clients and their secrets, tokens of every
//! grant, a code with PKCE through sign-in and consent, refresh, introspection, revocation,
//! sign-in with a password, a flow request — and then every secret, and every substantial
//! piece of one, is looked for in what it wrote.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::binary::{Api, Binary, seed};
use crate::browser::{Browser, authorize_url, param, pkce};
use crate::kit::{Backend, Creds, TestDb};

const REDIRECT: &str = "https://app.example/callback";

/// The secrets met on the way, by what they are.
#[derive(Default)]
struct Secrets(Vec<(String, String)>);

impl Secrets {
    fn add(&mut self, what: &str, value: &str) {
        assert!(!value.is_empty(), "{what} is empty");
        self.0.push((what.to_owned(), value.to_owned()));
    }

    /// The parts worth looking for: a JWT's claims and signature (its header names only the
    /// algorithm and the key), anything else whole.
    fn pieces(value: &str) -> Vec<&str> {
        let parts: Vec<&str> = value.split('.').collect();
        if parts.len() == 3 && value.starts_with("eyJ") {
            parts[1..].to_vec()
        } else {
            vec![value]
        }
    }

    /// Every secret found in `log`, whole or as a window of 12 characters.
    fn found_in(&self, log: &str) -> Vec<String> {
        const WINDOW: usize = 12;
        let mut found = Vec::new();
        for (what, value) in &self.0 {
            if log.contains(value.as_str()) {
                found.push(format!("{what} (whole)"));
                continue;
            }
            for piece in Self::pieces(value) {
                let chars: Vec<char> = piece.chars().collect();
                let window = WINDOW.min(chars.len());
                let hit = (0..=chars.len() - window)
                    .map(|at| chars[at..at + window].iter().collect::<String>())
                    .find(|part| log.contains(part.as_str()));
                if let Some(part) = hit {
                    found.push(format!("{what}: {part:?}"));
                    break;
                }
            }
        }
        found
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_debug_log_keeps_no_secret() {
    let db = TestDb::new(Backend::Sqlite).await.unwrap();
    let seeded = seed(&db.url);
    let dir = tempfile::tempdir().unwrap();
    let server = Binary::start(
        &db.url,
        &[("RUST_LOG", "debug")],
        &dir.path().join("flowgate.log"),
    )
    .await;
    let api = Api::new(&server.base);
    let mut secrets = Secrets::default();
    secrets.add("the bootstrap client's secret", &seeded.admin.secret);
    secrets.add("the bootstrap admin's password", &seeded.admin_password);

    // Client credentials, Basic and in the body.
    let admin = api.token(&seeded.admin).await;
    secrets.add("an admin access token", &admin);
    let (status, body) = api
        .call(
            Method::POST,
            "/v1/admin/clients",
            Some(&admin),
            Some(json!({"name": "Logged app", "roles": ["Read", "Write"], "redirect_uris": [REDIRECT]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let mut client = Creds {
        id: body["item"]["client_id"].as_str().unwrap().to_owned(),
        secret: body["item"]["client_secret"].as_str().unwrap().to_owned(),
    };
    secrets.add("a new client's secret", &client.secret);
    let (status, body) = api
        .call(
            Method::POST,
            &format!("/v1/admin/clients/{}/secret", client.id),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    client.secret = body["item"]["client_secret"].as_str().unwrap().to_owned();
    secrets.add("a rotated client secret", &client.secret);
    let (status, body) = api
        .token_form(
            None,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &client.id),
                ("client_secret", &client.secret),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let app_token = body["access_token"].as_str().unwrap().to_owned();
    secrets.add("a token of client_secret_post", &app_token);
    // A wrong secret is logged as a failure, never as the secret.
    let wrong = Creds {
        id: client.id.clone(),
        secret: "WrongSecretThatMustNotBeLogged-123".into(),
    };
    let (status, _) = api
        .token_form(Some(&wrong), &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    secrets.add("a wrong client secret", &wrong.secret);

    // A person, signed in with a password (a wrong one first).
    let password = "Pw-of-Dana-9k2LxQ7r";
    let (status, body) = api
        .call(
            Method::POST,
            "/v1/admin/users",
            Some(&admin),
            Some(json!({"username": "dana", "password": password, "roles": ["Read", "Write"]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    secrets.add("a person's password", password);
    let browser = Browser::new(&server.base);
    let failed = browser.login("dana", "Not-Danas-Password-55").await;
    assert_eq!(failed.status, StatusCode::UNAUTHORIZED);
    secrets.add("a wrong password", "Not-Danas-Password-55");
    let signed_in = browser.login("dana", password).await;
    assert_eq!(
        signed_in.status,
        StatusCode::SEE_OTHER,
        "{}",
        signed_in.body
    );
    for cookie in signed_in.headers.get_all("set-cookie") {
        let cookie = cookie.to_str().unwrap();
        let value = cookie.split(';').next().unwrap().split_once('=').unwrap().1;
        if value.len() >= 16 {
            secrets.add("a session cookie", value);
        }
    }
    let admin_browser = Browser::new(&server.base);
    let admin_in = admin_browser.login("admin", &seeded.admin_password).await;
    assert_eq!(admin_in.status, StatusCode::SEE_OTHER, "{}", admin_in.body);

    // Authorization code with PKCE, through consent.
    let (verifier, challenge) = pkce();
    secrets.add("a PKCE verifier", &verifier);
    let consent = browser
        .get(&authorize_url(
            &client.id,
            Some(REDIRECT),
            "read write",
            "st",
            Some(&challenge),
        ))
        .await;
    assert_eq!(consent.status, StatusCode::OK, "{}", consent.body);
    let back = browser.decide(&consent, "approve").await.location.unwrap();
    let code = param(&back, "code").unwrap();
    secrets.add("an authorization code", &code);
    let (status, tokens) = api
        .token_form(
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
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    secrets.add("a delegated access token", &access);
    secrets.add("a refresh token", &refresh);
    let (status, _) = api.call(Method::GET, "/v1/me", Some(&access), None).await;
    assert_eq!(status, StatusCode::OK);

    // Refresh, introspect, revoke.
    let (status, rotated) = api
        .token_form(
            Some(&client),
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let access2 = rotated["access_token"].as_str().unwrap().to_owned();
    let refresh2 = rotated["refresh_token"].as_str().unwrap().to_owned();
    secrets.add("a refreshed access token", &access2);
    secrets.add("a rotated refresh token", &refresh2);
    for token in [&access2, &refresh2, &admin] {
        let response = api
            .http
            .post(api.url("/oauth/introspect"))
            .basic_auth(&client.id, Some(&client.secret))
            .form(&[("token", token.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
    for token in [&access2, &refresh2] {
        let response = api
            .http
            .post(api.url("/oauth/revoke"))
            .basic_auth(&client.id, Some(&client.secret))
            .form(&[("token", token.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
    let (status, _) = api.call(Method::GET, "/v1/me", Some(&access2), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "revoked");
    // A used refresh token presented again (the family is revoked), and a token in a query.
    let (status, _) = api
        .token_form(
            Some(&client),
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let _ = api
        .http
        .get(api.url(&format!("/v1/utils/ping?access_token={app_token}")))
        .send()
        .await
        .unwrap();

    // A flow request, confirmed in the browser.
    let dgrm_id = api.dgrm_id(&app_token, "Document").await;
    let (status, ticket) = api
        .call(
            Method::POST,
            "/v1/flow_requests",
            Some(&app_token),
            Some(json!({"dgrm_id": dgrm_id, "person": "dana"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{ticket}");
    let confirm_id = ticket["confirm_id"].as_str().unwrap().to_owned();
    secrets.add("a flow request's confirm id", &confirm_id);
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("confirm_id", &confirm_id)
        .append_pair("action", "add")
        .append_pair("callback_url", REDIRECT)
        .finish();
    let page = browser
        .get(&format!("/v1/flow_requests/confirm/?{query}"))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let fields = [
        ("csrf", page.input("csrf").unwrap()),
        ("confirm_id", page.input("confirm_id").unwrap()),
        ("action", page.input("action").unwrap()),
        ("callback_url", page.input("callback_url").unwrap()),
        ("decision", "confirm".to_owned()),
    ];
    let borrowed: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let done = browser.post("/v1/flow_requests/confirm/", &borrowed).await;
    assert_eq!(done.status, StatusCode::FOUND, "{}", done.body);
    assert!(done.location.unwrap().contains("status=active"));

    let log_path = server.log.clone();
    server.terminate().await;
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        log.lines().count() > 25 && log.contains("path=/oauth/token"),
        "a log was written: {log}"
    );
    // Each request's line names its request id, through the span it is written in.
    let access_line = log
        .lines()
        .find(|line| line.contains("path=/oauth/token"))
        .unwrap();
    assert!(
        access_line.contains(" INFO request{request_id=")
            && access_line.contains("}: flowgate::telemetry: request method=POST"),
        "{access_line}"
    );
    let found = secrets.found_in(&log);
    assert!(
        found.is_empty(),
        "secrets in the log: {found:#?}\n(log at {}, {} lines)",
        log_path.display(),
        log.lines().count()
    );
    eprintln!(
        "{} secrets looked for in {} log lines",
        secrets.0.len(),
        log.lines().count()
    );
}
