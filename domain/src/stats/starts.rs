//! Held events are those started by now, so a team's day with events still ahead must be
//! recomputed as each begins. Recomputing a team's day leaves a `TEAMSTART` mark for it whose
//! `retry_at` is the next start of the day: the statistics worker leaves it alone until then,
//! recomputes the day (which now counts that event) and arms the start after.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::{Expr, ExprTrait as _, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use crate::entity::{events, stats_dirty};
use crate::error::Result;
use crate::kinds::EventStatus;

/// A team's day again when its next event there starts (at most 10 characters: the column).
pub(super) const TEAM_DAY_AT_START: &str = "TEAMSTART";

/// Leaves a mark that comes due when the team's next event of the day starts (after `now`), so
/// the day counts it as held from then on; none when no event of the day is still ahead. A
/// recompute re-arms it for the event after, so every start is seen once the worker reaches it.
/// `to` is the end of the local day.
pub(super) async fn arm_next_start(
    conn: &impl ConnectionTrait,
    team_id: i64,
    day: NaiveDate,
    to: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<()> {
    let next: Option<DateTime<Utc>> = events::Entity::find()
        .select_only()
        .column(events::Column::StartsAt)
        .filter(events::Column::TeamId.eq(team_id))
        .filter(events::Column::StartsAt.gt(now))
        .filter(events::Column::StartsAt.lt(to))
        .filter(events::Column::Status.is_in([EventStatus::Published, EventStatus::Completed]))
        .order_by_asc(events::Column::StartsAt)
        .into_tuple()
        .one(conn)
        .await?;
    let Some(next) = next else {
        return Ok(());
    };
    let mark = stats_dirty::ActiveModel {
        kind: Set(TEAM_DAY_AT_START.to_owned()),
        ref_id: Set(team_id),
        day: Set(day),
        generation: Set(1),
        attempts: Set(0),
        retry_at: Set(Some(next)),
        ..Default::default()
    };
    // Moving the generation keeps a recompute of this very mark from deleting it when done.
    let conflict = OnConflict::columns([
        stats_dirty::Column::Kind,
        stats_dirty::Column::RefId,
        stats_dirty::Column::Day,
    ])
    .value(stats_dirty::Column::RetryAt, Expr::value(next))
    .value(stats_dirty::Column::Attempts, Expr::value(0))
    .value(
        stats_dirty::Column::Generation,
        Expr::col((stats_dirty::Entity, stats_dirty::Column::Generation)).add(1),
    )
    .to_owned();
    stats_dirty::Entity::insert(mark)
        .on_conflict(conflict)
        .exec_without_returning(conn)
        .await?;
    Ok(())
}
