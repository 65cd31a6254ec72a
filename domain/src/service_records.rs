//! Service records: minutes credited from attendance or entered by a leader, reviewed by a
//! leader or deputy of the team (never their own), with long days needing an area admin.

use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, sea_query::Expr,
};
use serde::{Deserialize, Serialize};

use crate::actor::Actor;
use crate::audit::{self, AuditRecord};
use crate::deps::{Deps, text};
use crate::entity::{events, service_records, teams, volunteers};
use crate::error::{Error, Result};
use crate::ids::{AreaId, EventId, ServiceRecordId, TeamId, VolunteerId};
use crate::kinds::{MembershipStatus, RecordStatus};
use crate::page::{Cursor, Page, PageRequest};
use crate::policy;
use crate::stats;
use crate::store::lock_volunteer;
use crate::tallies::{self, TallyChange};
use crate::teams::Teams;

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
        Err(Error::invalid(
            field,
            "must be from 1 to 720 minutes (12 hours)",
        ))
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
        check_minutes(input.minutes, "minutes")?;
        let note = input
            .note
            .as_deref()
            .map(|n| text(n, "note", 0, 500, true))
            .transpose()?;
        crate::dates::check_day(input.service_date, "serviceDate")?;
        let today = Utc::now().with_timezone(&self.deps.timezone).date_naive();
        if input.service_date > today {
            return Err(Error::invalid("serviceDate", "must not be in the future"));
        }
        if input.service_date < today - Duration::days(366) {
            return Err(Error::invalid(
                "serviceDate",
                "must be within the last year",
            ));
        }
        let txn = self.deps.store.write().await?;
        let (team, _) = self
            .teams
            .require(&*txn, actor, input.team_id, policy::check_manages_team)
            .await?;
        let member = crate::entity::memberships::Entity::find()
            .filter(crate::entity::memberships::Column::TeamId.eq(team.id))
            .filter(crate::entity::memberships::Column::VolunteerId.eq(input.volunteer_id.0))
            .filter(crate::entity::memberships::Column::Status.eq(MembershipStatus::Active))
            .one(&*txn)
            .await?;
        if member.is_none() {
            return Err(Error::invalid(
                "volunteerId",
                "is not an active member of this team",
            ));
        }
        if let Some(event) = input.event_id {
            let event = events::Entity::find_by_id(event.0).one(&*txn).await?;
            let Some(event) = event.filter(|event| event.team_id == team.id) else {
                return Err(Error::invalid("eventId", "is not an event of this team"));
            };
            let length = (event.ends_at - event.starts_at).num_minutes();
            if i64::from(input.minutes) > length {
                return Err(Error::invalid(
                    "minutes",
                    format!("must not exceed the event's {length} minutes"),
                ));
            }
        }
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
        audit::record(
            &*txn,
            AuditRecord::<(), _> {
                actor: Some(actor.volunteer),
                action: "service_record.create",
                entity_type: "service_record",
                entity_id: record.id.0,
                area: Some(AreaId(team.area_id)),
                team_id: Some(team.id),
                before: None,
                after: Some(&record),
            },
        )
        .await?;
        txn.commit().await?;
        Ok(record)
    }

    async fn approved_on_day(
        &self,
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
        if let Some(minutes) = minutes {
            check_minutes(minutes, "minutes")?;
        }
        let reason = reason
            .map(|r| text(r, "reason", 1, 500, false))
            .transpose()?;
        if decision == Decision::Reject && reason.is_none() {
            return Err(Error::invalid("reason", "is required to reject"));
        }
        let txn = self.deps.store.write().await?;
        let owner = service_records::Entity::find_by_id(id.0)
            .one(&*txn)
            .await?
            .ok_or(Error::NotFound("service record"))?
            .volunteer_id;
        lock_volunteer(&*txn, VolunteerId(owner)).await?;
        let row = service_records::Entity::find_by_id(id.0)
            .one(&*txn)
            .await?
            .ok_or(Error::NotFound("service record"))?;
        let new_minutes = minutes.unwrap_or(row.minutes);
        let new_status = match decision {
            Decision::Approve => RecordStatus::Approved,
            Decision::Reject => RecordStatus::Rejected,
        };
        // Who may review at all is decided first: nothing about the volunteer's day is computed
        // (or shown in an error) for someone who may not review.
        let owner = VolunteerId(row.volunteer_id);
        let (team, scope) = self
            .teams
            .require(&*txn, actor, TeamId(row.team_id), |actor, tree, scope| {
                policy::check_reviews_record(actor, tree, scope, owner, false)
            })
            .await?;
        if decision == Decision::Approve {
            if let Some(event) = row.event_id {
                let event = events::Entity::find_by_id(event)
                    .one(&*txn)
                    .await?
                    .ok_or(Error::NotFound("event"))?;
                let length = (event.ends_at - event.starts_at).num_minutes();
                if i64::from(new_minutes) > length {
                    return Err(Error::invalid(
                        "minutes",
                        format!("must not exceed the event's {length} minutes"),
                    ));
                }
            }
            let day_total = self
                .approved_on_day(&*txn, row.volunteer_id, row.service_date, row.id)
                .await?
                + new_minutes;
            if day_total > DAILY_LIMIT {
                return Err(Error::invalid(
                    "minutes",
                    format!(
                        "would make {day_total} approved minutes on {}; at most 720 (12 hours) a day",
                        row.service_date
                    ),
                ));
            }
            if day_total > LEADER_DAILY_LIMIT {
                policy::check_reviews_record(actor, &self.deps.areas, scope, owner, true)?;
            }
        }
        if row.status == new_status && row.minutes == new_minutes {
            return Err(Error::conflict(match new_status {
                RecordStatus::Approved => "this record is already approved",
                _ => "this record is already rejected",
            }));
        }
        let now = Utc::now();
        let updated = service_records::Entity::update_many()
            .col_expr(service_records::Column::Status, Expr::value(new_status))
            .col_expr(service_records::Column::Minutes, Expr::value(new_minutes))
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
            .exec(&*txn)
            .await?;
        if updated.rows_affected != 1 {
            return Err(Error::conflict(
                "this record was reviewed meanwhile; look again",
            ));
        }
        let before = ServiceRecord::from(row.clone());
        let after = ServiceRecord::from(
            service_records::Entity::find_by_id(id.0)
                .one(&*txn)
                .await?
                .ok_or(Error::NotFound("service record"))?,
        );
        let delta = i64::from(approved_minutes(&after)) - i64::from(approved_minutes(&before));
        if delta != 0 {
            stats::mark_team_date(&txn, team.id, row.service_date);
            let owner = volunteers::Entity::find_by_id(row.volunteer_id)
                .one(&*txn)
                .await?
                .ok_or(Error::NotFound("volunteer"))?;
            tallies::apply(
                &*txn,
                &TallyChange {
                    volunteer: VolunteerId(owner.id),
                    volunteer_area: AreaId(owner.area_id),
                    team: TeamId(team.id),
                    team_area: AreaId(team.area_id),
                    team_kind: team.kind,
                    day: row.service_date,
                    delta,
                },
            )
            .await?;
        }
        let action = match decision {
            Decision::Approve => "service_record.approve",
            Decision::Reject => "service_record.reject",
        };
        audit::record(
            &*txn,
            AuditRecord {
                actor: Some(actor.volunteer),
                action,
                entity_type: "service_record",
                entity_id: after.id.0,
                area: Some(AreaId(team.area_id)),
                team_id: Some(team.id),
                before: Some(&before),
                after: Some(&after),
            },
        )
        .await?;
        txn.commit().await?;
        self.deps.tally_changed.notify_one();
        Ok(Review {
            approved_minutes_before: approved_minutes(&before),
            approved_minutes_after: approved_minutes(&after),
            record: after,
        })
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
                return Err(Error::forbidden(
                    "name a team or area to see others' records",
                ));
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
