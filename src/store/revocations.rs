//! Revoked access tokens, kept until they would have expired anyway.

use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use entity::revoked_token;

use crate::Result;

/// Records a revocation by `jti` (idempotent).
pub async fn insert(
    db: &impl ConnectionTrait,
    jti: &str,
    client_id: &str,
    expires_at: i64,
    now: i64,
) -> Result<()> {
    revoked_token::Entity::insert(revoked_token::ActiveModel {
        jti: Set(jti.to_owned()),
        client_id: Set(client_id.to_owned()),
        expires_at: Set(expires_at),
        revoked_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(revoked_token::Column::Jti)
            .do_nothing()
            .to_owned(),
    )
    .try_insert()
    .exec(db)
    .await?;
    Ok(())
}

/// The `jti`s of revoked tokens still alive at `now`; drops the expired rows.
pub async fn live(db: &impl ConnectionTrait, now: i64) -> Result<Vec<String>> {
    revoked_token::Entity::delete_many()
        .filter(revoked_token::Column::ExpiresAt.lt(now))
        .exec(db)
        .await?;
    let rows = revoked_token::Entity::find()
        .filter(revoked_token::Column::ExpiresAt.gte(now))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|r| r.jti).collect())
}
