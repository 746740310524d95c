//! Ed25519 signing keys. Rotation retires the active key but keeps it published until the last
//! token it signed has expired. Seeds are sealed at rest under the key-encryption key and
//! opened only into the in-memory key ring.

use sea_orm::ConnectionTrait;

use super::App;
use super::audit::commit_change;
use crate::caller::Actor;
use crate::oauth::keys::{KeyView, StoredKey};
use crate::oauth::sealing::{self, Kek};
use crate::store::keys::KeyRow;
use crate::{Error, Result, now, store};

/// Opens stored keys with the KEK.
pub fn open(kek: &Kek, rows: Vec<KeyRow>) -> Result<Vec<StoredKey>> {
    rows.into_iter()
        .map(|row| {
            let seed = kek.open(&row.kid, &row.key_bytes)?;
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

/// The row of a key, its seed sealed.
pub(super) fn sealed(kek: &Kek, key: &StoredKey) -> Result<KeyRow> {
    Ok(KeyRow {
        kid: key.kid.clone(),
        key_bytes: kek.seal(&key.kid, &key.seed)?,
        created_at: key.created_at,
        retired_at: key.retired_at,
        publish_until: key.publish_until,
    })
}

/// Seals the plain seeds a database from before sealing still holds; returns how many.
pub(super) async fn seal_plain(db: &impl ConnectionTrait, kek: &Kek) -> Result<usize> {
    let mut sealed_now = 0;
    for row in store::keys::all(db).await? {
        if sealing::is_sealed(&row.key_bytes) {
            continue;
        }
        let seed: [u8; 32] = row
            .key_bytes
            .as_slice()
            .try_into()
            .map_err(|_| Error::internal(format!("signing key {} is damaged", row.kid)))?;
        let bytes = kek.seal(&row.kid, &seed)?;
        store::keys::set_bytes(db, &row.kid, bytes).await?;
        sealed_now += 1;
    }
    Ok(sealed_now)
}

fn view(row: &KeyRow) -> KeyView {
    KeyView {
        kid: row.kid.clone(),
        algorithm: "EdDSA",
        created_at: row.created_at,
        retired_at: row.retired_at,
        publish_until: row.publish_until,
        active: row.retired_at.is_none(),
    }
}

/// Published keys, the active one first.
pub async fn list(app: &App) -> Result<Vec<KeyView>> {
    Ok(store::keys::published(&app.db, now())
        .await?
        .iter()
        .map(view)
        .collect())
}

/// A new active key; the old ones stay published for one token lifetime.
pub async fn rotate(app: &App, actor: &Actor) -> Result<String> {
    let at = now();
    let key = StoredKey::generate(at);
    let row = sealed(&app.kek, &key)?;
    let txn = store::begin_write(&app.db).await?;
    store::keys::retire_active(&txn, at, at + app.config.access_token_ttl).await?;
    store::keys::insert(&txn, row).await?;
    commit_change(txn, actor, "keys.rotate", &key.kid, None).await?;
    app.changed().await?;
    Ok(key.kid)
}
