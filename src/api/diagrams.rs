//! `/v1/diagrams`: list, one diagram, its BPMN XML.

use std::sync::Arc;

use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{Json, PlainText};
use poem_openapi::{ApiResponse, OpenApi};

use super::apex::{FlowsResult, found};
use super::dto::{DiagramItem, diagram_item};
use super::paging::{Collection, Paging};
use super::{BearerAuth, Tag};
use crate::services::{App, diagrams};

#[derive(ApiResponse)]
pub enum Export {
    /// The BPMN XML.
    #[oai(status = 200, content_type = "application/xml")]
    Xml(
        PlainText<String>,
        #[oai(header = "Content-Disposition")] String,
    ),
}

pub struct DiagramsApi {
    pub app: Arc<App>,
}

#[OpenApi(tag = "Tag::Diagrams")]
impl DiagramsApi {
    /// List diagrams.
    ///
    /// Needs the Read role; without it the answer is an empty collection. `status` defaults to
    /// `released` (`all` for any) and is compared case-insensitively, so an unknown status finds
    /// nothing; `name` is a case-insensitive substring. `limit` (default 100, at most 1000) and
    /// `offset` page the list.
    #[oai(path = "/v1/diagrams", method = "get", operation_id = "listDiagrams")]
    async fn diagrams(
        &self,
        _auth: BearerAuth,
        req: &Request,
        status: Query<Option<String>>,
        name: Query<Option<String>>,
        #[oai(validator(minimum(value = "0"), maximum(value = "9007199254740991")))] limit: Query<
            Option<u64>,
        >,
        #[oai(validator(minimum(value = "0"), maximum(value = "9007199254740991")))] offset: Query<
            Option<u64>,
        >,
    ) -> FlowsResult<Json<Collection<DiagramItem>>> {
        let paging = Paging::new(limit.0, offset.0)?;
        let (rows, total) =
            diagrams::list(&self.app, status.0.as_deref(), name.0.as_deref(), paging).await?;
        let base = &self.app.public_url;
        let items = rows.into_iter().map(|d| diagram_item(base, d)).collect();
        Ok(Json(Collection::page(items, total, paging, base, req)))
    }

    /// One diagram.
    ///
    /// Needs the Read role; without it the answer is an empty collection. Answers a collection of
    /// one item with links to itself and its instances, or of none for an unknown diagram (as
    /// Flows does).
    #[oai(
        path = "/v1/diagrams/:dgrm_id",
        method = "get",
        operation_id = "getDiagram"
    )]
    async fn diagram(
        &self,
        _auth: BearerAuth,
        req: &Request,
        dgrm_id: Path<i64>,
    ) -> FlowsResult<Json<Collection<DiagramItem>>> {
        let d = found(diagrams::show(&self.app, dgrm_id.0).await)?;
        let base = &self.app.public_url;
        let item = d.map(|d| diagram_item(base, d));
        Ok(Json(Collection::maybe(item, base, req)))
    }

    /// The diagram's BPMN XML.
    ///
    /// Needs the Read role; without it the answer is an empty JSON collection, not XML. Answers the
    /// XML as imported, as an attachment named `<name>_v<version>.bpmn`; 404 `Item not found` for
    /// an unknown diagram.
    #[oai(
        path = "/v1/diagrams/:dgrm_id/export",
        method = "get",
        operation_id = "exportDiagram"
    )]
    async fn export(&self, _auth: BearerAuth, dgrm_id: Path<i64>) -> FlowsResult<Export> {
        let (d, xml) = diagrams::export(&self.app, dgrm_id.0).await?;
        let safe = |text: &str| -> String {
            text.chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect()
        };
        Ok(Export::Xml(
            PlainText(xml),
            format!(
                "attachment; filename=\"{}_v{}.bpmn\"",
                safe(&d.name),
                safe(&d.version)
            ),
        ))
    }
}
