//! How far the background workers are behind, for the operators' metrics: the age of the oldest
//! row each outbox still holds, and how many statistics marks wait for their rollup. Each is one
//! cheap query on an index (the primary key, or `ix_sms_outbox_pending`), never a table scan.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait as _};
use sea_orm::{
    ColumnTrait as _, ConnectionTrait as _, DatabaseConnection, EntityTrait as _, QueryFilter as _,
    QueryOrder as _, QuerySelect as _, Statement,
};

use crate::entity::{leaderboard_outbox, push_outbox, sms_outbox};
use crate::error::{Error, Result};

/// Statistics marks counted at most: past this many the backlog reads as this many.
pub const MAX_COUNTED_MARKS: u64 = 10_000;

/// The workers' backlog at one moment. An age is zero when its outbox is empty.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backlog {
    /// Pushes not yet delivered (`push_outbox`): seconds since the oldest was written.
    pub push_seconds: f64,
    /// Text messages not yet settled (`sms_outbox`): seconds since the oldest was written.
    pub sms_seconds: f64,
    /// Tally changes not yet carried to the leaderboards (`leaderboard_outbox`).
    pub leaderboard_seconds: f64,
    /// Statistics marks waiting for their rollup (`stats_dirty`, which keeps no time), at most
    /// [`MAX_COUNTED_MARKS`].
    pub statistics_marks: u64,
}

fn internal(error: sea_orm::DbErr) -> Error {
    Error::Internal(format!("measuring the backlog: {error}"))
}

fn age(oldest: Option<DateTime<Utc>>, now: DateTime<Utc>) -> f64 {
    oldest.map_or(0.0, |oldest| {
        std::cmp::max((now - oldest).num_milliseconds(), 0) as f64 / 1000.0
    })
}

/// Measures every outbox's backlog.
pub async fn measure(db: &DatabaseConnection) -> Result<Backlog> {
    let now = Utc::now();
    let push =
        oldest::<push_outbox::Entity>(db, push_outbox::Column::Id, push_outbox::Column::CreatedAt)
            .await?;
    let leaderboard = oldest::<leaderboard_outbox::Entity>(
        db,
        leaderboard_outbox::Column::Id,
        leaderboard_outbox::Column::CreatedAt,
    )
    .await?;
    // Settled rows stay a while (with `done_at` set): only the pending ones count.
    let sms = sms_outbox::Entity::find()
        .select_only()
        .expr(Expr::col(sms_outbox::Column::CreatedAt).min())
        .filter(sms_outbox::Column::DoneAt.is_null())
        .into_tuple::<Option<DateTime<Utc>>>()
        .one(db)
        .await
        .map_err(internal)?
        .flatten();
    Ok(Backlog {
        push_seconds: age(push, now),
        sms_seconds: age(sms, now),
        leaderboard_seconds: age(leaderboard, now),
        statistics_marks: statistics_marks(db).await?,
    })
}

/// When the outbox's oldest row was written: rows are written in id order, so it is the row
/// with the lowest id, found on the primary key.
async fn oldest<E: sea_orm::EntityTrait>(
    db: &DatabaseConnection,
    id: E::Column,
    created_at: E::Column,
) -> Result<Option<DateTime<Utc>>> {
    E::find()
        .select_only()
        .column(created_at)
        .order_by_asc(id)
        .into_tuple::<DateTime<Utc>>()
        .one(db)
        .await
        .map_err(internal)
}

/// Marks waiting, counted up to [`MAX_COUNTED_MARKS`] (a plain count would read them all).
async fn statistics_marks(db: &DatabaseConnection) -> Result<u64> {
    let sql = format!(
        "SELECT COUNT(*) AS marks FROM (SELECT 1 FROM stats_dirty LIMIT {MAX_COUNTED_MARKS}) AS waiting"
    );
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .map_err(internal)?;
    let marks: i64 = match row {
        Some(row) => row.try_get("", "marks").map_err(internal)?,
        None => 0,
    };
    Ok(u64::try_from(marks).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;

    #[test]
    fn an_empty_outbox_is_no_lag_and_a_clock_behind_never_negative() {
        let now = Utc::now();
        assert_eq!(age(None, now), 0.0);
        assert_eq!(age(Some(now - TimeDelta::milliseconds(2_500)), now), 2.5);
        assert_eq!(age(Some(now + TimeDelta::seconds(3)), now), 0.0);
    }
}
