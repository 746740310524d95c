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
    ///
    /// Public, no token needed. Answers 200 `{"status": "ok"}` while the process runs.
    #[oai(path = "/health/live", method = "get", operation_id = "getLiveness")]
    async fn live(&self) -> Json<Ping> {
        Json(Ping {
            status: "ok".into(),
        })
    }

    /// The process can serve: the database answers.
    ///
    /// Public, no token needed. Answers 200 `{"status": "ok"}` when the database answers, 503
    /// `{"status": "database unavailable"}` otherwise.
    #[oai(path = "/health/ready", method = "get", operation_id = "getReadiness")]
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
    ///
    /// Public, no token needed. Counters of issued and refused tokens, gate refusals, audit rows
    /// dropped and responses by status class, and request durations, in the Prometheus text format
    /// 0.0.4.
    #[oai(path = "/metrics", method = "get", operation_id = "getMetrics")]
    async fn metrics(&self) -> MetricsText {
        MetricsText::Ok(PlainText(METRICS.render()))
    }
}
