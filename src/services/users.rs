//! People: create, list, show, enable/disable, reset a password, grant and revoke roles. Every
//! change is one transaction with its audit row and visible at once; disabling a person or
//! giving them a new password ends their sessions.

use serde::Serialize;

use super::App;
use super::audit::commit_change;
use super::paging::Paging;
use crate::caller::Actor;
use crate::oauth::password;
use crate::roles::RoleSet;
use crate::store::users::UserRow;
use crate::{Error, Result, now, store};

/// What an admin gives to create a person.
#[derive(Clone, Debug, Default)]
pub struct NewUser {
    pub username: String,
    pub password: String,
    pub roles: RoleSet,
    pub is_admin: bool,
}

/// A person as admins see them (never the password hash).
#[derive(Clone, Debug, Serialize)]
pub struct UserView {
    pub user_id: String,
    pub username: String,
    pub enabled: bool,
    #[serde(rename = "admin")]
    pub is_admin: bool,
    pub roles: Vec<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl From<UserRow> for UserView {
    fn from(row: UserRow) -> Self {
        UserView {
            user_id: row.user_id,
            username: row.username,
            enabled: row.enabled,
            is_admin: row.is_admin,
            roles: row.roles.names(),
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// Letters, digits and `. _ - @`, 1 to 64 of them.
pub fn check_username(username: &str) -> Result<()> {
    let ok = !username.is_empty()
        && username.chars().count() <= 64
        && username
            .chars()
            .all(|c| c.is_alphanumeric() || "._-@".contains(c));
    if ok {
        Ok(())
    } else {
        Err(Error::attribute(
            "username",
            "a username has 1 to 64 letters, digits, dots, underscores, hyphens or @",
        ))
    }
}

/// Hashes off the async threads (Argon2id takes its time on purpose).
pub(super) async fn hash_password(password: &str) -> Result<String> {
    password::check(password)?;
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || password::hash(&password))
        .await
        .map_err(Error::internal)?
}

/// The row of a new person; for [`create`] and first-start seeding.
pub(super) async fn new_row(new: NewUser) -> Result<UserRow> {
    let username = new.username.trim().to_owned();
    check_username(&username)?;
    let at = now();
    Ok(UserRow {
        pk: 0,
        user_id: uuid::Uuid::new_v4().to_string(),
        username,
        password_hash: hash_password(&new.password).await?,
        enabled: true,
        is_admin: new.is_admin,
        roles: new.roles,
        created_at: at,
        updated_at: at,
    })
}

pub async fn create(app: &App, actor: &Actor, new: NewUser) -> Result<UserView> {
    let row = new_row(new).await?;
    let txn = store::begin_write(&app.db).await?;
    if store::users::find(&txn, &row.username).await?.is_some() {
        return Err(Error::conflict(format!(
            "the username {} is taken",
            row.username
        )));
    }
    let row = store::users::insert(&txn, row).await?;
    commit_change(txn, actor, "user.create", &row.username, None).await?;
    app.changed().await?;
    Ok(row.into())
}

pub async fn list(app: &App, paging: Paging) -> Result<(Vec<UserView>, u64)> {
    let (rows, total) = store::users::page(&app.db, paging.limit, paging.offset).await?;
    Ok((rows.into_iter().map(UserView::from).collect(), total))
}

/// By user id or username.
pub async fn show(app: &App, user: &str) -> Result<UserView> {
    Ok(get(&app.db, user).await?.into())
}

async fn get(db: &impl sea_orm::ConnectionTrait, user: &str) -> Result<UserRow> {
    store::users::find(db, user)
        .await?
        .ok_or_else(|| Error::not_found(format!("user {user} not found")))
}

/// Whether the change leaves at least one enabled admin who can sign in to the console.
async fn keeps_an_admin(db: &impl sea_orm::ConnectionTrait, changed: &UserRow) -> Result<()> {
    if changed.enabled && changed.is_admin {
        return Ok(());
    }
    let others = store::users::all(db)
        .await?
        .into_iter()
        .any(|p| p.pk != changed.pk && p.enabled && p.is_admin);
    if others {
        Ok(())
    } else {
        Err(Error::conflict(
            "this is the last enabled admin: make another person an admin first",
        ))
    }
}

/// Reads the person, changes them, writes them back, audits; in one transaction.
async fn change(
    app: &App,
    actor: &Actor,
    user: &str,
    action: &str,
    detail: Option<String>,
    end_sessions: bool,
    edit: impl FnOnce(&mut UserRow),
) -> Result<UserView> {
    let txn = store::begin_write(&app.db).await?;
    let mut row = get(&txn, user).await?;
    let was_admin = row.enabled && row.is_admin;
    edit(&mut row);
    if was_admin {
        keeps_an_admin(&txn, &row).await?;
    }
    row.updated_at = now();
    store::users::save(&txn, &row).await?;
    if end_sessions {
        store::sessions::delete_for_user(&txn, row.pk).await?;
    }
    let target = row.username.clone();
    commit_change(txn, actor, action, &target, detail).await?;
    app.changed().await?;
    Ok(row.into())
}

/// Enables or disables a person; a disabled person's sessions end and their delegated tokens
/// stop working at once.
pub async fn set_enabled(app: &App, actor: &Actor, user: &str, enabled: bool) -> Result<UserView> {
    let action = if enabled {
        "user.enable"
    } else {
        "user.disable"
    };
    change(app, actor, user, action, None, !enabled, |row| {
        row.enabled = enabled
    })
    .await
}

/// A new password; the person's sessions end.
pub async fn reset_password(
    app: &App,
    actor: &Actor,
    user: &str,
    password: &str,
) -> Result<UserView> {
    let hash = hash_password(password).await?;
    change(app, actor, user, "user.reset_password", None, true, |row| {
        row.password_hash = hash;
    })
    .await
}

/// Adds (`grant`) or removes roles; delegated tokens lose removed roles at once.
pub async fn change_roles(
    app: &App,
    actor: &Actor,
    user: &str,
    roles: RoleSet,
    grant: bool,
) -> Result<UserView> {
    let action = if grant { "user.grant" } else { "user.revoke" };
    let detail = Some(roles.names().join(","));
    change(app, actor, user, action, detail, false, |row| {
        row.roles = if grant {
            row.roles.iter().chain(roles.iter()).collect()
        } else {
            row.roles
                .iter()
                .filter(|role| !roles.contains(*role))
                .collect()
        };
    })
    .await
}

/// Makes a person an admin of the console, or not.
pub async fn set_admin(app: &App, actor: &Actor, user: &str, is_admin: bool) -> Result<UserView> {
    let action = if is_admin {
        "user.make_admin"
    } else {
        "user.remove_admin"
    };
    change(app, actor, user, action, None, false, |row| {
        row.is_admin = is_admin
    })
    .await
}
