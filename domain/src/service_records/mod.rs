//! Service records: minutes credited from attendance or entered by a leader, reviewed by a
//! leader or deputy of the team (never their own), with long days needing an area admin
//! (`review`).

mod review;

use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait,
};
use serde::{Deserialize, Serialize};

use crate::actor::Actor;
use crate::audit::{self, AuditRecord};
use crate::deps::{Deps, text};
use crate::entity::{events, memberships, service_records, teams};
use crate::error::{Error, Result};
use crate::ids::{AreaId, EventId, ServiceRecordId, TeamId, VolunteerId};
use crate::kinds::{MembershipStatus, RecordStatus};
use crate::page::{Cursor, Page, PageRequest};
use crate::policy;
use crate::teams::Teams;
use crate::text::Text;

/// Approved minutes above this on one day need an admin of the area.
pub const LEADER_DAILY_LIMIT: i32 = 8 * 60;
/// Approved minutes above this on one day are refused.
pub const DAILY_LIMIT: i32 = 12 * 60;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServiceRecord {
    pub id: ServiceRecordId,
    pub volunteer_id: VolunteerId,
    pub team_id: TeamId,
    pub event_id: Option<EventId>,
    pub minutes: i32,
    pub service_date: NaiveDate,
    pub status: RecordStatus,
    pub note: Option<String>,
    pub needs_review: bool,
    /// Why it needs review, for the leader.
    #[serde(default)]
    pub review_reason: Option<String>,
    pub reviewer_id: Option<VolunteerId>,
    pub reviewed_at: Option<DateTime<Utc>>,
    pub reason: Option<String>,
    pub created_by: VolunteerId,
    pub created_at: DateTime<Utc>,
}

impl From<service_records::Model> for ServiceRecord {
    fn from(row: service_records::Model) -> Self {
        Self {
            id: ServiceRecordId(row.id),
            volunteer_id: VolunteerId(row.volunteer_id),
            team_id: TeamId(row.team_id),
            event_id: row.event_id.map(EventId),
            minutes: row.minutes,
            service_date: row.service_date,
            status: row.status,
            note: row.note,
            needs_review: row.needs_review,
            review_reason: row.review_reason,
            reviewer_id: row.reviewer_id.map(VolunteerId),
            reviewed_at: row.reviewed_at,
            reason: row.reason,
            created_by: VolunteerId(row.created_by),
            created_at: row.created_at,
        }
    }
}

pub struct RecordService {
    pub volunteer_id: VolunteerId,
    pub team_id: TeamId,
    pub event_id: Option<EventId>,
    pub minutes: i32,
    pub service_date: NaiveDate,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Approve,
    Reject,
}

#[derive(Default)]
pub struct RecordFilter {
    pub team_id: Option<TeamId>,
    pub area_id: Option<AreaId>,
    pub volunteer_id: Option<VolunteerId>,
    pub status: Option<RecordStatus>,
}

/// What a review changed, for keeping tallies: the record's approved minutes before and after.
#[derive(Debug, Clone)]
pub struct Review {
    pub record: ServiceRecord,
    pub approved_minutes_before: i32,
    pub approved_minutes_after: i32,
}

/// What a record adds to the tallies: its minutes when APPROVED, else nothing.
fn approved_minutes(record: &ServiceRecord) -> i32 {
    if record.status == RecordStatus::Approved {
        record.minutes
    } else {
        0
    }
}

fn check_minutes(minutes: i32, field: &str) -> Result<()> {
    if (1..=DAILY_LIMIT).contains(&minutes) {
        Ok(())
    } else {
        Err(Error::invalid(field, "must-be-from-1-to-720"))
    }
}

/// The length of an event in whole minutes: what a record of it may credit at most.
fn event_minutes(event: &events::Model) -> i64 {
    (event.ends_at - event.starts_at).num_minutes()
}

fn check_fits_event(minutes: i32, event_minutes: i64) -> Result<()> {
    if i64::from(minutes) > event_minutes {
        return Err(Error::invalid(
            "minutes",
            Text::new("must-not-exceed-event-minutes").arg("minutes", event_minutes),
        ));
    }
    Ok(())
}

/// Checks what a leader enters, on its own: minutes, note, and a service date within the last
/// year (and not after `today`, the city's local date). Returns the note as stored.
fn check_new_record(input: &RecordService, today: NaiveDate) -> Result<Option<String>> {
    check_minutes(input.minutes, "minutes")?;
    let note = input
        .note
        .as_deref()
        .map(|n| text(n, "note", 0, 500, true))
        .transpose()?;
    crate::dates::check_day(input.service_date, "serviceDate")?;
    if input.service_date > today {
        return Err(Error::invalid("serviceDate", "must-not-be-in-future"));
    }
    if input.service_date < today - Duration::days(366) {
        return Err(Error::invalid("serviceDate", "must-be-within-last-year"));
    }
    Ok(note)
}

/// Whom and what a new record credits: an active member of the team, and an event of the team
/// that lasted at least the minutes.
async fn check_credited(
    conn: &impl ConnectionTrait,
    team: &teams::Model,
    input: &RecordService,
) -> Result<()> {
    let member = memberships::Entity::find()
        .filter(memberships::Column::TeamId.eq(team.id))
        .filter(memberships::Column::VolunteerId.eq(input.volunteer_id.0))
        .filter(memberships::Column::Status.eq(MembershipStatus::Active))
        .one(conn)
        .await?;
    if member.is_none() {
        return Err(Error::invalid("volunteerId", "not-active-member-of-team"));
    }
    if let Some(event) = input.event_id {
        let event = events::Entity::find_by_id(event.0).one(conn).await?;
        let Some(event) = event.filter(|event| event.team_id == team.id) else {
            return Err(Error::invalid("eventId", "not-event-of-team"));
        };
        check_fits_event(input.minutes, event_minutes(&event))?;
    }
    Ok(())
}

fn audit_entry<'a>(
    actor: &Actor,
    action: &'a str,
    team: &teams::Model,
    before: Option<&'a ServiceRecord>,
    after: &'a ServiceRecord,
) -> AuditRecord<'a, ServiceRecord, ServiceRecord> {
    AuditRecord {
        actor: Some(actor.volunteer),
        action,
        entity_type: "service_record",
        entity_id: after.id.0,
        area: Some(AreaId(team.area_id)),
        team_id: Some(team.id),
        before,
        after: Some(after),
    }
}

pub struct ServiceRecords {
    deps: Deps,
    teams: Arc<Teams>,
}

impl ServiceRecords {
    pub fn new(deps: Deps, teams: Arc<Teams>) -> Self {
        Self { deps, teams }
    }

    /// A leader enters minutes for a member of their team; the record starts PENDING.
    pub async fn record_service(
        &self,
        actor: &Actor,
        input: RecordService,
    ) -> Result<ServiceRecord> {
        let today = Utc::now().with_timezone(&self.deps.timezone).date_naive();
        let note = check_new_record(&input, today)?;
        let txn = self.deps.store.write().await?;
        let (team, _) = self
            .teams
            .require(&*txn, actor, input.team_id, policy::check_manages_team)
            .await?;
        check_credited(&*txn, &team, &input).await?;
        let now = Utc::now();
        let row = service_records::ActiveModel {
            volunteer_id: Set(input.volunteer_id.0),
            team_id: Set(team.id),
            event_id: Set(input.event_id.map(|id| id.0)),
            attendance_id: Set(None),
            minutes: Set(input.minutes),
            service_date: Set(input.service_date),
            status: Set(RecordStatus::Pending),
            note: Set(note),
            needs_review: Set(false),
            review_reason: Set(None),
            reviewer_id: Set(None),
            reviewed_at: Set(None),
            reason: Set(None),
            created_by: Set(actor.volunteer.0),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(&*txn)
        .await?;
        let record = ServiceRecord::from(row);
        let entry = audit_entry(actor, "service_record.create", &team, None, &record);
        audit::record(&*txn, entry).await?;
        txn.commit().await?;
        Ok(record)
    }

    /// Records the actor may see: their own by default; a team's for those who run it; an area's
    /// for its admins.
    pub async fn records(
        &self,
        actor: &Actor,
        filter: RecordFilter,
        page: PageRequest,
    ) -> Result<Page<ServiceRecord>> {
        let db = &self.deps.store.db;
        let mut condition = Condition::all();
        if let Some(team) = filter.team_id {
            let (team, _) = self
                .teams
                .require(db, actor, team, policy::check_manages_team)
                .await?;
            condition = condition.add(service_records::Column::TeamId.eq(team.id));
            if let Some(volunteer) = filter.volunteer_id {
                condition = condition.add(service_records::Column::VolunteerId.eq(volunteer.0));
            }
        } else if let Some(area) = filter.area_id {
            policy::check_admin_of(actor, &self.deps.areas, area)?;
            let area_teams = teams::Entity::find()
                .select_only()
                .column(teams::Column::Id)
                .filter(
                    teams::Column::AreaId
                        .is_in(self.deps.areas.subtree(area).into_iter().map(|a| a.0)),
                )
                .into_query();
            condition = condition.add(service_records::Column::TeamId.in_subquery(area_teams));
            if let Some(volunteer) = filter.volunteer_id {
                condition = condition.add(service_records::Column::VolunteerId.eq(volunteer.0));
            }
        } else {
            if filter.volunteer_id.is_some_and(|v| v != actor.volunteer) {
                return Err(Error::forbidden("name-team-or-area-to-see"));
            }
            condition = condition.add(service_records::Column::VolunteerId.eq(actor.volunteer.0));
        }
        if let Some(status) = filter.status {
            condition = condition.add(service_records::Column::Status.eq(status));
        }
        let total = service_records::Entity::find()
            .filter(condition.clone())
            .count(db)
            .await?;
        let mut query = service_records::Entity::find()
            .filter(condition)
            .order_by_desc(service_records::Column::Id);
        if let Some(after) = page.after_id()? {
            query = query.filter(service_records::Column::Id.lt(after));
        }
        let rows = query.limit(page.first + 1).all(db).await?;
        Ok(
            Page::from_rows(rows, page.first, total, |row| Cursor::Id(row.id))
                .map(ServiceRecord::from),
        )
    }

    pub async fn record(&self, id: ServiceRecordId) -> Result<Option<ServiceRecord>> {
        Ok(service_records::Entity::find_by_id(id.0)
            .one(&self.deps.store.db)
            .await?
            .map(ServiceRecord::from))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entered(minutes: i32, service_date: NaiveDate, note: Option<&str>) -> RecordService {
        RecordService {
            volunteer_id: VolunteerId(2),
            team_id: TeamId(1),
            event_id: None,
            minutes,
            service_date,
            note: note.map(str::to_owned),
        }
    }

    fn field_of(result: Result<Option<String>>) -> String {
        match result {
            Err(Error::InvalidInput { field, .. }) => field,
            other => panic!("not an input error: {other:?}"),
        }
    }

    #[test]
    fn entered_minutes_fall_within_the_last_year_and_a_day_s_limit() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        let year_ago = today - Duration::days(366);
        assert_eq!(
            check_new_record(&entered(60, today, Some(" 巡逻 ")), today).unwrap(),
            Some("巡逻".to_owned())
        );
        assert!(check_new_record(&entered(DAILY_LIMIT, year_ago, None), today).is_ok());
        assert_eq!(
            field_of(check_new_record(&entered(0, today, None), today)),
            "minutes"
        );
        assert_eq!(
            field_of(check_new_record(
                &entered(DAILY_LIMIT + 1, today, None),
                today
            )),
            "minutes"
        );
        let tomorrow = today + Duration::days(1);
        assert_eq!(
            field_of(check_new_record(&entered(60, tomorrow, None), today)),
            "serviceDate"
        );
        let too_old = year_ago - Duration::days(1);
        assert_eq!(
            field_of(check_new_record(&entered(60, too_old, None), today)),
            "serviceDate"
        );
        let long_note = "x".repeat(501);
        assert_eq!(
            field_of(check_new_record(
                &entered(60, today, Some(&long_note)),
                today
            )),
            "note"
        );
    }

    #[test]
    fn a_record_credits_at_most_its_event_s_length() {
        assert!(check_fits_event(120, 120).is_ok());
        assert!(check_fits_event(121, 120).is_err());
    }
}
