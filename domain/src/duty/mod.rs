//! Who is on duty for quick response (issue 13): a volunteer checked in to an event under way,
//! or one who declared duty (`goOnDuty`, at most [`MAX_DUTY`]; `goOffDuty` ends it). While on
//! duty the app reports positions (at most one per 15 s); off duty they are refused. The
//! positions live only in the index (`positions`), never in the database; the database holds
//! who declared duty until when, and whether they muted alerts.

pub mod grid;
pub mod positions;

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, Expr, ExprTrait as _, JoinType, OnConflict, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait as _, ConnectionTrait, EntityTrait as _, QueryFilter as _,
    QuerySelect as _,
};
use serde::Serialize;

use crate::actor::Actor;
use crate::audit::{self, AuditRecord};
use crate::deps::Deps;
use crate::entity::{attendances, duty_shifts, events, volunteers};
use crate::error::{Error, Result};
use crate::geo::Position;
use crate::ids::VolunteerId;
use positions::{Positions, Reported};

/// The longest duty one declaration gives.
pub const MAX_DUTY: chrono::Duration = chrono::Duration::hours(12);

/// A volunteer's duty as they see it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DutyStatus {
    /// Until when they are on duty: their declared duty's end or, checked in to an event under
    /// way, the event's end (the later of the two); `None` when off duty.
    pub until: Option<DateTime<Utc>>,
    /// Whether they declared duty (else on duty through a check-in, or not at all).
    pub declared: bool,
    pub alerts_muted: bool,
}

/// Refuses a duty end that is not after `now` or more than [`MAX_DUTY`] ahead.
pub fn check_duty_end(until: DateTime<Utc>, now: DateTime<Utc>) -> Result<()> {
    if until <= now {
        return Err(Error::invalid("until", "must-be-in-the-future"));
    }
    if now
        .checked_add_signed(MAX_DUTY)
        .is_some_and(|latest| until > latest)
    {
        return Err(Error::invalid("until", "duty-at-most-12-hours"));
    }
    Ok(())
}

pub struct Duty {
    deps: Deps,
    pub positions: Arc<Positions>,
}

impl Duty {
    pub fn new(deps: Deps, positions: Arc<Positions>) -> Self {
        Self { deps, positions }
    }

    /// Declares duty until `until` (replacing a duty declared before), at `position`.
    pub async fn go_on_duty(
        &self,
        actor: &Actor,
        until: DateTime<Utc>,
        position: Position,
    ) -> Result<DutyStatus> {
        let now = Utc::now();
        check_duty_end(until, now)?;
        let txn = self.deps.store.write().await?;
        duty_shifts::Entity::insert(duty_shifts::ActiveModel {
            volunteer_id: Set(actor.volunteer.0),
            started_at: Set(now),
            until: Set(until),
            alerts_muted: Set(false),
        })
        .on_conflict(
            OnConflict::column(duty_shifts::Column::VolunteerId)
                .update_columns([duty_shifts::Column::StartedAt, duty_shifts::Column::Until])
                .to_owned(),
        )
        .exec(&*txn)
        .await?;
        record(&*txn, actor.volunteer, "duty.start", until).await?;
        txn.commit().await?;
        let status = self.status(actor.volunteer).await?;
        let end = status.until.unwrap_or(until);
        self.positions
            .start(actor.volunteer, position, now, end)
            .await?;
        Ok(status)
    }

    /// Ends a declared duty now. Someone checked in to an event under way stays on duty until
    /// it ends (checking out ends that).
    pub async fn go_off_duty(&self, actor: &Actor) -> Result<DutyStatus> {
        let now = Utc::now();
        let txn = self.deps.store.write().await?;
        let ended = duty_shifts::Entity::update_many()
            .col_expr(duty_shifts::Column::Until, now.into())
            .filter(duty_shifts::Column::VolunteerId.eq(actor.volunteer.0))
            .filter(duty_shifts::Column::Until.gt(now))
            .exec(&*txn)
            .await?;
        if ended.rows_affected > 0 {
            record(&*txn, actor.volunteer, "duty.end", now).await?;
        }
        txn.commit().await?;
        let status = self.status(actor.volunteer).await?;
        if status.until.is_none() {
            self.positions.stop(actor.volunteer).await?;
        }
        Ok(status)
    }

    /// Mutes (or unmutes) incident alerts for the caller's duties from now on.
    pub async fn set_alerts_muted(&self, actor: &Actor, muted: bool) -> Result<DutyStatus> {
        let now = Utc::now();
        let txn = self.deps.store.write().await?;
        duty_shifts::Entity::insert(duty_shifts::ActiveModel {
            volunteer_id: Set(actor.volunteer.0),
            started_at: Set(now),
            until: Set(now),
            alerts_muted: Set(muted),
        })
        .on_conflict(
            OnConflict::column(duty_shifts::Column::VolunteerId)
                .update_column(duty_shifts::Column::AlertsMuted)
                .to_owned(),
        )
        .exec(&*txn)
        .await?;
        txn.commit().await?;
        self.status(actor.volunteer).await
    }

    /// A position from the caller: kept while they are on duty, refused otherwise
    /// (`CONFLICT`) and when it comes less than 15 s after the last (`RATE_LIMITED`). Whether
    /// the caller may be responding to an incident (then the position matters to it too).
    pub async fn report_position(&self, actor: &Actor, position: Position) -> Result<bool> {
        let now = Utc::now();
        match self
            .positions
            .report(actor.volunteer, position, now)
            .await?
        {
            Reported::Kept { responding } => Ok(responding),
            Reported::TooSoon(wait) => Err(Error::RateLimited { retry_after: wait }),
            Reported::Unknown => {
                let Some(until) = self.status(actor.volunteer).await?.until else {
                    return Err(Error::conflict("not-on-duty"));
                };
                self.positions
                    .start(actor.volunteer, position, now, until)
                    .await?;
                // Not known to the index: whether they respond is for the database to say.
                Ok(true)
            }
        }
    }

    /// The volunteer's duty now.
    pub async fn status(&self, volunteer: VolunteerId) -> Result<DutyStatus> {
        let now = Utc::now();
        let db = &self.deps.store.db;
        let shift = duty_shifts::Entity::find_by_id(volunteer.0).one(db).await?;
        let declared = shift.as_ref().map(|s| s.until).filter(|until| *until > now);
        let checked_in = event_under_way_end(db, volunteer, now).await?;
        Ok(DutyStatus {
            until: std::cmp::max(declared, checked_in),
            declared: declared.is_some(),
            alerts_muted: shift.is_some_and(|s| s.alerts_muted),
        })
    }

    /// Of `volunteers`, those who may be alerted: accounts not erased, alerts not muted.
    pub async fn reachable_among(
        &self,
        volunteers: &[VolunteerId],
    ) -> Result<HashSet<VolunteerId>> {
        let (v, d) = (Alias::new("v"), Alias::new("d"));
        let select = Query::select()
            .column((v.clone(), volunteers::Column::Id))
            .from_as(volunteers::Entity, v.clone())
            .join_as(
                JoinType::LeftJoin,
                duty_shifts::Entity,
                d.clone(),
                Expr::col((d.clone(), duty_shifts::Column::VolunteerId))
                    .equals((v.clone(), volunteers::Column::Id)),
            )
            .and_where(
                Expr::col((v.clone(), volunteers::Column::Id))
                    .is_in(volunteers.iter().map(|id| id.0)),
            )
            .and_where(Expr::col((v, volunteers::Column::DeletedAt)).is_null())
            .and_where(
                Expr::col((d.clone(), duty_shifts::Column::AlertsMuted))
                    .is_null()
                    .or(Expr::col((d, duty_shifts::Column::AlertsMuted)).eq(false)),
            )
            .to_owned();
        let rows = self.deps.store.db.query_all(&select).await?;
        rows.iter()
            .map(|row| Ok(VolunteerId(row.try_get::<i64>("", "id")?)))
            .collect()
    }
}

/// The end of an event under way that the volunteer is checked in to (and not out of).
async fn event_under_way_end(
    conn: &impl ConnectionTrait,
    volunteer: VolunteerId,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>> {
    let open: Vec<i64> = attendances::Entity::find()
        .select_only()
        .column(attendances::Column::EventId)
        .filter(attendances::Column::VolunteerId.eq(volunteer.0))
        .filter(attendances::Column::CheckOutAt.is_null())
        .into_tuple()
        .all(conn)
        .await?;
    if open.is_empty() {
        return Ok(None);
    }
    let ends: Vec<DateTime<Utc>> = events::Entity::find()
        .select_only()
        .column(events::Column::EndsAt)
        .filter(events::Column::Id.is_in(open))
        .filter(events::Column::StartsAt.lte(now))
        .filter(events::Column::EndsAt.gt(now))
        .into_tuple()
        .all(conn)
        .await?;
    Ok(ends.into_iter().max())
}

async fn record(
    conn: &impl ConnectionTrait,
    volunteer: VolunteerId,
    action: &str,
    until: DateTime<Utc>,
) -> Result<()> {
    audit::record(
        conn,
        AuditRecord::<(), _> {
            actor: Some(volunteer),
            action,
            entity_type: "duty",
            entity_id: volunteer.0,
            area: None,
            team_id: None,
            before: None,
            after: Some(&serde_json::json!({ "until": until })),
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone as _};

    use super::*;

    #[test]
    fn duty_ends_in_the_future_and_within_twelve_hours() {
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 20, 0, 0).unwrap();
        assert!(check_duty_end(now + Duration::hours(12), now).is_ok());
        assert!(check_duty_end(now + Duration::minutes(1), now).is_ok());
        assert!(check_duty_end(now, now).is_err());
        assert!(check_duty_end(now + Duration::hours(12) + Duration::seconds(1), now).is_err());
        let far = DateTime::<Utc>::MAX_UTC;
        assert!(
            check_duty_end(far, now).is_err(),
            "a far-future end is refused, not overflowed"
        );
    }
}
