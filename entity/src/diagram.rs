use sea_orm::entity::prelude::*;

/// A BPMN diagram version (`dgrm_id`). The XML never changes once imported; a new upload of the
/// same name is a new version.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "diagrams")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub name: String,
    /// Text, as in Flows (`1`, `2.1-beta`); unique per name.
    pub version: String,
    /// draft, released, deprecated, archived
    pub status: String,
    pub category: Option<String>,
    pub xml: String,
    pub created_at: i64,
}

impl ActiveModelBehavior for ActiveModel {}
