//! Closing an incident: by whoever raised it or an admin of its area. Matching stops, the
//! responders' positions are forgotten, and each responder who accepted (and has a team to
//! review it) gets a PENDING service record for the time from their acceptance to the close,
//! at most [`MAX_CREDIT_MINUTES`], reviewed like any other. Also the 24 h retention of the
//! positions of responders to incidents still open.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait as _, ConnectionTrait, EntityTrait as _, QueryFilter as _,
};

use super::{Incident, Incidents};
use crate::actor::Actor;
use crate::audit::{self, AuditRecord};
use crate::bus::Change;
use crate::deps;
use crate::entity::{incident_responders, incidents, service_records};
use crate::error::Result;
use crate::ids::IncidentId;
use crate::kinds::{IncidentStatus, RecordStatus, ResponderAnswer};
use crate::policy;
use crate::privacy::retention::{ResponderPositions, clear_responder_positions};
use crate::store::lock_incident;

/// The most minutes one response is credited with.
pub const MAX_CREDIT_MINUTES: i64 = 240;

/// Minutes credited for a response accepted at `accepted` and closed at `closed`: at least one,
/// at most [`MAX_CREDIT_MINUTES`].
pub fn credited_minutes(accepted: DateTime<Utc>, closed: DateTime<Utc>) -> i32 {
    let minutes = (closed - accepted)
        .num_minutes()
        .clamp(1, MAX_CREDIT_MINUTES);
    i32::try_from(minutes).unwrap_or(1)
}

impl Incidents {
    /// Closes the incident with its outcome. Closing a closed incident changes nothing.
    pub async fn close(&self, actor: &Actor, id: IncidentId, outcome: &str) -> Result<Incident> {
        let outcome = deps::text(outcome, "outcome", 1, 1000, true)?;
        let now = Utc::now();
        let txn = self.deps.store.write().await?;
        lock_incident(&*txn, id).await?;
        let row = self.find_in(&*txn, id).await?;
        let before = Incident::from(row.clone());
        policy::check_dispatches(actor, &self.deps.areas, before.area_id, before.raised_by)?;
        if before.status == IncidentStatus::Closed {
            return Ok(before);
        }
        incidents::Entity::update_many()
            .col_expr(
                incidents::Column::Status,
                Expr::value(IncidentStatus::Closed),
            )
            .col_expr(incidents::Column::ClosedAt, Expr::value(now))
            .col_expr(incidents::Column::ClosedBy, Expr::value(actor.volunteer.0))
            .col_expr(incidents::Column::Outcome, Expr::value(outcome))
            .col_expr(
                incidents::Column::NextRingAt,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .filter(incidents::Column::Id.eq(id.0))
            .exec(&*txn)
            .await?;
        self.credit_responders(&*txn, actor, &row, now).await?;
        clear_responder_positions(&*txn, ResponderPositions::OfIncident(id.0)).await?;
        let after = Incident::from(self.find_in(&*txn, id).await?);
        audit::record(
            &*txn,
            AuditRecord {
                actor: Some(actor.volunteer),
                action: "incident.close",
                entity_type: "incident",
                entity_id: id.0,
                area: Some(after.area_id),
                team_id: None,
                before: Some(&before),
                after: Some(&after),
            },
        )
        .await?;
        txn.changed(Change::Incident(id));
        txn.commit().await?;
        Ok(after)
    }

    async fn find_in(
        &self,
        conn: &impl ConnectionTrait,
        id: IncidentId,
    ) -> Result<incidents::Model> {
        incidents::Entity::find_by_id(id.0)
            .one(conn)
            .await?
            .ok_or(crate::Error::NotFound("incident"))
    }

    async fn credit_responders(
        &self,
        conn: &impl ConnectionTrait,
        actor: &Actor,
        incident: &incidents::Model,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let accepted = incident_responders::Entity::find()
            .filter(incident_responders::Column::IncidentId.eq(incident.id))
            .filter(incident_responders::Column::Answer.eq(ResponderAnswer::Accepted))
            .all(conn)
            .await?;
        let today = now.with_timezone(&self.deps.timezone).date_naive();
        let reason = format!(
            "快速响应事件 #{id}：{address} / Quick response to incident #{id}: {address}",
            id = incident.id,
            address = incident.address
        );
        let records: Vec<service_records::ActiveModel> = accepted
            .iter()
            .filter_map(|responder| {
                let team = responder.team_id?;
                let since = responder.answered_at.unwrap_or(responder.alerted_at);
                Some(service_records::ActiveModel {
                    volunteer_id: Set(responder.volunteer_id),
                    team_id: Set(team),
                    event_id: Set(None),
                    attendance_id: Set(None),
                    minutes: Set(credited_minutes(since, now)),
                    service_date: Set(today),
                    status: Set(RecordStatus::Pending),
                    note: Set(None),
                    needs_review: Set(true),
                    review_reason: Set(Some(reason.clone())),
                    reviewer_id: Set(None),
                    reviewed_at: Set(None),
                    reason: Set(None),
                    created_by: Set(actor.volunteer.0),
                    created_at: Set(now),
                    updated_at: Set(now),
                    ..Default::default()
                })
            })
            .collect();
        if !records.is_empty() {
            service_records::Entity::insert_many(records)
                .exec(conn)
                .await?;
        }
        Ok(())
    }

    /// Forgets responders' positions older than 24 h (of incidents still open); how many.
    pub async fn drop_old_positions(&self) -> Result<u64> {
        let cutoff = Utc::now() - chrono::Duration::hours(24);
        let scope = ResponderPositions::OlderThan(cutoff);
        clear_responder_positions(&self.deps.store.db, scope).await
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone as _};

    use super::*;

    #[test]
    fn a_response_is_credited_from_acceptance_to_close_within_bounds() {
        let accepted = Utc.with_ymd_and_hms(2026, 12, 1, 20, 0, 0).unwrap();
        assert_eq!(
            credited_minutes(accepted, accepted + Duration::minutes(37)),
            37
        );
        assert_eq!(
            credited_minutes(accepted, accepted + Duration::seconds(20)),
            1
        );
        assert_eq!(
            credited_minutes(accepted, accepted + Duration::hours(9)),
            240
        );
        assert_eq!(
            credited_minutes(accepted, accepted - Duration::minutes(5)),
            1
        );
    }
}
