//! Changing an event: validated once, applied inside a transaction (also for every future
//! occurrence of a patrol schedule), promoting from the waitlist and telling who signed up.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    sea_query::Expr,
};

use super::{
    Event, EventKind, Events, Location, LocationInput, Visibility, active_sign_ups, audit_entry,
    check_capacity, check_times,
};
use crate::actor::Actor;
use crate::audit;
use crate::bus::Change;
use crate::deps::{text, whole_seconds};
use crate::entity::{attendances, events, sign_ups};
use crate::error::{Error, Result};
use crate::ids::EventId;
use crate::kinds::{EventStatus, NotificationKind};
use crate::notifications::notify;
use crate::seats;
use crate::stats;
use crate::store::{WriteTxn, lock_event};
use crate::text::Text;

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
        lock_event(conn, id).await?;
        let row = self.find_managed(conn, actor, id).await?;
        let before = Event::from(row.clone());
        let checked_in = has_check_in(conn, id).await?;
        let plan = plan_change(&before, change, checked_in, Utc::now())?;
        update_row(conn, row, change, &plan).await?;
        if plan.times_changed && has_check_in(conn, id).await? {
            // A check-in that committed while the sign-ups' times were being rewritten (that
            // update waited for it): the times stay.
            return Err(times_fixed());
        }
        seats::promote_waitlisted(txn, id).await?;
        txn.changed(Change::Event(id));
        txn.changed(Change::Feed);
        let event = Event::from(self.find(conn, id).await?);
        stats::mark_team_day(txn, self.deps.timezone, event.team_id.0, before.starts_at);
        stats::mark_team_day(txn, self.deps.timezone, event.team_id.0, event.starts_at);
        if plan.times_changed || plan.place_changed {
            tell_signed_up(txn, &event).await?;
        }
        audit::record(
            conn,
            audit_entry(actor, "event.update", Some(&before), &event),
        )
        .await?;
        Ok(event)
    }
}

/// What a change does to an event: its times after it, and whether the volunteers signed up
/// are to be told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ChangePlan {
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub closes_at: Option<DateTime<Utc>>,
    pub times_changed: bool,
    pub place_changed: bool,
}

/// Whether anyone checked in to the event (which fixes its times).
async fn has_check_in(conn: &impl ConnectionTrait, event: EventId) -> Result<bool> {
    let found = attendances::Entity::find()
        .filter(attendances::Column::EventId.eq(event.0))
        .one(conn)
        .await?;
    Ok(found.is_some())
}

fn times_fixed() -> Error {
    Error::conflict("event-has-started-or-someone-has")
}

/// Decides whether a checked change may be made to the event as it is: only to a draft or
/// published event; its times only before it starts and while nobody has `checked_in` (the
/// attendances and records made by them would no longer match); new times are checked together
/// with the ones kept (`check_times`, against `now`); the capacity never drops below the
/// confirmed sign-ups.
pub(crate) fn plan_change(
    event: &Event,
    change: &EventChange,
    checked_in: bool,
    now: DateTime<Utc>,
) -> Result<ChangePlan> {
    if !matches!(event.status, EventStatus::Draft | EventStatus::Published) {
        return Err(Error::conflict("cancelled-or-completed-event-cannot-be"));
    }
    let starts_at = change.starts_at.unwrap_or(event.starts_at);
    let ends_at = change.ends_at.unwrap_or(event.ends_at);
    let closes_at = change.sign_up_closes_at.or(event.sign_up_closes_at);
    let times_changed = starts_at != event.starts_at || ends_at != event.ends_at;
    if times_changed && (checked_in || now >= event.starts_at) {
        return Err(times_fixed());
    }
    if change.starts_at.is_some() || change.ends_at.is_some() || change.sign_up_closes_at.is_some()
    {
        check_times(starts_at, ends_at, closes_at, now)?;
    }
    if let Some(capacity) = change.capacity
        && capacity < event.confirmed_count
    {
        return Err(Error::invalid(
            "capacity",
            Text::new("must-not-be-below-confirmed").arg("confirmed", event.confirmed_count),
        ));
    }
    Ok(ChangePlan {
        starts_at,
        ends_at,
        closes_at,
        times_changed,
        place_changed: change.location.is_some(),
    })
}

/// Writes the change to the event's row, and new times to its sign-ups (which keep a copy, for
/// the overlap check).
async fn update_row(
    conn: &impl ConnectionTrait,
    row: events::Model,
    change: &EventChange,
    plan: &ChangePlan,
) -> Result<()> {
    let id = row.id;
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
    active.starts_at = Set(plan.starts_at);
    active.ends_at = Set(plan.ends_at);
    active.sign_up_closes_at = Set(plan.closes_at);
    active.updated_at = Set(Utc::now());
    active.update(conn).await?;
    if change.title.is_some() || change.description.is_some() || change.location.is_some() {
        super::search::refresh_grams(conn, id).await?;
    }
    if plan.times_changed {
        sign_ups::Entity::update_many()
            .col_expr(sign_ups::Column::StartsAt, Expr::value(plan.starts_at))
            .col_expr(sign_ups::Column::EndsAt, Expr::value(plan.ends_at))
            .filter(sign_ups::Column::EventId.eq(id))
            .exec(conn)
            .await?;
    }
    Ok(())
}

/// Tells everyone signed up (confirmed or waitlisted) that the event's time or place changed.
async fn tell_signed_up(txn: &WriteTxn<'_>, event: &Event) -> Result<()> {
    for (sign_up, volunteer) in active_sign_ups(&**txn, event.id).await? {
        let message = Text::new("event-changed-notice").arg("title", &event.title);
        notify(
            txn,
            volunteer,
            NotificationKind::EventChanged,
            Some(event.id),
            Some(sign_up),
            message,
        )
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone as _};

    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 8, 0, 0).unwrap()
    }

    fn event() -> Event {
        super::super::test_event(now())
    }

    #[test]
    fn a_title_change_keeps_the_times_and_tells_nobody() {
        let change = EventChange {
            title: Some("早巡".into()),
            ..Default::default()
        };
        let plan = plan_change(&event(), &change, false, now()).unwrap();
        assert_eq!(
            (plan.starts_at, plan.ends_at),
            (event().starts_at, event().ends_at)
        );
        assert!(!plan.times_changed && !plan.place_changed);
    }

    #[test]
    fn new_times_are_checked_together_with_the_kept_ones() {
        let later = EventChange {
            starts_at: Some(event().starts_at + Duration::hours(1)),
            ..Default::default()
        };
        let plan = plan_change(&event(), &later, false, now()).unwrap();
        assert!(plan.times_changed);
        assert_eq!(plan.ends_at, event().ends_at);
        // Moving the start past the kept end is refused on the end.
        let past_the_end = EventChange {
            starts_at: Some(event().ends_at),
            ..Default::default()
        };
        assert!(matches!(
            plan_change(&event(), &past_the_end, false, now()),
            Err(Error::InvalidInput { field, .. }) if field == "endsAt"
        ));
        let closes_after_end = EventChange {
            sign_up_closes_at: Some(event().ends_at + Duration::minutes(1)),
            ..Default::default()
        };
        assert!(matches!(
            plan_change(&event(), &closes_after_end, false, now()),
            Err(Error::InvalidInput { field, .. }) if field == "signUpClosesAt"
        ));
    }

    #[test]
    fn capacity_never_drops_below_the_confirmed_sign_ups() {
        let to = |capacity| EventChange {
            capacity: Some(capacity),
            ..Default::default()
        };
        assert!(plan_change(&event(), &to(5), false, now()).is_ok());
        assert!(matches!(
            plan_change(&event(), &to(4), false, now()),
            Err(Error::InvalidInput { field, .. }) if field == "capacity"
        ));
    }

    #[test]
    fn a_cancelled_or_completed_event_cannot_be_changed() {
        for status in [EventStatus::Cancelled, EventStatus::Completed] {
            let over = Event { status, ..event() };
            assert!(matches!(
                plan_change(&over, &EventChange::default(), false, now()),
                Err(Error::Conflict(_))
            ));
        }
        let draft = Event {
            status: EventStatus::Draft,
            ..event()
        };
        assert!(plan_change(&draft, &EventChange::default(), false, now()).is_ok());
    }

    #[test]
    fn a_new_place_is_told() {
        let moved = EventChange {
            location: Some(event().location),
            ..Default::default()
        };
        let plan = plan_change(&event(), &moved, false, now()).unwrap();
        assert!(plan.place_changed && !plan.times_changed);
    }

    #[test]
    fn an_event_that_started_or_has_a_check_in_keeps_its_times() {
        let later = EventChange {
            starts_at: Some(event().starts_at + Duration::hours(1)),
            ..Default::default()
        };
        assert!(plan_change(&event(), &later, false, now()).is_ok());
        assert!(matches!(
            plan_change(&event(), &later, true, now()),
            Err(Error::Conflict(message)) if message.render(crate::text::Locale::En).contains("checked in")
        ));
        let started = event().starts_at;
        assert!(matches!(
            plan_change(&event(), &later, false, started),
            Err(Error::Conflict(_))
        ));
        // Other changes still go through, and so do the same times sent again.
        let renamed = EventChange {
            title: Some("晚巡".into()),
            starts_at: Some(event().starts_at),
            capacity: Some(20),
            ..Default::default()
        };
        assert!(plan_change(&event(), &renamed, true, started).is_ok());
    }
}
