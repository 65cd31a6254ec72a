//! The event feed's index: an area's events by start, carrying every column the feed's filter
//! and order read (visibility, status, team, end, kind), so its count and the ids of a page come
//! from the index alone (an index-only scan on PostgreSQL, a covering index on SQLite), and only
//! the page's own rows are read from the table. It replaces `ix_events_area_starts`, its prefix.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000020_event_feed_index"
    }
}

const POSTGRES: &str = "CREATE INDEX ix_events_area_feed ON events (area_id, starts_at, id) \
    INCLUDE (visibility, status, team_id, ends_at, kind)";
const SQLITE: &str = "CREATE INDEX ix_events_area_feed ON events \
    (area_id, starts_at, id, visibility, status, team_id, ends_at, kind)";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let create = match manager.get_database_backend() {
            DbBackend::Postgres => POSTGRES,
            _ => SQLITE,
        };
        db.execute_unprepared(create).await?;
        db.execute_unprepared("DROP INDEX ix_events_area_starts")
            .await?;
        Ok(())
    }
}
