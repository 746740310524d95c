//! BPMN diagrams: import (validated by the engine, under a name and a text version), status
//! changes (releasing deprecates the version released before), listing and export, and a cache
//! of parsed diagrams (a diagram's XML never changes once imported).

use std::sync::{Arc, RwLock};

use hashbrown::HashMap;
use sea_orm::ConnectionTrait;

pub use crate::store::diagrams::DiagramInfo;

use super::App;
use super::audit;
use super::paging::Paging;
use crate::caller::Actor;
use crate::engine::{Diagram, ImportWarning};
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

/// What an import is given besides the XML; what is left out is read from the file (the name
/// of its process) or chosen (the next version number of that name, no category).
#[derive(Clone, Debug, Default)]
pub struct ImportOptions {
    pub name: Option<String>,
    pub version: Option<String>,
    pub category: Option<String>,
}

/// A stored diagram and what the engine accepted without running it itself.
#[derive(Clone, Debug)]
pub struct Imported {
    pub diagram: DiagramInfo,
    pub warnings: Vec<ImportWarning>,
}

/// A given text, trimmed; empty counts as not given.
fn given(text: Option<String>) -> Option<String> {
    text.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty())
}

/// The version after the highest numbered one (1 for the first).
fn next_version(existing: &[String]) -> String {
    let highest = existing
        .iter()
        .filter_map(|v| v.parse::<u64>().ok())
        .max()
        .unwrap_or(0);
    highest.saturating_add(1).to_string()
}

/// Stores BPMN XML as the next version of its process name, released (for first-start
/// seeding).
pub(super) async fn insert(
    db: &impl ConnectionTrait,
    xml: &str,
    status: &str,
    category: Option<String>,
) -> Result<DiagramInfo> {
    let options = ImportOptions {
        category,
        ..ImportOptions::default()
    };
    Ok(insert_with(db, xml, status, options).await?.diagram)
}

/// Stores BPMN XML under its name and version; refuses what the engine cannot run and a
/// version the name has already. A diagram stored as released deprecates the version released
/// before it.
async fn insert_with(
    db: &impl ConnectionTrait,
    xml: &str,
    status: &str,
    options: ImportOptions,
) -> Result<Imported> {
    let parsed = Diagram::parse(xml)
        .map_err(|e| Error::attribute("bpmn", format!("diagram refused: {e}")))?;
    check_status(status)?;
    let name = given(options.name).unwrap_or_else(|| {
        parsed
            .process_name()
            .unwrap_or(parsed.process_id())
            .to_owned()
    });
    let existing = store::diagrams::versions(db, &name).await?;
    let version = match given(options.version) {
        Some(version) if existing.contains(&version) => {
            return Err(Error::conflict(format!(
                "diagram {name:?} has a version {version:?} already"
            )));
        }
        Some(version) => version,
        None => next_version(&existing),
    };
    let stored = store::diagrams::insert(
        db,
        NewDiagram {
            name,
            version,
            status,
            category: given(options.category),
            xml,
            created_at: now(),
        },
    )
    .await?;
    if stored.status == "released" {
        store::diagrams::deprecate_released(db, &stored.name, stored.dgrm_id).await?;
    }
    Ok(Imported {
        diagram: stored,
        warnings: parsed.warnings().to_vec(),
    })
}

pub async fn import(
    app: &App,
    actor: &Actor,
    xml: &str,
    status: &str,
    options: ImportOptions,
) -> Result<Imported> {
    let txn = store::begin_write(&app.db).await?;
    let imported = insert_with(&txn, xml, status, options).await?;
    let stored = &imported.diagram;
    let detail = format!(
        "{} version {} ({})",
        stored.name, stored.version, stored.status
    );
    let target = stored.dgrm_id.to_string();
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

/// Sets a diagram's status; releasing it deprecates the version of the same name released
/// before (as Flows does).
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
    if status == "released" {
        store::diagrams::deprecate_released(&txn, &diagram.name, dgrm_id).await?;
    }
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

/// Diagrams with `status` whose name contains `name` (case-insensitive); one page and the
/// total. As in Flows, `status` defaults to `released`, `all` takes any, and the comparison
/// ignores case, so an unknown status finds nothing.
pub async fn list(
    app: &App,
    status: Option<&str>,
    name: Option<&str>,
    paging: Paging,
) -> Result<(Vec<DiagramInfo>, u64)> {
    let status = status
        .filter(|s| !s.is_empty())
        .unwrap_or("released")
        .to_lowercase();
    let wanted = match status.as_str() {
        "all" => None,
        known if STATUSES.contains(&known) => Some(known),
        _ => return Ok((Vec::new(), 0)),
    };
    let mut rows = store::diagrams::list(&app.db, wanted).await?;
    if let Some(part) = name.filter(|n| !n.is_empty()).map(str::to_lowercase) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_version_follows_the_highest_number() {
        assert_eq!(next_version(&[]), "1");
        let existing = ["1", "10", "2", "2.1-beta"].map(String::from);
        assert_eq!(next_version(&existing), "11");
        assert_eq!(next_version(&["draft".into()]), "1");
    }
}
