use sea_orm::entity::prelude::*;

/// Volunteers registered with a home area on a local day.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "stats_area_days")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub day: Date,
    pub week_key: String,
    pub month_key: String,
    pub area_id: i64,
    pub district_id: i64,
    pub town_id: i64,
    pub new_volunteers: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
