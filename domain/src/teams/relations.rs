//! How a caller stands to a volunteer, read from memberships; the rule itself is
//! `policy::relation_to`.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use super::Teams;
use crate::accounts::Volunteer;
use crate::actor::Viewer;
use crate::entity::memberships;
use crate::error::Result;
use crate::ids::TeamId;
use crate::kinds::MembershipStatus;
use crate::policy::{self, Relation, TeamTie};

impl Teams {
    /// The caller's relation to `subject` (two reads: the caller's teams, the subject's ties).
    pub async fn relation_to(&self, viewer: &Viewer, subject: &Volunteer) -> Result<Relation> {
        let Some(actor) = viewer.actor() else {
            return Ok(Relation::Stranger);
        };
        if actor.volunteer == subject.id {
            return Ok(Relation::Own);
        }
        let roles: Vec<_> = self
            .active_roles(actor.volunteer)
            .await?
            .into_iter()
            .collect();
        let rows = memberships::Entity::find()
            .filter(memberships::Column::VolunteerId.eq(subject.id.0))
            .filter(
                memberships::Column::Status
                    .is_in([MembershipStatus::Active, MembershipStatus::Pending]),
            )
            .all(&self.deps.store.db)
            .await?;
        let team_ids: Vec<TeamId> = rows.iter().map(|row| TeamId(row.team_id)).collect();
        let teams = self.teams_by_id(&team_ids).await?;
        let ties: Vec<TeamTie> = rows
            .into_iter()
            .filter_map(|row| {
                Some(TeamTie {
                    team: TeamId(row.team_id),
                    team_area: teams.get(&TeamId(row.team_id))?.area_id,
                    status: row.status,
                })
            })
            .collect();
        Ok(policy::relation_to(
            viewer,
            &roles,
            &self.deps.areas,
            subject.id,
            subject.area_id,
            &ties,
        ))
    }
}
