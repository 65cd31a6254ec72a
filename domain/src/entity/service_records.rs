use sea_orm::entity::prelude::*;

use crate::kinds::RecordStatus;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "service_records")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub volunteer_id: i64,
    pub team_id: i64,
    pub event_id: Option<i64>,
    pub attendance_id: Option<i64>,
    pub minutes: i32,
    /// The local (city time zone) day the service was done.
    pub service_date: Date,
    pub status: RecordStatus,
    pub note: Option<String>,
    /// Set when the record came from an attendance closed automatically or reported offline.
    pub needs_review: bool,
    /// Why it needs review, shown to whoever reviews it.
    pub review_reason: Option<String>,
    pub reviewer_id: Option<i64>,
    pub reviewed_at: Option<DateTimeUtc>,
    pub reason: Option<String>,
    pub created_by: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
