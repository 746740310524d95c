//! Signing-key rows.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, Set,
};

use entity::signing_key;

use crate::oauth::keys::StoredKey;
use crate::{Error, Result};

pub async fn insert(db: &impl ConnectionTrait, key: &StoredKey) -> Result<()> {
    signing_key::ActiveModel {
        kid: Set(key.kid.clone()),
        private_key: Set(key.seed.to_vec()),
        created_at: Set(key.created_at),
        retired_at: Set(key.retired_at),
        publish_until: Set(key.publish_until),
    }
    .insert(db)
    .await?;
    Ok(())
}

fn stored(row: signing_key::Model) -> Result<StoredKey> {
    let seed: [u8; 32] = row
        .private_key
        .as_slice()
        .try_into()
        .map_err(|_| Error::Internal(format!("signing key {} is damaged", row.kid)))?;
    Ok(StoredKey {
        kid: row.kid,
        seed,
        created_at: row.created_at,
        retired_at: row.retired_at,
        publish_until: row.publish_until,
    })
}

/// Keys published at `now`: the active one first, then retired ones (newest first) whose
/// tokens may still be alive.
pub async fn published(db: &impl ConnectionTrait, now: i64) -> Result<Vec<StoredKey>> {
    let mut rows = signing_key::Entity::find()
        .filter(
            Condition::any()
                .add(signing_key::Column::PublishUntil.is_null())
                .add(signing_key::Column::PublishUntil.gt(now)),
        )
        .order_by_desc(signing_key::Column::CreatedAt)
        .all(db)
        .await?;
    rows.sort_by_key(|row| (row.retired_at.is_some(), std::cmp::Reverse(row.created_at)));
    rows.into_iter().map(stored).collect()
}

/// Marks every active key retired at `at`, published until `publish_until`.
pub async fn retire_active(db: &impl ConnectionTrait, at: i64, publish_until: i64) -> Result<()> {
    let active = signing_key::Entity::find()
        .filter(signing_key::Column::RetiredAt.is_null())
        .all(db)
        .await?;
    for key in active {
        let mut key: signing_key::ActiveModel = key.into();
        key.retired_at = Set(Some(at));
        key.publish_until = Set(Some(publish_until));
        key.update(db).await?;
    }
    Ok(())
}
