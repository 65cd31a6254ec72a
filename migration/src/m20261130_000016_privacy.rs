//! Issue 11, rights over one's own data (PIPL): which privacy policy a volunteer accepted and
//! when; when an account was erased (`deleteMyAccount` keeps the row, wiped, so approved minutes
//! stay in statistics and issued certificates still verify); and when the positions of an
//! attendance were dropped by the retention job (`(positions_dropped_at, check_in_at)` gives the
//! job the rows still holding positions, oldest first, without scanning the wiped ones).

use sea_orm_migration::prelude::*;

use crate::util::index;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261130_000016_privacy"
    }
}

#[derive(DeriveIden)]
enum Volunteers {
    Table,
    AcceptedPolicyVersion,
    AcceptedPolicyAt,
    DeletedAt,
}

#[derive(DeriveIden)]
enum Attendances {
    Table,
    PositionsDroppedAt,
}

fn add_column(table: impl IntoIden, column: ColumnDef) -> TableAlterStatement {
    Table::alter().table(table).add_column(column).to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let columns = [
            add_column(
                Volunteers::Table,
                ColumnDef::new(Volunteers::AcceptedPolicyVersion)
                    .string_len(64)
                    .null()
                    .to_owned(),
            ),
            add_column(
                Volunteers::Table,
                ColumnDef::new(Volunteers::AcceptedPolicyAt)
                    .timestamp_with_time_zone()
                    .null()
                    .to_owned(),
            ),
            add_column(
                Volunteers::Table,
                ColumnDef::new(Volunteers::DeletedAt)
                    .timestamp_with_time_zone()
                    .null()
                    .to_owned(),
            ),
            add_column(
                Attendances::Table,
                ColumnDef::new(Attendances::PositionsDroppedAt)
                    .timestamp_with_time_zone()
                    .null()
                    .to_owned(),
            ),
        ];
        for statement in columns {
            manager.alter_table(statement).await?;
        }
        manager
            .create_index(index(
                "idx_attendances_positions_kept",
                Attendances::Table,
                &["positions_dropped_at", "check_in_at"],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_attendances_positions_kept")
                    .table(Attendances::Table)
                    .to_owned(),
            )
            .await?;
        let drops = [
            (
                Attendances::Table.into_iden(),
                Attendances::PositionsDroppedAt.into_iden(),
            ),
            (
                Volunteers::Table.into_iden(),
                Volunteers::DeletedAt.into_iden(),
            ),
            (
                Volunteers::Table.into_iden(),
                Volunteers::AcceptedPolicyAt.into_iden(),
            ),
            (
                Volunteers::Table.into_iden(),
                Volunteers::AcceptedPolicyVersion.into_iden(),
            ),
        ];
        for (table, column) in drops {
            manager
                .alter_table(Table::alter().table(table).drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}
