//! Clients, roles, the casbin policy, signing keys, revocations, audit log and the change
//! counter that lets several instances notice each other's changes.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Roles {
    Table,
    Name,
    Description,
}

#[derive(DeriveIden)]
enum Clients {
    Table,
    Id,
    ClientId,
    Name,
    Description,
    SecretHash,
    RedirectUris,
    SupportEmail,
    SupportUri,
    Owner,
    Enabled,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ClientRoles {
    Table,
    ClientPk,
    Role,
}

#[derive(DeriveIden)]
enum PolicyRules {
    Table,
    Id,
    Subject,
    Object,
    Action,
}

#[derive(DeriveIden)]
enum SigningKeys {
    Table,
    Kid,
    PrivateKey,
    CreatedAt,
    RetiredAt,
    PublishUntil,
}

#[derive(DeriveIden)]
enum RevokedTokens {
    Table,
    Jti,
    ClientId,
    ExpiresAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Id,
    At,
    Actor,
    Action,
    Target,
    Detail,
    Success,
}

#[derive(DeriveIden)]
enum ChangeCounter {
    Table,
    Id,
    Version,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Roles::Table)
                    .col(string(Roles::Name).primary_key())
                    .col(string(Roles::Description))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Clients::Table)
                    .col(big_pk_auto(Clients::Id))
                    .col(string_uniq(Clients::ClientId))
                    .col(string(Clients::Name))
                    .col(text_null(Clients::Description))
                    .col(string_null(Clients::SecretHash))
                    .col(text(Clients::RedirectUris))
                    .col(string_null(Clients::SupportEmail))
                    .col(string_null(Clients::SupportUri))
                    .col(string_null(Clients::Owner))
                    .col(boolean(Clients::Enabled))
                    .col(big_integer(Clients::CreatedAt))
                    .col(big_integer(Clients::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ClientRoles::Table)
                    .col(big_integer(ClientRoles::ClientPk))
                    .col(string(ClientRoles::Role))
                    .primary_key(
                        Index::create()
                            .col(ClientRoles::ClientPk)
                            .col(ClientRoles::Role),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(ClientRoles::Table, ClientRoles::ClientPk)
                            .to(Clients::Table, Clients::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(ClientRoles::Table, ClientRoles::Role)
                            .to(Roles::Table, Roles::Name),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PolicyRules::Table)
                    .col(big_pk_auto(PolicyRules::Id))
                    .col(string(PolicyRules::Subject))
                    .col(string(PolicyRules::Object))
                    .col(string(PolicyRules::Action))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("policy_rules_unique")
                    .table(PolicyRules::Table)
                    .col(PolicyRules::Subject)
                    .col(PolicyRules::Object)
                    .col(PolicyRules::Action)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SigningKeys::Table)
                    .col(string(SigningKeys::Kid).primary_key())
                    .col(blob(SigningKeys::PrivateKey))
                    .col(big_integer(SigningKeys::CreatedAt))
                    .col(big_integer_null(SigningKeys::RetiredAt))
                    .col(big_integer_null(SigningKeys::PublishUntil))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RevokedTokens::Table)
                    .col(string(RevokedTokens::Jti).primary_key())
                    .col(string(RevokedTokens::ClientId))
                    .col(big_integer(RevokedTokens::ExpiresAt))
                    .col(big_integer(RevokedTokens::RevokedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("revoked_tokens_expires_at")
                    .table(RevokedTokens::Table)
                    .col(RevokedTokens::ExpiresAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AuditLog::Table)
                    .col(big_pk_auto(AuditLog::Id))
                    .col(big_integer(AuditLog::At))
                    .col(string(AuditLog::Actor))
                    .col(string(AuditLog::Action))
                    .col(string_null(AuditLog::Target))
                    .col(text_null(AuditLog::Detail))
                    .col(boolean(AuditLog::Success))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("audit_log_at")
                    .table(AuditLog::Table)
                    .col(AuditLog::At)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ChangeCounter::Table)
                    .col(integer(ChangeCounter::Id).primary_key())
                    .col(big_integer(ChangeCounter::Version))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            ChangeCounter::Table.into_iden(),
            AuditLog::Table.into_iden(),
            RevokedTokens::Table.into_iden(),
            SigningKeys::Table.into_iden(),
            PolicyRules::Table.into_iden(),
            ClientRoles::Table.into_iden(),
            Clients::Table.into_iden(),
            Roles::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
