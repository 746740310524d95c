//! `/v1/admin/diagrams`: upload BPMN XML (validated by the engine) and change a diagram's status.

use std::sync::Arc;

use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{Json, PlainText};
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::processes::{DiagramItem, diagram_item};
use super::{ApiResult, BearerAuth, Tag};
use crate::state::AppState;
use crate::store::audit::Actor;
use crate::store::diagrams;

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
    pub state: Arc<AppState>,
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
        let actor = Actor::client(&auth.0.token.client_id);
        let status = status.0.unwrap_or_else(|| "draft".into());
        let imported =
            diagrams::import(&self.state.db, &actor, &xml.0, &status, category.0).await?;
        Ok(Imported::Created(Json(DiagramAnswer {
            success: true,
            message: "diagram imported".into(),
            item: diagram_item(&self.state.public_url, imported),
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
        let actor = Actor::client(&auth.0.token.client_id);
        let updated = diagrams::set_status(&self.state.db, &actor, dgrm_id.0, &body.status).await?;
        Ok(Json(DiagramAnswer {
            success: true,
            message: "status updated".into(),
            item: diagram_item(&self.state.public_url, updated),
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
