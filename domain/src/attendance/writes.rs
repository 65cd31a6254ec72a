//! The writes attendance is made of, shared by check-in and check-out, the leaders'
//! corrections and the upkeep: holding and restoring a sign-up, opening and closing an
//! attendance, and the audit entry of a leader's write.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, sea_query::Expr,
};

use super::Attendance;
use super::rules::offline_minutes;
use crate::actor::Actor;
use crate::audit::{self, AuditRecord};
use crate::entity::{attendances, events, sign_ups};
use crate::error::{Error, Result};
use crate::geo::Position;
use crate::ids::AreaId;
use crate::kinds::SignUpStatus;
use crate::store::WriteTxn;

/// Puts a checked-in sign-up marked NO_SHOW by that race back to CONFIRMED.
pub(super) async fn restore_attended(conn: &impl ConnectionTrait, sign_up: i64) -> Result<()> {
    sign_ups::Entity::update_many()
        .col_expr(
            sign_ups::Column::Status,
            Expr::value(SignUpStatus::Confirmed),
        )
        .filter(sign_ups::Column::Id.eq(sign_up))
        .filter(sign_ups::Column::Status.eq(SignUpStatus::NoShow))
        .exec(conn)
        .await?;
    Ok(())
}

/// Check-ins and check-outs a leader records for a member are audited like every leader write.
pub(super) async fn audit_by_leader(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    event: &events::Model,
    action: &str,
    before: Option<&Attendance>,
    after: &Attendance,
) -> Result<()> {
    audit::record(
        conn,
        AuditRecord {
            actor: Some(actor.volunteer),
            action,
            entity_type: "attendance",
            entity_id: after.id.0,
            area: Some(AreaId(event.area_id)),
            team_id: Some(event.team_id),
            before,
            after: Some(after),
        },
    )
    .await
}

/// Latitude, longitude and accuracy as stored, from a phone's report.
pub(super) fn coordinates(
    position: Option<(Position, Option<f64>)>,
) -> (Option<f64>, Option<f64>, Option<f64>) {
    match position {
        Some((position, accuracy)) => (Some(position.lat), Some(position.lng), accuracy),
        None => (None, None, None),
    }
}

/// Holds the sign-up while it is still confirmed (or the no-show an offline report revives,
/// which becomes confirmed): a cancellation landing meanwhile waits, then finds a check-in,
/// instead of leaving one behind on a cancelled sign-up.
pub(super) async fn hold_confirmed(
    conn: &impl ConnectionTrait,
    sign_up: i64,
    revives: bool,
) -> Result<()> {
    let holdable = if revives {
        vec![SignUpStatus::Confirmed, SignUpStatus::NoShow]
    } else {
        vec![SignUpStatus::Confirmed]
    };
    let held = sign_ups::Entity::update_many()
        .col_expr(
            sign_ups::Column::Status,
            Expr::value(sea_orm::ActiveEnum::to_value(&SignUpStatus::Confirmed)),
        )
        .filter(sign_ups::Column::Id.eq(sign_up))
        .filter(sign_ups::Column::Status.is_in(holdable))
        .exec(conn)
        .await?;
    if held.rows_affected != 1 {
        return Err(Error::conflict("only-confirmed-sign-up-can-check"));
    }
    Ok(())
}

/// How late the volunteer's own check-in arrived, in minutes, when it was made offline (a
/// leader's check-in by hand is the leader's word, not flagged).
pub(super) fn own_offline_check_in(attendance: &attendances::Model) -> Option<i64> {
    if attendance.check_in_by != attendance.volunteer_id {
        return None;
    }
    offline_minutes(attendance.check_in_at, attendance.check_in_received_at)
}

/// A new, open attendance of `sign_up` checked in at `at` by `actor`, reported at `received`.
pub(super) fn new_attendance(
    sign_up: &sign_ups::Model,
    actor: &Actor,
    at: DateTime<Utc>,
    received: DateTime<Utc>,
) -> attendances::ActiveModel {
    attendances::ActiveModel {
        sign_up_id: Set(sign_up.id),
        event_id: Set(sign_up.event_id),
        volunteer_id: Set(sign_up.volunteer_id),
        check_in_at: Set(at),
        check_in_lat: Set(None),
        check_in_lng: Set(None),
        check_in_accuracy_m: Set(None),
        check_in_by: Set(actor.volunteer.0),
        check_out_at: Set(None),
        check_out_lat: Set(None),
        check_out_lng: Set(None),
        check_out_accuracy_m: Set(None),
        check_out_by: Set(None),
        auto_closed: Set(false),
        check_in_received_at: Set(Some(received)),
        check_out_received_at: Set(None),
        ..Default::default()
    }
}

/// Closes an open attendance at `at` (on condition that it is still open), by `actor`, with the
/// phone's position if any, reported at `received`.
pub(super) async fn close(
    txn: &WriteTxn<'_>,
    actor: &Actor,
    attendance: i64,
    at: DateTime<Utc>,
    position: Option<(Position, Option<f64>)>,
    received: DateTime<Utc>,
) -> Result<()> {
    let (lat, lng, accuracy) = coordinates(position);
    let closed = attendances::Entity::update_many()
        .col_expr(attendances::Column::CheckOutAt, Expr::value(at))
        .col_expr(attendances::Column::CheckOutLat, Expr::value(lat))
        .col_expr(attendances::Column::CheckOutLng, Expr::value(lng))
        .col_expr(
            attendances::Column::CheckOutAccuracyM,
            Expr::value(accuracy),
        )
        .col_expr(
            attendances::Column::CheckOutBy,
            Expr::value(actor.volunteer.0),
        )
        .col_expr(
            attendances::Column::CheckOutReceivedAt,
            Expr::value(received),
        )
        .filter(attendances::Column::Id.eq(attendance))
        .filter(attendances::Column::CheckOutAt.is_null())
        .exec(&**txn)
        .await?;
    if closed.rows_affected != 1 {
        return Err(Error::conflict("already-checked-out"));
    }
    Ok(())
}
