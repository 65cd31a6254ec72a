//! Seats and the waitlist. A seat is taken by a conditional update of the event's confirmed count
//! (never past capacity, and only while the event is published), and a freed seat passes to the
//! head of the waitlist inside the transaction that freed it, skipping whoever is confirmed on an
//! overlapping event meanwhile. Sign-ups, cancellations and event changes (a raised capacity) all
//! go through here.

use chrono::Utc;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, ExprTrait as _},
};

use crate::entity::{events, sign_ups};
use crate::error::Result;
use crate::ids::{EventId, SignUpId, VolunteerId};
use crate::kinds::{EventStatus, NotificationKind, SignUpStatus};
use crate::notifications::notify;
use crate::store::{WriteTxn, try_lock_volunteer};
use crate::text::Text;

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

/// The event's free seats (capacity less confirmed, never below 0); read under its lock.
pub(crate) async fn free_seats(conn: &impl ConnectionTrait, event: EventId) -> Result<i64> {
    let found: Option<(i32, i32)> = events::Entity::find_by_id(event.0)
        .select_only()
        .columns([events::Column::Capacity, events::Column::ConfirmedCount])
        .into_tuple()
        .one(conn)
        .await?;
    Ok(found.map_or(0, |(capacity, confirmed)| {
        std::cmp::max(i64::from(capacity - confirmed), 0)
    }))
}

/// Claims `count` seats at once for sign-ups the caller admitted under the event's lock (within
/// `free_seats`); refuses, changing nothing, if they are not all free.
pub(crate) async fn take_seats(
    conn: &impl ConnectionTrait,
    event: EventId,
    count: i64,
) -> Result<()> {
    if count == 0 {
        return Ok(());
    }
    let taken = events::Entity::update_many()
        .col_expr(
            events::Column::ConfirmedCount,
            Expr::col(events::Column::ConfirmedCount).add(count),
        )
        .filter(events::Column::Id.eq(event.0))
        .filter(events::Column::Status.eq(EventStatus::Published))
        .filter(
            Expr::col(events::Column::ConfirmedCount)
                .add(count)
                .lte(Expr::col(events::Column::Capacity)),
        )
        .exec(conn)
        .await?;
    if taken.rows_affected == 1 {
        Ok(())
    } else {
        Err(crate::error::Error::internal(
            "seats admitted were not free",
        ))
    }
}

/// Takes the event row's lock (`store::lock_event`) if the event is published: whether it was.
/// A sign-up takes it before its seat, so it holds even when the event is full.
pub(crate) async fn lock_published(conn: &impl ConnectionTrait, event: EventId) -> Result<bool> {
    let locked = events::Entity::update_many()
        .col_expr(
            events::Column::UpdatedAt,
            Expr::col(events::Column::UpdatedAt),
        )
        .filter(events::Column::Id.eq(event.0))
        .filter(events::Column::Status.eq(EventStatus::Published))
        .exec(conn)
        .await?;
    Ok(locked.rows_affected == 1)
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

/// Fills free seats from the waitlist, first in first out; each promoted volunteer is told.
/// Runs inside the transaction that freed the seats (a cancellation, a raised capacity), holding
/// the event's lock. Whoever is confirmed on an overlapping event meanwhile, or busy in another
/// write at this moment (`try_lock_volunteer`), is skipped and keeps their place in the queue.
pub(crate) async fn promote_waitlisted(
    txn: &WriteTxn<'_>,
    event: EventId,
) -> Result<Vec<SignUpId>> {
    let conn = &**txn;
    let mut promoted = Vec::new();
    let mut after = 0;
    loop {
        let queue = sign_ups::Entity::find()
            .filter(sign_ups::Column::EventId.eq(event.0))
            .filter(sign_ups::Column::Status.eq(SignUpStatus::Waitlisted))
            .filter(sign_ups::Column::Id.gt(after))
            .order_by_asc(sign_ups::Column::Id)
            .limit(QUEUE_PAGE)
            .all(conn)
            .await?;
        let Some(last) = queue.last() else { break };
        after = last.id;
        for head in queue {
            if !take_seat(conn, event).await? {
                return Ok(promoted);
            }
            if !may_confirm(conn, &head).await? || !confirm(conn, head.id).await? {
                // Skipped (or gone meanwhile): the seat goes to the next in the queue.
                release_seat(conn, event).await?;
                continue;
            }
            tell_promoted(txn, event, &head).await?;
            promoted.push(SignUpId(head.id));
        }
    }
    Ok(promoted)
}

/// How many waiting sign-ups a promotion reads at a time.
const QUEUE_PAGE: u64 = 50;

/// Whether a waiting volunteer may be confirmed now: not busy in another write (taking their
/// lock without waiting, see `WriteTxn`) and with no confirmed sign-up overlapping this event
/// (the rule a sign-up is held to).
async fn may_confirm(conn: &impl ConnectionTrait, head: &sign_ups::Model) -> Result<bool> {
    if !try_lock_volunteer(conn, VolunteerId(head.volunteer_id)).await? {
        return Ok(false);
    }
    let overlapping = sign_ups::Entity::find()
        .filter(sign_ups::Column::VolunteerId.eq(head.volunteer_id))
        .filter(sign_ups::Column::Status.eq(SignUpStatus::Confirmed))
        .filter(sign_ups::Column::EventId.ne(head.event_id))
        .filter(sign_ups::Column::StartsAt.lt(head.ends_at))
        .filter(sign_ups::Column::EndsAt.gt(head.starts_at))
        .one(conn)
        .await?;
    Ok(overlapping.is_none())
}

/// Moves a sign-up from the waitlist to CONFIRMED, on condition that it still waits.
async fn confirm(conn: &impl ConnectionTrait, sign_up: i64) -> Result<bool> {
    let moved = sign_ups::Entity::update_many()
        .col_expr(
            sign_ups::Column::Status,
            Expr::value(SignUpStatus::Confirmed),
        )
        .col_expr(sign_ups::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(sign_ups::Column::Id.eq(sign_up))
        .filter(sign_ups::Column::Status.eq(SignUpStatus::Waitlisted))
        .exec(conn)
        .await?;
    Ok(moved.rows_affected == 1)
}

async fn tell_promoted(txn: &WriteTxn<'_>, event: EventId, head: &sign_ups::Model) -> Result<()> {
    let title = events::Entity::find_by_id(event.0)
        .one(&**txn)
        .await?
        .map(|e| e.title)
        .unwrap_or_default();
    let message = Text::new("promoted-notice").arg("title", title);
    notify(
        txn,
        VolunteerId(head.volunteer_id),
        NotificationKind::Promoted,
        Some(event),
        Some(SignUpId(head.id)),
        message,
    )
    .await
}
