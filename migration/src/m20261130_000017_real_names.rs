//! Real names and resident ID numbers (`setRealName`), sealed with AES-256-GCM under the data key
//! (`FEIHONG_DATA_KEY`). One row per volunteer, replaced when they set it again. What is readable
//! without the key: the blind index (HMAC-SHA256 of the number; unique, so one number belongs to
//! one account), the masked number (`4406**********123X`) and when it was set.
//!
//! The plaintext `volunteers.real_name` and `volunteers.national_id` of the foundation were never
//! written and stay NULL; nothing reads them.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::util::fk;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261130_000017_real_names"
    }
}

#[derive(DeriveIden)]
enum Volunteers {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum VolunteerRealNames {
    Table,
    VolunteerId,
    NameSealed,
    IdNumberSealed,
    IdNumberIndex,
    IdNumberMasked,
    SetAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(VolunteerRealNames::Table)
                    .col(big_integer(VolunteerRealNames::VolunteerId).primary_key())
                    .col(text(VolunteerRealNames::NameSealed))
                    .col(text(VolunteerRealNames::IdNumberSealed))
                    .col(string_len(VolunteerRealNames::IdNumberIndex, 64))
                    .col(string_len(VolunteerRealNames::IdNumberMasked, 18))
                    .col(timestamp_with_time_zone(VolunteerRealNames::SetAt))
                    .foreign_key(&mut fk(
                        "fk_volunteer_real_names_volunteer",
                        (VolunteerRealNames::Table, VolunteerRealNames::VolunteerId),
                        (Volunteers::Table, Volunteers::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        // One account per ID number, enforced by the database: two accounts racing with the same
        // number cannot both commit.
        manager
            .create_index(
                Index::create()
                    .name("ux_volunteer_real_names_index")
                    .table(VolunteerRealNames::Table)
                    .col(VolunteerRealNames::IdNumberIndex)
                    .unique()
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
