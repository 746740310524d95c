//! BPMN diagrams: import (validated by the engine), listing, export, status, and a cache of
//! parsed diagrams (their XML never changes once imported).

use std::sync::{Arc, RwLock};

use hashbrown::HashMap;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, Set,
};

use entity::diagram;

use super::audit::{self, Actor};
use crate::engine::Diagram;
use crate::{Error, Result, now};

pub const STATUSES: &[&str] = &["draft", "released", "deprecated", "archived"];

/// A diagram without its XML.
#[derive(Clone, Debug)]
pub struct DiagramInfo {
    pub dgrm_id: i64,
    pub name: String,
    pub version: i32,
    pub status: String,
    pub category: Option<String>,
}

fn info(model: diagram::Model) -> DiagramInfo {
    DiagramInfo {
        dgrm_id: model.id,
        name: model.name,
        version: model.version,
        status: model.status,
        category: model.category,
    }
}

/// Parsed diagrams by id.
#[derive(Default)]
pub struct DiagramCache {
    parsed: RwLock<HashMap<i64, Arc<Diagram>>>,
}

impl DiagramCache {
    pub async fn get(&self, db: &impl ConnectionTrait, dgrm_id: i64) -> Result<Arc<Diagram>> {
        if let Some(found) = self
            .parsed
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&dgrm_id)
        {
            return Ok(Arc::clone(found));
        }
        let model = find(db, dgrm_id).await?;
        let parsed = Diagram::parse(&model.xml).map_err(|e| {
            Error::Internal(format!("stored diagram {dgrm_id} no longer parses: {e}"))
        })?;
        let parsed = Arc::new(parsed);
        self.parsed
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(dgrm_id, Arc::clone(&parsed));
        Ok(parsed)
    }
}

async fn find(db: &impl ConnectionTrait, dgrm_id: i64) -> Result<diagram::Model> {
    diagram::Entity::find_by_id(dgrm_id)
        .one(db)
        .await?
        .ok_or_else(|| Error::not_found("Item not found"))
}

/// Imports BPMN XML as the next version of its process name; refuses what the engine cannot run.
pub(super) async fn insert(
    db: &impl ConnectionTrait,
    xml: &str,
    status: &str,
    category: Option<String>,
) -> Result<DiagramInfo> {
    let parsed =
        Diagram::parse(xml).map_err(|e| Error::invalid(format!("diagram refused: {e}")))?;
    if !STATUSES.contains(&status) {
        return Err(Error::invalid(format!(
            "unknown status {status:?} ({})",
            STATUSES.join(", ")
        )));
    }
    let name = parsed
        .process_name()
        .unwrap_or(parsed.process_id())
        .to_owned();
    let latest = diagram::Entity::find()
        .filter(diagram::Column::Name.eq(name.as_str()))
        .order_by_desc(diagram::Column::Version)
        .one(db)
        .await?;
    let model = diagram::ActiveModel {
        name: Set(name),
        version: Set(latest.map(|d| d.version + 1).unwrap_or(1)),
        status: Set(status.to_owned()),
        category: Set(category),
        xml: Set(xml.to_owned()),
        created_at: Set(now()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(info(model))
}

pub async fn import(
    db: &DatabaseConnection,
    actor: &Actor,
    xml: &str,
    status: &str,
    category: Option<String>,
) -> Result<DiagramInfo> {
    let txn = super::begin_write(db).await?;
    let imported = insert(&txn, xml, status, category).await?;
    let detail = format!(
        "{} version {} ({})",
        imported.name, imported.version, imported.status
    );
    audit::record(
        &txn,
        &actor.0,
        "diagram.import",
        Some(&imported.dgrm_id.to_string()),
        Some(detail),
        true,
    )
    .await?;
    txn.commit().await?;
    Ok(imported)
}

pub async fn set_status(
    db: &DatabaseConnection,
    actor: &Actor,
    dgrm_id: i64,
    status: &str,
) -> Result<DiagramInfo> {
    if !STATUSES.contains(&status) {
        return Err(Error::invalid(format!(
            "unknown status {status:?} ({})",
            STATUSES.join(", ")
        )));
    }
    let txn = super::begin_write(db).await?;
    let mut active: diagram::ActiveModel = find(&txn, dgrm_id).await?.into();
    active.status = Set(status.to_owned());
    let model = active.update(&txn).await?;
    audit::record(
        &txn,
        &actor.0,
        "diagram.status",
        Some(&dgrm_id.to_string()),
        Some(status.to_owned()),
        true,
    )
    .await?;
    txn.commit().await?;
    Ok(info(model))
}

/// `status` is one status or `all`; `name` a case-insensitive substring.
pub async fn list(
    db: &DatabaseConnection,
    status: &str,
    name: Option<&str>,
    limit: u64,
    offset: u64,
) -> Result<(Vec<DiagramInfo>, u64)> {
    let mut query = diagram::Entity::find().order_by_asc(diagram::Column::Id);
    if status != "all" {
        if !STATUSES.contains(&status) {
            return Err(Error::invalid(format!(
                "unknown status {status:?} (all, {})",
                STATUSES.join(", ")
            )));
        }
        query = query.filter(diagram::Column::Status.eq(status));
    }
    let mut rows: Vec<DiagramInfo> = query.all(db).await?.into_iter().map(info).collect();
    if let Some(part) = name.map(str::to_lowercase) {
        rows.retain(|d| d.name.to_lowercase().contains(&part));
    }
    let total = rows.len() as u64;
    let page = rows
        .into_iter()
        .skip(offset as usize)
        .take(limit as usize)
        .collect();
    Ok((page, total))
}

pub async fn show(db: &impl ConnectionTrait, dgrm_id: i64) -> Result<DiagramInfo> {
    Ok(info(find(db, dgrm_id).await?))
}

/// The XML as imported, with the diagram's name and version.
pub async fn export(db: &DatabaseConnection, dgrm_id: i64) -> Result<(DiagramInfo, String)> {
    let model = find(db, dgrm_id).await?;
    let xml = model.xml.clone();
    Ok((info(model), xml))
}
