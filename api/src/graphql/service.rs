//! Service records (credited minutes), the audit log and notifications.

use async_graphql::{Context, ID, InputObject, Json, Object};
use chrono::{DateTime, Utc};
use feihong_domain::audit_log::{self, AuditFilter as DomainAuditFilter};
use feihong_domain::ids::{AreaId, EventId, ServiceRecordId, TeamId, VolunteerId};
use feihong_domain::policy::Relation;
use feihong_domain::service_records::{self, RecordFilter, RecordService};
use feihong_domain::{idempotency, notifications};

use super::context::ContextExt as _;
use super::enums::{NotificationKind, RecordStatus, ReviewDecision};
use super::error::GqlResult;
use super::event::Event;
use super::ids::GlobalId as _;
use super::limits::cost;
use super::scalars::{Date, ListConnection, connection, page_request};
use super::team::Team;
use super::volunteer::Volunteer;
use crate::locale::current_locale;

/// Credited service minutes. Only APPROVED minutes count anywhere.
pub struct ServiceRecord(pub service_records::ServiceRecord);

#[Object]
impl ServiceRecord {
    pub async fn id(&self) -> ID {
        self.0.id.to_global()
    }

    async fn volunteer(&self, ctx: &Context<'_>) -> GqlResult<Option<Volunteer>> {
        ctx.request()
            .load(
                |l| &l.volunteers,
                self.0.volunteer_id,
                |v| Volunteer::seen_as(v, Relation::Supervisor),
            )
            .await
    }

    async fn team(&self, ctx: &Context<'_>) -> GqlResult<Option<Team>> {
        ctx.request().load(|l| &l.teams, self.0.team_id, Team).await
    }

    async fn event(&self, ctx: &Context<'_>) -> GqlResult<Option<Event>> {
        let Some(event) = self.0.event_id else {
            return Ok(None);
        };
        ctx.request().load(|l| &l.events, event, Event).await
    }

    async fn minutes(&self) -> i32 {
        self.0.minutes
    }

    /// The local day of the service.
    async fn service_date(&self) -> Date {
        Date(self.0.service_date)
    }

    async fn status(&self) -> RecordStatus {
        self.0.status.into()
    }

    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }

    /// Something in how the attendance was recorded needs a look before approving: it was
    /// closed automatically (nobody checked out), or reported offline. `reviewReason` says what.
    async fn needs_review(&self) -> bool {
        self.0.needs_review
    }

    /// Why the record needs review (with `needsReview`), for the leader who reviews it.
    async fn review_reason(&self) -> Option<&str> {
        self.0.review_reason.as_deref()
    }

    async fn reviewer(&self, ctx: &Context<'_>) -> GqlResult<Option<Volunteer>> {
        let Some(reviewer) = self.0.reviewer_id else {
            return Ok(None);
        };
        ctx.request()
            .load(
                |l| &l.volunteers,
                reviewer,
                |v| Volunteer::seen_as(v, Relation::Stranger),
            )
            .await
    }

    async fn reviewed_at(&self) -> Option<DateTime<Utc>> {
        self.0.reviewed_at
    }

    async fn reason(&self) -> Option<&str> {
        self.0.reason.as_deref()
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

#[derive(InputObject)]
pub struct RecordServiceInput {
    pub volunteer_id: ID,
    pub team_id: ID,
    pub event_id: Option<ID>,
    /// 1–720 minutes.
    pub minutes: i32,
    pub service_date: Date,
    /// Up to 500 characters.
    pub note: Option<String>,
}

#[derive(InputObject, Default)]
pub struct ServiceRecordFilter {
    /// A team's records, for its leaders and deputies.
    pub team_id: Option<ID>,
    /// An area's records (with its subtree), for its admins.
    pub area_id: Option<ID>,
    pub volunteer_id: Option<ID>,
    pub status: Option<RecordStatus>,
}

/// Who did what to which record, and when.
pub struct AuditEntry(pub audit_log::AuditEntry);

#[Object]
impl AuditEntry {
    async fn id(&self) -> ID {
        self.0.id.to_global()
    }

    /// Null for operator commands run on the server.
    async fn actor(&self, ctx: &Context<'_>) -> GqlResult<Option<Volunteer>> {
        let Some(actor) = self.0.actor_id else {
            return Ok(None);
        };
        ctx.request()
            .load(
                |l| &l.volunteers,
                actor,
                |v| Volunteer::seen_as(v, Relation::Stranger),
            )
            .await
    }

    /// e.g. `event.cancel`, `service_record.approve`.
    async fn action(&self) -> &str {
        &self.0.action
    }

    async fn entity_type(&self) -> &str {
        &self.0.entity_type
    }

    async fn entity_id(&self) -> i64 {
        self.0.entity_id
    }

    async fn before(&self) -> Option<Json<serde_json::Value>> {
        self.0.before.clone().map(Json)
    }

    async fn after(&self) -> Option<Json<serde_json::Value>> {
        self.0.after.clone().map(Json)
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

#[derive(InputObject, Default)]
pub struct AuditFilter {
    pub team_id: Option<ID>,
    pub area_id: Option<ID>,
    /// Only this action, e.g. `event.cancel`.
    pub action: Option<String>,
    /// Only what this volunteer did.
    pub actor_id: Option<ID>,
    /// Only entries written at or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Only entries written before this time; with `from`, at most 366 days after it.
    pub to: Option<DateTime<Utc>>,
}

/// Something the volunteer was told.
pub struct Notification(pub notifications::Notification);

#[Object]
impl Notification {
    async fn kind(&self) -> NotificationKind {
        self.0.kind.into()
    }

    /// What the volunteer is told, in the language of the request (`Accept-Language`).
    async fn message(&self) -> String {
        self.0.message_in(current_locale())
    }

    async fn event(&self, ctx: &Context<'_>) -> GqlResult<Option<Event>> {
        let Some(event) = self.0.event_id else {
            return Ok(None);
        };
        ctx.request().load(|l| &l.events, event, Event).await
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

#[derive(Default)]
pub struct ServiceQuery;

#[Object]
impl ServiceQuery {
    /// The caller's own records; a team's (leaders, deputies); an area's (admins). Newest first.
    #[graphql(complexity = "cost::page(first, child_complexity)")]
    async fn service_records(
        &self,
        ctx: &Context<'_>,
        filter: Option<ServiceRecordFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> GqlResult<ListConnection<ServiceRecord>> {
        let actor = ctx.request().actor().await?;
        let filter = filter.unwrap_or_default();
        let domain = RecordFilter {
            team_id: TeamId::parse_optional(filter.team_id.as_ref(), "filter.teamId")?,
            area_id: AreaId::parse_optional(filter.area_id.as_ref(), "filter.areaId")?,
            volunteer_id: VolunteerId::parse_optional(
                filter.volunteer_id.as_ref(),
                "filter.volunteerId",
            )?,
            status: filter.status.map(Into::into),
        };
        let page = ctx
            .services()
            .service_records
            .records(actor, domain, page_request(first, after)?)
            .await?;
        Ok(connection(page, ServiceRecord))
    }

    /// Leader and admin writes, newest first: a team's (its leaders and deputies) or an area's
    /// (its admins), narrowed by action, actor and time (`from`–`to` at most 366 days).
    #[graphql(complexity = "cost::page(first, child_complexity)")]
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        filter: AuditFilter,
        first: Option<i32>,
        after: Option<String>,
    ) -> GqlResult<ListConnection<AuditEntry>> {
        let actor = ctx.request().actor().await?;
        let domain = DomainAuditFilter {
            team_id: TeamId::parse_optional(filter.team_id.as_ref(), "filter.teamId")?,
            area_id: AreaId::parse_optional(filter.area_id.as_ref(), "filter.areaId")?,
            action: filter.action,
            actor_id: VolunteerId::parse_optional(filter.actor_id.as_ref(), "filter.actorId")?,
            from: filter.from,
            to: filter.to,
        };
        // Checked here first so a refusal names its argument path (`filter.to`).
        audit_log::narrowing(&domain).map_err(|e| e.in_argument("filter"))?;
        let page = ctx
            .services()
            .audit
            .entries(actor, domain, page_request(first, after)?)
            .await?;
        Ok(connection(page, AuditEntry))
    }

    /// What the caller was told (promotions, changes, cancellations), newest first.
    #[graphql(complexity = "cost::page(first, child_complexity)")]
    async fn my_notifications(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> GqlResult<ListConnection<Notification>> {
        let actor = ctx.request().actor().await?;
        let page = notifications::for_volunteer(
            &ctx.services().db,
            actor.volunteer,
            page_request(first, after)?,
        )
        .await?;
        Ok(connection(page, Notification))
    }
}

#[derive(Default)]
pub struct ServiceMutation;

#[Object]
impl ServiceMutation {
    /// A leader or deputy enters minutes for a member; the record starts PENDING.
    async fn record_service(
        &self,
        ctx: &Context<'_>,
        input: RecordServiceInput,
        idempotency_key: Option<String>,
    ) -> GqlResult<ServiceRecord> {
        let actor = ctx.request().actor().await?;
        let volunteer = VolunteerId::parse(&input.volunteer_id, "input.volunteerId")?;
        let team = TeamId::parse(&input.team_id, "input.teamId")?;
        let event = EventId::parse_optional(input.event_id.as_ref(), "input.eventId")?;
        let key_input = (
            volunteer,
            team,
            event,
            input.minutes,
            input.service_date.0,
            input.note.clone(),
        );
        let services = ctx.services();
        let record = idempotency::run(
            &services.db,
            actor.volunteer,
            idempotency_key.as_deref(),
            "recordService",
            &key_input,
            || async {
                services
                    .service_records
                    .record_service(
                        actor,
                        RecordService {
                            volunteer_id: volunteer,
                            team_id: team,
                            event_id: event,
                            minutes: input.minutes,
                            service_date: input.service_date.0,
                            note: input.note,
                        },
                    )
                    .await
                    .map_err(|e| e.in_argument("input"))
            },
        )
        .await?;
        Ok(ServiceRecord(record))
    }

    /// APPROVE (optionally with corrected minutes) or REJECT (with a reason). Nobody reviews
    /// their own record; over 8 h approved on one day needs an area admin; over 12 h is refused.
    /// Re-reviewing replaces the earlier decision's effect exactly.
    async fn review_service_record(
        &self,
        ctx: &Context<'_>,
        record_id: ID,
        decision: ReviewDecision,
        minutes: Option<i32>,
        reason: Option<String>,
    ) -> GqlResult<ServiceRecord> {
        let actor = ctx.request().actor().await?;
        let id = ServiceRecordId::parse(&record_id, "recordId")?;
        let review = ctx
            .services()
            .service_records
            .review(actor, id, decision.into(), minutes, reason.as_deref())
            .await?;
        Ok(ServiceRecord(review.record))
    }
}
