//! The casbin policy, kept in our own `policy_rules` table.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, ModelTrait,
    QueryFilter, QueryOrder, Set,
};
use serde::Serialize;

use entity::policy_rule;

use super::audit::{self, Actor};
use crate::roles::Role;
use crate::{Error, Result};

/// One rule: `role` (or `*`, any role) may `method` on `path` (keyMatch2 pattern).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Rule {
    pub id: i64,
    pub role: String,
    pub path: String,
    pub method: String,
}

const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE", "*"];

/// Normalises and checks a rule; the role must be known, the path a `/`-rooted pattern.
pub fn normalise(role: &str, path: &str, method: &str) -> Result<(String, String, String)> {
    let role = if role == "*" {
        "*".to_owned()
    } else {
        Role::parse(role)
            .ok_or_else(|| {
                Error::invalid(format!(
                    "unknown role {role:?} (Read, Write, Messages, Admin or *)"
                ))
            })?
            .name()
            .to_owned()
    };
    let method = method.to_ascii_uppercase();
    if !METHODS.contains(&method.as_str()) {
        return Err(Error::invalid(format!("unknown method {method:?}")));
    }
    let valid_path = path.starts_with('/')
        && path.len() <= 300
        && path
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/_-.:*".contains(c))
        && !path.contains("//");
    if !valid_path {
        return Err(Error::invalid(
            "path must start with / and use letters, digits, _ - . and :param or * segments",
        ));
    }
    Ok((role, path.to_owned(), method))
}

pub(super) async fn insert_rule(
    db: &impl ConnectionTrait,
    role: &str,
    path: &str,
    method: &str,
) -> Result<Rule> {
    let (role, path, method) = normalise(role, path, method)?;
    let model = policy_rule::ActiveModel {
        subject: Set(role),
        object: Set(path),
        action: Set(method),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(to_rule(model))
}

fn to_rule(model: policy_rule::Model) -> Rule {
    Rule {
        id: model.id,
        role: model.subject,
        path: model.object,
        method: model.action,
    }
}

pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<Rule>> {
    let rows = policy_rule::Entity::find()
        .order_by_asc(policy_rule::Column::Id)
        .all(db)
        .await?;
    Ok(rows.into_iter().map(to_rule).collect())
}

pub async fn add(
    db: &DatabaseConnection,
    actor: &Actor,
    role: &str,
    path: &str,
    method: &str,
) -> Result<Rule> {
    let txn = super::begin_write(db).await?;
    let rule = insert_rule(&txn, role, path, method)
        .await
        .map_err(|err| match err {
            Error::Conflict(_) => Error::Conflict("this rule exists already".into()),
            other => other,
        })?;
    let detail = format!("{} {} {}", rule.role, rule.method, rule.path);
    audit::commit_change_with(txn, actor, "policy.add", &rule.id.to_string(), Some(detail)).await?;
    Ok(rule)
}

/// Removes the rule with this id.
pub async fn remove(db: &DatabaseConnection, actor: &Actor, id: i64) -> Result<Rule> {
    let txn = super::begin_write(db).await?;
    let model = policy_rule::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or_else(|| Error::not_found(format!("policy rule {id} not found")))?;
    let rule = to_rule(model.clone());
    model.delete(&txn).await?;
    let detail = format!("{} {} {}", rule.role, rule.method, rule.path);
    audit::commit_change_with(txn, actor, "policy.remove", &id.to_string(), Some(detail)).await?;
    Ok(rule)
}

/// Removes the rule with these fields (for the CLI, which names rules rather than ids).
pub async fn remove_matching(
    db: &DatabaseConnection,
    actor: &Actor,
    role: &str,
    path: &str,
    method: &str,
) -> Result<Rule> {
    let (role, path, method) = normalise(role, path, method)?;
    let found = policy_rule::Entity::find()
        .filter(policy_rule::Column::Subject.eq(role.as_str()))
        .filter(policy_rule::Column::Object.eq(path.as_str()))
        .filter(policy_rule::Column::Action.eq(method.as_str()))
        .one(db)
        .await?
        .ok_or_else(|| Error::not_found(format!("no rule {role} {method} {path}")))?;
    remove(db, actor, found.id).await
}
