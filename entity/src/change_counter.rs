use sea_orm::entity::prelude::*;

/// A single row whose `version` grows with every change that other instances must pick up
/// (policy, clients, roles, keys, people). Instances poll it every second.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "change_counter")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: i32,
    pub version: i64,
    /// Grows with every revocation; `revoked_tokens.seq` holds its value at the revocation.
    pub revocations: i64,
}

impl ActiveModelBehavior for ActiveModel {}
