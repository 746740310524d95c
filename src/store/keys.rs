//! Ed25519 signing keys. Rotation retires the active key but keeps it published until the last
//! token it signed has expired.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    QueryFilter, QueryOrder, Set,
};
use serde::Serialize;

use entity::signing_key;

use super::audit::{self, Actor};
use crate::{Error, Result, now};

/// A key as the key ring needs it.
#[derive(Clone)]
pub struct StoredKey {
    pub kid: String,
    pub seed: [u8; 32],
    pub created_at: i64,
    pub retired_at: Option<i64>,
    pub publish_until: Option<i64>,
}

/// A key as admins see it (no private part).
#[derive(Clone, Debug, Serialize)]
pub struct KeyView {
    pub kid: String,
    pub algorithm: &'static str,
    pub created_at: i64,
    pub retired_at: Option<i64>,
    pub publish_until: Option<i64>,
    pub active: bool,
}

impl StoredKey {
    pub fn view(&self) -> KeyView {
        KeyView {
            kid: self.kid.clone(),
            algorithm: "EdDSA",
            created_at: self.created_at,
            retired_at: self.retired_at,
            publish_until: self.publish_until,
            active: self.retired_at.is_none(),
        }
    }
}

pub(super) async fn insert_new_key(db: &impl ConnectionTrait) -> Result<String> {
    let mut seed = [0u8; 32];
    rand::fill(&mut seed);
    let at = now();
    let kid = format!(
        "{}-{}",
        chrono::Utc::now().format("%Y%m%d"),
        &crate::oauth::secret::random_token()[..8]
    );
    signing_key::ActiveModel {
        kid: Set(kid.clone()),
        private_key: Set(seed.to_vec()),
        created_at: Set(at),
        retired_at: Set(None),
        publish_until: Set(None),
    }
    .insert(db)
    .await?;
    Ok(kid)
}

/// Keys still published, the active one first, then retired ones (newest first) whose tokens
/// may still be alive.
pub async fn published(db: &impl ConnectionTrait) -> Result<Vec<StoredKey>> {
    let mut rows = signing_key::Entity::find()
        .filter(
            Condition::any()
                .add(signing_key::Column::PublishUntil.is_null())
                .add(signing_key::Column::PublishUntil.gt(now())),
        )
        .order_by_desc(signing_key::Column::CreatedAt)
        .all(db)
        .await?;
    rows.sort_by_key(|row| (row.retired_at.is_some(), std::cmp::Reverse(row.created_at)));
    rows.into_iter()
        .map(|row| {
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
        })
        .collect()
}

/// A new active key; the old ones stay published for `token_ttl` seconds.
pub async fn rotate(db: &DatabaseConnection, actor: &Actor, token_ttl: i64) -> Result<String> {
    let txn = super::begin_write(db).await?;
    let at = now();
    let active = signing_key::Entity::find()
        .filter(signing_key::Column::RetiredAt.is_null())
        .all(&txn)
        .await?;
    for key in active {
        let mut key: signing_key::ActiveModel = key.into();
        key.retired_at = Set(Some(at));
        key.publish_until = Set(Some(at + token_ttl));
        key.update(&txn).await?;
    }
    let kid = insert_new_key(&txn).await?;
    audit::commit_change(txn, actor, "keys.rotate", &kid).await?;
    Ok(kid)
}
