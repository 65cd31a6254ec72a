use sea_orm::entity::prelude::*;

/// A tally change not yet carried to the leaderboard cache; written with the change itself.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "leaderboard_outbox")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub volunteer_id: i64,
    pub team_id: i64,
    pub service_date: Date,
    pub created_at: DateTimeUtc,
    /// Failed attempts so far; the worker leaves the row alone until `retry_at`.
    pub attempts: i32,
    pub retry_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
