//! Diagrams, process instances (engine state as JSON), the global step ids of their subflows,
//! and the open message subscriptions that correlation looks up.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Diagrams {
    Table,
    Id,
    Name,
    Version,
    Status,
    Category,
    Xml,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Processes {
    Table,
    Id,
    DgrmId,
    Name,
    Status,
    BusinessRef,
    InitTs,
    InitBy,
    State,
    NextTimerDue,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Subflows {
    Table,
    SbflId,
    PrcsId,
    LocalId,
}

#[derive(DeriveIden)]
enum Subscriptions {
    Table,
    Id,
    PrcsId,
    MessageName,
    CorrelationKey,
    CorrelationValue,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Diagrams::Table)
                    .col(big_pk_auto(Diagrams::Id))
                    .col(string(Diagrams::Name))
                    .col(integer(Diagrams::Version))
                    .col(string(Diagrams::Status))
                    .col(string_null(Diagrams::Category))
                    .col(text(Diagrams::Xml))
                    .col(big_integer(Diagrams::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("diagrams_name_version")
                    .table(Diagrams::Table)
                    .col(Diagrams::Name)
                    .col(Diagrams::Version)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Processes::Table)
                    .col(big_pk_auto(Processes::Id))
                    .col(big_integer(Processes::DgrmId))
                    .col(string(Processes::Name))
                    .col(string(Processes::Status))
                    .col(string_null(Processes::BusinessRef))
                    .col(big_integer(Processes::InitTs))
                    .col(string(Processes::InitBy))
                    .col(text(Processes::State))
                    .col(big_integer_null(Processes::NextTimerDue))
                    .col(big_integer(Processes::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Processes::Table, Processes::DgrmId)
                            .to(Diagrams::Table, Diagrams::Id),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            (
                "processes_dgrm_status",
                vec![Processes::DgrmId, Processes::Status],
            ),
            ("processes_next_timer_due", vec![Processes::NextTimerDue]),
        ] {
            let mut index = Index::create();
            index.name(name).table(Processes::Table);
            for col in column {
                index.col(col);
            }
            manager.create_index(index.to_owned()).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(Subflows::Table)
                    .col(big_pk_auto(Subflows::SbflId))
                    .col(big_integer(Subflows::PrcsId))
                    .col(big_integer(Subflows::LocalId))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Subflows::Table, Subflows::PrcsId)
                            .to(Processes::Table, Processes::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("subflows_process_local")
                    .table(Subflows::Table)
                    .col(Subflows::PrcsId)
                    .col(Subflows::LocalId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Subscriptions::Table)
                    .col(big_pk_auto(Subscriptions::Id))
                    .col(big_integer(Subscriptions::PrcsId))
                    .col(string(Subscriptions::MessageName))
                    .col(string_null(Subscriptions::CorrelationKey))
                    .col(string_null(Subscriptions::CorrelationValue))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Subscriptions::Table, Subscriptions::PrcsId)
                            .to(Processes::Table, Processes::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, columns) in [
            (
                "subscriptions_message",
                vec![
                    Subscriptions::MessageName,
                    Subscriptions::CorrelationKey,
                    Subscriptions::CorrelationValue,
                ],
            ),
            ("subscriptions_process", vec![Subscriptions::PrcsId]),
        ] {
            let mut index = Index::create();
            index.name(name).table(Subscriptions::Table);
            for col in columns {
                index.col(col);
            }
            manager.create_index(index.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Subscriptions::Table.into_iden(),
            Subflows::Table.into_iden(),
            Processes::Table.into_iden(),
            Diagrams::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
