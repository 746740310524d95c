use sea_orm::entity::prelude::*;

/// An open message subscription, copied out of the instance state so that a message finds its
/// instances by index.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "subscriptions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub prcs_id: i64,
    pub message_name: String,
    pub correlation_key: Option<String>,
    pub correlation_value: Option<String>,
}

impl ActiveModelBehavior for ActiveModel {}
