//! Data minimisation: positions recorded at check-in and check-out are kept for the configured
//! retention (90 days by default), then dropped by the upkeep. The verdict stays: who recorded
//! the attendance (`check_in_by`, `check_out_by`: the volunteer by GPS, or a leader) and when.
//!
//! `(positions_dropped_at, check_in_at)` is indexed: each batch reads the oldest attendances
//! still holding positions, never the ones already dropped. Batches of [`BATCH`], at most
//! [`BATCHES_PER_RUN`] per run, each its own short transaction through `Store::write`, each row
//! on condition that it still holds its positions (several nodes may run this at once).

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::Expr,
};

use super::Privacy;
use crate::entity::{attendances, incident_responders};
use crate::error::Result;

/// Attendances whose positions one transaction drops.
pub const BATCH: u64 = 500;
/// Batches one run takes at most; the rest wait for the next run.
pub const BATCHES_PER_RUN: u32 = 20;

/// Check-ins before this moment have their positions dropped; `None` when the retention reaches
/// before the beginning of time (nothing is that old).
pub fn retention_cutoff(
    now: DateTime<Utc>,
    retention: std::time::Duration,
) -> Option<DateTime<Utc>> {
    let retention = chrono::Duration::from_std(retention).ok()?;
    now.checked_sub_signed(retention)
}

impl Privacy {
    /// Drops the positions of attendances checked in longer ago than the retention; returns how
    /// many attendances it rewrote.
    pub async fn drop_old_positions(&self) -> Result<u64> {
        let Some(cutoff) = retention_cutoff(Utc::now(), self.settings.position_retention) else {
            return Ok(0);
        };
        let mut dropped = 0;
        for _ in 0..BATCHES_PER_RUN {
            let ids: Vec<i64> = attendances::Entity::find()
                .select_only()
                .column(attendances::Column::Id)
                .filter(attendances::Column::PositionsDroppedAt.is_null())
                .filter(attendances::Column::CheckInAt.lt(cutoff))
                .order_by_asc(attendances::Column::CheckInAt)
                .limit(BATCH)
                .into_tuple()
                .all(&self.store.db)
                .await?;
            if ids.is_empty() {
                break;
            }
            let full = ids.len() as u64 == BATCH;
            dropped += self.drop_positions_of(ids).await?;
            if !full {
                break;
            }
        }
        Ok(dropped)
    }

    async fn drop_positions_of(&self, ids: Vec<i64>) -> Result<u64> {
        use attendances::Column;
        let none = Option::<f64>::None;
        let txn = self.store.write().await?;
        let done = attendances::Entity::update_many()
            .col_expr(Column::CheckInLat, Expr::value(none))
            .col_expr(Column::CheckInLng, Expr::value(none))
            .col_expr(Column::CheckInAccuracyM, Expr::value(none))
            .col_expr(Column::CheckOutLat, Expr::value(none))
            .col_expr(Column::CheckOutLng, Expr::value(none))
            .col_expr(Column::CheckOutAccuracyM, Expr::value(none))
            .col_expr(Column::PositionsDroppedAt, Expr::value(Utc::now()))
            .filter(Column::Id.is_in(ids))
            .filter(Column::PositionsDroppedAt.is_null())
            .exec(&*txn)
            .await?;
        txn.commit().await?;
        Ok(done.rows_affected)
    }
}

/// Whose last positions as a quick-response responder are cleared.
pub(crate) enum ResponderPositions {
    /// Everyone's in one incident (at its close).
    OfIncident(i64),
    /// One volunteer's, everywhere (erasure).
    OfVolunteer(i64),
    /// Everyone's older than this (the 24 h retention).
    OlderThan(DateTime<Utc>),
}

/// Clears responders' last positions (`docs/quick-response.md`); the verdicts stay. How many.
pub(crate) async fn clear_responder_positions(
    conn: &impl ConnectionTrait,
    scope: ResponderPositions,
) -> Result<u64> {
    use incident_responders::Column;
    let update = incident_responders::Entity::update_many()
        .col_expr(Column::LastLat, Expr::value(Option::<f64>::None))
        .col_expr(Column::LastLng, Expr::value(Option::<f64>::None))
        .col_expr(
            Column::LastPositionAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(Column::LastPositionAt.is_not_null());
    let update = match scope {
        ResponderPositions::OfIncident(id) => update.filter(Column::IncidentId.eq(id)),
        ResponderPositions::OfVolunteer(id) => update.filter(Column::VolunteerId.eq(id)),
        ResponderPositions::OlderThan(at) => update.filter(Column::LastPositionAt.lt(at)),
    };
    Ok(update.exec(conn).await?.rows_affected)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use chrono::TimeZone as _;

    use super::*;

    #[test]
    fn the_cutoff_is_the_retention_before_now_and_never_overflows() {
        let now = Utc.with_ymd_and_hms(2026, 11, 30, 12, 0, 0).unwrap();
        assert_eq!(
            retention_cutoff(now, Duration::from_secs(90 * 86_400)),
            Some(Utc.with_ymd_and_hms(2026, 9, 1, 12, 0, 0).unwrap())
        );
        assert_eq!(retention_cutoff(now, Duration::from_secs(u64::MAX)), None);
    }
}
