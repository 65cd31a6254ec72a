//! `deleteMyAccount`: erasure in one transaction. Lock order (`store`): the volunteer row first,
//! then each upcoming sign-up's event (in event id order, as `leave_team` does), then each team
//! of a membership (in team id order), then the rows `privacy::erase::wipe` rewrites.
//!
//! Upcoming sign-ups are cancelled through the one cancellation path (`cancel_locked`: a freed
//! seat goes to the head of the waitlist, who is told). Memberships end as `leaveTeam` ends them:
//! a team's only leader is refused (CONFLICT) until they appoint another, and nothing is erased.

use chrono::Utc;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};

use super::SignUps;
use crate::actor::Actor;
use crate::bus::Change;
use crate::entity::{attendances, memberships, sign_ups};
use crate::error::Result;
use crate::ids::{EventId, TeamId};
use crate::kinds::{MembershipStatus, SignUpStatus};
use crate::privacy::erase::wipe;
use crate::store::{WriteTxn, lock_event, lock_volunteer};

impl SignUps {
    /// Erases the caller's account (their password already confirmed by `Accounts`).
    pub async fn erase_account(&self, actor: &Actor) -> Result<()> {
        let txn = self.deps.store.write().await?;
        lock_volunteer(&*txn, actor.volunteer).await?;
        self.cancel_upcoming(&txn, actor).await?;
        let teams: Vec<i64> = memberships::Entity::find()
            .select_only()
            .column(memberships::Column::TeamId)
            .filter(memberships::Column::VolunteerId.eq(actor.volunteer.0))
            .filter(
                memberships::Column::Status
                    .is_in([MembershipStatus::Active, MembershipStatus::Pending]),
            )
            .order_by_asc(memberships::Column::TeamId)
            .into_tuple()
            .all(&*txn)
            .await?;
        for team in teams {
            self.teams.leave_in(&txn, actor, TeamId(team)).await?;
        }
        wipe(&txn, actor.volunteer).await?;
        // Every node refuses the account's tokens from its next request (this one at once).
        txn.changed(Change::Account(actor.volunteer));
        txn.commit().await
    }

    /// Cancels every active sign-up of the actor whose event has not started.
    async fn cancel_upcoming(&self, txn: &WriteTxn<'_>, actor: &Actor) -> Result<()> {
        let upcoming: Vec<(i64, i64)> = sign_ups::Entity::find()
            .select_only()
            .column(sign_ups::Column::Id)
            .column(sign_ups::Column::EventId)
            .filter(sign_ups::Column::VolunteerId.eq(actor.volunteer.0))
            .filter(
                sign_ups::Column::Status.is_in([SignUpStatus::Confirmed, SignUpStatus::Waitlisted]),
            )
            .filter(sign_ups::Column::StartsAt.gt(Utc::now()))
            .order_by_asc(sign_ups::Column::EventId)
            .into_tuple()
            .all(&**txn)
            .await?;
        for (id, event_id) in upcoming {
            lock_event(&**txn, EventId(event_id)).await?;
            let Some(row) = sign_ups::Entity::find_by_id(id).one(&**txn).await? else {
                continue;
            };
            if !matches!(
                row.status,
                SignUpStatus::Confirmed | SignUpStatus::Waitlisted
            ) {
                continue; // promoted or cancelled meanwhile: read again under the lock
            }
            let checked_in = attendances::Entity::find()
                .filter(attendances::Column::SignUpId.eq(row.id))
                .count(&**txn)
                .await?;
            if checked_in > 0 {
                continue; // checked in early: it stands as attended (its positions are wiped)
            }
            let event = self.events.find(&**txn, EventId(event_id)).await?;
            self.cancel_locked(txn, &row, &event).await?;
        }
        Ok(())
    }
}
