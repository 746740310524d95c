//! One error type for the domain and the store. The API layer maps it to HTTP answers; internal
//! details are logged, never sent.

use sea_orm::{DbErr, SqlErr};

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The caller sent something unacceptable (400).
    #[error("{0}")]
    Invalid(String),
    /// The thing named does not exist (404).
    #[error("{0}")]
    NotFound(String),
    /// The request conflicts with the current state, e.g. a duplicate (409).
    #[error("{0}")]
    Conflict(String),
    /// The database cannot be reached (503); it recovers by itself.
    #[error("database unavailable")]
    Unavailable(#[source] DbErr),
    /// Anything else (500). The message is for the log only.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    pub fn invalid(message: impl Into<String>) -> Self {
        Error::Invalid(message.into())
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Error::NotFound(message.into())
    }
}

impl From<DbErr> for Error {
    fn from(err: DbErr) -> Self {
        match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => {
                return Error::Conflict("an entry with the same key already exists".into());
            }
            Some(SqlErr::ForeignKeyConstraintViolation(_)) => {
                return Error::Invalid("a referenced entry does not exist".into());
            }
            _ => {}
        }
        match err {
            DbErr::Conn(_) | DbErr::ConnectionAcquire(_) => Error::Unavailable(err),
            other => Error::Internal(other.to_string()),
        }
    }
}
