//! `/v1/admin/diagrams`: upload BPMN XML (validated by the engine) and change a diagram's status.

use std::sync::Arc;

use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{Json, PlainText};
use poem_openapi::{ApiResponse, Object, OpenApi};

use crate::answers::admin::ApiResult;
use crate::api::dto::{DiagramItem, diagram_item};
use crate::api::{BearerAuth, Tag};
use crate::services::{App, diagrams};

#[derive(Object)]
pub struct DiagramAnswer {
    pub success: bool,
    pub message: String,
    pub item: DiagramItem,
}

#[derive(ApiResponse)]
pub enum Imported {
    /// Imported as the next version of its process name.
    #[oai(status = 201)]
    Created(Json<DiagramAnswer>),
}

#[derive(Object)]
#[oai(deny_unknown_fields, example)]
pub struct NewStatus {
    /// draft, released, deprecated, archived
    pub status: String,
}

pub struct DiagramsAdminApi {
    pub app: Arc<App>,
}

#[OpenApi(tag = "Tag::Admin")]
impl DiagramsAdminApi {
    /// Upload BPMN 2.0 XML. A diagram the engine cannot run is refused with the element and
    /// the reason. `status` defaults to `draft`.
    #[oai(path = "/v1/admin/diagrams", method = "post")]
    async fn upload(
        &self,
        auth: BearerAuth,
        xml: PlainText<String>,
        status: Query<Option<String>>,
        category: Query<Option<String>>,
    ) -> ApiResult<Imported> {
        let status = status.0.unwrap_or_else(|| "draft".into());
        let imported =
            diagrams::import(&self.app, &auth.0.actor(), &xml.0, &status, category.0).await?;
        Ok(Imported::Created(Json(DiagramAnswer {
            success: true,
            message: "diagram imported".into(),
            item: diagram_item(&self.app.public_url, imported),
        })))
    }

    /// Change a diagram's status.
    #[oai(path = "/v1/admin/diagrams/:dgrm_id/status", method = "put")]
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
