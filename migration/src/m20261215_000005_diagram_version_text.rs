//! Diagram versions become text, as in Flows for APEX (`1`, `2.1-beta`). Existing versions keep
//! their number, written as text. The same steps run on SQLite and PostgreSQL: a new column is
//! filled from the old one, which then goes, and takes its name and its unique index. They run
//! as one batch on one connection: a SQLite pool's other connections may still hold the old
//! schema between the steps.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Replaces `version` by `{column}`, filled by `{fill}`, keeping the unique index.
fn swap(column: &str, definition: &str, fill: &str) -> String {
    format!(
        "DROP INDEX diagrams_name_version;
         ALTER TABLE diagrams ADD COLUMN {column} {definition};
         UPDATE diagrams SET {column} = {fill};
         ALTER TABLE diagrams DROP COLUMN version;
         ALTER TABLE diagrams RENAME COLUMN {column} TO version;
         CREATE UNIQUE INDEX diagrams_name_version ON diagrams (name, version);"
    )
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let sql = swap(
            "version_text",
            "VARCHAR NOT NULL DEFAULT ''",
            "CAST(version AS TEXT)",
        );
        manager.get_connection().execute_unprepared(&sql).await?;
        Ok(())
    }

    /// Back to numbers; a version that is not a number stops it (PostgreSQL) or becomes 0
    /// (SQLite).
    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let sql = swap(
            "version_number",
            "INTEGER NOT NULL DEFAULT 0",
            "CAST(version AS INTEGER)",
        );
        manager.get_connection().execute_unprepared(&sql).await?;
        Ok(())
    }
}
