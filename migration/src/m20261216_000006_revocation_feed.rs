//! Revocations applied incrementally, client cut-offs and aggregated audit rows:
//! - `change_counter.revocations` counts revocations apart from the change version, so that a
//!   revoked token does not make every instance reload its whole view;
//! - `revoked_tokens.seq` is the revocation counter's value when the row was written, so that an
//!   instance reads only the revocations it has not seen;
//! - `clients.tokens_not_before` (Unix seconds): access tokens issued before it are refused;
//! - `audit_log.count`: how many times the row's event happened (repeated failures are one row).
//!
//! Plain `ADD COLUMN` statements, the same on SQLite and PostgreSQL, run as one batch.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: &str = "
    ALTER TABLE change_counter ADD COLUMN revocations BIGINT NOT NULL DEFAULT 0;
    ALTER TABLE revoked_tokens ADD COLUMN seq BIGINT NOT NULL DEFAULT 0;
    CREATE INDEX revoked_tokens_seq ON revoked_tokens (seq);
    ALTER TABLE clients ADD COLUMN tokens_not_before BIGINT NULL;
    ALTER TABLE audit_log ADD COLUMN count BIGINT NOT NULL DEFAULT 1;
";

const DOWN: &str = "
    ALTER TABLE audit_log DROP COLUMN count;
    ALTER TABLE clients DROP COLUMN tokens_not_before;
    DROP INDEX revoked_tokens_seq;
    ALTER TABLE revoked_tokens DROP COLUMN seq;
    ALTER TABLE change_counter DROP COLUMN revocations;
";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared(UP).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared(DOWN).await?;
        Ok(())
    }
}
