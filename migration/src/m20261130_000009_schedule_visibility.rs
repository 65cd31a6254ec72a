//! Patrol schedules remember who may see them, like their events do: a TEAM schedule (meeting
//! point, days and times) is for those who see the team's TEAM events. Existing schedules take
//! the visibility of their events: PUBLIC when any of them is public, TEAM otherwise.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261130_000009_schedule_visibility"
    }
}

#[derive(DeriveIden)]
enum PatrolSchedules {
    Table,
    Visibility,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(PatrolSchedules::Table)
                    .add_column(
                        ColumnDef::new(PatrolSchedules::Visibility)
                            .string_len(20)
                            .not_null()
                            .default("TEAM"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE patrol_schedules SET visibility = 'PUBLIC' WHERE EXISTS \
                 (SELECT 1 FROM events WHERE events.schedule_id = patrol_schedules.id \
                 AND events.visibility = 'PUBLIC')",
            )
            .await?;
        Ok(())
    }
}
