//! Service-hour certificates: a numbered, immutable snapshot of a volunteer's approved hours at
//! the moment it was issued, looked up by its public code.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::util::{fk, index};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261128_000005_certificates"
    }
}

#[derive(DeriveIden)]
enum Volunteers {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Certificates {
    Table,
    Id,
    Code,
    VolunteerId,
    HolderName,
    TotalMinutes,
    FirstServiceDate,
    LastServiceDate,
    ByTeam,
    IssuedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Certificates::Table)
                    .col(big_pk_auto(Certificates::Id))
                    // "FH-" and 17 Crockford base32 characters; room left for a longer format.
                    .col(string_len(Certificates::Code, 32))
                    .col(big_integer(Certificates::VolunteerId))
                    // The name as it stood at issue time: a certificate never changes afterwards.
                    .col(string_len(Certificates::HolderName, 80))
                    .col(big_integer(Certificates::TotalMinutes))
                    .col(date_null(Certificates::FirstServiceDate))
                    .col(date_null(Certificates::LastServiceDate))
                    // JSON lines `[{"team_id", "team_name", "minutes"}]`, frozen with the rest.
                    .col(text(Certificates::ByTeam))
                    .col(timestamp_with_time_zone(Certificates::IssuedAt))
                    .foreign_key(&mut fk(
                        "fk_certificates_volunteer",
                        (Certificates::Table, Certificates::VolunteerId),
                        (Volunteers::Table, Volunteers::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index("ux_certificates_code", Certificates::Table, &["code"])
                    .unique()
                    .to_owned(),
            )
            .await?;
        // The holder's latest certificate, compared on every request for a new one.
        manager
            .create_index(index(
                "ix_certificates_volunteer",
                Certificates::Table,
                &["volunteer_id", "id"],
            ))
            .await?;
        Ok(())
    }
}
