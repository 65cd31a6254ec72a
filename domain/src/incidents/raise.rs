//! Raising an incident: in the app by an admin of the area or a leader of a team there, or by
//! the city's dispatch system (idempotent by its own reference). Matching starts at once.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait as _, ActiveValue::Set, ColumnTrait as _, EntityTrait as _, QueryFilter as _,
};

use super::matching::Step;
use super::{Incident, Incidents};
use crate::actor::Actor;
use crate::audit::{self, AuditRecord};
use crate::deps;
use crate::entity::incidents;
use crate::error::{Error, Result};
use crate::geo::Position;
use crate::ids::{AreaId, IncidentId, VolunteerId};
use crate::kinds::{IncidentKind, IncidentStatus, TeamKind};
use crate::policy;

/// The most people one incident may ask for.
pub const MAX_NEEDED: i32 = 50;

/// What is raised.
#[derive(Debug, Clone)]
pub struct RaiseIncident {
    pub kind: IncidentKind,
    pub description: String,
    pub address: String,
    pub position: Position,
    pub needed: i32,
    pub team_kinds: Vec<TeamKind>,
    /// Where it is; by default the area of the first team the raiser runs.
    pub area: Option<AreaId>,
}

/// The checked text fields and the kinds as stored.
struct Checked {
    description: String,
    address: String,
    team_kinds: String,
}

fn check(input: &RaiseIncident) -> Result<Checked> {
    if !(1..=MAX_NEEDED).contains(&input.needed) {
        return Err(Error::invalid("needed", "must-be-from-1-to-50"));
    }
    let mut kinds: Vec<String> = input
        .team_kinds
        .iter()
        .map(sea_orm::ActiveEnum::to_value)
        .collect();
    kinds.sort();
    kinds.dedup();
    Ok(Checked {
        description: deps::text(&input.description, "description", 0, 1000, true)?,
        address: deps::text(&input.address, "location.address", 1, 200, false)?,
        team_kinds: kinds.join(","),
    })
}

/// The team kinds an incident asks for, from their stored form.
pub(super) fn kinds_from_stored(stored: &str) -> Vec<TeamKind> {
    stored
        .split(',')
        .filter_map(|name| <TeamKind as sea_orm::ActiveEnum>::try_from_value(&name.to_owned()).ok())
        .collect()
}

impl Incidents {
    /// Raises an incident in the app and alerts the nearest people on duty.
    pub async fn raise(&self, actor: &Actor, input: RaiseIncident) -> Result<Incident> {
        let checked = check(&input)?;
        let led = self.led_areas(actor.volunteer).await?;
        let area = policy::check_raises_incident(actor, &self.deps.areas, &led, input.area)?;
        self.raises
            .reserve_for(&actor.volunteer.0.to_string())
            .await?;
        let id = self
            .insert(Some(actor.volunteer), None, area, &input, checked)
            .await?
            .ok_or_else(|| Error::internal("an incident without a reference collided"))?;
        self.start_matching(id).await
    }

    /// Raises an incident for the city's dispatch system: the same incident again for a
    /// reference already seen (and no second round of alerts).
    pub async fn raise_for_dispatch(
        &self,
        reference: &str,
        area: AreaId,
        input: RaiseIncident,
    ) -> Result<Incident> {
        let checked = check(&input)?;
        let reference = deps::text(reference, "reference", 1, 100, false)?;
        if self.deps.areas.get(area).is_none() {
            return Err(Error::NotFound("area"));
        }
        match self
            .insert(None, Some(reference.clone()), area, &input, checked)
            .await?
        {
            Some(id) => self.start_matching(id).await,
            None => {
                let row = incidents::Entity::find()
                    .filter(incidents::Column::ExternalRef.eq(reference))
                    .one(&self.deps.store.db)
                    .await?
                    .ok_or(Error::NotFound("incident"))?;
                Ok(Incident::from(row))
            }
        }
    }

    async fn start_matching(&self, id: IncidentId) -> Result<Incident> {
        if let Err(error) = self.step(id, Step::Prompt).await {
            // The incident stands; the widening worker tries again from `next_ring_at`.
            tracing::warn!(%error, incident = id.0, "first matching step failed");
        }
        Ok(Incident::from(self.find(id).await?))
    }

    /// The areas of the teams the volunteer leads or deputises.
    async fn led_areas(&self, volunteer: VolunteerId) -> Result<Vec<AreaId>> {
        let roles = self.teams.active_roles(volunteer).await?;
        let mut led: Vec<_> = roles
            .into_iter()
            .filter(|(_, role)| role.manages())
            .map(|(team, _)| team)
            .collect();
        led.sort();
        let teams = self.teams.teams_by_id(&led).await?;
        Ok(led
            .iter()
            .filter_map(|id| teams.get(id).map(|team| team.area_id))
            .collect())
    }

    /// Inserts the incident; `None` when its dispatch reference was already used.
    async fn insert(
        &self,
        raised_by: Option<VolunteerId>,
        reference: Option<String>,
        area: AreaId,
        input: &RaiseIncident,
        checked: Checked,
    ) -> Result<Option<IncidentId>> {
        let now = Utc::now();
        let txn = self.deps.store.write().await?;
        let inserted = incidents::ActiveModel {
            area_id: Set(area.0),
            kind: Set(input.kind),
            description: Set(checked.description),
            address: Set(checked.address),
            lat: Set(input.position.lat),
            lng: Set(input.position.lng),
            needed: Set(input.needed),
            team_kinds: Set(checked.team_kinds),
            raised_by: Set(raised_by.map(|id| id.0)),
            external_ref: Set(reference),
            status: Set(IncidentStatus::Open),
            accepted: Set(0),
            ring: Set(0),
            next_ring_at: Set(Some(now)),
            raised_at: Set(now),
            ..Default::default()
        }
        .insert(&*txn)
        .await;
        let row = match inserted {
            Ok(row) => row,
            Err(error) if crate::store::is_unique_violation(&error) => return Ok(None),
            Err(error) => return Err(error.into()),
        };
        let incident = Incident::from(row.clone());
        audit::record(
            &*txn,
            AuditRecord::<(), _> {
                actor: raised_by,
                action: "incident.raise",
                entity_type: "incident",
                entity_id: row.id,
                area: Some(area),
                team_id: None,
                before: None,
                after: Some(&incident),
            },
        )
        .await?;
        txn.changed(crate::bus::Change::Incident(incident.id));
        txn.commit().await?;
        Ok(Some(incident.id))
    }
}
