//! Signing-key rows: the `kid`, the sealed seed (see `crate::oauth::sealing`; databases from
//! before sealing hold plain 32-byte seeds until they are sealed on start) and the
//! publication window.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, Set,
};

use entity::signing_key;

use crate::Result;

/// A key as stored.
#[derive(Clone)]
pub struct KeyRow {
    pub kid: String,
    pub key_bytes: Vec<u8>,
    pub created_at: i64,
    pub retired_at: Option<i64>,
    pub publish_until: Option<i64>,
}

fn row(model: signing_key::Model) -> KeyRow {
    KeyRow {
        kid: model.kid,
        key_bytes: model.private_key,
        created_at: model.created_at,
        retired_at: model.retired_at,
        publish_until: model.publish_until,
    }
}

pub async fn insert(db: &impl ConnectionTrait, key: KeyRow) -> Result<()> {
    signing_key::ActiveModel {
        kid: Set(key.kid),
        private_key: Set(key.key_bytes),
        created_at: Set(key.created_at),
        retired_at: Set(key.retired_at),
        publish_until: Set(key.publish_until),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Keys published at `now`: the active one first, then retired ones (newest first) whose
/// tokens may still be alive.
pub async fn published(db: &impl ConnectionTrait, now: i64) -> Result<Vec<KeyRow>> {
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
    Ok(rows.into_iter().map(row).collect())
}

/// Every key, published or not.
pub async fn all(db: &impl ConnectionTrait) -> Result<Vec<KeyRow>> {
    Ok(signing_key::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(row)
        .collect())
}

/// Replaces a key's stored bytes (sealing a plain seed).
pub async fn set_bytes(db: &impl ConnectionTrait, kid: &str, key_bytes: Vec<u8>) -> Result<()> {
    signing_key::ActiveModel {
        kid: Set(kid.to_owned()),
        private_key: Set(key_bytes),
        ..Default::default()
    }
    .update(db)
    .await?;
    Ok(())
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
