//! What has run its course is deleted at each server's start and then every hour, by each
//! instance (a second instance's pass finds little left): audit rows past
//! `audit_retention_days`, and authorization codes and refresh tokens an hour after they
//! expired. Expired rows cannot be used, but for that hour a used one that comes back is still
//! recognised as a replay (and revokes its family) rather than refused as unknown. Keycloak's
//! expired-entries task and Hydra's janitor do the same.

use super::{App, audit};
use crate::{Result, now, store};

/// How long an expired code or refresh token is kept.
pub const EXPIRED_KEPT: i64 = 3600;

/// How many rows a pass deleted.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Swept {
    pub audit_rows: u64,
    pub codes: u64,
    pub refresh_tokens: u64,
}

/// Deletes audit rows past their retention, and codes and refresh tokens that expired more
/// than [`EXPIRED_KEPT`] ago. Each is one statement: a pass may find the tables large, and
/// none of them is ever read by expiry on a request, so no index serves them (one would cost
/// every redemption and rotation an insert).
pub async fn sweep(app: &App) -> Result<Swept> {
    let before = now() - EXPIRED_KEPT;
    Ok(Swept {
        audit_rows: audit::apply_retention(app).await?,
        codes: store::grants::delete_expired_codes(&app.db, before).await?,
        refresh_tokens: store::grants::delete_expired_refresh(&app.db, before).await?,
    })
}

/// [`sweep`], with what it did logged.
pub async fn sweep_logged(app: &App) {
    match sweep(app).await {
        Ok(swept) if swept == Swept::default() => {}
        Ok(swept) => tracing::info!(
            audit_rows = swept.audit_rows,
            codes = swept.codes,
            refresh_tokens = swept.refresh_tokens,
            "deleted rows past their retention or expiry"
        ),
        Err(err) => tracing::warn!(error = %err, "could not delete expired rows"),
    }
}
