use sea_orm::entity::prelude::*;

/// Approved minutes of one subject in one period. Kinds: VOLUNTEER (all their minutes, with
/// their home area), TEAM (a team's, with its area and kind), MEMBER (a volunteer's in a team).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "tallies")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub kind: String,
    pub volunteer_id: i64,
    pub team_id: i64,
    pub area_id: i64,
    pub team_kind: String,
    pub period: String,
    pub period_key: String,
    pub minutes: i64,
    /// Bumped on every change, so a cache never takes an older value over a newer one.
    pub version: i64,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
