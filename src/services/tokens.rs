//! The token endpoint's use cases: issue a token (RFC 6749 §4.4) and revoke one (RFC 7009).
//! Both answer from the in-memory view; a client id the view does not know is looked up in the
//! database first (it may have been created a moment ago by the CLI or another instance), with
//! a bounded negative cache so that unknown ids cannot hammer the database.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use hashbrown::HashMap;

use super::App;
use super::audit::commit_change;
use crate::caller::Actor;
use crate::oauth::client_auth::ClientAuth;
use crate::oauth::grants::{self, Directory, Issued, Refused, Revocation, TokenRequest};
use crate::oauth::keys::KeyRing;
use crate::{Error, Result, now, store};

/// How long an id the database did not know is not asked for again (a change reloads the view
/// and clears this sooner).
const UNKNOWN_FOR: Duration = Duration::from_secs(5);
const UNKNOWN_CAPACITY: usize = 10_000;

/// Client ids recently found in neither the view nor the database.
#[derive(Default)]
pub struct UnknownClients(Mutex<HashMap<String, Instant>>);

impl UnknownClients {
    fn contains(&self, client_id: &str) -> bool {
        let seen = self.0.lock().unwrap_or_else(|e| e.into_inner());
        seen.get(client_id)
            .is_some_and(|at| at.elapsed() < UNKNOWN_FOR)
    }

    fn insert(&self, client_id: &str) {
        let mut seen = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if seen.len() >= UNKNOWN_CAPACITY {
            seen.retain(|_, at| at.elapsed() < UNKNOWN_FOR);
            if seen.len() >= UNKNOWN_CAPACITY {
                seen.clear();
            }
        }
        seen.insert(client_id.to_owned(), Instant::now());
    }

    pub(super) fn clear(&self) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

/// The view with one more client, read from the database.
struct WithClient<'a, D> {
    view: &'a D,
    client: &'a ClientAuth,
}

impl<D: Directory> Directory for WithClient<'_, D> {
    fn client(&self, client_id: &str) -> Option<&ClientAuth> {
        if client_id == self.client.client_id {
            Some(self.client)
        } else {
            self.view.client(client_id)
        }
    }

    fn keys(&self) -> &KeyRing {
        self.view.keys()
    }
}

/// The client the view does not know, if the database does (and the view then reloads).
async fn newer_client(app: &App, refused: &Refused) -> Option<ClientAuth> {
    let client_id = refused
        .claimed_client
        .as_deref()
        .filter(|_| refused.unknown_client)?;
    if app.unknown_clients.contains(client_id) {
        return None;
    }
    match store::clients::auth_of(&app.db, client_id).await {
        Ok(Some(client)) => {
            if let Err(err) = app.sync().await {
                tracing::warn!(error = %err, "could not reload after finding a new client");
            }
            Some(client)
        }
        Ok(None) => {
            app.unknown_clients.insert(client_id);
            None
        }
        Err(err) => {
            tracing::warn!(error = %err, "could not look up a client");
            None
        }
    }
}

/// Issues a token for a token request.
pub async fn issue(app: &App, request: &TokenRequest<'_>) -> Result<Issued, Refused> {
    let settings = app.issuer_settings(now());
    let refused = {
        let view = app.view();
        match grants::token(&**view, &settings, request) {
            Err(refused) if refused.unknown_client => refused,
            answered => return answered,
        }
    };
    let Some(client) = newer_client(app, &refused).await else {
        return Err(refused);
    };
    let view = app.view();
    let directory = WithClient {
        view: &**view,
        client: &client,
    };
    grants::token(&directory, &settings, request)
}

/// What a refused revocation or a failed store means for the caller.
pub enum RevokeFailed {
    Refused(Refused),
    Failed(Error),
}

/// Revokes an access token of the calling client; every instance refuses it within two
/// seconds, this one at once.
pub async fn revoke(app: &App, request: &TokenRequest<'_>) -> Result<(), RevokeFailed> {
    let decided = {
        let view = app.view();
        grants::revoke(&**view, request, now())
    };
    let decided = match decided {
        Err(refused) if refused.unknown_client => match newer_client(app, &refused).await {
            Some(client) => {
                let view = app.view();
                let directory = WithClient {
                    view: &**view,
                    client: &client,
                };
                grants::revoke(&directory, request, now())
            }
            None => Err(refused),
        },
        other => other,
    };
    match decided.map_err(RevokeFailed::Refused)? {
        Revocation::Nothing => Ok(()),
        Revocation::Revoke {
            jti,
            client_id,
            expires_at,
        } => store_revocation(app, &jti, &client_id, expires_at)
            .await
            .map_err(RevokeFailed::Failed),
    }
}

async fn store_revocation(app: &App, jti: &str, client_id: &str, expires_at: i64) -> Result<()> {
    let txn = store::begin_write(&app.db).await?;
    store::revocations::insert(&txn, jti, client_id, expires_at, now()).await?;
    commit_change(txn, &Actor::client(client_id), "token.revoke", jti, None).await?;
    app.changed().await
}
