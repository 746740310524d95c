use sea_orm::entity::prelude::*;

/// The scopes a person granted an app, remembered so that asking again for no more skips the
/// consent page.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "consents")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_pk: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub client_pk: i64,
    pub scopes: String,
    pub granted_at: i64,
}

impl ActiveModelBehavior for ActiveModel {}
