//! The token endpoint's use cases: issue a token (RFC 6749 §4.4) and revoke one (RFC 7009).
//! Both answer from the in-memory view; a client id the view does not know is looked up in the
//! database first (it may have been created a moment ago by the CLI or another instance), with
//! a bounded negative cache so that unknown ids cannot hammer the database.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use hashbrown::HashMap;

use super::App;
use super::audit;
use super::delegation::{self, GrantFailed};
use crate::caller::Actor;
use crate::oauth::OAuthError;
use crate::oauth::client_auth::{self, ClientAuth};
use crate::oauth::grants::{
    self, Directory, Introspection, Issued, Refused, Revocation, TokenGrant, TokenRequest,
};
use crate::oauth::keys::KeyRing;
use crate::{Error, Result, now, store};

/// How long an id the database did not know is not asked for again. Client ids are random UUIDs
/// the server makes, so an id refused as unknown never becomes a client's later: nothing needs
/// to forget it sooner.
const UNKNOWN_FOR: Duration = Duration::from_secs(5);
const UNKNOWN_CAPACITY: usize = 10_000;
/// Longer claimed client ids are not looked up, remembered or counted as they are (client ids
/// are UUIDs): a flood of huge made-up ids must not fill memory.
const MAX_CLIENT_ID: usize = 128;

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

    /// The claimed client id of a refusal worth reading from the database: one the view did not
    /// know, of a client id's length, and not found there a moment ago.
    fn worth_looking_up<'r>(&self, refused: &'r Refused) -> Option<&'r str> {
        let client_id = refused
            .claimed_client
            .as_deref()
            .filter(|_| refused.unknown_client)?;
        (client_id.len() <= MAX_CLIENT_ID && !self.contains(client_id)).then_some(client_id)
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

/// A client the view does not know, read from the database if it is there.
async fn read_client(app: &App, client_id: &str) -> Option<ClientAuth> {
    match store::clients::auth_of(&app.db, client_id).await {
        Ok(Some(client)) => Some(client),
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

/// Decides a request against the view, or (for a client the view does not know yet) against
/// the view and that client read from the database. Failed client authentication is counted
/// per claimed client id and per address; past the limit, requests wait (429).
async fn decide<T>(
    app: &App,
    request: &TokenRequest<'_>,
    decide: impl Fn(&dyn Directory) -> Result<T, Refused>,
) -> Result<T, Refused> {
    let claimed = || match client_auth::claimed_client_id(request.authorization, request.body) {
        Some(id) => super::audit::bound(&id, MAX_CLIENT_ID),
        None => "(none)".into(),
    };
    if app.client_limits.any_blocked()
        && let Some(wait) = app.client_limits.wait(&claimed(), request.address)
    {
        return Err(OAuthError::too_many_attempts(wait).into());
    }
    let decided = decide_once(app, &decide).await;
    match decided {
        Err(refused) if refused.error.code == "invalid_client" => {
            match app.client_limits.failed(&claimed(), request.address) {
                Some(wait) => Err(Refused {
                    error: OAuthError::too_many_attempts(wait),
                    ..refused
                }),
                None => Err(refused),
            }
        }
        other => other,
    }
}

async fn decide_once<T>(
    app: &App,
    decide: &impl Fn(&dyn Directory) -> Result<T, Refused>,
) -> Result<T, Refused> {
    let refused = match decide(&**app.view()) {
        Err(refused) => refused,
        answered => return answered,
    };
    let client = match app.unknown_clients.worth_looking_up(&refused) {
        Some(client_id) => read_client(app, client_id).await,
        None => None,
    };
    let Some(client) = client else {
        return Err(refused);
    };
    let decided = decide(&WithClient {
        view: &**app.view(),
        client: &client,
    });
    // Before answering, so that the client's next request (or its token at the gate) finds it.
    if let Err(err) = app.sync().await {
        tracing::warn!(error = %err, "could not reload after finding a new client");
    }
    decided
}

/// Issues a token for a token request: `client_credentials` from memory; a code or a refresh
/// token through the database.
pub async fn issue(app: &App, request: &TokenRequest<'_>) -> Result<Issued, GrantFailed> {
    let settings = app.issuer_settings(now());
    let grant = decide(app, request, |directory| {
        grants::token(&directory, &settings, request)
    })
    .await
    .map_err(GrantFailed::Refused)?;
    match grant {
        TokenGrant::Issued(issued) => Ok(issued),
        TokenGrant::Code {
            client,
            code,
            redirect_uri,
            code_verifier,
        } => {
            delegation::redeem_code(
                app,
                &client,
                &code,
                redirect_uri.as_deref(),
                code_verifier.as_deref(),
            )
            .await
        }
        TokenGrant::Refresh {
            client,
            refresh_token,
            scope,
        } => delegation::rotate(app, &client, &refresh_token, scope).await,
    }
}

/// What a refused revocation or a failed store means for the caller.
pub enum RevokeFailed {
    Refused(Refused),
    Failed(Error),
}

/// Revokes an access token of the calling client (every instance refuses it within two
/// seconds, this one at once), or the family of one of its refresh tokens.
pub async fn revoke(app: &App, request: &TokenRequest<'_>) -> Result<(), RevokeFailed> {
    let decided = decide(app, request, |directory| {
        grants::revoke(&directory, request, now())
    })
    .await
    .map_err(RevokeFailed::Refused)?;
    match decided {
        Revocation::Nothing => Ok(()),
        Revocation::Revoke {
            jti,
            client_id,
            expires_at,
        } => store_revocation(app, &jti, &client_id, expires_at)
            .await
            .map_err(RevokeFailed::Failed),
        Revocation::Refresh { token, client_id } => {
            match delegation::revoke_refresh(app, &client_id, &token).await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(error)) => Err(RevokeFailed::Refused(Refused {
                    error,
                    claimed_client: Some(client_id),
                    unknown_client: false,
                })),
                Err(err) => Err(RevokeFailed::Failed(err)),
            }
        }
    }
}

/// What introspection (RFC 7662) reports of an active token.
#[derive(Clone, Debug, Default)]
pub struct ActiveToken {
    pub token_type: &'static str,
    pub scope: String,
    pub client_id: String,
    pub username: Option<String>,
    pub sub: String,
    pub exp: i64,
    pub iat: i64,
    pub aud: Option<String>,
    pub iss: Option<String>,
    pub jti: Option<String>,
}

/// Introspects an access or refresh token; `None` when it is not active.
pub async fn introspect(
    app: &App,
    request: &TokenRequest<'_>,
) -> Result<Option<ActiveToken>, RevokeFailed> {
    let expect = app.expectations(now());
    let found = decide(app, request, |directory| {
        grants::introspect(&directory, request, &app.verified_tokens, &expect)
    })
    .await
    .map_err(RevokeFailed::Refused)?;
    match found {
        Introspection::Inactive => Ok(None),
        Introspection::Access(token) => {
            let view = app.view();
            let Ok(standing) = view.standing(&token) else {
                return Ok(None);
            };
            Ok(Some(ActiveToken {
                token_type: "Bearer",
                username: standing.person.map(|p| p.username.clone()),
                scope: token.scopes.to_string(),
                client_id: token.client_id.clone(),
                sub: token.sub().to_owned(),
                exp: token.exp,
                iat: token.iat,
                aud: Some(app.issuer.clone()),
                iss: Some(app.issuer.clone()),
                jti: Some(token.jti.clone()),
            }))
        }
        Introspection::Refresh(token) => {
            let active = delegation::active_refresh(app, &token)
                .await
                .map_err(RevokeFailed::Failed)?;
            Ok(active.map(|(row, person)| ActiveToken {
                token_type: "refresh_token",
                scope: row.scopes,
                client_id: row.client_id,
                username: Some(person.username),
                sub: person.user_id,
                exp: row.expires_at,
                iat: row.created_at,
                aud: None,
                iss: Some(app.issuer.clone()),
                jti: None,
            }))
        }
    }
}

/// Stores the revocation with the next revocation number and its audit row; this instance
/// applies it at once, the others when they see the revocation counter move. The view is not
/// reloaded.
async fn store_revocation(app: &App, jti: &str, client_id: &str, expires_at: i64) -> Result<()> {
    let txn = store::begin_write(&app.db).await?;
    let seq = store::bump_revocations(&txn).await?;
    store::revocations::insert(&txn, jti, client_id, expires_at, now(), seq).await?;
    let actor = Actor::client(client_id);
    audit::record(&txn, &actor, "token.revoke", Some(jti), None, true).await?;
    txn.commit().await?;
    app.revoked(seq).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_ids_are_remembered_and_bounded() {
        let unknown = UnknownClients::default();
        assert!(!unknown.contains("a"));
        unknown.insert("a");
        assert!(unknown.contains("a"));
        assert!(!unknown.contains("b"));
        // Full of live entries: they are forgotten rather than the map growing.
        for n in 0..UNKNOWN_CAPACITY {
            unknown.insert(&n.to_string());
        }
        assert!(unknown.0.lock().unwrap().len() <= UNKNOWN_CAPACITY);
        assert!(!unknown.contains("a"));
    }

    #[test]
    fn a_full_map_forgets_lapsed_entries_first() {
        let unknown = UnknownClients::default();
        {
            let mut seen = unknown.0.lock().unwrap();
            seen.insert("old".into(), Instant::now() - UNKNOWN_FOR);
            for n in 1..UNKNOWN_CAPACITY {
                seen.insert(n.to_string(), Instant::now());
            }
        }
        unknown.insert("new");
        assert!(unknown.contains("new"));
        assert!(unknown.contains("1"), "live entries stay");
        assert_eq!(unknown.0.lock().unwrap().len(), UNKNOWN_CAPACITY);
    }

    fn refusal(claimed: &str, unknown_client: bool) -> Refused {
        Refused {
            error: OAuthError::invalid_client(true),
            claimed_client: Some(claimed.to_owned()),
            unknown_client,
        }
    }

    #[test]
    fn only_unknown_ids_of_a_client_ids_length_not_just_refused_are_looked_up() {
        let unknown = UnknownClients::default();
        let uuid = "0b8d6a4e-3f3c-4c55-9d59-2d1c8e6f7a10";
        assert_eq!(unknown.worth_looking_up(&refusal(uuid, true)), Some(uuid));
        let longest = "x".repeat(MAX_CLIENT_ID);
        assert_eq!(
            unknown.worth_looking_up(&refusal(&longest, true)),
            Some(longest.as_str())
        );
        let too_long = "x".repeat(MAX_CLIENT_ID + 1);
        assert_eq!(unknown.worth_looking_up(&refusal(&too_long, true)), None);
        // A known client with a wrong secret: the view's answer stands.
        assert_eq!(unknown.worth_looking_up(&refusal(uuid, false)), None);
        assert_eq!(
            unknown.worth_looking_up(&Refused::from(OAuthError::invalid_client(true))),
            None
        );
        unknown.insert(uuid);
        assert_eq!(unknown.worth_looking_up(&refusal(uuid, true)), None);
    }

    #[test]
    fn an_entry_lapses() {
        let unknown = UnknownClients::default();
        unknown
            .0
            .lock()
            .unwrap()
            .insert("old".into(), Instant::now() - UNKNOWN_FOR);
        assert!(!unknown.contains("old"));
    }
}
