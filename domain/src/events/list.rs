//! Reading events: one by id, and filtered lists (by team, area subtree, kind, status, time, or
//! nearest first around a point), each showing only what the caller may see.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::search::{self, SearchText};
use super::{Event, Events};
use crate::actor::Viewer;
use crate::areas::AreaTree;
use crate::dates;
use crate::entity::events;
use crate::error::{Error, Result};
use crate::geo::Position;
use crate::ids::{AreaId, EventId, TeamId};
use crate::kinds::{EventKind, EventStatus};
use crate::page::{Cursor, Page, PageRequest};
use crate::policy;

/// Nearest-first searches look at most this far.
pub const MAX_NEAR_RADIUS_M: i32 = 50_000;

#[derive(Default)]
pub struct EventFilter {
    pub team_id: Option<TeamId>,
    pub area_id: Option<AreaId>,
    pub kind: Option<EventKind>,
    pub status: Option<EventStatus>,
    pub starts_after: Option<DateTime<Utc>>,
    pub starts_before: Option<DateTime<Utc>>,
    /// Centre and radius (metres): only events within it, nearest first.
    pub near: Option<(Position, i32)>,
    /// Text the title, description or address contains (`search::SearchText`).
    pub search: Option<String>,
}

/// An `EventFilter` whose values passed their checks (`EventFilter::check`).
pub struct CheckedEventFilter(pub(super) EventFilter, pub(super) Option<SearchText>);

/// No event lasts longer (`check_times`): an event that has not ended started at most this long
/// ago, which lets the default list read `ix_events_starts_feed` (migration 000021) from a week
/// before now, from the index alone.
const LONGEST_EVENT: chrono::Duration = chrono::Duration::days(7);

/// The default list (no date filter, and not asking for COMPLETED events) shows only events that
/// have not ended yet.
pub(crate) fn lists_only_unended(filter: &EventFilter) -> bool {
    filter.starts_after.is_none()
        && filter.starts_before.is_none()
        && filter.status != Some(EventStatus::Completed)
}

impl EventFilter {
    /// Checks the filter's values; errors name the filter's own fields (`areaId`, `startsAfter`,
    /// `startsBefore`, `near.radiusM`).
    pub fn check(self, areas: &AreaTree) -> Result<CheckedEventFilter> {
        if let Some(area) = self.area_id
            && areas.get(area).is_none()
        {
            return Err(Error::invalid("areaId", "no-such-area"));
        }
        if let Some(after) = self.starts_after {
            dates::check_instant(after, "startsAfter")?;
        }
        if let Some(before) = self.starts_before {
            dates::check_instant(before, "startsBefore")?;
        }
        if let Some((_, radius_m)) = self.near
            && !(1..=MAX_NEAR_RADIUS_M).contains(&radius_m)
        {
            return Err(Error::invalid("near.radiusM", "must-be-from-1-to-50000"));
        }
        let search = self
            .search
            .as_deref()
            .map(|raw| SearchText::parse(raw, "search"))
            .transpose()?;
        Ok(CheckedEventFilter(self, search))
    }
}

impl Events {
    /// The event, when it exists and the viewer may see it.
    pub async fn event(&self, viewer: &Viewer, id: EventId) -> Result<Option<Event>> {
        let db = &self.deps.store.db;
        let Some(row) = events::Entity::find_by_id(id.0).one(db).await? else {
            return Ok(None);
        };
        let (_, scope) = self
            .teams
            .scope_for(db, viewer.actor(), TeamId(row.team_id))
            .await?;
        Ok(
            policy::can_see_event(viewer, &self.deps.areas, scope, row.visibility, row.status)
                .then(|| Event::from(row)),
        )
    }

    /// Events by id without a visibility check, for relations whose parent was already checked
    /// (a volunteer's own sign-up, say).
    pub async fn events_by_id(&self, ids: &[EventId]) -> Result<HashMap<EventId, Event>> {
        let rows = events::Entity::find()
            .filter(events::Column::Id.is_in(ids.iter().map(|id| id.0)))
            .all(&self.deps.store.db)
            .await?;
        Ok(rows
            .into_iter()
            .map(|row| (EventId(row.id), Event::from(row)))
            .collect())
    }

    pub async fn events(
        &self,
        viewer: &Viewer,
        filter: CheckedEventFilter,
        page: PageRequest,
    ) -> Result<Page<Event>> {
        let seen = self.seen_by(viewer).await?;
        let condition = self.filter_condition(&filter).add(seen.condition());
        if let Some((centre, radius_m)) = filter.0.near {
            return self.nearest(condition, centre, radius_m, page).await;
        }
        let (events, total) = tokio::try_join!(
            self.by_start(condition.clone(), &page),
            self.feed_count(viewer, &seen, &filter, &condition),
        )?;
        Ok(Page::from_rows(events, page.first, total, |event| {
            Cursor::Time(event.starts_at, event.id.0)
        }))
    }

    /// Everything the filter asks for but visibility.
    pub(super) fn filter_condition(&self, filter: &CheckedEventFilter) -> Condition {
        let CheckedEventFilter(filter, search) = filter;
        let mut condition = Condition::all();
        if lists_only_unended(filter) {
            let now = Utc::now();
            condition = condition
                .add(events::Column::EndsAt.gt(now))
                .add(events::Column::StartsAt.gt(now - LONGEST_EVENT));
        }
        if let Some(search) = search {
            let backend = self.deps.store.db.get_database_backend();
            condition = condition.add(search::condition(backend, search));
        }
        if let Some(team) = filter.team_id {
            condition = condition.add(events::Column::TeamId.eq(team.0));
        }
        if let Some(area) = filter.area_id {
            condition = condition.add(
                events::Column::AreaId
                    .is_in(self.deps.areas.subtree(area).into_iter().map(|a| a.0)),
            );
        }
        if let Some(kind) = filter.kind {
            condition = condition.add(events::Column::Kind.eq(kind));
        }
        if let Some(status) = filter.status {
            condition = condition.add(events::Column::Status.eq(status));
        }
        if let Some(after) = filter.starts_after {
            condition = condition.add(events::Column::StartsAt.gte(after));
        }
        if let Some(before) = filter.starts_before {
            condition = condition.add(events::Column::StartsAt.lt(before));
        }
        condition
    }

    /// Soonest first, one more than the page holds. The page's ids come from the feed's covering
    /// index alone (`ix_events_area_feed`, migration 000020); only the page's own rows are then
    /// read, by id. The count is `feed_count`'s.
    async fn by_start(&self, condition: Condition, page: &PageRequest) -> Result<Vec<Event>> {
        let mut ids = events::Entity::find()
            .select_only()
            .column(events::Column::Id)
            .filter(condition)
            .order_by_asc(events::Column::StartsAt)
            .order_by_asc(events::Column::Id)
            .limit(page.first + 1);
        if let Some((at, id)) = page.after_time()? {
            ids = ids.filter(
                Condition::any().add(events::Column::StartsAt.gt(at)).add(
                    Condition::all()
                        .add(events::Column::StartsAt.eq(at))
                        .add(events::Column::Id.gt(id)),
                ),
            );
        }
        let keys: Vec<i64> = ids.into_tuple().all(&self.deps.store.db).await?;
        let mut rows = self
            .events_by_id(&keys.iter().map(|id| EventId(*id)).collect::<Vec<_>>())
            .await?;
        Ok(keys
            .iter()
            .filter_map(|id| rows.remove(&EventId(*id)))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;

    use super::*;

    fn tree() -> AreaTree {
        crate::areas::test_tree()
    }

    fn refused_field(filter: EventFilter) -> String {
        match filter.check(&tree()) {
            Err(Error::InvalidInput { field, .. }) => field,
            Err(other) => panic!("not an input error: {other:?}"),
            Ok(_) => panic!("accepted"),
        }
    }

    #[test]
    fn an_event_filter_names_its_own_fields() {
        let centre = Position {
            lat: 23.0,
            lng: 113.1,
        };
        let far = Utc.with_ymd_and_hms(9999, 1, 1, 0, 0, 0).unwrap();
        let cases = [
            (
                EventFilter {
                    area_id: Some(AreaId(99)),
                    ..Default::default()
                },
                "areaId",
            ),
            (
                EventFilter {
                    starts_after: Some(far),
                    ..Default::default()
                },
                "startsAfter",
            ),
            (
                EventFilter {
                    starts_before: Some(far),
                    ..Default::default()
                },
                "startsBefore",
            ),
            (
                EventFilter {
                    near: Some((centre, MAX_NEAR_RADIUS_M + 1)),
                    ..Default::default()
                },
                "near.radiusM",
            ),
            (
                EventFilter {
                    near: Some((centre, 0)),
                    ..Default::default()
                },
                "near.radiusM",
            ),
        ];
        for (filter, field) in cases {
            assert_eq!(refused_field(filter), field);
        }
    }

    #[test]
    fn without_dates_the_list_shows_events_not_yet_ended_unless_completed_ones_are_asked_for() {
        assert!(lists_only_unended(&EventFilter::default()));
        assert!(lists_only_unended(&EventFilter {
            status: Some(EventStatus::Published),
            search: Some("反诈".into()),
            ..Default::default()
        }));
        for filter in [
            EventFilter {
                starts_after: Some(Utc::now()),
                ..Default::default()
            },
            EventFilter {
                starts_before: Some(Utc::now()),
                ..Default::default()
            },
            EventFilter {
                status: Some(EventStatus::Completed),
                ..Default::default()
            },
        ] {
            assert!(!lists_only_unended(&filter));
        }
    }

    #[test]
    fn a_search_string_is_checked_with_the_filter() {
        let long = EventFilter {
            search: Some("巡".repeat(51)),
            ..Default::default()
        };
        assert_eq!(refused_field(long), "search");
    }

    #[test]
    fn a_filter_within_bounds_passes() {
        let filter = EventFilter {
            area_id: Some(AreaId(1)),
            starts_after: Some(Utc::now()),
            near: Some((
                Position {
                    lat: 23.0,
                    lng: 113.1,
                },
                MAX_NEAR_RADIUS_M,
            )),
            ..Default::default()
        };
        assert!(filter.check(&tree()).is_ok());
    }
}
