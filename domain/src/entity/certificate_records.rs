use sea_orm::entity::prelude::*;

/// One service record a certificate counted, with its approved minutes at issue time. A
/// certificate is revoked once any of its records is approved for fewer minutes (or not at all).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "certificate_records")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub certificate_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub service_record_id: i64,
    pub minutes: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
