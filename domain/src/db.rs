//! Opening the database: PostgreSQL in production, SQLite as the embedded default. The same
//! entities and queries serve both; only connection tuning differs here.

use std::path::PathBuf;
use std::str::FromStr as _;
use std::time::Duration;

use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseConnectionType,
};

use crate::error::{Error, Result};

/// How long a request waits for a pooled connection. While the database is away the pool keeps
/// trying to connect for this long, and then the request is answered UNAVAILABLE: short, so the
/// apps hear of an outage within seconds; long enough for a busy pool under a burst (a pool
/// that cannot free a connection for this long is overloaded, and telling clients to retry
/// sheds that load).
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);
/// A pooled connection idle at least this long is pinged before it is handed out.
const PING_IF_IDLE_FOR: Duration = Duration::from_secs(10);

/// Connects with a bounded pool. On SQLite: WAL (readers never block the writer), a busy timeout
/// (writers queue instead of failing), foreign keys on, and the file created when missing,
/// readable by its owner only.
pub async fn connect(url: &str, max_connections: u32) -> Result<DatabaseConnection> {
    if let Some(path) = sqlite_file(url) {
        create_private_file(&path).map_err(|error| {
            Error::Internal(format!(
                "cannot open the database: cannot create {}: {error}",
                path.display()
            ))
        })?;
    }
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(max_connections.max(1))
        .min_connections(1)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(ACQUIRE_TIMEOUT)
        // sqlx pings a pooled connection on every checkout by default: a round trip before
        // every statement. Only a connection idle long enough to have been dropped is pinged;
        // a busy one that was cut fails its statement, which `request_writes` and the HTTP
        // layer's one retry after a lost connection already handle.
        .test_before_acquire_if_idle_for(PING_IF_IDLE_FOR)
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
    // is never retried (see `request_writes`).
    db.set_metric_callback(|info| crate::request_writes::note_statement(&info.statement.sql));
    Ok(db)
}

/// The file an SQLite URL names; `None` for other databases and in-memory or read-only SQLite.
fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite:")?;
    let query = rest.split_once('?').map_or("", |(_, query)| query);
    if rest.contains(":memory:") || query.contains("mode=memory") || query.contains("mode=ro") {
        return None;
    }
    let options = sea_orm::sqlx::sqlite::SqliteConnectOptions::from_str(url).ok()?;
    let path = options.get_filename();
    (!path.as_os_str().is_empty()).then(|| path.to_owned())
}

/// Creates `path` with mode 0600 unless it exists. SQLite gives the `-wal` and `-shm` files it
/// creates next to a database the database file's permissions (whatever the umask), so they
/// are private too.
fn create_private_file(path: &std::path::Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(error) => Err(error),
    }
}

/// True when the database answers a trivial query.
pub async fn ping(db: &DatabaseConnection) -> bool {
    db.execute_unprepared("SELECT 1").await.is_ok()
}

/// The pool's connections at one moment: open ones, and how many of those sit idle (the rest
/// are in use). sqlx does not tell how many callers are waiting for a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolUsage {
    pub open: u32,
    pub idle: u32,
    pub max: u32,
}

impl PoolUsage {
    pub fn in_use(&self) -> u32 {
        self.open.saturating_sub(self.idle)
    }
}

/// How busy the connection pool is; `None` for a connection that is not an sqlx pool.
pub fn pool_usage(db: &DatabaseConnection) -> Option<PoolUsage> {
    fn usage<D: sea_orm::sqlx::Database>(pool: &sea_orm::sqlx::Pool<D>) -> PoolUsage {
        PoolUsage {
            open: pool.size(),
            idle: u32::try_from(pool.num_idle()).unwrap_or(u32::MAX),
            max: pool.options().get_max_connections(),
        }
    }
    match &db.inner {
        DatabaseConnectionType::SqlxPostgresPoolConnection(_) => {
            Some(usage(db.get_postgres_connection_pool()))
        }
        DatabaseConnectionType::SqlxSqlitePoolConnection(_) => {
            Some(usage(db.get_sqlite_connection_pool()))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sqlite_file_is_found_in_the_url_forms_in_use() {
        let file = |url| sqlite_file(url).map(|path| path.display().to_string());
        assert_eq!(
            file("sqlite:///var/lib/feihong/feihong.db?mode=rwc").as_deref(),
            Some("/var/lib/feihong/feihong.db")
        );
        assert_eq!(
            file("sqlite://./data/feihong.db?mode=rwc").as_deref(),
            Some("./data/feihong.db")
        );
        assert_eq!(file("sqlite:data.db").as_deref(), Some("data.db"));
        for url in [
            "sqlite::memory:",
            "sqlite://:memory:",
            "sqlite://x.db?mode=memory",
            "sqlite://x.db?mode=ro",
            "postgres://localhost/feihong",
        ] {
            assert_eq!(file(url), None, "{url}");
        }
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn the_database_and_its_wal_and_shm_files_are_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile_dir();
        let path = dir.join("feihong.db");
        let db = connect(&format!("sqlite://{}?mode=rwc", path.display()), 2)
            .await
            .unwrap();
        db.execute_unprepared("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1);")
            .await
            .unwrap();
        for name in ["feihong.db", "feihong.db-wal", "feihong.db-shm"] {
            let mode = std::fs::metadata(dir.join(name))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{name}: {mode:o}");
        }
        db.close().await.unwrap();
        std::fs::remove_dir_all(&dir).ok();
    }

    fn tempfile_dir() -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("feihong-db-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
