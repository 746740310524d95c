//! Revoked access tokens, kept until they would have expired anyway.

use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};

use entity::revoked_token;

use crate::{Result, now};

/// Revokes a token by its `jti` (idempotent) and tells other instances.
pub async fn revoke(
    db: &DatabaseConnection,
    jti: &str,
    client_id: &str,
    expires_at: i64,
) -> Result<()> {
    let txn = super::begin_write(db).await?;
    revoked_token::Entity::insert(revoked_token::ActiveModel {
        jti: Set(jti.to_owned()),
        client_id: Set(client_id.to_owned()),
        expires_at: Set(expires_at),
        revoked_at: Set(now()),
    })
    .on_conflict(
        OnConflict::column(revoked_token::Column::Jti)
            .do_nothing()
            .to_owned(),
    )
    .try_insert()
    .exec(&txn)
    .await?;
    super::audit::record(
        &txn,
        &format!("client:{client_id}"),
        "token.revoke",
        Some(jti),
        None,
        true,
    )
    .await?;
    super::bump_version(&txn).await?;
    txn.commit().await?;
    Ok(())
}

/// The `jti`s of revoked tokens that have not expired yet; drops the expired rows.
pub async fn live(db: &impl ConnectionTrait) -> Result<Vec<String>> {
    let at = now();
    revoked_token::Entity::delete_many()
        .filter(revoked_token::Column::ExpiresAt.lt(at))
        .exec(db)
        .await?;
    let rows = revoked_token::Entity::find()
        .filter(revoked_token::Column::ExpiresAt.gte(at))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|r| r.jti).collect())
}
