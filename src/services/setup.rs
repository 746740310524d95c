//! Opening the database: migrations and, on the very first start, seeding (roles, the default
//! policy of docs/contract.md §3, a signing key, the sample diagrams, the bootstrap admin client
//! and the bootstrap admin person), all
//! under one lock so that instances starting together cannot race, and all in one transaction
//! so that a first start either seeds everything or nothing.

use std::path::{Path, PathBuf};

use sea_orm::DatabaseConnection;

use super::clients::{self, NewClient};
use super::diagrams;
use crate::config::Config;
use crate::oauth::keys::StoredKey;
use crate::oauth::sealing::{self, Kek};
use crate::roles::{Role, RoleSet};
use crate::store::SetupLock;
use crate::{Error, Result, now, store};

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

/// An open database and what it needs: the key-encryption key, and the bootstrap credentials
/// when this start seeded.
pub struct Opened {
    pub db: DatabaseConnection,
    pub kek: Kek,
    pub bootstrap: Option<Bootstrap>,
}

/// Connects, migrates, seals any plain signing keys and seeds an empty database.
pub async fn open(config: &Config) -> Result<Opened> {
    let lock = SetupLock::before_connect(&config.database_url).await?;
    let given = configured_kek(config)?;
    let db = store::connect(config).await?;
    let lock = lock.after_connect(&db).await?;
    store::migrate(&db, &config.database_url).await?;
    store::check_writable(&db, &config.database_url).await?;
    let kek = match given {
        Some(kek) => kek,
        None => new_key_file(config, &db).await?,
    };
    let sealed = super::keys::seal_plain(&db, &kek).await?;
    if sealed > 0 {
        tracing::info!(sealed, "sealed signing keys stored in plain text");
    }
    let bootstrap = seed_if_empty(&db, &kek).await.map_err(|err| match err {
        crate::Error::Internal(cause) => crate::Error::Unavailable(format!(
            "cannot seed {}: {cause}",
            store::diagnose::masked(&config.database_url)
        )),
        other => other,
    })?;
    lock.release().await?;
    Ok(Opened { db, kek, bootstrap })
}

/// Where the key file is when none is named: beside a SQLite database, else in the working
/// directory (every instance sharing a PostgreSQL database must have the same one).
fn key_file(config: &Config) -> PathBuf {
    if let Some(path) = &config.key_file {
        return path.clone();
    }
    match store::sqlite_path(&config.database_url) {
        Some(db) => PathBuf::from(format!("{db}.key")),
        None => PathBuf::from("flowgate.key"),
    }
}

/// The key-encryption key given in the configuration (`key_encryption_key`,
/// `FLOWGATE_KEY_ENCRYPTION_KEY`) or held in the key file; `None` when there is no key file yet.
fn configured_kek(config: &Config) -> Result<Option<Kek>> {
    if let Some(text) = &config.key_encryption_key {
        return Kek::parse(text.expose()).map(Some);
    }
    let path = key_file(config);
    match std::fs::read_to_string(&path) {
        Ok(text) => Kek::parse(&text).map(Some).map_err(|_| {
            Error::invalid(format!(
                "the key file {} does not hold a key-encryption key (32 bytes, base64)",
                path.display()
            ))
        }),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(Error::invalid(format!(
            "cannot read the key file {}: {err}",
            path.display()
        ))),
    }
}

/// Creates the key file (mode 0600) on a first start. A database whose keys are already sealed
/// needs the key they were sealed with: a new one would never open them, so it is refused.
async fn new_key_file(config: &Config, db: &DatabaseConnection) -> Result<Kek> {
    let path = key_file(config);
    let rows = store::keys::all(db).await?;
    if rows.iter().any(|row| sealing::is_sealed(&row.key_bytes)) {
        return Err(Error::invalid(format!(
            "the signing keys in this database are sealed, and the key file {} is missing: \
             give the key they were sealed with (FLOWGATE_KEY_ENCRYPTION_KEY or --key-file)",
            path.display()
        )));
    }
    let (kek, text) = Kek::generate();
    write_private(&path, text.as_bytes())?;
    if store::sqlite_path(&config.database_url).is_none() {
        tracing::warn!(
            file = %path.display(),
            "created a key-encryption key file: give every instance the same one"
        );
    }
    Ok(kek)
}

/// Creates a file only its owner can read (0600); refuses to overwrite one.
fn write_private(path: &Path, contents: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| {
        Error::invalid(format!(
            "cannot create the key file {}: {e}",
            path.display()
        ))
    })?;
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .map_err(|e| Error::invalid(format!("cannot write the key file {}: {e}", path.display())))
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
async fn seed_if_empty(db: &DatabaseConnection, kek: &Kek) -> Result<Option<Bootstrap>> {
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
    let key = super::keys::sealed(kek, &StoredKey::generate(now()))?;
    store::keys::insert(&txn, key).await?;
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
