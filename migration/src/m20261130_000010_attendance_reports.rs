//! Attendance reports remember when they reached the server (a report arriving long after the
//! moment it states was made offline), and a service record says why it needs review.
//! Existing attendances are taken to have arrived when they happened; existing records flagged
//! for review were flagged because their attendance was closed automatically.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{string_len_null, timestamp_with_time_zone_null};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261130_000010_attendance_reports"
    }
}

#[derive(DeriveIden)]
enum Attendances {
    Table,
    CheckInReceivedAt,
    CheckOutReceivedAt,
}

#[derive(DeriveIden)]
enum ServiceRecords {
    Table,
    ReviewReason,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Attendances::Table)
                    .add_column(timestamp_with_time_zone_null(
                        Attendances::CheckInReceivedAt,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Attendances::Table)
                    .add_column(timestamp_with_time_zone_null(
                        Attendances::CheckOutReceivedAt,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(ServiceRecords::Table)
                    .add_column(string_len_null(ServiceRecords::ReviewReason, 500))
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        db.execute_unprepared(
            "UPDATE attendances SET check_in_received_at = check_in_at, \
             check_out_received_at = check_out_at",
        )
        .await?;
        db.execute_unprepared(
            "UPDATE service_records SET review_reason = \
             '无人签退，已在活动结束时自动签退 / Nobody checked out; closed automatically at the event''s end' \
             WHERE needs_review",
        )
        .await?;
        Ok(())
    }
}
