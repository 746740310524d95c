//! PostgreSQL: code redemptions and refresh rotations that arrive together are spent in one
//! statement.
//!
//! A spend is one statement outside any transaction (see [`super::begin_single`]), and on
//! PostgreSQL most of its cost is the statement's and its commit's (a WAL flush), not its
//! rows'. Spends therefore go in groups ([`super::group`]): the idea of SQLite's write batch,
//! which a spend joins there. Each spend of a group is still decided on its own and all or
//! nothing: the statement marks a code or token used only if it still is not, and writes a
//! spend's next refresh token and audit row only with it. A group fails whole only when the
//! database fails it, and then none of it was written. Each spend is answered after the
//! commit. As one group runs at a time, two cannot deadlock on each other's rows. A hash twice
//! in one group (a replay racing its original) waits for the next group, so that the second
//! finds the first's mark.

use std::collections::HashSet;
use std::sync::LazyLock;

use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement, Value};

use super::Autocommit;
use super::audit::AuditEntry;
use super::grants::RefreshRow;
use super::group::{Grouping, Queue};

/// The most a group's values may take on the wire (see [`wire_size`]), so that its statement,
/// with the arrays' headers (24 bytes each) and the message around them, goes out as one TLS
/// record (16 KiB): sqlx does not set TCP_NODELAY, and a second record would wait for the
/// server's delayed ACK (40 ms on Linux) before it left. A spend takes 350 to 450 bytes.
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

/// The queue of PostgreSQL's spends (on SQLite, and without a database, it stays unused).
#[derive(Clone)]
pub struct Spends(Queue<BySpend>);

impl Spends {
    /// Spends whose statements run on `alone`'s connections.
    pub fn new(alone: Autocommit) -> Spends {
        Spends(Queue::new(alone))
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
    type Item = Spend;
    type Found = HashSet<String>;
    type Answer = bool;
    type Making = Making;

    fn admits(making: &mut Making, next: &Spend) -> bool {
        making.admits(next)
    }

    async fn send(db: &Autocommit, group: &[&Spend]) -> Result<HashSet<String>, DbErr> {
        spend_group(db, group).await
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

/// Spends one spend on `db` (in its transaction, if it is one).
pub(super) async fn spend_alone(db: &impl ConnectionTrait, spend: &Spend) -> Result<bool, DbErr> {
    Ok(!spend_group(db, &[spend]).await?.is_empty())
}

/// Spends a group, all codes or all refresh tokens, in one statement on `db`; the hashes of
/// those it used up.
async fn spend_group(
    db: &impl ConnectionTrait,
    spends: &[&Spend],
) -> Result<HashSet<String>, DbErr> {
    let sql = match spends.first() {
        Some(first) if first.code => &*CODES_SQL,
        Some(_) => &*TOKENS_SQL,
        None => return Ok(HashSet::new()),
    };
    let statement = Statement::from_sql_and_values(DbBackend::Postgres, sql, group_values(spends));
    db.query_all_raw(statement)
        .await?
        .iter()
        .map(|row| row.try_get::<String>("", "hash"))
        .collect()
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
