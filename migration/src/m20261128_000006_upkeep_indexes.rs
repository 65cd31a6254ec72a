//! Indexes for background work: finding recent CONFIRMED sign-ups of events that are over
//! (no-show marking) without walking every sign-up ever made, and paging through one period's
//! tallies when leaderboards are rebuilt.

use sea_orm_migration::prelude::*;

use crate::util::index;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261128_000006_upkeep_indexes"
    }
}

#[derive(DeriveIden)]
enum SignUps {
    Table,
}

#[derive(DeriveIden)]
enum Tallies {
    Table,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(index(
                "ix_sign_ups_status_ends",
                SignUps::Table,
                &["status", "ends_at"],
            ))
            .await?;
        manager
            .create_index(index(
                "ix_tallies_period_id",
                Tallies::Table,
                &["period", "period_key", "id"],
            ))
            .await
    }
}
