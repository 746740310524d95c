//! Liveness, readiness and metrics (ungated).

use std::sync::Arc;

use poem_openapi::payload::{Json, PlainText};
use poem_openapi::{ApiResponse, OpenApi};

use super::Tag;
use crate::answers::admin::{Ping, Readiness};
use crate::services::{self, App};
use crate::telemetry::METRICS;

#[derive(ApiResponse)]
pub enum MetricsText {
    /// Prometheus text format.
    #[oai(status = 200, content_type = "text/plain; version=0.0.4")]
    Ok(PlainText<String>),
}

pub struct HealthApi {
    pub app: Arc<App>,
}

#[OpenApi(tag = "Tag::Health")]
impl HealthApi {
    /// The process is up.
    #[oai(path = "/health/live", method = "get")]
    async fn live(&self) -> Json<Ping> {
        Json(Ping {
            status: "ok".into(),
        })
    }

    /// The process can serve: the database answers.
    #[oai(path = "/health/ready", method = "get")]
    async fn ready(&self) -> Readiness {
        match services::ready(&self.app).await {
            Ok(()) => Readiness::Ready(Json(Ping {
                status: "ok".into(),
            })),
            Err(_) => Readiness::NotReady(Json(Ping {
                status: "database unavailable".into(),
            })),
        }
    }

    /// Prometheus metrics.
    #[oai(path = "/metrics", method = "get")]
    async fn metrics(&self) -> MetricsText {
        MetricsText::Ok(PlainText(METRICS.render()))
    }
}
