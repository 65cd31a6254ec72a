use sea_orm::entity::prelude::*;

/// A volunteer with approved service for a team on a local day (for exact distinct counts).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "stats_volunteer_days")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub day: Date,
    pub week_key: String,
    pub month_key: String,
    pub area_id: i64,
    pub district_id: i64,
    pub town_id: i64,
    pub team_id: i64,
    pub volunteer_id: i64,
    pub team_kind: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
