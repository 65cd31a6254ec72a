use sea_orm::entity::prelude::*;

/// A (team or area, day) whose rollup must be recomputed; `generation` moves on every re-mark,
/// so a recompute that raced with a newer write does not clear it.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "stats_dirty")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub kind: String,
    pub ref_id: i64,
    pub day: Date,
    pub generation: i64,
    /// Failed attempts so far; the worker leaves the row alone until `retry_at`.
    pub attempts: i32,
    pub retry_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
