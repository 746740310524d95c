//! The domain error: what went wrong, as a kind, never as an HTTP status. Services, the engine's
//! adapters and the store return it; [`crate::answers`] alone turns it into an answer in each
//! dialect the HTTP surface speaks (Flows JSON, admin JSON, OAuth, HTML, redirect). Internal
//! details are logged there, never sent.

use sea_orm::{DbErr, SqlErr};

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
        match err {
            DbErr::Conn(_) | DbErr::ConnectionAcquire(_) => Error::Unavailable(err.to_string()),
            other => Error::Internal(other.to_string()),
        }
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
    }
}
