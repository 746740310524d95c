//! What people granted apps: remembered consents, authorization codes and refresh-token
//! families. Codes and refresh tokens are stored as their SHA-256 only.

use sea_orm::sea_query::{Expr, OnConflict, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set, Value,
};

use entity::{authorization_code, consent, refresh_token, revoked_token};

pub use entity::authorization_code::Model as CodeRow;
pub use entity::refresh_token::Model as RefreshRow;

use super::WriteTxn;
use super::audit::AuditEntry;
use super::spends::{Spend, spend_in};
use super::sql_once::SqlOnce;
use super::users::UserRow;
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

/// A code with the person who granted it (`None` when they are gone), in one query.
pub async fn find_code_and_person(
    db: &impl ConnectionTrait,
    code_hash: &str,
) -> Result<Option<(CodeRow, Option<UserRow>)>> {
    static SQL: SqlOnce = SqlOnce::new();
    let code = |hash: Value| {
        authorization_code::Entity::find().filter(authorization_code::Column::CodeHash.eq(hash))
    };
    super::users::one_with_person(
        db,
        &SQL,
        code_hash.into(),
        code,
        authorization_code::Column::UserPk,
    )
    .await
}

/// A refresh token with the person it acts for (`None` when they are gone), in one query.
pub async fn find_refresh_and_person(
    db: &impl ConnectionTrait,
    token_hash: &str,
) -> Result<Option<(RefreshRow, Option<UserRow>)>> {
    static SQL: SqlOnce = SqlOnce::new();
    let token = |hash: Value| {
        refresh_token::Entity::find().filter(refresh_token::Column::TokenHash.eq(hash))
    };
    super::users::one_with_person(
        db,
        &SQL,
        token_hash.into(),
        token,
        refresh_token::Column::UserPk,
    )
    .await
}

/// Drops codes that expired before `before`; how many.
pub async fn delete_expired_codes(db: &impl ConnectionTrait, before: i64) -> Result<u64> {
    let deleted = authorization_code::Entity::delete_many()
        .filter(authorization_code::Column::ExpiresAt.lt(before))
        .exec(db)
        .await?;
    Ok(deleted.rows_affected)
}

pub async fn find_refresh(
    db: &impl ConnectionTrait,
    token_hash: &str,
) -> Result<Option<RefreshRow>> {
    Ok(refresh_token::Entity::find_by_id(token_hash.to_owned())
        .one(db)
        .await?)
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

/// Drops refresh tokens that expired before `before`; how many.
pub async fn delete_expired_refresh(db: &impl ConnectionTrait, before: i64) -> Result<u64> {
    let deleted = refresh_token::Entity::delete_many()
        .filter(refresh_token::Column::ExpiresAt.lt(before))
        .exec(db)
        .await?;
    Ok(deleted.rows_affected)
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

/// What a code redemption or a refresh rotation uses up.
pub enum Spent<'a> {
    /// An authorization code, by its hash.
    Code(&'a str),
    /// A refresh token, by its hash.
    Refresh(&'a str),
}

/// Uses up a code or refresh token at `now` and stores the next refresh token and the audit
/// row (if any) with it, all or nothing: `false` when it was used or revoked meanwhile (a
/// concurrent request won), and nothing was written. In a [`super::begin_single`] write it
/// joins the spends that wait with it ([`super::spends`]): one statement on PostgreSQL, one
/// query in the write batch on SQLite. In a transaction of the caller's it is that query alone.
pub async fn spend(
    txn: &WriteTxn,
    spent: Spent<'_>,
    now: i64,
    next: RefreshRow,
    audit: Option<AuditEntry>,
) -> Result<bool> {
    let (code, hash) = match spent {
        Spent::Code(hash) => (true, hash),
        Spent::Refresh(hash) => (false, hash),
    };
    let spend = Spend {
        code,
        hash: hash.to_owned(),
        now,
        next,
        audit,
    };
    if let Some(spends) = txn.spends() {
        return Ok(spends.spend(spend).await?);
    }
    Ok(!spend_in(txn, &[&spend]).await?.is_empty())
}
