//! First-start seeding: roles, the default policy of SPEC §3, a signing key and the bootstrap
//! admin client.

use sea_orm::{ActiveModelTrait, DatabaseConnection, EntityTrait, Set};

use super::{clients, diagrams, keys, policy};
use crate::Result;
use crate::roles::{Role, RoleSet};

/// The bootstrap admin client's credentials, shown once on the very first start.
#[derive(Clone, Debug)]
pub struct Bootstrap {
    pub client_id: String,
    pub client_secret: String,
}

/// The default policy: (role, path pattern, method). `*` as role means any role.
pub const DEFAULT_POLICY: &[(&str, &str, &str)] = &[
    ("Read", "/v1/diagrams", "GET"),
    ("Read", "/v1/diagrams/:dgrm_id", "GET"),
    ("Read", "/v1/diagrams/:dgrm_id/export", "GET"),
    ("Read", "/v1/diagrams/:dgrm_id/processes", "GET"),
    ("Read", "/v1/processes/:prcs_id", "GET"),
    ("Read", "/v1/processes/:prcs_id/steps", "GET"),
    ("Read", "/v1/processes/:prcs_id/activities", "GET"),
    ("Read", "/v1/processes/:prcs_id/process_vars", "GET"),
    ("Read", "/v1/steps/:sbfl_id", "GET"),
    ("Read", "/v1/flow_requests/:process_id", "GET"),
    ("Write", "/v1/diagrams/:dgrm_id/processes", "POST"),
    ("Write", "/v1/flow_requests", "POST"),
    ("Write", "/v1/processes/:prcs_id/start", "PUT"),
    ("Write", "/v1/processes/:prcs_id/reset", "PUT"),
    ("Write", "/v1/processes/:prcs_id/terminate", "PUT"),
    ("Write", "/v1/processes/:prcs_id/process_vars", "PUT"),
    ("Write", "/v1/steps/:sbfl_id/start", "PUT"),
    ("Write", "/v1/steps/:sbfl_id/reserve", "PUT"),
    ("Write", "/v1/steps/:sbfl_id/release", "PUT"),
    ("Write", "/v1/steps/:sbfl_id/complete", "PUT"),
    ("Write", "/v1/steps/:sbfl_id/restart", "PUT"),
    ("Write", "/v1/steps/:sbfl_id/reschedule_timer", "PUT"),
    ("Write", "/v1/flow_requests/:process_id", "DELETE"),
    ("Messages", "/v1/messages/:message_name", "PUT"),
    ("Admin", "/v1/processes/:prcs_id", "DELETE"),
    (
        "Admin",
        "/v1/processes/:prcs_id/message_subscriptions",
        "GET",
    ),
    ("Admin", "/v1/utils/roles", "GET"),
    ("Admin", "/v1/utils/print_cgi", "GET"),
    ("Admin", "/v1/admin/*", "*"),
    ("*", "/v1/utils/ping", "GET"),
    ("*", "/v1/me", "GET"),
];

/// The sample diagrams that ship inside the binary, imported and released on first start.
pub const SAMPLE_DIAGRAMS: &[&str] = &[
    include_str!("../../bpmn/linear-review.bpmn"),
    include_str!("../../bpmn/order-fulfilment.bpmn"),
];

/// Seeds an empty database; returns the bootstrap credentials if it did.
pub(super) async fn seed_if_empty(db: &DatabaseConnection) -> Result<Option<Bootstrap>> {
    if entity::change_counter::Entity::find_by_id(1)
        .one(db)
        .await?
        .is_some()
    {
        return Ok(None);
    }
    let txn = super::begin_write(db).await?;
    for role in Role::ALL {
        entity::role::ActiveModel {
            name: Set(role.name().to_owned()),
            description: Set(role.description().to_owned()),
        }
        .insert(&txn)
        .await?;
    }
    for (subject, object, action) in DEFAULT_POLICY {
        policy::insert_rule(&txn, subject, object, action).await?;
    }
    keys::insert_new_key(&txn).await?;
    let created = clients::insert(
        &txn,
        clients::NewClient {
            name: "bootstrap admin".into(),
            description: Some("Created on first start; rotate its secret or delete it.".into()),
            roles: RoleSet::all(),
            ..clients::NewClient::default()
        },
    )
    .await?;
    for xml in SAMPLE_DIAGRAMS {
        diagrams::insert(&txn, xml, "released", Some("samples".into())).await?;
    }
    entity::change_counter::ActiveModel {
        id: Set(1),
        version: Set(1),
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok(Some(Bootstrap {
        client_id: created.client.client_id,
        client_secret: created.secret.unwrap_or_default(),
    }))
}
