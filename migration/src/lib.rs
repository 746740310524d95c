//! Schema migrations of flowgate. `flowgate migrate` (and every server start) applies them under
//! a lock, so several instances starting together cannot race.

pub use sea_orm_migration::prelude::*;

mod m20261124_000001_gateway_core;
mod m20261124_000002_process_api;
mod m20261201_000003_people_and_apps;
mod m20261201_000004_flow_requests;
mod m20261215_000005_diagram_version_text;
mod m20261216_000006_revocation_feed;
mod m20261217_000007_process_paging;
mod m20261218_000008_sole_server;

pub use m20261218_000008_sole_server::{SERVER_SETTING, SOLE_SERVER_LOCK};

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261124_000001_gateway_core::Migration),
            Box::new(m20261124_000002_process_api::Migration),
            Box::new(m20261201_000003_people_and_apps::Migration),
            Box::new(m20261201_000004_flow_requests::Migration),
            Box::new(m20261215_000005_diagram_version_text::Migration),
            Box::new(m20261216_000006_revocation_feed::Migration),
            Box::new(m20261217_000007_process_paging::Migration),
            Box::new(m20261218_000008_sole_server::Migration),
        ]
    }
}
