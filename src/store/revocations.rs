//! Revoked access tokens, kept until they would have expired anyway. Every row carries the
//! revocation counter's value it was written with (`seq`), so that instances read only what is
//! new to them.

use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, Set};

use entity::revoked_token;

use crate::Result;

/// Records a revocation by `jti` with its sequence number (idempotent: a token revoked already
/// keeps its first row).
pub async fn insert(
    db: &impl ConnectionTrait,
    jti: &str,
    client_id: &str,
    expires_at: i64,
    now: i64,
    seq: i64,
) -> Result<()> {
    revoked_token::Entity::insert(revoked_token::ActiveModel {
        jti: Set(jti.to_owned()),
        client_id: Set(client_id.to_owned()),
        expires_at: Set(expires_at),
        revoked_at: Set(now),
        seq: Set(seq),
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

/// One revocation as instances hold it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Revoked {
    pub jti: String,
    pub expires_at: i64,
    pub seq: i64,
}

/// The revocations written after `seq` that are still alive at `now` (all of them for -1).
pub async fn since(db: &impl ConnectionTrait, seq: i64, now: i64) -> Result<Vec<Revoked>> {
    let rows = revoked_token::Entity::find()
        .select_only()
        .column(revoked_token::Column::Jti)
        .column(revoked_token::Column::ExpiresAt)
        .column(revoked_token::Column::Seq)
        .filter(revoked_token::Column::Seq.gt(seq))
        .filter(revoked_token::Column::ExpiresAt.gte(now))
        .into_tuple::<(String, i64, i64)>()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(jti, expires_at, seq)| Revoked {
            jti,
            expires_at,
            seq,
        })
        .collect())
}

/// Drops the rows of tokens that expired before `now`; returns how many.
pub async fn delete_expired(db: &impl ConnectionTrait, now: i64) -> Result<u64> {
    let done = revoked_token::Entity::delete_many()
        .filter(revoked_token::Column::ExpiresAt.lt(now))
        .exec(db)
        .await?;
    Ok(done.rows_affected)
}
