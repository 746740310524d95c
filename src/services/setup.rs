//! Opening the database: migrations and, on the very first start, seeding (roles, the default
//! policy of docs/contract.md §3, a signing key, the sample diagrams, the bootstrap admin client
//! and the bootstrap admin person), all
//! under one lock so that instances starting together cannot race, and all in one transaction
//! so that a first start either seeds everything or nothing.

use sea_orm::DatabaseConnection;

use super::clients::{self, NewClient};
use super::diagrams;
use crate::config::Config;
use crate::oauth::keys::StoredKey;
use crate::roles::{Role, RoleSet};
use crate::store::SetupLock;
use crate::{Result, now, store};

/// The bootstrap admin client's and admin person's credentials, shown once on the very first
/// start.
#[derive(Clone, Debug)]
pub struct Bootstrap {
    pub client_id: String,
    pub client_secret: String,
    pub admin_username: String,
    pub admin_password: String,
}

/// The username of the admin person created on first start.
pub const BOOTSTRAP_ADMIN: &str = "admin";

/// Connects, migrates and seeds an empty database; returns the bootstrap credentials when this
/// call seeded.
pub async fn open(config: &Config) -> Result<(DatabaseConnection, Option<Bootstrap>)> {
    let lock = SetupLock::before_connect(&config.database_url).await?;
    let db = store::connect(config).await?;
    let lock = lock.after_connect(&db).await?;
    store::migrate(&db, &config.database_url).await?;
    store::check_writable(&db, &config.database_url).await?;
    let bootstrap = seed_if_empty(&db).await.map_err(|err| match err {
        crate::Error::Internal(cause) => crate::Error::Unavailable(format!(
            "cannot seed {}: {cause}",
            store::diagnose::masked(&config.database_url)
        )),
        other => other,
    })?;
    lock.release().await?;
    Ok((db, bootstrap))
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
    ("Read", "/v1/flow_requests", "GET"),
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

/// Leaves the database whole on disk: a SQLite database moves what sits in its write-ahead log
/// into the database file, so that copying `flowgate.db` alone copies everything.
pub async fn close(app: &super::App) {
    if let Err(err) = store::checkpoint(&app.db).await {
        tracing::warn!(error = %err, "could not checkpoint the database");
    }
}

/// Seeds an empty database in one transaction; returns the bootstrap credentials if it did.
async fn seed_if_empty(db: &DatabaseConnection) -> Result<Option<Bootstrap>> {
    if store::is_seeded(db).await? {
        return Ok(None);
    }
    let txn = store::begin_write(db).await?;
    for role in Role::ALL {
        store::insert_role(&txn, role.name(), role.description()).await?;
    }
    for (role, path, method) in DEFAULT_POLICY {
        store::policy::insert(&txn, role, path, method).await?;
    }
    store::keys::insert(&txn, &StoredKey::generate(now())).await?;
    let (row, secret) = clients::new_row(NewClient {
        name: "bootstrap admin".into(),
        description: Some("Created on first start; rotate its secret or delete it.".into()),
        roles: RoleSet::all(),
        ..NewClient::default()
    })?;
    let row = store::clients::insert(&txn, row).await?;
    let admin_password = crate::oauth::secret::random_token();
    let person = super::users::new_row(super::users::NewUser {
        username: BOOTSTRAP_ADMIN.into(),
        password: admin_password.clone(),
        roles: RoleSet::all(),
        is_admin: true,
    })
    .await?;
    store::users::insert(&txn, person).await?;
    for xml in SAMPLE_DIAGRAMS {
        diagrams::insert(&txn, xml, "released", Some("samples".into())).await?;
    }
    // Last: its presence is what marks the database as seeded.
    store::insert_change_counter(&txn).await?;
    txn.commit().await?;
    Ok(Some(Bootstrap {
        client_id: row.client_id,
        client_secret: secret.unwrap_or_default(),
        admin_username: BOOTSTRAP_ADMIN.into(),
        admin_password,
    }))
}
