//! Logging in and out, and who a browser session belongs to. Sessions live in the database, so
//! every instance shares them; the cookie holds a random token, the database its SHA-256.

use std::net::IpAddr;

use super::App;
use super::audit;
use crate::caller::Actor;
use crate::oauth::{password, secret};
use crate::roles::RoleSet;
use crate::store::users::{self, username_key};
use crate::{Error, Result, now, store};

/// The person a session belongs to.
#[derive(Clone, Debug)]
pub struct Person {
    pub pk: i64,
    pub user_id: String,
    pub username: String,
    pub is_admin: bool,
    pub roles: RoleSet,
}

/// A new session: the cookie's value (shown to the browser only) and how long it lasts.
pub struct NewSession {
    pub token: String,
    pub max_age: i64,
    pub person: Person,
}

/// Checks the password and opens a session. Failures are slowed per username and address
/// (`RateLimited` with the seconds to wait) and audited.
pub async fn login(
    app: &App,
    username: &str,
    password: &str,
    address: IpAddr,
) -> Result<NewSession> {
    let key = username_key(username);
    if let Some(retry_after) = app.login_limits.wait(&key, address) {
        return Err(Error::RateLimited { retry_after });
    }
    let found = users::find(&app.db, username.trim()).await?;
    let stored = found.as_ref().map(|row| row.password_hash.clone());
    let candidate = password.to_owned();
    let matches =
        tokio::task::spawn_blocking(move || password::verify(&candidate, stored.as_deref()))
            .await
            .map_err(Error::internal)?;
    let person = match found {
        Some(row) if matches && row.enabled => row,
        _ => {
            app.failures.report(
                format!("user:{}", truncate(&key)),
                "auth.login",
                format!("login failed from {address}"),
            );
            if let Some(retry_after) = app.login_limits.failed(&key, address) {
                return Err(Error::RateLimited { retry_after });
            }
            return Err(Error::Unauthenticated(
                "The username or password is not right".into(),
            ));
        }
    };
    let token = secret::random_token();
    let at = now();
    let max_age = app.config.session_ttl;
    let txn = store::begin_write(&app.db).await?;
    store::sessions::delete_expired(&txn, at).await?;
    store::sessions::insert(&txn, &secret::hash(&token), person.pk, at, at + max_age).await?;
    audit::record(
        &txn,
        &Actor::person(&person.username),
        "user.login",
        None,
        None,
        true,
    )
    .await?;
    txn.commit().await?;
    Ok(NewSession {
        token,
        max_age,
        person: Person {
            pk: person.pk,
            user_id: person.user_id,
            username: person.username,
            is_admin: person.is_admin,
            roles: person.roles,
        },
    })
}

/// Audit rows keep bounded names.
fn truncate(text: &str) -> String {
    text.chars().take(64).collect()
}

/// The person of a live session token, if they are still enabled.
pub async fn person(app: &App, token: &str) -> Result<Option<Person>> {
    let Some(user_pk) = store::sessions::user_of(&app.db, &secret::hash(token), now()).await?
    else {
        return Ok(None);
    };
    Ok(store::users::find_by_pk(&app.db, user_pk)
        .await?
        .filter(|row| row.enabled)
        .map(|row| Person {
            pk: row.pk,
            user_id: row.user_id,
            username: row.username,
            is_admin: row.is_admin,
            roles: row.roles,
        }))
}

pub async fn logout(app: &App, token: &str) -> Result<()> {
    store::sessions::delete(&app.db, &secret::hash(token)).await
}
