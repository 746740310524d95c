//! The casbin policy: list, add and remove rules. A change is decided anew on this instance at
//! once and on every other within two seconds.

use super::App;
use super::audit::commit_change;
use crate::authz::{self, Rule};
use crate::caller::Actor;
use crate::{Error, Result, store};

pub async fn list(app: &App) -> Result<Vec<Rule>> {
    store::policy::list(&app.db).await
}

pub async fn add(app: &App, actor: &Actor, role: &str, path: &str, method: &str) -> Result<Rule> {
    let (role, path, method) = authz::normalise(role, path, method)?;
    let txn = store::begin_write(&app.db).await?;
    if store::policy::find_matching(&txn, &role, &path, &method)
        .await?
        .is_some()
    {
        return Err(Error::conflict("this rule exists already"));
    }
    let rule = store::policy::insert(&txn, &role, &path, &method).await?;
    let detail = format!("{} {} {}", rule.role, rule.method, rule.path);
    commit_change(txn, actor, "policy.add", &rule.id.to_string(), Some(detail)).await?;
    app.changed().await?;
    Ok(rule)
}

/// Removes the rule with this id.
pub async fn remove(app: &App, actor: &Actor, id: i64) -> Result<Rule> {
    let txn = store::begin_write(&app.db).await?;
    let rule = store::policy::find(&txn, id)
        .await?
        .ok_or_else(|| Error::not_found(format!("policy rule {id} not found")))?;
    store::policy::delete(&txn, id).await?;
    let detail = format!("{} {} {}", rule.role, rule.method, rule.path);
    commit_change(txn, actor, "policy.remove", &id.to_string(), Some(detail)).await?;
    app.changed().await?;
    Ok(rule)
}

/// Removes the rule with these fields (the CLI names rules rather than ids).
pub async fn remove_matching(
    app: &App,
    actor: &Actor,
    role: &str,
    path: &str,
    method: &str,
) -> Result<Rule> {
    let (role, path, method) = authz::normalise(role, path, method)?;
    let found = store::policy::find_matching(&app.db, &role, &path, &method)
        .await?
        .ok_or_else(|| Error::not_found(format!("no rule {role} {method} {path}")))?;
    remove(app, actor, found.id).await
}
