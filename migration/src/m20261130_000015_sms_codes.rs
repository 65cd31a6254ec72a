//! SMS one-time codes (issue 11, "Keeping an account"):
//!
//! - `sms_codes`: one row per code sent (or pretended sent, for a phone with no account): the
//!   code's HMAC only, its purpose, expiry, tries and when it was used.
//! - `sms_outbox`: the text to send, written in the same transaction as the code and drained
//!   after commit by a worker (claimed with a conditional update, retried with backoff). The code
//!   stays in a row only until it is sent or expires; then it is wiped.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_pk_auto, boolean, integer, string_len, string_len_null, timestamp_with_time_zone,
    timestamp_with_time_zone_null,
};

use crate::util::index;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261130_000015_sms_codes"
    }
}

#[derive(DeriveIden)]
enum SmsCodes {
    Table,
    Id,
    Phone,
    Purpose,
    CodeHash,
    Tries,
    CreatedAt,
    ExpiresAt,
    UsedAt,
}

#[derive(DeriveIden)]
enum SmsOutbox {
    Table,
    Id,
    Phone,
    Purpose,
    Code,
    Deliver,
    Attempts,
    RetryAt,
    ClaimedUntil,
    ExpiresAt,
    CreatedAt,
    DoneAt,
    Outcome,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SmsCodes::Table)
                    .col(big_pk_auto(SmsCodes::Id))
                    .col(string_len(SmsCodes::Phone, 20))
                    .col(string_len(SmsCodes::Purpose, 20))
                    .col(string_len(SmsCodes::CodeHash, 64))
                    .col(integer(SmsCodes::Tries).default(0))
                    .col(timestamp_with_time_zone(SmsCodes::CreatedAt))
                    .col(timestamp_with_time_zone(SmsCodes::ExpiresAt))
                    .col(timestamp_with_time_zone_null(SmsCodes::UsedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_sms_codes_phone_purpose",
                SmsCodes::Table,
                &["phone", "purpose", "id"],
            ))
            .await?;
        manager
            .create_index(index(
                "ix_sms_codes_expires",
                SmsCodes::Table,
                &["expires_at"],
            ))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SmsOutbox::Table)
                    .col(big_pk_auto(SmsOutbox::Id))
                    .col(string_len(SmsOutbox::Phone, 20))
                    .col(string_len(SmsOutbox::Purpose, 20))
                    .col(string_len_null(SmsOutbox::Code, 6))
                    .col(boolean(SmsOutbox::Deliver))
                    .col(integer(SmsOutbox::Attempts).default(0))
                    .col(timestamp_with_time_zone(SmsOutbox::RetryAt))
                    .col(timestamp_with_time_zone_null(SmsOutbox::ClaimedUntil))
                    .col(timestamp_with_time_zone(SmsOutbox::ExpiresAt))
                    .col(timestamp_with_time_zone(SmsOutbox::CreatedAt))
                    .col(timestamp_with_time_zone_null(SmsOutbox::DoneAt))
                    .col(string_len_null(SmsOutbox::Outcome, 20))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_sms_outbox_pending",
                SmsOutbox::Table,
                &["done_at", "retry_at"],
            ))
            .await
    }
}
