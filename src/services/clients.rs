//! OAuth clients: create, list, show, update, enable/disable, delete, rotate the secret, grant
//! and revoke roles. Every change is one transaction with its audit row, and is visible on this
//! instance when the function returns (on the others within two seconds).

use serde::Serialize;

use super::App;
use super::audit::commit_change;
use super::paging::Paging;
use crate::caller::Actor;
use crate::oauth::secret;
use crate::roles::RoleSet;
use crate::store::clients::ClientRow;
use crate::{Error, Result, now, store};

/// What an admin gives to create a client.
#[derive(Clone, Debug, Default)]
pub struct NewClient {
    pub name: String,
    pub description: Option<String>,
    pub redirect_uris: Vec<String>,
    pub support_email: Option<String>,
    pub support_uri: Option<String>,
    pub owner: Option<String>,
    pub roles: RoleSet,
    /// Public clients have no secret (authorization code + PKCE only).
    pub public: bool,
}

/// A change to a client's descriptive fields; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct ClientUpdate {
    pub name: Option<String>,
    pub description: Option<String>,
    pub redirect_uris: Option<Vec<String>>,
    pub support_email: Option<String>,
    pub support_uri: Option<String>,
    pub owner: Option<String>,
}

/// A client as shown to admins (never the secret or its hash).
#[derive(Clone, Debug, Serialize)]
pub struct ClientView {
    pub client_id: String,
    pub name: String,
    pub description: Option<String>,
    pub redirect_uris: Vec<String>,
    pub support_email: Option<String>,
    pub support_uri: Option<String>,
    pub owner: Option<String>,
    pub confidential: bool,
    pub enabled: bool,
    pub roles: Vec<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl From<ClientRow> for ClientView {
    fn from(row: ClientRow) -> Self {
        ClientView {
            confidential: row.secret_hash.is_some(),
            client_id: row.client_id,
            name: row.name,
            description: row.description,
            redirect_uris: row.redirect_uris,
            support_email: row.support_email,
            support_uri: row.support_uri,
            owner: row.owner,
            enabled: row.enabled,
            roles: row.roles.names(),
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// A new client and, for confidential clients, its secret (shown exactly once).
#[derive(Clone, Debug)]
pub struct Created {
    pub client: ClientView,
    pub secret: Option<String>,
}

/// Role names as an admin gives them (`Read`, `write`, …).
pub fn parse_roles(names: &str) -> Result<RoleSet> {
    RoleSet::parse_list(names).map_err(|bad| {
        Error::attribute(
            "roles",
            format!("unknown role {bad:?} (Read, Write, Messages, Admin)"),
        )
    })
}

pub(super) fn check_text(field: &str, value: &str, max: usize) -> Result<()> {
    if value.trim().is_empty() {
        return Err(Error::attribute(
            field,
            format!("{field} must not be empty"),
        ));
    }
    if value.chars().count() > max || value.chars().any(char::is_control) {
        return Err(Error::attribute(
            field,
            format!("{field} must be at most {max} printable characters"),
        ));
    }
    Ok(())
}

fn check_optional(field: &str, value: &Option<String>, max: usize) -> Result<()> {
    match value {
        Some(v) => check_text(field, v, max),
        None => Ok(()),
    }
}

/// Longest description: room for a developer app's 511 words.
const MAX_DESCRIPTION: usize = 5000;

/// Redirect URIs are absolute `https` URLs without a fragment, or `http` to a loopback
/// address (native apps, RFC 8252 §7.3); at most 20, each at most 2000 characters.
pub(super) fn check_redirect_uris(uris: &[String]) -> Result<()> {
    let refuse = |why: String| Error::attribute("redirect_uris", why);
    if uris.len() > 20 {
        return Err(refuse("at most 20 redirect URIs".into()));
    }
    for uri in uris {
        let shown: String = uri.chars().take(100).collect();
        if uri.len() > 2000 {
            return Err(refuse(format!(
                "redirect URI {shown:?}… is longer than 2000 characters"
            )));
        }
        let parsed = url::Url::parse(uri)
            .map_err(|_| refuse(format!("redirect URI {shown:?} is not an absolute URL")))?;
        let loopback = matches!(parsed.host(), Some(url::Host::Domain("localhost")))
            || matches!(parsed.host(), Some(url::Host::Ipv4(ip)) if ip.is_loopback())
            || matches!(parsed.host(), Some(url::Host::Ipv6(ip)) if ip.is_loopback());
        match parsed.scheme() {
            "https" => {}
            "http" if loopback => {}
            _ => {
                return Err(refuse(format!(
                    "redirect URI {shown:?} must use https (http only to a loopback address)"
                )));
            }
        }
        if parsed.fragment().is_some() {
            return Err(refuse(format!(
                "redirect URI {shown:?} must not have a fragment"
            )));
        }
    }
    Ok(())
}

fn check_email(email: &str) -> Result<()> {
    check_text("support_email", email, 254)?;
    match email.split_once('@') {
        Some((local, domain)) if !local.is_empty() && domain.contains('.') => Ok(()),
        _ => Err(Error::attribute(
            "support_email",
            "support_email is not an e-mail address",
        )),
    }
}

impl NewClient {
    fn validate(&self) -> Result<()> {
        check_text("name", &self.name, 200)?;
        check_redirect_uris(&self.redirect_uris)?;
        if let Some(email) = &self.support_email {
            check_email(email)?;
        }
        check_optional("description", &self.description, MAX_DESCRIPTION)?;
        check_optional("support_uri", &self.support_uri, 500)?;
        check_optional("owner", &self.owner, 500)
    }
}

impl ClientUpdate {
    fn validate(&self) -> Result<()> {
        if let Some(name) = &self.name {
            check_text("name", name, 200)?;
        }
        if let Some(uris) = &self.redirect_uris {
            check_redirect_uris(uris)?;
        }
        if let Some(email) = &self.support_email {
            check_email(email)?;
        }
        check_optional("description", &self.description, MAX_DESCRIPTION)?;
        check_optional("support_uri", &self.support_uri, 500)?;
        check_optional("owner", &self.owner, 500)
    }
}

/// The row of a new client and its secret; for [`create`] and first-start seeding.
pub(super) fn new_row(new: NewClient) -> Result<(ClientRow, Option<String>)> {
    new.validate()?;
    let secret = (!new.public).then(secret::random_token);
    let at = now();
    let row = ClientRow {
        pk: 0,
        client_id: uuid::Uuid::new_v4().to_string(),
        name: new.name.trim().to_owned(),
        description: new.description,
        secret_hash: secret.as_deref().map(secret::hash),
        redirect_uris: new.redirect_uris,
        support_email: new.support_email,
        support_uri: new.support_uri,
        owner: new.owner,
        enabled: true,
        roles: new.roles,
        created_at: at,
        updated_at: at,
        owner_user_pk: None,
        approval: "approved".into(),
        terms_accepted_at: None,
        tokens_not_before: None,
    };
    Ok((row, secret))
}

pub async fn create(app: &App, actor: &Actor, new: NewClient) -> Result<Created> {
    let (row, secret) = new_row(new)?;
    let txn = store::begin_write(&app.db).await?;
    let row = store::clients::insert(&txn, row).await?;
    commit_change(txn, actor, "client.create", &row.client_id, None).await?;
    app.changed().await?;
    Ok(Created {
        client: row.into(),
        secret,
    })
}

/// When each client last got a token that flowgate records: the access tokens of the
/// authorization-code and refresh grants, which come with a stored refresh token (kept until it
/// expires). Tokens of the client-credentials grant are issued from memory and recorded nowhere,
/// so a client that only uses that grant is absent here.
pub async fn last_recorded_tokens(app: &App) -> Result<std::collections::HashMap<String, i64>> {
    Ok(store::grants::newest_refresh_by_client(&app.db)
        .await?
        .into_iter()
        .collect())
}

/// One page of clients, oldest first, and the total.
pub async fn list(app: &App, paging: Paging) -> Result<(Vec<ClientView>, u64)> {
    let filter = store::clients::ClientFilter::default();
    let (rows, total) = store::clients::page(&app.db, &filter, paging.limit, paging.offset).await?;
    Ok((rows.into_iter().map(ClientView::from).collect(), total))
}

pub async fn show(app: &App, client_id: &str) -> Result<ClientView> {
    Ok(store::clients::get(&app.db, client_id).await?.into())
}

/// Reads the client, changes it, writes it back, audits; all in one transaction. With
/// `revoke_tokens`, every token issued to it until now dies too: its access tokens by the
/// cut-off (`tokens_not_before`), its refresh tokens by being revoked.
async fn change(
    app: &App,
    actor: &Actor,
    client_id: &str,
    action: &str,
    detail: Option<String>,
    revoke_tokens: bool,
    edit: impl FnOnce(&mut ClientRow) -> Result<()>,
) -> Result<ClientView> {
    let txn = store::begin_write(&app.db).await?;
    let mut row = store::clients::get(&txn, client_id).await?;
    edit(&mut row)?;
    let at = now();
    row.updated_at = at;
    if revoke_tokens {
        cut_off(&mut row, at);
        store::grants::revoke_client_refresh(&txn, client_id, at).await?;
    }
    store::clients::save(&txn, &row).await?;
    commit_change(txn, actor, action, client_id, detail).await?;
    app.changed().await?;
    Ok(row.into())
}

/// Access tokens issued up to this second are refused from now on. The cut-off is the next
/// second, since `iat` counts whole seconds; tokens issued later (once the client may have them
/// again) are signed with an `iat` no earlier than the cut-off, so they are not caught by it.
fn cut_off(row: &mut ClientRow, at: i64) {
    let cut = at + 1;
    row.tokens_not_before = Some(row.tokens_not_before.map_or(cut, |old| old.max(cut)));
}

pub async fn update(
    app: &App,
    actor: &Actor,
    client_id: &str,
    update: ClientUpdate,
) -> Result<ClientView> {
    update.validate()?;
    change(app, actor, client_id, "client.update", None, false, |row| {
        if let Some(name) = update.name {
            row.name = name.trim().to_owned();
        }
        if let Some(description) = update.description {
            row.description = Some(description);
        }
        if let Some(uris) = update.redirect_uris {
            row.redirect_uris = uris;
        }
        if let Some(email) = update.support_email {
            row.support_email = Some(email);
        }
        if let Some(uri) = update.support_uri {
            row.support_uri = Some(uri);
        }
        if let Some(owner) = update.owner {
            row.owner = Some(owner);
        }
        Ok(())
    })
    .await
}

/// Enables or disables a client. Disabling ends every token issued to it so far, for good:
/// enabling it again does not bring them back.
pub async fn set_enabled(
    app: &App,
    actor: &Actor,
    client_id: &str,
    enabled: bool,
) -> Result<ClientView> {
    let action = if enabled {
        "client.enable"
    } else {
        "client.disable"
    };
    change(app, actor, client_id, action, None, !enabled, |row| {
        row.enabled = enabled;
        Ok(())
    })
    .await
}

pub async fn delete(app: &App, actor: &Actor, client_id: &str) -> Result<()> {
    let txn = store::begin_write(&app.db).await?;
    let row = store::clients::get(&txn, client_id).await?;
    store::clients::delete(&txn, &row).await?;
    commit_change(txn, actor, "client.delete", client_id, None).await?;
    app.changed().await
}

/// A new secret for a confidential client (shown once); the old one stops working at once.
/// With `revoke_tokens`, so does every token issued to the client until now.
pub async fn rotate_secret(
    app: &App,
    actor: &Actor,
    client_id: &str,
    revoke_tokens: bool,
) -> Result<Created> {
    let secret = secret::random_token();
    let hash = secret::hash(&secret);
    let detail = revoke_tokens.then(|| "tokens revoked".to_owned());
    let action = "client.rotate_secret";
    let client = change(
        app,
        actor,
        client_id,
        action,
        detail,
        revoke_tokens,
        |row| {
            if row.secret_hash.is_none() {
                return Err(Error::invalid("public clients have no secret"));
            }
            row.secret_hash = Some(hash);
            Ok(())
        },
    )
    .await?;
    Ok(Created {
        client,
        secret: Some(secret),
    })
}

/// Adds (`grant`) or removes roles; tokens already issued lose removed roles at once.
pub async fn change_roles(
    app: &App,
    actor: &Actor,
    client_id: &str,
    roles: RoleSet,
    grant: bool,
) -> Result<ClientView> {
    let action = if grant {
        "client.grant"
    } else {
        "client.revoke"
    };
    let detail = Some(roles.names().join(","));
    change(app, actor, client_id, action, detail, false, |row| {
        row.roles = if grant {
            row.roles.iter().chain(roles.iter()).collect()
        } else {
            row.roles
                .iter()
                .filter(|role| !roles.contains(*role))
                .collect()
        };
        Ok(())
    })
    .await
}
