use sea_orm::entity::prelude::*;

use crate::kinds::NotificationKind;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "notifications")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub volunteer_id: i64,
    pub kind: NotificationKind,
    pub event_id: Option<i64>,
    pub sign_up_id: Option<i64>,
    pub message: String,
    pub text_key: Option<String>,
    pub text_args: Option<String>,
    pub created_at: DateTimeUtc,
    pub read_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
