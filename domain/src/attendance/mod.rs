//! Attendance: checking in and out on site (by GPS, or by hand by a leader), and the PENDING
//! service record a check-out creates (invariant 6). Reports made offline are kept, marked and
//! flagged for review; the rules are `rules`. Leaders' corrections after the fact
//! (`markAttendance`, `addWalkIn`) are `corrections`; the workers' upkeep (closing stale
//! check-ins, marking no-shows) is `upkeep`.

mod corrections;
mod on_duty;
mod rules;
mod upkeep;
mod writes;

pub use corrections::{CORRECTIONS_FOR, Correction, REASON_MAX, WalkIn};
pub use rules::{
    AUTO_CLOSE_AFTER, CHECK_IN_OPENS_BEFORE, OFFLINE_ACCEPTED_FOR, OFFLINE_AFTER, ReviewCauses,
    credited_minutes, is_offline,
};
use rules::{
    Report, attended_status, check_in_allowed, check_offline_accepted, check_out_allowed,
    check_position, moment, offline_minutes, revives_no_show,
};
use writes::{
    audit_by_leader, close, coordinates, hold_confirmed, new_attendance, own_offline_check_in,
    restore_attended,
};

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
};
use serde::{Deserialize, Serialize};

use crate::actor::Actor;
use crate::deps::Deps;
use crate::duty::Duty;
use crate::entity::{attendances, events, service_records, sign_ups};
use crate::error::{Error, Result};
use crate::events::Events;
use crate::geo::Position;
use crate::ids::{AttendanceId, EventId, SignUpId, TeamId, VolunteerId};
use crate::kinds::{EventStatus, RecordStatus, SignUpStatus};
use crate::policy;
use crate::stats;
use crate::store::{is_unique_violation, lock_event};
use crate::teams::Teams;
use crate::workers::SetAside;

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
    /// When the check-in report reached the server (`None` only for rows recorded before the
    /// server kept it).
    #[serde(default)]
    pub received_at: Option<DateTime<Utc>>,
    /// When the check-out report reached the server.
    #[serde(default)]
    pub check_out_received_at: Option<DateTime<Utc>>,
    /// The check-in reached the server more than ten minutes after its time.
    #[serde(default)]
    pub check_in_offline: bool,
    /// The check-out reached the server more than ten minutes after its time.
    #[serde(default)]
    pub check_out_offline: bool,
}

impl Attendance {
    /// Either report was made offline.
    pub fn offline(&self) -> bool {
        self.check_in_offline || self.check_out_offline
    }
}

impl From<attendances::Model> for Attendance {
    fn from(row: attendances::Model) -> Self {
        let position = |lat: Option<f64>, lng: Option<f64>| {
            Some(Position {
                lat: lat?,
                lng: lng?,
            })
        };
        let check_in_offline = offline_minutes(row.check_in_at, row.check_in_received_at).is_some();
        let check_out_offline = row
            .check_out_at
            .is_some_and(|at| offline_minutes(at, row.check_out_received_at).is_some());
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
            received_at: row.check_in_received_at,
            check_out_received_at: row.check_out_received_at,
            check_in_offline,
            check_out_offline,
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

pub struct AttendanceService {
    deps: Deps,
    teams: Arc<Teams>,
    /// Who is on duty for quick response: a live check-in puts its volunteer on duty.
    duty: Arc<Duty>,
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
    pub fn new(deps: Deps, teams: Arc<Teams>, events: Arc<Events>, duty: Arc<Duty>) -> Self {
        Self {
            deps,
            teams,
            duty,
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

    /// Records a check-in. A report reaching the server more than ten minutes after its time
    /// (`at`) was made offline: kept, marked, and accepted until 24 hours after the event's end.
    pub async fn check_in(&self, actor: &Actor, input: CheckInput) -> Result<Attendance> {
        let now = Utc::now();
        let at = moment(input.at, now)?;
        let txn = self.deps.store.write().await?;
        // The event's lock first (the order of `WriteTxn`): its times cannot move under this
        // check-in, and a change of them finds it once committed.
        if let Some(row) = sign_ups::Entity::find_by_id(input.sign_up_id.0)
            .one(&*txn)
            .await?
        {
            lock_event(&*txn, EventId(row.event_id)).await?;
        }
        let (sign_up, event, recorder) = self.open(&*txn, actor, input.sign_up_id).await?;
        let window = (event.starts_at, event.ends_at);
        check_in_allowed(sign_up.status, event.status, window, at, input.at.is_some())?;
        check_offline_accepted(is_offline(at, now), event.ends_at, now)?;
        if matches!(recorder, Recorder::SelfByGps) {
            check_position(&event, input.position, Report::CheckIn)?;
        }
        // A report sent after the fact may revive a no-show even when the marking committed
        // after the status above was read (the marker takes no event lock): the update decides.
        let may_revive = revives_no_show(SignUpStatus::NoShow, input.at.is_some());
        hold_confirmed(&*txn, sign_up.id, may_revive).await?;
        let (lat, lng, accuracy) = coordinates(input.position);
        let row = new_attendance(&sign_up, actor, at, now);
        let row = attendances::ActiveModel {
            check_in_lat: Set(lat),
            check_in_lng: Set(lng),
            check_in_accuracy_m: Set(accuracy),
            ..row
        }
        .insert(&*txn)
        .await
        .map_err(|error| {
            if is_unique_violation(&error) {
                Error::conflict("already-checked-in")
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
        if let (Recorder::SelfByGps, Some((position, _)), None) =
            (recorder, input.position, input.at)
        {
            self.start_duty(actor.volunteer, position, event.ends_at)
                .await;
        }
        Ok(attendance)
    }

    /// Records a check-out and the PENDING record of the attended part of the event. The
    /// volunteer's own check-out is held to the event's radius like their check-in; a leader
    /// checks a member out by hand without a position. Offline reports as in `check_in`; a
    /// record with an offline report of the volunteer's is flagged for review, with the reason.
    pub async fn check_out(&self, actor: &Actor, input: CheckInput) -> Result<Attendance> {
        let now = Utc::now();
        let at = moment(input.at, now)?;
        let txn = self.deps.store.write().await?;
        let (sign_up, event, recorder) = self.open(&*txn, actor, input.sign_up_id).await?;
        if !attended_status(sign_up.status) || event.status == EventStatus::Cancelled {
            return Err(Error::conflict("sign-up-or-event-was-cancelled"));
        }
        restore_attended(&*txn, sign_up.id).await?;
        let attendance = attendances::Entity::find()
            .filter(attendances::Column::SignUpId.eq(sign_up.id))
            .one(&*txn)
            .await?
            .ok_or_else(|| Error::conflict("check-in-before-checking-out"))?;
        if attendance.check_out_at.is_some() {
            return Err(Error::conflict("already-checked-out"));
        }
        let sent = input.at.is_some();
        check_out_allowed(at, attendance.check_in_at, event.ends_at, sent)?;
        check_offline_accepted(is_offline(at, now), event.ends_at, now)?;
        let by_self = matches!(recorder, Recorder::SelfByGps);
        if by_self {
            check_position(&event, input.position, Report::CheckOut)?;
        }
        close(&txn, actor, attendance.id, at, input.position, now).await?;
        let causes = ReviewCauses {
            offline_check_in: own_offline_check_in(&attendance),
            offline_check_out: by_self.then(|| offline_minutes(at, Some(now))).flatten(),
            auto_closed: false,
        };
        self.credit(&*txn, &attendance, &event, at, causes, None)
            .await?;
        let row = attendances::Entity::find_by_id(attendance.id)
            .one(&*txn)
            .await?
            .ok_or(Error::NotFound("attendance"))?;
        let after = Attendance::from(row);
        if !by_self {
            let before = Attendance::from(attendance);
            let action = "attendance.check_out";
            audit_by_leader(&*txn, actor, &event, action, Some(&before), &after).await?;
        }
        txn.commit().await?;
        self.end_duty(after.volunteer_id).await;
        Ok(after)
    }

    /// The PENDING service record of an attended interval (none for zero minutes), flagged for
    /// review with the reason when anything in how it was reported needs a look (`causes`).
    async fn credit(
        &self,
        conn: &impl ConnectionTrait,
        attendance: &attendances::Model,
        event: &events::Model,
        out_at: DateTime<Utc>,
        causes: ReviewCauses,
        note: Option<String>,
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
            note: Set(note),
            needs_review: Set(causes.needs_review()),
            review_reason: Set(causes.reason()),
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
