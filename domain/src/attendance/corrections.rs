//! Leaders' corrections after the fact: `mark_attendance` records (or completes) the attendance
//! of a sign-up, also turning a NO_SHOW into attended; `add_walk_in` records a member of the
//! team who came without signing up. Both within 7 days after the event's end, by a leader or
//! deputy of its team (`policy::check_corrects_attendance`), creating the PENDING record a
//! check-out creates, recorded as by the leader and audited.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};

use super::rules::{AUTO_CLOSE_AFTER, CHECK_IN_OPENS_BEFORE, ReviewCauses, attended_status};
use super::writes::{audit_by_leader, close, new_attendance, restore_attended};
use super::{Attendance, AttendanceService};
use crate::actor::Actor;
use crate::bus::Change;
use crate::deps::{text, whole_seconds};
use crate::entity::{attendances, events, sign_ups};
use crate::error::{Error, Result};
use crate::ids::{EventId, SignUpId, TeamId, VolunteerId};
use crate::kinds::{EventStatus, SignUpStatus};
use crate::policy;
use crate::signups::SignUp;
use crate::stats;
use crate::store::{WriteTxn, lock_event, lock_volunteer};

/// Leaders correct attendance until this long after the event's end.
pub const CORRECTIONS_FOR: Duration = Duration::days(7);
/// The longest reason a leader gives for a correction, in characters.
pub const REASON_MAX: usize = 500;

/// `markAttendance`: the sign-up was attended from `check_in_at` to `check_out_at`.
#[derive(Debug, Clone)]
pub struct Correction {
    pub sign_up_id: SignUpId,
    pub check_in_at: DateTime<Utc>,
    pub check_out_at: DateTime<Utc>,
    pub reason: String,
}

/// `addWalkIn`: a member of the team came without signing up.
#[derive(Debug, Clone)]
pub struct WalkIn {
    pub event_id: EventId,
    pub volunteer_id: VolunteerId,
    pub check_in_at: DateTime<Utc>,
    pub check_out_at: DateTime<Utc>,
    pub reason: String,
}

/// A leader's correction after the fact: after the event ended and within 7 days of it, for an
/// event not cancelled; a check-in from 30 minutes before the start until the end, a check-out
/// after it and no later than two hours after the end (as a phone's report may say); a reason of
/// 1 to 500 characters. Returns the reason as stored.
pub(super) fn check_correction(
    status: EventStatus,
    (starts_at, ends_at): (DateTime<Utc>, DateTime<Utc>),
    check_in_at: DateTime<Utc>,
    check_out_at: DateTime<Utc>,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<String> {
    if status == EventStatus::Cancelled {
        return Err(Error::conflict("event-was-cancelled"));
    }
    if now < ends_at {
        return Err(Error::conflict("event-has-not-ended-check-members"));
    }
    if now > ends_at + CORRECTIONS_FOR {
        return Err(Error::conflict("attendance-can-be-corrected-until-7"));
    }
    let check_in_at = crate::dates::check_instant(check_in_at, "checkInAt")?;
    let check_out_at = crate::dates::check_instant(check_out_at, "checkOutAt")?;
    if check_in_at < starts_at - CHECK_IN_OPENS_BEFORE || check_in_at > ends_at {
        return Err(Error::invalid(
            "checkInAt",
            "must-lie-from-30-minutes-before",
        ));
    }
    if check_out_at <= check_in_at {
        return Err(Error::invalid("checkOutAt", "must-be-after-checkinat"));
    }
    if check_out_at > ends_at + AUTO_CLOSE_AFTER {
        return Err(Error::invalid(
            "checkOutAt",
            "must-be-within-two-hours-after",
        ));
    }
    text(reason, "reason", 1, REASON_MAX, false)
}

impl AttendanceService {
    /// Records the attendance of a confirmed or no-show sign-up after the event, or completes a
    /// check-in nobody checked out of; the sign-up counts as attended. Returns the sign-up.
    pub async fn mark_attendance(&self, actor: &Actor, input: Correction) -> Result<SignUp> {
        let now = Utc::now();
        let txn = self.deps.store.write().await?;
        let sign_up = find_sign_up(&txn, input.sign_up_id).await?;
        lock_event(&*txn, EventId(sign_up.event_id)).await?;
        let sign_up = find_sign_up(&txn, input.sign_up_id).await?;
        let event = self.events.find(&*txn, EventId(sign_up.event_id)).await?;
        let volunteer = VolunteerId(sign_up.volunteer_id);
        // Someone else's sign-up is not there for whoever may not correct it.
        self.teams
            .require(&*txn, actor, TeamId(event.team_id), |actor, _, scope| {
                policy::check_corrects_attendance(actor, scope, volunteer).map_err(|error| {
                    if scope.actor_role.is_some() {
                        error
                    } else {
                        Error::NotFound("sign-up")
                    }
                })
            })
            .await?;
        let (check_in_at, check_out_at) = (
            whole_seconds(input.check_in_at),
            whole_seconds(input.check_out_at),
        );
        let window = (event.starts_at, event.ends_at);
        let reason = check_correction(
            event.status,
            window,
            check_in_at,
            check_out_at,
            &input.reason,
            now,
        )?;
        if !attended_status(sign_up.status) {
            return Err(Error::conflict("only-confirmed-sign-up-or-no"));
        }
        restore_attended(&*txn, sign_up.id).await?;
        let existing = attendances::Entity::find()
            .filter(attendances::Column::SignUpId.eq(sign_up.id))
            .one(&*txn)
            .await?;
        if existing.as_ref().is_some_and(|a| a.check_out_at.is_some()) {
            return Err(Error::conflict(
                "attendance-already-recorded-review-service-record",
            ));
        }
        let before = existing.clone().map(Attendance::from);
        let times = (check_in_at, check_out_at, now);
        let attendance = self
            .record(&txn, actor, &sign_up, existing, &event, times, reason)
            .await?;
        let action = "attendance.mark";
        audit_by_leader(&*txn, actor, &event, action, before.as_ref(), &attendance).await?;
        let after = find_sign_up(&txn, input.sign_up_id).await?;
        txn.commit().await?;
        Ok(SignUp::from(after))
    }

    /// Records a member of the event's team who came without signing up: a CONFIRMED sign-up
    /// with its attendance. Someone already signed up is corrected with `mark_attendance`.
    pub async fn add_walk_in(&self, actor: &Actor, input: WalkIn) -> Result<SignUp> {
        let now = Utc::now();
        let txn = self.deps.store.write().await?;
        // The volunteer's lock, then the event's (the order of `WriteTxn`): the overlap check
        // below holds as it does for a sign-up.
        lock_volunteer(&*txn, input.volunteer_id).await?;
        lock_event(&*txn, input.event_id).await?;
        let event = self.events.find(&*txn, input.event_id).await?;
        let team = TeamId(event.team_id);
        self.teams
            .require(&*txn, actor, team, |actor, _, scope| {
                policy::check_corrects_attendance(actor, scope, input.volunteer_id)
            })
            .await?;
        let (check_in_at, check_out_at) = (
            whole_seconds(input.check_in_at),
            whole_seconds(input.check_out_at),
        );
        let window = (event.starts_at, event.ends_at);
        let reason = check_correction(
            event.status,
            window,
            check_in_at,
            check_out_at,
            &input.reason,
            now,
        )?;
        let member = self.teams.role_of(&*txn, input.volunteer_id, team).await?;
        if member.is_none() {
            return Err(Error::invalid(
                "volunteerId",
                "not-active-member-of-event-s",
            ));
        }
        check_walk_in_free(&txn, input.volunteer_id, &event).await?;
        let sign_up = sign_ups::ActiveModel {
            event_id: Set(event.id),
            volunteer_id: Set(input.volunteer_id.0),
            status: Set(SignUpStatus::Confirmed),
            starts_at: Set(event.starts_at),
            ends_at: Set(event.ends_at),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(&*txn)
        .await?;
        count_walk_in(&txn, input.event_id).await?;
        let times = (check_in_at, check_out_at, now);
        let attendance = self
            .record(&txn, actor, &sign_up, None, &event, times, reason)
            .await?;
        let action = "attendance.walk_in";
        audit_by_leader(&*txn, actor, &event, action, None, &attendance).await?;
        txn.changed(Change::Event(input.event_id));
        txn.commit().await?;
        Ok(SignUp::from(sign_up))
    }

    /// Writes the attendance a leader states (completing an open one, else a new one), closed by
    /// the leader, and its PENDING record with the reason as its note.
    #[allow(clippy::too_many_arguments)]
    async fn record(
        &self,
        txn: &WriteTxn<'_>,
        actor: &Actor,
        sign_up: &sign_ups::Model,
        open: Option<attendances::Model>,
        event: &events::Model,
        (check_in_at, check_out_at, now): (DateTime<Utc>, DateTime<Utc>, DateTime<Utc>),
        reason: String,
    ) -> Result<Attendance> {
        let checked_in = match open {
            Some(open) => {
                let mut open: attendances::ActiveModel = open.into();
                open.check_in_at = Set(check_in_at);
                open.check_in_lat = Set(None);
                open.check_in_lng = Set(None);
                open.check_in_accuracy_m = Set(None);
                open.check_in_by = Set(actor.volunteer.0);
                open.check_in_received_at = Set(Some(now));
                open.update(&**txn).await?
            }
            None => {
                new_attendance(sign_up, actor, check_in_at, now)
                    .insert(&**txn)
                    .await?
            }
        };
        close(txn, actor, checked_in.id, check_out_at, None, now).await?;
        let causes = ReviewCauses::default();
        self.credit(
            &**txn,
            &checked_in,
            event,
            check_out_at,
            causes,
            Some(reason),
        )
        .await?;
        stats::mark_team_day(txn, self.deps.timezone, event.team_id, event.starts_at);
        let row = attendances::Entity::find_by_id(checked_in.id)
            .one(&**txn)
            .await?
            .ok_or(Error::NotFound("attendance"))?;
        Ok(Attendance::from(row))
    }
}

async fn find_sign_up(txn: &WriteTxn<'_>, id: SignUpId) -> Result<sign_ups::Model> {
    sign_ups::Entity::find_by_id(id.0)
        .one(&**txn)
        .await?
        .ok_or(Error::NotFound("sign-up"))
}

/// A walk-in is for someone not signed up for the event (else `mark_attendance` records them)
/// and with no confirmed sign-up at the same time elsewhere. Read under the volunteer's lock.
async fn check_walk_in_free(
    txn: &WriteTxn<'_>,
    volunteer: VolunteerId,
    event: &events::Model,
) -> Result<()> {
    let signed_up = sign_ups::Entity::find()
        .filter(sign_ups::Column::EventId.eq(event.id))
        .filter(sign_ups::Column::VolunteerId.eq(volunteer.0))
        .filter(sign_ups::Column::Status.is_in([
            SignUpStatus::Confirmed,
            SignUpStatus::Waitlisted,
            SignUpStatus::NoShow,
        ]))
        .one(&**txn)
        .await?;
    if signed_up.is_some() {
        return Err(Error::conflict("volunteer-signed-up-for-event-mark"));
    }
    let overlapping = sign_ups::Entity::find()
        .filter(sign_ups::Column::VolunteerId.eq(volunteer.0))
        .filter(sign_ups::Column::Status.eq(SignUpStatus::Confirmed))
        .filter(sign_ups::Column::StartsAt.lt(event.ends_at))
        .filter(sign_ups::Column::EndsAt.gt(event.starts_at))
        .one(&**txn)
        .await?;
    if overlapping.is_some() {
        return Err(Error::conflict("volunteer-has-confirmed-sign-up-at"));
    }
    Ok(())
}

/// A walk-in is one more confirmed sign-up of the (ended) event; the count follows the rows even
/// past the capacity, which no longer matters once the event is over.
async fn count_walk_in(txn: &WriteTxn<'_>, event: EventId) -> Result<()> {
    use sea_orm::sea_query::{Expr, ExprTrait as _};
    events::Entity::update_many()
        .col_expr(
            events::Column::ConfirmedCount,
            Expr::col(events::Column::ConfirmedCount).add(1),
        )
        .filter(events::Column::Id.eq(event.0))
        .exec(&**txn)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap() + Duration::minutes(minutes)
    }

    fn field_or_conflict<T: std::fmt::Debug>(result: Result<T>) -> String {
        match result {
            Err(Error::InvalidInput { field, .. }) => field,
            Err(Error::Conflict(_)) => "CONFLICT".into(),
            other => panic!("neither: {other:?}"),
        }
    }

    #[test]
    fn a_correction_comes_after_the_end_within_a_week_with_times_inside_the_window() {
        let window = (at(0), at(120));
        let published = EventStatus::Published;
        let correct = |check_in, check_out, reason: &str, now| {
            check_correction(published, window, check_in, check_out, reason, now)
        };
        let now = at(120 + 60);
        assert_eq!(
            correct(at(0), at(120), " 手机没电 ", now).unwrap(),
            "手机没电"
        );
        assert_eq!(
            field_or_conflict(correct(at(0), at(60), "r", at(119))),
            "CONFLICT"
        );
        let week = 7 * 24 * 60;
        assert!(correct(at(0), at(60), "r", at(120 + week)).is_ok());
        assert_eq!(
            field_or_conflict(correct(at(0), at(60), "r", at(121 + week))),
            "CONFLICT"
        );
        assert_eq!(
            field_or_conflict(correct(at(-31), at(60), "r", now)),
            "checkInAt"
        );
        assert_eq!(
            field_or_conflict(correct(at(121), at(130), "r", now)),
            "checkInAt"
        );
        assert_eq!(
            field_or_conflict(correct(at(60), at(60), "r", now)),
            "checkOutAt"
        );
        assert_eq!(
            field_or_conflict(correct(at(60), at(30), "r", now)),
            "checkOutAt"
        );
        assert_eq!(
            field_or_conflict(correct(at(60), at(241), "r", now)),
            "checkOutAt"
        );
        assert_eq!(
            field_or_conflict(correct(at(0), at(60), "  ", now)),
            "reason"
        );
        let long = "理".repeat(REASON_MAX + 1);
        assert_eq!(
            field_or_conflict(correct(at(0), at(60), &long, now)),
            "reason"
        );
        let cancelled = check_correction(EventStatus::Cancelled, window, at(0), at(60), "r", now);
        assert_eq!(field_or_conflict(cancelled), "CONFLICT");
    }
}
