//! One matching step of an incident, under its row lock: look in the ring the step starts in
//! (`matching::first_ring`), alert the nearest eligible people there, open further rings at once
//! while the rings hold too few, and set when the next widening is due. Eligible: on duty and
//! live in the position index, not alerted for this incident before, not its raiser, alerts not
//! muted, the account not erased, under the hourly alert limit, and (when the incident asks for team kinds) an active
//! member of a team of one of them. Each new alert is pushed and told to `incidentAlerts`.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, Expr, ExprTrait as _, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait as _, ConnectionTrait, EntityTrait as _, QueryFilter as _,
    QuerySelect as _,
};

use super::Incidents;
use super::matching::{self, Step};
use crate::bus::Change;
use crate::duty::positions::Near;
use crate::entity::{incident_responders, incidents, memberships, teams};
use crate::error::{Error, Result};
use crate::geo::Position;
use crate::ids::{IncidentId, TeamId, VolunteerId};
use crate::kinds::{IncidentKind, IncidentStatus, MembershipStatus, NotificationKind, TeamKind};
use crate::store::{WriteTxn, lock_incident};
use crate::text::Text;

/// Candidates asked of the index beyond those wanted, for the ones skipped.
const OVERFETCH: usize = 20;

/// Someone chosen in a ring.
struct Chosen {
    near: Near,
    ring: usize,
    team: Option<TeamId>,
}

impl Incidents {
    /// Runs one matching step; how many were alerted.
    pub(crate) async fn step(&self, id: IncidentId, step: Step) -> Result<usize> {
        let now = Utc::now();
        let txn = self.deps.store.write().await?;
        lock_incident(&*txn, id).await?;
        let incident = incidents::Entity::find_by_id(id.0)
            .one(&*txn)
            .await?
            .ok_or(Error::NotFound("incident"))?;
        let due = incident.next_ring_at.is_some_and(|at| at <= now);
        if incident.status != IncidentStatus::Open || (step == Step::Widen && !due) {
            return Ok(0);
        }
        let short = incident.accepted < incident.needed;
        let (chosen, looked) = if short {
            self.choose_in_rings(&txn, &incident, step, now).await?
        } else {
            (Vec::new(), 0)
        };
        let opened = std::cmp::max(looked, incident.ring as usize);
        let next = short
            .then(|| now + chrono::Duration::from_std(self.settings.ring_wait).unwrap_or_default());
        incidents::Entity::update_many()
            .col_expr(incidents::Column::Ring, Expr::value(opened as i32))
            .col_expr(incidents::Column::NextRingAt, Expr::value(next))
            .filter(incidents::Column::Id.eq(id.0))
            .exec(&*txn)
            .await?;
        self.alert(&txn, &incident, &chosen, now).await?;
        txn.commit().await?;
        Ok(chosen.len())
    }

    /// Chooses whom to alert, ring by ring from the step's first; and the last ring looked in.
    async fn choose_in_rings(
        &self,
        txn: &WriteTxn<'_>,
        incident: &incidents::Model,
        step: Step,
        now: DateTime<Utc>,
    ) -> Result<(Vec<Chosen>, usize)> {
        let answered: Vec<(i64, i32, Option<String>)> = incident_responders::Entity::find()
            .select_only()
            .column(incident_responders::Column::VolunteerId)
            .column(incident_responders::Column::Ring)
            .column(incident_responders::Column::Answer)
            .filter(incident_responders::Column::IncidentId.eq(incident.id))
            .into_tuple()
            .all(&**txn)
            .await?;
        let mut skip: HashSet<VolunteerId> =
            answered.iter().map(|(v, _, _)| VolunteerId(*v)).collect();
        skip.extend(incident.raised_by.map(VolunteerId));
        let centre = Position {
            lat: incident.lat,
            lng: incident.lng,
        };
        let rings = &self.settings.rings_m;
        let first = matching::first_ring(incident.ring as usize, rings.len(), step);
        let mut ring = first;
        let mut chosen: Vec<Chosen> = Vec::new();
        loop {
            let pending = answered
                .iter()
                .filter(|(_, r, answer)| *r as usize >= first && answer.is_none())
                .count()
                + chosen.len();
            let wanted = matching::wanted(
                incident.needed as usize,
                incident.accepted as usize,
                pending,
            );
            if wanted == 0 {
                break;
            }
            let radius = f64::from(rings[ring - 1]);
            let near = self
                .duty
                .positions
                .nearest(centre, radius, skip.len() + wanted + OVERFETCH, now)
                .await?;
            let ordered = matching::choose(&near, &skip, near.len());
            let found = self.eligible(&**txn, incident, &ordered, wanted).await?;
            let enough = found.len() >= wanted;
            for (near, team) in found {
                skip.insert(near.volunteer);
                chosen.push(Chosen { near, ring, team });
            }
            if enough || ring >= rings.len() {
                break;
            }
            ring += 1;
        }
        Ok((chosen, ring))
    }

    /// Up to `wanted` of `ordered` (nearest first) who may be alerted, each with the team their
    /// response would be credited to.
    async fn eligible(
        &self,
        conn: &impl ConnectionTrait,
        incident: &incidents::Model,
        ordered: &[Near],
        wanted: usize,
    ) -> Result<Vec<(Near, Option<TeamId>)>> {
        if ordered.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<VolunteerId> = ordered.iter().map(|n| n.volunteer).collect();
        let reachable = self.duty.reachable_among(&ids).await?;
        let kinds = super::raise::kinds_from_stored(&incident.team_kinds);
        let teams = teams_of(conn, &ids, &kinds).await?;
        let mut found = Vec::new();
        for near in ordered {
            if found.len() >= wanted {
                break;
            }
            let team = teams.get(&near.volunteer).copied();
            if !reachable.contains(&near.volunteer) || (!kinds.is_empty() && team.is_none()) {
                continue;
            }
            if self
                .alerts
                .reserve_for(&near.volunteer.0.to_string())
                .await
                .is_err()
            {
                continue;
            }
            found.push((*near, team));
        }
        Ok(found)
    }

    /// Records the alerts, queues their pushes and tells `incidentAlerts`.
    async fn alert(
        &self,
        txn: &WriteTxn<'_>,
        incident: &incidents::Model,
        chosen: &[Chosen],
        now: DateTime<Utc>,
    ) -> Result<()> {
        if chosen.is_empty() {
            return Ok(());
        }
        let rows = chosen.iter().map(|c| incident_responders::ActiveModel {
            incident_id: Set(incident.id),
            volunteer_id: Set(c.near.volunteer.0),
            team_id: Set(c.team.map(|t| t.0)),
            ring: Set(c.ring as i32),
            distance_m: Set(c.near.distance_m.round() as i32),
            alerted_at: Set(now),
            ..Default::default()
        });
        incident_responders::Entity::insert_many(rows)
            .exec(&**txn)
            .await?;
        for c in chosen {
            let text = Text::new(alert_key(incident.kind))
                .arg("distance", c.near.distance_m.round() as i64)
                .arg("address", incident.address.as_str());
            crate::push::queue(
                &**txn,
                c.near.volunteer,
                NotificationKind::IncidentAlert,
                &text,
                now,
            )
            .await?;
        }
        let mut volunteers: Vec<VolunteerId> = chosen.iter().map(|c| c.near.volunteer).collect();
        volunteers.sort_unstable();
        let id = IncidentId(incident.id);
        txn.changed(Change::IncidentAlerted {
            incident: id,
            volunteers,
        });
        txn.changed(Change::Incident(id));
        Ok(())
    }
}

/// What an alert of this kind says.
fn alert_key(kind: IncidentKind) -> &'static str {
    match kind {
        IncidentKind::Security => "incident-alert-security",
        IncidentKind::MissingPerson => "incident-alert-missing-person",
        IncidentKind::FraudInProgress => "incident-alert-fraud-in-progress",
        IncidentKind::Medical => "incident-alert-medical",
        IncidentKind::Fire => "incident-alert-fire",
        IncidentKind::Other => "incident-alert-other",
    }
}

/// For each of `volunteers`, the first (lowest id) active team of theirs of one of `kinds` (of
/// any kind when `kinds` is empty).
async fn teams_of(
    conn: &impl ConnectionTrait,
    volunteers: &[VolunteerId],
    kinds: &[TeamKind],
) -> Result<HashMap<VolunteerId, TeamId>> {
    let m = Alias::new("m");
    let mut select = Query::select()
        .column((m.clone(), memberships::Column::VolunteerId))
        .column((m.clone(), memberships::Column::TeamId))
        .from_as(memberships::Entity, m.clone())
        .inner_join(
            teams::Entity,
            Expr::col((teams::Entity, teams::Column::Id))
                .equals((m.clone(), memberships::Column::TeamId)),
        )
        .and_where(
            Expr::col((m.clone(), memberships::Column::VolunteerId))
                .is_in(volunteers.iter().map(|v| v.0)),
        )
        .and_where(
            Expr::col((m.clone(), memberships::Column::Status))
                .eq(sea_orm::ActiveEnum::to_value(&MembershipStatus::Active)),
        )
        .to_owned();
    if !kinds.is_empty() {
        select.and_where(
            Expr::col((teams::Entity, teams::Column::Kind))
                .is_in(kinds.iter().map(sea_orm::ActiveEnum::to_value)),
        );
    }
    let rows = conn.query_all(&select).await?;
    let mut teams: HashMap<VolunteerId, TeamId> = HashMap::new();
    for row in rows {
        let volunteer: i64 = row.try_get("", "volunteer_id")?;
        let team: i64 = row.try_get("", "team_id")?;
        teams
            .entry(VolunteerId(volunteer))
            .and_modify(|kept| kept.0 = std::cmp::min(kept.0, team))
            .or_insert(TeamId(team));
    }
    Ok(teams)
}

impl Incidents {
    /// Opens the next ring of every open incident whose ring wait has passed (at most 100 a
    /// round); how many were alerted. One incident failing is logged and retried on the next
    /// round, never stopping the others.
    pub async fn widen_due(&self) -> Result<usize> {
        let due: Vec<i64> = incidents::Entity::find()
            .select_only()
            .column(incidents::Column::Id)
            .filter(incidents::Column::Status.eq(IncidentStatus::Open))
            .filter(incidents::Column::NextRingAt.lte(Utc::now()))
            .limit(100)
            .into_tuple()
            .all(&self.deps.store.db)
            .await?;
        let mut alerted = 0;
        for id in due {
            match self.step(IncidentId(id), Step::Widen).await {
                Ok(count) => alerted += count,
                Err(error) => tracing::warn!(%error, incident = id, "widening an incident failed"),
            }
        }
        self.duty.positions.sweep(Utc::now());
        Ok(alerted)
    }
}
