//! Code redemptions and refresh rotations that arrive together are spent together: in one
//! statement on PostgreSQL, in one query of the write batch on SQLite.
//!
//! A spend is one write, sent once every check passed (see [`super::begin_single`]). On
//! PostgreSQL most of its cost is the statement's and its commit's (a WAL flush), not its
//! rows'. On SQLite it is its turn in the write lane: a trip to the connection's worker thread,
//! whose answer wakes the writer from outside the runtime, where it waits behind the tasks
//! already queued while every writer after it waits too. Spends therefore go in groups
//! ([`super::group`]): on PostgreSQL one statement outside any transaction, on SQLite one
//! query in the lane's batch. Each spend of a group is still decided on its own and all or
//! nothing: its code or token is marked used only if it still is not, and its next refresh
//! token and audit row are written only with that mark. A group fails whole only when the
//! database fails it, and then none of it was written. Each spend is answered after the
//! commit. As one group runs at a time, two cannot deadlock on each other's rows. A hash twice
//! in one group (a replay racing its original) waits for the next group, so that the second
//! finds the first's mark.

use std::collections::HashSet;
use std::sync::LazyLock;

use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseConnectionType, DbBackend, DbErr, Statement, Value,
};
use serde::Serialize;

use super::audit::AuditEntry;
use super::grants::RefreshRow;
use super::group::{Grouping, Queue};
use super::{Autocommit, WriteTxn};

/// The most a group's values may take on the wire (see [`wire_size`]), so that its statement,
/// with the arrays' headers (24 bytes each) and the message around them, goes out as one TLS
/// record (16 KiB): sqlx does not set TCP_NODELAY, and a second record would wait for the
/// server's delayed ACK (40 ms on Linux) before it left. A spend takes 350 to 450 bytes. On
/// SQLite the same bound holds a group to 30 to 40 spends, so its query stays short.
const MAX_GROUP_BYTES: usize = 14 * 1024;

/// One spend: the code or refresh token it uses up, and the rows written with it.
pub(super) struct Spend {
    /// An authorization code; a refresh token otherwise.
    pub code: bool,
    pub hash: String,
    pub now: i64,
    pub next: RefreshRow,
    pub audit: Option<AuditEntry>,
}

/// The queue of the spends (unused without a database).
#[derive(Clone)]
pub struct Spends(Queue<BySpend>);

/// Where a group of spends goes.
#[derive(Clone)]
pub(super) enum SpendsTo {
    /// One statement on a held connection, outside any transaction.
    Postgres(Autocommit),
    /// One query in the write lane's batch.
    Sqlite(DatabaseConnection),
}

impl Spends {
    /// Spends on `db`; on PostgreSQL, their statements run on `alone`'s connections.
    pub fn new(db: &DatabaseConnection, alone: Autocommit) -> Spends {
        // Not `get_database_backend`, which panics on a connection that is none (a detached
        // application's).
        Spends(Queue::new(match db.inner {
            DatabaseConnectionType::SqlxSqlitePoolConnection(_) => SpendsTo::Sqlite(db.clone()),
            _ => SpendsTo::Postgres(alone),
        }))
    }

    /// How many statements the spends took so far: fewer than the spends when they were grouped.
    pub fn groups(&self) -> u64 {
        self.0.groups()
    }

    /// Spends a code or token with the next group; `false` when it was used or revoked before.
    pub(super) async fn spend(&self, spend: Spend) -> Result<bool, DbErr> {
        self.0.ask(spend).await
    }
}

pub(super) struct BySpend;

impl Grouping for BySpend {
    type Db = SpendsTo;
    type Item = Spend;
    type Found = HashSet<String>;
    type Answer = bool;
    type Making = Making;

    fn admits(making: &mut Making, next: &Spend) -> bool {
        making.admits(next)
    }

    async fn send(to: &SpendsTo, group: &[&Spend]) -> Result<HashSet<String>, DbErr> {
        match to {
            SpendsTo::Postgres(alone) => spend_group(alone, group).await,
            SpendsTo::Sqlite(db) => spend_in_batch(db, group).await,
        }
    }

    fn answer(spent: &mut HashSet<String>, spend: &Spend) -> bool {
        spent.contains(&spend.hash)
    }
}

/// A group being made: its kind, its hashes and the bytes of its values so far.
#[derive(Default)]
pub(super) struct Making {
    code: Option<bool>,
    hashes: HashSet<String>,
    bytes: usize,
}

impl Making {
    /// Whether `next` joins the group, which it then does. The first spend always joins; after
    /// it, spends of its kind (codes or refresh tokens, each kind a statement of its own), each
    /// hash once (a second waits for a later group, to find the first's mark), as long as
    /// their values fit.
    fn admits(&mut self, next: &Spend) -> bool {
        let size = wire_size(next);
        let joins = match self.code {
            None => true,
            Some(code) => {
                code == next.code
                    && !self.hashes.contains(&next.hash)
                    && self.bytes + size <= MAX_GROUP_BYTES
            }
        };
        if joins {
            self.code = Some(next.code);
            self.hashes.insert(next.hash.clone());
            self.bytes += size;
        }
        joins
    }
}

/// What a spend adds to its group's values on the wire: in each of the arrays, a 4-byte length
/// and the value (binary format).
fn wire_size(spend: &Spend) -> usize {
    let next = &spend.next;
    let texts = [
        &spend.hash,
        &next.token_hash,
        &next.family_id,
        &next.client_id,
        &next.scopes,
        &next.access_jti,
    ];
    let audit = spend.audit.as_ref().map_or(0, |a| {
        a.actor.len()
            + a.action.len()
            + a.target.as_ref().map_or(0, String::len)
            + a.detail.as_ref().map_or(0, String::len)
    });
    let fixed = COLUMNS * 4 + BIGINTS * 8 + BOOLEANS;
    texts.iter().map(|t| t.len()).sum::<usize>() + audit + fixed
}

/// Spends a group (or one spend) in `txn`: the hashes of those it used up. When it used up
/// none it wrote nothing, and a batch it joined goes on should the caller leave it.
pub(super) async fn spend_in(txn: &WriteTxn, spends: &[&Spend]) -> Result<HashSet<String>, DbErr> {
    let spent = spend_group(txn, spends).await?;
    if spent.is_empty() {
        txn.changed_nothing();
    }
    Ok(spent)
}

/// SQLite: spends a group in one query, which joins the write lane's batch; answered once the
/// batch is committed. A group that spent nothing leaves the batch as it found it.
async fn spend_in_batch(
    db: &DatabaseConnection,
    spends: &[&Spend],
) -> Result<HashSet<String>, DbErr> {
    let txn = super::begin_batched(db)
        .await
        .map_err(|err| DbErr::Custom(err.to_string()))?;
    let spent = spend_in(&txn, spends).await?;
    if spent.is_empty() {
        txn.rollback().await?;
    } else {
        txn.commit().await?;
    }
    Ok(spent)
}

/// Spends a group, all codes or all refresh tokens, in one statement (PostgreSQL) or query
/// (SQLite) on `db`; the hashes of those it used up.
async fn spend_group(
    db: &impl ConnectionTrait,
    spends: &[&Spend],
) -> Result<HashSet<String>, DbErr> {
    let Some(first) = spends.first() else {
        return Ok(HashSet::new());
    };
    let statement = match (db.get_database_backend(), first.code) {
        (DbBackend::Sqlite, code) => {
            let sql = if code {
                &*SQLITE_CODES_SQL
            } else {
                &*SQLITE_TOKENS_SQL
            };
            Statement::from_sql_and_values(DbBackend::Sqlite, sql, [sqlite_values(spends)?])
        }
        (backend, code) => {
            let sql = if code { &*CODES_SQL } else { &*TOKENS_SQL };
            Statement::from_sql_and_values(backend, sql, group_values(spends))
        }
    };
    db.query_all_raw(statement)
        .await?
        .iter()
        .map(|row| row.try_get::<String>("", "hash"))
        .collect()
}

/// A spend as [`sqlite_group_sql`] reads it from its JSON array.
#[derive(Serialize)]
struct SqliteSpend<'a> {
    hash: &'a str,
    now: i64,
    token_hash: &'a str,
    family_id: &'a str,
    client_id: &'a str,
    user_pk: i64,
    scopes: &'a str,
    access_jti: &'a str,
    access_expires_at: i64,
    created_at: i64,
    expires_at: i64,
    audit: Option<&'a AuditEntry>,
}

/// SQLite: the group's one value, a JSON array of its spends.
fn sqlite_values(spends: &[&Spend]) -> Result<Value, DbErr> {
    let rows: Vec<SqliteSpend> = spends
        .iter()
        .map(|s| SqliteSpend {
            hash: &s.hash,
            now: s.now,
            token_hash: &s.next.token_hash,
            family_id: &s.next.family_id,
            client_id: &s.next.client_id,
            user_pk: s.next.user_pk,
            scopes: &s.next.scopes,
            access_jti: &s.next.access_jti,
            access_expires_at: s.next.access_expires_at,
            created_at: s.next.created_at,
            expires_at: s.next.expires_at,
            audit: s.audit.as_ref(),
        })
        .collect();
    serde_json::to_string(&rows)
        .map(Value::from)
        .map_err(|err| DbErr::Custom(err.to_string()))
}

static SQLITE_CODES_SQL: LazyLock<String> =
    LazyLock::new(|| sqlite_group_sql("authorization_codes", "code_hash", "t.used_at IS NULL"));
static SQLITE_TOKENS_SQL: LazyLock<String> = LazyLock::new(|| {
    sqlite_group_sql(
        "refresh_tokens",
        "token_hash",
        "t.used_at IS NULL AND t.revoked_at IS NULL",
    )
});

/// SQLite's query for a group, one text for each kind whatever the group, so that each
/// connection prepares it once; its spends come as one JSON array (`$1`), read as JSONB
/// (`jsonb_each`), whose fields are found in place (`json_each` gives each spend as text,
/// parsed again for every field, which cost more than the rest of the query). SQLite has no
/// INSERT fed by an UPDATE, so the INSERTs come first and add a spend's rows only while its
/// code or token is still unspent, and the UPDATE that marks them last, returning what it
/// marked. The statements run in turn in one transaction, with the write lock held: what the
/// INSERTs saw unspent is what the UPDATE marks. (A hash twice in a group would break that;
/// [`Making`] keeps it out.)
fn sqlite_group_sql(table: &str, key: &str, unspent: &str) -> String {
    let still_unspent = format!(
        "EXISTS (SELECT 1 FROM {table} AS t WHERE t.{key} = s.value->>'hash' AND {unspent})"
    );
    format!(
        "INSERT INTO refresh_tokens (token_hash, family_id, client_id, user_pk, scopes, \
         access_jti, access_expires_at, created_at, expires_at) \
         SELECT s.value->>'token_hash', s.value->>'family_id', s.value->>'client_id', \
         s.value->>'user_pk', s.value->>'scopes', s.value->>'access_jti', \
         s.value->>'access_expires_at', s.value->>'created_at', s.value->>'expires_at' \
         FROM jsonb_each($1) AS s WHERE {still_unspent}; \
         INSERT INTO audit_log (at, actor, action, target, detail, success, count) \
         SELECT s.value->>'$.audit.at', s.value->>'$.audit.actor', s.value->>'$.audit.action', \
         s.value->>'$.audit.target', s.value->>'$.audit.detail', \
         s.value->>'$.audit.success', s.value->>'$.audit.count' \
         FROM jsonb_each($1) AS s \
         WHERE s.value->>'$.audit.actor' IS NOT NULL AND {still_unspent}; \
         UPDATE {table} AS t SET used_at = s.value->>'now' FROM jsonb_each($1) AS s \
         WHERE t.{key} = s.value->>'hash' AND {unspent} RETURNING {key} AS hash"
    )
}

/// The arrays in [`group_sql`]'s `unnest`, a column each, in its order. An absent audit row, or
/// an absent target or detail of one, is sent as a default with a flag that says so (sea-query
/// binds no NULL inside an array).
fn group_values(spends: &[&Spend]) -> Vec<Value> {
    fn column<T: Into<Value>>(spends: &[&Spend], of: impl Fn(&Spend) -> T) -> Value
    where
        Vec<T>: Into<Value>,
    {
        spends.iter().map(|s| of(s)).collect::<Vec<T>>().into()
    }
    // The audit row's columns, with defaults where there is none.
    fn audit<T>(s: &Spend, of: impl Fn(&AuditEntry) -> T, none: T) -> T {
        s.audit.as_ref().map_or(none, of)
    }
    let text = |of: fn(&AuditEntry) -> &Option<String>| {
        move |s: &Spend| audit(s, |a| of(a).clone().unwrap_or_default(), String::new())
    };
    let given = |of: fn(&AuditEntry) -> &Option<String>| {
        move |s: &Spend| audit(s, |a| of(a).is_some(), false)
    };
    vec![
        column(spends, |s| s.hash.clone()),
        column(spends, |s| s.now),
        column(spends, |s| s.next.token_hash.clone()),
        column(spends, |s| s.next.family_id.clone()),
        column(spends, |s| s.next.client_id.clone()),
        column(spends, |s| s.next.user_pk),
        column(spends, |s| s.next.scopes.clone()),
        column(spends, |s| s.next.access_jti.clone()),
        column(spends, |s| s.next.access_expires_at),
        column(spends, |s| s.next.created_at),
        column(spends, |s| s.next.expires_at),
        column(spends, |s| s.audit.is_some()),
        column(spends, |s| audit(s, |a| a.at, 0)),
        column(spends, |s| audit(s, |a| a.actor.clone(), String::new())),
        column(spends, |s| audit(s, |a| a.action.clone(), String::new())),
        column(spends, given(|a| &a.target)),
        column(spends, text(|a| &a.target)),
        column(spends, given(|a| &a.detail)),
        column(spends, text(|a| &a.detail)),
        column(spends, |s| audit(s, |a| a.success, false)),
        column(spends, |s| audit(s, |a| a.count, 0)),
    ]
}

/// How many arrays [`group_values`] sends, and how many of them hold bigints and booleans
/// (the others hold text).
const COLUMNS: usize = 21;
const BIGINTS: usize = 7;
const BOOLEANS: usize = 4;

static CODES_SQL: LazyLock<String> = LazyLock::new(|| {
    group_sql(
        "UPDATE authorization_codes AS c SET used_at = s.now FROM spends AS s \
         WHERE c.code_hash = ANY($1) AND c.code_hash = s.hash AND c.used_at IS NULL \
         RETURNING c.code_hash AS hash",
    )
});
static TOKENS_SQL: LazyLock<String> = LazyLock::new(|| {
    group_sql(
        "UPDATE refresh_tokens AS r SET used_at = s.now FROM spends AS s \
         WHERE r.token_hash = ANY($1) AND r.token_hash = s.hash AND r.used_at IS NULL \
         AND r.revoked_at IS NULL RETURNING r.token_hash AS hash",
    )
});

/// A group's statement around the UPDATE that marks its codes or tokens used (`mark`): one
/// text for each kind whatever the group, so that each connection prepares it once. The
/// UPDATE finds its rows by key (`= ANY($1)`, the hashes): joined with `spends` alone, the
/// planner may scan the whole table when its statistics say few rows are unused. It feeds the
/// INSERTs, so that a spend's rows are added only when its code or token was marked
/// (PostgreSQL runs every part of a WITH once and to completion).
fn group_sql(mark: &str) -> String {
    format!(
        "WITH spends AS (
    SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[],
        $6::bigint[], $7::text[], $8::text[], $9::bigint[], $10::bigint[], $11::bigint[],
        $12::boolean[], $13::bigint[], $14::text[], $15::text[], $16::boolean[], $17::text[],
        $18::boolean[], $19::text[], $20::boolean[], $21::bigint[])
    AS s(hash, now, token_hash, family_id, client_id, user_pk, scopes, access_jti,
        access_expires_at, created_at, expires_at, logged, at, actor, action, has_target,
        target, has_detail, detail, success, count)
), spent AS ({mark}
), fresh AS (
    INSERT INTO refresh_tokens (token_hash, family_id, client_id, user_pk, scopes, access_jti,
        access_expires_at, created_at, expires_at)
    SELECT s.token_hash, s.family_id, s.client_id, s.user_pk, s.scopes, s.access_jti,
        s.access_expires_at, s.created_at, s.expires_at
    FROM spends AS s JOIN spent USING (hash)
), logged AS (
    INSERT INTO audit_log (at, actor, action, target, detail, success, count)
    SELECT s.at, s.actor, s.action, CASE WHEN s.has_target THEN s.target END,
        CASE WHEN s.has_detail THEN s.detail END, s.success, s.count
    FROM spends AS s JOIN spent USING (hash) WHERE s.logged
)
SELECT hash FROM spent"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::sea_query::ArrayType;

    fn spend(hash: &str) -> Spend {
        let next = RefreshRow {
            token_hash: format!("sha256$next-{hash:0>40}"),
            family_id: "0e1d5fb2-8a8b-4d0c-9a3e-4b1f6d2c7a90".into(),
            client_id: "5b7f1c64-2f0a-4e57-b9f5-6d0f8e3a1c22".into(),
            user_pk: 1,
            scopes: "read".into(),
            access_jti: "Xq3v9Kp2Lm8Zr4Tw6Yb1Nc".into(),
            access_expires_at: 2,
            created_at: 1,
            expires_at: 3,
            used_at: None,
            revoked_at: None,
        };
        Spend {
            code: true,
            hash: format!("sha256${hash:0>43}"),
            now: 1,
            next,
            audit: None,
        }
    }

    /// The group the spends make, in order, and those left for later.
    fn grouped(spends: &[Spend]) -> (Vec<&str>, Vec<&str>) {
        fn short(s: &Spend) -> &str {
            s.hash.trim_start_matches("sha256$").trim_start_matches('0')
        }
        let mut making = Making::default();
        let (joined, later): (Vec<&Spend>, Vec<&Spend>) =
            spends.iter().partition(|s| making.admits(s));
        (
            joined.into_iter().map(short).collect(),
            later.into_iter().map(short).collect(),
        )
    }

    /// SQLite: one query spends what is unspent in its group, with its rows, and nothing of
    /// a spend whose code was used before.
    #[tokio::test]
    async fn a_sqlite_group_spends_only_what_is_unspent() {
        let db = crate::store::in_memory().await;
        db.execute_unprepared(
            "INSERT INTO users (id, user_id, username, username_key, password_hash, enabled, \
             is_admin, created_at, updated_at) VALUES (1, 'u', 'ann', 'ann', 'x', 1, 0, 0, 0)",
        )
        .await
        .unwrap();
        for (hash, used) in [("a", "NULL"), ("b", "7"), ("c", "NULL")] {
            let sql = format!(
                "INSERT INTO authorization_codes (code_hash, client_id, user_pk, scopes, \
                 family_id, created_at, expires_at, used_at) \
                 VALUES ('{}', 'client', 1, 'read', 'family', 0, 60, {used})",
                spend(hash).hash
            );
            db.execute_unprepared(&sql).await.unwrap();
        }
        let logged = |hash| Spend {
            audit: Some(AuditEntry {
                at: 9,
                actor: "person:ann".into(),
                action: "token.code".into(),
                detail: Some(format!("code {hash}")),
                success: true,
                count: 1,
                ..AuditEntry::default()
            }),
            ..spend(hash)
        };
        let group = [logged("a"), logged("b"), spend("c")];
        let spent = spend_group(&db, &group.iter().collect::<Vec<_>>())
            .await
            .unwrap();
        let mut spent: Vec<&str> = spent.iter().map(String::as_str).collect();
        spent.sort();
        assert_eq!(spent, [group[0].hash.as_str(), group[2].hash.as_str()]);
        let column = |sql: &'static str| {
            let db = db.clone();
            async move {
                db.query_all_raw(Statement::from_string(DbBackend::Sqlite, sql))
                    .await
                    .unwrap()
                    .iter()
                    .map(|row| row.try_get_by_index::<String>(0).unwrap())
                    .collect::<Vec<_>>()
            }
        };
        // Each code used at its spend's time, or as it was.
        let used = column(
            "SELECT code_hash || ':' || COALESCE(used_at, '-') FROM authorization_codes \
             ORDER BY code_hash",
        );
        let at = |s: &Spend, used: &str| format!("{}:{used}", s.hash);
        assert_eq!(
            used.await,
            [at(&group[0], "1"), at(&group[1], "7"), at(&group[2], "1")]
        );
        let next = column("SELECT token_hash FROM refresh_tokens ORDER BY token_hash");
        assert_eq!(
            next.await,
            [&group[0].next.token_hash, &group[2].next.token_hash].map(String::clone)
        );
        let audit = column("SELECT actor || ' ' || detail || ' ' || success FROM audit_log");
        assert_eq!(audit.await, ["person:ann code a 1"]);
    }

    #[test]
    fn a_hash_twice_in_a_group_waits_for_the_next() {
        let spends = ["b", "a", "b", "c", "b"].map(spend);
        assert_eq!(grouped(&spends), (vec!["b", "a", "c"], vec!["b", "b"]));
    }

    #[test]
    fn a_group_holds_one_kind() {
        let refresh = |hash| Spend {
            code: false,
            ..spend(hash)
        };
        let spends = [refresh("a"), spend("b"), refresh("c"), spend("d")];
        assert_eq!(grouped(&spends), (vec!["a", "c"], vec!["b", "d"]));
    }

    #[test]
    fn a_group_stays_within_one_tls_record() {
        let spends: Vec<Spend> = (0..100).map(|i| spend(&i.to_string())).collect();
        let (group, later) = grouped(&spends);
        let bytes: usize = spends[..group.len()].iter().map(wire_size).sum();
        assert!(bytes <= MAX_GROUP_BYTES, "{bytes} bytes");
        assert!(group.len() > 20, "only {}", group.len());
        // In their order: the first after the group is the first left.
        assert_eq!(later.len(), 100 - group.len());
        assert_eq!(later[0], group.len().to_string());
    }

    #[test]
    fn every_column_has_a_value_for_each_spend() {
        let plain = spend("a");
        let logged = Spend {
            audit: Some(AuditEntry {
                at: 5,
                actor: "person:ann".into(),
                action: "token.code".into(),
                target: Some("client".into()),
                ..AuditEntry::default()
            }),
            ..spend("b")
        };
        let values = group_values(&[&plain, &logged]);
        assert_eq!(values.len(), COLUMNS);
        assert_eq!(CODES_SQL.matches("[]").count(), COLUMNS);
        let mut kinds = Vec::new();
        for value in &values {
            let Value::Array(kind, Some(items)) = value else {
                panic!("not an array: {value:?}");
            };
            assert_eq!(items.len(), 2);
            kinds.push(kind.clone());
        }
        // What `wire_size` counts.
        let count = |of: ArrayType| kinds.iter().filter(|kind| **kind == of).count();
        assert_eq!(count(ArrayType::BigInt), BIGINTS);
        assert_eq!(count(ArrayType::Bool), BOOLEANS);
        assert_eq!(count(ArrayType::String), COLUMNS - BIGINTS - BOOLEANS);
        let flags = |i: usize| match &values[i] {
            Value::Array(_, Some(items)) => items.iter().map(|v| format!("{v:?}")).collect(),
            _ => Vec::new(),
        };
        // logged, has_target, has_detail
        assert_eq!(flags(11), ["Bool(Some(false))", "Bool(Some(true))"]);
        assert_eq!(flags(15), ["Bool(Some(false))", "Bool(Some(true))"]);
        assert_eq!(flags(17), ["Bool(Some(false))", "Bool(Some(false))"]);
    }
}
