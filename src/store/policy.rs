//! The casbin policy, kept in our own `policy_rules` table (no casbin adapter exists for
//! sea-orm 2).

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, ModelTrait, QueryFilter,
    QueryOrder, Set,
};

use entity::policy_rule;

use crate::Result;
use crate::authz::Rule;

pub async fn insert(
    db: &impl ConnectionTrait,
    role: &str,
    path: &str,
    method: &str,
) -> Result<Rule> {
    let model = policy_rule::ActiveModel {
        subject: Set(role.to_owned()),
        object: Set(path.to_owned()),
        action: Set(method.to_owned()),
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

pub async fn find(db: &impl ConnectionTrait, id: i64) -> Result<Option<Rule>> {
    Ok(policy_rule::Entity::find_by_id(id)
        .one(db)
        .await?
        .map(to_rule))
}

/// The rule with exactly these fields.
pub async fn find_matching(
    db: &impl ConnectionTrait,
    role: &str,
    path: &str,
    method: &str,
) -> Result<Option<Rule>> {
    Ok(policy_rule::Entity::find()
        .filter(policy_rule::Column::Subject.eq(role))
        .filter(policy_rule::Column::Object.eq(path))
        .filter(policy_rule::Column::Action.eq(method))
        .one(db)
        .await?
        .map(to_rule))
}

pub async fn delete(db: &impl ConnectionTrait, id: i64) -> Result<()> {
    if let Some(model) = policy_rule::Entity::find_by_id(id).one(db).await? {
        model.delete(db).await?;
    }
    Ok(())
}
