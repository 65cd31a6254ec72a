//! Attendance: checking in and out on site (by GPS, or by hand by a leader), and the PENDING
//! service record a check-out creates (invariant 6). The workers' upkeep (closing stale
//! check-ins, marking no-shows) is `upkeep`.

mod upkeep;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    sea_query::Expr,
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
use crate::workers::SetAside;

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

/// When a moment happened: the time the phone sent (it was offline), never in the future beyond
/// a little clock skew, else now.
fn moment(at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Result<DateTime<Utc>> {
    match at {
        Some(at) if at > now + FUTURE_SKEW => {
            Err(Error::invalid("at", "must not be in the future"))
        }
        Some(at) => crate::dates::check_instant(at, "at"),
        None => Ok(now),
    }
}

/// Whether a check-in at `at` may be recorded: on a confirmed sign-up of an event that was not
/// cancelled, from 30 minutes before its start until its end (`window`). A time the phone `sent`
/// outside the window is bad input; the present moment outside it, a conflict.
fn check_in_allowed(
    sign_up: SignUpStatus,
    event: EventStatus,
    (starts_at, ends_at): (DateTime<Utc>, DateTime<Utc>),
    at: DateTime<Utc>,
    sent: bool,
) -> Result<()> {
    // A report made while the phone was offline may arrive after the volunteer was marked a
    // no-show (two hours after the end): it stands, and makes them attended after all.
    if sign_up != SignUpStatus::Confirmed && !revives_no_show(sign_up, sent) {
        return Err(Error::conflict("only a confirmed sign-up can check in"));
    }
    if event == EventStatus::Cancelled {
        return Err(Error::conflict("this event was cancelled"));
    }
    if at < starts_at - CHECK_IN_OPENS_BEFORE || at > ends_at {
        let message = "check-in is open from 30 minutes before the start until the end";
        return Err(if sent {
            Error::invalid("at", message)
        } else {
            Error::conflict(message)
        });
    }
    Ok(())
}

/// A volunteer checking themself in must be within the event's radius.
fn check_position(event: &events::Model, position: Option<(Position, Option<f64>)>) -> Result<()> {
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

/// Whether a check-out at `at` may close an attendance checked in at `checked_in_at`: not before
/// it, and a time the phone `sent` no later than two hours after the event's end.
fn check_out_allowed(
    at: DateTime<Utc>,
    checked_in_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    sent: bool,
) -> Result<()> {
    if at < checked_in_at {
        return Err(Error::invalid("at", "must not be before the check-in"));
    }
    if sent && at > ends_at + AUTO_CLOSE_AFTER {
        return Err(Error::invalid(
            "at",
            "must be within two hours after the event's end",
        ));
    }
    Ok(())
}

/// Latitude, longitude and accuracy as stored, from a phone's report.
fn coordinates(
    position: Option<(Position, Option<f64>)>,
) -> (Option<f64>, Option<f64>, Option<f64>) {
    match position {
        Some((position, accuracy)) => (Some(position.lat), Some(position.lng), accuracy),
        None => (None, None, None),
    }
}

/// Holds the sign-up while it is still confirmed: a cancellation landing meanwhile waits, then
/// finds a check-in, instead of leaving one behind on a cancelled sign-up.
/// Whether a check-in reported after the fact (`at` sent) turns a no-show into an attendance.
fn revives_no_show(status: SignUpStatus, sent: bool) -> bool {
    sent && status == SignUpStatus::NoShow
}

/// Holds the sign-up while it is still confirmed (or the no-show an offline report revives,
/// which becomes confirmed): a cancellation landing meanwhile waits, then finds a check-in,
/// instead of leaving one behind on a cancelled sign-up.
async fn hold_confirmed(conn: &impl ConnectionTrait, sign_up: i64, revives: bool) -> Result<()> {
    let holdable = if revives {
        vec![SignUpStatus::Confirmed, SignUpStatus::NoShow]
    } else {
        vec![SignUpStatus::Confirmed]
    };
    let held = sign_ups::Entity::update_many()
        .col_expr(
            sign_ups::Column::Status,
            Expr::value(sea_orm::ActiveEnum::to_value(&SignUpStatus::Confirmed)),
        )
        .filter(sign_ups::Column::Id.eq(sign_up))
        .filter(sign_ups::Column::Status.is_in(holdable))
        .exec(conn)
        .await?;
    if held.rows_affected != 1 {
        return Err(Error::conflict("only a confirmed sign-up can check in"));
    }
    Ok(())
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

    /// The sign-up, its event and who records a moment of it: the volunteer themself, or a
    /// leader of the team (for whoever may not, someone else's sign-up is not there).
    async fn open(
        &self,
        conn: &impl ConnectionTrait,
        actor: &Actor,
        sign_up: SignUpId,
    ) -> Result<(sign_ups::Model, events::Model, Recorder)> {
        let sign_up = sign_ups::Entity::find_by_id(sign_up.0)
            .one(conn)
            .await?
            .ok_or(Error::NotFound("sign-up"))?;
        let event = self.events.find(conn, EventId(sign_up.event_id)).await?;
        if sign_up.volunteer_id == actor.volunteer.0 {
            return Ok((sign_up, event, Recorder::SelfByGps));
        }
        self.teams
            .require(conn, actor, TeamId(event.team_id), |actor, tree, scope| {
                policy::check_manages_team(actor, tree, scope)
                    .map_err(|_| Error::NotFound("sign-up"))
            })
            .await?;
        Ok((sign_up, event, Recorder::Leader))
    }

    pub async fn check_in(&self, actor: &Actor, input: CheckInput) -> Result<Attendance> {
        let at = moment(input.at, Utc::now())?;
        let txn = self.deps.store.write().await?;
        let (sign_up, event, recorder) = self.open(&*txn, actor, input.sign_up_id).await?;
        let window = (event.starts_at, event.ends_at);
        check_in_allowed(sign_up.status, event.status, window, at, input.at.is_some())?;
        if matches!(recorder, Recorder::SelfByGps) {
            check_position(&event, input.position)?;
        }
        hold_confirmed(
            &*txn,
            sign_up.id,
            revives_no_show(sign_up.status, input.at.is_some()),
        )
        .await?;
        let (lat, lng, accuracy) = coordinates(input.position);
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
            let action = "attendance.check_in";
            audit_by_leader(&*txn, actor, &event, action, None, &attendance).await?;
        }
        stats::mark_team_day(&txn, self.deps.timezone, event.team_id, event.starts_at);
        txn.commit().await?;
        Ok(attendance)
    }

    pub async fn check_out(&self, actor: &Actor, input: CheckInput) -> Result<Attendance> {
        let at = moment(input.at, Utc::now())?;
        let txn = self.deps.store.write().await?;
        let (sign_up, event, recorder) = self.open(&*txn, actor, input.sign_up_id).await?;
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
        check_out_allowed(
            at,
            attendance.check_in_at,
            event.ends_at,
            input.at.is_some(),
        )?;
        let (lat, lng, accuracy) = coordinates(input.position);
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
            let action = "attendance.check_out";
            audit_by_leader(&*txn, actor, &event, action, Some(&before), &after).await?;
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

    fn field_or_conflict(result: Result<()>) -> String {
        match result {
            Err(Error::InvalidInput { field, .. }) => field,
            Err(Error::Conflict(_)) => "CONFLICT".into(),
            other => panic!("neither: {other:?}"),
        }
    }

    #[test]
    fn check_in_opens_half_an_hour_before_the_start_and_closes_at_the_end() {
        let window = (at(0), at(120));
        let allowed = |at, sent| {
            check_in_allowed(
                SignUpStatus::Confirmed,
                EventStatus::Published,
                window,
                at,
                sent,
            )
        };
        assert!(allowed(at(-30), false).is_ok());
        assert!(allowed(at(120), true).is_ok());
        // Outside the window: a time the phone sent is bad input, the present a conflict.
        assert_eq!(field_or_conflict(allowed(at(-31), true)), "at");
        assert_eq!(field_or_conflict(allowed(at(121), false)), "CONFLICT");
    }

    #[test]
    fn only_a_confirmed_sign_up_of_a_live_event_checks_in() {
        let window = (at(0), at(120));
        for status in [SignUpStatus::Waitlisted, SignUpStatus::Cancelled] {
            let result = check_in_allowed(status, EventStatus::Published, window, at(0), false);
            assert_eq!(field_or_conflict(result), "CONFLICT");
        }
        let cancelled = check_in_allowed(
            SignUpStatus::Confirmed,
            EventStatus::Cancelled,
            window,
            at(0),
            false,
        );
        assert_eq!(field_or_conflict(cancelled), "CONFLICT");
    }

    #[test]
    fn a_no_show_checks_in_only_by_a_report_sent_after_the_fact() {
        let window = (at(0), at(120));
        let live = check_in_allowed(
            SignUpStatus::NoShow,
            EventStatus::Published,
            window,
            at(5),
            false,
        );
        assert_eq!(field_or_conflict(live), "CONFLICT");
        let offline = check_in_allowed(
            SignUpStatus::NoShow,
            EventStatus::Published,
            window,
            at(5),
            true,
        );
        assert!(offline.is_ok());
        assert!(revives_no_show(SignUpStatus::NoShow, true));
        assert!(!revives_no_show(SignUpStatus::Confirmed, true));
    }

    #[test]
    fn a_check_out_follows_the_check_in_and_a_sent_time_the_end_by_two_hours_at_most() {
        let (checked_in, ends) = (at(10), at(120));
        assert!(check_out_allowed(at(60), checked_in, ends, true).is_ok());
        assert_eq!(
            field_or_conflict(check_out_allowed(at(9), checked_in, ends, false)),
            "at"
        );
        assert!(check_out_allowed(at(240), checked_in, ends, true).is_ok());
        assert_eq!(
            field_or_conflict(check_out_allowed(at(241), checked_in, ends, true)),
            "at"
        );
        // The present moment is never too late: the check-out is simply recorded.
        assert!(check_out_allowed(at(600), checked_in, ends, false).is_ok());
    }

    #[test]
    fn a_sent_moment_may_not_lie_in_the_future_beyond_clock_skew() {
        let now = at(0);
        assert_eq!(moment(None, now).unwrap(), now);
        assert_eq!(moment(Some(at(-5)), now).unwrap(), at(-5));
        assert!(moment(Some(now + FUTURE_SKEW), now).is_ok());
        assert!(moment(Some(now + FUTURE_SKEW + Duration::seconds(1)), now).is_err());
    }
}
