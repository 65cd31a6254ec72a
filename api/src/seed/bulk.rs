//! How the seed loads in bulk: its own connections, with session settings for large
//! statements, and the loaded tables' indexes, keys and foreign keys set aside during the load
//! and made again afterwards, as `pg_restore` does: one sorted build per index is far cheaper
//! than maintaining it row by row, and one check of a foreign key over the whole table far
//! cheaper than a lookup per inserted row. A seed that fails halfway leaves them dropped: the
//! database is for dropping and seeding again anyway (the seed refuses one that holds events).

use sea_orm::{ConnectOptions, ConnectionTrait as _, Database, DatabaseConnection, Statement};

use super::generate::exec;

/// The tables the seed fills with `INSERT … SELECT`.
pub const LOADED_TABLES: [&str; 13] = [
    "volunteers",
    "teams",
    "memberships",
    "events",
    "event_search_grams",
    "volunteer_name_grams",
    "sign_ups",
    "attendances",
    "service_records",
    "tallies",
    "stats_team_days",
    "stats_volunteer_days",
    "stats_area_days",
];

/// A connection pool for the seed's statements: commits do not wait for the disk (a crash
/// loses the seed, which is started again on a new database anyway), and sorts, hashes and
/// index builds get memory instead of temporary files.
pub async fn connect(url: &str) -> anyhow::Result<DatabaseConnection> {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(2)
        .min_connections(1)
        .sqlx_logging(false)
        .map_sqlx_postgres_opts(|pg| {
            pg.options([
                ("synchronous_commit", "off"),
                ("work_mem", "256MB"),
                ("maintenance_work_mem", "1GB"),
                ("max_parallel_maintenance_workers", "2"),
            ])
        });
    Ok(Database::connect(options).await?)
}

/// What was dropped for the load, as the statements that make it again: primary keys and
/// unique constraints no foreign key refers to, the other indexes, and the foreign keys (added
/// last, and so checked against every loaded row at once).
pub struct SetAside {
    keys_and_indexes: Vec<String>,
    foreign_keys: Vec<String>,
}

/// The rows of a query of texts.
async fn texts(db: &DatabaseConnection, sql: String) -> anyhow::Result<Vec<Vec<String>>> {
    let rows = db
        .query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let mut values = Vec::new();
        while let Ok(value) = row.try_get_by_index::<String>(values.len()) {
            values.push(value);
        }
        out.push(values);
    }
    Ok(out)
}

/// Drops the constraints and indexes of `tables` (see [`SetAside`]), keeping their definitions
/// as PostgreSQL prints them. Primary keys other tables refer to stay.
pub async fn set_aside(db: &DatabaseConnection, tables: &[&str]) -> anyhow::Result<SetAside> {
    let list = tables
        .iter()
        .map(|table| format!("'{table}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let constraints = texts(
        db,
        format!(
            "SELECT c.conrelid::regclass::text, c.conname::text, pg_get_constraintdef(c.oid), \
               c.contype::text FROM pg_constraint c \
             WHERE c.conrelid::regclass::text IN ({list}) AND (c.contype = 'f' OR \
               (c.contype IN ('p', 'u') AND NOT EXISTS (SELECT 1 FROM pg_constraint r \
                  WHERE r.contype = 'f' AND r.confrelid = c.conrelid))) \
             ORDER BY c.contype = 'f' DESC, 1, 2"
        ),
    )
    .await?;
    let mut set = SetAside {
        keys_and_indexes: Vec::new(),
        foreign_keys: Vec::new(),
    };
    for row in constraints {
        let [table, name, definition, kind] = &row[..] else {
            anyhow::bail!("unexpected constraint row {row:?}");
        };
        exec(
            db,
            &format!("ALTER TABLE {table} DROP CONSTRAINT \"{name}\""),
        )
        .await?;
        let add = format!("ALTER TABLE {table} ADD CONSTRAINT \"{name}\" {definition}");
        match kind.as_str() {
            "f" => set.foreign_keys.push(add),
            _ => set.keys_and_indexes.push(add),
        }
    }
    let indexes = texts(
        db,
        format!(
            "SELECT i.indexname::text, i.indexdef FROM pg_indexes i \
             WHERE i.schemaname = current_schema() AND i.tablename IN ({list}) \
               AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = \
                 (quote_ident(i.schemaname) || '.' || quote_ident(i.indexname))::regclass) \
             ORDER BY i.tablename, i.indexname"
        ),
    )
    .await?;
    for row in indexes {
        let [name, definition] = &row[..] else {
            anyhow::bail!("unexpected index row {row:?}");
        };
        exec(db, &format!("DROP INDEX \"{name}\"")).await?;
        set.keys_and_indexes.push(definition.clone());
    }
    Ok(set)
}

impl SetAside {
    /// Makes everything set aside again, exactly as it was defined: keys and indexes on two
    /// connections at once, then the foreign keys one by one (two at once could deadlock).
    /// Returns how many.
    pub async fn restore(self, db: &DatabaseConnection) -> anyhow::Result<usize> {
        let count = self.keys_and_indexes.len() + self.foreign_keys.len();
        let (odd, even): (Vec<_>, Vec<_>) = self
            .keys_and_indexes
            .into_iter()
            .enumerate()
            .partition(|(at, _)| at % 2 == 1);
        let lane = |statements: Vec<(usize, String)>| async move {
            for (_, statement) in statements {
                exec(db, &statement).await?;
            }
            anyhow::Ok(())
        };
        tokio::try_join!(lane(odd), lane(even))?;
        for statement in self.foreign_keys {
            exec(db, &statement).await?;
        }
        Ok(count)
    }
}
