use sea_orm::entity::prelude::*;

/// One place (district, town), team kind and period (`DAY` 2026-05-03, `MONTH` 2026-05, `YEAR`
/// 2026): the rollup sums of its teams of that kind, and the ids of its active volunteers as a
/// serialized Roaring bitmap. Registrations (no team) have an empty team kind.
///
/// `span` says what the row covers: `PLACE`, the place's own teams; `DISTRICT`, every place of
/// `district_id` (town 0); `CITY`, every place (district and town 0). United rows also carry
/// team kind `*`: every kind and the registrations together.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "stats_place_periods")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub span: String,
    pub district_id: i64,
    pub town_id: i64,
    pub team_kind: String,
    pub period: String,
    pub period_key: String,
    pub events_held: i64,
    pub sign_ups: i64,
    pub attended: i64,
    pub no_shows: i64,
    pub approved_minutes: i64,
    pub new_volunteers: i64,
    pub volunteers: Vec<u8>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
