use sea_orm::entity::prelude::*;

/// A service-hour certificate: a snapshot of the holder's approved hours when it was issued.
/// Rows are only ever inserted, never changed, except `revoked_at`: set once, by the review that
/// withdrew hours the certificate counted (`certificate_records`).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "certificates")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub code: String,
    pub volunteer_id: i64,
    pub holder_name: String,
    pub total_minutes: i64,
    pub first_service_date: Option<Date>,
    pub last_service_date: Option<Date>,
    /// JSON lines `[{"team_id", "team_name", "minutes"}]`.
    pub by_team: String,
    pub issued_at: DateTimeUtc,
    pub revoked_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
