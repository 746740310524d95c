//! People and developer apps (docs/contract.md §6, §7): the admin API under `/v1/admin/users`
//! and `/v1/admin/apps`, and the same use cases through `flowgate users …` and `flowgate apps …`.

use std::io::Write;
use std::process::{Command, Stdio};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::browser::Browser;
use crate::kit::{Backend, Kit, TestDb, config};
use crate::on_both_backends;

on_both_backends!(
    the_last_admin_stays,
    people_lifecycle_is_audited,
    bad_people_input_changes_nothing,
    apps_are_listed_approved_and_rejected,
);

const REDIRECT: &str = "https://reports.example/callback";
const NO_APP: &str = "00000000-0000-0000-0000-000000000000";

/// A person `developer` with a pending developer app registered through the portal; returns the
/// app's client id.
pub async fn pending_app(kit: &Kit) -> String {
    crate::browser::person(kit, "developer", "developer-pass", &["Read"]).await;
    register_app(&kit.base, "developer", "developer-pass").await
}

/// Registers a developer app through the portal as this person; returns its client id.
async fn register_app(base: &str, username: &str, password: &str) -> String {
    let developer = Browser::new(base);
    let login = developer.login(username, password).await;
    assert_eq!(login.status, StatusCode::SEE_OTHER, "{}", login.body);
    let form = developer.get("/developer/apps/new").await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    let csrf = form.input("csrf").unwrap();
    let description = (0..150)
        .map(|i| format!("word{}x", i % 10))
        .collect::<Vec<_>>()
        .join(" ");
    let created = developer
        .post(
            "/developer/apps",
            &[
                ("csrf", csrf.as_str()),
                ("name", "Reports"),
                ("redirect_uris", REDIRECT),
                ("client_type", "confidential"),
                ("description", description.as_str()),
                ("scope", "read"),
                ("terms", "yes"),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    created
        .body
        .split("Client ID: <code>")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap()
        .to_owned()
}

/// The audit rows about `target`, newest first: (action, actor).
async fn audit_of(kit: &Kit, token: &str, target: &str) -> Vec<(String, String)> {
    let (status, audit) = kit
        .call(Method::GET, "/v1/admin/audit?limit=200", Some(token), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{audit}");
    audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|row| row["target"] == target)
        .map(|row| {
            (
                row["action"].as_str().unwrap().to_owned(),
                row["actor"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn people_lifecycle_is_audited(kit: &Kit) {
    let admin = kit.admin_token().await;
    let (status, list) = kit
        .call(Method::GET, "/v1/admin/users", Some(&admin), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(
        list["count"], 1,
        "a fresh database has the bootstrap admin: {list}"
    );
    assert_eq!(list["items"][0]["username"], "admin");
    assert_eq!(list["items"][0]["admin"], true);

    let password = "alice-long-password";
    let (status, created) = kit
        .call(
            Method::POST,
            "/v1/admin/users",
            Some(&admin),
            Some(json!({"username": "alice", "password": password, "roles": ["Write", "read"]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["success"], true);
    assert_eq!(created["message"], "user created");
    let item = &created["item"];
    assert_eq!(item["username"], "alice");
    assert_eq!(item["roles"], json!(["Read", "Write"]));
    assert_eq!(item["enabled"], true);
    assert_eq!(item["admin"], false);
    for field in ["user_id", "created_at", "updated_at"] {
        assert!(item.get(field).is_some(), "{field} in {item}");
    }
    assert!(item.get("password").is_none() && item.get("password_hash").is_none());
    assert!(
        !created.to_string().contains(password),
        "never echoes the password"
    );
    let user_id = item["user_id"].as_str().unwrap().to_owned();

    // Shown by id or by username (without regard to case), as a collection of one.
    for key in [user_id.as_str(), "alice", "ALICE"] {
        let (status, shown) = kit
            .call(
                Method::GET,
                &format!("/v1/admin/users/{key}"),
                Some(&admin),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{key}: {shown}");
        assert_eq!(shown["count"], 1);
        assert_eq!(shown["items"][0]["user_id"], user_id.as_str());
    }
    let (status, missing) = kit
        .call(Method::GET, "/v1/admin/users/nobody", Some(&admin), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{missing}");
    assert_eq!(missing["success"], false);

    let path = format!("/v1/admin/users/{user_id}");
    let change = |method: Method, suffix: &'static str, body: Option<Value>| {
        let path = format!("{path}/{suffix}");
        let admin = admin.clone();
        async move { kit.call(method, &path, Some(&admin), body).await }
    };
    let (status, disabled) = change(Method::PUT, "disable", None).await;
    assert_eq!(status, StatusCode::OK, "{disabled}");
    assert_eq!(disabled["message"], "user disabled");
    assert_eq!(disabled["item"]["enabled"], false);
    let (status, enabled) = change(Method::PUT, "enable", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(enabled["message"], "user enabled");
    assert_eq!(enabled["item"]["enabled"], true);

    let new_password = "a different passphrase";
    let (status, reset) = change(
        Method::POST,
        "password",
        Some(json!({"password": new_password})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{reset}");
    assert_eq!(reset["message"], "password reset");
    assert!(!reset.to_string().contains(new_password));

    let (status, granted) =
        change(Method::POST, "roles", Some(json!({"roles": ["Messages"]}))).await;
    assert_eq!(status, StatusCode::OK, "{granted}");
    assert_eq!(granted["message"], "roles granted");
    assert_eq!(
        granted["item"]["roles"],
        json!(["Read", "Write", "Messages"])
    );
    let (status, revoked) =
        change(Method::DELETE, "roles", Some(json!({"roles": ["Write"]}))).await;
    assert_eq!(status, StatusCode::OK, "{revoked}");
    assert_eq!(revoked["message"], "roles revoked");
    assert_eq!(revoked["item"]["roles"], json!(["Read", "Messages"]));

    let (status, made) = change(Method::PUT, "admin", Some(json!({"admin": true}))).await;
    assert_eq!(status, StatusCode::OK, "{made}");
    assert_eq!(made["item"]["admin"], true);
    let (status, unmade) = change(Method::PUT, "admin", Some(json!({"admin": false}))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(unmade["item"]["admin"], false);

    // Paged, oldest first.
    let (_, first) = kit
        .call(Method::GET, "/v1/admin/users?limit=1", Some(&admin), None)
        .await;
    assert_eq!(first["count"], 1);
    assert_eq!(first["hasMore"], true);
    assert_eq!(first["items"][0]["username"], "admin");
    let (_, rest) = kit
        .call(
            Method::GET,
            "/v1/admin/users?limit=10&offset=1",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(rest["hasMore"], false);
    assert_eq!(rest["items"][0]["username"], "alice");
    assert!(!rest.to_string().contains("argon2"), "no hashes: {rest}");

    let actor = format!("client:{}", kit.admin.id);
    let rows = audit_of(kit, &admin, "alice").await;
    let actions: Vec<&str> = rows.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(
        actions,
        [
            "user.remove_admin",
            "user.make_admin",
            "user.revoke",
            "user.grant",
            "user.reset_password",
            "user.enable",
            "user.disable",
            "user.create",
        ],
        "newest first"
    );
    assert!(rows.iter().all(|(_, a)| *a == actor), "{rows:?}");

    // Without the Admin role: an empty collection to read, 403 to change.
    let reader = kit.client_with(&["Read", "Write"]).await;
    let token = kit.token(&reader, None).await;
    let (status, hidden) = kit
        .call(Method::GET, "/v1/admin/users", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(hidden["count"], 0, "{hidden}");
    let (status, refused) = kit
        .call(
            Method::POST,
            "/v1/admin/users",
            Some(&token),
            Some(json!({"username": "mallory", "password": "mallory-password"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
    let (status, _) = kit
        .call(
            Method::PUT,
            &format!("{path}/admin"),
            Some(&token),
            Some(json!({"admin": true})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

async fn bad_people_input_changes_nothing(kit: &Kit) {
    let admin = kit.admin_token().await;
    let create = |body: Value| {
        let admin = admin.clone();
        async move {
            kit.call(Method::POST, "/v1/admin/users", Some(&admin), Some(body))
                .await
        }
    };
    let (status, _) = create(json!({"username": "bob", "password": "bob-password"})).await;
    assert_eq!(status, StatusCode::CREATED);

    let refusals = [
        (
            json!({"username": "BOB", "password": "another-password"}),
            StatusCode::CONFLICT,
            "taken",
        ),
        (
            json!({"username": "admin", "password": "another-password"}),
            StatusCode::CONFLICT,
            "taken",
        ),
        (
            json!({"username": "not ok!", "password": "another-password"}),
            StatusCode::BAD_REQUEST,
            "username",
        ),
        (
            json!({"username": "", "password": "another-password"}),
            StatusCode::BAD_REQUEST,
            "username",
        ),
        (
            json!({"username": "carol", "password": "short"}),
            StatusCode::BAD_REQUEST,
            "field `password` must be at least 8 characters long",
        ),
        (
            json!({"username": "carol", "password": "long enough", "roles": ["Root"]}),
            StatusCode::BAD_REQUEST,
            "unknown role",
        ),
        (
            json!({"username": "carol", "password": "long enough", "is_admin": true}),
            StatusCode::BAD_REQUEST,
            "is_admin",
        ),
        // A missing field is refused by the framework, which names the body but not the field.
        (
            json!({"username": "carol"}),
            StatusCode::BAD_REQUEST,
            "CreateUser",
        ),
    ];
    for (body, expected, named) in refusals {
        let (status, answer) = create(body.clone()).await;
        assert_eq!(status, expected, "{body} → {answer}");
        assert_eq!(answer["success"], false, "{answer}");
        let message = answer["message"].as_str().unwrap_or_default();
        assert!(message.contains(named), "{body}: {message:?} names {named}");
    }

    let call = |method: Method, path: &'static str, body: Option<Value>| {
        let admin = admin.clone();
        async move { kit.call(method, path, Some(&admin), body).await }
    };
    let (status, answer) = call(
        Method::POST,
        "/v1/admin/users/bob/password",
        Some(json!({"password": "1234567"})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert!(answer["message"].as_str().unwrap().contains("password"));
    let (status, answer) = call(
        Method::POST,
        "/v1/admin/users/bob/roles",
        Some(json!({"roles": ["Root"]})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    let (status, answer) = call(
        Method::PUT,
        "/v1/admin/users/bob/admin",
        Some(json!({"admin": "yes"})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    for (method, path, body) in [
        (Method::PUT, "/v1/admin/users/nobody/enable", None),
        (Method::PUT, "/v1/admin/users/nobody/disable", None),
        (
            Method::POST,
            "/v1/admin/users/nobody/password",
            Some(json!({"password": "long enough"})),
        ),
        (
            Method::POST,
            "/v1/admin/users/nobody/roles",
            Some(json!({"roles": ["Read"]})),
        ),
        (
            Method::DELETE,
            "/v1/admin/users/nobody/roles",
            Some(json!({"roles": ["Read"]})),
        ),
        (
            Method::PUT,
            "/v1/admin/users/nobody/admin",
            Some(json!({"admin": true})),
        ),
    ] {
        let (status, answer) = call(method.clone(), path, body).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}: {answer}");
        assert_eq!(answer["success"], false);
    }

    // Nothing of it was written.
    let (_, list) = call(Method::GET, "/v1/admin/users", None).await;
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["admin", "bob"]);
    let (_, bob) = call(Method::GET, "/v1/admin/users/bob", None).await;
    assert_eq!(bob["items"][0]["roles"], json!([]));
    assert_eq!(bob["items"][0]["admin"], false);
    let rows = audit_of(kit, &admin, "bob").await;
    assert_eq!(rows.len(), 1, "only the creation: {rows:?}");
}

async fn apps_are_listed_approved_and_rejected(kit: &Kit) {
    let admin = kit.admin_token().await;
    let get = |path: String| {
        let admin = admin.clone();
        async move { kit.call(Method::GET, &path, Some(&admin), None).await }
    };
    let put = |path: String| {
        let admin = admin.clone();
        async move { kit.call(Method::PUT, &path, Some(&admin), None).await }
    };
    // A fresh database has clients but no apps.
    for query in [
        "",
        "?status=pending",
        "?status=approved",
        "?status=rejected",
    ] {
        let (status, list) = get(format!("/v1/admin/apps{query}")).await;
        assert_eq!(status, StatusCode::OK, "{query}: {list}");
        assert_eq!(list["count"], 0, "{query}: {list}");
    }
    let (status, bad) = get("/v1/admin/apps?status=waiting".into()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    assert!(bad["message"].as_str().unwrap().contains("status"), "{bad}");

    // Unknown ids and clients made by admins are no apps.
    for id in [NO_APP, kit.admin.id.as_str()] {
        for action in ["approve", "reject"] {
            let (status, answer) = put(format!("/v1/admin/apps/{id}/{action}")).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{action} {id}: {answer}");
            assert_eq!(answer["success"], false);
        }
    }

    // An app registered by a person in the portal waits as pending.
    let client_id = pending_app(kit).await;
    let ids = |list: &Value| -> Vec<String> {
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["client_id"].as_str().unwrap().to_owned())
            .collect()
    };
    let (_, pending) = get("/v1/admin/apps?status=pending".into()).await;
    assert_eq!(ids(&pending), [client_id.as_str()]);
    let app = &pending["items"][0];
    assert_eq!(app["status"], "pending");
    assert_eq!(app["owner"], "developer");
    assert_eq!(app["scopes"], json!(["read"]));
    assert_eq!(app["redirect_uris"], json!([REDIRECT]));
    assert_eq!(app["confidential"], true);
    assert!(app.get("client_secret").is_none());
    let (_, approved) = get("/v1/admin/apps?status=approved".into()).await;
    assert!(ids(&approved).is_empty());

    let (status, answer) = put(format!("/v1/admin/apps/{client_id}/approve")).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["success"], true);
    assert_eq!(answer["message"], "app approved");
    assert_eq!(answer["item"]["status"], "approved");
    let (_, approved) = get("/v1/admin/apps?status=approved".into()).await;
    assert_eq!(ids(&approved), [client_id.as_str()]);
    let (_, pending) = get("/v1/admin/apps?status=pending".into()).await;
    assert!(ids(&pending).is_empty());

    let (status, answer) = put(format!("/v1/admin/apps/{client_id}/reject")).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["message"], "app rejected");
    assert_eq!(answer["item"]["status"], "rejected");
    let (_, rejected) = get("/v1/admin/apps?status=rejected".into()).await;
    assert_eq!(ids(&rejected), [client_id.as_str()]);
    let (_, all) = get("/v1/admin/apps".into()).await;
    assert_eq!(ids(&all), [client_id.as_str()], "apps only, not clients");

    let actor = format!("client:{}", kit.admin.id);
    let rows = audit_of(kit, &admin, &client_id).await;
    assert_eq!(
        rows,
        [
            ("app.reject".to_owned(), actor.clone()),
            ("app.approve".to_owned(), actor),
            ("app.register".to_owned(), "user:developer".to_owned()),
        ]
    );
}

/// Runs the binary with `stdin` on its standard input.
fn flowgate(db: &str, args: &[&str], stdin: &str) -> (bool, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_flowgate"))
        .args(args)
        .env("DATABASE_URL", db)
        .env("RUST_LOG", "warn")
        // The key the test servers on this database use.
        .env("FLOWGATE_KEY_ENCRYPTION_KEY", crate::kit::TEST_KEK)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run flowgate");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let output = child.wait_with_output().expect("flowgate ends");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn ok(db: &str, args: &[&str], stdin: &str) -> String {
    let (success, stdout, stderr) = flowgate(db, args, stdin);
    assert!(success, "flowgate {args:?} failed: {stderr}");
    stdout
}

fn refused(db: &str, args: &[&str], stdin: &str, named: &str) {
    let (success, stdout, stderr) = flowgate(db, args, stdin);
    assert!(!success, "flowgate {args:?} succeeded: {stdout}");
    assert!(
        stderr.contains(named),
        "flowgate {args:?}: {stderr} names {named}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_manages_people_and_apps() {
    let test_db = TestDb::new(Backend::Sqlite).await.unwrap();
    let db = test_db.url.as_str();

    // The first command seeds; its output stays parseable (the notice is on standard error).
    let (success, stdout, stderr) = flowgate(db, &["users", "list", "--json"], "");
    assert!(success, "{stderr}");
    assert!(stderr.contains("username:      admin"), "{stderr}");
    let people: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(people.as_array().unwrap().len(), 1);
    assert_eq!(people[0]["username"], "admin");
    assert_eq!(people[0]["admin"], true);

    let password = "bob's first password";
    let (success, stdout, stderr) = flowgate(
        db,
        &[
            "users",
            "create",
            "--username",
            "Bob",
            "--password-stdin",
            "--roles",
            "Read,Write",
            "--json",
        ],
        &format!("{password}\n"),
    );
    assert!(success, "{stderr}");
    assert!(!stdout.contains(password) && !stderr.contains(password));
    let bob: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(bob["username"], "Bob");
    assert_eq!(bob["roles"], json!(["Read", "Write"]));
    assert_eq!(bob["admin"], false);
    assert_eq!(bob["enabled"], true);
    let user_id = bob["user_id"].as_str().unwrap().to_owned();

    let create = |name: &'static str| ["users", "create", "--username", name, "--password-stdin"];
    refused(db, &create("bob"), "another password\n", "taken");
    refused(db, &create("carol"), "short\n", "password");
    refused(db, &create("not ok!"), "long enough\n", "username");
    refused(
        db,
        &["users", "create", "--username", "carol"],
        "",
        "--password-stdin",
    );
    refused(
        db,
        &[
            "users",
            "create",
            "--username",
            "carol",
            "--password-stdin",
            "--roles",
            "Root",
        ],
        "long enough\n",
        "unknown role",
    );
    let admin = ok(
        db,
        &[
            "users",
            "create",
            "--username",
            "dana",
            "--password-stdin",
            "--admin",
        ],
        "dana's password\n",
    );
    assert!(admin.contains("dana") && admin.contains("admin"), "{admin}");

    let list = ok(db, &["users", "list"], "");
    assert_eq!(list.lines().count(), 3, "{list}");
    assert!(ok(db, &["users", "show", "bob"], "").contains("Read,Write"));
    let shown: Value =
        serde_json::from_str(&ok(db, &["users", "show", &user_id, "--json"], "")).unwrap();
    assert_eq!(shown["username"], "Bob");
    refused(db, &["users", "show", "nobody"], "", "not found");
    assert!(
        ok(db, &["users", "grant", "bob", "--roles", "Messages"], "")
            .contains("Read,Write,Messages")
    );
    assert!(ok(db, &["users", "revoke", "bob", "--roles", "Write"], "").contains("Read,Messages"));
    assert!(ok(db, &["users", "disable", "bob"], "").contains("disabled"));
    assert!(ok(db, &["users", "enable", "bob"], "").contains("enabled"));

    // Only the line ending is taken off: spaces belong to the password.
    let new_password = "  a new password with spaces  ";
    let reset = ok(
        db,
        &["users", "reset-password", "bob", "--password-stdin"],
        &format!("{new_password}\n"),
    );
    assert!(reset.contains("password reset for Bob"), "{reset}");
    assert!(!reset.contains(new_password.trim()));
    refused(
        db,
        &["users", "reset-password", "bob", "--password-stdin"],
        "tiny\n",
        "password",
    );

    assert_eq!(ok(db, &["apps", "list", "--json"], "").trim(), "[]");
    refused(
        db,
        &["apps", "list", "--status", "waiting"],
        "",
        "unknown status",
    );
    refused(db, &["apps", "approve", NO_APP], "", "not found");
    refused(db, &["apps", "reject", NO_APP], "", "not found");

    // A server on the same database: Bob signs in with the password set from standard input
    // and registers an app, which the CLI then approves and rejects.
    let server = flowgate::http::start(config(db), "127.0.0.1:0")
        .await
        .unwrap();
    let base = server.base_url();
    let old = Browser::new(&base).login("bob", password).await;
    assert_ne!(
        old.status,
        StatusCode::SEE_OTHER,
        "the old password is gone"
    );
    let client_id = register_app(&base, "bob", new_password).await;

    let pending: Value = serde_json::from_str(&ok(
        db,
        &["apps", "list", "--status", "pending", "--json"],
        "",
    ))
    .unwrap();
    assert_eq!(pending[0]["client_id"], client_id.as_str());
    assert_eq!(pending[0]["owner"], "Bob");
    assert!(ok(db, &["apps", "list"], "").contains(&client_id));
    assert!(ok(db, &["apps", "approve", &client_id], "").contains("approved"));
    let approved: Value = serde_json::from_str(&ok(
        db,
        &["apps", "list", "--status", "approved", "--json"],
        "",
    ))
    .unwrap();
    assert_eq!(approved.as_array().unwrap().len(), 1);
    assert!(ok(db, &["apps", "reject", &client_id], "").contains("rejected"));

    // Every change is audited as the operator at the command line.
    let creds: Value = serde_json::from_str(&ok(
        db,
        &[
            "clients", "create", "--name", "auditor", "--roles", "Admin", "--json",
        ],
        "",
    ))
    .unwrap();
    let http = reqwest::Client::new();
    let token: Value = http
        .post(format!("{base}/oauth/token"))
        .basic_auth(
            creds["client_id"].as_str().unwrap(),
            creds["client_secret"].as_str(),
        )
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let audit: Value = http
        .get(format!("{base}/v1/admin/audit?limit=200"))
        .bearer_auth(token["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let rows: Vec<(&str, &str, &str)> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            (
                row["action"].as_str().unwrap(),
                row["target"].as_str().unwrap_or_default(),
                row["actor"].as_str().unwrap(),
            )
        })
        .collect();
    for (action, target) in [
        ("user.create", "Bob"),
        ("user.grant", "Bob"),
        ("user.revoke", "Bob"),
        ("user.disable", "Bob"),
        ("user.enable", "Bob"),
        ("user.reset_password", "Bob"),
        ("app.approve", client_id.as_str()),
        ("app.reject", client_id.as_str()),
    ] {
        assert!(
            rows.iter()
                .any(|(a, t, actor)| *a == action && *t == target && actor.starts_with("cli:")),
            "{action} {target} by cli: in {rows:?}"
        );
    }
    server.stop().await;
}

/// The console always keeps an admin who can sign in: the last enabled admin can be neither
/// disabled nor stripped of the flag, until another person is an admin.
async fn the_last_admin_stays(kit: &Kit) {
    let token = kit.admin_token().await;
    for (method, path, body) in [
        (Method::PUT, "/v1/admin/users/admin/disable", None),
        (
            Method::PUT,
            "/v1/admin/users/admin/admin",
            Some(json!({"admin": false})),
        ),
    ] {
        let (status, answer) = kit.call(method, path, Some(&token), body).await;
        assert_eq!(status, StatusCode::CONFLICT, "{path}: {answer}");
        assert!(
            answer["message"]
                .as_str()
                .unwrap()
                .contains("last enabled admin")
        );
    }
    crate::browser::person(kit, "second", "second-admin-pw", &["Read"]).await;
    let (status, _) = kit
        .call(
            Method::PUT,
            "/v1/admin/users/second/admin",
            Some(&token),
            Some(json!({"admin": true})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = kit
        .call(
            Method::PUT,
            "/v1/admin/users/admin/disable",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "another admin remains");
}
