//! Issue 11's reminders and push:
//!
//! - **`devices`**: a volunteer's phones and browsers (`registerDevice`). A token belongs to one
//!   account at a time (`ux_devices_token`): registering it again moves it.
//! - **`push_outbox`**: a notification still to be pushed to its volunteer's devices, written in
//!   the notification's own transaction and drained by the push worker. `claimed_until` is the
//!   lease a node takes on a row before sending it (a conditional update, so one node sends it);
//!   `attempts` and `retry_at` set a failing row aside, as the other outboxes do.
//! - **`reminders`**: one row per reminder created, keyed by the sign-up, the offset before the
//!   start and the start it was made for, so each is created once across nodes, and a moved event
//!   (a new start) gets fresh ones.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_integer, big_pk_auto, integer, string_len, timestamp_with_time_zone,
    timestamp_with_time_zone_null,
};

use crate::util::{fk, index};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261130_000018_devices_push_reminders"
    }
}

#[derive(DeriveIden)]
enum Volunteers {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Devices {
    Table,
    Id,
    VolunteerId,
    Platform,
    Token,
    RegisteredAt,
}

#[derive(DeriveIden)]
enum PushOutbox {
    Table,
    Id,
    VolunteerId,
    Kind,
    Message,
    CreatedAt,
    Attempts,
    RetryAt,
    ClaimedUntil,
}

#[derive(DeriveIden)]
enum Reminders {
    Table,
    SignUpId,
    OffsetSeconds,
    StartsAt,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Devices::Table)
                    .col(big_pk_auto(Devices::Id))
                    .col(big_integer(Devices::VolunteerId))
                    .col(string_len(Devices::Platform, 20))
                    .col(string_len(Devices::Token, 512))
                    .col(timestamp_with_time_zone(Devices::RegisteredAt))
                    .foreign_key(&mut fk(
                        "fk_devices_volunteer",
                        (Devices::Table, Devices::VolunteerId),
                        (Volunteers::Table, Volunteers::Id),
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                index("ux_devices_token", Devices::Table, &["token"])
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_devices_volunteer_registered",
                Devices::Table,
                &["volunteer_id", "registered_at"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(PushOutbox::Table)
                    .col(big_pk_auto(PushOutbox::Id))
                    .col(big_integer(PushOutbox::VolunteerId))
                    .col(string_len(PushOutbox::Kind, 20))
                    .col(string_len(PushOutbox::Message, 1000))
                    .col(timestamp_with_time_zone(PushOutbox::CreatedAt))
                    .col(integer(PushOutbox::Attempts).default(0))
                    .col(timestamp_with_time_zone_null(PushOutbox::RetryAt))
                    .col(timestamp_with_time_zone_null(PushOutbox::ClaimedUntil))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Reminders::Table)
                    .col(big_integer(Reminders::SignUpId))
                    .col(big_integer(Reminders::OffsetSeconds))
                    .col(timestamp_with_time_zone(Reminders::StartsAt))
                    .col(timestamp_with_time_zone(Reminders::CreatedAt))
                    .primary_key(
                        Index::create()
                            .col(Reminders::SignUpId)
                            .col(Reminders::OffsetSeconds)
                            .col(Reminders::StartsAt),
                    )
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
