//! Participation statistics: daily rollups per team, per volunteer-team (for exact distinct
//! counts) and per area (registrations), and the queue of days whose rollups must be redone.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::util::index;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261128_000004_stats"
    }
}

#[derive(DeriveIden)]
enum StatsTeamDays {
    Table,
    Id,
    Day,
    WeekKey,
    MonthKey,
    TeamId,
    AreaId,
    DistrictId,
    TownId,
    TeamKind,
    EventsHeld,
    SignUps,
    Attended,
    NoShows,
    ApprovedMinutes,
}

#[derive(DeriveIden)]
enum StatsVolunteerDays {
    Table,
    Id,
    Day,
    WeekKey,
    MonthKey,
    TeamId,
    VolunteerId,
    AreaId,
    DistrictId,
    TownId,
    TeamKind,
}

#[derive(DeriveIden)]
enum StatsAreaDays {
    Table,
    Id,
    Day,
    WeekKey,
    MonthKey,
    AreaId,
    DistrictId,
    TownId,
    NewVolunteers,
}

#[derive(DeriveIden)]
enum StatsDirty {
    Table,
    Id,
    Kind,
    RefId,
    Day,
    Generation,
}

/// The columns every rollup carries so it can be grouped and filtered without joins.
fn placement(
    table: &mut TableCreateStatement,
    day: impl IntoIden,
    week: impl IntoIden,
    month: impl IntoIden,
    area: impl IntoIden,
    district: impl IntoIden,
    town: impl IntoIden,
) {
    table
        .col(date(day))
        .col(string_len(week, 10))
        .col(string_len(month, 10))
        .col(big_integer(area))
        .col(big_integer(district))
        .col(big_integer(town));
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut team_days = Table::create()
            .table(StatsTeamDays::Table)
            .col(big_pk_auto(StatsTeamDays::Id))
            .to_owned();
        placement(
            &mut team_days,
            StatsTeamDays::Day,
            StatsTeamDays::WeekKey,
            StatsTeamDays::MonthKey,
            StatsTeamDays::AreaId,
            StatsTeamDays::DistrictId,
            StatsTeamDays::TownId,
        );
        team_days
            .col(big_integer(StatsTeamDays::TeamId))
            .col(string_len(StatsTeamDays::TeamKind, 20))
            .col(integer(StatsTeamDays::EventsHeld))
            .col(integer(StatsTeamDays::SignUps))
            .col(integer(StatsTeamDays::Attended))
            .col(integer(StatsTeamDays::NoShows))
            .col(big_integer(StatsTeamDays::ApprovedMinutes));
        manager.create_table(team_days).await?;
        manager
            .create_index(
                index(
                    "ux_stats_team_days",
                    StatsTeamDays::Table,
                    &["team_id", "day"],
                )
                .unique()
                .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_stats_team_days_day_area",
                StatsTeamDays::Table,
                &["day", "area_id"],
            ))
            .await?;

        let mut volunteer_days = Table::create()
            .table(StatsVolunteerDays::Table)
            .col(big_pk_auto(StatsVolunteerDays::Id))
            .to_owned();
        placement(
            &mut volunteer_days,
            StatsVolunteerDays::Day,
            StatsVolunteerDays::WeekKey,
            StatsVolunteerDays::MonthKey,
            StatsVolunteerDays::AreaId,
            StatsVolunteerDays::DistrictId,
            StatsVolunteerDays::TownId,
        );
        volunteer_days
            .col(big_integer(StatsVolunteerDays::TeamId))
            .col(big_integer(StatsVolunteerDays::VolunteerId))
            .col(string_len(StatsVolunteerDays::TeamKind, 20));
        manager.create_table(volunteer_days).await?;
        manager
            .create_index(
                index(
                    "ux_stats_volunteer_days",
                    StatsVolunteerDays::Table,
                    &["team_id", "day", "volunteer_id"],
                )
                .unique()
                .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_stats_volunteer_days_day_area",
                StatsVolunteerDays::Table,
                &["day", "area_id"],
            ))
            .await?;

        let mut area_days = Table::create()
            .table(StatsAreaDays::Table)
            .col(big_pk_auto(StatsAreaDays::Id))
            .to_owned();
        placement(
            &mut area_days,
            StatsAreaDays::Day,
            StatsAreaDays::WeekKey,
            StatsAreaDays::MonthKey,
            StatsAreaDays::AreaId,
            StatsAreaDays::DistrictId,
            StatsAreaDays::TownId,
        );
        area_days.col(integer(StatsAreaDays::NewVolunteers));
        manager.create_table(area_days).await?;
        manager
            .create_index(
                index(
                    "ux_stats_area_days",
                    StatsAreaDays::Table,
                    &["area_id", "day"],
                )
                .unique()
                .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_stats_area_days_day",
                StatsAreaDays::Table,
                &["day", "area_id"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(StatsDirty::Table)
                    .col(big_pk_auto(StatsDirty::Id))
                    .col(string_len(StatsDirty::Kind, 10))
                    .col(big_integer(StatsDirty::RefId))
                    .col(date(StatsDirty::Day))
                    .col(big_integer(StatsDirty::Generation))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index(
                    "ux_stats_dirty",
                    StatsDirty::Table,
                    &["kind", "ref_id", "day"],
                )
                .unique()
                .to_owned(),
            )
            .await?;
        Ok(())
    }
}
