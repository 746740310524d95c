use sea_orm::entity::prelude::*;

/// A process instance (`prcs_id`). `state` is the engine's whole instance as JSON; `status`
/// and `next_timer_due` are copies of it for queries.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "processes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub dgrm_id: i64,
    pub name: String,
    pub status: String,
    pub business_ref: Option<String>,
    pub init_ts: i64,
    pub init_by: String,
    pub state: String,
    pub next_timer_due: Option<i64>,
    pub updated_at: i64,
}

impl ActiveModelBehavior for ActiveModel {}
