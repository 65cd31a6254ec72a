//! Events: created as drafts by those who run a team, published, changed and cancelled.

mod change;
mod feed_count;
mod list;
mod nearest;
mod patrol_plan;
mod schedules;
pub mod search;
mod seen;
mod upkeep;

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QuerySelect, sea_query::Expr,
};
use serde::Serialize;

pub(crate) use change::EventChange;
pub use change::UpdateEvent;
pub use list::{CheckedEventFilter, EventFilter};
pub use patrol_plan::Weekday;
pub use schedules::{PatrolSchedule, SchedulePatrols, UpdateSchedule};

use crate::actor::Actor;
use crate::audit::{self, AuditRecord};
use crate::bus::Change;
use crate::deps::{Deps, text, whole_seconds};
use crate::entity::{events, sign_ups, volunteers};
use crate::error::{Error, Result};
use crate::geo::Position;
use crate::ids::{AreaId, EventId, ScheduleId, SignUpId, TeamId, VolunteerId};
use crate::kinds::{EventKind, EventStatus, NotificationKind, SignUpStatus, Visibility};
use crate::notifications::notify;
use crate::policy;
use crate::stats;
use crate::store::WriteTxn;
use crate::teams::Teams;
use crate::text::Text;

pub const MAX_CAPACITY: i32 = 100_000;

/// Where an event happens and how close a self check-in must be.
#[derive(Debug, Clone, Serialize)]
pub struct Location {
    pub address: String,
    pub position: Position,
    pub radius_m: i32,
}

#[derive(Debug, Clone, Serialize)]
pub struct Event {
    pub id: EventId,
    pub team_id: TeamId,
    pub area_id: AreaId,
    pub schedule_id: Option<ScheduleId>,
    pub kind: EventKind,
    pub title: String,
    pub description: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub capacity: i32,
    pub confirmed_count: i32,
    pub location: Location,
    pub visibility: Visibility,
    pub status: EventStatus,
    pub sign_up_closes_at: Option<DateTime<Utc>>,
    pub cancel_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<events::Model> for Event {
    fn from(row: events::Model) -> Self {
        Self {
            id: EventId(row.id),
            team_id: TeamId(row.team_id),
            area_id: AreaId(row.area_id),
            schedule_id: row.schedule_id.map(ScheduleId),
            kind: row.kind,
            title: row.title,
            description: row.description,
            starts_at: row.starts_at,
            ends_at: row.ends_at,
            capacity: row.capacity,
            confirmed_count: row.confirmed_count,
            location: Location {
                address: row.address,
                position: Position {
                    lat: row.lat,
                    lng: row.lng,
                },
                radius_m: row.radius_m,
            },
            visibility: row.visibility,
            status: row.status,
            sign_up_closes_at: row.sign_up_closes_at,
            cancel_reason: row.cancel_reason,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// A location as the client sent it.
pub struct LocationInput {
    pub address: String,
    pub lat: f64,
    pub lng: f64,
    pub radius_m: Option<i32>,
}

impl LocationInput {
    pub(crate) fn parse(&self, field: &str) -> Result<Location> {
        let radius_m = self.radius_m.unwrap_or(200);
        if !(10..=5_000).contains(&radius_m) {
            return Err(Error::invalid(
                format!("{field}.radiusM"),
                "must-be-from-10-to-5000",
            ));
        }
        Ok(Location {
            address: text(&self.address, &format!("{field}.address"), 1, 200, false)?,
            position: Position::parse(self.lat, self.lng, field)?,
            radius_m,
        })
    }
}

pub struct CreateEvent {
    pub team_id: TeamId,
    pub kind: EventKind,
    pub title: String,
    pub description: Option<String>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub capacity: i32,
    pub location: LocationInput,
    pub visibility: Visibility,
    pub sign_up_closes_at: Option<DateTime<Utc>>,
}

pub(crate) fn check_capacity(capacity: i32) -> Result<()> {
    if (1..=MAX_CAPACITY).contains(&capacity) {
        Ok(())
    } else {
        Err(Error::invalid("capacity", "must-be-from-1-to-100000"))
    }
}

/// Start, end and sign-up deadline: the end after the start, at most 7 days long, not more than
/// 30 days before `now` (for recording recent activities) nor 2 years after it.
pub(crate) fn check_times(
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    closes_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<()> {
    crate::dates::check_instant(starts_at, "startsAt")?;
    crate::dates::check_instant(ends_at, "endsAt")?;
    crate::dates::check_optional_instant(closes_at, "signUpClosesAt")?;
    if starts_at < now - Duration::days(30) {
        return Err(Error::invalid("startsAt", "must-not-be-more-than-30"));
    }
    if starts_at > now + Duration::days(crate::dates::PLAN_AHEAD_DAYS) {
        return Err(Error::invalid("startsAt", "must-be-within-two-years"));
    }
    if ends_at <= starts_at {
        return Err(Error::invalid("endsAt", "must-be-after-startsat"));
    }
    if ends_at - starts_at > Duration::days(7) {
        return Err(Error::invalid("endsAt", "event-lasts-at-most-7-days"));
    }
    if closes_at.is_some_and(|closes| closes > ends_at) {
        return Err(Error::invalid("signUpClosesAt", "must-not-be-after-endsat"));
    }
    Ok(())
}

/// A published two-hour event a day after `now`, with 5 of 10 seats taken: for unit tests.
#[cfg(test)]
pub(crate) fn test_event(now: DateTime<Utc>) -> Event {
    let starts_at = now + Duration::days(1);
    Event {
        id: EventId(1),
        team_id: TeamId(1),
        area_id: AreaId(4),
        schedule_id: None,
        kind: EventKind::Patrol,
        title: "夜巡".into(),
        description: String::new(),
        starts_at,
        ends_at: starts_at + Duration::hours(2),
        capacity: 10,
        confirmed_count: 5,
        location: Location {
            address: "祖庙路".into(),
            position: Position {
                lat: 23.03,
                lng: 113.11,
            },
            radius_m: 200,
        },
        visibility: Visibility::Public,
        status: EventStatus::Published,
        sign_up_closes_at: None,
        cancel_reason: None,
        created_at: now,
        updated_at: now,
    }
}

pub struct Events {
    deps: Deps,
    teams: std::sync::Arc<Teams>,
    feed_counts: feed_count::FeedCounts,
}

fn audit_entry<'a>(
    actor: &Actor,
    action: &'a str,
    before: Option<&'a Event>,
    after: &'a Event,
) -> AuditRecord<'a, Event, Event> {
    AuditRecord {
        actor: Some(actor.volunteer),
        action,
        entity_type: "event",
        entity_id: after.id.0,
        area: Some(after.area_id),
        team_id: Some(after.team_id.0),
        before,
        after: Some(after),
    }
}

/// Active (CONFIRMED or WAITLISTED) sign-ups of an event: who is told when it changes.
async fn active_sign_ups(
    conn: &impl ConnectionTrait,
    event: EventId,
) -> Result<Vec<(SignUpId, VolunteerId)>> {
    let rows: Vec<(i64, i64)> = sign_ups::Entity::find()
        .select_only()
        .column(sign_ups::Column::Id)
        .column(sign_ups::Column::VolunteerId)
        .filter(sign_ups::Column::EventId.eq(event.0))
        .filter(sign_ups::Column::Status.is_in([SignUpStatus::Confirmed, SignUpStatus::Waitlisted]))
        // An erased account keeps a sign-up it had checked in to, and is told nothing more.
        .filter(
            sign_ups::Column::VolunteerId.in_subquery(
                sea_orm::sea_query::Query::select()
                    .column(volunteers::Column::Id)
                    .from(volunteers::Entity)
                    .and_where(volunteers::Column::DeletedAt.is_null())
                    .to_owned(),
            ),
        )
        .into_tuple()
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, volunteer)| (SignUpId(id), VolunteerId(volunteer)))
        .collect())
}

impl Events {
    pub fn new(deps: Deps, teams: std::sync::Arc<Teams>) -> Self {
        Self {
            deps,
            teams,
            feed_counts: feed_count::FeedCounts::new(),
        }
    }

    pub(crate) async fn find(
        &self,
        conn: &impl ConnectionTrait,
        id: EventId,
    ) -> Result<events::Model> {
        events::Entity::find_by_id(id.0)
            .one(conn)
            .await?
            .ok_or(Error::NotFound("event"))
    }

    /// The event, when the actor runs its team (`policy::check_manages_team`).
    async fn find_managed(
        &self,
        conn: &impl ConnectionTrait,
        actor: &Actor,
        id: EventId,
    ) -> Result<events::Model> {
        let row = self.find(conn, id).await?;
        self.teams
            .require(conn, actor, TeamId(row.team_id), policy::check_manages_team)
            .await?;
        Ok(row)
    }

    pub async fn create_event(&self, actor: &Actor, input: CreateEvent) -> Result<Event> {
        let title = text(&input.title, "title", 1, 120, false)?;
        let description = text(
            input.description.as_deref().unwrap_or(""),
            "description",
            0,
            5_000,
            true,
        )?;
        check_capacity(input.capacity)?;
        check_times(
            input.starts_at,
            input.ends_at,
            input.sign_up_closes_at,
            Utc::now(),
        )?;
        let location = input.location.parse("location")?;
        let txn = self.deps.store.write().await?;
        let (_, scope) = self
            .teams
            .require(&*txn, actor, input.team_id, policy::check_manages_team)
            .await?;
        let now = Utc::now();
        let row = events::ActiveModel {
            team_id: Set(input.team_id.0),
            area_id: Set(scope.area.0),
            schedule_id: Set(None),
            kind: Set(input.kind),
            title: Set(title),
            description: Set(description),
            starts_at: Set(whole_seconds(input.starts_at)),
            ends_at: Set(whole_seconds(input.ends_at)),
            capacity: Set(input.capacity),
            confirmed_count: Set(0),
            address: Set(location.address),
            lat: Set(location.position.lat),
            lng: Set(location.position.lng),
            radius_m: Set(location.radius_m),
            visibility: Set(input.visibility),
            status: Set(EventStatus::Draft),
            sign_up_closes_at: Set(input.sign_up_closes_at.map(whole_seconds)),
            cancel_reason: Set(None),
            created_by: Set(actor.volunteer.0),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(&*txn)
        .await?;
        search::refresh_grams(&*txn, row.id).await?;
        let event = Event::from(row);
        stats::mark_team_day(&txn, self.deps.timezone, event.team_id.0, event.starts_at);
        txn.changed(Change::Feed);
        audit::record(&*txn, audit_entry(actor, "event.create", None, &event)).await?;
        txn.commit().await?;
        Ok(event)
    }

    pub async fn publish_event(&self, actor: &Actor, id: EventId) -> Result<Event> {
        let txn = self.deps.store.write().await?;
        let row = self.find_managed(&*txn, actor, id).await?;
        let published = events::Entity::update_many()
            .col_expr(events::Column::Status, Expr::value(EventStatus::Published))
            .col_expr(events::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(events::Column::Id.eq(id.0))
            .filter(events::Column::Status.eq(EventStatus::Draft))
            .exec(&*txn)
            .await?;
        if published.rows_affected != 1 {
            return Err(Error::conflict("only-draft-event-can-be-published"));
        }
        if row.ends_at <= Utc::now() {
            return Err(Error::conflict("event-that-over-cannot-be-published"));
        }
        let before = Event::from(row);
        let event = Event::from(self.find(&*txn, id).await?);
        stats::mark_team_day(&txn, self.deps.timezone, event.team_id.0, event.starts_at);
        txn.changed(Change::Event(id));
        txn.changed(Change::Feed);
        audit::record(
            &*txn,
            audit_entry(actor, "event.publish", Some(&before), &event),
        )
        .await?;
        txn.commit().await?;
        Ok(event)
    }

    /// Cancels the event and every active sign-up; each volunteer is told why.
    pub async fn cancel_event(&self, actor: &Actor, id: EventId, reason: &str) -> Result<Event> {
        let reason = text(reason, "reason", 1, 500, false)?;
        let txn = self.deps.store.write().await?;
        let row = self.find_managed(&*txn, actor, id).await?;
        let (before, after) = self.cancel_in(&txn, row, &reason).await?;
        audit::record(
            &*txn,
            audit_entry(actor, "event.cancel", Some(&before), &after),
        )
        .await?;
        txn.commit().await?;
        Ok(after)
    }

    /// Cancels one event inside a transaction (also used for patrol schedules).
    pub(crate) async fn cancel_in(
        &self,
        txn: &WriteTxn<'_>,
        row: events::Model,
        reason: &str,
    ) -> Result<(Event, Event)> {
        let conn = &**txn;
        let cancelled = events::Entity::update_many()
            .col_expr(events::Column::Status, Expr::value(EventStatus::Cancelled))
            .col_expr(events::Column::CancelReason, Expr::value(reason.to_owned()))
            .col_expr(events::Column::ConfirmedCount, Expr::value(0))
            .col_expr(events::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(events::Column::Id.eq(row.id))
            .filter(events::Column::Status.is_in([EventStatus::Draft, EventStatus::Published]))
            .exec(conn)
            .await?;
        if cancelled.rows_affected != 1 {
            return Err(Error::conflict("only-draft-or-published-event-can"));
        }
        let id = EventId(row.id);
        stats::mark_team_day(txn, self.deps.timezone, row.team_id, row.starts_at);
        txn.changed(Change::Event(id));
        txn.changed(Change::Feed);
        let told = active_sign_ups(conn, id).await?;
        sign_ups::Entity::update_many()
            .col_expr(
                sign_ups::Column::Status,
                Expr::value(SignUpStatus::Cancelled),
            )
            .col_expr(sign_ups::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(sign_ups::Column::EventId.eq(row.id))
            .filter(
                sign_ups::Column::Status.is_in([SignUpStatus::Confirmed, SignUpStatus::Waitlisted]),
            )
            .exec(conn)
            .await?;
        for (sign_up, volunteer) in told {
            let message = Text::new("event-cancelled-notice")
                .arg("title", &row.title)
                .arg("reason", reason);
            notify(
                txn,
                volunteer,
                NotificationKind::EventCancelled,
                Some(id),
                Some(sign_up),
                message,
            )
            .await?;
        }
        let before = Event::from(row);
        let after = Event::from(self.find(conn, id).await?);
        Ok((before, after))
    }

    /// WAITLISTED counts of each event, for DataLoaders.
    pub async fn waitlist_counts(&self, ids: &[EventId]) -> Result<HashMap<EventId, i64>> {
        let rows: Vec<(i64, i64)> = sign_ups::Entity::find()
            .select_only()
            .column(sign_ups::Column::EventId)
            .column_as(sign_ups::Column::Id.count(), "waiting")
            .filter(sign_ups::Column::EventId.is_in(ids.iter().map(|id| id.0)))
            .filter(sign_ups::Column::Status.eq(SignUpStatus::Waitlisted))
            .group_by(sign_ups::Column::EventId)
            .into_tuple()
            .all(&self.deps.store.db)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(event, count)| (EventId(event), count))
            .collect())
    }
}
