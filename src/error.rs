//! The domain error: what went wrong, as a kind, never as an HTTP status. Services, the engine's
//! adapters and the store return it; [`crate::answers`] alone turns it into an answer in each
//! dialect the HTTP surface speaks (Flows JSON, admin JSON, OAuth, HTML, redirect). Internal
//! details are logged there, never sent.

use sea_orm::{DbErr, RuntimeErr, SqlErr};

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The thing named does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The caller sent something unacceptable; `attribute` names the field when one is to blame.
    #[error("{message}")]
    Invalid {
        attribute: Option<String>,
        message: String,
    },
    /// A body of a media type the operation does not take; lists the ones it does.
    #[error("Unsupported Media Type")]
    UnsupportedMediaType { accepted: &'static [&'static str] },
    /// A body over the size limit.
    #[error("Payload too large")]
    TooLarge,
    /// A body that did not arrive in time.
    #[error("The request body did not arrive in time")]
    TimedOut,
    /// The request conflicts with the current state (a duplicate, or the engine's refusal with
    /// its reason).
    #[error("{0}")]
    Conflict(String),
    /// Part of a request that takes several elements failed; nothing was applied.
    #[error("{0}")]
    Unprocessable(String),
    /// No valid credentials.
    #[error("{0}")]
    Unauthenticated(String),
    /// Valid credentials without the right to do this.
    #[error("{0}")]
    Forbidden(String),
    /// Too many attempts; try again after this many seconds.
    #[error("too many requests; retry in {retry_after} s")]
    RateLimited { retry_after: u64 },
    /// The database cannot be reached; it recovers by itself. The cause is for the log.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Anything else. The message is for the log only.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    pub fn invalid(message: impl Into<String>) -> Self {
        Error::Invalid {
            attribute: None,
            message: message.into(),
        }
    }

    /// An attribute of the input is missing or wrong.
    pub fn attribute(attribute: &str, message: impl Into<String>) -> Self {
        Error::Invalid {
            attribute: Some(attribute.to_owned()),
            message: message.into(),
        }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Error::NotFound(message.into())
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Error::Conflict(message.into())
    }

    pub fn internal(message: impl std::fmt::Display) -> Self {
        Error::Internal(message.to_string())
    }
}

impl From<DbErr> for Error {
    fn from(err: DbErr) -> Self {
        match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => {
                return Error::Conflict("an entry with the same key already exists".into());
            }
            Some(SqlErr::ForeignKeyConstraintViolation(_)) => {
                return Error::invalid("a referenced entry does not exist");
            }
            _ => {}
        }
        if connection_lost(&err) {
            Error::Unavailable(err.to_string())
        } else {
            Error::Internal(err.to_string())
        }
    }
}

/// Whether the database could not be reached or went away: no connection, or one that broke
/// under a statement (the server stopped, restarted or is starting up, the network failed).
/// These recover by themselves, so they are 503, never 500.
fn connection_lost(err: &DbErr) -> bool {
    match err {
        DbErr::Conn(_) | DbErr::ConnectionAcquire(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(inner)) | DbErr::Query(RuntimeErr::SqlxError(inner)) => {
            sqlx_connection_lost(inner)
        }
        _ => false,
    }
}

/// [`connection_lost`], of the driver's error.
pub(crate) fn sqlx_connection_lost(err: &sea_orm::sqlx::Error) -> bool {
    use sea_orm::sqlx::Error as Sqlx;
    match err {
        Sqlx::Io(_)
        | Sqlx::Tls(_)
        | Sqlx::PoolTimedOut
        | Sqlx::PoolClosed
        | Sqlx::WorkerCrashed => true,
        // SQLSTATE class 08 (connection exception), 57P01–57P03 (the server shuts down,
        // crashed, or is starting up), 53300 (too many connections).
        Sqlx::Database(db) => db.code().is_some_and(|code| {
            code.starts_with("08") || matches!(&*code, "57P01" | "57P02" | "57P03" | "53300")
        }),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_failures_are_unavailable_and_others_internal() {
        let conn = DbErr::Conn(sea_orm::RuntimeErr::Internal("refused".into()));
        assert!(matches!(Error::from(conn), Error::Unavailable(_)));
        let other = DbErr::Custom("boom".into());
        assert!(matches!(Error::from(other), Error::Internal(_)));
        let broken = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset");
        let broken = DbErr::Query(RuntimeErr::SqlxError(std::sync::Arc::new(
            sea_orm::sqlx::Error::Io(broken),
        )));
        assert!(matches!(Error::from(broken), Error::Unavailable(_)));
    }
}
