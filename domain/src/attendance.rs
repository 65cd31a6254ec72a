//! Attendance: checking in and out on site (by GPS, or by hand by a leader), and the PENDING
//! service record a check-out creates (invariant 6).

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QuerySelect, QueryTrait, sea_query::Expr,
};
use serde::{Deserialize, Serialize};

use crate::actor::Actor;
use crate::audit::{self, AuditRecord};
use crate::deps::Deps;
use crate::entity::{attendances, events, service_records, sign_ups};
use crate::error::{Error, Result};
use crate::events::Events;
use crate::geo::Position;
use crate::ids::{AreaId, AttendanceId, EventId, SignUpId, TeamId, VolunteerId};
use crate::kinds::{EventStatus, RecordStatus, SignUpStatus};
use crate::policy;
use crate::stats;
use crate::store::is_unique_violation;
use crate::teams::Teams;
use crate::workers::{self, SetAside};

/// Self check-in opens this long before the start.
pub const CHECK_IN_OPENS_BEFORE: Duration = Duration::minutes(30);
/// Open check-ins of events over for longer than this are closed at the event's end.
pub const AUTO_CLOSE_AFTER: Duration = Duration::hours(2);
/// Clock skew tolerated between a phone and the server.
const FUTURE_SKEW: Duration = Duration::seconds(5);

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Attendance {
    pub id: AttendanceId,
    pub sign_up_id: SignUpId,
    pub event_id: EventId,
    pub volunteer_id: VolunteerId,
    pub check_in_at: DateTime<Utc>,
    pub check_in_position: Option<Position>,
    pub checked_in_by: VolunteerId,
    pub check_out_at: Option<DateTime<Utc>>,
    pub check_out_position: Option<Position>,
    pub checked_out_by: Option<VolunteerId>,
    pub auto_closed: bool,
}

impl From<attendances::Model> for Attendance {
    fn from(row: attendances::Model) -> Self {
        let position = |lat: Option<f64>, lng: Option<f64>| {
            Some(Position {
                lat: lat?,
                lng: lng?,
            })
        };
        Self {
            id: AttendanceId(row.id),
            sign_up_id: SignUpId(row.sign_up_id),
            event_id: EventId(row.event_id),
            volunteer_id: VolunteerId(row.volunteer_id),
            check_in_at: row.check_in_at,
            check_in_position: position(row.check_in_lat, row.check_in_lng),
            checked_in_by: VolunteerId(row.check_in_by),
            check_out_at: row.check_out_at,
            check_out_position: position(row.check_out_lat, row.check_out_lng),
            checked_out_by: row.check_out_by.map(VolunteerId),
            auto_closed: row.auto_closed,
        }
    }
}

/// A phone's report: where (with its accuracy) and, when it was offline, when.
#[derive(Debug, Clone, Serialize)]
pub struct CheckInput {
    pub sign_up_id: SignUpId,
    pub position: Option<(Position, Option<f64>)>,
    pub at: Option<DateTime<Utc>>,
}

/// Whole minutes of `[from, to)` that fall inside the event.
pub fn credited_minutes(
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    starts: DateTime<Utc>,
    ends: DateTime<Utc>,
) -> i32 {
    let start = from.max(starts);
    let end = to.min(ends);
    if end <= start {
        0
    } else {
        (end - start).num_minutes().min(i64::from(i32::MAX)) as i32
    }
}

/// A sign-up that checked in counts as attended even if the no-show marking, racing with the
/// check-in, got to it first (CONFIRMED or NO_SHOW with an attendance).
fn attended_status(status: SignUpStatus) -> bool {
    matches!(status, SignUpStatus::Confirmed | SignUpStatus::NoShow)
}

/// Puts a checked-in sign-up marked NO_SHOW by that race back to CONFIRMED.
async fn restore_attended(conn: &impl ConnectionTrait, sign_up: i64) -> Result<()> {
    sign_ups::Entity::update_many()
        .col_expr(
            sign_ups::Column::Status,
            Expr::value(SignUpStatus::Confirmed),
        )
        .filter(sign_ups::Column::Id.eq(sign_up))
        .filter(sign_ups::Column::Status.eq(SignUpStatus::NoShow))
        .exec(conn)
        .await?;
    Ok(())
}

/// `NOT EXISTS` an attendance of the sign-up: an anti-join on the unique `sign_up_id` index
/// (PostgreSQL rescans a `NOT IN` subquery per row).
fn no_check_in() -> sea_orm::sea_query::SimpleExpr {
    let checked_in = attendances::Entity::find()
        .select_only()
        .expr(Expr::value(1))
        .filter(sea_orm::sea_query::ExprTrait::equals(
            Expr::col((attendances::Entity, attendances::Column::SignUpId)),
            (sign_ups::Entity, sign_ups::Column::Id),
        ))
        .into_query();
    sea_orm::sea_query::ExprTrait::not(Expr::exists(checked_in))
}

/// Check-ins and check-outs a leader records for a member are audited like every leader write.
async fn audit_by_leader(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    event: &events::Model,
    action: &str,
    before: Option<&Attendance>,
    after: &Attendance,
) -> Result<()> {
    audit::record(
        conn,
        AuditRecord {
            actor: Some(actor.volunteer),
            action,
            entity_type: "attendance",
            entity_id: after.id.0,
            area: Some(AreaId(event.area_id)),
            team_id: Some(event.team_id),
            before,
            after: Some(after),
        },
    )
    .await
}

pub struct AttendanceService {
    deps: Deps,
    teams: Arc<Teams>,
    events: Arc<Events>,
    /// Events whose upkeep (closing stale check-ins, marking no-shows) failed, left alone until
    /// their retry time so they never hold up the others.
    stale_set_aside: SetAside<i64>,
    no_shows_set_aside: SetAside<i64>,
}

enum Recorder {
    /// The volunteer themself, by GPS.
    SelfByGps,
    /// A leader or deputy, by hand.
    Leader,
}

impl AttendanceService {
    pub fn new(deps: Deps, teams: Arc<Teams>, events: Arc<Events>) -> Self {
        Self {
            deps,
            teams,
            events,
            stale_set_aside: SetAside::default(),
            no_shows_set_aside: SetAside::default(),
        }
    }

    async fn recorder(
        &self,
        conn: &impl ConnectionTrait,
        actor: &Actor,
        sign_up: &sign_ups::Model,
        event: &events::Model,
    ) -> Result<Recorder> {
        if sign_up.volunteer_id == actor.volunteer.0 {
            return Ok(Recorder::SelfByGps);
        }
        // Someone else's sign-up is not there for whoever may not record it.
        self.teams
            .require(conn, actor, TeamId(event.team_id), |actor, tree, scope| {
                policy::check_manages_team(actor, tree, scope)
                    .map_err(|_| Error::NotFound("sign-up"))
            })
            .await?;
        Ok(Recorder::Leader)
    }

    fn moment(at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Result<DateTime<Utc>> {
        match at {
            Some(at) if at > now + FUTURE_SKEW => {
                Err(Error::invalid("at", "must not be in the future"))
            }
            Some(at) => crate::dates::check_instant(at, "at"),
            None => Ok(now),
        }
    }

    fn check_position(
        event: &events::Model,
        position: Option<(Position, Option<f64>)>,
    ) -> Result<()> {
        let Some((position, _)) = position else {
            return Err(Error::invalid(
                "position",
                "is required to check in by yourself",
            ));
        };
        let distance = position.distance_m(&Position {
            lat: event.lat,
            lng: event.lng,
        });
        if distance > f64::from(event.radius_m) {
            return Err(Error::conflict(format!(
                "you are {} m from the event; check in within {} m",
                distance.round(),
                event.radius_m
            )));
        }
        Ok(())
    }

    pub async fn check_in(&self, actor: &Actor, input: CheckInput) -> Result<Attendance> {
        let now = Utc::now();
        let at = Self::moment(input.at, now)?;
        let txn = self.deps.store.write().await?;
        let sign_up = sign_ups::Entity::find_by_id(input.sign_up_id.0)
            .one(&*txn)
            .await?
            .ok_or(Error::NotFound("sign-up"))?;
        let event = self.events.find(&*txn, EventId(sign_up.event_id)).await?;
        let recorder = self.recorder(&*txn, actor, &sign_up, &event).await?;
        if sign_up.status != SignUpStatus::Confirmed {
            return Err(Error::conflict("only a confirmed sign-up can check in"));
        }
        if event.status == EventStatus::Cancelled {
            return Err(Error::conflict("this event was cancelled"));
        }
        if at < event.starts_at - CHECK_IN_OPENS_BEFORE || at > event.ends_at {
            let message = "check-in is open from 30 minutes before the start until the end";
            return Err(if input.at.is_some() {
                Error::invalid("at", message)
            } else {
                Error::conflict(message)
            });
        }
        if matches!(recorder, Recorder::SelfByGps) {
            Self::check_position(&event, input.position)?;
        }
        // Hold the sign-up while it is still confirmed: a cancellation landing meanwhile waits,
        // then finds a check-in, instead of leaving one behind on a cancelled sign-up.
        let held = sign_ups::Entity::update_many()
            .col_expr(
                sign_ups::Column::UpdatedAt,
                Expr::col(sign_ups::Column::UpdatedAt),
            )
            .filter(sign_ups::Column::Id.eq(sign_up.id))
            .filter(sign_ups::Column::Status.eq(SignUpStatus::Confirmed))
            .exec(&*txn)
            .await?;
        if held.rows_affected != 1 {
            return Err(Error::conflict("only a confirmed sign-up can check in"));
        }
        let (lat, lng, accuracy) = match input.position {
            Some((position, accuracy)) => (Some(position.lat), Some(position.lng), accuracy),
            None => (None, None, None),
        };
        let row = attendances::ActiveModel {
            sign_up_id: Set(sign_up.id),
            event_id: Set(event.id),
            volunteer_id: Set(sign_up.volunteer_id),
            check_in_at: Set(at),
            check_in_lat: Set(lat),
            check_in_lng: Set(lng),
            check_in_accuracy_m: Set(accuracy),
            check_in_by: Set(actor.volunteer.0),
            check_out_at: Set(None),
            check_out_lat: Set(None),
            check_out_lng: Set(None),
            check_out_accuracy_m: Set(None),
            check_out_by: Set(None),
            auto_closed: Set(false),
            ..Default::default()
        }
        .insert(&*txn)
        .await
        .map_err(|error| {
            if is_unique_violation(&error) {
                Error::conflict("already checked in")
            } else {
                error.into()
            }
        })?;
        let attendance = Attendance::from(row);
        if matches!(recorder, Recorder::Leader) {
            audit_by_leader(
                &*txn,
                actor,
                &event,
                "attendance.check_in",
                None,
                &attendance,
            )
            .await?;
        }
        stats::mark_team_day(&txn, self.deps.timezone, event.team_id, event.starts_at);
        txn.commit().await?;
        Ok(attendance)
    }

    pub async fn check_out(&self, actor: &Actor, input: CheckInput) -> Result<Attendance> {
        let now = Utc::now();
        let at = Self::moment(input.at, now)?;
        let txn = self.deps.store.write().await?;
        let sign_up = sign_ups::Entity::find_by_id(input.sign_up_id.0)
            .one(&*txn)
            .await?
            .ok_or(Error::NotFound("sign-up"))?;
        let event = self.events.find(&*txn, EventId(sign_up.event_id)).await?;
        let recorder = self.recorder(&*txn, actor, &sign_up, &event).await?;
        if !attended_status(sign_up.status) || event.status == EventStatus::Cancelled {
            return Err(Error::conflict(
                "this sign-up or event was cancelled; there is nothing to check out of",
            ));
        }
        restore_attended(&*txn, sign_up.id).await?;
        let attendance = attendances::Entity::find()
            .filter(attendances::Column::SignUpId.eq(sign_up.id))
            .one(&*txn)
            .await?
            .ok_or_else(|| Error::conflict("check in before checking out"))?;
        if attendance.check_out_at.is_some() {
            return Err(Error::conflict("already checked out"));
        }
        if at < attendance.check_in_at {
            return Err(Error::invalid("at", "must not be before the check-in"));
        }
        if input.at.is_some() && at > event.ends_at + AUTO_CLOSE_AFTER {
            return Err(Error::invalid(
                "at",
                "must be within two hours after the event's end",
            ));
        }
        let (lat, lng, accuracy) = match input.position {
            Some((position, accuracy)) => (Some(position.lat), Some(position.lng), accuracy),
            None => (None, None, None),
        };
        let closed = attendances::Entity::update_many()
            .col_expr(attendances::Column::CheckOutAt, Expr::value(at))
            .col_expr(attendances::Column::CheckOutLat, Expr::value(lat))
            .col_expr(attendances::Column::CheckOutLng, Expr::value(lng))
            .col_expr(
                attendances::Column::CheckOutAccuracyM,
                Expr::value(accuracy),
            )
            .col_expr(
                attendances::Column::CheckOutBy,
                Expr::value(actor.volunteer.0),
            )
            .filter(attendances::Column::Id.eq(attendance.id))
            .filter(attendances::Column::CheckOutAt.is_null())
            .exec(&*txn)
            .await?;
        if closed.rows_affected != 1 {
            return Err(Error::conflict("already checked out"));
        }
        self.credit(&*txn, &attendance, &event, at, false).await?;
        let row = attendances::Entity::find_by_id(attendance.id)
            .one(&*txn)
            .await?
            .ok_or(Error::NotFound("attendance"))?;
        let after = Attendance::from(row);
        if matches!(recorder, Recorder::Leader) {
            let before = Attendance::from(attendance);
            audit_by_leader(
                &*txn,
                actor,
                &event,
                "attendance.check_out",
                Some(&before),
                &after,
            )
            .await?;
        }
        txn.commit().await?;
        Ok(after)
    }

    /// The PENDING service record of an attended interval (none for zero minutes).
    async fn credit(
        &self,
        conn: &impl ConnectionTrait,
        attendance: &attendances::Model,
        event: &events::Model,
        out_at: DateTime<Utc>,
        needs_review: bool,
    ) -> Result<()> {
        let minutes = credited_minutes(
            attendance.check_in_at,
            out_at,
            event.starts_at,
            event.ends_at,
        );
        if minutes == 0 {
            return Ok(());
        }
        let now = Utc::now();
        service_records::ActiveModel {
            volunteer_id: Set(attendance.volunteer_id),
            team_id: Set(event.team_id),
            event_id: Set(Some(event.id)),
            attendance_id: Set(Some(attendance.id)),
            minutes: Set(minutes),
            service_date: Set(event
                .starts_at
                .with_timezone(&self.deps.timezone)
                .date_naive()),
            status: Set(RecordStatus::Pending),
            note: Set(None),
            needs_review: Set(needs_review),
            reviewer_id: Set(None),
            reviewed_at: Set(None),
            reason: Set(None),
            created_by: Set(attendance.check_in_by),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(conn)
        .await?;
        Ok(())
    }

    /// Closes check-ins left open on events that ended more than two hours ago, at the event's
    /// end, flagging their records for review. Returns how many it closed. Each event on its
    /// own: one that fails is logged and set aside (`workers`), the others are closed.
    pub async fn close_stale(&self) -> Result<u64> {
        let cutoff = Utc::now() - AUTO_CLOSE_AFTER;
        let with_open_check_ins = attendances::Entity::find()
            .select_only()
            .column(attendances::Column::EventId)
            .filter(attendances::Column::CheckOutAt.is_null())
            .into_query();
        let stale_events = events::Entity::find()
            .filter(events::Column::EndsAt.lt(cutoff))
            .filter(events::Column::Id.in_subquery(with_open_check_ins))
            .filter(events::Column::Id.is_not_in(self.stale_set_aside.waiting()))
            .limit(200)
            .all(&self.deps.store.db)
            .await?;
        let mut closed = 0;
        for event in stale_events {
            let id = event.id;
            match workers::isolated(self.close_stale_of(event)).await {
                Ok(count) => {
                    self.stale_set_aside.succeeded(&id);
                    closed += count;
                }
                Err(error) if workers::is_outage(&error) => return Err(error),
                Err(error) => {
                    let attempts = self.stale_set_aside.failed(id);
                    tracing::warn!(event = id, attempts, %error, "closing stale check-ins failed; set aside");
                }
            }
        }
        Ok(closed)
    }

    async fn close_stale_of(&self, event: events::Model) -> Result<u64> {
        let mut closed = 0;
        let txn = self.deps.store.write().await?;
        let stale = attendances::Entity::find()
            .filter(attendances::Column::EventId.eq(event.id))
            .filter(attendances::Column::CheckOutAt.is_null())
            .all(&*txn)
            .await?;
        for attendance in stale {
            // The sign-up before its attendance, the order check-out takes them in.
            restore_attended(&*txn, attendance.sign_up_id).await?;
            let updated = attendances::Entity::update_many()
                .col_expr(attendances::Column::CheckOutAt, Expr::value(event.ends_at))
                .col_expr(attendances::Column::AutoClosed, Expr::value(true))
                .filter(attendances::Column::Id.eq(attendance.id))
                .filter(attendances::Column::CheckOutAt.is_null())
                .exec(&*txn)
                .await?;
            // A cancelled event or sign-up earns no minutes, but its check-in is still closed.
            let sign_up = sign_ups::Entity::find_by_id(attendance.sign_up_id)
                .one(&*txn)
                .await?;
            let counts = event.status != EventStatus::Cancelled
                && sign_up.is_some_and(|s| attended_status(s.status));
            if updated.rows_affected == 1 {
                if counts {
                    self.credit(&*txn, &attendance, &event, event.ends_at, true)
                        .await?;
                }
                closed += 1;
            }
        }
        txn.commit().await?;
        Ok(closed)
    }

    /// Marks CONFIRMED sign-ups of events over for more than two hours, with no check-in, as
    /// NO_SHOW (after `close_stale`, so nobody who checked in is marked). Returns how many. Each
    /// event on its own, as in `close_stale`.
    pub async fn mark_no_shows(&self) -> Result<u64> {
        let cutoff = Utc::now() - AUTO_CLOSE_AFTER;
        // NOT EXISTS (an anti-join on the unique sign_up_id index), not NOT IN: PostgreSQL
        // rescans a NOT IN subquery per candidate row.
        let missing = sign_ups::Entity::find()
            .filter(sign_ups::Column::Status.eq(SignUpStatus::Confirmed))
            .filter(sign_ups::Column::EndsAt.lt(cutoff))
            // Only the last week: older events were settled by earlier runs.
            .filter(sign_ups::Column::EndsAt.gt(cutoff - Duration::days(7)))
            .filter(sign_ups::Column::EventId.is_not_in(self.no_shows_set_aside.waiting()))
            .filter(no_check_in())
            .limit(500)
            .all(&self.deps.store.db)
            .await?;
        let mut by_event: HashMap<i64, Vec<i64>> = HashMap::new();
        for sign_up in missing {
            by_event
                .entry(sign_up.event_id)
                .or_default()
                .push(sign_up.id);
        }
        let mut marked = 0;
        for (event_id, ids) in by_event {
            match workers::isolated(self.mark_no_shows_of(event_id, ids)).await {
                Ok(count) => {
                    self.no_shows_set_aside.succeeded(&event_id);
                    marked += count;
                }
                Err(error) if workers::is_outage(&error) => return Err(error),
                Err(error) => {
                    let attempts = self.no_shows_set_aside.failed(event_id);
                    tracing::warn!(event = event_id, attempts, %error, "marking no-shows failed; set aside");
                }
            }
        }
        Ok(marked)
    }

    async fn mark_no_shows_of(&self, event_id: i64, ids: Vec<i64>) -> Result<u64> {
        let txn = self.deps.store.write().await?;
        let event = self.events.find(&*txn, EventId(event_id)).await?;
        let updated = sign_ups::Entity::update_many()
            .col_expr(sign_ups::Column::Status, Expr::value(SignUpStatus::NoShow))
            .col_expr(sign_ups::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(sign_ups::Column::Id.is_in(ids))
            .filter(sign_ups::Column::Status.eq(SignUpStatus::Confirmed))
            // Re-checked here: a check-in may have landed since the candidates were read.
            .filter(no_check_in())
            .exec(&*txn)
            .await?;
        stats::mark_team_day(&txn, self.deps.timezone, event.team_id, event.starts_at);
        txn.commit().await?;
        Ok(updated.rows_affected)
    }

    /// Attendance of each sign-up, for DataLoaders.
    pub async fn for_sign_ups(&self, ids: &[SignUpId]) -> Result<HashMap<SignUpId, Attendance>> {
        let rows = attendances::Entity::find()
            .filter(attendances::Column::SignUpId.is_in(ids.iter().map(|id| id.0)))
            .all(&self.deps.store.db)
            .await?;
        Ok(rows
            .into_iter()
            .map(|row| (SignUpId(row.sign_up_id), Attendance::from(row)))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap() + Duration::minutes(minutes)
    }

    #[test]
    fn only_the_overlap_with_the_event_is_credited() {
        let (starts, ends) = (at(0), at(120));
        assert_eq!(credited_minutes(at(-30), at(60), starts, ends), 60);
        assert_eq!(credited_minutes(at(10), at(200), starts, ends), 110);
        assert_eq!(
            credited_minutes(at(-30), at(300), starts, ends),
            120,
            "never more than the event's length"
        );
        assert_eq!(credited_minutes(at(130), at(200), starts, ends), 0);
        assert_eq!(credited_minutes(at(10), at(10), starts, ends), 0);
    }
}
