//! Reviewing a service record: the decision is a pure function (`review_decision`) of the record,
//! the volunteer's day and who reviews; the transaction around it locks the volunteer, reads
//! what the decision needs, applies it by a conditional update and keeps tallies, statistics
//! and the audit log in step.

use chrono::{NaiveDate, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, sea_query::Expr,
};

use super::{
    DAILY_LIMIT, Decision, LEADER_DAILY_LIMIT, Review, ServiceRecord, ServiceRecords,
    approved_minutes, audit_entry, check_fits_event, check_minutes, event_minutes,
};
use crate::actor::Actor;
use crate::areas::AreaTree;
use crate::audit;
use crate::certificates;
use crate::deps::text;
use crate::entity::{events, service_records, teams, volunteers};
use crate::error::{Error, Result};
use crate::ids::{AreaId, ServiceRecordId, TeamId, VolunteerId};
use crate::kinds::RecordStatus;
use crate::policy::{self, TeamScope};
use crate::stats;
use crate::store::{WriteTxn, lock_volunteer};
use crate::tallies::{self, TallyChange};
use crate::text::Text;

/// A record as a review finds it, with what an approval is checked against.
#[derive(Debug, Clone, Copy)]
pub(crate) struct UnderReview {
    pub owner: VolunteerId,
    pub status: RecordStatus,
    pub minutes: i32,
    pub service_date: NaiveDate,
    /// The length of the record's event in minutes, when it has one (read only to approve).
    pub event_minutes: Option<i64>,
    /// Minutes approved for the owner on the service date, this record aside (read only to
    /// approve).
    pub approved_that_day: i32,
}

/// What a review sets: the record's new status and minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Verdict {
    pub status: RecordStatus,
    pub minutes: i32,
}

/// Decides a review by a caller who may review the record at all (`policy::check_reviews_record`
/// passed). An approval credits at most the event's length and at most 12 hours approved on the
/// day; past 8 hours on the day it needs an admin of the area. Asking for what the record already
/// is, is a conflict (a corrected number of minutes is a change).
pub(crate) fn review_decision(
    actor: &Actor,
    tree: &AreaTree,
    scope: TeamScope,
    record: &UnderReview,
    decision: Decision,
    minutes: Option<i32>,
) -> Result<Verdict> {
    let minutes = minutes.unwrap_or(record.minutes);
    let status = match decision {
        Decision::Approve => RecordStatus::Approved,
        Decision::Reject => RecordStatus::Rejected,
    };
    if decision == Decision::Approve {
        if let Some(length) = record.event_minutes {
            check_fits_event(minutes, length)?;
        }
        let day_total = record.approved_that_day + minutes;
        if day_total > DAILY_LIMIT {
            return Err(Error::invalid(
                "minutes",
                Text::new("would-exceed-daily-minutes")
                    .arg("total", day_total)
                    .arg("date", record.service_date),
            ));
        }
        if day_total > LEADER_DAILY_LIMIT {
            policy::check_reviews_record(actor, tree, scope, record.owner, true)?;
        }
    }
    if record.status == status && record.minutes == minutes {
        return Err(Error::conflict(match status {
            RecordStatus::Approved => "record-already-approved",
            _ => "record-already-rejected",
        }));
    }
    Ok(Verdict { status, minutes })
}

/// Checks a review's own arguments: minutes in range, a reason (required to reject). Returns the
/// reason as stored.
fn check_review_input(
    decision: Decision,
    minutes: Option<i32>,
    reason: Option<&str>,
) -> Result<Option<String>> {
    if let Some(minutes) = minutes {
        check_minutes(minutes, "minutes")?;
    }
    let reason = reason
        .map(|r| text(r, "reason", 1, 500, false))
        .transpose()?;
    if decision == Decision::Reject && reason.is_none() {
        return Err(Error::invalid("reason", "required-to-reject"));
    }
    Ok(reason)
}

impl ServiceRecords {
    /// Approves or rejects; re-reviewing a decided record is allowed and replaces its effect.
    /// Reviews of one volunteer are decided one at a time (their row is locked), so two leaders
    /// approving at once count once and the daily limits hold.
    pub async fn review(
        &self,
        actor: &Actor,
        id: ServiceRecordId,
        decision: Decision,
        minutes: Option<i32>,
        reason: Option<&str>,
    ) -> Result<Review> {
        let reason = check_review_input(decision, minutes, reason)?;
        let txn = self.deps.store.write().await?;
        let row = locked_record(&txn, id).await?;
        // Who may review at all is decided first: nothing about the volunteer's day is read (or
        // shown in an error) for someone who may not review.
        let owner = VolunteerId(row.volunteer_id);
        let (team, scope) = self
            .teams
            .require(&*txn, actor, TeamId(row.team_id), |actor, tree, scope| {
                policy::check_reviews_record(actor, tree, scope, owner, false)
            })
            .await?;
        let record = under_review(&*txn, &row, decision).await?;
        let verdict = review_decision(actor, &self.deps.areas, scope, &record, decision, minutes)?;
        let after = apply_verdict(&txn, actor, &row, verdict, reason).await?;
        let before = ServiceRecord::from(row);
        count_review(
            &txn,
            &team,
            &before,
            &after,
            tallies::today(self.deps.timezone),
        )
        .await?;
        if approved_minutes(&after) < approved_minutes(&before) {
            // Hours withdrawn: certificates that counted them no longer tell the truth.
            certificates::revoke_counting(&*txn, after.id.0, approved_minutes(&after), Utc::now())
                .await?;
        }
        let action = match decision {
            Decision::Approve => "service_record.approve",
            Decision::Reject => "service_record.reject",
        };
        let entry = audit_entry(actor, action, &team, Some(&before), &after);
        audit::record(&*txn, entry).await?;
        txn.commit().await?;
        self.deps.tally_changed.notify_one();
        Ok(Review {
            approved_minutes_before: approved_minutes(&before),
            approved_minutes_after: approved_minutes(&after),
            record: after,
        })
    }
}

/// The record, read under its owner's row lock (taken first, as every transaction does).
async fn locked_record(txn: &WriteTxn<'_>, id: ServiceRecordId) -> Result<service_records::Model> {
    let find = || async {
        service_records::Entity::find_by_id(id.0)
            .one(&**txn)
            .await?
            .ok_or(Error::NotFound("service record"))
    };
    lock_volunteer(&**txn, VolunteerId(find().await?.volunteer_id)).await?;
    find().await
}

/// What the decision needs to know about the record; its event and the owner's day are read
/// only for an approval.
async fn under_review(
    conn: &impl ConnectionTrait,
    row: &service_records::Model,
    decision: Decision,
) -> Result<UnderReview> {
    let mut record = UnderReview {
        owner: VolunteerId(row.volunteer_id),
        status: row.status,
        minutes: row.minutes,
        service_date: row.service_date,
        event_minutes: None,
        approved_that_day: 0,
    };
    if decision == Decision::Approve {
        if let Some(event) = row.event_id {
            let event = events::Entity::find_by_id(event)
                .one(conn)
                .await?
                .ok_or(Error::NotFound("event"))?;
            record.event_minutes = Some(event_minutes(&event));
        }
        record.approved_that_day =
            approved_on_day(conn, row.volunteer_id, row.service_date, row.id).await?;
    }
    Ok(record)
}

async fn approved_on_day(
    conn: &impl ConnectionTrait,
    volunteer: i64,
    day: NaiveDate,
    except: i64,
) -> Result<i32> {
    let total: Option<i64> = service_records::Entity::find()
        .select_only()
        .column_as(service_records::Column::Minutes.sum(), "total")
        .filter(service_records::Column::VolunteerId.eq(volunteer))
        .filter(service_records::Column::ServiceDate.eq(day))
        .filter(service_records::Column::Status.eq(RecordStatus::Approved))
        .filter(service_records::Column::Id.ne(except))
        .into_tuple::<Option<i64>>()
        .one(conn)
        .await?
        .flatten();
    Ok(total.unwrap_or(0) as i32)
}

/// Sets the verdict on the record, on condition that it is still as it was read; the record
/// after.
async fn apply_verdict(
    txn: &WriteTxn<'_>,
    actor: &Actor,
    row: &service_records::Model,
    verdict: Verdict,
    reason: Option<String>,
) -> Result<ServiceRecord> {
    let now = Utc::now();
    let updated = service_records::Entity::update_many()
        .col_expr(service_records::Column::Status, Expr::value(verdict.status))
        .col_expr(
            service_records::Column::Minutes,
            Expr::value(verdict.minutes),
        )
        .col_expr(
            service_records::Column::ReviewerId,
            Expr::value(actor.volunteer.0),
        )
        .col_expr(service_records::Column::ReviewedAt, Expr::value(now))
        .col_expr(service_records::Column::Reason, Expr::value(reason))
        .col_expr(service_records::Column::UpdatedAt, Expr::value(now))
        .filter(service_records::Column::Id.eq(row.id))
        .filter(service_records::Column::Status.eq(row.status))
        .filter(service_records::Column::Minutes.eq(row.minutes))
        .exec(&**txn)
        .await?;
    if updated.rows_affected != 1 {
        return Err(Error::conflict("record-was-reviewed-meanwhile-look-again"));
    }
    Ok(ServiceRecord::from(
        service_records::Entity::find_by_id(row.id)
            .one(&**txn)
            .await?
            .ok_or(Error::NotFound("service record"))?,
    ))
}

/// Moves the tallies and marks the team's day for statistics by the change in approved minutes.
async fn count_review(
    txn: &WriteTxn<'_>,
    team: &teams::Model,
    before: &ServiceRecord,
    after: &ServiceRecord,
    today: chrono::NaiveDate,
) -> Result<()> {
    let delta = i64::from(approved_minutes(after)) - i64::from(approved_minutes(before));
    if delta == 0 {
        return Ok(());
    }
    stats::mark_team_date(txn, team.id, before.service_date);
    let owner = volunteers::Entity::find_by_id(before.volunteer_id.0)
        .one(&**txn)
        .await?
        .ok_or(Error::NotFound("volunteer"))?;
    tallies::apply(
        &**txn,
        &TallyChange {
            volunteer: VolunteerId(owner.id),
            volunteer_area: AreaId(owner.area_id),
            team: TeamId(team.id),
            team_area: AreaId(team.area_id),
            team_kind: team.kind,
            day: before.service_date,
            delta,
            today,
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::MemberRole;

    fn leader() -> Actor {
        Actor {
            volunteer: VolunteerId(1),
            admin_areas: Vec::new(),
        }
    }

    fn district_admin() -> Actor {
        Actor {
            volunteer: VolunteerId(9),
            admin_areas: vec![AreaId(2)],
        }
    }

    /// A team in town 4 (district 2), as seen by its leader.
    fn led_team() -> TeamScope {
        TeamScope {
            area: AreaId(4),
            actor_role: Some(MemberRole::Leader),
        }
    }

    fn pending(minutes: i32, approved_that_day: i32) -> UnderReview {
        UnderReview {
            owner: VolunteerId(2),
            status: RecordStatus::Pending,
            minutes,
            service_date: NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
            event_minutes: None,
            approved_that_day,
        }
    }

    fn decide(
        actor: &Actor,
        record: &UnderReview,
        decision: Decision,
        minutes: Option<i32>,
    ) -> Result<Verdict> {
        review_decision(
            actor,
            &crate::areas::test_tree(),
            led_team(),
            record,
            decision,
            minutes,
        )
    }

    fn field_of(result: Result<Verdict>) -> String {
        match result {
            Err(Error::InvalidInput { field, .. }) => field,
            other => panic!("not an input error: {other:?}"),
        }
    }

    #[test]
    fn an_approval_sets_the_minutes_asked_for_or_the_record_s_own() {
        let record = pending(60, 0);
        assert_eq!(
            decide(&leader(), &record, Decision::Approve, None).unwrap(),
            Verdict {
                status: RecordStatus::Approved,
                minutes: 60
            }
        );
        assert_eq!(
            decide(&leader(), &record, Decision::Approve, Some(45))
                .unwrap()
                .minutes,
            45
        );
    }

    #[test]
    fn an_approval_credits_at_most_the_event_s_length() {
        let record = UnderReview {
            event_minutes: Some(90),
            ..pending(60, 0)
        };
        assert!(decide(&leader(), &record, Decision::Approve, Some(90)).is_ok());
        assert_eq!(
            field_of(decide(&leader(), &record, Decision::Approve, Some(91))),
            "minutes"
        );
    }

    #[test]
    fn past_eight_hours_a_day_needs_an_area_admin_and_past_twelve_nobody_approves() {
        // 420 approved already: 60 more is exactly 8 hours, 61 more is past it.
        assert!(decide(&leader(), &pending(60, 420), Decision::Approve, None).is_ok());
        assert!(matches!(
            decide(&leader(), &pending(61, 420), Decision::Approve, None),
            Err(Error::Forbidden(_))
        ));
        assert!(
            decide(
                &district_admin(),
                &pending(61, 420),
                Decision::Approve,
                None
            )
            .is_ok()
        );
        // 12 hours exactly is the most; past it even an admin is refused.
        assert!(
            decide(
                &district_admin(),
                &pending(300, 420),
                Decision::Approve,
                None
            )
            .is_ok()
        );
        assert_eq!(
            field_of(decide(
                &district_admin(),
                &pending(301, 420),
                Decision::Approve,
                None
            )),
            "minutes"
        );
    }

    #[test]
    fn a_rejection_does_not_look_at_the_day() {
        let verdict = decide(&leader(), &pending(600, 700), Decision::Reject, None).unwrap();
        assert_eq!(verdict.status, RecordStatus::Rejected);
    }

    #[test]
    fn asking_for_what_the_record_already_is_is_a_conflict() {
        let approved = UnderReview {
            status: RecordStatus::Approved,
            ..pending(60, 0)
        };
        assert!(matches!(
            decide(&leader(), &approved, Decision::Approve, None),
            Err(Error::Conflict(_))
        ));
        assert!(matches!(
            decide(&leader(), &approved, Decision::Approve, Some(60)),
            Err(Error::Conflict(_))
        ));
        // A corrected number of minutes, or the other decision, is a change.
        assert!(decide(&leader(), &approved, Decision::Approve, Some(50)).is_ok());
        assert!(decide(&leader(), &approved, Decision::Reject, None).is_ok());
        let rejected = UnderReview {
            status: RecordStatus::Rejected,
            ..pending(60, 0)
        };
        assert!(matches!(
            decide(&leader(), &rejected, Decision::Reject, None),
            Err(Error::Conflict(_))
        ));
    }

    #[test]
    fn a_rejection_needs_a_reason_and_minutes_stay_in_range() {
        assert!(check_review_input(Decision::Reject, None, None).is_err());
        assert_eq!(
            check_review_input(Decision::Reject, None, Some(" late ")).unwrap(),
            Some("late".to_owned())
        );
        assert_eq!(
            check_review_input(Decision::Approve, None, None).unwrap(),
            None
        );
        for minutes in [0, DAILY_LIMIT + 1] {
            assert!(check_review_input(Decision::Approve, Some(minutes), None).is_err());
        }
    }
}
