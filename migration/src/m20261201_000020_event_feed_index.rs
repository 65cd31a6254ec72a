//! The event feed's index: an area's events by start, carrying every column the feed's filter
//! and order read (visibility, status, team, end, kind), so its count and the ids of a page come
//! from the index alone (an index-only scan on PostgreSQL, a covering index on SQLite), and only
//! the page's own rows are read from the table. It replaces `ix_events_area_starts`, its prefix.

use crate::util::run_per_backend;
use sea_orm_migration::prelude::*;

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
        const DROP: &str = "DROP INDEX ix_events_area_starts";
        run_per_backend(manager, &[POSTGRES, DROP], &[SQLITE, DROP]).await
    }
}
