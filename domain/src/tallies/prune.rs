//! Which periods' tallies are kept. Every reader asks for all time or the current year, month or
//! ISO week (`Period::current_key`); the leaderboard store also keeps the previous period's sets,
//! so a reader whose clock is a moment behind at midnight still finds its board. Older periods'
//! tallies are read by nobody: reviews of old records no longer write them, and the upkeep
//! deletes those already written (in batches, each its own short statement). A tally that
//! exists still equals the sum of its APPROVED records (invariant 5): minutes are only ever
//! added to kept periods, and a pruned period is never kept again (keys only move forward).

use chrono::NaiveDate;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::{Period, Tallies};
use crate::entity::tallies;
use crate::error::Result;

/// Rows deleted per statement, and statements per upkeep run (a backlog of old periods, as
/// after an upgrade, drains over several runs instead of one long transaction).
const BATCH: u64 = 5_000;
const BATCHES_PER_RUN: usize = 20;

impl Period {
    /// The keys of this period that are kept on `today`: the current and the previous one
    /// (`all` for all time).
    pub fn kept_keys(self, today: NaiveDate) -> Vec<String> {
        let mut keys = vec![self.key(today)];
        keys.extend(self.previous_key(today));
        keys
    }

    /// Whether tallies of `key` are kept on `today` (see the module's description).
    pub fn is_kept(self, key: &str, today: NaiveDate) -> bool {
        self == Self::AllTime || self.kept_keys(today).iter().any(|kept| kept == key)
    }
}

impl Tallies {
    /// Deletes tallies of periods no longer kept; returns how many. Run by the upkeep.
    pub async fn prune_past_periods(&self) -> Result<u64> {
        let today = super::today(self.deps.timezone);
        let mut pruned = 0;
        for period in [Period::Year, Period::Month, Period::Week] {
            for _ in 0..BATCHES_PER_RUN {
                let ids: Vec<i64> = tallies::Entity::find()
                    .select_only()
                    .column(tallies::Column::Id)
                    .filter(tallies::Column::Period.eq(period.code()))
                    .filter(tallies::Column::PeriodKey.is_not_in(period.kept_keys(today)))
                    .order_by_asc(tallies::Column::Id)
                    .limit(BATCH)
                    .into_tuple()
                    .all(&self.deps.store.db)
                    .await?;
                if ids.is_empty() {
                    break;
                }
                let full = ids.len() as u64 == BATCH;
                pruned += tallies::Entity::delete_many()
                    .filter(tallies::Column::Id.is_in(ids))
                    .exec(&self.deps.store.db)
                    .await?
                    .rows_affected;
                if !full {
                    break;
                }
            }
        }
        Ok(pruned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn the_current_and_the_previous_period_are_kept_and_older_ones_are_not() {
        let today = day("2027-01-01"); // a Friday of ISO week 2026-W53
        assert!(Period::AllTime.is_kept("all", today));
        assert!(Period::Year.is_kept("2027", today));
        assert!(Period::Year.is_kept("2026", today));
        assert!(!Period::Year.is_kept("2025", today));
        assert!(Period::Month.is_kept("2027-01", today));
        assert!(Period::Month.is_kept("2026-12", today));
        assert!(!Period::Month.is_kept("2026-11", today));
        assert!(Period::Week.is_kept("2026-W53", today));
        assert!(Period::Week.is_kept("2026-W52", today));
        assert!(!Period::Week.is_kept("2026-W51", today));
        assert!(!Period::Week.is_kept("2027-W01", today));
    }

    #[test]
    fn kept_keys_are_what_readers_and_the_leaderboard_store_ask_for() {
        let today = day("2026-12-01");
        assert_eq!(Period::AllTime.kept_keys(today), ["all"]);
        assert_eq!(Period::Year.kept_keys(today), ["2026", "2025"]);
        assert_eq!(Period::Month.kept_keys(today), ["2026-12", "2026-11"]);
        assert_eq!(Period::Week.kept_keys(today), ["2026-W49", "2026-W48"]);
    }
}
