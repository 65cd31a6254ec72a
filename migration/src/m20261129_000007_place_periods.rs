//! Statistics per place, team kind and period, so `participationStats` answers from a few rows
//! per day, month or year instead of reading every (team, day) and volunteer-day in the range.
//!
//! One row per (district, town, team kind, period): the rollup sums of the place's teams of that
//! kind, and the ids of volunteers with approved service there, as a serialized Roaring bitmap
//! (exact distinct counts are unions of these sets). Registrations have no team: their rows
//! carry an empty team kind. Existing rollups are marked for the worker to build their rows.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer, big_pk_auto, blob, string_len};

use crate::util::{MARK_PLACE_DAYS, index};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261129_000007_place_periods"
    }
}

#[derive(DeriveIden)]
enum StatsPlacePeriods {
    Table,
    Id,
    DistrictId,
    TownId,
    TeamKind,
    Period,
    PeriodKey,
    EventsHeld,
    SignUps,
    Attended,
    NoShows,
    ApprovedMinutes,
    NewVolunteers,
    Volunteers,
}

#[derive(DeriveIden)]
enum StatsTeamDays {
    Table,
}

#[derive(DeriveIden)]
enum StatsVolunteerDays {
    Table,
}

#[derive(DeriveIden)]
enum StatsAreaDays {
    Table,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(StatsPlacePeriods::Table)
                    .col(big_pk_auto(StatsPlacePeriods::Id))
                    .col(big_integer(StatsPlacePeriods::DistrictId))
                    .col(big_integer(StatsPlacePeriods::TownId))
                    .col(string_len(StatsPlacePeriods::TeamKind, 20))
                    .col(string_len(StatsPlacePeriods::Period, 5))
                    .col(string_len(StatsPlacePeriods::PeriodKey, 10))
                    .col(big_integer(StatsPlacePeriods::EventsHeld))
                    .col(big_integer(StatsPlacePeriods::SignUps))
                    .col(big_integer(StatsPlacePeriods::Attended))
                    .col(big_integer(StatsPlacePeriods::NoShows))
                    .col(big_integer(StatsPlacePeriods::ApprovedMinutes))
                    .col(big_integer(StatsPlacePeriods::NewVolunteers))
                    .col(blob(StatsPlacePeriods::Volunteers))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index(
                    "ux_stats_place_periods",
                    StatsPlacePeriods::Table,
                    &[
                        "period",
                        "period_key",
                        "district_id",
                        "town_id",
                        "team_kind",
                    ],
                )
                .unique()
                .to_owned(),
            )
            .await?;
        // Rebuilding one place's day or month reads only that place's rollup rows.
        for (name, table) in [
            (
                "ix_stats_team_days_place_day",
                StatsTeamDays::Table.into_iden(),
            ),
            (
                "ix_stats_volunteer_days_place_day",
                StatsVolunteerDays::Table.into_iden(),
            ),
            (
                "ix_stats_area_days_place_day",
                StatsAreaDays::Table.into_iden(),
            ),
        ] {
            manager
                .create_index(index(name, table, &["district_id", "town_id", "day"]))
                .await?;
        }
        // Every (place, day) that already has rollups gets its rows built by the worker. The
        // place is the town, else the district, else 0 (teams of the whole city).
        manager
            .get_connection()
            .execute_unprepared(MARK_PLACE_DAYS)
            .await?;
        Ok(())
    }
}
