//! Hour tallies per volunteer, team and member-of-team for each period, the leaderboard outbox,
//! and the leaderboard opt-out.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::util::index;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261128_000003_tallies"
    }
}

#[derive(DeriveIden)]
enum Volunteers {
    Table,
    ShowOnLeaderboards,
}

#[derive(DeriveIden)]
enum Tallies {
    Table,
    Id,
    Kind,
    VolunteerId,
    TeamId,
    AreaId,
    TeamKind,
    Period,
    PeriodKey,
    Minutes,
    Version,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum LeaderboardOutbox {
    Table,
    Id,
    VolunteerId,
    TeamId,
    ServiceDate,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ServiceRecords {
    Table,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Volunteers::Table)
                    .add_column(boolean(Volunteers::ShowOnLeaderboards).default(true))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Tallies::Table)
                    .col(big_pk_auto(Tallies::Id))
                    // VOLUNTEER (all their minutes), TEAM (a team's), MEMBER (one volunteer's in one team).
                    .col(string_len(Tallies::Kind, 10))
                    .col(big_integer(Tallies::VolunteerId))
                    .col(big_integer(Tallies::TeamId))
                    .col(big_integer(Tallies::AreaId))
                    .col(string_len(Tallies::TeamKind, 20))
                    .col(string_len(Tallies::Period, 10))
                    .col(string_len(Tallies::PeriodKey, 10))
                    .col(big_integer(Tallies::Minutes))
                    .col(big_integer(Tallies::Version))
                    .col(timestamp_with_time_zone(Tallies::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index(
                    "ux_tallies_subject_period",
                    Tallies::Table,
                    &["kind", "volunteer_id", "team_id", "period", "period_key"],
                )
                .unique()
                .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_tallies_rank",
                Tallies::Table,
                &["kind", "period", "period_key", "minutes"],
            ))
            .await?;
        manager
            .create_index(index(
                "ix_tallies_area_rank",
                Tallies::Table,
                &["kind", "period", "period_key", "area_id", "minutes"],
            ))
            .await?;
        manager
            .create_index(index(
                "ix_tallies_team_rank",
                Tallies::Table,
                &["kind", "team_id", "period", "period_key", "minutes"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(LeaderboardOutbox::Table)
                    .col(big_pk_auto(LeaderboardOutbox::Id))
                    .col(big_integer(LeaderboardOutbox::VolunteerId))
                    .col(big_integer(LeaderboardOutbox::TeamId))
                    .col(date(LeaderboardOutbox::ServiceDate))
                    .col(timestamp_with_time_zone(LeaderboardOutbox::CreatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_index(index(
                "ix_service_records_volunteer_status",
                ServiceRecords::Table,
                &["volunteer_id", "status"],
            ))
            .await?;
        Ok(())
    }
}
