//! Browser sessions, shared by every instance: the SHA-256 of the cookie's token, the person,
//! the expiry.

use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use entity::session;

use crate::Result;

pub async fn insert(
    db: &impl ConnectionTrait,
    token_hash: &str,
    user_pk: i64,
    now: i64,
    expires_at: i64,
) -> Result<()> {
    session::ActiveModel {
        token_hash: Set(token_hash.to_owned()),
        user_pk: Set(user_pk),
        created_at: Set(now),
        expires_at: Set(expires_at),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// The person of a session alive at `now`.
pub async fn user_of(db: &impl ConnectionTrait, token_hash: &str, now: i64) -> Result<Option<i64>> {
    Ok(session::Entity::find_by_id(token_hash.to_owned())
        .one(db)
        .await?
        .filter(|s| s.expires_at > now)
        .map(|s| s.user_pk))
}

pub async fn delete(db: &impl ConnectionTrait, token_hash: &str) -> Result<()> {
    session::Entity::delete_by_id(token_hash.to_owned())
        .exec(db)
        .await?;
    Ok(())
}

/// Ends every session of a person (disabled, or a new password).
pub async fn delete_for_user(db: &impl ConnectionTrait, user_pk: i64) -> Result<()> {
    session::Entity::delete_many()
        .filter(session::Column::UserPk.eq(user_pk))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn delete_expired(db: &impl ConnectionTrait, now: i64) -> Result<()> {
    session::Entity::delete_many()
        .filter(session::Column::ExpiresAt.lte(now))
        .exec(db)
        .await?;
    Ok(())
}
