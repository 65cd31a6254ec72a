//! Patrol schedules: a recurring plan (weekdays, local start time, duration, date range) that
//! generates published PATROL events ahead of time. Cancelling one touches only occurrences that
//! have not started.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder,
};
use serde::Serialize;

use super::{EventChange, Events, Location, LocationInput, UpdateEvent, check_capacity};
use crate::actor::{Actor, Viewer};
use crate::audit::{self, AuditRecord};
use crate::dates;
use crate::deps::text;
use crate::entity::{events, patrol_schedules};
use crate::error::{Error, Result};
use crate::geo::Position;
use crate::ids::{EventId, ScheduleId, TeamId};
use crate::kinds::{EventKind, EventStatus, ScheduleStatus, Visibility};
use crate::policy::{self, TeamScope};
use crate::stats;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Weekday {
    Monday = 1,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

impl Weekday {
    const ALL: [Self; 7] = [
        Self::Monday,
        Self::Tuesday,
        Self::Wednesday,
        Self::Thursday,
        Self::Friday,
        Self::Saturday,
        Self::Sunday,
    ];

    fn number(self) -> u32 {
        self as u32
    }

    fn from_number(n: u32) -> Option<Self> {
        Self::ALL.into_iter().find(|day| day.number() == n)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct PatrolSchedule {
    pub id: ScheduleId,
    pub team_id: TeamId,
    pub title: String,
    pub weekdays: Vec<Weekday>,
    pub start_time: String,
    pub duration_minutes: i32,
    pub from: NaiveDate,
    pub until: NaiveDate,
    pub capacity: i32,
    pub location: Location,
    pub status: ScheduleStatus,
    /// Who may see the schedule (its meeting point, days and times): as its events.
    pub visibility: Visibility,
    pub created_at: DateTime<Utc>,
}

impl From<patrol_schedules::Model> for PatrolSchedule {
    fn from(row: patrol_schedules::Model) -> Self {
        Self {
            id: ScheduleId(row.id),
            team_id: TeamId(row.team_id),
            title: row.title,
            weekdays: row
                .weekdays
                .split(',')
                .filter_map(|n| n.parse().ok())
                .filter_map(Weekday::from_number)
                .collect(),
            start_time: row.start_time,
            duration_minutes: row.duration_minutes,
            from: row.from_date,
            until: row.until_date,
            capacity: row.capacity,
            location: Location {
                address: row.address,
                position: Position {
                    lat: row.lat,
                    lng: row.lng,
                },
                radius_m: row.radius_m,
            },
            status: row.status,
            visibility: row.visibility,
            created_at: row.created_at,
        }
    }
}

#[derive(Default)]
pub struct UpdateSchedule {
    pub title: Option<String>,
    pub capacity: Option<i32>,
    pub location: Option<LocationInput>,
}

pub struct SchedulePatrols {
    pub team_id: TeamId,
    pub title: String,
    pub weekdays: Vec<Weekday>,
    pub start_time: String,
    pub duration_minutes: i32,
    pub from: NaiveDate,
    pub until: NaiveDate,
    pub capacity: i32,
    pub location: LocationInput,
    pub visibility: Visibility,
}

fn parse_start_time(raw: &str) -> Result<NaiveTime> {
    let valid = raw.len() == 5 && raw.as_bytes()[2] == b':';
    valid
        .then(|| NaiveTime::parse_from_str(raw, "%H:%M").ok())
        .flatten()
        .ok_or_else(|| Error::invalid("startTime", "must be a local time as HH:MM, e.g. 19:30"))
}

/// The (start, end) of every occurrence, in UTC. A local time that does not exist on a day (a
/// daylight-saving gap) moves to the first instant after it.
pub fn occurrences(
    timezone: Tz,
    weekdays: &[Weekday],
    start: NaiveTime,
    duration: Duration,
    from: NaiveDate,
    until: NaiveDate,
) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let mut out = Vec::new();
    let mut day = from;
    while day <= until {
        if weekdays
            .iter()
            .any(|w| w.number() == day.weekday().number_from_monday())
        {
            let local = day.and_time(start);
            let starts = timezone
                .from_local_datetime(&local)
                .earliest()
                .or_else(|| {
                    timezone
                        .from_local_datetime(&(local + Duration::hours(1)))
                        .earliest()
                })
                .map(|at| at.with_timezone(&Utc));
            if let Some(starts) = starts {
                out.push((starts, starts + duration));
            }
        }
        let Some(next) = day.succ_opt() else { break };
        day = next;
    }
    out
}

impl Events {
    pub async fn schedule_patrols(
        &self,
        actor: &Actor,
        input: SchedulePatrols,
    ) -> Result<(PatrolSchedule, u64)> {
        let title = text(&input.title, "title", 1, 120, false)?;
        if input.weekdays.is_empty() {
            return Err(Error::invalid("weekdays", "must name at least one day"));
        }
        let start = parse_start_time(&input.start_time)?;
        if !(15..=720).contains(&input.duration_minutes) {
            return Err(Error::invalid(
                "durationMinutes",
                "must be from 15 to 720 minutes",
            ));
        }
        check_capacity(input.capacity)?;
        let today = Utc::now().with_timezone(&self.deps.timezone).date_naive();
        dates::check_planned_day(input.from, today, "from")?;
        dates::check_planned_day(input.until, today, "until")?;
        if input.until < input.from {
            return Err(Error::invalid("until", "must not be before from"));
        }
        if input.until < today {
            return Err(Error::invalid("until", "must not be in the past"));
        }
        if input
            .from
            .checked_add_months(chrono::Months::new(12))
            .is_none_or(|limit| input.until > limit)
        {
            return Err(Error::invalid("until", "a schedule spans at most one year"));
        }
        let location = input.location.parse("location")?;
        let mut weekdays = input.weekdays.clone();
        weekdays.sort();
        weekdays.dedup();
        let duration = Duration::minutes(i64::from(input.duration_minutes));
        let now = Utc::now();
        let upcoming: Vec<_> = occurrences(
            self.deps.timezone,
            &weekdays,
            start,
            duration,
            input.from,
            input.until,
        )
        .into_iter()
        .filter(|(starts, _)| *starts > now)
        .collect();

        let txn = self.deps.store.write().await?;
        let (_, scope) = self
            .teams
            .require(&*txn, actor, input.team_id, policy::check_manages_team)
            .await?;
        let schedule = patrol_schedules::ActiveModel {
            team_id: Set(input.team_id.0),
            title: Set(title.clone()),
            weekdays: Set(weekdays
                .iter()
                .map(|w| w.number().to_string())
                .collect::<Vec<_>>()
                .join(",")),
            start_time: Set(input.start_time.clone()),
            duration_minutes: Set(input.duration_minutes),
            from_date: Set(input.from),
            until_date: Set(input.until),
            capacity: Set(input.capacity),
            address: Set(location.address.clone()),
            lat: Set(location.position.lat),
            lng: Set(location.position.lng),
            radius_m: Set(location.radius_m),
            status: Set(ScheduleStatus::Active),
            visibility: Set(input.visibility),
            created_by: Set(actor.volunteer.0),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(&*txn)
        .await?;
        for (starts, _) in &upcoming {
            stats::mark_team_day(&txn, self.deps.timezone, input.team_id.0, *starts);
        }
        for chunk in upcoming.chunks(200) {
            let rows = chunk.iter().map(|(starts, ends)| events::ActiveModel {
                team_id: Set(input.team_id.0),
                area_id: Set(scope.area.0),
                schedule_id: Set(Some(schedule.id)),
                kind: Set(EventKind::Patrol),
                title: Set(title.clone()),
                description: Set(String::new()),
                starts_at: Set(*starts),
                ends_at: Set(*ends),
                capacity: Set(input.capacity),
                confirmed_count: Set(0),
                address: Set(location.address.clone()),
                lat: Set(location.position.lat),
                lng: Set(location.position.lng),
                radius_m: Set(location.radius_m),
                visibility: Set(input.visibility),
                status: Set(EventStatus::Published),
                sign_up_closes_at: Set(None),
                cancel_reason: Set(None),
                created_by: Set(actor.volunteer.0),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            });
            events::Entity::insert_many(rows).exec(&*txn).await?;
        }
        let schedule = PatrolSchedule::from(schedule);
        audit::record(
            &*txn,
            AuditRecord::<(), _> {
                actor: Some(actor.volunteer),
                action: "patrol_schedule.create",
                entity_type: "patrol_schedule",
                entity_id: schedule.id.0,
                area: Some(scope.area),
                team_id: Some(input.team_id.0),
                before: None,
                after: Some(&schedule),
            },
        )
        .await?;
        txn.commit().await?;
        Ok((schedule, upcoming.len() as u64))
    }

    /// The schedule, checked to be run by the actor and still active, with its occurrences
    /// that have not started.
    async fn open_schedule(
        &self,
        conn: &impl ConnectionTrait,
        actor: &Actor,
        id: ScheduleId,
        if_cancelled: &str,
    ) -> Result<(patrol_schedules::Model, TeamScope, Vec<events::Model>)> {
        let row = patrol_schedules::Entity::find_by_id(id.0)
            .one(conn)
            .await?
            .ok_or(Error::NotFound("patrol schedule"))?;
        let (_, scope) = self
            .teams
            .require(conn, actor, TeamId(row.team_id), policy::check_manages_team)
            .await?;
        if row.status == ScheduleStatus::Cancelled {
            return Err(Error::conflict(if_cancelled));
        }
        let future = events::Entity::find()
            .filter(events::Column::ScheduleId.eq(id.0))
            .filter(events::Column::StartsAt.gt(Utc::now()))
            .filter(events::Column::Status.is_in([EventStatus::Draft, EventStatus::Published]))
            .order_by_asc(events::Column::StartsAt)
            .all(conn)
            .await?;
        Ok((row, scope, future))
    }

    /// Stops a schedule: its occurrences that have not started are cancelled (and their
    /// volunteers told); past ones stay as they were.
    pub async fn cancel_schedule(
        &self,
        actor: &Actor,
        id: ScheduleId,
        reason: &str,
    ) -> Result<PatrolSchedule> {
        let reason = text(reason, "reason", 1, 500, false)?;
        let txn = self.deps.store.write().await?;
        let (row, scope, future) = self
            .open_schedule(&*txn, actor, id, "this schedule is already cancelled")
            .await?;
        for event in future {
            self.cancel_in(&txn, event, &reason).await?;
        }
        let before = PatrolSchedule::from(row.clone());
        let mut active: patrol_schedules::ActiveModel = row.into();
        active.status = Set(ScheduleStatus::Cancelled);
        let after = PatrolSchedule::from(active.update(&*txn).await?);
        audit::record(
            &*txn,
            schedule_audit(actor, "patrol_schedule.cancel", scope, &before, &after),
        )
        .await?;
        txn.commit().await?;
        Ok(after)
    }

    /// Changes title, capacity or place of a schedule and of its occurrences that have not
    /// started (past ones keep what happened). Days and times are changed by cancelling the
    /// schedule and creating another.
    pub async fn update_schedule(
        &self,
        actor: &Actor,
        id: ScheduleId,
        input: UpdateSchedule,
    ) -> Result<PatrolSchedule> {
        let change = EventChange::parse(&UpdateEvent {
            title: input.title,
            capacity: input.capacity,
            location: input.location,
            ..Default::default()
        })?;
        let txn = self.deps.store.write().await?;
        let (row, scope, future) = self
            .open_schedule(&*txn, actor, id, "a cancelled schedule cannot be changed")
            .await?;
        for event in future {
            self.apply_change(&txn, actor, EventId(event.id), &change)
                .await?;
        }
        let before = PatrolSchedule::from(row.clone());
        let mut active: patrol_schedules::ActiveModel = row.into();
        if let Some(title) = &change.title {
            active.title = Set(title.clone());
        }
        if let Some(capacity) = change.capacity {
            active.capacity = Set(capacity);
        }
        if let Some(location) = &change.location {
            active.address = Set(location.address.clone());
            active.lat = Set(location.position.lat);
            active.lng = Set(location.position.lng);
            active.radius_m = Set(location.radius_m);
        }
        let after = PatrolSchedule::from(active.update(&*txn).await?);
        audit::record(
            &*txn,
            schedule_audit(actor, "patrol_schedule.update", scope, &before, &after),
        )
        .await?;
        txn.commit().await?;
        Ok(after)
    }

    /// The schedule, when it exists and the viewer may see it: a TEAM schedule exactly when
    /// they would see the team's TEAM events.
    pub async fn schedule(
        &self,
        viewer: &Viewer,
        id: ScheduleId,
    ) -> Result<Option<PatrolSchedule>> {
        let db = &self.deps.store.db;
        let Some(row) = patrol_schedules::Entity::find_by_id(id.0).one(db).await? else {
            return Ok(None);
        };
        let (_, scope) = self
            .teams
            .scope_for(db, viewer.actor(), TeamId(row.team_id))
            .await?;
        let visible = policy::can_see_event(
            viewer,
            &self.deps.areas,
            scope,
            row.visibility,
            EventStatus::Published,
        );
        Ok(visible.then(|| PatrolSchedule::from(row)))
    }

    /// Schedules by id without a visibility check, for events already checked (see
    /// `policy::schedule_shown_with_event`).
    pub async fn schedules_by_id(
        &self,
        ids: &[ScheduleId],
    ) -> Result<std::collections::HashMap<ScheduleId, PatrolSchedule>> {
        let rows = patrol_schedules::Entity::find()
            .filter(patrol_schedules::Column::Id.is_in(ids.iter().map(|id| id.0)))
            .all(&self.deps.store.db)
            .await?;
        Ok(rows
            .into_iter()
            .map(|row| (ScheduleId(row.id), PatrolSchedule::from(row)))
            .collect())
    }
}

fn schedule_audit<'a>(
    actor: &Actor,
    action: &'a str,
    scope: TeamScope,
    before: &'a PatrolSchedule,
    after: &'a PatrolSchedule,
) -> AuditRecord<'a, PatrolSchedule, PatrolSchedule> {
    AuditRecord {
        actor: Some(actor.volunteer),
        action,
        entity_type: "patrol_schedule",
        entity_id: after.id.0,
        area: Some(scope.area),
        team_id: Some(after.team_id.0),
        before: Some(before),
        after: Some(after),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn occurrences_fall_on_the_chosen_weekdays_at_local_time() {
        let start = NaiveTime::from_hms_opt(19, 30, 0).unwrap();
        let list = occurrences(
            chrono_tz::Asia::Shanghai,
            &[Weekday::Monday, Weekday::Friday],
            start,
            Duration::minutes(120),
            date("2026-12-01"),
            date("2026-12-14"),
        );
        let starts: Vec<String> = list.iter().map(|(s, _)| s.to_rfc3339()).collect();
        // 2026-12-04 is a Friday; 19:30 in Shanghai is 11:30 UTC.
        assert_eq!(
            starts,
            [
                "2026-12-04T11:30:00+00:00",
                "2026-12-07T11:30:00+00:00",
                "2026-12-11T11:30:00+00:00",
                "2026-12-14T11:30:00+00:00"
            ]
        );
        assert!(list.iter().all(|(s, e)| *e - *s == Duration::minutes(120)));
    }

    #[test]
    fn a_local_time_in_a_daylight_saving_gap_moves_forward() {
        let start = NaiveTime::from_hms_opt(2, 30, 0).unwrap();
        // 2026-03-08: clocks in New York jump from 02:00 to 03:00.
        let list = occurrences(
            chrono_tz::America::New_York,
            &[Weekday::Sunday],
            start,
            Duration::minutes(60),
            date("2026-03-08"),
            date("2026-03-08"),
        );
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].0.to_rfc3339(), "2026-03-08T07:30:00+00:00");
    }

    #[test]
    fn start_times_must_be_hh_mm() {
        assert!(parse_start_time("19:30").is_ok());
        for bad in ["7:30", "24:00", "19:60", "1930", "19:30:00"] {
            assert!(parse_start_time(bad).is_err(), "{bad}");
        }
    }
}
