use sea_orm::entity::prelude::*;

use crate::kinds::SignUpStatus;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "sign_ups")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub event_id: i64,
    pub volunteer_id: i64,
    pub status: SignUpStatus,
    /// The event's times, copied for the overlap check and `mySignUps` ordering.
    pub starts_at: DateTimeUtc,
    pub ends_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
