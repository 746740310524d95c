use sea_orm::entity::prelude::*;

/// An OAuth client. `secret_hash` is absent for public clients.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "clients")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub client_id: String,
    pub name: String,
    pub description: Option<String>,
    pub secret_hash: Option<String>,
    /// JSON array of registered redirect URIs.
    pub redirect_uris: String,
    pub support_email: Option<String>,
    pub support_uri: Option<String>,
    pub owner: Option<String>,
    pub enabled: bool,
    pub created_at: i64,
    pub updated_at: i64,
    /// The person who registered it as a developer app (`users.id`); `None` for admins' clients.
    pub owner_user_pk: Option<i64>,
    /// `approved` (every admin-made client), or a developer app's `pending` / `rejected`.
    pub approval: String,
    /// When the developer agreed to the terms (developer apps).
    pub terms_accepted_at: Option<i64>,
    /// Access tokens issued (`iat`) before this (Unix seconds) are refused.
    pub tokens_not_before: Option<i64>,
}

impl ActiveModelBehavior for ActiveModel {}
