//! The domain's one error type. The API maps each variant to a GraphQL error code in one place;
//! `Internal` carries the cause for the log and never reaches a client.

use std::time::Duration;

/// Everything a domain operation can refuse or fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("authentication required")]
    Unauthenticated,
    /// A failed sign-in: one error for an unknown phone and a wrong password alike.
    #[error("wrong phone number or password")]
    WrongCredentials,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0} not found")]
    NotFound(&'static str),
    /// Input that cannot be accepted; `field` names the offending argument (`input.phone`).
    #[error("{field}: {message}")]
    InvalidInput { field: String, message: String },
    #[error("{0}")]
    Conflict(String),
    #[error("too many attempts; retry in {} s", retry_after.as_secs())]
    RateLimited { retry_after: Duration },
    #[error("{0} is unavailable")]
    Unavailable(&'static str),
    #[error("internal error: {0}")]
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::InvalidInput {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::Forbidden(message.into())
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::Conflict(message.into())
    }

    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Self::Internal(cause.to_string())
    }

    /// Prefixes the field of an `InvalidInput` with the argument it sits in (`phone` → `input.phone`).
    pub fn in_argument(self, argument: &str) -> Self {
        match self {
            Self::InvalidInput { field, message } => Self::InvalidInput {
                field: format!("{argument}.{field}"),
                message,
            },
            other => other,
        }
    }
}

impl From<sea_orm::DbErr> for Error {
    fn from(error: sea_orm::DbErr) -> Self {
        Self::Internal(format!("database: {error}"))
    }
}

impl From<sea_orm::TransactionError<Error>> for Error {
    fn from(error: sea_orm::TransactionError<Error>) -> Self {
        match error {
            sea_orm::TransactionError::Connection(error) => error.into(),
            sea_orm::TransactionError::Transaction(error) => error,
        }
    }
}

impl From<redis::RedisError> for Error {
    fn from(error: redis::RedisError) -> Self {
        Self::Internal(format!("redis: {error}"))
    }
}
