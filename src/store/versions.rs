//! PostgreSQL: the versions of kept instances, checked for the reads that arrive together in
//! one statement ([`super::group`]). A read of a kept instance needs only its row's version
//! ([`super::processes::VERSION_COLUMN`]); the lookup is a primary-key probe, so nearly all of
//! its cost is the statement's own (its round trip, the wake-ups on both sides), which a group
//! shares.

use std::collections::HashMap;
use std::sync::LazyLock;

use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement};

use super::Autocommit;
use super::group::{Grouping, Queue};
use super::processes::VERSION_COLUMN;

/// The most ids one statement checks: more than arrive together, and a bound on its size.
const MAX_IDS: usize = 1024;

/// The queue of version checks (unused on SQLite, whose kept instances need none).
#[derive(Clone)]
pub struct Versions(Queue<ById>);

impl Versions {
    /// Checks whose statements run on `alone`'s connections.
    pub fn new(alone: Autocommit) -> Versions {
        Versions(Queue::new(alone))
    }

    /// How many statements the checks took so far: fewer than the checks when they were grouped.
    pub fn groups(&self) -> u64 {
        self.0.groups()
    }

    /// The version of an instance's row now, checked with those asked at the same moment;
    /// `None` when it is gone.
    pub async fn of(&self, prcs_id: i64) -> Result<Option<i64>, DbErr> {
        self.0.ask(prcs_id).await
    }
}

pub(super) struct ById;

impl Grouping for ById {
    type Item = i64;
    type Found = HashMap<i64, i64>;
    type Answer = Option<i64>;
    /// How many ids the group has.
    type Making = usize;

    /// Any id joins while the group has room; the same id twice is answered by its one row.
    fn admits(ids: &mut usize, _: &i64) -> bool {
        *ids += 1;
        *ids <= MAX_IDS
    }

    async fn send(db: &Autocommit, ids: &[&i64]) -> Result<HashMap<i64, i64>, DbErr> {
        static SQL: LazyLock<String> = LazyLock::new(|| {
            format!("SELECT id, {VERSION_COLUMN} AS version FROM processes WHERE id = ANY($1)")
        });
        let ids: Vec<i64> = ids.iter().map(|id| **id).collect();
        let statement =
            Statement::from_sql_and_values(DbBackend::Postgres, SQL.as_str(), vec![ids.into()]);
        db.query_all_raw(statement)
            .await?
            .iter()
            .map(|row| Ok((row.try_get("", "id")?, row.try_get("", "version")?)))
            .collect()
    }

    fn answer(versions: &mut HashMap<i64, i64>, prcs_id: &i64) -> Option<i64> {
        versions.get(prcs_id).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_holds_at_most_max_ids() {
        let mut ids = 0;
        let admitted = (0..MAX_IDS + 5)
            .filter(|_| ById::admits(&mut ids, &1))
            .count();
        assert_eq!(admitted, MAX_IDS);
    }
}
