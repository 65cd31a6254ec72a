//! Upkeep of attendance, run by the background workers: check-ins left open are closed at the
//! event's end (their records flagged for review), and confirmed sign-ups nobody checked in on
//! are marked NO_SHOW. Each event on its own: one that fails is logged and set aside
//! (`workers`), the others go on.

use std::collections::HashMap;

use chrono::{Duration, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect, QueryTrait, sea_query::Expr};

use super::writes::{own_offline_check_in, restore_attended};
use super::{AUTO_CLOSE_AFTER, AttendanceService, ReviewCauses, attended_status};
use crate::entity::{attendances, events, sign_ups};
use crate::error::Result;
use crate::ids::EventId;
use crate::kinds::{EventStatus, SignUpStatus};
use crate::stats;
use crate::workers;

/// `NOT EXISTS` an attendance of the sign-up: an anti-join on the unique `sign_up_id` index
/// (PostgreSQL rescans a `NOT IN` subquery per row).
fn no_check_in() -> sea_orm::sea_query::SimpleExpr {
    let checked_in = attendances::Entity::find()
        .select_only()
        .expr(Expr::value(1))
        .filter(sea_orm::sea_query::ExprTrait::equals(
            Expr::col((attendances::Entity, attendances::Column::SignUpId)),
            (sign_ups::Entity, sign_ups::Column::Id),
        ))
        .into_query();
    sea_orm::sea_query::ExprTrait::not(Expr::exists(checked_in))
}

impl AttendanceService {
    /// Closes check-ins left open on events that ended more than two hours ago, at the event's
    /// end, flagging their records for review. Returns how many it closed. Each event on its
    /// own: one that fails is logged and set aside (`workers`), the others are closed.
    pub async fn close_stale(&self) -> Result<u64> {
        let cutoff = Utc::now() - AUTO_CLOSE_AFTER;
        let with_open_check_ins = attendances::Entity::find()
            .select_only()
            .column(attendances::Column::EventId)
            .filter(attendances::Column::CheckOutAt.is_null())
            .into_query();
        let stale_events = events::Entity::find()
            .filter(events::Column::EndsAt.lt(cutoff))
            .filter(events::Column::Id.in_subquery(with_open_check_ins))
            .filter(events::Column::Id.is_not_in(self.stale_set_aside.waiting()))
            .limit(200)
            .all(&self.deps.store.db)
            .await?;
        let mut closed = 0;
        for event in stale_events {
            let id = event.id;
            match workers::isolated(self.close_stale_of(event)).await {
                Ok(count) => {
                    self.stale_set_aside.succeeded(&id);
                    closed += count;
                }
                Err(error) if workers::is_outage(&error) => return Err(error),
                Err(error) => {
                    let attempts = self.stale_set_aside.failed(id);
                    tracing::warn!(event = id, attempts, %error, "closing stale check-ins failed; set aside");
                }
            }
        }
        Ok(closed)
    }

    async fn close_stale_of(&self, event: events::Model) -> Result<u64> {
        let mut closed = 0;
        let txn = self.deps.store.write().await?;
        let stale = attendances::Entity::find()
            .filter(attendances::Column::EventId.eq(event.id))
            .filter(attendances::Column::CheckOutAt.is_null())
            .all(&*txn)
            .await?;
        for attendance in stale {
            // The sign-up before its attendance, the order check-out takes them in.
            restore_attended(&*txn, attendance.sign_up_id).await?;
            let updated = attendances::Entity::update_many()
                .col_expr(attendances::Column::CheckOutAt, Expr::value(event.ends_at))
                .col_expr(attendances::Column::AutoClosed, Expr::value(true))
                .filter(attendances::Column::Id.eq(attendance.id))
                .filter(attendances::Column::CheckOutAt.is_null())
                .exec(&*txn)
                .await?;
            // A cancelled event or sign-up earns no minutes, but its check-in is still closed.
            let sign_up = sign_ups::Entity::find_by_id(attendance.sign_up_id)
                .one(&*txn)
                .await?;
            let counts = event.status != EventStatus::Cancelled
                && sign_up.is_some_and(|s| attended_status(s.status));
            if updated.rows_affected == 1 {
                if counts {
                    let causes = ReviewCauses {
                        offline_check_in: own_offline_check_in(&attendance),
                        offline_check_out: None,
                        auto_closed: true,
                    };
                    self.credit(&*txn, &attendance, &event, event.ends_at, causes, None)
                        .await?;
                }
                closed += 1;
            }
        }
        txn.commit().await?;
        Ok(closed)
    }

    /// Marks CONFIRMED sign-ups of events over for more than two hours, with no check-in, as
    /// NO_SHOW (after `close_stale`, so nobody who checked in is marked). Returns how many. Each
    /// event on its own, as in `close_stale`.
    pub async fn mark_no_shows(&self) -> Result<u64> {
        let cutoff = Utc::now() - AUTO_CLOSE_AFTER;
        // NOT EXISTS (an anti-join on the unique sign_up_id index), not NOT IN: PostgreSQL
        // rescans a NOT IN subquery per candidate row.
        let missing = sign_ups::Entity::find()
            .filter(sign_ups::Column::Status.eq(SignUpStatus::Confirmed))
            .filter(sign_ups::Column::EndsAt.lt(cutoff))
            // Only the last week: older events were settled by earlier runs.
            .filter(sign_ups::Column::EndsAt.gt(cutoff - Duration::days(7)))
            .filter(sign_ups::Column::EventId.is_not_in(self.no_shows_set_aside.waiting()))
            .filter(no_check_in())
            .limit(500)
            .all(&self.deps.store.db)
            .await?;
        let mut by_event: HashMap<i64, Vec<i64>> = HashMap::new();
        for sign_up in missing {
            by_event
                .entry(sign_up.event_id)
                .or_default()
                .push(sign_up.id);
        }
        let mut marked = 0;
        for (event_id, ids) in by_event {
            match workers::isolated(self.mark_no_shows_of(event_id, ids)).await {
                Ok(count) => {
                    self.no_shows_set_aside.succeeded(&event_id);
                    marked += count;
                }
                Err(error) if workers::is_outage(&error) => return Err(error),
                Err(error) => {
                    let attempts = self.no_shows_set_aside.failed(event_id);
                    tracing::warn!(event = event_id, attempts, %error, "marking no-shows failed; set aside");
                }
            }
        }
        Ok(marked)
    }

    async fn mark_no_shows_of(&self, event_id: i64, ids: Vec<i64>) -> Result<u64> {
        let txn = self.deps.store.write().await?;
        let event = self.events.find(&*txn, EventId(event_id)).await?;
        let updated = sign_ups::Entity::update_many()
            .col_expr(sign_ups::Column::Status, Expr::value(SignUpStatus::NoShow))
            .col_expr(sign_ups::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(sign_ups::Column::Id.is_in(ids))
            .filter(sign_ups::Column::Status.eq(SignUpStatus::Confirmed))
            // Re-checked here: a check-in may have landed since the candidates were read.
            .filter(no_check_in())
            .exec(&*txn)
            .await?;
        stats::mark_team_day(&txn, self.deps.timezone, event.team_id, event.starts_at);
        txn.commit().await?;
        Ok(updated.rows_affected)
    }
}
