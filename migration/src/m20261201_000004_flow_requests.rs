//! Flow requests: a client asks to run a process for a person, who confirms (or declines) in a
//! browser. The confirmation id is stored as its hash; it is single use and expires.
//! Databases seeded before this migration also get the default rule for listing them.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum FlowRequests {
    Table,
    Id,
    ProcessId,
    ClientId,
    DgrmId,
    Name,
    BusinessRef,
    Person,
    Status,
    PrcsId,
    ConfirmedBy,
    ConfirmHash,
    ConfirmAction,
    ConfirmExpiresAt,
    ConfirmUsedAt,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(FlowRequests::Table)
                    .col(big_pk_auto(FlowRequests::Id))
                    .col(string_uniq(FlowRequests::ProcessId))
                    .col(string(FlowRequests::ClientId))
                    .col(big_integer(FlowRequests::DgrmId))
                    .col(string_null(FlowRequests::Name))
                    .col(string_null(FlowRequests::BusinessRef))
                    .col(string_null(FlowRequests::Person))
                    .col(string(FlowRequests::Status))
                    .col(big_integer_null(FlowRequests::PrcsId))
                    .col(string_null(FlowRequests::ConfirmedBy))
                    .col(string_null(FlowRequests::ConfirmHash))
                    .col(string_null(FlowRequests::ConfirmAction))
                    .col(big_integer_null(FlowRequests::ConfirmExpiresAt))
                    .col(big_integer_null(FlowRequests::ConfirmUsedAt))
                    .col(big_integer(FlowRequests::CreatedAt))
                    .col(big_integer(FlowRequests::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("flow_requests_client")
                    .table(FlowRequests::Table)
                    .col(FlowRequests::ClientId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("flow_requests_confirm")
                    .table(FlowRequests::Table)
                    .col(FlowRequests::ConfirmHash)
                    .to_owned(),
            )
            .await?;
        // A database seeded before this release lacks the default rule for the new listing.
        let db = manager.get_connection();
        db.execute_unprepared(
            "INSERT INTO policy_rules (subject, object, action) \
             SELECT 'Read', '/v1/flow_requests', 'GET' \
             WHERE EXISTS (SELECT 1 FROM change_counter) \
             AND NOT EXISTS (SELECT 1 FROM policy_rules \
                 WHERE subject = 'Read' AND object = '/v1/flow_requests' AND action = 'GET')",
        )
        .await?;
        db.execute_unprepared("UPDATE change_counter SET version = version + 1 WHERE id = 1")
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(FlowRequests::Table).to_owned())
            .await
    }
}
