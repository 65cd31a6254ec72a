//! Statistics rows already united over a district and over the whole city (`span`), so a
//! district's or the city's answer reads one row per period (or one per team kind) instead of
//! every place × team kind × period and uniting their sets: at scale 1.0 a district's year by
//! month read about 1,500 rows and decoded as many sets (p50 1.6 s).
//!
//! Existing rows are a place's own (`PLACE`). Every (place, day) with rollups is marked for the
//! worker, which rebuilds the place's rows and, through marks of their own, its district's and
//! the city's.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::string_len;

use crate::util::{MARK_PLACE_DAYS, index};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000022_stats_spans"
    }
}

#[derive(DeriveIden)]
enum StatsPlacePeriods {
    Table,
    Span,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(StatsPlacePeriods::Table)
                    .add_column(string_len(StatsPlacePeriods::Span, 8).default("PLACE"))
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("ux_stats_place_periods")
                    .table(StatsPlacePeriods::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index(
                    "ux_stats_place_periods_span",
                    StatsPlacePeriods::Table,
                    &[
                        "span",
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
        manager
            .get_connection()
            .execute_unprepared(&format!(
                "{MARK_PLACE_DAYS} WHERE 1 = 1 ON CONFLICT DO NOTHING"
            ))
            .await?;
        Ok(())
    }
}
