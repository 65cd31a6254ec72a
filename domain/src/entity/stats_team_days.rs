use sea_orm::entity::prelude::*;

/// One team's activity on one local day: the rollup participation statistics read.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "stats_team_days")]
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
    pub team_kind: String,
    pub events_held: i32,
    pub sign_ups: i32,
    pub attended: i32,
    pub no_shows: i32,
    pub approved_minutes: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
