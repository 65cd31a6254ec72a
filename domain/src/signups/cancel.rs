//! Cancelling a sign-up: whether it may be cancelled is a pure rule (`check_cancellable`); the
//! transaction around it locks the event, withdraws the sign-up by a conditional update, frees
//! its seat for the waitlist and, when a leader cancelled it, tells the volunteer and audits it.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, sea_query::Expr};

use super::{SignUp, SignUps};
use crate::actor::Actor;
use crate::audit::{self, AuditRecord};
use crate::bus::Change;
use crate::entity::{attendances, events, sign_ups};
use crate::error::{Error, Result};
use crate::ids::{AreaId, EventId, SignUpId, TeamId};
use crate::kinds::{NotificationKind, SignUpStatus};
use crate::notifications::notify;
use crate::policy;
use crate::seats::{promote_waitlisted, release_seat};
use crate::stats;
use crate::store::{WriteTxn, lock_event};
use crate::text::Text;

/// Whether a sign-up in `status` for an event starting at `starts_at` may be cancelled at `now`:
/// only an active (confirmed or waitlisted) one, and only before the event starts.
fn check_cancellable(
    status: SignUpStatus,
    starts_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<()> {
    if now >= starts_at {
        return Err(Error::conflict("event-has-started-sign-up-can"));
    }
    if !matches!(status, SignUpStatus::Confirmed | SignUpStatus::Waitlisted) {
        return Err(Error::conflict("sign-up-already-cancelled"));
    }
    Ok(())
}

impl SignUps {
    /// Cancels the volunteer's own sign-up (or, for those who run the team, anyone's) before the
    /// event starts. A freed seat goes to the head of the waitlist in the same transaction.
    pub async fn cancel_sign_up(&self, actor: &Actor, id: SignUpId) -> Result<SignUp> {
        let txn = self.deps.store.write().await?;
        let row = locked_sign_up(&txn, id).await?;
        let by_leader = row.volunteer_id != actor.volunteer.0;
        let event = self.events.find(&*txn, EventId(row.event_id)).await?;
        if by_leader {
            // Someone else's sign-up is not there for whoever may not cancel it.
            self.teams
                .require(&*txn, actor, TeamId(event.team_id), |actor, tree, scope| {
                    policy::check_manages_team(actor, tree, scope)
                        .map_err(|_| Error::NotFound("sign-up"))
                })
                .await?;
        }
        let after = self.cancel_locked(&txn, &row, &event).await?;
        if by_leader {
            tell_and_audit(&txn, actor, &event, &SignUp::from(row), &after).await?;
        }
        txn.commit().await?;
        Ok(after)
    }
}

impl SignUps {
    /// Cancels a sign-up read under its event's lock, if it may be (`check_cancellable`): the one
    /// path every cancellation of a single sign-up takes. A freed seat goes to the head of the
    /// waitlist in the same transaction.
    pub(super) async fn cancel_locked(
        &self,
        txn: &WriteTxn<'_>,
        row: &sign_ups::Model,
        event: &events::Model,
    ) -> Result<SignUp> {
        check_cancellable(row.status, row.starts_at, Utc::now())?;
        withdraw(txn, row).await?;
        stats::mark_team_day(txn, self.deps.timezone, event.team_id, event.starts_at);
        txn.changed(Change::Event(EventId(event.id)));
        if row.status == SignUpStatus::Confirmed {
            release_seat(&**txn, EventId(event.id)).await?;
            promote_waitlisted(txn, EventId(event.id)).await?;
        }
        Ok(SignUp::from(
            sign_ups::Entity::find_by_id(row.id)
                .one(&**txn)
                .await?
                .ok_or(Error::NotFound("sign-up"))?,
        ))
    }
}

/// The sign-up, read again under its event's lock (a promotion may have changed it meanwhile).
async fn locked_sign_up(txn: &WriteTxn<'_>, id: SignUpId) -> Result<sign_ups::Model> {
    let find = || async {
        sign_ups::Entity::find_by_id(id.0)
            .one(&**txn)
            .await?
            .ok_or(Error::NotFound("sign-up"))
    };
    lock_event(&**txn, EventId(find().await?.event_id)).await?;
    find().await
}

/// Cancels the sign-up on condition that it is still as it was read, and that nobody checked in
/// on it.
async fn withdraw(txn: &WriteTxn<'_>, row: &sign_ups::Model) -> Result<()> {
    let cancelled = sign_ups::Entity::update_many()
        .col_expr(
            sign_ups::Column::Status,
            Expr::value(SignUpStatus::Cancelled),
        )
        .col_expr(sign_ups::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(sign_ups::Column::Id.eq(row.id))
        .filter(sign_ups::Column::Status.eq(row.status))
        .exec(&**txn)
        .await?;
    if cancelled.rows_affected != 1 {
        return Err(Error::conflict("sign-up-changed-meanwhile-try-again"));
    }
    // Read after the update, which waited for any check-in holding the row: this statement
    // sees that check-in once it committed.
    let checked_in = attendances::Entity::find()
        .filter(attendances::Column::SignUpId.eq(row.id))
        .count(&**txn)
        .await?;
    if checked_in > 0 {
        return Err(Error::conflict("you-have-checked-in-sign-up"));
    }
    Ok(())
}

/// A sign-up cancelled by the team: the volunteer is told, and the change audited.
async fn tell_and_audit(
    txn: &WriteTxn<'_>,
    actor: &Actor,
    event: &events::Model,
    before: &SignUp,
    after: &SignUp,
) -> Result<()> {
    let title = &event.title;
    let message = Text::new("sign-up-cancelled-by-team-notice").arg("title", title);
    notify(
        txn,
        before.volunteer_id,
        NotificationKind::SignUpCancelled,
        Some(EventId(event.id)),
        Some(before.id),
        message,
    )
    .await?;
    audit::record(
        &**txn,
        AuditRecord {
            actor: Some(actor.volunteer),
            action: "sign_up.cancel",
            entity_type: "sign_up",
            entity_id: before.id.0,
            area: Some(AreaId(event.area_id)),
            team_id: Some(event.team_id),
            before: Some(before),
            after: Some(after),
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone as _};

    use super::*;

    #[test]
    fn an_active_sign_up_is_cancelled_until_the_event_starts() {
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 8, 0, 0).unwrap();
        let later = now + Duration::minutes(1);
        for status in [SignUpStatus::Confirmed, SignUpStatus::Waitlisted] {
            assert!(check_cancellable(status, later, now).is_ok());
            assert!(matches!(
                check_cancellable(status, now, now),
                Err(Error::Conflict(message)) if message.render(crate::text::Locale::En).contains("started")
            ));
        }
        for status in [SignUpStatus::Cancelled, SignUpStatus::NoShow] {
            assert!(matches!(
                check_cancellable(status, later, now),
                Err(Error::Conflict(message)) if message.render(crate::text::Locale::En).contains("already cancelled")
            ));
        }
    }
}
