use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "attendances")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub sign_up_id: i64,
    pub event_id: i64,
    pub volunteer_id: i64,
    pub check_in_at: DateTimeUtc,
    pub check_in_lat: Option<f64>,
    pub check_in_lng: Option<f64>,
    pub check_in_accuracy_m: Option<f64>,
    pub check_in_by: i64,
    pub check_out_at: Option<DateTimeUtc>,
    pub check_out_lat: Option<f64>,
    pub check_out_lng: Option<f64>,
    pub check_out_accuracy_m: Option<f64>,
    pub check_out_by: Option<i64>,
    pub auto_closed: bool,
    /// When the check-in report reached the server (null only for rows older than this column).
    pub check_in_received_at: Option<DateTimeUtc>,
    /// When the check-out report reached the server.
    pub check_out_received_at: Option<DateTimeUtc>,
    /// When the retention job dropped the positions (the verdict, `check_in_by`, stays).
    pub positions_dropped_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
