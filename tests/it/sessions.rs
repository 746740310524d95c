//! Browser sessions (docs/contract.md §7): a session lasts `session_ttl`, signing out ends it
//! for good (a copy of the cookie is refused afterwards), and a failed sign-in is audited under
//! a bounded name.

use reqwest::{StatusCode, header};
use sea_orm::{ConnectionTrait, Database, Statement};

use crate::audit_log::counted;
use crate::browser::{Browser, person};
use crate::kit::Kit;
use crate::on_both_backends;

on_both_backends!(
    a_session_lasts_its_ttl_and_ends_at_sign_out,
    a_failed_sign_in_is_audited_under_a_bounded_name,
);

/// Twelve hours: the configured default, which the test servers keep.
const SESSION_TTL: i64 = 12 * 3600;

/// GET `path` with nothing but this session cookie.
async fn with_cookie(kit: &Kit, path: &str, cookie: &str) -> reqwest::Response {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(kit.url(path))
        .header(header::COOKIE, cookie)
        .send()
        .await
        .unwrap()
}

async fn a_session_lasts_its_ttl_and_ends_at_sign_out(kit: &Kit) {
    let password = "carol-long-password";
    person(kit, "carol", password, &["Read"]).await;
    let browser = Browser::new(&kit.base);
    let signed_in = browser.login("carol", password).await;
    assert_eq!(
        signed_in.status,
        StatusCode::SEE_OTHER,
        "{}",
        signed_in.body
    );
    let set_cookie = signed_in.headers[header::SET_COOKIE].to_str().unwrap();
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    assert!(cookie.starts_with("fg_session="), "{set_cookie}");
    assert!(
        set_cookie.contains(&format!("Max-Age={SESSION_TTL}")),
        "{set_cookie}"
    );

    // The stored session ends session_ttl after it began, as the cookie says.
    let db = Database::connect(&kit.db.url).await.unwrap();
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT created_at, expires_at FROM sessions",
        ))
        .await
        .unwrap()
        .expect("one session");
    let created: i64 = row.try_get("", "created_at").unwrap();
    let expires: i64 = row.try_get("", "expires_at").unwrap();
    assert_eq!(expires - created, SESSION_TTL);
    db.close().await.unwrap();

    // A copy of the cookie works until the browser signs out, and never again after.
    let page = with_cookie(kit, "/logout", &cookie).await;
    assert_eq!(page.status(), StatusCode::OK);
    let logout = browser.get("/logout").await;
    let csrf = logout
        .input("csrf")
        .expect("a CSRF field on the sign-out page");
    let out = browser.post("/logout", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(out.location.as_deref(), Some("/login"));
    let replayed = with_cookie(kit, "/logout", &cookie).await;
    assert_eq!(
        replayed.status(),
        StatusCode::SEE_OTHER,
        "the session is gone"
    );
    assert_eq!(replayed.headers()[header::LOCATION], "/login");
    let console = with_cookie(kit, "/developer/apps", &cookie).await;
    assert_eq!(console.status(), StatusCode::SEE_OTHER);
}

async fn a_failed_sign_in_is_audited_under_a_bounded_name(kit: &Kit) {
    let admin = kit.admin_token().await;
    let long_name = format!("  Mallory{}  ", "X".repeat(300));
    let refused = Browser::new(&kit.base)
        .login(&long_name, "not-a-password")
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{}", refused.body);
    // The name as the rate limit keys it (trimmed, lower case), cut to 64 characters.
    let expected = format!("user:mallory{}", "x".repeat(64 - "mallory".len()));
    let rows = counted(kit, &admin, "action=auth.login", 1).await;
    let row = &rows[0];
    assert_eq!(row["actor"], expected.as_str(), "{row}");
    assert_eq!(row["success"], false);
    assert_eq!(row["count"], 1);
    assert_eq!(row["detail"], "login failed from 127.0.0.1");
}
