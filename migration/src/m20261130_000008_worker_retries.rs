//! Background work that fails is set aside and retried later, never retried first for ever:
//! statistics marks and leaderboard outbox rows count their failed attempts and carry the time
//! before which the worker leaves them alone (growing with each failure).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{integer, timestamp_with_time_zone_null};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261130_000008_worker_retries"
    }
}

#[derive(DeriveIden)]
enum StatsDirty {
    Table,
    Attempts,
    RetryAt,
}

#[derive(DeriveIden)]
enum LeaderboardOutbox {
    Table,
    Attempts,
    RetryAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One change per `alter_table`: SQLite accepts no more.
        manager
            .alter_table(
                Table::alter()
                    .table(StatsDirty::Table)
                    .add_column(integer(StatsDirty::Attempts).default(0))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(StatsDirty::Table)
                    .add_column(timestamp_with_time_zone_null(StatsDirty::RetryAt))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(LeaderboardOutbox::Table)
                    .add_column(integer(LeaderboardOutbox::Attempts).default(0))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(LeaderboardOutbox::Table)
                    .add_column(timestamp_with_time_zone_null(LeaderboardOutbox::RetryAt))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
