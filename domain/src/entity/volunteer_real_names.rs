use sea_orm::entity::prelude::*;

/// A volunteer's real name and resident ID number, sealed (`real_names::cipher`). Only the
/// blind index (unique: one account per number) and the masked number are readable without the
/// data key.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "volunteer_real_names")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub volunteer_id: i64,
    pub name_sealed: String,
    pub id_number_sealed: String,
    #[sea_orm(unique)]
    pub id_number_index: String,
    pub id_number_masked: String,
    pub set_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
