//! Audit rows.

use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Select, Set,
};
use serde::Serialize;

use entity::audit_log;

use crate::Result;

/// One row of the audit log.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    pub detail: Option<String>,
    pub success: bool,
    /// How many times it happened (repeated failures within a minute are one row).
    pub count: i64,
}

/// Which rows a search returns; `None` does not filter.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Part of the actor, without regard to case.
    pub actor: Option<String>,
    /// The action, exactly (`client.create`).
    pub action: Option<String>,
    pub success: Option<bool>,
}

/// Inserts a row; returns its id.
pub async fn insert(db: &impl ConnectionTrait, entry: AuditEntry) -> Result<i64> {
    let model = audit_log::ActiveModel {
        at: Set(entry.at),
        actor: Set(entry.actor),
        action: Set(entry.action),
        target: Set(entry.target),
        detail: Set(entry.detail),
        success: Set(entry.success),
        count: Set(entry.count),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(model.id)
}

/// Adds `n` occurrences to the row `id`.
pub async fn add_count(db: &impl ConnectionTrait, id: i64, n: i64) -> Result<()> {
    audit_log::Entity::update_many()
        .col_expr(
            audit_log::Column::Count,
            Expr::col(audit_log::Column::Count).add(n),
        )
        .filter(audit_log::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Deletes the rows written before `before`; returns how many.
pub async fn delete_before(db: &impl ConnectionTrait, before: i64) -> Result<u64> {
    let done = audit_log::Entity::delete_many()
        .filter(audit_log::Column::At.lt(before))
        .exec(db)
        .await?;
    Ok(done.rows_affected)
}

/// One page, newest first, and the total.
pub async fn page(
    db: &impl ConnectionTrait,
    limit: u64,
    offset: u64,
) -> Result<(Vec<AuditEntry>, u64)> {
    search(db, &AuditFilter::default(), limit, offset).await
}

/// `%`, `_` and the escape character itself match only themselves.
fn like_contains(text: &str) -> LikeExpr {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    LikeExpr::new(pattern).escape('\\')
}

fn filtered(filter: &AuditFilter) -> Select<audit_log::Entity> {
    let mut query = audit_log::Entity::find();
    if let Some(actor) = filter.actor.as_deref().filter(|a| !a.is_empty()) {
        let lowered = Func::lower(Expr::col(audit_log::Column::Actor));
        query = query.filter(Expr::expr(lowered).like(like_contains(actor)));
    }
    if let Some(action) = &filter.action {
        query = query.filter(audit_log::Column::Action.eq(action.as_str()));
    }
    if let Some(success) = filter.success {
        query = query.filter(audit_log::Column::Success.eq(success));
    }
    query
}

/// One page of the rows the filter lets through, newest first, and their total.
pub async fn search(
    db: &impl ConnectionTrait,
    filter: &AuditFilter,
    limit: u64,
    offset: u64,
) -> Result<(Vec<AuditEntry>, u64)> {
    let total = filtered(filter).count(db).await?;
    let rows = filtered(filter)
        .order_by_desc(audit_log::Column::Id)
        .limit(limit)
        .offset(offset)
        .all(db)
        .await?;
    let entries = rows
        .into_iter()
        .map(|r| AuditEntry {
            id: r.id,
            at: r.at,
            actor: r.actor,
            action: r.action,
            target: r.target,
            detail: r.detail,
            success: r.success,
            count: r.count,
        })
        .collect();
    Ok((entries, total))
}

/// The actions the log holds, in order.
pub async fn actions(db: &impl ConnectionTrait) -> Result<Vec<String>> {
    Ok(audit_log::Entity::find()
        .select_only()
        .column(audit_log::Column::Action)
        .distinct()
        .order_by_asc(audit_log::Column::Action)
        .into_tuple::<String>()
        .all(db)
        .await?)
}
