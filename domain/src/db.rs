//! Opening the database: PostgreSQL in production, SQLite as the embedded default. The same
//! entities and queries serve both; only connection tuning differs here.

use std::time::Duration;

use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection};

use crate::error::{Error, Result};

/// How long a request waits for a pooled connection. While the database is away the pool keeps
/// trying to connect for this long, and then the request is answered UNAVAILABLE: short, so the
/// apps hear of an outage within seconds; long enough for a busy pool under a burst (a pool
/// that cannot free a connection for this long is overloaded, and telling clients to retry
/// sheds that load).
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// Connects with a bounded pool. On SQLite: WAL (readers never block the writer), a busy timeout
/// (writers queue instead of failing), foreign keys on, and the file created when missing.
pub async fn connect(url: &str, max_connections: u32) -> Result<DatabaseConnection> {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(max_connections.max(1))
        .min_connections(1)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|sqlite| {
            sqlite
                .create_if_missing(true)
                .journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
        });
    let mut db = Database::connect(options)
        .await
        .map_err(|error| Error::Internal(format!("cannot open the database: {error}")))?;
    // Every statement is noted for the request running it, so a request that may have written
    // is never retried (see `store`).
    db.set_metric_callback(|info| crate::store::note_statement(&info.statement.sql));
    Ok(db)
}

/// True when the database answers a trivial query.
pub async fn ping(db: &DatabaseConnection) -> bool {
    db.execute_unprepared("SELECT 1").await.is_ok()
}
