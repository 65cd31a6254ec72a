use sea_orm::entity::prelude::*;

/// A volunteer's declared duty (`goOnDuty`): on duty until `until`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "duty_shifts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub volunteer_id: i64,
    pub started_at: DateTimeUtc,
    pub until: DateTimeUtc,
    pub alerts_muted: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
