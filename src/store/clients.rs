//! Client rows and their role rows. No rules here: the services validate and decide.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, ModelTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};

use entity::{client, client_role};

use crate::oauth::client_auth::ClientAuth;
use crate::roles::{Role, RoleSet};
use crate::{Error, Result};

/// A client row with its roles. `pk` is 0 for a row not inserted yet.
#[derive(Clone, Debug, Default)]
pub struct ClientRow {
    pub pk: i64,
    pub client_id: String,
    pub name: String,
    pub description: Option<String>,
    pub secret_hash: Option<String>,
    pub redirect_uris: Vec<String>,
    pub support_email: Option<String>,
    pub support_uri: Option<String>,
    pub owner: Option<String>,
    pub enabled: bool,
    pub roles: RoleSet,
    pub created_at: i64,
    pub updated_at: i64,
    /// The person who registered it as a developer app.
    pub owner_user_pk: Option<i64>,
    /// `approved`, or a developer app's `pending` / `rejected`.
    pub approval: String,
    pub terms_accepted_at: Option<i64>,
    /// Access tokens issued before this (Unix seconds) are refused.
    pub tokens_not_before: Option<i64>,
}

fn row(model: client::Model, roles: RoleSet) -> ClientRow {
    ClientRow {
        pk: model.id,
        redirect_uris: serde_json::from_str(&model.redirect_uris).unwrap_or_default(),
        client_id: model.client_id,
        name: model.name,
        description: model.description,
        secret_hash: model.secret_hash,
        support_email: model.support_email,
        support_uri: model.support_uri,
        owner: model.owner,
        enabled: model.enabled,
        roles,
        created_at: model.created_at,
        updated_at: model.updated_at,
        owner_user_pk: model.owner_user_pk,
        approval: model.approval,
        terms_accepted_at: model.terms_accepted_at,
        tokens_not_before: model.tokens_not_before,
    }
}

fn uris_json(uris: &[String]) -> String {
    serde_json::to_string(uris).unwrap_or_else(|_| "[]".into())
}

async fn roles_of(db: &impl ConnectionTrait, client_pk: i64) -> Result<RoleSet> {
    let rows = client_role::Entity::find()
        .filter(client_role::Column::ClientPk.eq(client_pk))
        .all(db)
        .await?;
    Ok(rows.iter().filter_map(|r| Role::parse(&r.role)).collect())
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

/// Inserts the row and its roles; returns it with its primary key.
pub async fn insert(db: &impl ConnectionTrait, new: ClientRow) -> Result<ClientRow> {
    let model = client::ActiveModel {
        client_id: Set(new.client_id),
        name: Set(new.name),
        description: Set(new.description),
        secret_hash: Set(new.secret_hash),
        redirect_uris: Set(uris_json(&new.redirect_uris)),
        support_email: Set(new.support_email),
        support_uri: Set(new.support_uri),
        owner: Set(new.owner),
        enabled: Set(new.enabled),
        created_at: Set(new.created_at),
        updated_at: Set(new.updated_at),
        owner_user_pk: Set(new.owner_user_pk),
        approval: Set(new.approval.clone()),
        terms_accepted_at: Set(new.terms_accepted_at),
        tokens_not_before: Set(new.tokens_not_before),
        ..Default::default()
    }
    .insert(db)
    .await?;
    set_roles(db, model.id, new.roles).await?;
    Ok(row(model, new.roles))
}

/// Writes every field and the roles of an existing row.
pub async fn save(db: &impl ConnectionTrait, client: &ClientRow) -> Result<()> {
    client::ActiveModel {
        id: Set(client.pk),
        client_id: Set(client.client_id.clone()),
        name: Set(client.name.clone()),
        description: Set(client.description.clone()),
        secret_hash: Set(client.secret_hash.clone()),
        redirect_uris: Set(uris_json(&client.redirect_uris)),
        support_email: Set(client.support_email.clone()),
        support_uri: Set(client.support_uri.clone()),
        owner: Set(client.owner.clone()),
        enabled: Set(client.enabled),
        created_at: Set(client.created_at),
        updated_at: Set(client.updated_at),
        owner_user_pk: Set(client.owner_user_pk),
        approval: Set(client.approval.clone()),
        terms_accepted_at: Set(client.terms_accepted_at),
        tokens_not_before: Set(client.tokens_not_before),
    }
    .update(db)
    .await?;
    set_roles(db, client.pk, client.roles).await
}

pub async fn find(db: &impl ConnectionTrait, client_id: &str) -> Result<Option<ClientRow>> {
    let Some(model) = client::Entity::find()
        .filter(client::Column::ClientId.eq(client_id))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let roles = roles_of(db, model.id).await?;
    Ok(Some(row(model, roles)))
}

/// The row, or not found naming the client.
pub async fn get(db: &impl ConnectionTrait, client_id: &str) -> Result<ClientRow> {
    find(db, client_id)
        .await?
        .ok_or_else(|| Error::not_found(format!("client {client_id} not found")))
}

pub async fn delete(db: &impl ConnectionTrait, client: &ClientRow) -> Result<()> {
    set_roles(db, client.pk, RoleSet::EMPTY).await?;
    if let Some(model) = client::Entity::find_by_id(client.pk).one(db).await? {
        model.delete(db).await?;
    }
    Ok(())
}

/// Which clients a listing shows.
#[derive(Clone, Debug, Default)]
pub struct ClientFilter {
    /// Only developer apps (clients registered by a person).
    pub apps_only: bool,
    /// Only those with this approval.
    pub approval: Option<String>,
    /// Only those registered by this person.
    pub owner_user_pk: Option<i64>,
}

/// One page of rows, oldest first, and the total.
pub async fn page(
    db: &impl ConnectionTrait,
    filter: &ClientFilter,
    limit: u64,
    offset: u64,
) -> Result<(Vec<ClientRow>, u64)> {
    let mut query = client::Entity::find();
    if filter.apps_only {
        query = query.filter(client::Column::OwnerUserPk.is_not_null());
    }
    if let Some(approval) = &filter.approval {
        query = query.filter(client::Column::Approval.eq(approval.as_str()));
    }
    if let Some(owner) = filter.owner_user_pk {
        query = query.filter(client::Column::OwnerUserPk.eq(owner));
    }
    let total = query.clone().count(db).await?;
    let models = query
        .order_by_asc(client::Column::Id)
        .limit(limit)
        .offset(offset)
        .all(db)
        .await?;
    let mut rows = Vec::with_capacity(models.len());
    for model in models {
        let roles = roles_of(db, model.id).await?;
        rows.push(row(model, roles));
    }
    Ok((rows, total))
}

fn auth(row: ClientRow) -> ClientAuth {
    ClientAuth {
        approved: row.approval == "approved",
        is_app: row.owner_user_pk.is_some(),
        redirect_uris: row.redirect_uris,
        name: row.name,
        client_id: row.client_id,
        secret_hash: row.secret_hash,
        enabled: row.enabled,
        roles: row.roles,
        tokens_not_before: row.tokens_not_before,
    }
}

/// What authentication needs of one client.
pub async fn auth_of(db: &impl ConnectionTrait, client_id: &str) -> Result<Option<ClientAuth>> {
    Ok(find(db, client_id).await?.map(auth))
}

/// What authentication and the gate need of every client, for the in-memory view.
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
        .map(|c| {
            let roles = by_pk.get(&c.id).copied().unwrap_or_default();
            auth(row(c, roles))
        })
        .collect())
}
