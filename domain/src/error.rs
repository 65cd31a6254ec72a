//! The domain's one error type. The API maps each variant to a GraphQL error code in one place;
//! `Internal` carries the cause for the log and never reaches a client.
//!
//! An `InvalidInput` names the offending value in the domain's own words, never by the API
//! argument it arrived in: the field of the domain value it belongs to, in the contract's
//! camelCase, nested with dots (`capacity`, `serviceDate`, `location.lat`, `near.radiusM`), or a
//! plain parameter by its name (`reason`, `at`, `first`). Functions that check a value take that
//! name as their `field` argument (`deps::text`, `dates::check_day`, `Position::parse`). The API
//! adds the argument a value sits in with [`Error::in_argument`]: `capacity` of `createEvent`'s
//! `input` is answered as `input.capacity`.

use std::time::Duration;

use crate::text::Text;

/// Everything a domain operation can refuse or fail with.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    #[error("authentication required")]
    Unauthenticated,
    /// A failed sign-in: one error for an unknown phone and a wrong password alike.
    #[error("wrong phone number or password")]
    WrongCredentials,
    /// What the caller is told, by key (see [`crate::text`]).
    #[error("{0}")]
    Forbidden(Text),
    #[error("{0} not found")]
    NotFound(&'static str),
    /// Input that cannot be accepted; `field` names the offending value (`phone`; see above).
    #[error("{field}: {message}")]
    InvalidInput { field: String, message: Text },
    #[error("{0}")]
    Conflict(Text),
    #[error("too many attempts; retry in {} s", retry_after.as_secs())]
    RateLimited { retry_after: Duration },
    #[error("{0} is unavailable")]
    Unavailable(&'static str),
    #[error("internal error: {0}")]
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn invalid(field: impl Into<String>, message: impl Into<Text>) -> Self {
        Self::InvalidInput {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn forbidden(message: impl Into<Text>) -> Self {
        Self::Forbidden(message.into())
    }

    pub fn conflict(message: impl Into<Text>) -> Self {
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

/// What a database error means for the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbFailure {
    /// The connection broke or could not be made (refused, reset, closed, server shutting
    /// down): nothing about the request was wrong, and the same request may work shortly.
    ConnectionLost,
    /// No connection came free in time: the database is away or overwhelmed.
    PoolTimedOut,
    /// Anything else: a bug or a broken invariant.
    Other,
}

/// PostgreSQL's SQLSTATEs that mean the server or the connection went away: class 08
/// (connection exception) and 57P01–57P03 (admin shutdown, crash shutdown, cannot connect now).
pub fn is_outage_sqlstate(code: &str) -> bool {
    code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03")
}

fn classify_sqlx(error: &sea_orm::sqlx::Error) -> DbFailure {
    use sea_orm::sqlx::Error as Sqlx;
    match error {
        Sqlx::Io(_) | Sqlx::Tls(_) | Sqlx::PoolClosed | Sqlx::WorkerCrashed => {
            DbFailure::ConnectionLost
        }
        Sqlx::PoolTimedOut => DbFailure::PoolTimedOut,
        Sqlx::Database(db) if db.code().is_some_and(|code| is_outage_sqlstate(&code)) => {
            DbFailure::ConnectionLost
        }
        // The server closed the socket in the middle of a message.
        Sqlx::Protocol(message) if message.contains("unexpected EOF") => DbFailure::ConnectionLost,
        _ => DbFailure::Other,
    }
}

/// Sorts a sea-orm error into an outage (the database is away) or anything else.
pub fn classify(error: &sea_orm::DbErr) -> DbFailure {
    use sea_orm::{ConnAcquireErr, DbErr, RuntimeErr};
    match error {
        DbErr::ConnectionAcquire(ConnAcquireErr::Timeout) => DbFailure::PoolTimedOut,
        DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed) => DbFailure::ConnectionLost,
        DbErr::Conn(RuntimeErr::SqlxError(error))
        | DbErr::Exec(RuntimeErr::SqlxError(error))
        | DbErr::Query(RuntimeErr::SqlxError(error)) => classify_sqlx(error),
        _ => DbFailure::Other,
    }
}

/// An outage becomes `Unavailable` (the client is told to retry; no database text reaches it),
/// anything else `Internal`. A lost connection is noted for the request's one retry
/// (`request_writes`).
impl From<sea_orm::DbErr> for Error {
    fn from(error: sea_orm::DbErr) -> Self {
        match classify(&error) {
            DbFailure::ConnectionLost => {
                tracing::warn!(%error, "database connection lost");
                crate::request_writes::note_connection_lost();
                Self::Unavailable("the database")
            }
            DbFailure::PoolTimedOut => {
                tracing::warn!(%error, "no database connection came free in time");
                Self::Unavailable("the database")
            }
            DbFailure::Other => Self::Internal(format!("database: {error}")),
        }
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use sea_orm::sqlx;
    use sea_orm::{ConnAcquireErr, DbErr, RuntimeErr};

    use super::*;

    fn io(kind: std::io::ErrorKind) -> DbErr {
        let error = sqlx::Error::Io(std::io::Error::new(kind, "socket"));
        DbErr::Query(RuntimeErr::SqlxError(Arc::new(error)))
    }

    #[test]
    fn lost_connections_and_timeouts_are_outages() {
        for kind in [
            std::io::ErrorKind::ConnectionRefused,
            std::io::ErrorKind::ConnectionReset,
            std::io::ErrorKind::UnexpectedEof,
            std::io::ErrorKind::BrokenPipe,
        ] {
            assert_eq!(classify(&io(kind)), DbFailure::ConnectionLost, "{kind:?}");
        }
        let timeout = DbErr::ConnectionAcquire(ConnAcquireErr::Timeout);
        assert_eq!(classify(&timeout), DbFailure::PoolTimedOut);
        let closed = DbErr::Conn(RuntimeErr::SqlxError(Arc::new(sqlx::Error::PoolClosed)));
        assert_eq!(classify(&closed), DbFailure::ConnectionLost);
        let eof = sqlx::Error::Protocol("unexpected EOF on the socket".into());
        let eof = DbErr::Exec(RuntimeErr::SqlxError(Arc::new(eof)));
        assert_eq!(classify(&eof), DbFailure::ConnectionLost);
    }

    #[test]
    fn other_database_errors_stay_internal() {
        assert_eq!(classify(&DbErr::Custom("boom".into())), DbFailure::Other);
        let decode = sqlx::Error::ColumnNotFound("x".into());
        let decode = DbErr::Query(RuntimeErr::SqlxError(Arc::new(decode)));
        assert_eq!(classify(&decode), DbFailure::Other);
        assert!(matches!(
            Error::from(DbErr::RecordNotInserted),
            Error::Internal(_)
        ));
        assert!(matches!(
            Error::from(DbErr::ConnectionAcquire(ConnAcquireErr::Timeout)),
            Error::Unavailable(_)
        ));
    }

    #[test]
    fn sqlstates_of_a_server_going_away_are_outages() {
        for code in [
            "08000", "08003", "08006", "08001", "57P01", "57P02", "57P03",
        ] {
            assert!(is_outage_sqlstate(code), "{code}");
        }
        for code in ["23505", "40001", "40P01", "57014", "42P01"] {
            assert!(!is_outage_sqlstate(code), "{code}");
        }
    }
}
