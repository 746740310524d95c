//! Diagram rows: the BPMN XML as imported, with name, version, status and category.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};

use entity::diagram;
use sea_orm::sea_query::Expr;

use crate::Result;

/// A diagram without its XML.
#[derive(Clone, Debug)]
pub struct DiagramInfo {
    pub dgrm_id: i64,
    pub name: String,
    /// Text, as in Flows (`1`, `2.1-beta`).
    pub version: String,
    pub status: String,
    pub category: Option<String>,
}

fn info(model: &diagram::Model) -> DiagramInfo {
    DiagramInfo {
        dgrm_id: model.id,
        name: model.name.clone(),
        version: model.version.clone(),
        status: model.status.clone(),
        category: model.category.clone(),
    }
}

pub struct NewDiagram<'a> {
    pub name: String,
    pub version: String,
    pub status: &'a str,
    pub category: Option<String>,
    pub xml: &'a str,
    pub created_at: i64,
}

pub async fn insert(db: &impl ConnectionTrait, new: NewDiagram<'_>) -> Result<DiagramInfo> {
    let model = diagram::ActiveModel {
        name: Set(new.name),
        version: Set(new.version),
        status: Set(new.status.to_owned()),
        category: Set(new.category),
        xml: Set(new.xml.to_owned()),
        created_at: Set(new.created_at),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(info(&model))
}

/// Every version stored under this name.
pub async fn versions(db: &impl ConnectionTrait, name: &str) -> Result<Vec<String>> {
    Ok(diagram::Entity::find()
        .filter(diagram::Column::Name.eq(name))
        .all(db)
        .await?
        .into_iter()
        .map(|d| d.version)
        .collect())
}

/// Deprecates every released diagram of this name except `keep`; returns their ids.
pub async fn deprecate_released(
    db: &impl ConnectionTrait,
    name: &str,
    keep: i64,
) -> Result<Vec<i64>> {
    let released: Vec<i64> = diagram::Entity::find()
        .filter(diagram::Column::Name.eq(name))
        .filter(diagram::Column::Status.eq("released"))
        .filter(diagram::Column::Id.ne(keep))
        .all(db)
        .await?
        .into_iter()
        .map(|d| d.id)
        .collect();
    if !released.is_empty() {
        diagram::Entity::update_many()
            .col_expr(diagram::Column::Status, Expr::value("deprecated"))
            .filter(diagram::Column::Id.is_in(released.clone()))
            .exec(db)
            .await?;
    }
    Ok(released)
}

pub async fn find(db: &impl ConnectionTrait, dgrm_id: i64) -> Result<Option<DiagramInfo>> {
    Ok(diagram::Entity::find_by_id(dgrm_id)
        .one(db)
        .await?
        .as_ref()
        .map(info))
}

/// The diagram and its XML.
pub async fn with_xml(
    db: &impl ConnectionTrait,
    dgrm_id: i64,
) -> Result<Option<(DiagramInfo, String)>> {
    Ok(diagram::Entity::find_by_id(dgrm_id)
        .one(db)
        .await?
        .map(|model| (info(&model), model.xml)))
}

pub async fn set_status(db: &impl ConnectionTrait, dgrm_id: i64, status: &str) -> Result<()> {
    diagram::Entity::update_many()
        .col_expr(diagram::Column::Status, Expr::value(status))
        .filter(diagram::Column::Id.eq(dgrm_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Every diagram with this status (any status when `None`), oldest first.
pub async fn list(db: &impl ConnectionTrait, status: Option<&str>) -> Result<Vec<DiagramInfo>> {
    let mut query = diagram::Entity::find().order_by_asc(diagram::Column::Id);
    if let Some(status) = status {
        query = query.filter(diagram::Column::Status.eq(status));
    }
    Ok(query.all(db).await?.iter().map(info).collect())
}

/// The diagram of this name: with `version`, that version; else the released one (or, as
/// Flows falls back, a draft version `0`).
pub async fn by_name(
    db: &impl ConnectionTrait,
    name: &str,
    version: Option<&str>,
) -> Result<Option<DiagramInfo>> {
    let named = diagram::Entity::find().filter(diagram::Column::Name.eq(name));
    let found = match version {
        Some(version) => {
            named
                .filter(diagram::Column::Version.eq(version))
                .one(db)
                .await?
        }
        None => match named
            .clone()
            .filter(diagram::Column::Status.eq("released"))
            .one(db)
            .await?
        {
            Some(released) => Some(released),
            None => {
                named
                    .filter(diagram::Column::Status.eq("draft"))
                    .filter(diagram::Column::Version.eq("0"))
                    .one(db)
                    .await?
            }
        },
    };
    Ok(found.as_ref().map(info))
}
