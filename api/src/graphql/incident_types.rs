//! The types of quick response (issue 13): duty, incidents as dispatchers and the alerted see
//! them, responders, alerts, answers and response statistics. The operations are in
//! `incident.rs`.

use async_graphql::{Context, Enum, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use feihong_domain::duty::DutyStatus as DomainDuty;
use feihong_domain::incidents::{self, Seen};
use feihong_domain::kinds;

use super::area::Area;
use super::attendance::GeoPosition;
use super::context::ContextExt as _;
use super::enums::TeamKind;
use super::error::GqlResult;
use super::event::Location;
use super::ids::GlobalId as _;
use super::volunteer::Volunteer;

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "kinds::IncidentKind")]
pub enum IncidentKind {
    Security,
    MissingPerson,
    FraudInProgress,
    Medical,
    Fire,
    Other,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "kinds::IncidentStatus")]
pub enum IncidentStatus {
    /// Still being answered.
    Open,
    Closed,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "kinds::ResponderAnswer")]
pub enum ResponderAnswer {
    /// On their way: one of the first `needed`.
    Accepted,
    Declined,
    /// Accepted after the incident was staffed (or closed): not needed.
    Late,
}

/// The caller's duty.
pub struct DutyStatus(pub DomainDuty);

#[Object]
impl DutyStatus {
    /// Whether positions are taken and incident alerts may come.
    async fn on_duty(&self) -> bool {
        self.0.until.is_some()
    }

    /// Until when: the declared duty's end, or the end of the event under way the caller is
    /// checked in to, whichever is later.
    async fn until(&self) -> Option<DateTime<Utc>> {
        self.0.until
    }

    /// Whether the caller declared duty with `goOnDuty` (else on duty through a check-in).
    async fn declared(&self) -> bool {
        self.0.declared
    }

    /// Whether incident alerts are muted (`muteIncidentAlerts`).
    async fn alerts_muted(&self) -> bool {
        self.0.alerts_muted
    }
}

/// An incident raised for quick response.
pub struct Incident {
    inner: incidents::Incident,
    seen: Seen,
}

impl Incident {
    pub fn new(inner: incidents::Incident, seen: Seen) -> Self {
        Self { inner, seen }
    }
}

#[Object]
impl Incident {
    pub async fn id(&self) -> ID {
        self.inner.id.to_global()
    }

    async fn kind(&self) -> IncidentKind {
        self.inner.kind.into()
    }

    async fn description(&self) -> &str {
        &self.inner.description
    }

    /// Where it is (`radiusM` is the arrival radius, 50 m).
    async fn location(&self) -> Location {
        Location {
            address: self.inner.address.clone(),
            lat: self.inner.position.lat,
            lng: self.inner.position.lng,
            radius_m: incidents::ARRIVAL_RADIUS_M as i32,
        }
    }

    async fn area(&self, ctx: &Context<'_>) -> Option<Area> {
        ctx.services().areas.get(self.inner.area_id).map(Area)
    }

    async fn status(&self) -> IncidentStatus {
        self.inner.status.into()
    }

    /// How many responders it asks for.
    async fn needed(&self) -> i32 {
        self.inner.needed
    }

    /// How many accepted (never more than `needed`).
    async fn accepted(&self) -> i32 {
        self.inner.accepted
    }

    /// Rings opened so far (1 = the nearest).
    async fn ring(&self) -> i32 {
        self.inner.ring
    }

    /// The team kinds asked for; empty: anyone on duty.
    async fn team_kinds(&self) -> Vec<TeamKind> {
        self.inner.team_kinds.iter().map(|k| (*k).into()).collect()
    }

    async fn raised_at(&self) -> DateTime<Utc> {
        self.inner.raised_at
    }

    async fn first_accepted_at(&self) -> Option<DateTime<Utc>> {
        self.inner.first_accepted_at
    }

    async fn first_arrived_at(&self) -> Option<DateTime<Utc>> {
        self.inner.first_arrived_at
    }

    async fn closed_at(&self) -> Option<DateTime<Utc>> {
        self.inner.closed_at
    }

    /// What came of it: for its dispatchers only.
    async fn outcome(&self) -> Option<&str> {
        (self.seen == Seen::Dispatcher)
            .then_some(self.inner.outcome.as_deref())
            .flatten()
    }

    /// Everyone alerted, in the order alerted: for its dispatchers (whoever raised it and the
    /// admins of its area) only; null for others.
    async fn responders(&self, ctx: &Context<'_>) -> GqlResult<Option<Vec<IncidentResponder>>> {
        if self.seen != Seen::Dispatcher {
            return Ok(None);
        }
        let responders = ctx.services().incidents.responders(self.inner.id).await?;
        let open = self.inner.status == kinds::IncidentStatus::Open;
        Ok(Some(
            responders
                .into_iter()
                .map(|inner| IncidentResponder { inner, open })
                .collect(),
        ))
    }

    /// The caller's own alert for it, if they were alerted.
    async fn my_alert(&self, ctx: &Context<'_>) -> GqlResult<Option<IncidentAlert>> {
        let actor = ctx.request().actor().await?;
        let alert = ctx
            .services()
            .incidents
            .alert_for(self.inner.id, actor.volunteer)
            .await?;
        Ok(alert.map(IncidentAlert))
    }
}

/// Someone alerted for an incident, as its dispatchers see them.
pub struct IncidentResponder {
    inner: incidents::Responder,
    open: bool,
}

#[Object]
impl IncidentResponder {
    /// The volunteer (their display name).
    async fn volunteer(&self, ctx: &Context<'_>) -> GqlResult<Option<Volunteer>> {
        let relation = feihong_domain::policy::Relation::Stranger;
        ctx.request()
            .load(
                |l| &l.volunteers,
                self.inner.volunteer,
                |v| Volunteer::seen_as(v, relation),
            )
            .await
    }

    async fn ring(&self) -> i32 {
        self.inner.ring
    }

    /// Straight-line distance when alerted, metres.
    async fn distance_m(&self) -> i32 {
        self.inner.distance_m
    }

    async fn alerted_at(&self) -> DateTime<Utc> {
        self.inner.alerted_at
    }

    /// Null while they have not answered.
    async fn answer(&self) -> Option<ResponderAnswer> {
        self.inner.answer.map(Into::into)
    }

    async fn answered_at(&self) -> Option<DateTime<Utc>> {
        self.inner.answered_at
    }

    async fn arrived_at(&self) -> Option<DateTime<Utc>> {
        self.inner.arrived_at
    }

    /// Their last reported position: only for responders who accepted, while the incident is
    /// open (never kept past its close, nor 24 h).
    async fn last_position(&self) -> Option<GeoPosition> {
        let (position, _) = self.inner.last_position.filter(|_| self.open)?;
        Some(GeoPosition {
            lat: position.lat,
            lng: position.lng,
        })
    }

    async fn last_position_at(&self) -> Option<DateTime<Utc>> {
        self.inner
            .last_position
            .filter(|_| self.open)
            .map(|(_, at)| at)
    }
}

/// An alert as the alerted volunteer sees it: the incident, how far they were and in which
/// ring; never who else was alerted.
pub struct IncidentAlert(pub incidents::Alert);

#[Object]
impl IncidentAlert {
    async fn incident(&self) -> Incident {
        Incident::new(self.0.incident.clone(), Seen::Alerted)
    }

    async fn ring(&self) -> i32 {
        self.0.responder.ring
    }

    /// Straight-line distance when alerted, metres.
    async fn distance_m(&self) -> i32 {
        self.0.responder.distance_m
    }

    async fn alerted_at(&self) -> DateTime<Utc> {
        self.0.responder.alerted_at
    }

    /// The caller's answer so far.
    async fn answer(&self) -> Option<ResponderAnswer> {
        self.0.responder.answer.map(Into::into)
    }
}

/// How fast an area's incidents were answered (`responseStats`).
pub struct ResponseStats(pub incidents::stats::ResponseStats);

/// The share of incidents staffed within a ring (or an inner one).
#[derive(SimpleObject)]
pub struct RingShare {
    /// The ring's radius, metres.
    pub radius_m: i32,
    /// 0–1.
    pub share: f64,
}

#[Object]
impl ResponseStats {
    /// Incidents raised in the span.
    async fn incidents(&self) -> i32 {
        i32::try_from(self.0.incidents).unwrap_or(i32::MAX)
    }

    /// Of them, those that got every responder they asked for.
    async fn staffed(&self) -> i32 {
        i32::try_from(self.0.staffed).unwrap_or(i32::MAX)
    }

    /// Median seconds from raising to the first acceptance; null without any.
    async fn median_seconds_to_first_acceptance(&self) -> Option<i64> {
        self.0.to_first_acceptance.median_s
    }

    async fn p90_seconds_to_first_acceptance(&self) -> Option<i64> {
        self.0.to_first_acceptance.p90_s
    }

    /// Median seconds from raising to the first arrival; null without any.
    async fn median_seconds_to_first_arrival(&self) -> Option<i64> {
        self.0.to_first_arrival.median_s
    }

    async fn p90_seconds_to_first_arrival(&self) -> Option<i64> {
        self.0.to_first_arrival.p90_s
    }

    /// For each ring, nearest first: the share of all incidents staffed within it.
    async fn staffed_within_ring(&self) -> Vec<RingShare> {
        self.0
            .staffed_within
            .iter()
            .map(|(radius, share)| RingShare {
                radius_m: i32::try_from(*radius).unwrap_or(i32::MAX),
                share: *share,
            })
            .collect()
    }
}

/// What an answer to an alert came to.
#[derive(SimpleObject)]
pub struct IncidentResponse {
    /// ACCEPTED: you are one of the responders; LATE: it was already staffed.
    pub answer: ResponderAnswer,
    /// Whether the incident now has all the responders it asked for.
    pub staffed: bool,
    pub incident: Incident,
}
