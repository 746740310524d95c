//! `/v1/admin/diagrams`: upload BPMN XML (validated by the engine) and change a diagram's status.

use super::text::Text;
use std::sync::Arc;

use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use crate::Error;
use crate::answers::admin::ApiResult;
use crate::api::dto::{DiagramItem, diagram_item};
use crate::api::raw_body::RawXml;
use crate::api::{BearerAuth, Tag};
use crate::services::diagrams::ImportOptions;
use crate::services::{App, diagrams};

#[derive(Object)]
pub struct DiagramAnswer {
    pub success: bool,
    pub message: String,
    pub item: DiagramItem,
}

/// Something the engine accepted without running it itself (a script, an e-mail, an APEX
/// page: the step waits until an external system completes it).
#[derive(Object)]
pub struct ImportWarningItem {
    pub element_id: String,
    pub message: String,
}

#[derive(Object)]
pub struct ImportAnswer {
    pub success: bool,
    pub message: String,
    pub item: DiagramItem,
    /// What the engine does not run, by element; empty when it runs everything.
    pub warnings: Vec<ImportWarningItem>,
}

#[derive(ApiResponse)]
pub enum Imported {
    /// Imported under its name and version.
    #[oai(status = 201)]
    Created(Json<ImportAnswer>),
}

#[derive(Object)]
#[oai(deny_unknown_fields, example)]
pub struct NewStatus {
    /// draft, released, deprecated, archived
    pub status: Text,
}

pub struct DiagramsAdminApi {
    pub app: Arc<App>,
}

#[OpenApi(tag = "Tag::Admin")]
impl DiagramsAdminApi {
    /// Upload BPMN 2.0 XML.
    ///
    /// Needs the Admin role (403 without it). The body is the XML, sent as `application/xml`,
    /// `text/xml` or `text/plain` (other types get 415 naming these). It is stored as `name`
    /// (default: the name of its process) in `version` (text; default: the next number of that
    /// name), with `status` (default `draft`) and an optional `category`. A diagram the engine
    /// cannot run is refused with 400, naming the element and the reason; a version the name
    /// has already with 409. `warnings` lists what is accepted but not run here (PL/SQL,
    /// e-mail, APEX pages, variable expressions): such steps wait for an external system. Importing it released deprecates the version released before.
    #[oai(
        path = "/v1/admin/diagrams",
        method = "post",
        operation_id = "uploadDiagram"
    )]
    async fn upload(
        &self,
        auth: BearerAuth,
        xml: RawXml,
        status: Query<Option<String>>,
        name: Query<Option<String>>,
        version: Query<Option<String>>,
        category: Query<Option<String>>,
    ) -> ApiResult<Imported> {
        if !xml.declared {
            return Err(Error::UnsupportedMediaType {
                accepted: RawXml::accepted(),
            }
            .into());
        }
        let xml = String::from_utf8(xml.bytes)
            .map_err(|_| Error::attribute("bpmn", "the BPMN XML is not valid UTF-8"))?;
        let status = status.0.unwrap_or_else(|| "draft".into());
        let options = ImportOptions {
            name: name.0,
            version: version.0,
            category: category.0,
        };
        let imported = diagrams::import(&self.app, &auth.0.actor(), &xml, &status, options).await?;
        let warnings = imported
            .warnings
            .into_iter()
            .map(|warning| ImportWarningItem {
                element_id: warning.element_id,
                message: warning.message,
            })
            .collect();
        Ok(Imported::Created(Json(ImportAnswer {
            success: true,
            message: "diagram imported".into(),
            item: diagram_item(&self.app.public_url, imported.diagram),
            warnings,
        })))
    }

    /// Change a diagram's status.
    ///
    /// Needs the Admin role (403 without it). The body is `{status}`: draft, released, deprecated
    /// or archived; only released diagrams take new instances, and releasing one deprecates the
    /// version of the same name released before. 400 for an unknown status, 404
    /// `Item not found` for an unknown diagram.
    #[oai(
        path = "/v1/admin/diagrams/:dgrm_id/status",
        method = "put",
        operation_id = "setDiagramStatus"
    )]
    async fn set_status(
        &self,
        auth: BearerAuth,
        dgrm_id: Path<i64>,
        body: Json<NewStatus>,
    ) -> ApiResult<Json<DiagramAnswer>> {
        let updated =
            diagrams::set_status(&self.app, &auth.0.actor(), dgrm_id.0, &body.status).await?;
        Ok(Json(DiagramAnswer {
            success: true,
            message: "status updated".into(),
            item: diagram_item(&self.app.public_url, updated),
        }))
    }
}

impl poem_openapi::types::Example for NewStatus {
    fn example() -> Self {
        NewStatus {
            status: "released".into(),
        }
    }
}
