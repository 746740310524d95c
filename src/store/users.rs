//! People: user rows and their role rows.

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, JoinType,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, RelationDef, Select, Set,
    Value,
};

use entity::{user, user_role};

use super::sql_once::SqlOnce;

use crate::Result;
use crate::roles::{Role, RoleSet};

/// A person's row with their roles. `pk` is 0 for a row not inserted yet.
#[derive(Clone, Debug, Default)]
pub struct UserRow {
    pub pk: i64,
    /// The stable subject of their tokens.
    pub user_id: String,
    pub username: String,
    pub password_hash: String,
    pub enabled: bool,
    pub is_admin: bool,
    pub roles: RoleSet,
    pub created_at: i64,
    pub updated_at: i64,
}

/// The key usernames are unique by: compared without regard to case.
pub fn username_key(username: &str) -> String {
    username.trim().to_lowercase()
}

fn row(model: user::Model, roles: RoleSet) -> UserRow {
    UserRow {
        pk: model.id,
        user_id: model.user_id,
        username: model.username,
        password_hash: model.password_hash,
        enabled: model.enabled,
        is_admin: model.is_admin,
        roles,
        created_at: model.created_at,
        updated_at: model.updated_at,
    }
}

async fn roles_of(db: &impl ConnectionTrait, user_pk: i64) -> Result<RoleSet> {
    let rows = user_role::Entity::find()
        .filter(user_role::Column::UserPk.eq(user_pk))
        .all(db)
        .await?;
    Ok(rows.iter().filter_map(|r| Role::parse(&r.role)).collect())
}

async fn set_roles(db: &impl ConnectionTrait, user_pk: i64, roles: RoleSet) -> Result<()> {
    user_role::Entity::delete_many()
        .filter(user_role::Column::UserPk.eq(user_pk))
        .exec(db)
        .await?;
    if roles.is_empty() {
        return Ok(());
    }
    user_role::Entity::insert_many(roles.iter().map(|role| user_role::ActiveModel {
        user_pk: Set(user_pk),
        role: Set(role.name().to_owned()),
    }))
    .exec(db)
    .await?;
    Ok(())
}

pub async fn insert(db: &impl ConnectionTrait, new: UserRow) -> Result<UserRow> {
    let model = user::ActiveModel {
        user_id: Set(new.user_id),
        username_key: Set(username_key(&new.username)),
        username: Set(new.username),
        password_hash: Set(new.password_hash),
        enabled: Set(new.enabled),
        is_admin: Set(new.is_admin),
        created_at: Set(new.created_at),
        updated_at: Set(new.updated_at),
        ..Default::default()
    }
    .insert(db)
    .await?;
    set_roles(db, model.id, new.roles).await?;
    Ok(row(model, new.roles))
}

/// Writes every field and the roles of an existing row.
pub async fn save(db: &impl ConnectionTrait, person: &UserRow) -> Result<()> {
    user::ActiveModel {
        id: Set(person.pk),
        user_id: Set(person.user_id.clone()),
        username: Set(person.username.clone()),
        username_key: Set(username_key(&person.username)),
        password_hash: Set(person.password_hash.clone()),
        enabled: Set(person.enabled),
        is_admin: Set(person.is_admin),
        created_at: Set(person.created_at),
        updated_at: Set(person.updated_at),
    }
    .update(db)
    .await?;
    set_roles(db, person.pk, person.roles).await
}

/// How a person's role rows join their user row.
fn their_roles() -> RelationDef {
    user_role::Entity::belongs_to(user::Entity)
        .from(user_role::Column::UserPk)
        .to(user::Column::Id)
        .into()
}

/// The one row `select` finds by `key`, with the person its `person` column names and their
/// roles, in one query (LEFT JOINs: a row per role); the person is `None` when they are gone.
/// `sql` keeps the query's text.
pub(super) async fn one_with_person<E: EntityTrait>(
    db: &impl ConnectionTrait,
    sql: &SqlOnce,
    key: Value,
    select: impl FnOnce(Value) -> Select<E>,
    person: E::Column,
) -> Result<Option<(E::Model, Option<UserRow>)>> {
    let backend = db.get_database_backend();
    let statement = sql.statement(backend, vec![key.clone()], || {
        let to_person: RelationDef = E::belongs_to(user::Entity)
            .from(person)
            .to(user::Column::Id)
            .into();
        let mut query = select(key)
            .join(JoinType::LeftJoin, to_person)
            .join_rev(JoinType::LeftJoin, their_roles())
            .select_also(user::Entity)
            .into_query();
        query.expr_as(
            Expr::col((user_role::Entity, user_role::Column::Role)),
            "C_role",
        );
        backend.build(&query)
    });
    let rows = db.query_all_raw(statement).await?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let found = E::Model::from_query_result(first, "A_")?;
    let Some(model) = user::Model::from_query_result_optional(first, "B_")? else {
        return Ok(Some((found, None)));
    };
    let mut roles = Vec::with_capacity(rows.len());
    for each in &rows {
        roles.extend(each.try_get::<Option<String>>("", "C_role")?);
    }
    let roles = roles.iter().filter_map(|r| Role::parse(r)).collect();
    Ok(Some((found, Some(row(model, roles)))))
}

/// The one person `select` finds, with their roles, in one query (a LEFT JOIN: a row per role).
async fn one_with_roles(
    db: &impl ConnectionTrait,
    select: Select<user::Entity>,
) -> Result<Option<UserRow>> {
    let mut rows = select
        .join_rev(JoinType::LeftJoin, their_roles())
        .select_also(user_role::Entity)
        .all(db)
        .await?
        .into_iter();
    let Some((model, first)) = rows.next() else {
        return Ok(None);
    };
    let roles = first
        .into_iter()
        .chain(rows.filter_map(|(_, role)| role))
        .filter_map(|r| Role::parse(&r.role))
        .collect();
    Ok(Some(row(model, roles)))
}

/// By the stable id, or else by username (case-insensitive).
pub async fn find(db: &impl ConnectionTrait, id_or_username: &str) -> Result<Option<UserRow>> {
    let by_id = user::Entity::find().filter(user::Column::UserId.eq(id_or_username));
    if let Some(person) = one_with_roles(db, by_id).await? {
        return Ok(Some(person));
    }
    let key = username_key(id_or_username);
    let by_name = user::Entity::find().filter(user::Column::UsernameKey.eq(key));
    one_with_roles(db, by_name).await
}

pub async fn find_by_pk(db: &impl ConnectionTrait, pk: i64) -> Result<Option<UserRow>> {
    one_with_roles(db, user::Entity::find_by_id(pk)).await
}

/// One page of people, oldest first, and the total.
pub async fn page(
    db: &impl ConnectionTrait,
    limit: u64,
    offset: u64,
) -> Result<(Vec<UserRow>, u64)> {
    let total = user::Entity::find().count(db).await?;
    let models = user::Entity::find()
        .order_by_asc(user::Column::Id)
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

/// Every person (without password hashes), for the in-memory view.
pub async fn all(db: &impl ConnectionTrait) -> Result<Vec<UserRow>> {
    let people = user::Entity::find().all(db).await?;
    let grants = user_role::Entity::find().all(db).await?;
    let mut by_pk = std::collections::HashMap::<i64, RoleSet>::new();
    for grant in grants {
        if let Some(role) = Role::parse(&grant.role) {
            by_pk.entry(grant.user_pk).or_default().insert(role);
        }
    }
    Ok(people
        .into_iter()
        .map(|p| {
            let roles = by_pk.get(&p.id).copied().unwrap_or_default();
            let mut row = row(p, roles);
            row.password_hash.clear();
            row
        })
        .collect())
}
