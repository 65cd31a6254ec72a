//! The event feed's `totalCount` without counting the whole feed on every page.
//!
//! A feed's start range splits into whole hours — from the first hour boundary after its start
//! (after now, for the default list of events not yet ended) to the last one before its end — and
//! the edges. What those whole hours hold of the events everybody sees (published or cancelled
//! PUBLIC events; for an admin of the whole filtered area, every event) is counted once and kept on
//! the node, keyed by the hours, the filter and the feed's generation. The edges (at most an hour at
//! each end; for the default list also the events under way) and what only this viewer sees (their
//! teams' TEAM events and drafts, a smaller area they administer) are counted each time, each from
//! an index range that does not grow with the feed.
//!
//! Every transaction that creates an event or changes its start, place, visibility, status or kind
//! tells [`Change::Feed`] at commit; each node's generation moves on as the bus delivers it, so a
//! count kept before a change is not read after it: on the node that made it at once, on the others
//! as soon as Redis delivers it. Kept counts also lapse after [`KEPT_FOR`] whatever happens.
//!
//! Feeds filtered by team or by search text are counted exactly every time: a team's feed is small
//! and a search is not worth keeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use moka::future::Cache;
use sea_orm::{ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter};

use super::Events;
use super::list::{CheckedEventFilter, lists_only_unended};
use super::seen::Seen;
use crate::actor::Viewer;
use crate::bus::{Change, Listener};
use crate::entity::events;
use crate::error::{Error, Result};
use crate::ids::AreaId;
use crate::kinds::{EventKind, EventStatus};
use crate::policy;

/// How long a kept count may be used at most, changes or not.
pub const KEPT_FOR: Duration = Duration::from_secs(300);
const KEPT_COUNTS: u64 = 20_000;

/// Whole hours of a feed's start range: `from` inclusive, `until` exclusive; an open end is `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Hours {
    from: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
}

impl Hours {
    fn inside(&self) -> Condition {
        let mut inside = Condition::all();
        if let Some(from) = self.from {
            inside = inside.add(events::Column::StartsAt.gte(from));
        }
        if let Some(until) = self.until {
            inside = inside.add(events::Column::StartsAt.lt(until));
        }
        inside
    }

    /// The edges, or `None` when the hours cover the whole range.
    fn outside(&self) -> Option<Condition> {
        let mut outside = Condition::any();
        if let Some(from) = self.from {
            outside = outside.add(events::Column::StartsAt.lt(from));
        }
        if let Some(until) = self.until {
            outside = outside.add(events::Column::StartsAt.gte(until));
        }
        (self.from.is_some() || self.until.is_some()).then_some(outside)
    }
}

fn floor_hour(at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    at.duration_trunc(TimeDelta::hours(1)).ok()
}

fn ceil_hour(at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let floor = floor_hour(at)?;
    if floor == at {
        Some(at)
    } else {
        floor.checked_add_signed(TimeDelta::hours(1))
    }
}

/// The whole hours of a feed whose count may be kept: events starting from `starts_after` and
/// before `starts_before`, or, for the default list (`unended_at` = now), events starting after
/// the current hour (every one of them not yet ended). `None` when no whole hour lies inside.
pub(crate) fn kept_hours(
    starts_after: Option<DateTime<Utc>>,
    starts_before: Option<DateTime<Utc>>,
    unended_at: Option<DateTime<Utc>>,
) -> Option<Hours> {
    let mut from = match starts_after {
        Some(after) => Some(ceil_hour(after)?),
        None => None,
    };
    if let Some(now) = unended_at {
        let next = floor_hour(now)?.checked_add_signed(TimeDelta::hours(1))?;
        from = Some(from.map_or(next, |from| from.max(next)));
    }
    let until = match starts_before {
        Some(before) => Some(floor_hour(before)?),
        None => None,
    };
    match (from, until) {
        (Some(from), Some(until)) if until <= from => None,
        _ => Some(Hours { from, until }),
    }
}

/// What a kept count counted.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    generation: u64,
    hours: Hours,
    area: Option<AreaId>,
    kind: Option<EventKind>,
    status: Option<EventStatus>,
    /// Every event (an admin of the whole area), not only those everybody sees.
    every_event: bool,
}

/// Counts kept on this node, and the generation that changes move on.
#[derive(Clone)]
pub(crate) struct FeedCounts {
    kept: Cache<Key, u64>,
    generation: Arc<AtomicU64>,
}

impl FeedCounts {
    pub(crate) fn new() -> Self {
        Self {
            kept: Cache::builder()
                .max_capacity(KEPT_COUNTS)
                .time_to_live(KEPT_FOR)
                .build(),
            generation: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Moves the generation on when the bus delivers [`Change::Feed`]: register with
    /// `Bus::listen`.
    pub(crate) fn listener(&self) -> Listener {
        let generation = self.generation.clone();
        Arc::new(move |change| {
            if *change == Change::Feed {
                generation.fetch_add(1, Ordering::AcqRel);
            }
        })
    }

    fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }
}

impl Events {
    /// Moves this node's feed counts on as the bus delivers changes: register with `Bus::listen`.
    pub fn feed_listener(&self) -> Listener {
        self.feed_counts.listener()
    }

    /// How many events the feed holds for the viewer (`totalCount`); `condition` is the filter's
    /// full condition, visibility included.
    pub(super) async fn feed_count(
        &self,
        viewer: &Viewer,
        seen: &Seen,
        filter: &CheckedEventFilter,
        condition: &Condition,
    ) -> Result<u64> {
        let db = &self.deps.store.db;
        let CheckedEventFilter(f, search) = filter;
        let unended_at = lists_only_unended(f).then(Utc::now);
        let hours = kept_hours(f.starts_after, f.starts_before, unended_at);
        let (Some(hours), None, None) = (hours, f.team_id, search) else {
            return Ok(events::Entity::find()
                .filter(condition.clone())
                .count(db)
                .await?);
        };
        let every_event = viewer
            .actor()
            .is_some_and(|actor| policy::sees_every_event_in(actor, &self.deps.areas, f.area_id));
        let key = Key {
            generation: self.feed_counts.generation(),
            hours,
            area: f.area_id,
            kind: f.kind,
            status: f.status,
            every_event,
        };
        let kept = self.kept_count(key, filter).await?;
        let edges = match hours.outside() {
            Some(outside) => {
                events::Entity::find()
                    .filter(condition.clone())
                    .filter(outside)
                    .count(db)
                    .await?
            }
            None => 0,
        };
        let beyond_public = match seen.beyond_public() {
            Some(own) if !every_event => {
                events::Entity::find()
                    .filter(self.filter_condition(filter))
                    .filter(hours.inside())
                    .filter(own)
                    .count(db)
                    .await?
            }
            _ => 0,
        };
        Ok(kept + edges + beyond_public)
    }

    /// The kept count for `key`, counted now when this node has none; requests that miss at the
    /// same time share one count.
    async fn kept_count(&self, key: Key, filter: &CheckedEventFilter) -> Result<u64> {
        let mut condition = self.filter_condition(filter).add(key.hours.inside());
        if !key.every_event {
            condition = condition.add(Seen::public());
        }
        let count = events::Entity::find()
            .filter(condition)
            .count(&self.deps.store.db);
        self.feed_counts
            .kept
            .try_get_with(key, async { count.await.map_err(Error::from) })
            .await
            .map_err(|shared| (*shared).clone())
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;

    use super::*;

    fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, h, m, s).unwrap()
    }

    #[test]
    fn the_default_list_keeps_the_count_of_events_starting_after_the_current_hour() {
        let hours = kept_hours(None, None, Some(at(9, 53, 20))).unwrap();
        assert_eq!(hours.from, Some(at(10, 0, 0)));
        assert_eq!(hours.until, None);
    }

    #[test]
    fn a_start_range_keeps_its_whole_hours_and_counts_its_edges() {
        let hours = kept_hours(Some(at(9, 53, 20)), Some(at(17, 30, 0)), None).unwrap();
        assert_eq!(hours.from, Some(at(10, 0, 0)));
        assert_eq!(hours.until, Some(at(17, 0, 0)));
        assert!(hours.outside().is_some());
        let exact = kept_hours(Some(at(10, 0, 0)), None, None).unwrap();
        assert_eq!(exact.from, Some(at(10, 0, 0)));
    }

    #[test]
    fn a_range_within_one_hour_is_counted_whole_every_time() {
        assert_eq!(
            kept_hours(Some(at(9, 10, 0)), Some(at(9, 50, 0)), None),
            None
        );
        assert_eq!(
            kept_hours(Some(at(9, 10, 0)), Some(at(10, 50, 0)), None),
            None
        );
    }

    #[test]
    fn an_open_range_has_no_edges() {
        let hours = kept_hours(None, None, None).unwrap();
        assert_eq!(hours.outside().map(|_| ()), None);
    }

    #[test]
    fn a_count_kept_before_a_change_is_not_read_after_it() {
        let counts = FeedCounts::new();
        let before = counts.generation();
        (counts.listener())(&Change::Event(crate::ids::EventId(1)));
        assert_eq!(counts.generation(), before, "seats do not change the feed");
        (counts.listener())(&Change::Feed);
        assert_ne!(counts.generation(), before);
    }
}
