//! Quick response (issue 13): an incident raised by an area's admin, a leader of a team there,
//! or the city's dispatch system reaches the nearest volunteers on duty, ring by ring, until
//! `needed` of them accepted. `matching` holds the rules; `step` runs one matching step;
//! `answers` takes acceptances, refusals, arrivals and responders' positions; `close` ends an
//! incident and credits its responders. Positions come from the duty index and are shown only
//! to the incident's dispatchers, for responders who accepted, while it is open.

mod answers;
mod close;
pub mod matching;
mod raise;
pub mod stats;
mod step;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait as _, EntityTrait as _, QueryFilter as _, QueryOrder as _, QuerySelect as _,
};

use crate::actor::Actor;
use crate::deps::Deps;
use crate::duty::Duty;
use crate::entity::{incident_responders, incidents};
use crate::error::{Error, Result};
use crate::geo::Position;
use crate::ids::{AreaId, IncidentId, TeamId, VolunteerId};
use crate::kinds::{IncidentKind, IncidentStatus, ResponderAnswer, TeamKind};
use crate::policy;
use crate::teams::Teams;
use crate::throttle::{Limit, RateLimiter};

pub use answers::{ARRIVAL_RADIUS_M, Response};
pub use raise::{MAX_NEEDED, RaiseIncident};

/// How matching and its limits are set (`FEIHONG_RESPONSE_RINGS_M` and the defaults).
#[derive(Debug, Clone)]
pub struct ResponseSettings {
    /// Ring radii in metres, nearest first.
    pub rings_m: Vec<u32>,
    /// How long a ring is given before the next one opens.
    pub ring_wait: Duration,
    /// Incidents one person may raise per hour.
    pub incidents_per_hour: u32,
    /// Alerts one volunteer may receive per hour.
    pub alerts_per_hour: u32,
}

impl Default for ResponseSettings {
    fn default() -> Self {
        Self {
            rings_m: vec![250, 750, 1250],
            ring_wait: Duration::from_secs(60),
            incidents_per_hour: 10,
            alerts_per_hour: 12,
        }
    }
}

/// An incident as its dispatchers see it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Incident {
    pub id: IncidentId,
    pub area_id: AreaId,
    pub kind: IncidentKind,
    pub description: String,
    pub address: String,
    pub position: Position,
    pub needed: i32,
    pub team_kinds: Vec<TeamKind>,
    pub raised_by: Option<VolunteerId>,
    pub status: IncidentStatus,
    pub accepted: i32,
    /// Rings opened so far.
    pub ring: i32,
    pub raised_at: DateTime<Utc>,
    pub first_accepted_at: Option<DateTime<Utc>>,
    pub first_arrived_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub outcome: Option<String>,
}

impl From<incidents::Model> for Incident {
    fn from(row: incidents::Model) -> Self {
        Self {
            id: IncidentId(row.id),
            area_id: AreaId(row.area_id),
            kind: row.kind,
            description: row.description,
            address: row.address,
            position: Position {
                lat: row.lat,
                lng: row.lng,
            },
            needed: row.needed,
            team_kinds: raise::kinds_from_stored(&row.team_kinds),
            raised_by: row.raised_by.map(VolunteerId),
            status: row.status,
            accepted: row.accepted,
            ring: row.ring,
            raised_at: row.raised_at,
            first_accepted_at: row.first_accepted_at,
            first_arrived_at: row.first_arrived_at,
            closed_at: row.closed_at,
            outcome: row.outcome,
        }
    }
}

/// A volunteer alerted for an incident. `last_position` is set only for those who accepted,
/// while the incident is open.
#[derive(Debug, Clone, PartialEq)]
pub struct Responder {
    pub volunteer: VolunteerId,
    pub team_id: Option<TeamId>,
    pub ring: i32,
    pub distance_m: i32,
    pub alerted_at: DateTime<Utc>,
    pub answer: Option<ResponderAnswer>,
    pub answered_at: Option<DateTime<Utc>>,
    pub arrived_at: Option<DateTime<Utc>>,
    pub last_position: Option<(Position, DateTime<Utc>)>,
}

impl From<incident_responders::Model> for Responder {
    fn from(row: incident_responders::Model) -> Self {
        let last_position = match (row.last_lat, row.last_lng, row.last_position_at) {
            (Some(lat), Some(lng), Some(at)) if row.answer == Some(ResponderAnswer::Accepted) => {
                Some((Position { lat, lng }, at))
            }
            _ => None,
        };
        Self {
            volunteer: VolunteerId(row.volunteer_id),
            team_id: row.team_id.map(TeamId),
            ring: row.ring,
            distance_m: row.distance_m,
            alerted_at: row.alerted_at,
            answer: row.answer,
            answered_at: row.answered_at,
            arrived_at: row.arrived_at,
            last_position,
        }
    }
}

/// What one alerted volunteer sees of an incident: never the other candidates.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub incident: Incident,
    pub responder: Responder,
}

pub struct Incidents {
    deps: Deps,
    teams: Arc<Teams>,
    duty: Arc<Duty>,
    settings: ResponseSettings,
    raises: RateLimiter,
    alerts: RateLimiter,
}

impl Incidents {
    pub fn new(
        deps: Deps,
        teams: Arc<Teams>,
        duty: Arc<Duty>,
        settings: ResponseSettings,
        redis: Option<Arc<crate::redis_store::RedisStore>>,
    ) -> Self {
        let hourly = |max| Limit {
            max,
            window: Duration::from_secs(3600),
        };
        Self {
            raises: RateLimiter::new(
                "incidents",
                hourly(settings.incidents_per_hour),
                redis.clone(),
            ),
            alerts: RateLimiter::new("alerts", hourly(settings.alerts_per_hour), redis),
            deps,
            teams,
            duty,
            settings,
        }
    }

    pub fn settings(&self) -> &ResponseSettings {
        &self.settings
    }

    async fn find(&self, id: IncidentId) -> Result<incidents::Model> {
        incidents::Entity::find_by_id(id.0)
            .one(&self.deps.store.db)
            .await?
            .ok_or(Error::NotFound("incident"))
    }

    /// The incident, if it exists (callers decide who may see it: `policy::incidents`).
    pub async fn incident(&self, id: IncidentId) -> Result<Option<Incident>> {
        Ok(incidents::Entity::find_by_id(id.0)
            .one(&self.deps.store.db)
            .await?
            .map(Incident::from))
    }

    /// Everyone alerted for the incident, in the order they were alerted.
    pub async fn responders(&self, id: IncidentId) -> Result<Vec<Responder>> {
        let rows = incident_responders::Entity::find()
            .filter(incident_responders::Column::IncidentId.eq(id.0))
            .order_by_asc(incident_responders::Column::AlertedAt)
            .order_by_asc(incident_responders::Column::VolunteerId)
            .all(&self.deps.store.db)
            .await?;
        Ok(rows.into_iter().map(Responder::from).collect())
    }

    /// The volunteer's alert for the incident, if they were alerted.
    pub async fn alert_for(&self, id: IncidentId, volunteer: VolunteerId) -> Result<Option<Alert>> {
        let Some(row) = incident_responders::Entity::find_by_id((id.0, volunteer.0))
            .one(&self.deps.store.db)
            .await?
        else {
            return Ok(None);
        };
        let incident = Incident::from(self.find(id).await?);
        Ok(Some(Alert {
            incident,
            responder: Responder::from(row),
        }))
    }
}

/// How a caller sees an incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// Its raiser or an admin of its area: everything, the responders included.
    Dispatcher,
    /// Someone alerted for it: the incident and their own alert, never the other candidates.
    Alerted,
}

impl Incidents {
    /// The incident as `actor` may see it; `None` when they may not (or it does not exist).
    pub async fn seen_by(&self, actor: &Actor, id: IncidentId) -> Result<Option<(Incident, Seen)>> {
        let Some(incident) = self.incident(id).await? else {
            return Ok(None);
        };
        if policy::can_dispatch(
            actor,
            &self.deps.areas,
            incident.area_id,
            incident.raised_by,
        ) {
            return Ok(Some((incident, Seen::Dispatcher)));
        }
        let alerted = incident_responders::Entity::find_by_id((id.0, actor.volunteer.0))
            .one(&self.deps.store.db)
            .await?
            .is_some();
        Ok(alerted.then_some((incident, Seen::Alerted)))
    }

    /// The caller's alerts of the last 24 hours, newest first (at most 50): for an app catching
    /// up after a reconnect.
    pub async fn my_alerts(&self, actor: &Actor) -> Result<Vec<Alert>> {
        let since = Utc::now() - chrono::Duration::hours(24);
        let rows = incident_responders::Entity::find()
            .filter(incident_responders::Column::VolunteerId.eq(actor.volunteer.0))
            .filter(incident_responders::Column::AlertedAt.gt(since))
            .order_by_desc(incident_responders::Column::AlertedAt)
            .limit(50)
            .all(&self.deps.store.db)
            .await?;
        let ids: Vec<i64> = rows.iter().map(|row| row.incident_id).collect();
        let incidents: std::collections::HashMap<i64, Incident> = incidents::Entity::find()
            .filter(incidents::Column::Id.is_in(ids))
            .all(&self.deps.store.db)
            .await?
            .into_iter()
            .map(|row| (row.id, Incident::from(row)))
            .collect();
        Ok(rows
            .into_iter()
            .filter_map(|row| {
                let incident = incidents.get(&row.incident_id)?.clone();
                Some(Alert {
                    incident,
                    responder: Responder::from(row),
                })
            })
            .collect())
    }
}
