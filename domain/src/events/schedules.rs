//! Patrol schedules: a recurring plan (weekdays, local start time, duration, date range) that
//! generates published PATROL events ahead of time. Cancelling one touches only occurrences that
//! have not started.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder,
};
use serde::Serialize;

use super::patrol_plan::{PatrolPlan, Weekday, plan_patrols};
use super::{EventChange, Events, Location, LocationInput, UpdateEvent};
use crate::actor::{Actor, Viewer};
use crate::audit::{self, AuditRecord};
use crate::bus::Change;
use crate::deps::text;
use crate::entity::{events, patrol_schedules};
use crate::error::{Error, Result};
use crate::geo::Position;
use crate::ids::{EventId, ScheduleId, TeamId};
use crate::kinds::{EventKind, EventStatus, ScheduleStatus, Visibility};
use crate::policy::{self, TeamScope};
use crate::stats;

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

/// The schedule's row as planned.
fn schedule_row(
    actor: &Actor,
    input: &SchedulePatrols,
    plan: &PatrolPlan,
    now: DateTime<Utc>,
) -> patrol_schedules::ActiveModel {
    patrol_schedules::ActiveModel {
        team_id: Set(input.team_id.0),
        title: Set(plan.title.clone()),
        weekdays: Set(plan
            .weekdays
            .iter()
            .map(|w| w.number().to_string())
            .collect::<Vec<_>>()
            .join(",")),
        start_time: Set(input.start_time.clone()),
        duration_minutes: Set(input.duration_minutes),
        from_date: Set(input.from),
        until_date: Set(input.until),
        capacity: Set(input.capacity),
        address: Set(plan.location.address.clone()),
        lat: Set(plan.location.position.lat),
        lng: Set(plan.location.position.lng),
        radius_m: Set(plan.location.radius_m),
        status: Set(ScheduleStatus::Active),
        visibility: Set(input.visibility),
        created_by: Set(actor.volunteer.0),
        created_at: Set(now),
        ..Default::default()
    }
}

/// What every occurrence of the schedule shares: a published PATROL event with the schedule's
/// title, capacity, place and visibility (its times, area and schedule are set per occurrence).
fn occurrence_row(
    actor: &Actor,
    input: &SchedulePatrols,
    plan: &PatrolPlan,
    now: DateTime<Utc>,
) -> events::ActiveModel {
    events::ActiveModel {
        team_id: Set(input.team_id.0),
        kind: Set(EventKind::Patrol),
        title: Set(plan.title.clone()),
        description: Set(String::new()),
        capacity: Set(input.capacity),
        confirmed_count: Set(0),
        address: Set(plan.location.address.clone()),
        lat: Set(plan.location.position.lat),
        lng: Set(plan.location.position.lng),
        radius_m: Set(plan.location.radius_m),
        visibility: Set(input.visibility),
        status: Set(EventStatus::Published),
        sign_up_closes_at: Set(None),
        cancel_reason: Set(None),
        created_by: Set(actor.volunteer.0),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
}

impl Events {
    /// Creates a schedule and its published PATROL events still to come (how many, beside it).
    pub async fn schedule_patrols(
        &self,
        actor: &Actor,
        input: SchedulePatrols,
    ) -> Result<(PatrolSchedule, u64)> {
        let now = Utc::now();
        let plan = plan_patrols(&input, self.deps.timezone, now)?;
        let txn = self.deps.store.write().await?;
        let (_, scope) = self
            .teams
            .require(&*txn, actor, input.team_id, policy::check_manages_team)
            .await?;
        let schedule = schedule_row(actor, &input, &plan, now)
            .insert(&*txn)
            .await?;
        for (starts, _) in &plan.upcoming {
            stats::mark_team_day(&txn, self.deps.timezone, input.team_id.0, *starts);
        }
        for chunk in plan.upcoming.chunks(200) {
            let rows = chunk.iter().map(|&(starts, ends)| events::ActiveModel {
                area_id: Set(scope.area.0),
                schedule_id: Set(Some(schedule.id)),
                starts_at: Set(starts),
                ends_at: Set(ends),
                ..occurrence_row(actor, &input, &plan, now)
            });
            events::Entity::insert_many(rows).exec(&*txn).await?;
        }
        txn.changed(Change::Feed);
        super::search::refresh_schedule_grams(&*txn, schedule.id).await?;
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
        Ok((schedule, plan.upcoming.len() as u64))
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
            .open_schedule(&*txn, actor, id, "schedule-already-cancelled")
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
            .open_schedule(&*txn, actor, id, "cancelled-schedule-cannot-be-changed")
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
