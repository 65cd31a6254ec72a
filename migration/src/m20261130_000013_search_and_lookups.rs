//! Issue 10's lookups, each backed by an index:
//!
//! - **Event search** (`events(filter: {search})`) over title, description and address.
//!   Queries of three or more characters use a trigram index: on PostgreSQL a `pg_trgm` GIN index
//!   on the lower-cased text (the extension is created here; it is a trusted extension, so the
//!   database owner may create it), on SQLite an FTS5 table with the `trigram` tokenizer, kept in
//!   step with `events` by triggers. Trigrams cannot answer one or two characters (`反诈`), so
//!   `event_search_grams` holds every distinct one- and two-character piece of each field
//!   (lower-cased), written by the event write path (`events::search::refresh_grams`) and
//!   backfilled here.
//! - **The default event list** (not ended yet, soonest first): `(starts_at, id)`.
//! - **The audit log's filters**: by actor, and by action within a team or an area, over time.
//! - **Team messages**: a notification's text holds up to 1000 characters (a 500-character
//!   message after the team's and the sender's names).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer, string_len};
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

use crate::util::{grams_insert, index};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261130_000013_search_and_lookups"
    }
}

#[derive(DeriveIden)]
enum Events {
    Table,
}

#[derive(DeriveIden)]
enum AuditEntries {
    Table,
}

#[derive(DeriveIden)]
enum EventSearchGrams {
    Table,
    Gram,
    EventId,
}

/// The trigram index's expression on PostgreSQL; `events::search` repeats it exactly, so the
/// planner matches the two. The newline keeps a match from spanning two fields (a search string
/// cannot hold one).
const PG_SEARCH_EXPRESSION: &str = "lower(title || chr(10) || description || chr(10) || address)";

/// Every one- and two-character piece of each field of every event (`util::grams_insert`);
/// `events::search` in the domain writes the same for the events it writes.
const EVENT_GRAMS_SOURCE: &str = "SELECT e.id, e.title AS body FROM events e \
     UNION ALL SELECT e.id, e.description FROM events e \
     UNION ALL SELECT e.id, e.address FROM events e";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(index(
                "ix_events_starts_id",
                Events::Table,
                &["starts_at", "id"],
            ))
            .await?;
        for (name, columns) in [
            (
                "ix_audit_entries_actor_time",
                &["actor_id", "created_at"][..],
            ),
            (
                "ix_audit_entries_area_action_time",
                &["area_id", "action", "created_at"][..],
            ),
            (
                "ix_audit_entries_team_action_time",
                &["team_id", "action", "created_at"][..],
            ),
        ] {
            manager
                .create_index(index(name, AuditEntries::Table, columns))
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(EventSearchGrams::Table)
                    .col(string_len(EventSearchGrams::Gram, 8))
                    .col(big_integer(EventSearchGrams::EventId))
                    .primary_key(
                        Index::create()
                            .col(EventSearchGrams::Gram)
                            .col(EventSearchGrams::EventId),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_event_search_grams_event",
                EventSearchGrams::Table,
                &["event_id"],
            ))
            .await?;
        let connection = manager.get_connection();
        connection
            .execute_unprepared(&grams_insert(
                "event_search_grams",
                "event_id",
                5000,
                EVENT_GRAMS_SOURCE,
            ))
            .await?;

        if connection.get_database_backend() == DbBackend::Postgres {
            connection
                .execute_unprepared("CREATE EXTENSION IF NOT EXISTS pg_trgm")
                .await?;
            // A team message is up to 500 characters after the team's and the sender's names.
            // (SQLite does not enforce a declared length.)
            connection
                .execute_unprepared(
                    "ALTER TABLE notifications ALTER COLUMN message TYPE varchar(1000)",
                )
                .await?;
            connection
                .execute_unprepared(&format!(
                    "CREATE INDEX ix_events_search_trgm ON events USING gin (({PG_SEARCH_EXPRESSION}) gin_trgm_ops)"
                ))
                .await?;
        } else {
            for statement in [
                "CREATE VIRTUAL TABLE events_search USING fts5(title, description, address, \
                 content='events', content_rowid='id', tokenize='trigram')",
                "CREATE TRIGGER events_search_insert AFTER INSERT ON events BEGIN \
                 INSERT INTO events_search(rowid, title, description, address) \
                 VALUES (new.id, new.title, new.description, new.address); END",
                "CREATE TRIGGER events_search_delete AFTER DELETE ON events BEGIN \
                 INSERT INTO events_search(events_search, rowid, title, description, address) \
                 VALUES ('delete', old.id, old.title, old.description, old.address); END",
                "CREATE TRIGGER events_search_update AFTER UPDATE OF title, description, address \
                 ON events BEGIN \
                 INSERT INTO events_search(events_search, rowid, title, description, address) \
                 VALUES ('delete', old.id, old.title, old.description, old.address); \
                 INSERT INTO events_search(rowid, title, description, address) \
                 VALUES (new.id, new.title, new.description, new.address); END",
                "INSERT INTO events_search(events_search) VALUES ('rebuild')",
            ] {
                connection.execute_unprepared(statement).await?;
            }
        }
        Ok(())
    }
}
