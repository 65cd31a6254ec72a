//! Issue 11's languages:
//!
//! - **`notifications.text_key` / `text_args`**: what a notification says, by its key in the
//!   message catalogue and its arguments (a JSON object), so it is read in the reader's language;
//!   `message` keeps the text in the default language (Simplified Chinese), for the export and for
//!   notifications written before this change (which have no key and read as written).
//! - **`volunteers.locale`**: the language the person's phone speaks (`zh-CN` or `en`, recorded
//!   when a device is registered); pushes are written in it. Null means the default.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{string_len_null, text_null};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261130_000019_texts_by_language"
    }
}

#[derive(DeriveIden)]
enum Notifications {
    Table,
    TextKey,
    TextArgs,
}

#[derive(DeriveIden)]
enum Volunteers {
    Table,
    Locale,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One change per statement: SQLite alters one column at a time.
        manager
            .alter_table(
                Table::alter()
                    .table(Notifications::Table)
                    .add_column(string_len_null(Notifications::TextKey, 80))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Notifications::Table)
                    .add_column(text_null(Notifications::TextArgs))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Volunteers::Table)
                    .add_column(string_len_null(Volunteers::Locale, 10))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Volunteers::Table)
                    .drop_column(Volunteers::Locale)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Notifications::Table)
                    .drop_column(Notifications::TextArgs)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Notifications::Table)
                    .drop_column(Notifications::TextKey)
                    .to_owned(),
            )
            .await
    }
}
