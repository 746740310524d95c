//! Clients and their roles.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, ModelTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::Serialize;

use entity::{client, client_role};

use super::audit::{self, Actor};
use crate::oauth::secret;
use crate::roles::{Role, RoleSet};
use crate::{Error, Result, now};

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

/// A new client and, for confidential clients, its secret (shown exactly once).
#[derive(Clone, Debug)]
pub struct Created {
    pub client: ClientView,
    pub secret: Option<String>,
}

/// What the token endpoint and the gate keep in memory about every client.
#[derive(Clone, Debug)]
pub struct ClientAuth {
    pub client_id: String,
    pub secret_hash: Option<String>,
    pub enabled: bool,
    pub roles: RoleSet,
}

fn check_text(field: &str, value: &str, max: usize) -> Result<()> {
    if value.trim().is_empty() {
        return Err(Error::invalid(format!("{field} must not be empty")));
    }
    if value.chars().count() > max || value.chars().any(char::is_control) {
        return Err(Error::invalid(format!(
            "{field} must be at most {max} printable characters"
        )));
    }
    Ok(())
}

fn check_redirect_uris(uris: &[String]) -> Result<()> {
    for uri in uris {
        let parsed = url::Url::parse(uri)
            .map_err(|_| Error::invalid(format!("redirect URI {uri:?} is not an absolute URL")))?;
        if parsed.fragment().is_some() {
            return Err(Error::invalid(format!(
                "redirect URI {uri:?} must not have a fragment"
            )));
        }
    }
    Ok(())
}

fn check_optional(field: &str, value: &Option<String>) -> Result<()> {
    match value {
        Some(v) => check_text(field, v, 500),
        None => Ok(()),
    }
}

impl NewClient {
    fn validate(&self) -> Result<()> {
        check_text("name", &self.name, 200)?;
        check_redirect_uris(&self.redirect_uris)?;
        if let Some(email) = &self.support_email {
            check_email(email)?;
        }
        check_optional("support_uri", &self.support_uri)?;
        check_optional("owner", &self.owner)
    }
}

fn check_email(email: &str) -> Result<()> {
    check_text("support_email", email, 254)?;
    match email.split_once('@') {
        Some((local, domain)) if !local.is_empty() && domain.contains('.') => Ok(()),
        _ => Err(Error::invalid("support_email is not an e-mail address")),
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
        check_optional("support_uri", &self.support_uri)?;
        check_optional("owner", &self.owner)
    }
}

async fn roles_of(db: &impl ConnectionTrait, client_pk: i64) -> Result<RoleSet> {
    let rows = client_role::Entity::find()
        .filter(client_role::Column::ClientPk.eq(client_pk))
        .all(db)
        .await?;
    Ok(rows.iter().filter_map(|r| Role::parse(&r.role)).collect())
}

fn view(model: client::Model, roles: RoleSet) -> ClientView {
    ClientView {
        redirect_uris: serde_json::from_str(&model.redirect_uris).unwrap_or_default(),
        confidential: model.secret_hash.is_some(),
        client_id: model.client_id,
        name: model.name,
        description: model.description,
        support_email: model.support_email,
        support_uri: model.support_uri,
        owner: model.owner,
        enabled: model.enabled,
        roles: roles.names(),
        created_at: model.created_at,
        updated_at: model.updated_at,
    }
}

async fn find_model(db: &impl ConnectionTrait, client_id: &str) -> Result<client::Model> {
    client::Entity::find()
        .filter(client::Column::ClientId.eq(client_id))
        .one(db)
        .await?
        .ok_or_else(|| Error::not_found(format!("client {client_id} not found")))
}

async fn set_roles(db: &impl ConnectionTrait, client_pk: i64, roles: RoleSet) -> Result<()> {
    client_role::Entity::delete_many()
        .filter(client_role::Column::ClientPk.eq(client_pk))
        .exec(db)
        .await?;
    if roles.is_empty() {
        return Ok(());
    }
    client_role::Entity::insert_many(roles.iter().map(|role| client_role::ActiveModel {
        client_pk: Set(client_pk),
        role: Set(role.name().to_owned()),
    }))
    .exec(db)
    .await?;
    Ok(())
}

/// Inserts a client (no audit; for seeding and for [`create`]).
pub(super) async fn insert(db: &impl ConnectionTrait, new: NewClient) -> Result<Created> {
    new.validate()?;
    let secret = (!new.public).then(secret::random_token);
    let at = now();
    let model = client::ActiveModel {
        client_id: Set(uuid::Uuid::new_v4().to_string()),
        name: Set(new.name.trim().to_owned()),
        description: Set(new.description),
        secret_hash: Set(secret.as_deref().map(secret::hash)),
        redirect_uris: Set(
            serde_json::to_string(&new.redirect_uris).unwrap_or_else(|_| "[]".into())
        ),
        support_email: Set(new.support_email),
        support_uri: Set(new.support_uri),
        owner: Set(new.owner),
        enabled: Set(true),
        created_at: Set(at),
        updated_at: Set(at),
        ..Default::default()
    }
    .insert(db)
    .await?;
    set_roles(db, model.id, new.roles).await?;
    Ok(Created {
        client: view(model, new.roles),
        secret,
    })
}

pub async fn create(db: &DatabaseConnection, actor: &Actor, new: NewClient) -> Result<Created> {
    let txn = super::begin_write(db).await?;
    let created = insert(&txn, new).await?;
    audit::commit_change(txn, actor, "client.create", &created.client.client_id).await?;
    Ok(created)
}

/// One page of clients, oldest first, and whether more follow.
pub async fn list(
    db: &DatabaseConnection,
    limit: u64,
    offset: u64,
) -> Result<(Vec<ClientView>, u64)> {
    let total = client::Entity::find().count(db).await?;
    let models = client::Entity::find()
        .order_by_asc(client::Column::Id)
        .limit(limit)
        .offset(offset)
        .all(db)
        .await?;
    let mut views = Vec::with_capacity(models.len());
    for model in models {
        let roles = roles_of(db, model.id).await?;
        views.push(view(model, roles));
    }
    Ok((views, total))
}

pub async fn show(db: &DatabaseConnection, client_id: &str) -> Result<ClientView> {
    let model = find_model(db, client_id).await?;
    let roles = roles_of(db, model.id).await?;
    Ok(view(model, roles))
}

pub async fn update(
    db: &DatabaseConnection,
    actor: &Actor,
    client_id: &str,
    update: ClientUpdate,
) -> Result<ClientView> {
    update.validate()?;
    let txn = super::begin_write(db).await?;
    let model = find_model(&txn, client_id).await?;
    let mut active: client::ActiveModel = model.into();
    if let Some(name) = update.name {
        active.name = Set(name.trim().to_owned());
    }
    if let Some(description) = update.description {
        active.description = Set(Some(description));
    }
    if let Some(uris) = update.redirect_uris {
        active.redirect_uris = Set(serde_json::to_string(&uris).unwrap_or_else(|_| "[]".into()));
    }
    if let Some(email) = update.support_email {
        active.support_email = Set(Some(email));
    }
    if let Some(uri) = update.support_uri {
        active.support_uri = Set(Some(uri));
    }
    if let Some(owner) = update.owner {
        active.owner = Set(Some(owner));
    }
    active.updated_at = Set(now());
    let model = active.update(&txn).await?;
    let roles = roles_of(&txn, model.id).await?;
    audit::commit_change(txn, actor, "client.update", client_id).await?;
    Ok(view(model, roles))
}

pub async fn set_enabled(
    db: &DatabaseConnection,
    actor: &Actor,
    client_id: &str,
    enabled: bool,
) -> Result<ClientView> {
    let txn = super::begin_write(db).await?;
    let mut active: client::ActiveModel = find_model(&txn, client_id).await?.into();
    active.enabled = Set(enabled);
    active.updated_at = Set(now());
    let model = active.update(&txn).await?;
    let roles = roles_of(&txn, model.id).await?;
    let action = if enabled {
        "client.enable"
    } else {
        "client.disable"
    };
    audit::commit_change(txn, actor, action, client_id).await?;
    Ok(view(model, roles))
}

pub async fn delete(db: &DatabaseConnection, actor: &Actor, client_id: &str) -> Result<()> {
    let txn = super::begin_write(db).await?;
    let model = find_model(&txn, client_id).await?;
    set_roles(&txn, model.id, RoleSet::EMPTY).await?;
    model.delete(&txn).await?;
    audit::commit_change(txn, actor, "client.delete", client_id).await
}

/// A new secret for a confidential client; the old one stops working at once.
pub async fn rotate_secret(
    db: &DatabaseConnection,
    actor: &Actor,
    client_id: &str,
) -> Result<String> {
    let txn = super::begin_write(db).await?;
    let model = find_model(&txn, client_id).await?;
    if model.secret_hash.is_none() {
        return Err(Error::invalid("public clients have no secret"));
    }
    let secret = secret::random_token();
    let mut active: client::ActiveModel = model.into();
    active.secret_hash = Set(Some(secret::hash(&secret)));
    active.updated_at = Set(now());
    active.update(&txn).await?;
    audit::commit_change(txn, actor, "client.rotate_secret", client_id).await?;
    Ok(secret)
}

/// Adds (`grant`) or removes roles; returns the client's roles afterwards.
pub async fn change_roles(
    db: &DatabaseConnection,
    actor: &Actor,
    client_id: &str,
    roles: RoleSet,
    grant: bool,
) -> Result<ClientView> {
    let txn = super::begin_write(db).await?;
    let model = find_model(&txn, client_id).await?;
    let current = roles_of(&txn, model.id).await?;
    let next = if grant {
        current.iter().chain(roles.iter()).collect()
    } else {
        current
            .iter()
            .filter(|role| !roles.contains(*role))
            .collect()
    };
    set_roles(&txn, model.id, next).await?;
    let view = view(model, next);
    let action = if grant {
        "client.grant"
    } else {
        "client.revoke"
    };
    audit::commit_change_with(txn, actor, action, client_id, Some(roles.names().join(","))).await?;
    Ok(view)
}

/// Every client with what authentication and the gate need, for the in-memory snapshot.
pub async fn all_auth(db: &impl ConnectionTrait) -> Result<Vec<ClientAuth>> {
    let clients = client::Entity::find().all(db).await?;
    let grants = client_role::Entity::find().all(db).await?;
    let mut by_pk = std::collections::HashMap::<i64, RoleSet>::new();
    for grant in grants {
        if let Some(role) = Role::parse(&grant.role) {
            by_pk.entry(grant.client_pk).or_default().insert(role);
        }
    }
    Ok(clients
        .into_iter()
        .map(|c| ClientAuth {
            roles: by_pk.get(&c.id).copied().unwrap_or_default(),
            client_id: c.client_id,
            secret_hash: c.secret_hash,
            enabled: c.enabled,
        })
        .collect())
}
