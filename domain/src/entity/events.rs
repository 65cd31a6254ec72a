use sea_orm::entity::prelude::*;

use crate::kinds::{EventKind, EventStatus, Visibility};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub team_id: i64,
    /// The team's area, copied so area filters need no join.
    pub area_id: i64,
    pub schedule_id: Option<i64>,
    pub kind: EventKind,
    pub title: String,
    pub description: String,
    pub starts_at: DateTimeUtc,
    pub ends_at: DateTimeUtc,
    pub capacity: i32,
    /// CONFIRMED sign-ups; changed only by conditional updates (invariant 1).
    pub confirmed_count: i32,
    pub address: String,
    pub lat: f64,
    pub lng: f64,
    pub radius_m: i32,
    pub visibility: Visibility,
    pub status: EventStatus,
    pub sign_up_closes_at: Option<DateTimeUtc>,
    pub cancel_reason: Option<String>,
    pub created_by: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
