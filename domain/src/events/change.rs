//! Changing an event: validated once, applied inside a transaction (also for every future
//! occurrence of a patrol schedule), promoting from the waitlist and telling who signed up.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr,
};

use super::{
    Event, EventKind, Events, Location, LocationInput, Visibility, active_sign_ups, audit_entry,
    check_capacity, check_times,
};
use crate::actor::Actor;
use crate::audit;
use crate::bus::Change;
use crate::deps::{text, whole_seconds};
use crate::entity::{events, sign_ups};
use crate::error::{Error, Result};
use crate::ids::{EventId, TeamId};
use crate::kinds::{EventStatus, NotificationKind};
use crate::notifications::notify;
use crate::policy;
use crate::seats;
use crate::stats;
use crate::store::WriteTxn;

#[derive(Default)]
pub struct UpdateEvent {
    pub kind: Option<EventKind>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub capacity: Option<i32>,
    pub location: Option<LocationInput>,
    pub visibility: Option<Visibility>,
    pub sign_up_closes_at: Option<DateTime<Utc>>,
}

/// An `UpdateEvent` whose values passed their checks.
#[derive(Default)]
pub(crate) struct EventChange {
    pub kind: Option<EventKind>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub capacity: Option<i32>,
    pub location: Option<Location>,
    pub visibility: Option<Visibility>,
    pub sign_up_closes_at: Option<DateTime<Utc>>,
}

impl EventChange {
    pub(crate) fn parse(input: &UpdateEvent) -> Result<Self> {
        if let Some(capacity) = input.capacity {
            check_capacity(capacity)?;
        }
        Ok(Self {
            kind: input.kind,
            title: input
                .title
                .as_deref()
                .map(|t| text(t, "title", 1, 120, false))
                .transpose()?,
            description: input
                .description
                .as_deref()
                .map(|d| text(d, "description", 0, 5_000, true))
                .transpose()?,
            starts_at: input.starts_at.map(whole_seconds),
            ends_at: input.ends_at.map(whole_seconds),
            capacity: input.capacity,
            location: input
                .location
                .as_ref()
                .map(|l| l.parse("location"))
                .transpose()?,
            visibility: input.visibility,
            sign_up_closes_at: input.sign_up_closes_at.map(whole_seconds),
        })
    }
}

impl Events {
    /// Changes an event that is not cancelled or over. Raising capacity promotes from the
    /// waitlist in the same transaction; capacity cannot drop below the confirmed sign-ups.
    /// Volunteers signed up are told of changes to time or place.
    pub async fn update_event(
        &self,
        actor: &Actor,
        id: EventId,
        input: UpdateEvent,
    ) -> Result<Event> {
        let change = EventChange::parse(&input)?;
        let txn = self.deps.store.write().await?;
        let event = self.apply_change(&txn, actor, id, &change).await?;
        txn.commit().await?;
        Ok(event)
    }

    /// Applies a validated change inside a transaction (also for patrol schedules).
    pub(crate) async fn apply_change(
        &self,
        txn: &WriteTxn<'_>,
        actor: &Actor,
        id: EventId,
        change: &EventChange,
    ) -> Result<Event> {
        let conn = &**txn;
        // Lock the event row first: sign-ups and cancellations wait for this change.
        events::Entity::update_many()
            .col_expr(events::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(events::Column::Id.eq(id.0))
            .exec(conn)
            .await?;
        let row = self.find(conn, id).await?;
        self.teams
            .require(conn, actor, TeamId(row.team_id), policy::check_manages_team)
            .await?;
        if !matches!(row.status, EventStatus::Draft | EventStatus::Published) {
            return Err(Error::conflict(
                "a cancelled or completed event cannot be changed",
            ));
        }
        let before = Event::from(row.clone());
        let starts_at = change.starts_at.unwrap_or(row.starts_at);
        let ends_at = change.ends_at.unwrap_or(row.ends_at);
        let closes_at = change.sign_up_closes_at.or(row.sign_up_closes_at);
        if change.starts_at.is_some()
            || change.ends_at.is_some()
            || change.sign_up_closes_at.is_some()
        {
            check_times(starts_at, ends_at, closes_at)?;
        }
        if let Some(capacity) = change.capacity
            && capacity < row.confirmed_count
        {
            return Err(Error::invalid(
                "capacity",
                format!(
                    "must not be below the {} confirmed sign-ups",
                    row.confirmed_count
                ),
            ));
        }
        let times_changed = starts_at != row.starts_at || ends_at != row.ends_at;
        let place_changed = change.location.is_some();
        let mut active: events::ActiveModel = row.into();
        if let Some(kind) = change.kind {
            active.kind = Set(kind);
        }
        if let Some(title) = &change.title {
            active.title = Set(title.clone());
        }
        if let Some(description) = &change.description {
            active.description = Set(description.clone());
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
        if let Some(visibility) = change.visibility {
            active.visibility = Set(visibility);
        }
        active.starts_at = Set(starts_at);
        active.ends_at = Set(ends_at);
        active.sign_up_closes_at = Set(closes_at);
        active.updated_at = Set(Utc::now());
        active.update(conn).await?;
        if times_changed {
            sign_ups::Entity::update_many()
                .col_expr(sign_ups::Column::StartsAt, Expr::value(starts_at))
                .col_expr(sign_ups::Column::EndsAt, Expr::value(ends_at))
                .filter(sign_ups::Column::EventId.eq(id.0))
                .exec(conn)
                .await?;
        }
        seats::promote_waitlisted(txn, id).await?;
        txn.changed(Change::Event(id));
        let event = Event::from(self.find(conn, id).await?);
        stats::mark_team_day(txn, self.deps.timezone, event.team_id.0, before.starts_at);
        stats::mark_team_day(txn, self.deps.timezone, event.team_id.0, event.starts_at);
        if times_changed || place_changed {
            for (sign_up, volunteer) in active_sign_ups(conn, id).await? {
                let message = format!(
                    "「{}」的时间或地点有变化 / has changed its time or place",
                    event.title
                );
                notify(
                    txn,
                    volunteer,
                    NotificationKind::EventChanged,
                    Some(id),
                    Some(sign_up),
                    message,
                )
                .await?;
            }
        }
        audit::record(
            conn,
            audit_entry(actor, "event.update", Some(&before), &event),
        )
        .await?;
        Ok(event)
    }
}
