//! PostgreSQL: the versions of kept instances, checked for the reads that arrive together in
//! one statement ([`super::group`]). A read of a kept instance needs only its row's version
//! ([`super::processes::VERSION_COLUMN`]); the lookup is a primary-key probe, so nearly all of
//! its cost is the statement's own (its round trip, the wake-ups on both sides), which a group
//! shares.

use std::sync::LazyLock;

use sea_orm::DbErr;

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
    type Db = Autocommit;
    type Item = i64;
    /// (id, version) of each row found, by id.
    type Found = Vec<(i64, i64)>;
    type Answer = Option<i64>;
    /// How many ids the group has.
    type Making = usize;

    /// Any id joins while the group has room; the same id twice is answered by its one row.
    fn admits(ids: &mut usize, _: &i64) -> bool {
        *ids += 1;
        *ids <= MAX_IDS
    }

    async fn send(db: &Autocommit, ids: &[&i64]) -> Result<Vec<(i64, i64)>, DbErr> {
        static SQL: LazyLock<String> = LazyLock::new(|| {
            format!("SELECT id, {VERSION_COLUMN} FROM processes WHERE id = ANY($1)")
        });
        let ids: Vec<i64> = ids.iter().map(|id| **id).collect();
        let mut found = db.int8_pairs(SQL.as_str(), &ids).await?;
        // Sorted here rather than by PostgreSQL, which serves every server's checks.
        found.sort_unstable();
        Ok(found)
    }

    fn answer(found: &mut Vec<(i64, i64)>, prcs_id: &i64) -> Option<i64> {
        let at = found.binary_search_by_key(prcs_id, |(id, _)| *id).ok()?;
        Some(found[at].1)
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

    /// Each id gets its own row's version, and one not found none.
    #[test]
    fn each_id_is_answered_from_its_row() {
        let mut found = vec![(3, 30), (7, 70), (9, 90)];
        let answers: Vec<_> = [7, 3, 9, 4, 10, 1]
            .iter()
            .map(|id| ById::answer(&mut found, id))
            .collect();
        assert_eq!(answers, [Some(70), Some(30), Some(90), None, None, None]);
    }
}
