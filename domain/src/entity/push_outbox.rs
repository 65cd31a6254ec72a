use sea_orm::entity::prelude::*;

use crate::kinds::NotificationKind;

/// A notification still to be pushed to its volunteer's devices; written with the notification.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "push_outbox")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub volunteer_id: i64,
    pub kind: NotificationKind,
    pub message: String,
    pub created_at: DateTimeUtc,
    /// Failed attempts so far; the worker leaves the row alone until `retry_at`.
    pub attempts: i32,
    pub retry_at: Option<DateTimeUtc>,
    /// A node sending the row holds it until then; nobody else takes it meanwhile.
    pub claimed_until: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
