//! PostgreSQL: a server alone on its database may serve the process instances it keeps without
//! asking the database whether they changed, for as long as it holds the sole-server lease and
//! nobody else writes them. The lease is a session advisory lock held exclusively (the
//! servers' presence is the same lock held shared) and this table's row: who holds it, and
//! until when it may serve unchecked should its session end without it knowing (a network
//! cut, a terminated backend).
//!
//! The fence is in the database, so that no writer can pass it: every statement that changes
//! or deletes instances runs `sole_server_fence()` first. A writer other than the holder takes
//! the lock shared for its transaction, which waits while a server is sole; the sole server
//! sees the wait at its next heartbeat and steps down before it lets the lock go. Then the
//! writer waits out what is left of the lease, which is nothing after a step-down and the rest
//! of the lease after a session that ended unannounced. A holder that does not step down within
//! five seconds is stuck: its session is ended, and its lease waited out.
//!
//! SQLite needs none of this: a server learns of another on its file at once (`.servers`).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

/// The advisory lock's two keys: "flow" in ASCII, and the lease's number.
pub const SOLE_SERVER_LOCK: (i32, i32) = (0x666c_6f77, 1);

/// The setting that names the server a pooled connection belongs to (`-c flowgate.server=…`).
pub const SERVER_SETTING: &str = "flowgate.server";

#[derive(DeriveMigrationName)]
pub struct Migration;

fn up_sql() -> String {
    let (class, object) = SOLE_SERVER_LOCK;
    format!(
        "
    CREATE TABLE sole_server (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        holder TEXT NULL,
        until TIMESTAMPTZ NOT NULL
    );
    INSERT INTO sole_server (id, holder, until) VALUES (1, NULL, '-infinity');

    CREATE FUNCTION sole_server_fence() RETURNS trigger LANGUAGE plpgsql AS $fence$
    DECLARE
        lease sole_server;
        timeout TEXT;
    BEGIN
        SELECT * INTO lease FROM sole_server WHERE id = 1;
        -- The sole server's own writes: it forgets what they change itself.
        IF lease.holder = current_setting('{SERVER_SETTING}', true)
            AND lease.until > clock_timestamp() THEN
            RETURN NULL;
        END IF;
        IF NOT pg_try_advisory_xact_lock_shared({class}, {object}) THEN
            timeout := current_setting('lock_timeout');
            PERFORM set_config('lock_timeout', '5s', true);
            BEGIN
                PERFORM pg_advisory_xact_lock_shared({class}, {object});
            EXCEPTION WHEN lock_not_available THEN
                PERFORM pg_terminate_backend(pid) FROM pg_locks
                    WHERE locktype = 'advisory' AND database = (
                        SELECT oid FROM pg_database WHERE datname = current_database())
                    AND classid = {class} AND objid = {object} AND objsubid = 2
                    AND mode = 'ExclusiveLock' AND granted;
                PERFORM set_config('lock_timeout', '0', true);
                PERFORM pg_advisory_xact_lock_shared({class}, {object});
            END;
            PERFORM set_config('lock_timeout', timeout, true);
        END IF;
        -- Read anew (each statement of this function sees what is committed as it starts).
        SELECT * INTO lease FROM sole_server WHERE id = 1;
        IF lease.until > clock_timestamp() THEN
            PERFORM pg_sleep(EXTRACT(EPOCH FROM lease.until - clock_timestamp()));
        END IF;
        RETURN NULL;
    END
    $fence$;

    CREATE TRIGGER processes_sole_server_fence BEFORE UPDATE OR DELETE OR TRUNCATE
        ON processes FOR EACH STATEMENT EXECUTE FUNCTION sole_server_fence();
"
    )
}

const DOWN: &str = "
    DROP TRIGGER processes_sole_server_fence ON processes;
    DROP FUNCTION sole_server_fence();
    DROP TABLE sole_server;
";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared(&up_sql())
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Postgres {
            manager.get_connection().execute_unprepared(DOWN).await?;
        }
        Ok(())
    }
}
