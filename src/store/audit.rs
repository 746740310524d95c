//! The audit log: who did what, when. Management actions are written in the transaction of the
//! change itself; failed authentications go through a bounded background writer so that a flood
//! of bad requests cannot stall the server.

use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, EntityTrait,
    PaginatorTrait, QueryOrder, QuerySelect, Set,
};
use serde::Serialize;
use tokio::sync::mpsc;

use entity::audit_log;

use crate::{Result, now};

/// Who acts: a client (through the API), an operator (through the CLI) or the system.
#[derive(Clone, Debug)]
pub struct Actor(pub String);

impl Actor {
    pub fn client(client_id: &str) -> Actor {
        Actor(format!("client:{client_id}"))
    }

    pub fn cli() -> Actor {
        let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
        Actor(format!("cli:{user}"))
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    pub detail: Option<String>,
    pub success: bool,
}

pub async fn record(
    db: &impl ConnectionTrait,
    actor: &str,
    action: &str,
    target: Option<&str>,
    detail: Option<String>,
    success: bool,
) -> Result<()> {
    audit_log::ActiveModel {
        at: Set(now()),
        actor: Set(actor.to_owned()),
        action: Set(action.to_owned()),
        target: Set(target.map(str::to_owned)),
        detail: Set(detail),
        success: Set(success),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Ends a management transaction: the audit row, the change counter, the commit.
pub async fn commit_change(
    txn: DatabaseTransaction,
    actor: &Actor,
    action: &str,
    target: &str,
) -> Result<()> {
    commit_change_with(txn, actor, action, target, None).await
}

pub async fn commit_change_with(
    txn: DatabaseTransaction,
    actor: &Actor,
    action: &str,
    target: &str,
    detail: Option<String>,
) -> Result<()> {
    record(&txn, &actor.0, action, Some(target), detail, true).await?;
    super::bump_version(&txn).await?;
    txn.commit().await?;
    Ok(())
}

/// Newest first.
pub async fn list(
    db: &DatabaseConnection,
    limit: u64,
    offset: u64,
) -> Result<(Vec<AuditEntry>, u64)> {
    let total = audit_log::Entity::find().count(db).await?;
    let rows = audit_log::Entity::find()
        .order_by_desc(audit_log::Column::Id)
        .limit(limit)
        .offset(offset)
        .all(db)
        .await?;
    let entries = rows
        .into_iter()
        .map(|r| AuditEntry {
            id: r.id,
            at: r.at,
            actor: r.actor,
            action: r.action,
            target: r.target,
            detail: r.detail,
            success: r.success,
        })
        .collect();
    Ok((entries, total))
}

/// A failed authentication to be logged in the background.
#[derive(Debug)]
pub struct Failure {
    pub actor: String,
    pub action: &'static str,
    pub detail: String,
}

/// Sends failures to the background writer; drops them (and counts the drop) when it lags.
#[derive(Clone, Debug)]
pub struct FailureLog {
    tx: mpsc::Sender<Failure>,
}

impl FailureLog {
    /// Starts the writer task. It ends when every sender is gone.
    pub fn start(db: DatabaseConnection) -> FailureLog {
        let (tx, mut rx) = mpsc::channel::<Failure>(1024);
        tokio::spawn(async move {
            while let Some(failure) = rx.recv().await {
                let written = record(
                    &db,
                    &failure.actor,
                    failure.action,
                    None,
                    Some(failure.detail),
                    false,
                )
                .await;
                if let Err(err) = written {
                    tracing::warn!(error = %err, "could not write an audit row");
                }
            }
        });
        FailureLog { tx }
    }

    /// A log whose reports go nowhere (for a state without a database).
    pub fn detached() -> FailureLog {
        let (tx, _) = mpsc::channel::<Failure>(1);
        FailureLog { tx }
    }

    pub fn report(
        &self,
        actor: impl Into<String>,
        action: &'static str,
        detail: impl Into<String>,
    ) {
        let failure = Failure {
            actor: actor.into(),
            action,
            detail: detail.into(),
        };
        if self.tx.try_send(failure).is_err() {
            crate::telemetry::METRICS.audit_dropped.inc();
        }
    }
}
