//! Audit rows.

use sea_orm::{
    ActiveModelTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryOrder, QuerySelect, Set,
};
use serde::Serialize;

use entity::audit_log;

use crate::Result;

/// One row of the audit log.
#[derive(Clone, Debug, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    pub detail: Option<String>,
    pub success: bool,
}

pub async fn insert(db: &impl ConnectionTrait, entry: AuditEntry) -> Result<()> {
    audit_log::ActiveModel {
        at: Set(entry.at),
        actor: Set(entry.actor),
        action: Set(entry.action),
        target: Set(entry.target),
        detail: Set(entry.detail),
        success: Set(entry.success),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// One page, newest first, and the total.
pub async fn page(
    db: &impl ConnectionTrait,
    limit: u64,
    offset: u64,
) -> Result<(Vec<AuditEntry>, u64)> {
    let total = audit_log::Entity::find().count(db).await?;
    let rows = audit_log::Entity::find()
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
        })
        .collect();
    Ok((entries, total))
}
