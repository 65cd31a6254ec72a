//! Quick response (issue 13): duty (`goOnDuty`, `goOffDuty`, `reportPosition`,
//! `muteIncidentAlerts`, `myDuty`) and incidents (`raiseIncident`, `respondToIncident`,
//! `arriveAtIncident`, `closeIncident`, `incident`, `myIncidentAlerts`, `responseStats`). The
//! types are in `incident_types.rs`, the subscriptions in `incident_subscription.rs`.

use async_graphql::{Context, ID, InputObject, Object};
use chrono::{DateTime, Utc};
use feihong_domain::geo::Position;
use feihong_domain::ids::{AreaId, IncidentId};
use feihong_domain::incidents::{RaiseIncident, Seen};

use super::context::ContextExt as _;
use super::enums::TeamKind;
use super::error::GqlResult;
use super::event::LocationInput;
use super::ids::GlobalId as _;
use super::incident_types::{
    DutyStatus, Incident, IncidentAlert, IncidentKind, IncidentResponse, ResponseStats,
};
use super::scalars::Date;
use super::signup::PositionInput;

#[derive(InputObject)]
pub struct RaiseIncidentInput {
    pub kind: IncidentKind,
    /// Up to 1000 characters; shown to those alerted.
    #[graphql(default)]
    pub description: String,
    /// Where (its `radiusM` is ignored: arrival is within 50 m).
    pub location: LocationInput,
    /// How many responders, 1–50.
    pub needed: i32,
    /// Only members of teams of these kinds; empty or absent: anyone on duty.
    pub team_kinds: Option<Vec<TeamKind>>,
    /// The area it is in: by default the caller's first team's (or first administered) area.
    pub area_id: Option<ID>,
}

fn position(input: &PositionInput, field: &str) -> GqlResult<Position> {
    Ok(Position::parse_fix(input.lat, input.lng, input.accuracy_m, field)?.0)
}

fn parse_incident(id: &ID) -> GqlResult<IncidentId> {
    IncidentId::parse(id, "incidentId")
}

#[derive(Default)]
pub struct IncidentQuery;

#[Object]
impl IncidentQuery {
    /// The caller's duty now.
    async fn my_duty(&self, ctx: &Context<'_>) -> GqlResult<DutyStatus> {
        let actor = ctx.request().actor().await?;
        Ok(DutyStatus(
            ctx.services().duty.status(actor.volunteer).await?,
        ))
    }

    /// An incident: for its dispatchers, and for those alerted (without the other responders).
    /// Null for anyone else.
    async fn incident(&self, ctx: &Context<'_>, id: ID) -> GqlResult<Option<Incident>> {
        let actor = ctx.request().actor().await?;
        let id = IncidentId::parse(&id, "id")?;
        let seen = ctx.services().incidents.seen_by(actor, id).await?;
        Ok(seen.map(|(inner, seen)| Incident::new(inner, seen)))
    }

    /// How fast incidents raised in an area (and below it) from `from` to `to` (local dates,
    /// both included, at most two years) were answered: admins of the area only.
    async fn response_stats(
        &self,
        ctx: &Context<'_>,
        area_id: ID,
        from: Date,
        to: Date,
    ) -> GqlResult<ResponseStats> {
        let actor = ctx.request().actor().await?;
        let area = AreaId::parse(&area_id, "areaId")?;
        let stats = ctx
            .services()
            .incidents
            .response_stats(actor, area, from.0, to.0)
            .await?;
        Ok(ResponseStats(stats))
    }

    /// The caller's alerts of the last 24 hours, newest first (at most 50).
    async fn my_incident_alerts(&self, ctx: &Context<'_>) -> GqlResult<Vec<IncidentAlert>> {
        let actor = ctx.request().actor().await?;
        let alerts = ctx.services().incidents.my_alerts(actor).await?;
        Ok(alerts.into_iter().map(IncidentAlert).collect())
    }
}

#[derive(Default)]
pub struct IncidentMutation;

#[Object]
impl IncidentMutation {
    /// Goes on duty until `until` (at most 12 h ahead) at `position`: positions are taken and
    /// incident alerts may come until then or `goOffDuty`.
    async fn go_on_duty(
        &self,
        ctx: &Context<'_>,
        until: DateTime<Utc>,
        position: PositionInput,
    ) -> GqlResult<DutyStatus> {
        let actor = ctx.request().actor().await?;
        let position = self::position(&position, "position")?;
        let status = ctx
            .services()
            .duty
            .go_on_duty(actor, until, position)
            .await?;
        Ok(DutyStatus(status))
    }

    /// Ends a declared duty now; the position is forgotten at once. (Checked in to an event
    /// under way, the caller stays on duty until they check out.)
    async fn go_off_duty(&self, ctx: &Context<'_>) -> GqlResult<DutyStatus> {
        let actor = ctx.request().actor().await?;
        Ok(DutyStatus(ctx.services().duty.go_off_duty(actor).await?))
    }

    /// Mutes (or unmutes) incident alerts while on duty.
    async fn mute_incident_alerts(&self, ctx: &Context<'_>, muted: bool) -> GqlResult<DutyStatus> {
        let actor = ctx.request().actor().await?;
        Ok(DutyStatus(
            ctx.services().duty.set_alerts_muted(actor, muted).await?,
        ))
    }

    /// The caller's position while on duty, at most once every 15 s (`RATE_LIMITED` sooner;
    /// `CONFLICT` off duty). Within 50 m of an incident they accepted, records their arrival.
    async fn report_position(&self, ctx: &Context<'_>, position: PositionInput) -> GqlResult<bool> {
        let actor = ctx.request().actor().await?;
        let position = self::position(&position, "position")?;
        ctx.services()
            .incidents
            .report_position(actor, position)
            .await?;
        Ok(true)
    }

    /// Raises an incident: admins of the area and leaders or deputies of teams there. The
    /// nearest volunteers on duty are alerted at once, ring by ring. At most 10 per person per
    /// hour.
    async fn raise_incident(
        &self,
        ctx: &Context<'_>,
        input: RaiseIncidentInput,
    ) -> GqlResult<Incident> {
        let actor = ctx.request().actor().await?;
        let area = AreaId::parse_optional(input.area_id.as_ref(), "input.areaId")?;
        let location = &input.location;
        let position = Position::parse(location.lat, location.lng, "input.location")?;
        let raise = RaiseIncident {
            kind: input.kind.into(),
            description: input.description,
            address: location.address.clone(),
            position,
            needed: input.needed,
            team_kinds: input
                .team_kinds
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
            area,
        };
        let incident = ctx
            .services()
            .incidents
            .raise(actor, raise)
            .await
            .map_err(|e| e.in_argument("input"))?;
        Ok(Incident::new(incident, Seen::Dispatcher))
    }

    /// Answers an alert. The first `needed` acceptances win, exactly; later ones are answered
    /// LATE (the incident is staffed). `NOT_FOUND` for an incident the caller was not alerted to.
    async fn respond_to_incident(
        &self,
        ctx: &Context<'_>,
        incident_id: ID,
        accept: bool,
    ) -> GqlResult<IncidentResponse> {
        let actor = ctx.request().actor().await?;
        let id = parse_incident(&incident_id)?;
        let response = ctx.services().incidents.respond(actor, id, accept).await?;
        let staffed = response.incident.accepted >= response.incident.needed;
        Ok(IncidentResponse {
            answer: response.answer.into(),
            staffed,
            incident: Incident::new(response.incident, Seen::Alerted),
        })
    }

    /// Records the caller's arrival at an incident they accepted (also recorded on its own when
    /// a reported position comes within 50 m).
    async fn arrive_at_incident(&self, ctx: &Context<'_>, incident_id: ID) -> GqlResult<Incident> {
        let actor = ctx.request().actor().await?;
        let id = parse_incident(&incident_id)?;
        let incident = ctx.services().incidents.arrive(actor, id).await?;
        Ok(Incident::new(incident, Seen::Alerted))
    }

    /// Closes an incident (its raiser or an admin of its area) with what came of it (1–1000
    /// characters). Responders who accepted get a PENDING service record for the time from
    /// their acceptance to now (at most 4 h), reviewed by their team like any other.
    async fn close_incident(
        &self,
        ctx: &Context<'_>,
        incident_id: ID,
        outcome: String,
    ) -> GqlResult<Incident> {
        let actor = ctx.request().actor().await?;
        let id = parse_incident(&incident_id)?;
        let incident = ctx.services().incidents.close(actor, id, &outcome).await?;
        Ok(Incident::new(incident, Seen::Dispatcher))
    }
}
