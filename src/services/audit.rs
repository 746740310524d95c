//! The audit log: who did what, when. Management changes write their row in the transaction of
//! the change itself ([`commit_change`]); failed authentications go through a bounded
//! background writer so that a flood of bad requests cannot stall the server.

use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction};
use tokio::sync::mpsc;

pub use crate::store::audit::{AuditEntry, AuditFilter};

use super::App;
use super::paging::Paging;
use crate::caller::Actor;
use crate::{Result, now, store};

/// One audit row, written now.
pub async fn record(
    db: &impl ConnectionTrait,
    actor: &Actor,
    action: &str,
    target: Option<&str>,
    detail: Option<String>,
    success: bool,
) -> Result<()> {
    store::audit::insert(
        db,
        AuditEntry {
            id: 0,
            at: now(),
            actor: actor.0.clone(),
            action: action.to_owned(),
            target: target.map(str::to_owned),
            detail,
            success,
        },
    )
    .await
}

/// Ends a management transaction that other instances must see: the audit row, the change
/// counter, the commit. The caller then makes the change visible here ([`App::changed`]).
pub async fn commit_change(
    txn: DatabaseTransaction,
    actor: &Actor,
    action: &str,
    target: &str,
    detail: Option<String>,
) -> Result<()> {
    record(&txn, actor, action, Some(target), detail, true).await?;
    store::bump_version(&txn).await?;
    txn.commit().await?;
    Ok(())
}

/// A page of the log, newest first, and the total.
pub async fn list(app: &App, paging: Paging) -> Result<(Vec<AuditEntry>, u64)> {
    store::audit::page(&app.db, paging.limit, paging.offset).await
}

/// A page of the rows the filter lets through (actor by substring, action exactly, success),
/// newest first, and their total.
pub async fn search(
    app: &App,
    filter: &AuditFilter,
    paging: Paging,
) -> Result<(Vec<AuditEntry>, u64)> {
    store::audit::search(&app.db, filter, paging.limit, paging.offset).await
}

/// The distinct actions in the log, for choosing one.
pub async fn actions(app: &App) -> Result<Vec<String>> {
    store::audit::actions(&app.db).await
}

/// A failed authentication to be logged in the background.
#[derive(Debug)]
struct Failure {
    actor: String,
    action: &'static str,
    detail: String,
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
                    &Actor(failure.actor),
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

    /// A log whose reports go nowhere (for an application without a database).
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
