//! Answers to an alert, arrivals and responders' positions. The first `needed` acceptances win,
//! exactly: an acceptance counts only through a conditional update of the incident's row
//! (`accepted < needed`), so however many arrive at once, no more than `needed` are told they
//! are on it; the others are told it is staffed (their answer recorded as `LATE`). A refusal
//! lets matching alert someone else at once.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait as _};
use sea_orm::{
    ColumnTrait as _, ConnectionTrait, EntityTrait as _, QueryFilter as _, QuerySelect as _,
};

use super::matching::Step;
use super::{Incident, Incidents};
use crate::actor::Actor;
use crate::bus::Change;
use crate::entity::{incident_responders, incidents};
use crate::error::{Error, Result};
use crate::geo::Position;
use crate::ids::{IncidentId, VolunteerId};
use crate::kinds::{IncidentStatus, ResponderAnswer};
use crate::store::lock_incident;

/// Within this distance of the incident a responder has arrived.
pub const ARRIVAL_RADIUS_M: f64 = 50.0;

/// What an answer came to.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    /// The answer as recorded: `LATE` for an acceptance that came after the incident was staffed.
    pub answer: ResponderAnswer,
    pub incident: Incident,
}

impl Incidents {
    /// Accepts or refuses an alert. `NOT_FOUND` for someone not alerted (an incident is not
    /// public); `CONFLICT` for a second answer or a closed incident.
    pub async fn respond(&self, actor: &Actor, id: IncidentId, accept: bool) -> Result<Response> {
        let now = Utc::now();
        let txn = self.deps.store.write().await?;
        let responder = incident_responders::Entity::find_by_id((id.0, actor.volunteer.0))
            .one(&*txn)
            .await?
            .ok_or(Error::NotFound("incident"))?;
        lock_incident(&*txn, id).await?;
        // One answer per alert, decided under the lock (a double tap answers once).
        let tentative = if accept {
            ResponderAnswer::Accepted
        } else {
            ResponderAnswer::Declined
        };
        if !set_answer(&*txn, id, actor.volunteer, tentative, now, true).await? {
            return Err(Error::conflict("incident-already-answered"));
        }
        let answer = match accept {
            true if count_acceptance(&*txn, id, now).await? => ResponderAnswer::Accepted,
            true => {
                set_answer(
                    &*txn,
                    id,
                    actor.volunteer,
                    ResponderAnswer::Late,
                    now,
                    false,
                )
                .await?;
                ResponderAnswer::Late
            }
            false => ResponderAnswer::Declined,
        };
        let incident = incidents::Entity::find_by_id(id.0)
            .one(&*txn)
            .await?
            .ok_or(Error::NotFound("incident"))?;
        if incident.status != IncidentStatus::Open && answer != ResponderAnswer::Late {
            return Err(Error::conflict("incident-is-closed"));
        }
        if answer == ResponderAnswer::Accepted && incident.accepted >= incident.needed {
            incidents::Entity::update_many()
                .col_expr(incidents::Column::StaffedRing, Expr::value(responder.ring))
                .col_expr(
                    incidents::Column::NextRingAt,
                    Expr::value(Option::<DateTime<Utc>>::None),
                )
                .filter(incidents::Column::Id.eq(id.0))
                .exec(&*txn)
                .await?;
        }
        let after = serde_json::json!({ "answer": answer });
        audit(&*txn, actor, &incident, "incident.respond", &after).await?;
        txn.changed(Change::Incident(id));
        txn.commit().await?;
        if answer == ResponderAnswer::Accepted {
            self.duty
                .positions
                .set_responding(actor.volunteer, now)
                .await?;
        }
        if answer == ResponderAnswer::Declined
            && let Err(error) = self.step(id, Step::Prompt).await
        {
            tracing::warn!(%error, incident = id.0, "matching after a refusal failed");
        }
        let incident = Incident::from(self.find(id).await?);
        Ok(Response { answer, incident })
    }

    /// Records the caller's arrival (they accepted; the incident is open). Idempotent.
    pub async fn arrive(&self, actor: &Actor, id: IncidentId) -> Result<Incident> {
        let txn = self.deps.store.write().await?;
        let responder = incident_responders::Entity::find_by_id((id.0, actor.volunteer.0))
            .one(&*txn)
            .await?
            .ok_or(Error::NotFound("incident"))?;
        if responder.answer != Some(ResponderAnswer::Accepted) {
            return Err(Error::conflict("only-responders-who-accepted-arrive"));
        }
        mark_arrived(&*txn, id, actor.volunteer, Utc::now()).await?;
        let incident = incidents::Entity::find_by_id(id.0)
            .one(&*txn)
            .await?
            .ok_or(Error::NotFound("incident"))?;
        let after = serde_json::json!({ "arrived": true });
        audit(&*txn, actor, &incident, "incident.arrive", &after).await?;
        txn.changed(Change::Incident(id));
        txn.commit().await?;
        Ok(Incident::from(self.find(id).await?))
    }

    /// A position from someone on duty: kept in the index (`Duty::report_position`) and, for
    /// each open incident they accepted, noted for its dispatchers; within 50 m of the incident
    /// it records their arrival.
    pub async fn report_position(&self, actor: &Actor, position: Position) -> Result<()> {
        if !self.duty.report_position(actor, position).await? {
            return Ok(()); // not responding to anything: no database read
        }
        let responding: Vec<i64> = incident_responders::Entity::find()
            .select_only()
            .column(incident_responders::Column::IncidentId)
            .filter(incident_responders::Column::VolunteerId.eq(actor.volunteer.0))
            .filter(incident_responders::Column::Answer.eq(ResponderAnswer::Accepted))
            .filter(
                incident_responders::Column::AlertedAt.gt(Utc::now() - chrono::Duration::hours(24)),
            )
            .into_tuple()
            .all(&self.deps.store.db)
            .await?;
        for incident in responding {
            self.track(IncidentId(incident), actor.volunteer, position)
                .await?;
        }
        Ok(())
    }

    async fn track(
        &self,
        id: IncidentId,
        volunteer: VolunteerId,
        position: Position,
    ) -> Result<()> {
        let incident = self.find(id).await?;
        if incident.status != IncidentStatus::Open {
            return Ok(());
        }
        let now = Utc::now();
        let txn = self.deps.store.write().await?;
        incident_responders::Entity::update_many()
            .col_expr(
                incident_responders::Column::LastLat,
                Expr::value(position.lat),
            )
            .col_expr(
                incident_responders::Column::LastLng,
                Expr::value(position.lng),
            )
            .col_expr(
                incident_responders::Column::LastPositionAt,
                Expr::value(now),
            )
            .filter(incident_responders::Column::IncidentId.eq(id.0))
            .filter(incident_responders::Column::VolunteerId.eq(volunteer.0))
            .exec(&*txn)
            .await?;
        let centre = Position {
            lat: incident.lat,
            lng: incident.lng,
        };
        if centre.distance_m(&position) <= ARRIVAL_RADIUS_M {
            mark_arrived(&*txn, id, volunteer, now).await?;
        }
        txn.changed(Change::Incident(id));
        txn.commit().await
    }
}

/// Audits what a responder did about an incident.
async fn audit(
    conn: &impl ConnectionTrait,
    actor: &Actor,
    incident: &incidents::Model,
    action: &str,
    after: &serde_json::Value,
) -> Result<()> {
    crate::audit::record(
        conn,
        crate::audit::AuditRecord::<(), _> {
            actor: Some(actor.volunteer),
            action,
            entity_type: "incident",
            entity_id: incident.id,
            area: Some(crate::ids::AreaId(incident.area_id)),
            team_id: None,
            before: None,
            after: Some(after),
        },
    )
    .await
}

/// Records a responder's answer; with `first`, only if they had not answered (whether it did).
async fn set_answer(
    conn: &impl ConnectionTrait,
    id: IncidentId,
    volunteer: VolunteerId,
    answer: ResponderAnswer,
    now: DateTime<Utc>,
    first: bool,
) -> Result<bool> {
    let mut update = incident_responders::Entity::update_many()
        .col_expr(incident_responders::Column::Answer, Expr::value(answer))
        .col_expr(incident_responders::Column::AnsweredAt, Expr::value(now))
        .filter(incident_responders::Column::IncidentId.eq(id.0))
        .filter(incident_responders::Column::VolunteerId.eq(volunteer.0));
    if first {
        update = update.filter(incident_responders::Column::Answer.is_null());
    }
    Ok(update.exec(conn).await?.rows_affected == 1)
}

/// Counts an acceptance if the incident is open and still short of people (the exact race).
async fn count_acceptance(
    conn: &impl ConnectionTrait,
    id: IncidentId,
    now: DateTime<Utc>,
) -> Result<bool> {
    let counted = incidents::Entity::update_many()
        .col_expr(
            incidents::Column::Accepted,
            Expr::col(incidents::Column::Accepted).add(1),
        )
        .col_expr(
            incidents::Column::FirstAcceptedAt,
            Expr::col(incidents::Column::FirstAcceptedAt).if_null(now),
        )
        .filter(incidents::Column::Id.eq(id.0))
        .filter(incidents::Column::Status.eq(IncidentStatus::Open))
        .filter(Expr::col(incidents::Column::Accepted).lt(Expr::col(incidents::Column::Needed)))
        .exec(conn)
        .await?;
    Ok(counted.rows_affected == 1)
}

/// Records an arrival once, and the incident's first.
async fn mark_arrived(
    conn: &impl ConnectionTrait,
    id: IncidentId,
    volunteer: VolunteerId,
    now: DateTime<Utc>,
) -> Result<()> {
    let arrived = incident_responders::Entity::update_many()
        .col_expr(incident_responders::Column::ArrivedAt, Expr::value(now))
        .filter(incident_responders::Column::IncidentId.eq(id.0))
        .filter(incident_responders::Column::VolunteerId.eq(volunteer.0))
        .filter(incident_responders::Column::ArrivedAt.is_null())
        .exec(conn)
        .await?;
    if arrived.rows_affected > 0 {
        incidents::Entity::update_many()
            .col_expr(incidents::Column::FirstArrivedAt, Expr::value(now))
            .filter(incidents::Column::Id.eq(id.0))
            .filter(incidents::Column::FirstArrivedAt.is_null())
            .exec(conn)
            .await?;
    }
    Ok(())
}
