//! The volunteer flow: teams and memberships, events and patrol schedules, sign-ups with
//! waitlists, attendance, service records and notifications.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

use crate::m20261128_000001_foundation::Areas;
use crate::util::{fk, index};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261128_000002_volunteer_flow"
    }
}

#[derive(DeriveIden)]
enum Volunteers {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Teams {
    Table,
    Id,
    Name,
    Kind,
    AreaId,
    JoinPolicy,
    ParentTeamId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Memberships {
    Table,
    Id,
    TeamId,
    VolunteerId,
    Role,
    Status,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum PatrolSchedules {
    Table,
    Id,
    TeamId,
    Title,
    Weekdays,
    StartTime,
    DurationMinutes,
    FromDate,
    UntilDate,
    Capacity,
    Address,
    Lat,
    Lng,
    RadiusM,
    Status,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Events {
    Table,
    Id,
    TeamId,
    AreaId,
    ScheduleId,
    Kind,
    Title,
    Description,
    StartsAt,
    EndsAt,
    Capacity,
    ConfirmedCount,
    Address,
    Lat,
    Lng,
    RadiusM,
    Visibility,
    Status,
    SignUpClosesAt,
    CancelReason,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum SignUps {
    Table,
    Id,
    EventId,
    VolunteerId,
    Status,
    StartsAt,
    EndsAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Attendances {
    Table,
    Id,
    SignUpId,
    EventId,
    VolunteerId,
    CheckInAt,
    CheckInLat,
    CheckInLng,
    CheckInAccuracyM,
    CheckInBy,
    CheckOutAt,
    CheckOutLat,
    CheckOutLng,
    CheckOutAccuracyM,
    CheckOutBy,
    AutoClosed,
}

#[derive(DeriveIden)]
enum ServiceRecords {
    Table,
    Id,
    VolunteerId,
    TeamId,
    EventId,
    AttendanceId,
    Minutes,
    ServiceDate,
    Status,
    Note,
    NeedsReview,
    ReviewerId,
    ReviewedAt,
    Reason,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Notifications {
    Table,
    Id,
    VolunteerId,
    Kind,
    EventId,
    SignUpId,
    Message,
    CreatedAt,
    ReadAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Teams::Table)
                    .col(big_pk_auto(Teams::Id))
                    .col(string_len(Teams::Name, 80))
                    .col(string_len(Teams::Kind, 20))
                    .col(big_integer(Teams::AreaId))
                    .col(string_len(Teams::JoinPolicy, 10))
                    .col(big_integer_null(Teams::ParentTeamId))
                    .col(timestamp_with_time_zone(Teams::CreatedAt))
                    .col(timestamp_with_time_zone(Teams::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_teams_area",
                        (Teams::Table, Teams::AreaId),
                        (Areas::Table, Areas::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_teams_parent",
                        (Teams::Table, Teams::ParentTeamId),
                        (Teams::Table, Teams::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_teams_area_kind",
                Teams::Table,
                &["area_id", "kind"],
            ))
            .await?;
        manager
            .create_index(index("ix_teams_parent", Teams::Table, &["parent_team_id"]))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Memberships::Table)
                    .col(big_pk_auto(Memberships::Id))
                    .col(big_integer(Memberships::TeamId))
                    .col(big_integer(Memberships::VolunteerId))
                    .col(string_len(Memberships::Role, 10))
                    .col(string_len(Memberships::Status, 10))
                    .col(timestamp_with_time_zone(Memberships::CreatedAt))
                    .col(timestamp_with_time_zone(Memberships::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_memberships_team",
                        (Memberships::Table, Memberships::TeamId),
                        (Teams::Table, Teams::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_memberships_volunteer",
                        (Memberships::Table, Memberships::VolunteerId),
                        (Volunteers::Table, Volunteers::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index(
                    "ux_memberships_team_volunteer",
                    Memberships::Table,
                    &["team_id", "volunteer_id"],
                )
                .unique()
                .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_memberships_volunteer",
                Memberships::Table,
                &["volunteer_id", "status"],
            ))
            .await?;
        manager
            .create_index(index(
                "ix_memberships_team_status_role",
                Memberships::Table,
                &["team_id", "status", "role"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(PatrolSchedules::Table)
                    .col(big_pk_auto(PatrolSchedules::Id))
                    .col(big_integer(PatrolSchedules::TeamId))
                    .col(string_len(PatrolSchedules::Title, 120))
                    .col(string_len(PatrolSchedules::Weekdays, 40))
                    .col(string_len(PatrolSchedules::StartTime, 5))
                    .col(integer(PatrolSchedules::DurationMinutes))
                    .col(date(PatrolSchedules::FromDate))
                    .col(date(PatrolSchedules::UntilDate))
                    .col(integer(PatrolSchedules::Capacity))
                    .col(string_len(PatrolSchedules::Address, 200))
                    .col(double(PatrolSchedules::Lat))
                    .col(double(PatrolSchedules::Lng))
                    .col(integer(PatrolSchedules::RadiusM))
                    .col(string_len(PatrolSchedules::Status, 10))
                    .col(big_integer(PatrolSchedules::CreatedBy))
                    .col(timestamp_with_time_zone(PatrolSchedules::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_patrol_schedules_team",
                        (PatrolSchedules::Table, PatrolSchedules::TeamId),
                        (Teams::Table, Teams::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_patrol_schedules_team",
                PatrolSchedules::Table,
                &["team_id"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Events::Table)
                    .col(big_pk_auto(Events::Id))
                    .col(big_integer(Events::TeamId))
                    .col(big_integer(Events::AreaId))
                    .col(big_integer_null(Events::ScheduleId))
                    .col(string_len(Events::Kind, 20))
                    .col(string_len(Events::Title, 120))
                    .col(text(Events::Description))
                    .col(timestamp_with_time_zone(Events::StartsAt))
                    .col(timestamp_with_time_zone(Events::EndsAt))
                    .col(integer(Events::Capacity))
                    .col(integer(Events::ConfirmedCount))
                    .col(string_len(Events::Address, 200))
                    .col(double(Events::Lat))
                    .col(double(Events::Lng))
                    .col(integer(Events::RadiusM))
                    .col(string_len(Events::Visibility, 10))
                    .col(string_len(Events::Status, 10))
                    .col(timestamp_with_time_zone_null(Events::SignUpClosesAt))
                    .col(string_len_null(Events::CancelReason, 500))
                    .col(big_integer(Events::CreatedBy))
                    .col(timestamp_with_time_zone(Events::CreatedAt))
                    .col(timestamp_with_time_zone(Events::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_events_team",
                        (Events::Table, Events::TeamId),
                        (Teams::Table, Teams::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_events_area",
                        (Events::Table, Events::AreaId),
                        (Areas::Table, Areas::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_events_schedule",
                        (Events::Table, Events::ScheduleId),
                        (PatrolSchedules::Table, PatrolSchedules::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_events_team_starts",
                Events::Table,
                &["team_id", "starts_at"],
            ))
            .await?;
        manager
            .create_index(index(
                "ix_events_area_starts",
                Events::Table,
                &["area_id", "starts_at"],
            ))
            .await?;
        manager
            .create_index(index(
                "ix_events_status_starts",
                Events::Table,
                &["status", "starts_at"],
            ))
            .await?;
        manager
            .create_index(index("ix_events_lat_lng", Events::Table, &["lat", "lng"]))
            .await?;
        manager
            .create_index(index(
                "ix_events_schedule_starts",
                Events::Table,
                &["schedule_id", "starts_at"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(SignUps::Table)
                    .col(big_pk_auto(SignUps::Id))
                    .col(big_integer(SignUps::EventId))
                    .col(big_integer(SignUps::VolunteerId))
                    .col(string_len(SignUps::Status, 12))
                    .col(timestamp_with_time_zone(SignUps::StartsAt))
                    .col(timestamp_with_time_zone(SignUps::EndsAt))
                    .col(timestamp_with_time_zone(SignUps::CreatedAt))
                    .col(timestamp_with_time_zone(SignUps::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_sign_ups_event",
                        (SignUps::Table, SignUps::EventId),
                        (Events::Table, Events::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_sign_ups_volunteer",
                        (SignUps::Table, SignUps::VolunteerId),
                        (Volunteers::Table, Volunteers::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_sign_ups_event_status",
                SignUps::Table,
                &["event_id", "status", "id"],
            ))
            .await?;
        manager
            .create_index(index(
                "ix_sign_ups_volunteer_starts",
                SignUps::Table,
                &["volunteer_id", "starts_at"],
            ))
            .await?;
        // Invariant 2: at most one active sign-up per volunteer and event. A partial unique index
        // (same syntax on PostgreSQL and SQLite) lets cancelled rows accumulate.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX ux_sign_ups_active ON sign_ups (event_id, volunteer_id) \
                 WHERE status IN ('CONFIRMED', 'WAITLISTED')",
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Attendances::Table)
                    .col(big_pk_auto(Attendances::Id))
                    .col(big_integer_uniq(Attendances::SignUpId))
                    .col(big_integer(Attendances::EventId))
                    .col(big_integer(Attendances::VolunteerId))
                    .col(timestamp_with_time_zone(Attendances::CheckInAt))
                    .col(double_null(Attendances::CheckInLat))
                    .col(double_null(Attendances::CheckInLng))
                    .col(double_null(Attendances::CheckInAccuracyM))
                    .col(big_integer(Attendances::CheckInBy))
                    .col(timestamp_with_time_zone_null(Attendances::CheckOutAt))
                    .col(double_null(Attendances::CheckOutLat))
                    .col(double_null(Attendances::CheckOutLng))
                    .col(double_null(Attendances::CheckOutAccuracyM))
                    .col(big_integer_null(Attendances::CheckOutBy))
                    .col(boolean(Attendances::AutoClosed))
                    .foreign_key(&mut fk(
                        "fk_attendances_sign_up",
                        (Attendances::Table, Attendances::SignUpId),
                        (SignUps::Table, SignUps::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_attendances_event",
                Attendances::Table,
                &["event_id"],
            ))
            .await?;
        manager
            .create_index(index(
                "ix_attendances_open",
                Attendances::Table,
                &["check_out_at", "event_id"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ServiceRecords::Table)
                    .col(big_pk_auto(ServiceRecords::Id))
                    .col(big_integer(ServiceRecords::VolunteerId))
                    .col(big_integer(ServiceRecords::TeamId))
                    .col(big_integer_null(ServiceRecords::EventId))
                    .col(big_integer_null(ServiceRecords::AttendanceId))
                    .col(integer(ServiceRecords::Minutes))
                    .col(date(ServiceRecords::ServiceDate))
                    .col(string_len(ServiceRecords::Status, 10))
                    .col(string_len_null(ServiceRecords::Note, 500))
                    .col(boolean(ServiceRecords::NeedsReview))
                    .col(big_integer_null(ServiceRecords::ReviewerId))
                    .col(timestamp_with_time_zone_null(ServiceRecords::ReviewedAt))
                    .col(string_len_null(ServiceRecords::Reason, 500))
                    .col(big_integer(ServiceRecords::CreatedBy))
                    .col(timestamp_with_time_zone(ServiceRecords::CreatedAt))
                    .col(timestamp_with_time_zone(ServiceRecords::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_service_records_volunteer",
                        (ServiceRecords::Table, ServiceRecords::VolunteerId),
                        (Volunteers::Table, Volunteers::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_service_records_team",
                        (ServiceRecords::Table, ServiceRecords::TeamId),
                        (Teams::Table, Teams::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_service_records_volunteer_date",
                ServiceRecords::Table,
                &["volunteer_id", "service_date"],
            ))
            .await?;
        manager
            .create_index(index(
                "ix_service_records_team_status",
                ServiceRecords::Table,
                &["team_id", "status", "id"],
            ))
            .await?;
        manager
            .create_index(
                index(
                    "ux_service_records_attendance",
                    ServiceRecords::Table,
                    &["attendance_id"],
                )
                .unique()
                .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Notifications::Table)
                    .col(big_pk_auto(Notifications::Id))
                    .col(big_integer(Notifications::VolunteerId))
                    .col(string_len(Notifications::Kind, 30))
                    .col(big_integer_null(Notifications::EventId))
                    .col(big_integer_null(Notifications::SignUpId))
                    .col(string_len(Notifications::Message, 500))
                    .col(timestamp_with_time_zone(Notifications::CreatedAt))
                    .col(timestamp_with_time_zone_null(Notifications::ReadAt))
                    .foreign_key(&mut fk(
                        "fk_notifications_volunteer",
                        (Notifications::Table, Notifications::VolunteerId),
                        (Volunteers::Table, Volunteers::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_notifications_volunteer",
                Notifications::Table,
                &["volunteer_id", "id"],
            ))
            .await?;
        Ok(())
    }
}
