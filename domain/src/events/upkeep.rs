//! Upkeep of events: a PUBLISHED event becomes COMPLETED once it has ended. Every node runs it;
//! the change is a conditional update (`WHERE status = 'PUBLISHED' AND ends_at <= now`), so each
//! event is completed exactly once however many nodes race for it, and subscribers hear of it
//! from the node that did.
//!
//! COMPLETED changes nothing about what may still be done after an event's end: check-out and
//! offline reports, reviews, hours and statistics treat it as PUBLISHED. Like any ended event it
//! can no longer be signed up for, cancelled or changed.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, sea_query::Expr};

use super::Events;
use crate::bus::Change;
use crate::entity::events;
use crate::error::Result;
use crate::ids::EventId;
use crate::kinds::EventStatus;

/// How many events one pass completes; the next pass (or the next node) takes the rest.
const BATCH: u64 = 200;

/// Whether an event in `status` ending at `ends_at` is due to become COMPLETED at `now`.
pub(crate) fn completes(status: EventStatus, ends_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    status == EventStatus::Published && ends_at <= now
}

impl Events {
    /// Marks PUBLISHED events that have ended as COMPLETED; returns how many this call did.
    pub async fn complete_ended(&self) -> Result<u64> {
        let now = Utc::now();
        // An index range on (status, ends_at).
        let due: Vec<(i64, EventStatus, DateTime<Utc>)> = events::Entity::find()
            .select_only()
            .column(events::Column::Id)
            .column(events::Column::Status)
            .column(events::Column::EndsAt)
            .filter(events::Column::Status.eq(EventStatus::Published))
            .filter(events::Column::EndsAt.lte(now))
            .order_by_asc(events::Column::EndsAt)
            .limit(BATCH)
            .into_tuple()
            .all(&self.deps.store.db)
            .await?;
        let due: Vec<i64> = due
            .into_iter()
            .filter(|(_, status, ends_at)| completes(*status, *ends_at, now))
            .map(|(id, _, _)| id)
            .collect();
        if due.is_empty() {
            return Ok(0);
        }
        let txn = self.deps.store.write().await?;
        let mut completed = 0;
        for id in due {
            let done = events::Entity::update_many()
                .col_expr(events::Column::Status, Expr::value(EventStatus::Completed))
                .col_expr(events::Column::UpdatedAt, Expr::value(now))
                .filter(events::Column::Id.eq(id))
                .filter(events::Column::Status.eq(EventStatus::Published))
                .filter(events::Column::EndsAt.lte(now))
                .exec(&*txn)
                .await?;
            if done.rows_affected == 1 {
                txn.changed(Change::Event(EventId(id)));
                txn.changed(Change::Feed);
                completed += 1;
            }
        }
        txn.commit().await?;
        Ok(completed)
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    #[test]
    fn only_a_published_event_that_has_ended_completes() {
        let now = Utc::now();
        assert!(completes(EventStatus::Published, now, now));
        assert!(completes(
            EventStatus::Published,
            now - Duration::hours(1),
            now
        ));
        assert!(!completes(
            EventStatus::Published,
            now + Duration::seconds(1),
            now
        ));
        for status in [
            EventStatus::Draft,
            EventStatus::Cancelled,
            EventStatus::Completed,
        ] {
            assert!(!completes(status, now - Duration::hours(1), now));
        }
    }
}
