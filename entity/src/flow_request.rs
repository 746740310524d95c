use sea_orm::entity::prelude::*;

/// A flow request: a client asks to run a diagram's process for a person, who confirms it in a
/// browser. `process_id` names it to the client; `prcs_id` is the instance once confirmed.
/// `status` is `pending`, `active` or `deleting`. The pending confirmation (`add` or `delete`)
/// is known by the SHA-256 of its id, until it expires or is used.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "flow_requests")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub process_id: String,
    pub client_id: String,
    pub dgrm_id: i64,
    pub name: Option<String>,
    pub business_ref: Option<String>,
    pub person: Option<String>,
    pub status: String,
    pub prcs_id: Option<i64>,
    pub confirmed_by: Option<String>,
    pub confirm_hash: Option<String>,
    pub confirm_action: Option<String>,
    pub confirm_expires_at: Option<i64>,
    pub confirm_used_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl ActiveModelBehavior for ActiveModel {}
