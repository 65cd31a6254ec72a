//! Response statistics for admins (`responseStats`): of the incidents raised in an area (and
//! below it) between two local dates, how many, how fast the first acceptance and the first
//! arrival came (median and 90th percentile), and the share staffed within each ring.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _, QuerySelect as _};

use super::Incidents;
use crate::actor::Actor;
use crate::dates;
use crate::entity::incidents;
use crate::error::{Error, Result};
use crate::ids::AreaId;
use crate::policy;

/// The longest span one answer covers.
pub const MAX_SPAN_DAYS: i64 = 731;

/// One incident's timings, as read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timing {
    pub raised_at: DateTime<Utc>,
    pub first_accepted_at: Option<DateTime<Utc>>,
    pub first_arrived_at: Option<DateTime<Utc>>,
    /// The ring (1-based) in which the last needed acceptance came, if it came.
    pub staffed_ring: Option<i32>,
}

/// An incident's timing columns, as read.
type TimingRow = (
    DateTime<Utc>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    Option<i32>,
);

/// What `responseStats` answers.
#[derive(Debug, Clone, PartialEq)]
pub struct ResponseStats {
    pub incidents: usize,
    pub staffed: usize,
    pub to_first_acceptance: Spread,
    pub to_first_arrival: Spread,
    /// For each ring (radius in metres): the share of all incidents staffed within it or an
    /// inner ring.
    pub staffed_within: Vec<(u32, f64)>,
}

/// Median and 90th percentile of some durations, in seconds; `None` without any.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Spread {
    pub median_s: Option<i64>,
    pub p90_s: Option<i64>,
}

/// The `q`-quantile by nearest rank of sorted values.
fn quantile(sorted: &[i64], q: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

fn spread(mut seconds: Vec<i64>) -> Spread {
    seconds.sort_unstable();
    Spread {
        median_s: quantile(&seconds, 0.5),
        p90_s: quantile(&seconds, 0.9),
    }
}

/// The statistics of `timings` for rings of `rings_m`.
pub fn summarise(timings: &[Timing], rings_m: &[u32]) -> ResponseStats {
    let after = |at: Option<DateTime<Utc>>, raised: DateTime<Utc>| {
        at.map(|at| (at - raised).num_seconds().max(0))
    };
    let total = timings.len();
    let staffed_within = rings_m
        .iter()
        .enumerate()
        .map(|(i, radius)| {
            let within = timings
                .iter()
                .filter(|t| {
                    t.staffed_ring
                        .is_some_and(|r| r >= 1 && r as usize <= i + 1)
                })
                .count();
            let share = if total == 0 {
                0.0
            } else {
                within as f64 / total as f64
            };
            (*radius, share)
        })
        .collect();
    ResponseStats {
        incidents: total,
        staffed: timings.iter().filter(|t| t.staffed_ring.is_some()).count(),
        to_first_acceptance: spread(
            timings
                .iter()
                .filter_map(|t| after(t.first_accepted_at, t.raised_at))
                .collect(),
        ),
        to_first_arrival: spread(
            timings
                .iter()
                .filter_map(|t| after(t.first_arrived_at, t.raised_at))
                .collect(),
        ),
        staffed_within,
    }
}

impl Incidents {
    /// Response statistics of `area` (and below) from `from` to `to` (local dates, both
    /// included, at most two years): admins of the area only.
    pub async fn response_stats(
        &self,
        actor: &Actor,
        area: AreaId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<ResponseStats> {
        policy::check_admin_of(actor, &self.deps.areas, area)?;
        dates::check_day(from, "from")?;
        dates::check_day(to, "to")?;
        if to < from {
            return Err(Error::invalid("to", "must-be-after-from"));
        }
        if (to - from).num_days() > MAX_SPAN_DAYS {
            return Err(Error::invalid("to", "must-be-within-two-years"));
        }
        let local = |day: NaiveDate| {
            day.and_hms_opt(0, 0, 0)
                .and_then(|start| start.and_local_timezone(self.deps.timezone).earliest())
                .map(|start| start.with_timezone(&Utc))
                .ok_or_else(|| Error::internal("a local midnight that does not exist"))
        };
        let next = to
            .succ_opt()
            .ok_or_else(|| Error::invalid("to", "must-be-after-from"))?;
        let (start, end) = (local(from)?, local(next)?);
        let areas: Vec<i64> = self.deps.areas.subtree(area).iter().map(|a| a.0).collect();
        let rows: Vec<TimingRow> = incidents::Entity::find()
            .select_only()
            .column(incidents::Column::RaisedAt)
            .column(incidents::Column::FirstAcceptedAt)
            .column(incidents::Column::FirstArrivedAt)
            .column(incidents::Column::StaffedRing)
            .filter(incidents::Column::AreaId.is_in(areas))
            .filter(incidents::Column::RaisedAt.gte(start))
            .filter(incidents::Column::RaisedAt.lt(end))
            .into_tuple()
            .all(&self.deps.store.db)
            .await?;
        let timings: Vec<Timing> = rows
            .into_iter()
            .map(
                |(raised_at, first_accepted_at, first_arrived_at, staffed_ring)| Timing {
                    raised_at,
                    first_accepted_at,
                    first_arrived_at,
                    staffed_ring,
                },
            )
            .collect();
        Ok(summarise(&timings, &self.settings.rings_m))
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone as _};

    use super::*;

    fn timing(accepted_s: Option<i64>, arrived_s: Option<i64>, ring: Option<i32>) -> Timing {
        let raised = Utc.with_ymd_and_hms(2026, 12, 1, 20, 0, 0).unwrap();
        Timing {
            raised_at: raised,
            first_accepted_at: accepted_s.map(|s| raised + Duration::seconds(s)),
            first_arrived_at: arrived_s.map(|s| raised + Duration::seconds(s)),
            staffed_ring: ring,
        }
    }

    #[test]
    fn medians_percentiles_and_ring_shares_come_from_the_incidents_that_have_them() {
        let timings = [
            timing(Some(20), Some(200), Some(1)),
            timing(Some(40), Some(300), Some(2)),
            timing(Some(60), None, Some(2)),
            timing(None, None, None),
        ];
        let stats = summarise(&timings, &[250, 750, 1250]);
        assert_eq!((stats.incidents, stats.staffed), (4, 3));
        assert_eq!(
            stats.to_first_acceptance,
            Spread {
                median_s: Some(40),
                p90_s: Some(60)
            }
        );
        assert_eq!(
            stats.to_first_arrival,
            Spread {
                median_s: Some(200),
                p90_s: Some(300)
            }
        );
        assert_eq!(
            stats.staffed_within,
            vec![(250, 0.25), (750, 0.75), (1250, 0.75)]
        );
    }

    #[test]
    fn no_incidents_give_no_timings_and_zero_shares() {
        let stats = summarise(&[], &[250]);
        assert_eq!(stats.incidents, 0);
        assert_eq!(stats.to_first_acceptance, Spread::default());
        assert_eq!(stats.staffed_within, vec![(250, 0.0)]);
    }
}
