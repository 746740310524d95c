//! People and the three-legged flows: accounts and their roles, browser sessions, developer apps
//! (owner and approval on clients), remembered consents, authorization codes and refresh-token
//! families. Codes, refresh tokens and session tokens are stored only as hashes.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    UserId,
    Username,
    UsernameKey,
    PasswordHash,
    Enabled,
    IsAdmin,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum UserRoles {
    Table,
    UserPk,
    Role,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    TokenHash,
    UserPk,
    CreatedAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum Clients {
    Table,
    Id,
    OwnerUserPk,
    Approval,
    TermsAcceptedAt,
}

#[derive(DeriveIden)]
enum Roles {
    Table,
    Name,
}

#[derive(DeriveIden)]
enum Consents {
    Table,
    UserPk,
    ClientPk,
    Scopes,
    GrantedAt,
}

#[derive(DeriveIden)]
enum AuthorizationCodes {
    Table,
    CodeHash,
    ClientId,
    UserPk,
    Scopes,
    RedirectUri,
    CodeChallenge,
    FamilyId,
    CreatedAt,
    ExpiresAt,
    UsedAt,
}

#[derive(DeriveIden)]
enum RefreshTokens {
    Table,
    TokenHash,
    FamilyId,
    ClientId,
    UserPk,
    Scopes,
    AccessJti,
    AccessExpiresAt,
    CreatedAt,
    ExpiresAt,
    UsedAt,
    RevokedAt,
}

fn user_fk(from: (impl IntoIden, impl IntoIden)) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(from.0, from.1)
        .to(Users::Table, Users::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(big_pk_auto(Users::Id))
                    .col(string_uniq(Users::UserId))
                    .col(string(Users::Username))
                    .col(string_uniq(Users::UsernameKey))
                    .col(string(Users::PasswordHash))
                    .col(boolean(Users::Enabled))
                    .col(boolean(Users::IsAdmin))
                    .col(big_integer(Users::CreatedAt))
                    .col(big_integer(Users::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(UserRoles::Table)
                    .col(big_integer(UserRoles::UserPk))
                    .col(string(UserRoles::Role))
                    .primary_key(Index::create().col(UserRoles::UserPk).col(UserRoles::Role))
                    .foreign_key(&mut user_fk((UserRoles::Table, UserRoles::UserPk)))
                    .foreign_key(
                        ForeignKey::create()
                            .from(UserRoles::Table, UserRoles::Role)
                            .to(Roles::Table, Roles::Name),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Sessions::Table)
                    .col(string(Sessions::TokenHash).primary_key())
                    .col(big_integer(Sessions::UserPk))
                    .col(big_integer(Sessions::CreatedAt))
                    .col(big_integer(Sessions::ExpiresAt))
                    .foreign_key(&mut user_fk((Sessions::Table, Sessions::UserPk)))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("sessions_user")
                    .table(Sessions::Table)
                    .col(Sessions::UserPk)
                    .to_owned(),
            )
            .await?;
        // SQLite adds one column per statement.
        manager
            .alter_table(
                Table::alter()
                    .table(Clients::Table)
                    .add_column(big_integer_null(Clients::OwnerUserPk))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Clients::Table)
                    .add_column(string(Clients::Approval).default("approved"))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Clients::Table)
                    .add_column(big_integer_null(Clients::TermsAcceptedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("clients_owner")
                    .table(Clients::Table)
                    .col(Clients::OwnerUserPk)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Consents::Table)
                    .col(big_integer(Consents::UserPk))
                    .col(big_integer(Consents::ClientPk))
                    .col(string(Consents::Scopes))
                    .col(big_integer(Consents::GrantedAt))
                    .primary_key(
                        Index::create()
                            .col(Consents::UserPk)
                            .col(Consents::ClientPk),
                    )
                    .foreign_key(&mut user_fk((Consents::Table, Consents::UserPk)))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Consents::Table, Consents::ClientPk)
                            .to(Clients::Table, Clients::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AuthorizationCodes::Table)
                    .col(string(AuthorizationCodes::CodeHash).primary_key())
                    .col(string(AuthorizationCodes::ClientId))
                    .col(big_integer(AuthorizationCodes::UserPk))
                    .col(string(AuthorizationCodes::Scopes))
                    .col(text_null(AuthorizationCodes::RedirectUri))
                    .col(string_null(AuthorizationCodes::CodeChallenge))
                    .col(string(AuthorizationCodes::FamilyId))
                    .col(big_integer(AuthorizationCodes::CreatedAt))
                    .col(big_integer(AuthorizationCodes::ExpiresAt))
                    .col(big_integer_null(AuthorizationCodes::UsedAt))
                    .foreign_key(&mut user_fk((
                        AuthorizationCodes::Table,
                        AuthorizationCodes::UserPk,
                    )))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RefreshTokens::Table)
                    .col(string(RefreshTokens::TokenHash).primary_key())
                    .col(string(RefreshTokens::FamilyId))
                    .col(string(RefreshTokens::ClientId))
                    .col(big_integer(RefreshTokens::UserPk))
                    .col(string(RefreshTokens::Scopes))
                    .col(string(RefreshTokens::AccessJti))
                    .col(big_integer(RefreshTokens::AccessExpiresAt))
                    .col(big_integer(RefreshTokens::CreatedAt))
                    .col(big_integer(RefreshTokens::ExpiresAt))
                    .col(big_integer_null(RefreshTokens::UsedAt))
                    .col(big_integer_null(RefreshTokens::RevokedAt))
                    .foreign_key(&mut user_fk((RefreshTokens::Table, RefreshTokens::UserPk)))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("refresh_tokens_family")
                    .table(RefreshTokens::Table)
                    .col(RefreshTokens::FamilyId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            RefreshTokens::Table.into_iden(),
            AuthorizationCodes::Table.into_iden(),
            Consents::Table.into_iden(),
            Sessions::Table.into_iden(),
            UserRoles::Table.into_iden(),
            Users::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        manager
            .drop_index(
                Index::drop()
                    .name("clients_owner")
                    .table(Clients::Table)
                    .to_owned(),
            )
            .await?;
        for column in [
            Clients::TermsAcceptedAt.into_iden(),
            Clients::Approval.into_iden(),
            Clients::OwnerUserPk.into_iden(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Clients::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
