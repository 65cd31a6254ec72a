//! Issue 10: the admins' name search (`volunteers(filter: {nameContains})`) through an index.
//!
//! `volunteer_name_grams` holds every distinct one- and two-character piece of each volunteer's
//! display name, lower-cased, pieces holding a space left out — as `event_search_grams` does for
//! events. Its primary key `(gram, volunteer_id)` gives a gram's volunteers in id order (the
//! search's page order); `(volunteer_id)` serves rewriting one volunteer's grams. The domain
//! keeps it in step in every transaction that writes a display name (`accounts::lookup`); this
//! migration backfills it for the volunteers already there.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer, string_len};
use sea_orm_migration::sea_orm::ConnectionTrait;

use crate::util::{fk, grams_insert, index};

/// A display name's longest (`values::DisplayName` in the domain): the backfill numbers
/// characters up to it only.
const DISPLAY_NAME_MAX_CHARS: usize = 40;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261130_000014_volunteer_name_grams"
    }
}

#[derive(DeriveIden)]
enum Volunteers {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum VolunteerNameGrams {
    Table,
    Gram,
    VolunteerId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(VolunteerNameGrams::Table)
                    .col(string_len(VolunteerNameGrams::Gram, 8))
                    .col(big_integer(VolunteerNameGrams::VolunteerId))
                    .primary_key(
                        Index::create()
                            .col(VolunteerNameGrams::Gram)
                            .col(VolunteerNameGrams::VolunteerId),
                    )
                    .foreign_key(&mut fk(
                        "fk_volunteer_name_grams_volunteer",
                        (VolunteerNameGrams::Table, VolunteerNameGrams::VolunteerId),
                        (Volunteers::Table, Volunteers::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_volunteer_name_grams_volunteer",
                VolunteerNameGrams::Table,
                &["volunteer_id"],
            ))
            .await?;
        manager
            .get_connection()
            .execute_unprepared(&grams_insert(
                "volunteer_name_grams",
                "volunteer_id",
                DISPLAY_NAME_MAX_CHARS,
                "SELECT v.id, v.display_name AS body FROM volunteers v",
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(VolunteerNameGrams::Table).to_owned())
            .await
    }
}
