//! Ed25519 signing keys. Rotation retires the active key but keeps it published until the last
//! token it signed has expired.

use super::App;
use super::audit::commit_change;
use crate::caller::Actor;
use crate::oauth::keys::{KeyView, StoredKey};
use crate::{Result, now, store};

/// Published keys, the active one first.
pub async fn list(app: &App) -> Result<Vec<KeyView>> {
    Ok(store::keys::published(&app.db, now())
        .await?
        .iter()
        .map(StoredKey::view)
        .collect())
}

/// A new active key; the old ones stay published for one token lifetime.
pub async fn rotate(app: &App, actor: &Actor) -> Result<String> {
    let at = now();
    let txn = store::begin_write(&app.db).await?;
    store::keys::retire_active(&txn, at, at + app.config.access_token_ttl).await?;
    let key = StoredKey::generate(at);
    store::keys::insert(&txn, &key).await?;
    commit_change(txn, actor, "keys.rotate", &key.kid, None).await?;
    app.changed().await?;
    Ok(key.kid)
}
