use sea_orm::entity::prelude::*;

use crate::kinds::ResponderAnswer;

/// A volunteer alerted for an incident, and what became of it.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "incident_responders")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub incident_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub volunteer_id: i64,
    /// The team their service record will be reviewed by, when they have one.
    pub team_id: Option<i64>,
    pub ring: i32,
    pub distance_m: i32,
    pub alerted_at: DateTimeUtc,
    pub answer: Option<ResponderAnswer>,
    pub answered_at: Option<DateTimeUtc>,
    pub arrived_at: Option<DateTimeUtc>,
    pub last_lat: Option<f64>,
    pub last_lng: Option<f64>,
    pub last_position_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
