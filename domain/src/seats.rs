//! Seats and the waitlist. A seat is taken by a conditional update of the event's confirmed count
//! (never past capacity, and only while the event is published), and a freed seat passes to the
//! head of the waitlist inside the transaction that freed it. Sign-ups, cancellations and event
//! changes (a raised capacity) all go through here.

use chrono::Utc;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    sea_query::{Expr, ExprTrait as _},
};

use crate::entity::{events, sign_ups};
use crate::error::Result;
use crate::ids::{EventId, SignUpId, VolunteerId};
use crate::kinds::{EventStatus, NotificationKind, SignUpStatus};
use crate::notifications::notify;
use crate::store::WriteTxn;

/// Claims one seat if the event is published and not full. Locks the event row.
pub(crate) async fn take_seat(conn: &impl ConnectionTrait, event: EventId) -> Result<bool> {
    let taken = events::Entity::update_many()
        .col_expr(
            events::Column::ConfirmedCount,
            Expr::col(events::Column::ConfirmedCount).add(1),
        )
        .filter(events::Column::Id.eq(event.0))
        .filter(events::Column::Status.eq(EventStatus::Published))
        .filter(Expr::col(events::Column::ConfirmedCount).lt(Expr::col(events::Column::Capacity)))
        .exec(conn)
        .await?;
    Ok(taken.rows_affected == 1)
}

pub(crate) async fn release_seat(conn: &impl ConnectionTrait, event: EventId) -> Result<()> {
    events::Entity::update_many()
        .col_expr(
            events::Column::ConfirmedCount,
            Expr::col(events::Column::ConfirmedCount).sub(1),
        )
        .filter(events::Column::Id.eq(event.0))
        .filter(events::Column::ConfirmedCount.gt(0))
        .exec(conn)
        .await?;
    Ok(())
}

/// Fills free seats from the head of the waitlist, first in first out; each promoted volunteer is
/// told. Runs inside the transaction that freed the seats.
pub(crate) async fn promote_waitlisted(
    txn: &WriteTxn<'_>,
    event: EventId,
) -> Result<Vec<SignUpId>> {
    let conn = &**txn;
    let mut promoted = Vec::new();
    loop {
        let head = sign_ups::Entity::find()
            .filter(sign_ups::Column::EventId.eq(event.0))
            .filter(sign_ups::Column::Status.eq(SignUpStatus::Waitlisted))
            .order_by_asc(sign_ups::Column::Id)
            .one(conn)
            .await?;
        let Some(head) = head else { break };
        if !take_seat(conn, event).await? {
            break;
        }
        let moved = sign_ups::Entity::update_many()
            .col_expr(
                sign_ups::Column::Status,
                Expr::value(SignUpStatus::Confirmed),
            )
            .col_expr(sign_ups::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(sign_ups::Column::Id.eq(head.id))
            .filter(sign_ups::Column::Status.eq(SignUpStatus::Waitlisted))
            .exec(conn)
            .await?;
        if moved.rows_affected != 1 {
            // The head left the queue meanwhile: give the seat back and look again.
            release_seat(conn, event).await?;
            continue;
        }
        let title = events::Entity::find_by_id(event.0)
            .one(conn)
            .await?
            .map(|e| e.title)
            .unwrap_or_default();
        let message = format!("你已从候补转为正式报名「{title}」/ You have a seat at {title}");
        notify(
            txn,
            VolunteerId(head.volunteer_id),
            NotificationKind::Promoted,
            Some(event),
            Some(SignUpId(head.id)),
            message,
        )
        .await?;
        promoted.push(SignUpId(head.id));
    }
    Ok(promoted)
}
