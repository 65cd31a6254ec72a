use sea_orm::entity::prelude::*;

use crate::kinds::{ScheduleStatus, Visibility};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "patrol_schedules")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub team_id: i64,
    pub title: String,
    /// Comma-separated ISO weekday numbers, 1 = Monday.
    pub weekdays: String,
    /// Local `HH:MM` in the city's time zone.
    pub start_time: String,
    pub duration_minutes: i32,
    pub from_date: Date,
    pub until_date: Date,
    pub capacity: i32,
    pub address: String,
    pub lat: f64,
    pub lng: f64,
    pub radius_m: i32,
    pub status: ScheduleStatus,
    /// Who may see the schedule: as its events (TEAM or PUBLIC).
    pub visibility: Visibility,
    pub created_by: i64,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
