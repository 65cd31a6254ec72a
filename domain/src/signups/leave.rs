//! Leaving a team: the membership ends, and the leaver's upcoming sign-ups on the team's TEAM
//! events (for members only) are cancelled in the same transaction, each through the one
//! cancellation path (`cancel_locked`: the seat goes to the head of the waitlist, who is told),
//! and the leaver is told of each. Sign-ups on the team's PUBLIC events stay: anyone may go.

use chrono::Utc;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait as _};

use super::SignUps;
use crate::actor::Actor;
use crate::entity::{events, sign_ups, teams};
use crate::error::Result;
use crate::ids::{EventId, SignUpId, TeamId};
use crate::kinds::{NotificationKind, SignUpStatus, Visibility};
use crate::notifications::notify;
use crate::store::{WriteTxn, lock_event, lock_volunteer};
use crate::teams::Membership;
use crate::text::Text;

impl SignUps {
    /// `leaveTeam`: ends the caller's membership (a team keeps at least one leader) and cancels
    /// their sign-ups on the team's TEAM events that have not started.
    pub async fn leave_team(&self, actor: &Actor, team_id: TeamId) -> Result<Membership> {
        let txn = self.deps.store.write().await?;
        // The volunteer row first: a sign-up of theirs racing this one waits, then finds they
        // are no longer a member (`sign_up` checks membership under the same lock).
        lock_volunteer(&*txn, actor.volunteer).await?;
        let mut cancelled = Vec::new();
        for (id, event_id) in self.team_only_sign_ups(&txn, actor, team_id).await? {
            lock_event(&*txn, EventId(event_id)).await?;
            let Some(row) = sign_ups::Entity::find_by_id(id).one(&*txn).await? else {
                continue;
            };
            if !matches!(
                row.status,
                SignUpStatus::Confirmed | SignUpStatus::Waitlisted
            ) {
                continue; // promoted or cancelled meanwhile: read again under the lock
            }
            let event = self.events.find(&*txn, EventId(event_id)).await?;
            self.cancel_locked(&txn, &row, &event).await?;
            cancelled.push((SignUpId(row.id), event));
        }
        // Team rows after events and sign-ups, in the documented lock order.
        let membership = self.teams.leave_in(&txn, actor, team_id).await?;
        let team_name = teams::Entity::find_by_id(team_id.0)
            .one(&*txn)
            .await?
            .map(|team| team.name)
            .unwrap_or_default();
        for (sign_up, event) in cancelled {
            let title = &event.title;
            let message = Text::new("left-team-sign-up-cancelled-notice")
                .arg("team", &team_name)
                .arg("title", title);
            notify(
                &txn,
                actor.volunteer,
                NotificationKind::SignUpCancelled,
                Some(EventId(event.id)),
                Some(sign_up),
                message,
            )
            .await?;
        }
        txn.commit().await?;
        Ok(membership)
    }

    /// The actor's active sign-ups on the team's TEAM events that have not started, by event:
    /// (sign-up, event).
    async fn team_only_sign_ups(
        &self,
        txn: &WriteTxn<'_>,
        actor: &Actor,
        team_id: TeamId,
    ) -> Result<Vec<(i64, i64)>> {
        let now = Utc::now();
        let team_only = events::Entity::find()
            .select_only()
            .column(events::Column::Id)
            .filter(events::Column::TeamId.eq(team_id.0))
            .filter(events::Column::Visibility.eq(Visibility::Team))
            .into_query();
        Ok(sign_ups::Entity::find()
            .select_only()
            .column(sign_ups::Column::Id)
            .column(sign_ups::Column::EventId)
            .filter(sign_ups::Column::VolunteerId.eq(actor.volunteer.0))
            .filter(
                sign_ups::Column::Status.is_in([SignUpStatus::Confirmed, SignUpStatus::Waitlisted]),
            )
            .filter(sign_ups::Column::StartsAt.gt(now))
            .filter(sign_ups::Column::EventId.in_subquery(team_only))
            // Events locked in id order, so two of these never wait on each other.
            .order_by_asc(sign_ups::Column::EventId)
            .into_tuple()
            .all(&**txn)
            .await?)
    }
}
