use sea_orm::entity::prelude::*;

/// A text message waiting to be sent; written with its code, drained after commit.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "sms_outbox")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub phone: String,
    pub purpose: String,
    /// The code in the clear until sent or expired, then wiped (`None`).
    pub code: Option<String>,
    /// False for a phone with no account: the row is written (the same work) but never sent.
    pub deliver: bool,
    pub attempts: i32,
    pub retry_at: DateTimeUtc,
    /// A node working on the row holds it until then.
    pub claimed_until: Option<DateTimeUtc>,
    pub expires_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
    pub done_at: Option<DateTimeUtc>,
    /// `sent`, `expired` or `skipped`.
    pub outcome: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
