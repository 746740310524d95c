//! Statements whose text depends on the backend alone, built once. sea-query builds a
//! statement's text anew at every run, and for the short reads that requests make one at a
//! time (an instance, a step, a code or refresh token with its person) that building, with the
//! column aliases it formats and the expression tree it drops, cost about a tenth of a code
//! redemption's instructions. The text is kept; the values are bound at each run.

use std::sync::OnceLock;

use sea_orm::{DbBackend, Statement, Value, Values};

/// The kept text of one statement, per backend. A `static` beside the function that runs it.
pub struct SqlOnce {
    postgres: OnceLock<String>,
    sqlite: OnceLock<String>,
}

impl SqlOnce {
    pub const fn new() -> SqlOnce {
        SqlOnce {
            postgres: OnceLock::new(),
            sqlite: OnceLock::new(),
        }
    }

    /// The statement for `backend` with `values`. `build` makes it the first time; its text
    /// must not depend on the values, and its values must be `values`, in order. Debug builds
    /// (every test) build it at every run and check both.
    pub fn statement(
        &self,
        backend: DbBackend,
        values: Vec<Value>,
        build: impl FnOnce() -> Statement,
    ) -> Statement {
        let kept = match backend {
            DbBackend::Postgres => &self.postgres,
            _ => &self.sqlite,
        };
        let sql = match kept.get() {
            Some(sql) if !cfg!(debug_assertions) => sql.clone(),
            _ => {
                let built = build();
                let sql = kept.get_or_init(|| built.sql.clone());
                debug_assert_eq!(&built.sql, sql, "a kept statement's text changed");
                debug_assert_eq!(
                    built.values.as_ref().map_or(&[][..], |v| v.0.as_slice()),
                    values.as_slice(),
                    "a kept statement's values are not the ones given"
                );
                built.sql
            }
        };
        Statement {
            sql,
            values: Some(Values(values)),
            db_backend: backend,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::SqlOnce;
    use sea_orm::{DbBackend, Statement, Value};

    fn select(backend: DbBackend, id: i64) -> Statement {
        Statement::from_sql_and_values(backend, "SELECT $1", [Value::from(id)])
    }

    #[test]
    fn the_text_is_kept_per_backend_and_the_values_are_the_ones_given() {
        static SQL: SqlOnce = SqlOnce::new();
        for backend in [DbBackend::Sqlite, DbBackend::Postgres] {
            for id in [1, 2] {
                let statement = SQL.statement(backend, vec![id.into()], || select(backend, id));
                assert_eq!(statement, select(backend, id));
            }
        }
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "text changed")]
    fn a_text_that_depends_on_the_values_is_caught() {
        static SQL: SqlOnce = SqlOnce::new();
        for id in [1_i64, 2] {
            let text = format!("SELECT {id}");
            SQL.statement(DbBackend::Sqlite, vec![], || {
                Statement::from_string(DbBackend::Sqlite, text)
            });
        }
    }
}
