//! The authorization endpoint's use cases (RFC 6749 §4.1): judge a request, skip the consent
//! page when the person already granted the same app these scopes, record the person's answer
//! and issue a single-use code (60 s, stored as its hash) bound to the client, the redirect URI
//! and the PKCE challenge.

use url::Url;

use super::App;
use super::audit;
use super::sessions::Person;
use crate::caller::Actor;
use crate::oauth::authorize::{self, AuthorizationRequest, Refusal};
use crate::oauth::form::FormParams;
use crate::oauth::secret;
use crate::scope::ScopeSet;
use crate::store::grants::CodeRow;
use crate::{Error, Result, now, store};

/// How long a code may wait to be redeemed.
pub const CODE_TTL: i64 = 60;

/// What happens next for a logged-in person.
#[derive(Debug)]
pub enum Next {
    /// Back to the client, with a code (or an error).
    Redirect(Url),
    /// The consent page.
    AskConsent(AuthorizationRequest),
}

/// Judges a request against the clients this instance knows.
pub fn check(app: &App, params: &FormParams) -> Result<AuthorizationRequest, Refusal> {
    let view = app.view();
    authorize::check(params, |client_id| view.clients.get(client_id))
}

/// Goes straight back with a code when the person already granted this app these scopes.
pub async fn start(app: &App, person: &Person, request: AuthorizationRequest) -> Result<Next> {
    let client = store::clients::get(&app.db, &request.client_id).await?;
    let remembered = store::grants::consent(&app.db, person.pk, client.pk).await?;
    let covered = remembered
        .and_then(|scopes| ScopeSet::parse(&scopes).ok())
        .is_some_and(|granted| request.scopes.roles().is_subset(granted.roles()));
    if covered {
        return Ok(Next::Redirect(issue_code(app, person, &request).await?));
    }
    Ok(Next::AskConsent(request))
}

/// The person's answer on the consent page: a code, or `access_denied`.
pub async fn answer(
    app: &App,
    person: &Person,
    request: &AuthorizationRequest,
    approve: bool,
) -> Result<Url> {
    if !approve {
        let txn = store::begin_write(&app.db).await?;
        let actor = Actor::person(&person.username);
        audit::record(
            &txn,
            &actor,
            "consent.deny",
            Some(&request.client_id),
            None,
            true,
        )
        .await?;
        txn.commit().await?;
        let mut target = request.redirect_uri.clone();
        {
            let mut query = target.query_pairs_mut();
            query.append_pair("error", "access_denied");
            query.append_pair("error_description", "The person declined the request");
            if let Some(state) = &request.state {
                query.append_pair("state", state);
            }
        }
        return Ok(target);
    }
    let client = store::clients::get(&app.db, &request.client_id).await?;
    let earlier = store::grants::consent(&app.db, person.pk, client.pk)
        .await?
        .and_then(|scopes| ScopeSet::parse(&scopes).ok())
        .unwrap_or_default();
    let granted = ScopeSet::of_roles(
        request
            .scopes
            .roles()
            .iter()
            .chain(earlier.roles().iter())
            .collect(),
    );
    let txn = store::begin_write(&app.db).await?;
    store::grants::remember_consent(&txn, person.pk, client.pk, &granted.to_string(), now())
        .await?;
    let actor = Actor::person(&person.username);
    let detail = Some(request.scopes.to_string());
    audit::record(
        &txn,
        &actor,
        "consent.grant",
        Some(&request.client_id),
        detail,
        true,
    )
    .await?;
    txn.commit().await?;
    issue_code(app, person, request).await
}

/// Stores a new code and gives the URL that carries it back to the client.
async fn issue_code(app: &App, person: &Person, request: &AuthorizationRequest) -> Result<Url> {
    let code = secret::random_token();
    let at = now();
    let row = CodeRow {
        code_hash: secret::hash(&code),
        client_id: request.client_id.clone(),
        user_pk: person.pk,
        scopes: request.scopes.to_string(),
        redirect_uri: request
            .redirect_uri_given
            .then(|| request.redirect_uri_text.clone()),
        code_challenge: request.code_challenge.clone(),
        family_id: uuid::Uuid::new_v4().simple().to_string(),
        created_at: at,
        expires_at: at + CODE_TTL,
        used_at: None,
    };
    let txn = store::begin_write(&app.db).await?;
    store::grants::insert_code(&txn, row).await?;
    txn.commit().await.map_err(Error::from)?;
    let mut target = request.redirect_uri.clone();
    {
        let mut query = target.query_pairs_mut();
        query.append_pair("code", &code);
        if let Some(state) = &request.state {
            query.append_pair("state", state);
        }
    }
    Ok(target)
}
