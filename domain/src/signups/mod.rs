//! Sign-ups with waitlists. The database decides every race: a seat is taken by a conditional
//! update of the event's confirmed count (never past capacity), one active sign-up per volunteer
//! and event is a unique index, and a freed seat passes to the head of the waitlist inside the
//! transaction that freed it (`seats`). Cancelling is `cancel`.

mod admission;
mod batch;

pub use batch::SIGN_UP_BATCH;
mod cancel;
mod erase;
mod leave;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveEnum as _, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Alias, Expr, ExprTrait as _, Query, QueryStatementBuilder as _, SimpleExpr},
};
use serde::{Deserialize, Serialize};

use crate::actor::{Actor, Viewer};
use crate::deps::Deps;
use crate::entity::sign_ups;
use crate::error::{Error, Result};
use crate::events::{Event, Events};
use crate::ids::{EventId, SignUpId, TeamId, VolunteerId};
use crate::kinds::{EventStatus, SignUpStatus};
use crate::page::{Cursor, Page, PageRequest};
use crate::policy;
use crate::teams::Teams;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SignUp {
    pub id: SignUpId,
    pub event_id: EventId,
    pub volunteer_id: VolunteerId,
    pub status: SignUpStatus,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The place in the queue as the sign-up committed (a new WAITLISTED one): exact then, under
    /// any concurrency, since every change to the queue holds the event's lock. `None` when read
    /// later; `waitlist_positions` tells the current place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waitlist_position: Option<i64>,
}

impl From<sign_ups::Model> for SignUp {
    fn from(row: sign_ups::Model) -> Self {
        Self {
            id: SignUpId(row.id),
            event_id: EventId(row.event_id),
            volunteer_id: VolunteerId(row.volunteer_id),
            status: row.status,
            starts_at: row.starts_at,
            ends_at: row.ends_at,
            created_at: row.created_at,
            updated_at: row.updated_at,
            waitlist_position: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    Upcoming,
    Past,
}

/// Whether an event takes sign-ups at `now`: published, not started, and before its sign-up
/// deadline.
fn check_open(event: &Event, now: DateTime<Utc>) -> Result<()> {
    match event.status {
        EventStatus::Published => {}
        EventStatus::Cancelled => return Err(Error::conflict("event-was-cancelled")),
        EventStatus::Draft => return Err(Error::conflict("event-not-published-yet")),
        EventStatus::Completed => return Err(Error::conflict("event-over")),
    }
    if now >= event.starts_at {
        return Err(Error::conflict("event-has-started-sign-up-closed"));
    }
    if event.sign_up_closes_at.is_some_and(|closes| now >= closes) {
        return Err(Error::conflict("sign-up-for-event-has-closed"));
    }
    Ok(())
}

/// Of `volunteers`, who already holds an active sign-up for `event` (the pair names `event`)
/// and who is confirmed on another event overlapping it (few per volunteer: confirmed sign-ups
/// never overlap each other). One read.
async fn clashes(
    conn: &impl ConnectionTrait,
    volunteers: &[VolunteerId],
    event: &Event,
) -> Result<Vec<(VolunteerId, EventId)>> {
    let found: Vec<(i64, i64)> = sign_ups::Entity::find()
        .select_only()
        .columns([sign_ups::Column::VolunteerId, sign_ups::Column::EventId])
        .filter(sign_ups::Column::VolunteerId.is_in(volunteers.iter().map(|v| v.0)))
        .filter(
            Condition::any()
                .add(
                    Condition::all()
                        .add(sign_ups::Column::EventId.eq(event.id.0))
                        .add(
                            sign_ups::Column::Status
                                .is_in([SignUpStatus::Confirmed, SignUpStatus::Waitlisted]),
                        ),
                )
                .add(
                    Condition::all()
                        .add(sign_ups::Column::Status.eq(SignUpStatus::Confirmed))
                        .add(sign_ups::Column::StartsAt.lt(event.ends_at))
                        .add(sign_ups::Column::EndsAt.gt(event.starts_at)),
                ),
        )
        .into_tuple()
        .all(conn)
        .await?;
    Ok(found
        .into_iter()
        .map(|(volunteer, event)| (VolunteerId(volunteer), EventId(event)))
        .collect())
}

/// The place of a waiting sign-up in its event's queue (1 = promoted next): how many wait for the
/// event up to and including it. Exact inside a transaction holding the event's lock.
async fn queue_place(
    conn: &impl ConnectionTrait,
    event: EventId,
    sign_up: SignUpId,
) -> Result<i64> {
    let ahead = sign_ups::Entity::find()
        .filter(sign_ups::Column::EventId.eq(event.0))
        .filter(sign_ups::Column::Status.eq(SignUpStatus::Waitlisted))
        .filter(sign_ups::Column::Id.lte(sign_up.0))
        .count(conn)
        .await?;
    Ok(i64::try_from(ahead).unwrap_or(i64::MAX))
}

pub struct SignUps {
    deps: Deps,
    teams: Arc<Teams>,
    events: Arc<Events>,
    /// Sign-ups waiting for their event's next batch, per event (`batch`).
    lines: batch::Lines,
}

impl SignUps {
    pub fn new(deps: Deps, teams: Arc<Teams>, events: Arc<Events>) -> Self {
        Self {
            deps,
            teams,
            events,
            lines: batch::Lines::new(),
        }
    }

    /// CONFIRMED while seats remain, else WAITLISTED; served in the event's next batch
    /// (`batch`), one transaction for the sign-ups that arrived meanwhile.
    pub async fn sign_up(&self, actor: &Actor, event_id: EventId) -> Result<SignUp> {
        let viewer = Viewer::Volunteer(actor.clone());
        let event = self
            .events
            .event(&viewer, event_id)
            .await?
            .ok_or(Error::NotFound("event"))?;
        let now = Utc::now();
        check_open(&event, now)?;
        self.lines
            .sign_up(&self.deps, &self.teams, actor, event, now)
            .await
    }

    pub async fn sign_up_by_id(&self, id: SignUpId) -> Result<Option<SignUp>> {
        Ok(sign_ups::Entity::find_by_id(id.0)
            .one(&self.deps.store.db)
            .await?
            .map(SignUp::from))
    }

    /// The viewer's sign-up for each event (active first, else the latest), for `viewerSignUp`.
    pub async fn of_volunteer_for_events(
        &self,
        volunteer: VolunteerId,
        events: &[EventId],
    ) -> Result<HashMap<EventId, SignUp>> {
        let rows = sign_ups::Entity::find()
            .filter(sign_ups::Column::VolunteerId.eq(volunteer.0))
            .filter(sign_ups::Column::EventId.is_in(events.iter().map(|id| id.0)))
            .order_by_asc(sign_ups::Column::Id)
            .all(&self.deps.store.db)
            .await?;
        let mut out: HashMap<EventId, SignUp> = HashMap::new();
        for row in rows {
            let sign_up = SignUp::from(row);
            let keep_existing = out.get(&sign_up.event_id).is_some_and(|current| {
                matches!(
                    current.status,
                    SignUpStatus::Confirmed | SignUpStatus::Waitlisted
                ) && !matches!(
                    sign_up.status,
                    SignUpStatus::Confirmed | SignUpStatus::Waitlisted
                )
            });
            if !keep_existing {
                out.insert(sign_up.event_id, sign_up);
            }
        }
        Ok(out)
    }

    /// The current place in the queue (1 = promoted next) of each WAITLISTED sign-up.
    pub async fn waitlist_positions(&self, ids: &[SignUpId]) -> Result<HashMap<SignUpId, i64>> {
        // One statement for the whole batch: each waiting sign-up with the number of sign-ups
        // waiting for its event up to and including it (on the (event, status, id) index).
        let ahead = Alias::new("ahead");
        let position = Query::select()
            .expr(Expr::col((ahead.clone(), sign_ups::Column::Id)).count())
            .from_as(sign_ups::Entity, ahead.clone())
            .and_where(
                Expr::col((ahead.clone(), sign_ups::Column::EventId))
                    .equals((sign_ups::Entity, sign_ups::Column::EventId)),
            )
            .and_where(
                Expr::col((ahead.clone(), sign_ups::Column::Status))
                    .eq(SignUpStatus::Waitlisted.to_value()),
            )
            .and_where(
                Expr::col((ahead, sign_ups::Column::Id))
                    .lte(Expr::col((sign_ups::Entity, sign_ups::Column::Id))),
            )
            .to_owned();
        let rows: Vec<(i64, i64)> = sign_ups::Entity::find()
            .select_only()
            .column(sign_ups::Column::Id)
            .expr(SimpleExpr::SubQuery(
                None,
                Box::new(position.into_sub_query_statement()),
            ))
            .filter(sign_ups::Column::Id.is_in(ids.iter().map(|id| id.0)))
            .filter(sign_ups::Column::Status.eq(SignUpStatus::Waitlisted))
            .into_tuple()
            .all(&self.deps.store.db)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(id, position)| (SignUpId(id), position))
            .collect())
    }

    /// The volunteer's sign-ups: upcoming ones soonest first, past ones latest first.
    pub async fn my_sign_ups(
        &self,
        actor: &Actor,
        when: When,
        page: PageRequest,
    ) -> Result<Page<SignUp>> {
        let db = &self.deps.store.db;
        let now = Utc::now();
        let mut base =
            sign_ups::Entity::find().filter(sign_ups::Column::VolunteerId.eq(actor.volunteer.0));
        base = match when {
            When::Upcoming => base.filter(sign_ups::Column::EndsAt.gt(now)),
            When::Past => base.filter(sign_ups::Column::EndsAt.lte(now)),
        };
        let total = base.clone().count(db).await?;
        let mut query = match when {
            When::Upcoming => base
                .order_by_asc(sign_ups::Column::StartsAt)
                .order_by_asc(sign_ups::Column::Id),
            When::Past => base
                .order_by_desc(sign_ups::Column::StartsAt)
                .order_by_desc(sign_ups::Column::Id),
        };
        if let Some((at, id)) = page.after_time()? {
            let (later, tie) = match when {
                When::Upcoming => (
                    sign_ups::Column::StartsAt.gt(at),
                    sign_ups::Column::Id.gt(id),
                ),
                When::Past => (
                    sign_ups::Column::StartsAt.lt(at),
                    sign_ups::Column::Id.lt(id),
                ),
            };
            query = query.filter(
                Condition::any().add(later).add(
                    Condition::all()
                        .add(sign_ups::Column::StartsAt.eq(at))
                        .add(tie),
                ),
            );
        }
        let rows = query.limit(page.first + 1).all(db).await?;
        Ok(Page::from_rows(rows, page.first, total, |row| {
            Cursor::Time(row.starts_at, row.id)
        })
        .map(SignUp::from))
    }

    /// Everyone signed up for the event (confirmed and waitlisted, in sign-up order), for those
    /// who run the team.
    pub async fn roster(
        &self,
        actor: &Actor,
        event_id: EventId,
        page: PageRequest,
    ) -> Result<Page<SignUp>> {
        let db = &self.deps.store.db;
        let event = self.events.find(db, event_id).await?;
        self.teams
            .require(db, actor, TeamId(event.team_id), policy::check_manages_team)
            .await?;
        let base = sign_ups::Entity::find()
            .filter(sign_ups::Column::EventId.eq(event_id.0))
            .filter(sign_ups::Column::Status.is_in([
                SignUpStatus::Confirmed,
                SignUpStatus::Waitlisted,
                SignUpStatus::NoShow,
            ]));
        let total = base.clone().count(db).await?;
        let mut query = base.order_by_asc(sign_ups::Column::Id);
        if let Some(after) = page.after_id()? {
            query = query.filter(sign_ups::Column::Id.gt(after));
        }
        let rows = query.limit(page.first + 1).all(db).await?;
        Ok(Page::from_rows(rows, page.first, total, |row| Cursor::Id(row.id)).map(SignUp::from))
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone as _};

    use super::*;

    fn conflict(result: Result<()>) -> String {
        match result {
            Err(Error::Conflict(message)) => message.render(crate::text::Locale::En),
            other => panic!("not a conflict: {other:?}"),
        }
    }

    #[test]
    fn a_published_event_takes_sign_ups_until_it_starts_or_its_deadline() {
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 8, 0, 0).unwrap();
        let event = crate::events::test_event(now);
        assert!(check_open(&event, now).is_ok());
        let at_start = event.starts_at;
        assert!(conflict(check_open(&event, at_start)).contains("started"));
        let closed = Event {
            sign_up_closes_at: Some(now),
            ..crate::events::test_event(now)
        };
        assert!(conflict(check_open(&closed, now)).contains("closed"));
        assert!(check_open(&closed, now - Duration::seconds(1)).is_ok());
    }

    #[test]
    fn only_a_published_event_takes_sign_ups() {
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 8, 0, 0).unwrap();
        for (status, says) in [
            (EventStatus::Draft, "not published"),
            (EventStatus::Cancelled, "cancelled"),
            (EventStatus::Completed, "over"),
        ] {
            let event = Event {
                status,
                ..crate::events::test_event(now)
            };
            assert!(
                conflict(check_open(&event, now)).contains(says),
                "{status:?}"
            );
        }
    }
}
