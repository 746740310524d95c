//! Tokens that act for a person: redeeming an authorization code (RFC 6749 §4.1.3, RFC 7636
//! §4.6) and rotating refresh tokens (§6). Every redemption starts a family; every use of a
//! refresh token marks it used and issues the next. A code or refresh token presented twice
//! revokes its whole family (refresh tokens and the access tokens issued with them).

use sea_orm::ConnectionTrait;

use super::App;
use super::audit;
use crate::caller::Actor;
use crate::oauth::OAuthError;
use crate::oauth::client_auth::ClientAuth;
use crate::oauth::grants::{self, Delegation, Issued, Refused};
use crate::oauth::{pkce, secret};
use crate::scope::ScopeSet;
use crate::store::grants::RefreshRow;
use crate::{Error, Result, now, store};

/// What a failed grant means: an OAuth refusal, or our own failure.
pub enum GrantFailed {
    Refused(Refused),
    Failed(Error),
}

impl From<Error> for GrantFailed {
    fn from(err: Error) -> Self {
        GrantFailed::Failed(err)
    }
}

impl From<sea_orm::DbErr> for GrantFailed {
    fn from(err: sea_orm::DbErr) -> Self {
        GrantFailed::Failed(err.into())
    }
}

fn refuse(client: &ClientAuth, error: OAuthError) -> GrantFailed {
    GrantFailed::Refused(Refused {
        error,
        claimed_client: Some(client.client_id.clone()),
        unknown_client: false,
    })
}

fn invalid_grant(client: &ClientAuth, why: &str) -> GrantFailed {
    refuse(client, OAuthError::invalid_grant(why))
}

/// Revokes a family inside `txn` (its access tokens numbered by the revocation counter),
/// commits with an audit row, and applies it here at once (no reload of the view).
async fn revoke_family_and_commit(
    app: &App,
    txn: store::WriteTxn,
    family_id: &str,
    why: &str,
) -> Result<()> {
    let seq = store::grants::revoke_family(&txn, family_id, now()).await?;
    let reason = Some(why.to_owned());
    let action = "token.family_revoke";
    audit::record(
        &txn,
        &Actor::system(),
        action,
        Some(family_id),
        reason,
        true,
    )
    .await?;
    txn.commit().await?;
    app.revoked(seq).await
}

/// The enabled person with this key, and their roles.
async fn person(db: &impl ConnectionTrait, user_pk: i64) -> Result<Option<store::users::UserRow>> {
    Ok(store::users::find_by_pk(db, user_pk)
        .await?
        .filter(|row| row.enabled))
}

/// Why a family is revoked, and what the client is told, when a code or refresh token comes
/// back a second time.
const CODE_REPLAYED: (&str, &str) = (
    "authorization code used twice",
    "The authorization code was used already; the tokens issued from it are revoked",
);
const REFRESH_REPLAYED: (&str, &str) = (
    "refresh token used twice",
    "The refresh token was used already; its whole family is revoked",
);

/// Signs the access token and makes the refresh token that comes with it: the row to store
/// with the spending of the code or token before ([`store::grants::spend`]).
fn issue(
    app: &App,
    client: &ClientAuth,
    person: &store::users::UserRow,
    scopes: ScopeSet,
    family_id: &str,
) -> (Issued, RefreshRow) {
    let at = now();
    let mut issued = {
        let view = app.view();
        grants::delegated(
            &view.keys,
            &app.issuer_settings(at),
            &Delegation {
                client,
                sub: &person.user_id,
                person_roles: person.roles,
                scopes,
            },
        )
    };
    let refresh = secret::random_token();
    let row = RefreshRow {
        token_hash: secret::hash(&refresh),
        family_id: family_id.to_owned(),
        client_id: client.client_id.clone(),
        user_pk: person.pk,
        scopes: scopes.to_string(),
        access_jti: issued.jti.clone(),
        access_expires_at: issued.exp,
        created_at: at,
        expires_at: at + app.config.refresh_token_ttl,
        used_at: None,
        revoked_at: None,
    };
    issued.refresh_token = Some(refresh);
    (issued, row)
}

/// Redeems an authorization code. The code is read, and every check made and the token signed,
/// outside any transaction; the one write then marks the code used only if it still is not,
/// so a concurrent redemption that won meanwhile is caught there. Only the database can fail
/// that write, which goes with the spends sent with it: one statement outside any transaction
/// on PostgreSQL, one query in the write batch on SQLite (`store::spends`).
pub async fn redeem_code(
    app: &App,
    client: &ClientAuth,
    code: &str,
    redirect_uri: Option<&str>,
    code_verifier: Option<&str>,
) -> Result<Issued, GrantFailed> {
    let at = now();
    let code_hash = secret::hash(code);
    let found = store::grants::find_code_and_person(&app.autocommit, &code_hash).await?;
    let Some((row, person)) = found else {
        return Err(invalid_grant(client, "The authorization code is not valid"));
    };
    if row.client_id != client.client_id {
        return Err(invalid_grant(
            client,
            "The authorization code was issued to another client",
        ));
    }
    if row.used_at.is_some() {
        return Err(replayed(app, client, &row.family_id, CODE_REPLAYED).await);
    }
    if row.expires_at <= at {
        return Err(invalid_grant(client, "The authorization code has expired"));
    }
    // §4.1.3: equal to the one sent to the authorization endpoint, absent or equal otherwise.
    let redirect_ok = match (&row.redirect_uri, redirect_uri) {
        (Some(sent), Some(given)) => sent == given,
        (Some(_), None) => false,
        (None, Some(given)) => client.redirect_uris.len() == 1 && client.redirect_uris[0] == given,
        (None, None) => true,
    };
    if !redirect_ok {
        return Err(invalid_grant(
            client,
            "redirect_uri does not match the authorization request",
        ));
    }
    match (&row.code_challenge, code_verifier) {
        (Some(challenge), Some(verifier)) if pkce::verify_s256(verifier, challenge) => {}
        (Some(_), _) => {
            return Err(invalid_grant(
                client,
                "code_verifier does not match the code_challenge",
            ));
        }
        (None, Some(_)) => {
            return Err(invalid_grant(
                client,
                "code_verifier sent, but no code_challenge was",
            ));
        }
        (None, None) => {}
    }
    let Some(person) = person.filter(|p| p.enabled) else {
        return Err(invalid_grant(
            client,
            "The person who granted the code is disabled or gone",
        ));
    };
    let scopes = ScopeSet::parse(&row.scopes).unwrap_or_default();
    let (issued, next) = issue(app, client, &person, scopes, &row.family_id);
    let logged = audit::entry(
        &Actor::person(&person.username),
        "token.code",
        Some(&client.client_id),
        None,
        true,
    );
    let spent = store::grants::Spent::Code(&code_hash);
    let txn = store::begin_single(&app.db, &app.spends);
    if !store::grants::spend(&txn, spent, at, next, Some(logged)).await? {
        txn.rollback().await?;
        return Err(replayed(app, client, &row.family_id, CODE_REPLAYED).await);
    }
    txn.commit().await?;
    Ok(issued)
}

/// A code or refresh token presented again, or one read unused that a concurrent request
/// used first: its family is revoked (RFC 6749 §4.1.2, RFC 9700 §4.14.2) and the request
/// refused, saying so. The revocation is a transaction of its own, which locks the family's
/// rows first.
async fn replayed(
    app: &App,
    client: &ClientAuth,
    family_id: &str,
    (why, answer): (&str, &str),
) -> GrantFailed {
    let revoked = match store::begin_write(&app.db).await {
        Ok(txn) => revoke_family_and_commit(app, txn, family_id, why).await,
        Err(err) => Err(err),
    };
    match revoked {
        Ok(()) => invalid_grant(client, answer),
        Err(err) => err.into(),
    }
}

/// Rotates a refresh token: the presented one is used up, the next one comes back. As with a
/// code, the token is read and checked outside any transaction, and the one write marks it
/// used only if it still is not.
pub async fn rotate(
    app: &App,
    client: &ClientAuth,
    refresh_token: &str,
    scope: Option<ScopeSet>,
) -> Result<Issued, GrantFailed> {
    let at = now();
    let token_hash = secret::hash(refresh_token);
    let found = store::grants::find_refresh_and_person(&app.autocommit, &token_hash).await?;
    let Some((row, person)) = found else {
        return Err(invalid_grant(client, "The refresh token is not valid"));
    };
    if row.client_id != client.client_id {
        return Err(invalid_grant(
            client,
            "The refresh token was issued to another client",
        ));
    }
    if row.revoked_at.is_some() {
        return Err(invalid_grant(client, "The refresh token was revoked"));
    }
    if row.used_at.is_some() {
        return Err(replayed(app, client, &row.family_id, REFRESH_REPLAYED).await);
    }
    if row.expires_at <= at {
        return Err(invalid_grant(client, "The refresh token has expired"));
    }
    let granted = ScopeSet::parse(&row.scopes).unwrap_or_default();
    let scopes = match scope {
        Some(asked) if !asked.roles().is_subset(granted.roles()) => {
            return Err(refuse(
                client,
                OAuthError::invalid_scope("The requested scope exceeds what was granted"),
            ));
        }
        Some(asked) if !asked.is_empty() => asked,
        _ => granted,
    };
    let Some(person) = person.filter(|p| p.enabled) else {
        return Err(invalid_grant(
            client,
            "The person who granted this is disabled or gone",
        ));
    };
    let (issued, next) = issue(app, client, &person, scopes, &row.family_id);
    let spent = store::grants::Spent::Refresh(&token_hash);
    let txn = store::begin_single(&app.db, &app.spends);
    if !store::grants::spend(&txn, spent, at, next, None).await? {
        txn.rollback().await?;
        return Err(replayed(app, client, &row.family_id, REFRESH_REPLAYED).await);
    }
    txn.commit().await?;
    Ok(issued)
}

/// Revokes the family of a refresh token of `client_id`'s (RFC 7009 for refresh tokens).
pub async fn revoke_refresh(
    app: &App,
    client_id: &str,
    refresh_token: &str,
) -> Result<Result<(), OAuthError>> {
    let token_hash = secret::hash(refresh_token);
    let txn = store::begin_write(&app.db).await?;
    let Some(row) = store::grants::find_refresh(&txn, &token_hash).await? else {
        return Ok(Ok(()));
    };
    if row.client_id != client_id {
        return Ok(Err(OAuthError::unauthorized_client(
            "The token was not issued to this client",
        )));
    }
    revoke_family_and_commit(app, txn, &row.family_id, "revoked by its client").await?;
    Ok(Ok(()))
}

/// A refresh token as introspection reports it, when it is active.
pub async fn active_refresh(
    app: &App,
    refresh_token: &str,
) -> Result<Option<(RefreshRow, store::users::UserRow)>> {
    let Some(row) = store::grants::find_refresh(&app.db, &secret::hash(refresh_token)).await?
    else {
        return Ok(None);
    };
    if row.used_at.is_some() || row.revoked_at.is_some() || row.expires_at <= now() {
        return Ok(None);
    }
    let client_ok = app
        .view()
        .clients
        .get(&row.client_id)
        .is_some_and(|c| c.enabled && c.approved);
    if !client_ok {
        return Ok(None);
    }
    Ok(person(&app.db, row.user_pk)
        .await?
        .map(|person| (row, person)))
}
