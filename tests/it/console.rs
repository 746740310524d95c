//! The admin console at `/admin/` (docs/contract.md §6): who gets in, CSRF refusals and the
//! "who may do this?" tester over plain HTTP; then the whole console in real headless Chromium
//! through chromedriver (WebDriver), with screenshots. The Chromium test skips, saying why,
//! when `chromium` or `chromedriver` is not installed (unless `FLOWGATE_REQUIRE_CHROMIUM=1`,
//! as in CI).

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use flowgate::roles::RoleSet;
use flowgate::services::policy::{self, GateAnswer};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::browser::{Browser, Page};
use crate::kit::{Backend, Creds, Kit};
use crate::on_both_backends;

on_both_backends!(
    only_signed_in_admins_get_in,
    console_forms_need_the_sessions_csrf_token,
    people_and_rules_change_through_the_console,
);

/// The bootstrap admin person's credentials.
fn admin_person(kit: &Kit) -> (String, String) {
    let bootstrap = kit.server.bootstrap.as_ref().unwrap();
    (
        bootstrap.admin_username.clone(),
        bootstrap.admin_password.clone(),
    )
}

/// A browser signed in as the bootstrap admin.
async fn admin_browser(kit: &Kit) -> Browser {
    let (username, password) = admin_person(kit);
    let browser = Browser::new(&kit.base);
    let login = browser.login(&username, &password).await;
    assert_eq!(login.status, StatusCode::SEE_OTHER, "{}", login.body);
    browser
}

fn assert_page_headers(page: &Page) {
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(!csp.contains("script-src"), "no script allowed: {csp}");
    assert_eq!(page.headers["x-content-type-options"], "nosniff");
    assert_eq!(page.headers["referrer-policy"], "no-referrer");
    assert_eq!(page.headers["cache-control"], "no-store");
}

const SECTIONS: &[&str] = &[
    "/admin/",
    "/admin/clients",
    "/admin/clients/new",
    "/admin/apps",
    "/admin/people",
    "/admin/policy",
    "/admin/keys",
    "/admin/audit",
];

async fn only_signed_in_admins_get_in(kit: &Kit) {
    // Not signed in: to the sign-in page, coming back here afterwards.
    let stranger = Browser::new(&kit.base);
    for path in SECTIONS {
        let page = stranger.get(path).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{path}");
        let next: String = url::form_urlencoded::byte_serialize(path.as_bytes()).collect();
        assert_eq!(
            page.location.as_deref(),
            Some(format!("/login?next={next}").as_str())
        );
    }
    let bare = stranger.get("/admin").await;
    assert_eq!(bare.location.as_deref(), Some("/admin/"));
    let posted = stranger
        .post("/admin/keys/rotate", &[("csrf", "anything")])
        .await;
    assert_eq!(posted.status, StatusCode::SEE_OTHER);
    assert_eq!(posted.location.as_deref(), Some("/login?next=%2Fadmin%2F"));

    // Signed in without the admin flag: a 403 page, also for a form with their own token.
    crate::browser::person(kit, "reader", "reader-password", &["Read"]).await;
    let reader = Browser::new(&kit.base);
    let login = reader.login("reader", "reader-password").await;
    assert_eq!(login.status, StatusCode::SEE_OTHER);
    for path in SECTIONS {
        let page = reader.get(path).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}");
        assert!(page.body.contains("Not allowed"), "{}", page.body);
        assert!(page.body.contains("for administrators"), "{}", page.body);
        assert_page_headers(&page);
    }
    let own_token = reader.get("/developer/apps").await.input("csrf").unwrap();
    let admin = kit.admin_token().await;
    let rules_before = kit
        .call(Method::GET, "/v1/admin/policy", Some(&admin), None)
        .await
        .1["count"]
        .clone();
    let refused = reader
        .post(
            "/admin/policy",
            &[
                ("csrf", &own_token),
                ("role", "Read"),
                ("method", "GET"),
                ("path", "/v1/utils/roles"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let rules_after = kit
        .call(Method::GET, "/v1/admin/policy", Some(&admin), None)
        .await
        .1["count"]
        .clone();
    assert_eq!(rules_before, rules_after);

    // The admin sees every section, with the page headers and no script.
    let admin_browser = admin_browser(kit).await;
    for path in SECTIONS {
        let page = admin_browser.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.body);
        assert_page_headers(&page);
        assert!(!page.body.contains("<script"), "{path}");
        assert!(page.body.contains("aria-current=\"page\""), "{path}");
    }
}

async fn console_forms_need_the_sessions_csrf_token(kit: &Kit) {
    let browser = admin_browser(kit).await;
    let csrf = browser
        .get("/admin/clients/new")
        .await
        .input("csrf")
        .unwrap();
    let admin = kit.admin_token().await;
    let count = |path: &'static str| {
        let admin = admin.clone();
        async move { kit.call(Method::GET, path, Some(&admin), None).await.1["count"].clone() }
    };
    let clients_before = count("/v1/admin/clients").await;
    let (_, rules) = kit
        .call(Method::GET, "/v1/admin/policy", Some(&admin), None)
        .await;
    let rule_id = rules["items"][0]["id"].as_i64().unwrap();

    // Another session's token (a second sign-in of the same admin) is not this session's.
    let other = admin_browser(kit).await;
    let other_token = other.get("/admin/").await.input("csrf").unwrap();
    assert_ne!(other_token, csrf);
    for bad in [None, Some(""), Some("forged"), Some(other_token.as_str())] {
        let mut create = vec![("name", "Forged"), ("role", "Admin")];
        if let Some(token) = bad {
            create.push(("csrf", token));
        }
        let answers = [
            browser.post("/admin/clients", &create).await,
            browser
                .post(&format!("/admin/policy/{rule_id}/delete"), &create[2..])
                .await,
            browser.post("/admin/keys/rotate", &create[2..]).await,
            browser
                .post(
                    "/admin/people",
                    &[
                        ("username", "mallory"),
                        ("password", "x".repeat(12).as_str()),
                    ],
                )
                .await,
        ];
        for page in answers {
            assert_eq!(page.status, StatusCode::FORBIDDEN, "{bad:?}: {}", page.body);
            assert!(page.body.contains("stale or came from another site"));
        }
    }
    assert_eq!(count("/v1/admin/clients").await, clients_before);
    assert_eq!(count("/v1/admin/policy").await, rules["count"]);
    assert_eq!(count("/v1/admin/users").await, json!(1));

    // With the token: created, the secret shown once in a read-only field, audited as the person.
    let created = browser
        .post(
            "/admin/clients",
            &[
                ("csrf", csrf.as_str()),
                ("name", "Console ERP"),
                ("client_type", "confidential"),
                ("role", "Read"),
                ("role", "Write"),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert!(created.body.contains("Copy this secret now"));
    let secret = created.input("client_secret").unwrap();
    assert_eq!(secret.len(), 43);
    let client_id = created
        .body
        .split("<code id=\"client_id\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap()
        .to_owned();
    let shown = browser.get(&format!("/admin/clients/{client_id}")).await;
    assert_eq!(shown.status, StatusCode::OK);
    assert!(
        !shown.body.contains(&secret),
        "the secret is shown once only"
    );
    let token = kit
        .token(
            &Creds {
                id: client_id.clone(),
                secret,
            },
            None,
        )
        .await;
    let (status, _) = kit
        .call(Method::GET, "/v1/diagrams", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::OK);

    // A problem shows the form again, with the problem and what was typed.
    let refused = browser
        .post(
            "/admin/clients",
            &[
                ("csrf", csrf.as_str()),
                ("name", "Bad URIs"),
                ("redirect_uris", "http://example.com/cb"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(refused.body.contains("must use https"), "{}", refused.body);
    assert!(refused.body.contains("value=\"Bad URIs\""));

    // Delete asks first, then goes.
    let ask = browser
        .get(&format!("/admin/clients/{client_id}/delete"))
        .await;
    assert!(ask.body.contains("Delete Console ERP?"), "{}", ask.body);
    let deleted = browser
        .post(
            &format!("/admin/clients/{client_id}/delete"),
            &[("csrf", csrf.as_str())],
        )
        .await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER);
    assert_eq!(
        deleted.location.as_deref(),
        Some("/admin/clients?done=client-deleted")
    );
    let (status, _) = kit
        .call(Method::GET, "/v1/diagrams", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a deleted client's token");

    // Audited as the person, and found by the console's filter.
    let filtered = browser
        .get("/admin/audit?actor=USER%3Aadm&action=client.create&success=yes")
        .await;
    assert_eq!(filtered.status, StatusCode::OK);
    assert!(
        filtered.body.contains("1 matching entry"),
        "{}",
        filtered.body
    );
    assert!(filtered.body.contains("<code>user:admin</code>"));
    let failed = browser.get("/admin/audit?success=no&actor=%25").await;
    assert!(
        failed.body.contains("0 matching entries"),
        "% is no wildcard"
    );
}

async fn people_and_rules_change_through_the_console(kit: &Kit) {
    let browser = admin_browser(kit).await;
    let csrf = browser.get("/admin/people").await.input("csrf").unwrap();
    let created = browser
        .post(
            "/admin/people",
            &[
                ("csrf", csrf.as_str()),
                ("username", "carol"),
                ("password", "carol-password"),
                ("role", "Read"),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let carol = created.location.unwrap();
    assert!(carol.ends_with("?done=person-created"), "{carol}");
    let carol = carol.split('?').next().unwrap().to_owned();
    let short = browser
        .post(
            &format!("{carol}/password"),
            &[("csrf", csrf.as_str()), ("password", "short")],
        )
        .await;
    assert_eq!(short.status, StatusCode::BAD_REQUEST);
    for (action, fields) in [
        ("roles", vec![("role", "Write"), ("role", "Messages")]),
        ("disable", vec![]),
        ("password", vec![("password", "a new passphrase")]),
        ("enable", vec![]),
    ] {
        let mut form = vec![("csrf", csrf.as_str())];
        form.extend(fields);
        let done = browser.post(&format!("{carol}/{action}"), &form).await;
        assert_eq!(
            done.status,
            StatusCode::SEE_OTHER,
            "{action}: {}",
            done.body
        );
    }
    let shown = browser.get(&carol).await;
    assert!(shown.body.contains("Write, Messages"), "{}", shown.body);
    assert!(
        Browser::new(&kit.base)
            .login("carol", "a new passphrase")
            .await
            .status
            == StatusCode::SEE_OTHER
    );

    // The last admin cannot lock themselves out.
    let (_, people) = kit
        .call(
            Method::GET,
            "/v1/admin/users/admin",
            Some(&kit.admin_token().await),
            None,
        )
        .await;
    let admin_id = people["items"][0]["user_id"].as_str().unwrap().to_owned();
    let locked = browser
        .post(
            &format!("/admin/people/{admin_id}/disable"),
            &[("csrf", csrf.as_str())],
        )
        .await;
    assert_eq!(locked.status, StatusCode::CONFLICT);
    assert!(
        locked.body.contains("last enabled admin"),
        "{}",
        locked.body
    );

    // A rule added and removed in the console changes the gate at once.
    let reader = kit.client_with(&["Read"]).await;
    let token = kit.token(&reader, None).await;
    let roles_of = |token: String| async move {
        kit.call(Method::GET, "/v1/utils/roles", Some(&token), None)
            .await
            .1["items"]
            .clone()
    };
    assert_eq!(roles_of(token.clone()).await, json!([]));
    let added = browser
        .post(
            "/admin/policy",
            &[
                ("csrf", csrf.as_str()),
                ("role", "Read"),
                ("method", "GET"),
                ("path", "/v1/utils/roles"),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    assert_eq!(
        roles_of(token.clone()).await,
        json!([{"role_name": "Read"}])
    );
    let again = browser
        .post(
            "/admin/policy",
            &[
                ("csrf", csrf.as_str()),
                ("role", "read"),
                ("method", "get"),
                ("path", "/v1/utils/roles"),
            ],
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(again.body.contains("exists already"));
    let page = browser.get("/admin/policy").await;
    let marker = "aria-label=\"Remove Read GET /v1/utils/roles\"";
    assert!(page.body.contains(marker));
    let action = page.body[..page.body.find(marker).unwrap()]
        .rsplit("action=\"")
        .next()
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    let removed = browser.post(&action, &[("csrf", csrf.as_str())]).await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER);
    assert_eq!(roles_of(token).await, json!([]));
}

/// How the gate answered a real request.
#[derive(Debug, PartialEq, Eq)]
enum Seen {
    NoRoute,
    Method,
    Forbidden,
    Empty,
    Through,
}

fn seen(status: StatusCode, body: &Value) -> Seen {
    let message = body["message"].as_str().unwrap_or_default();
    match status.as_u16() {
        404 if message == "Resource not found" => Seen::NoRoute,
        405 if message == "Method not allowed" => Seen::Method,
        403 if message == "Necessary privilege not granted" => Seen::Forbidden,
        200 if body["items"] == json!([]) && body["count"] == 0 => Seen::Empty,
        _ => Seen::Through,
    }
}

/// A GET of one process-API object by id (its last segment is the id).
fn is_single_object(path: &str) -> bool {
    path.starts_with("/v1/") && !path.starts_with("/v1/admin/") && path.ends_with("/999999")
}

/// The tester's answer for every route, method and role equals what the gate answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_policy_tester_agrees_with_the_gate() {
    let kit = Kit::start(Backend::Sqlite).await.unwrap();
    crate::people::pending_app(&kit).await;
    let app = kit.server.app.clone();
    let mut tokens = Vec::new();
    for role in ["Read", "Write", "Messages", "Admin"] {
        let creds = kit.client_with(&[role]).await;
        tokens.push((role, kit.token(&creds, None).await));
    }
    let mut paths: Vec<String> = app
        .routes
        .routes()
        .iter()
        .map(|route| {
            route
                .template
                .split('/')
                .map(|part| {
                    if part.starts_with(':') {
                        "999999"
                    } else {
                        part
                    }
                })
                .collect::<Vec<_>>()
                .join("/")
        })
        .collect();
    paths.extend(
        [
            "/v1/nothing",
            "/v1/diagrams/",
            "/v1/steps//complete",
            "/v1/diagrams/1/processes/extra",
        ]
        .map(str::to_owned),
    );
    let mut compared = 0;
    for (role, token) in &tokens {
        let roles = RoleSet::parse_list(role).unwrap();
        for path in &paths {
            let head = policy::explain(&app, roles, &Method::HEAD, path);
            let get = policy::explain(&app, roles, &Method::GET, path);
            assert_eq!(
                head.answer == GateAnswer::Allowed,
                get.answer == GateAnswer::Allowed
            );
            for method in [
                Method::GET,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
            ] {
                let explained = policy::explain(&app, roles, &method, path);
                // A limit that is not a number: the gate's empty collection ignores it, a
                // handler that pages refuses it, so an allowed list that happens to be empty
                // is not mistaken for the gate's answer.
                let sent = if method == Method::GET {
                    format!("{path}?limit=x")
                } else {
                    path.clone()
                };
                let (status, body) = kit.call(method.clone(), &sent, Some(token), None).await;
                let expected = match explained.answer {
                    GateAnswer::NoRoute => Seen::NoRoute,
                    GateAnswer::MethodNotAllowed { .. } => Seen::Method,
                    GateAnswer::Forbidden => Seen::Forbidden,
                    GateAnswer::EmptyCollection => Seen::Empty,
                    GateAnswer::Allowed => Seen::Through,
                    GateAnswer::NotGated => panic!("{path} is gated"),
                };
                let mut seen = seen(status, &body);
                // A single-object GET of an unknown id answers no item, as Flows does: the
                // same envelope as the gate's (gate_matrix checks those routes with real ids).
                if seen == Seen::Empty && expected == Seen::Through && is_single_object(path) {
                    seen = Seen::Through;
                }
                assert_eq!(
                    seen, expected,
                    "{role} {method} {path}: explained {explained:?}, the gate answered {status} {body}"
                );
                compared += 1;
            }
        }
    }
    assert!(compared > 500, "{compared}");
    for path in ["/health/live", "/admin/", "/v1/flow_requests/confirm/"] {
        let explained = policy::explain(&app, RoleSet::all(), &Method::GET, path);
        assert_eq!(explained.answer, GateAnswer::NotGated, "{path}");
    }

    // The console's tester says the same in words.
    let browser = admin_browser(&kit).await;
    for (query, answer) in [
        ("role=Read&method=GET&path=/v1/diagrams", "allowed"),
        ("role=Write&method=GET&path=/v1/diagrams", "empty"),
        ("role=Read&method=DELETE&path=/v1/processes/1", "forbidden"),
        ("role=Read&method=GET&path=/v1/nothing", "no-route"),
        ("role=Read&method=PATCH&path=/v1/diagrams", "method"),
        ("role=Read&method=GET&path=/login", "not-gated"),
    ] {
        let page = browser.get(&format!("/admin/policy?{query}")).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(
            page.body.contains(&format!("data-answer=\"{answer}\"")),
            "{query}: {}",
            page.body
        );
    }
    kit.finish().await;
}

// ---------------------------------------------------------------------------------------------
// Real Chromium.

/// A binary on the `PATH`.
fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|path| path.is_file())
    })
}

/// chromedriver on a free port, with a fresh Chromium profile; both go when this is dropped.
struct Chrome {
    driver: Child,
    client: Option<Client>,
    _profile: tempfile::TempDir,
}

/// chromedriver leads a process group of its own, which its Chromium joins: ending the group
/// leaves no browser behind, also when a test failed half-way.
impl Drop for Chrome {
    fn drop(&mut self) {
        let group = format!("-{}", self.driver.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Chrome {
    /// `None` (with the reason on standard error) when Chromium or chromedriver is missing.
    async fn start() -> Option<Chrome> {
        let required = std::env::var("FLOWGATE_REQUIRE_CHROMIUM").is_ok_and(|v| v == "1");
        let driver = which("chromedriver");
        let browser = ["chromium", "chromium-browser", "google-chrome"]
            .into_iter()
            .find_map(which);
        let (Some(driver), Some(browser)) = (driver, browser) else {
            let why = "chromium and chromedriver are not installed (apt-get install chromium \
                       chromium-driver)";
            assert!(
                !required,
                "{why}; FLOWGATE_REQUIRE_CHROMIUM=1 wants this test to run"
            );
            eprintln!("skipping the Chromium console test: {why}");
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let profile = tempfile::tempdir().unwrap();
        let mut chrome = Chrome {
            driver: child,
            client: None,
            _profile: profile,
        };
        let url = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "chromedriver did not listen"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let args = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-breakpad",
            "--disable-crash-reporter",
            "--window-size=1280,900",
        ]
        .into_iter()
        .map(str::to_owned)
        .chain([format!(
            "--user-data-dir={}",
            chrome._profile.path().display()
        )])
        .collect::<Vec<_>>();
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({"binary": browser, "args": args}),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&url)
            .await
            .expect("a Chromium session");
        chrome.client = Some(client);
        Some(chrome)
    }

    fn client(&self) -> &Client {
        self.client.as_ref().unwrap()
    }
}

/// Where screenshots go: `$CARGO_TARGET_DIR/screenshots/`, else `target/screenshots/`.
fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    let dir = target.join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The whole page at this width, as a PNG named `name`.
async fn screenshot(client: &Client, name: &str, width: u32) {
    client.set_window_size(width, 900).await.unwrap();
    let height = client
        .execute("return document.documentElement.scrollHeight;", vec![])
        .await
        .unwrap()
        .as_u64()
        .unwrap_or(900)
        .clamp(400, 4000);
    client
        .set_window_size(width, u32::try_from(height).unwrap() + 140)
        .await
        .unwrap();
    let png = client.screenshot().await.unwrap();
    std::fs::write(screenshot_dir().join(format!("{name}.png")), png).unwrap();
    client.set_window_size(1280, 900).await.unwrap();
}

async fn css(client: &Client, selector: &str) -> fantoccini::elements::Element {
    client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(selector))
        .await
        .unwrap_or_else(|err| panic!("{selector}: {err}"))
}

async fn type_into(client: &Client, selector: &str, text: &str) {
    let field = css(client, selector).await;
    field.clear().await.unwrap();
    field.send_keys(text).await.unwrap();
}

async fn text_of(client: &Client, selector: &str) -> String {
    css(client, selector).await.text().await.unwrap()
}

/// Clicks a button that submits a form, and waits until the next page has replaced this one.
async fn submit(client: &Client, selector: &str) {
    let old = client.find(Locator::Css("html")).await.unwrap();
    css(client, selector).await.click().await.unwrap();
    let started = Instant::now();
    while old.tag_name().await.is_ok() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{selector} led nowhere"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Signs in on the page the browser was sent to.
async fn sign_in(client: &Client, username: &str, password: &str) {
    type_into(client, "#username", username).await;
    type_into(client, "#password", password).await;
    submit(client, "form[action='/login'] button[type=submit]").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_in_chromium() {
    let Some(mut chrome) = Chrome::start().await else {
        return;
    };
    let started = Instant::now();
    let kit = Kit::start(Backend::Sqlite).await.unwrap();
    let app_id = crate::people::pending_app(&kit).await;
    let (username, password) = admin_person(&kit);
    let browser = chrome.client();
    let url = |path: &str| kit.url(path);

    // Not signed in: the sign-in page, then back to the console.
    browser.goto(&url("/admin/")).await.unwrap();
    let at = browser.current_url().await.unwrap();
    assert_eq!(at.path(), "/login");
    assert_eq!(at.query(), Some("next=%2Fadmin%2F"));
    sign_in(browser, &username, &password).await;
    css(browser, ".grid .tile").await;
    assert_eq!(browser.current_url().await.unwrap().path(), "/admin/");
    assert!(text_of(browser, ".tile.attention").await.contains("1"));
    screenshot(browser, "console-overview", 1280).await;

    // A client with Read and Write; the secret read off the page, once.
    browser.goto(&url("/admin/clients/new")).await.unwrap();
    type_into(browser, "#name", "Console ERP").await;
    type_into(browser, "#owner", "Finance").await;
    css(browser, "input[name=role][value=Read]")
        .await
        .click()
        .await
        .unwrap();
    css(browser, "input[name=role][value=Write]")
        .await
        .click()
        .await
        .unwrap();
    screenshot(browser, "console-client-new", 1280).await;
    submit(browser, "form[action='/admin/clients'] button[type=submit]").await;
    let secret_field = css(browser, "#client_secret").await;
    let secret = secret_field.prop("value").await.unwrap().unwrap();
    assert_eq!(secret.len(), 43);
    assert_eq!(
        secret_field.attr("readonly").await.unwrap().as_deref(),
        Some("true")
    );
    let client_id = text_of(browser, "#client_id").await;
    screenshot(browser, "console-client-created", 1280).await;

    // The token it gets reads diagrams and may not delete processes.
    let creds = Creds {
        id: client_id.clone(),
        secret,
    };
    let token = kit.token(&creds, None).await;
    let (status, diagrams) = kit
        .call(Method::GET, "/v1/diagrams", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(diagrams["count"].as_u64().unwrap() >= 1, "{diagrams}");
    let (status, refused) = kit
        .call(Method::DELETE, "/v1/processes/1", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");

    // The list shows it.
    browser.goto(&url("/admin/clients")).await.unwrap();
    let table = text_of(browser, "table").await;
    assert!(table.contains("Console ERP"), "{table}");
    assert!(table.contains("Read, Write"), "{table}");
    screenshot(browser, "console-clients", 1280).await;
    screenshot(browser, "console-clients-390", 390).await;

    // The pending developer app, approved.
    browser.goto(&url("/admin/apps")).await.unwrap();
    css(browser, &format!("#app-{app_id}")).await;
    screenshot(browser, "console-apps", 1280).await;
    submit(browser, "button[aria-label='Approve Reports']").await;
    assert!(text_of(browser, "[role=status]").await.contains("approved"));
    let admin = kit.admin_token().await;
    let (_, approved) = kit
        .call(
            Method::GET,
            "/v1/admin/apps?status=approved",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(
        approved["items"][0]["client_id"],
        app_id.as_str(),
        "{approved}"
    );

    // The tester, then a rule removed: the same token now gets an empty collection.
    browser.goto(&url("/admin/policy")).await.unwrap();
    css(browser, "#test_role")
        .await
        .select_by_value("Read")
        .await
        .unwrap();
    css(browser, "#test_method")
        .await
        .select_by_value("GET")
        .await
        .unwrap();
    type_into(browser, "#test_path", "/v1/diagrams").await;
    submit(browser, "form[method=get] button[type=submit]").await;
    let verdict = css(browser, "#verdict").await;
    assert_eq!(
        verdict.attr("data-answer").await.unwrap().as_deref(),
        Some("allowed")
    );
    screenshot(browser, "console-policy", 1280).await;
    let top = browser.screenshot().await.unwrap();
    std::fs::write(screenshot_dir().join("console-policy-tester.png"), top).unwrap();
    submit(browser, "button[aria-label='Remove Read GET /v1/diagrams']").await;
    assert!(text_of(browser, "[role=status]").await.contains("removed"));
    let (status, emptied) = kit
        .call(Method::GET, "/v1/diagrams", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(emptied["items"], json!([]), "{emptied}");
    browser
        .goto(&url("/admin/policy?role=Read&method=GET&path=/v1/diagrams"))
        .await
        .unwrap();
    let verdict = css(browser, "#verdict").await;
    assert_eq!(
        verdict.attr("data-answer").await.unwrap().as_deref(),
        Some("empty")
    );

    // People, keys (rotated) and the audit log, filtered to what this admin did.
    browser.goto(&url("/admin/people")).await.unwrap();
    assert!(text_of(browser, "table").await.contains("developer"));
    screenshot(browser, "console-people", 1280).await;
    browser.goto(&url("/admin/keys")).await.unwrap();
    submit(browser, "form[action='/admin/keys/rotate'] button").await;
    assert!(
        text_of(browser, "[role=status]")
            .await
            .contains("signing key")
    );
    screenshot(browser, "console-keys", 1280).await;
    browser.goto(&url("/admin/audit")).await.unwrap();
    type_into(browser, "#actor", "user:admin").await;
    css(browser, "#success")
        .await
        .select_by_value("yes")
        .await
        .unwrap();
    submit(browser, "form[method=get] button[type=submit]").await;
    css(browser, "table.log").await;
    let log = text_of(browser, "table.log").await;
    for action in [
        "client.create",
        "app.approve",
        "policy.remove",
        "keys.rotate",
    ] {
        assert!(log.contains(action), "{action} in {log}");
    }
    assert!(
        !log.contains("app.register"),
        "that was the developer: {log}"
    );
    screenshot(browser, "console-audit", 1280).await;

    // Someone without the admin flag is kept out.
    browser.goto(&url("/logout")).await.unwrap();
    submit(browser, "main form[action='/logout'] button").await;
    browser.goto(&url("/admin/clients")).await.unwrap();
    sign_in(browser, "developer", "developer-pass").await;
    assert_eq!(text_of(browser, "h1").await, "Not allowed");
    assert_eq!(
        browser.current_url().await.unwrap().path(),
        "/admin/clients"
    );
    screenshot(browser, "console-forbidden", 1280).await;

    if let Some(client) = chrome.client.take() {
        client.close().await.unwrap();
    }
    drop(chrome);
    kit.finish().await;
    eprintln!(
        "the console in Chromium: {:.1} s; screenshots in {}",
        started.elapsed().as_secs_f64(),
        screenshot_dir().display()
    );
}
