//! BPMN diagrams: import (validated by the engine), status changes, listing and export, and a
//! cache of parsed diagrams (a diagram's XML never changes once imported).

use std::sync::{Arc, RwLock};

use hashbrown::HashMap;
use sea_orm::ConnectionTrait;

pub use crate::store::diagrams::DiagramInfo;

use super::App;
use super::audit;
use super::paging::Paging;
use crate::caller::Actor;
use crate::engine::Diagram;
use crate::store::diagrams::NewDiagram;
use crate::{Error, Result, now, store};

pub const STATUSES: &[&str] = &["draft", "released", "deprecated", "archived"];

fn check_status(status: &str) -> Result<()> {
    if STATUSES.contains(&status) {
        Ok(())
    } else {
        Err(Error::attribute(
            "status",
            format!("unknown status {status:?} ({})", STATUSES.join(", ")),
        ))
    }
}

fn item_not_found() -> Error {
    Error::not_found("Item not found")
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
        let (_, xml) = store::diagrams::with_xml(db, dgrm_id)
            .await?
            .ok_or_else(item_not_found)?;
        let parsed = Diagram::parse(&xml).map_err(|e| {
            Error::internal(format!("stored diagram {dgrm_id} no longer parses: {e}"))
        })?;
        let parsed = Arc::new(parsed);
        self.parsed
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(dgrm_id, Arc::clone(&parsed));
        Ok(parsed)
    }
}

/// Stores BPMN XML as the next version of its process name; refuses what the engine cannot
/// run. For [`import`] and first-start seeding.
pub(super) async fn insert(
    db: &impl ConnectionTrait,
    xml: &str,
    status: &str,
    category: Option<String>,
) -> Result<DiagramInfo> {
    let parsed = Diagram::parse(xml)
        .map_err(|e| Error::attribute("bpmn", format!("diagram refused: {e}")))?;
    check_status(status)?;
    let name = parsed
        .process_name()
        .unwrap_or(parsed.process_id())
        .to_owned();
    let version = store::diagrams::latest_version(db, &name)
        .await?
        .unwrap_or(0)
        + 1;
    store::diagrams::insert(
        db,
        NewDiagram {
            name,
            version,
            status,
            category,
            xml,
            created_at: now(),
        },
    )
    .await
}

pub async fn import(
    app: &App,
    actor: &Actor,
    xml: &str,
    status: &str,
    category: Option<String>,
) -> Result<DiagramInfo> {
    let txn = store::begin_write(&app.db).await?;
    let imported = insert(&txn, xml, status, category).await?;
    let detail = format!(
        "{} version {} ({})",
        imported.name, imported.version, imported.status
    );
    let target = imported.dgrm_id.to_string();
    audit::record(
        &txn,
        actor,
        "diagram.import",
        Some(&target),
        Some(detail),
        true,
    )
    .await?;
    txn.commit().await?;
    Ok(imported)
}

pub async fn set_status(
    app: &App,
    actor: &Actor,
    dgrm_id: i64,
    status: &str,
) -> Result<DiagramInfo> {
    check_status(status)?;
    let txn = store::begin_write(&app.db).await?;
    let mut diagram = store::diagrams::find(&txn, dgrm_id)
        .await?
        .ok_or_else(item_not_found)?;
    store::diagrams::set_status(&txn, dgrm_id, status).await?;
    let target = dgrm_id.to_string();
    audit::record(
        &txn,
        actor,
        "diagram.status",
        Some(&target),
        Some(status.to_owned()),
        true,
    )
    .await?;
    txn.commit().await?;
    diagram.status = status.to_owned();
    Ok(diagram)
}

/// Diagrams with `status` (one status, or `all`) whose name contains `name`
/// (case-insensitive); one page and the total.
pub async fn list(
    app: &App,
    status: &str,
    name: Option<&str>,
    paging: Paging,
) -> Result<(Vec<DiagramInfo>, u64)> {
    let status = if status == "all" {
        None
    } else {
        check_status(status)?;
        Some(status)
    };
    let mut rows = store::diagrams::list(&app.db, status).await?;
    if let Some(part) = name.map(str::to_lowercase) {
        rows.retain(|d| d.name.to_lowercase().contains(&part));
    }
    Ok(paging.slice(rows))
}

pub async fn show(app: &App, dgrm_id: i64) -> Result<DiagramInfo> {
    store::diagrams::find(&app.db, dgrm_id)
        .await?
        .ok_or_else(item_not_found)
}

/// The XML as imported, with the diagram's name and version.
pub async fn export(app: &App, dgrm_id: i64) -> Result<(DiagramInfo, String)> {
    store::diagrams::with_xml(&app.db, dgrm_id)
        .await?
        .ok_or_else(item_not_found)
}
