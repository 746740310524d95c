//! Flow-request rows.

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
};

use entity::flow_request;

pub use entity::flow_request::Model as FlowRequestRow;

use crate::Result;

pub async fn insert(db: &impl ConnectionTrait, row: FlowRequestRow) -> Result<FlowRequestRow> {
    let mut active: flow_request::ActiveModel = row.into();
    active.id = sea_orm::ActiveValue::NotSet;
    Ok(active.insert(db).await?)
}

/// Writes every field of an existing row.
pub async fn save(db: &impl ConnectionTrait, row: FlowRequestRow) -> Result<FlowRequestRow> {
    let active: flow_request::ActiveModel = row.into();
    Ok(active.reset_all().update(db).await?)
}

pub async fn find(db: &impl ConnectionTrait, process_id: &str) -> Result<Option<FlowRequestRow>> {
    Ok(flow_request::Entity::find()
        .filter(flow_request::Column::ProcessId.eq(process_id))
        .one(db)
        .await?)
}

/// The request whose pending confirmation has this hash.
pub async fn find_by_confirmation(
    db: &impl ConnectionTrait,
    confirm_hash: &str,
) -> Result<Option<FlowRequestRow>> {
    Ok(flow_request::Entity::find()
        .filter(flow_request::Column::ConfirmHash.eq(confirm_hash))
        .one(db)
        .await?)
}

/// Marks a confirmation used; `false` when it was used already (a concurrent answer won).
pub async fn use_confirmation(
    db: &impl ConnectionTrait,
    confirm_hash: &str,
    now: i64,
) -> Result<bool> {
    let done = flow_request::Entity::update_many()
        .col_expr(flow_request::Column::ConfirmUsedAt, Expr::value(now))
        .filter(flow_request::Column::ConfirmHash.eq(confirm_hash))
        .filter(flow_request::Column::ConfirmUsedAt.is_null())
        .exec(db)
        .await?;
    Ok(done.rows_affected == 1)
}

/// Gives a used confirmation back (its answer could not be carried out).
pub async fn release_confirmation(db: &impl ConnectionTrait, confirm_hash: &str) -> Result<()> {
    flow_request::Entity::update_many()
        .col_expr(
            flow_request::Column::ConfirmUsedAt,
            Expr::value(Option::<i64>::None),
        )
        .filter(flow_request::Column::ConfirmHash.eq(confirm_hash))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn delete(db: &impl ConnectionTrait, process_id: &str) -> Result<()> {
    flow_request::Entity::delete_many()
        .filter(flow_request::Column::ProcessId.eq(process_id))
        .exec(db)
        .await?;
    Ok(())
}

/// One page of a client's requests, oldest first, and the total.
pub async fn page_for_client(
    db: &impl ConnectionTrait,
    client_id: &str,
    limit: u64,
    offset: u64,
) -> Result<(Vec<FlowRequestRow>, u64)> {
    let query = flow_request::Entity::find().filter(flow_request::Column::ClientId.eq(client_id));
    let total = query.clone().count(db).await?;
    let rows = query
        .order_by_asc(flow_request::Column::Id)
        .limit(limit)
        .offset(offset)
        .all(db)
        .await?;
    Ok((rows, total))
}
