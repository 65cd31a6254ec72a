//! Issue 13's quick response:
//!
//! - **`duty_shifts`**: a volunteer's current declared duty (`goOnDuty` until `until`;
//!   `goOffDuty` ends it by setting `until` to the moment). One row per volunteer, rewritten by
//!   each new duty. `alerts_muted` keeps alerts away while on duty. Positions are not stored
//!   here: they live in the position index (Redis GEO or the node's grid) and expire there.
//! - **`incidents`**: one per incident raised (in the app or by the city's dispatch system,
//!   whose reference, `external_ref`, makes its calls idempotent). `accepted` counts acceptances
//!   and only rises while below `needed` (a conditional update: the exact-`needed` race);
//!   `ring` is how many rings have been opened and `next_ring_at` when the next one opens if the
//!   incident is still short of people.
//! - **`incident_responders`**: one row per volunteer alerted for an incident, with the ring and
//!   distance they were alerted at, their answer, their arrival, and (while the incident is
//!   open) their last position for the dispatcher, cleared when it closes and after 24 h.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_integer, big_integer_null, big_pk_auto, boolean, double, double_null, integer,
    integer_null, string_len, string_len_null, timestamp_with_time_zone,
    timestamp_with_time_zone_null,
};

use crate::util::{fk, index};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000024_quick_response"
    }
}

#[derive(DeriveIden)]
enum Volunteers {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Areas {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum DutyShifts {
    Table,
    VolunteerId,
    StartedAt,
    Until,
    AlertsMuted,
}

#[derive(DeriveIden)]
enum Incidents {
    Table,
    Id,
    AreaId,
    Kind,
    Description,
    Address,
    Lat,
    Lng,
    Needed,
    TeamKinds,
    RaisedBy,
    ExternalRef,
    Status,
    Accepted,
    Ring,
    NextRingAt,
    RaisedAt,
    FirstAcceptedAt,
    FirstArrivedAt,
    StaffedRing,
    ClosedAt,
    ClosedBy,
    Outcome,
}

#[derive(DeriveIden)]
enum IncidentResponders {
    Table,
    IncidentId,
    VolunteerId,
    TeamId,
    Ring,
    DistanceM,
    AlertedAt,
    Answer,
    AnsweredAt,
    ArrivedAt,
    LastLat,
    LastLng,
    LastPositionAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(DutyShifts::Table)
                    .col(big_integer(DutyShifts::VolunteerId).primary_key())
                    .col(timestamp_with_time_zone(DutyShifts::StartedAt))
                    .col(timestamp_with_time_zone(DutyShifts::Until))
                    .col(boolean(DutyShifts::AlertsMuted).default(false))
                    .foreign_key(&mut fk(
                        "fk_duty_shifts_volunteer",
                        (DutyShifts::Table, DutyShifts::VolunteerId),
                        (Volunteers::Table, Volunteers::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        create_incidents(manager).await?;
        create_responders(manager).await
    }
}

async fn create_incidents(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(Incidents::Table)
                .col(big_pk_auto(Incidents::Id))
                .col(big_integer(Incidents::AreaId))
                .col(string_len(Incidents::Kind, 20))
                .col(string_len(Incidents::Description, 1000))
                .col(string_len(Incidents::Address, 200))
                .col(double(Incidents::Lat))
                .col(double(Incidents::Lng))
                .col(integer(Incidents::Needed))
                .col(string_len(Incidents::TeamKinds, 200))
                .col(big_integer_null(Incidents::RaisedBy))
                .col(string_len_null(Incidents::ExternalRef, 100))
                .col(string_len(Incidents::Status, 20))
                .col(integer(Incidents::Accepted).default(0))
                .col(integer(Incidents::Ring).default(0))
                .col(timestamp_with_time_zone_null(Incidents::NextRingAt))
                .col(timestamp_with_time_zone(Incidents::RaisedAt))
                .col(timestamp_with_time_zone_null(Incidents::FirstAcceptedAt))
                .col(timestamp_with_time_zone_null(Incidents::FirstArrivedAt))
                .col(integer_null(Incidents::StaffedRing))
                .col(timestamp_with_time_zone_null(Incidents::ClosedAt))
                .col(big_integer_null(Incidents::ClosedBy))
                .col(string_len_null(Incidents::Outcome, 1000))
                .foreign_key(&mut fk(
                    "fk_incidents_area",
                    (Incidents::Table, Incidents::AreaId),
                    (Areas::Table, Areas::Id),
                ))
                .foreign_key(&mut fk(
                    "fk_incidents_raised_by",
                    (Incidents::Table, Incidents::RaisedBy),
                    (Volunteers::Table, Volunteers::Id),
                ))
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            index(
                "ux_incidents_external_ref",
                Incidents::Table,
                &["external_ref"],
            )
            .unique()
            .to_owned(),
        )
        .await?;
    manager
        .create_index(index(
            "ix_incidents_area_raised",
            Incidents::Table,
            &["area_id", "raised_at"],
        ))
        .await?;
    manager
        .create_index(index(
            "ix_incidents_status_next_ring",
            Incidents::Table,
            &["status", "next_ring_at"],
        ))
        .await
}

async fn create_responders(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(IncidentResponders::Table)
                .col(big_integer(IncidentResponders::IncidentId))
                .col(big_integer(IncidentResponders::VolunteerId))
                .col(big_integer_null(IncidentResponders::TeamId))
                .col(integer(IncidentResponders::Ring))
                .col(integer(IncidentResponders::DistanceM))
                .col(timestamp_with_time_zone(IncidentResponders::AlertedAt))
                .col(string_len_null(IncidentResponders::Answer, 20))
                .col(timestamp_with_time_zone_null(
                    IncidentResponders::AnsweredAt,
                ))
                .col(timestamp_with_time_zone_null(IncidentResponders::ArrivedAt))
                .col(double_null(IncidentResponders::LastLat))
                .col(double_null(IncidentResponders::LastLng))
                .col(timestamp_with_time_zone_null(
                    IncidentResponders::LastPositionAt,
                ))
                .primary_key(
                    Index::create()
                        .col(IncidentResponders::IncidentId)
                        .col(IncidentResponders::VolunteerId),
                )
                .foreign_key(&mut fk(
                    "fk_incident_responders_incident",
                    (IncidentResponders::Table, IncidentResponders::IncidentId),
                    (Incidents::Table, Incidents::Id),
                ))
                .foreign_key(&mut fk(
                    "fk_incident_responders_volunteer",
                    (IncidentResponders::Table, IncidentResponders::VolunteerId),
                    (Volunteers::Table, Volunteers::Id),
                ))
                .to_owned(),
        )
        .await?;
    manager
        .create_index(index(
            "ix_incident_responders_volunteer_alerted",
            IncidentResponders::Table,
            &["volunteer_id", "alerted_at"],
        ))
        .await
}
