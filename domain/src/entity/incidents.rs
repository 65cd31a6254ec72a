use sea_orm::entity::prelude::*;

use crate::kinds::{IncidentKind, IncidentStatus};

/// An incident raised for quick response.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "incidents")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub area_id: i64,
    pub kind: IncidentKind,
    pub description: String,
    pub address: String,
    pub lat: f64,
    pub lng: f64,
    pub needed: i32,
    /// The team kinds asked for, comma-separated stored names; empty for anyone.
    pub team_kinds: String,
    pub raised_by: Option<i64>,
    pub external_ref: Option<String>,
    pub status: IncidentStatus,
    pub accepted: i32,
    pub ring: i32,
    pub next_ring_at: Option<DateTimeUtc>,
    pub raised_at: DateTimeUtc,
    pub first_accepted_at: Option<DateTimeUtc>,
    pub first_arrived_at: Option<DateTimeUtc>,
    pub staffed_ring: Option<i32>,
    pub closed_at: Option<DateTimeUtc>,
    pub closed_by: Option<i64>,
    pub outcome: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
