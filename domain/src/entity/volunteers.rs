use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "volunteers")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub phone: String,
    pub password_hash: String,
    pub display_name: String,
    pub area_id: i64,
    pub real_name: Option<String>,
    pub national_id: Option<String>,
    pub show_on_leaderboards: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// The privacy policy version the volunteer last accepted, and when.
    pub accepted_policy_version: Option<String>,
    pub accepted_policy_at: Option<DateTimeUtc>,
    /// When the account was erased (`deleteMyAccount`): the row stays, wiped.
    pub deleted_at: Option<DateTimeUtc>,
    /// The language of the person's phone (`zh-CN`, `en`); pushes are written in it. None: the default.
    pub locale: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
