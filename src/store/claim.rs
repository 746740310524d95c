//! Whether this server is the only one on its SQLite database, for as long as that holds.
//!
//! A SQLite database is meant for one flowgate server (several share PostgreSQL), but nothing
//! stops a second from opening the same file. What a server keeps in memory from it (the cache
//! of process instances) is exact only while no other server writes there, so servers tell
//! each other through a file beside the database (`<database>.servers`):
//! - each server holds a shared lock on it for its life; one that starts tries an exclusive
//!   lock first, and knows another runs when it cannot take it;
//! - each server appends a byte to it as it starts: one that finds it longer than it left it
//!   knows another started since.
//!
//! A server that learns of another keeps nothing more for the rest of its life. CLI commands
//! take no part: they write no process instances.

use std::fs::File;
use std::io::Write;

use crate::{Error, Result};

pub struct ServerClaim {
    file: File,
    /// The file's length once this server appended its byte.
    length: u64,
    /// Whether no other server held a lock on the file when this one started.
    first: bool,
}

impl ServerClaim {
    /// The claim on a SQLite database file; `None` for any other database.
    pub fn take(url: &str) -> Result<Option<ServerClaim>> {
        let Some(path) = super::sqlite_path(url) else {
            return Ok(None);
        };
        // The same file reached by another path (a symbolic link) must meet the same claims.
        let real = std::fs::canonicalize(path)
            .map_or_else(|_| path.to_owned(), |p| p.display().to_string());
        let path = format!("{real}.servers");
        let cannot = |e: std::io::Error| {
            Error::Unavailable(format!(
                "cannot use {path} beside the database: {e}. The database's folder must be \
                 writable."
            ))
        };
        // Appended to, never written at an offset: two servers starting at once both count.
        let mut file = super::private_options()
            .append(true)
            .open(&path)
            .map_err(cannot)?;
        // The length is read before the exclusive lock is tried: a server that fails to take
        // it from this one appends after this read, so this one sees the file longer than it
        // left it. (Two appending at once both count a byte short, and both keep nothing.)
        let before = file.metadata().map_err(cannot)?.len();
        let first = file.try_lock().is_ok();
        // Held for life (taking it turns an exclusive lock into it), so that every server
        // starting later fails the exclusive one, even once the first has gone.
        file.lock_shared().map_err(cannot)?;
        file.write_all(b"+").map_err(cannot)?;
        Ok(Some(ServerClaim {
            file,
            length: before + 1,
            first,
        }))
    }

    /// No other server ran on the database when this one started, and none started since (one
    /// system call: a `stat` of the open file).
    pub fn alone(&self) -> bool {
        self.first
            && self.file.metadata().is_ok_and(|m| {
                #[cfg(unix)]
                let linked = std::os::unix::fs::MetadataExt::nlink(&m) > 0;
                #[cfg(not(unix))]
                let linked = true;
                m.len() == self.length && linked
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(folder: &tempfile::TempDir) -> String {
        format!("sqlite://{}/claim.db?mode=rwc", folder.path().display())
    }

    #[test]
    fn a_server_is_alone_until_another_starts_and_stays_told() {
        let folder = tempfile::tempdir().expect("folder");
        let first = ServerClaim::take(&url(&folder)).unwrap().expect("a claim");
        assert!(first.alone());
        let second = ServerClaim::take(&url(&folder)).unwrap().expect("a claim");
        assert!(!second.alone(), "the first still runs");
        assert!(!first.alone(), "another started since");
        drop(second);
        assert!(
            !first.alone(),
            "what the other wrote may be cached: it stays told"
        );
        drop(first);
        let later = ServerClaim::take(&url(&folder)).unwrap().expect("a claim");
        assert!(later.alone(), "nobody runs any more");
    }

    #[test]
    fn a_server_starting_while_others_run_is_told_even_once_the_first_has_gone() {
        let folder = tempfile::tempdir().expect("folder");
        let first = ServerClaim::take(&url(&folder)).unwrap().expect("a claim");
        let second = ServerClaim::take(&url(&folder)).unwrap().expect("a claim");
        drop(first);
        let third = ServerClaim::take(&url(&folder)).unwrap().expect("a claim");
        assert!(!third.alone(), "the second still runs");
        drop(second);
        drop(third);
        assert!(ServerClaim::take(&url(&folder)).unwrap().unwrap().alone());
    }

    #[test]
    fn only_sqlite_files_are_claimed() {
        assert!(
            ServerClaim::take("postgres://u@127.0.0.1/db")
                .unwrap()
                .is_none()
        );
        assert!(ServerClaim::take("sqlite::memory:").unwrap().is_none());
    }

    #[cfg(unix)]
    #[test]
    fn a_server_reaching_the_file_by_a_link_meets_the_same_claim() {
        let folder = tempfile::tempdir().expect("folder");
        std::fs::write(folder.path().join("claim.db"), b"").unwrap();
        let linked = tempfile::tempdir().expect("folder");
        std::os::unix::fs::symlink(
            folder.path().join("claim.db"),
            linked.path().join("claim.db"),
        )
        .unwrap();
        let first = ServerClaim::take(&url(&folder)).unwrap().expect("a claim");
        let second = ServerClaim::take(&url(&linked)).unwrap().expect("a claim");
        assert!(!second.alone());
        assert!(!first.alone());
    }

    #[test]
    fn a_deleted_file_tells_no_more() {
        let folder = tempfile::tempdir().expect("folder");
        let claim = ServerClaim::take(&url(&folder)).unwrap().expect("a claim");
        std::fs::remove_file(folder.path().join("claim.db.servers")).unwrap();
        assert!(!claim.alone());
    }
}
