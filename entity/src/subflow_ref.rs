use sea_orm::entity::prelude::*;

/// The global step id (`sbfl_id`) of a subflow, which the engine numbers per instance.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "subflows")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub sbfl_id: i64,
    pub prcs_id: i64,
    pub local_id: i64,
}

impl ActiveModelBehavior for ActiveModel {}
