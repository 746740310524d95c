//! What people granted apps: remembered consents, authorization codes and refresh-token
//! families. Codes and refresh tokens are stored as their SHA-256 only.

use sea_orm::sea_query::{Expr, OnConflict, Query};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use entity::{authorization_code, consent, refresh_token, revoked_token};

pub use entity::authorization_code::Model as CodeRow;
pub use entity::refresh_token::Model as RefreshRow;

use crate::Result;

/// The scopes a person last granted an app.
pub async fn consent(
    db: &impl ConnectionTrait,
    user_pk: i64,
    client_pk: i64,
) -> Result<Option<String>> {
    Ok(consent::Entity::find_by_id((user_pk, client_pk))
        .one(db)
        .await?
        .map(|c| c.scopes))
}

/// Remembers the scopes granted (replacing what was remembered).
pub async fn remember_consent(
    db: &impl ConnectionTrait,
    user_pk: i64,
    client_pk: i64,
    scopes: &str,
    now: i64,
) -> Result<()> {
    consent::Entity::insert(consent::ActiveModel {
        user_pk: Set(user_pk),
        client_pk: Set(client_pk),
        scopes: Set(scopes.to_owned()),
        granted_at: Set(now),
    })
    .on_conflict(
        OnConflict::columns([consent::Column::UserPk, consent::Column::ClientPk])
            .update_columns([consent::Column::Scopes, consent::Column::GrantedAt])
            .to_owned(),
    )
    .exec(db)
    .await?;
    Ok(())
}

pub async fn insert_code(db: &impl ConnectionTrait, code: CodeRow) -> Result<()> {
    authorization_code::ActiveModel::from(code)
        .insert(db)
        .await?;
    Ok(())
}

pub async fn find_code(db: &impl ConnectionTrait, code_hash: &str) -> Result<Option<CodeRow>> {
    Ok(authorization_code::Entity::find_by_id(code_hash.to_owned())
        .one(db)
        .await?)
}

/// Marks a code used; `false` when it was used already (a concurrent redemption won).
pub async fn use_code(db: &impl ConnectionTrait, code_hash: &str, now: i64) -> Result<bool> {
    let done = authorization_code::Entity::update_many()
        .col_expr(authorization_code::Column::UsedAt, Expr::value(now))
        .filter(authorization_code::Column::CodeHash.eq(code_hash))
        .filter(authorization_code::Column::UsedAt.is_null())
        .exec(db)
        .await?;
    Ok(done.rows_affected == 1)
}

/// Drops codes that expired before `before`.
pub async fn delete_expired_codes(db: &impl ConnectionTrait, before: i64) -> Result<()> {
    authorization_code::Entity::delete_many()
        .filter(authorization_code::Column::ExpiresAt.lt(before))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn insert_refresh(db: &impl ConnectionTrait, token: RefreshRow) -> Result<()> {
    refresh_token::ActiveModel::from(token).insert(db).await?;
    Ok(())
}

pub async fn find_refresh(
    db: &impl ConnectionTrait,
    token_hash: &str,
) -> Result<Option<RefreshRow>> {
    Ok(refresh_token::Entity::find_by_id(token_hash.to_owned())
        .one(db)
        .await?)
}

/// Marks a refresh token used; `false` when it was used or revoked already.
pub async fn use_refresh(db: &impl ConnectionTrait, token_hash: &str, now: i64) -> Result<bool> {
    let done = refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::UsedAt, Expr::value(now))
        .filter(refresh_token::Column::TokenHash.eq(token_hash))
        .filter(refresh_token::Column::UsedAt.is_null())
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(done.rows_affected == 1)
}

/// Revokes a whole family: its refresh tokens (one indexed statement), and the access tokens
/// issued with them that are still alive (one more, into the revocation list, numbered with
/// the next revocation number, which it returns). The rows are locked before the revocation
/// counter, as a client's revocation does, so that two revocations never wait for each other.
pub async fn revoke_family(db: &impl ConnectionTrait, family_id: &str, now: i64) -> Result<i64> {
    refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(now))
        .filter(refresh_token::Column::FamilyId.eq(family_id))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    let seq = super::bump_revocations(db).await?;
    let live_access = Query::select()
        .columns([
            refresh_token::Column::AccessJti,
            refresh_token::Column::ClientId,
            refresh_token::Column::AccessExpiresAt,
        ])
        .expr(Expr::value(now))
        .expr(Expr::value(seq))
        .from(refresh_token::Entity)
        .and_where(refresh_token::Column::FamilyId.eq(family_id))
        .and_where(refresh_token::Column::AccessExpiresAt.gt(now))
        .to_owned();
    let insert = Query::insert()
        .into_table(revoked_token::Entity)
        .columns([
            revoked_token::Column::Jti,
            revoked_token::Column::ClientId,
            revoked_token::Column::ExpiresAt,
            revoked_token::Column::RevokedAt,
            revoked_token::Column::Seq,
        ])
        .select_from(live_access)
        .map_err(crate::Error::internal)?
        .on_conflict(
            OnConflict::column(revoked_token::Column::Jti)
                .do_nothing()
                .to_owned(),
        )
        .to_owned();
    db.execute(&insert).await?;
    Ok(seq)
}

/// Revokes every refresh token of a client (its access tokens are cut off by the client's
/// `tokens_not_before`).
pub async fn revoke_client_refresh(
    db: &impl ConnectionTrait,
    client_id: &str,
    now: i64,
) -> Result<()> {
    refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(now))
        .filter(refresh_token::Column::ClientId.eq(client_id))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// Drops refresh tokens that expired before `before`.
pub async fn delete_expired_refresh(db: &impl ConnectionTrait, before: i64) -> Result<()> {
    refresh_token::Entity::delete_many()
        .filter(refresh_token::Column::ExpiresAt.lt(before))
        .exec(db)
        .await?;
    Ok(())
}

/// For each client, when its newest stored refresh token was made: (client_id, created_at).
/// Every access token of the code and refresh grants comes with one.
pub async fn newest_refresh_by_client(db: &impl ConnectionTrait) -> Result<Vec<(String, i64)>> {
    use sea_orm::QuerySelect;
    use sea_orm::sea_query::ExprTrait;
    Ok(refresh_token::Entity::find()
        .select_only()
        .column(refresh_token::Column::ClientId)
        .expr(Expr::col(refresh_token::Column::CreatedAt).max())
        .group_by(refresh_token::Column::ClientId)
        .into_tuple::<(String, i64)>()
        .all(db)
        .await?)
}
