//! Small builders shared by migrations. Changing one never changes a landed migration's effect:
//! they only spell out foreign keys, indexes and the gram backfill statement.

use sea_orm_migration::prelude::*;

pub(crate) fn fk(
    name: &str,
    from: (impl IntoIden, impl IntoIden),
    to: (impl IntoIden, impl IntoIden),
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from.0, from.1)
        .to(to.0, to.1)
        .on_delete(ForeignKeyAction::Restrict)
        .to_owned()
}

pub(crate) fn index(
    name: &str,
    table: impl IntoIden,
    columns: &[&'static str],
) -> IndexCreateStatement {
    let mut statement = Index::create().name(name).table(table).to_owned();
    for column in columns {
        statement.col(Alias::new(*column));
    }
    statement
}

/// Inserts every distinct one- and two-character piece (lower-cased, pieces holding a space left
/// out) of each `(id, body)` row that `source` (a `SELECT`) yields, of at most `max_chars`
/// characters, into `table (gram, owner)`. Runs on SQLite and PostgreSQL. The domain's `grams` module writes the same statement for the
/// rows it writes (this crate does not depend on the domain).
pub(crate) fn grams_insert(table: &str, owner: &str, max_chars: usize, source: &str) -> String {
    format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {max_chars}) \
         INSERT INTO {table} (gram, {owner}) \
         SELECT DISTINCT lower(substr(f.body, n.i, w.len)), f.id \
         FROM ({source}) f \
         JOIN n ON n.i <= length(f.body) \
         JOIN (SELECT 1 AS len UNION ALL SELECT 2) w ON n.i + w.len - 1 <= length(f.body) \
         WHERE substr(f.body, n.i, w.len) NOT LIKE '% %' \
         ON CONFLICT DO NOTHING"
    )
}

/// Every (place, day) with daily statistics rollups, as `stats_dirty` marks of kind `PLACE` for
/// the statistics worker: the place is the town, else the district, else 0 (teams of the whole
/// city). Followed by a `WHERE` clause (which SQLite needs before an `ON CONFLICT`) or nothing.
pub(crate) const MARK_PLACE_DAYS: &str = "INSERT INTO stats_dirty (kind, ref_id, day, generation) \
     SELECT DISTINCT 'PLACE', CASE WHEN town_id <> 0 THEN town_id ELSE district_id END, \
     day, 1 FROM (SELECT district_id, town_id, day FROM stats_team_days \
     UNION SELECT district_id, town_id, day FROM stats_area_days) AS days";

/// Runs `postgres` on PostgreSQL or `sqlite` on SQLite, statement by statement, in order: for
/// what the two spell differently (covering indexes, generated columns).
pub(crate) async fn run_per_backend(
    manager: &SchemaManager<'_>,
    postgres: &[&str],
    sqlite: &[&str],
) -> Result<(), DbErr> {
    let statements = match manager.get_database_backend() {
        sea_orm_migration::sea_orm::DbBackend::Postgres => postgres,
        _ => sqlite,
    };
    let db = manager.get_connection();
    for statement in statements {
        db.execute_unprepared(statement).await?;
    }
    Ok(())
}
