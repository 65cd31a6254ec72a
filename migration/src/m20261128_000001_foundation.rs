//! The foundation: the area tree, volunteers, admin roles, refresh-token sessions, the audit log
//! and idempotency records.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::seed_areas;
use crate::util::{fk, index};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261128_000001_foundation"
    }
}

#[derive(DeriveIden)]
pub(crate) enum Areas {
    Table,
    Id,
    Code,
    Name,
    NameEn,
    Level,
    ParentId,
    Lat,
    Lng,
}

#[derive(DeriveIden)]
enum Volunteers {
    Table,
    Id,
    Phone,
    PasswordHash,
    DisplayName,
    AreaId,
    RealName,
    NationalId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum AdminRoles {
    Table,
    Id,
    VolunteerId,
    AreaId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum RefreshTokens {
    Table,
    Id,
    VolunteerId,
    FamilyId,
    TokenHash,
    CreatedAt,
    ExpiresAt,
    UsedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum AuditEntries {
    Table,
    Id,
    ActorId,
    Action,
    EntityType,
    EntityId,
    AreaId,
    TeamId,
    Before,
    After,
    CreatedAt,
}

#[derive(DeriveIden)]
enum IdempotencyRecords {
    Table,
    Id,
    VolunteerId,
    Key,
    Operation,
    RequestHash,
    Response,
    CreatedAt,
    ExpiresAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Areas::Table)
                    .col(big_pk_auto(Areas::Id))
                    .col(string_len_uniq(Areas::Code, 12))
                    .col(string_len(Areas::Name, 60))
                    .col(string_len(Areas::NameEn, 60))
                    .col(string_len(Areas::Level, 12))
                    .col(big_integer_null(Areas::ParentId))
                    .col(double(Areas::Lat))
                    .col(double(Areas::Lng))
                    .foreign_key(&mut fk(
                        "fk_areas_parent",
                        (Areas::Table, Areas::ParentId),
                        (Areas::Table, Areas::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("ix_areas_parent", Areas::Table, &["parent_id"]))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Volunteers::Table)
                    .col(big_pk_auto(Volunteers::Id))
                    .col(string_len_uniq(Volunteers::Phone, 16))
                    .col(string_len(Volunteers::PasswordHash, 200))
                    .col(string_len(Volunteers::DisplayName, 80))
                    .col(big_integer(Volunteers::AreaId))
                    .col(string_len_null(Volunteers::RealName, 80))
                    .col(string_len_null(Volunteers::NationalId, 40))
                    .col(timestamp_with_time_zone(Volunteers::CreatedAt))
                    .col(timestamp_with_time_zone(Volunteers::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_volunteers_area",
                        (Volunteers::Table, Volunteers::AreaId),
                        (Areas::Table, Areas::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("ix_volunteers_area", Volunteers::Table, &["area_id"]))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AdminRoles::Table)
                    .col(big_pk_auto(AdminRoles::Id))
                    .col(big_integer(AdminRoles::VolunteerId))
                    .col(big_integer(AdminRoles::AreaId))
                    .col(timestamp_with_time_zone(AdminRoles::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_admin_roles_volunteer",
                        (AdminRoles::Table, AdminRoles::VolunteerId),
                        (Volunteers::Table, Volunteers::Id),
                    ))
                    .foreign_key(&mut fk(
                        "fk_admin_roles_area",
                        (AdminRoles::Table, AdminRoles::AreaId),
                        (Areas::Table, Areas::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index(
                    "ux_admin_roles_volunteer_area",
                    AdminRoles::Table,
                    &["volunteer_id", "area_id"],
                )
                .unique()
                .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(RefreshTokens::Table)
                    .col(big_pk_auto(RefreshTokens::Id))
                    .col(big_integer(RefreshTokens::VolunteerId))
                    .col(string_len(RefreshTokens::FamilyId, 36))
                    .col(string_len_uniq(RefreshTokens::TokenHash, 64))
                    .col(timestamp_with_time_zone(RefreshTokens::CreatedAt))
                    .col(timestamp_with_time_zone(RefreshTokens::ExpiresAt))
                    .col(timestamp_with_time_zone_null(RefreshTokens::UsedAt))
                    .col(timestamp_with_time_zone_null(RefreshTokens::RevokedAt))
                    .foreign_key(&mut fk(
                        "fk_refresh_tokens_volunteer",
                        (RefreshTokens::Table, RefreshTokens::VolunteerId),
                        (Volunteers::Table, Volunteers::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_refresh_tokens_family",
                RefreshTokens::Table,
                &["family_id"],
            ))
            .await?;
        manager
            .create_index(index(
                "ix_refresh_tokens_volunteer",
                RefreshTokens::Table,
                &["volunteer_id"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AuditEntries::Table)
                    .col(big_pk_auto(AuditEntries::Id))
                    .col(big_integer_null(AuditEntries::ActorId))
                    .col(string_len(AuditEntries::Action, 60))
                    .col(string_len(AuditEntries::EntityType, 40))
                    .col(big_integer(AuditEntries::EntityId))
                    .col(big_integer_null(AuditEntries::AreaId))
                    .col(big_integer_null(AuditEntries::TeamId))
                    .col(text_null(AuditEntries::Before))
                    .col(text_null(AuditEntries::After))
                    .col(timestamp_with_time_zone(AuditEntries::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_audit_entries_actor",
                        (AuditEntries::Table, AuditEntries::ActorId),
                        (Volunteers::Table, Volunteers::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_audit_entries_area_time",
                AuditEntries::Table,
                &["area_id", "created_at"],
            ))
            .await?;
        manager
            .create_index(index(
                "ix_audit_entries_team_time",
                AuditEntries::Table,
                &["team_id", "created_at"],
            ))
            .await?;
        manager
            .create_index(index(
                "ix_audit_entries_entity",
                AuditEntries::Table,
                &["entity_type", "entity_id"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(IdempotencyRecords::Table)
                    .col(big_pk_auto(IdempotencyRecords::Id))
                    .col(big_integer(IdempotencyRecords::VolunteerId))
                    .col(string_len(IdempotencyRecords::Key, 100))
                    .col(string_len(IdempotencyRecords::Operation, 60))
                    .col(string_len(IdempotencyRecords::RequestHash, 64))
                    .col(text_null(IdempotencyRecords::Response))
                    .col(timestamp_with_time_zone(IdempotencyRecords::CreatedAt))
                    .col(timestamp_with_time_zone(IdempotencyRecords::ExpiresAt))
                    .foreign_key(&mut fk(
                        "fk_idempotency_records_volunteer",
                        (IdempotencyRecords::Table, IdempotencyRecords::VolunteerId),
                        (Volunteers::Table, Volunteers::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index(
                    "ux_idempotency_records_volunteer_key",
                    IdempotencyRecords::Table,
                    &["volunteer_id", "key"],
                )
                .unique()
                .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_idempotency_records_expires",
                IdempotencyRecords::Table,
                &["expires_at"],
            ))
            .await?;

        seed_areas::seed(manager).await
    }
}
