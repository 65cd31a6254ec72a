//! Teams: creating and updating them (admins), and reading them.

mod list;
mod members;
mod relations;
mod roster;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
};
use serde::Serialize;

pub use list::{CheckedTeamFilter, TeamFilter};
pub use members::Membership;
pub use roster::{ROSTER_PAGE, RosterExport, RosterLine, RosterPage};

use crate::account_cache::AccountCache;
use crate::actor::Actor;
use crate::areas::AreaTree;
use crate::audit::{self, AuditRecord};
use crate::deps::{Deps, text};
use crate::entity::{memberships, teams, volunteers};
use crate::error::{Error, Result};
use crate::ids::{AreaId, TeamId, VolunteerId};
use crate::kinds::{JoinPolicy, MemberRole, MembershipStatus, TeamKind};
use crate::policy::{self, TeamScope};

#[derive(Debug, Clone, Serialize)]
pub struct Team {
    pub id: TeamId,
    pub name: String,
    pub kind: TeamKind,
    pub area_id: AreaId,
    pub join_policy: JoinPolicy,
    pub parent_team_id: Option<TeamId>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<teams::Model> for Team {
    fn from(row: teams::Model) -> Self {
        Self {
            id: TeamId(row.id),
            name: row.name,
            kind: row.kind,
            area_id: AreaId(row.area_id),
            join_policy: row.join_policy,
            parent_team_id: row.parent_team_id.map(TeamId),
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

pub struct CreateTeam {
    pub name: String,
    pub kind: TeamKind,
    pub area_id: AreaId,
    pub join_policy: JoinPolicy,
    pub parent_team_id: Option<TeamId>,
    /// The first leader; the creating admin when absent.
    pub leader_id: Option<VolunteerId>,
}

#[derive(Default)]
pub struct UpdateTeam {
    pub name: Option<String>,
    pub kind: Option<TeamKind>,
    pub join_policy: Option<JoinPolicy>,
}

pub struct Teams {
    deps: Deps,
    /// Each volunteer's active roles as this node read them (what lists and relations check).
    roles: AccountCache<Arc<HashMap<TeamId, MemberRole>>>,
}

/// How long a node trusts the roles it read without hearing of a change.
pub const ROLES_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(30);
const ROLES_CACHE_CAPACITY: u64 = 100_000;

impl Teams {
    pub fn new(deps: Deps) -> Self {
        Self {
            deps,
            roles: AccountCache::new(ROLES_CACHE_CAPACITY, ROLES_CACHE_TTL),
        }
    }

    async fn find(&self, conn: &impl ConnectionTrait, id: TeamId) -> Result<teams::Model> {
        teams::Entity::find_by_id(id.0)
            .one(conn)
            .await?
            .ok_or(Error::NotFound("team"))
    }

    /// The actor's ACTIVE role in the team, if any.
    pub async fn role_of(
        &self,
        conn: &impl ConnectionTrait,
        volunteer: VolunteerId,
        team: TeamId,
    ) -> Result<Option<MemberRole>> {
        Ok(memberships::Entity::find()
            .filter(memberships::Column::TeamId.eq(team.0))
            .filter(memberships::Column::VolunteerId.eq(volunteer.0))
            .filter(memberships::Column::Status.eq(MembershipStatus::Active))
            .one(conn)
            .await?
            .map(|row| row.role))
    }

    /// Which of `volunteers` are active members of `team`: one read.
    pub async fn active_members_among(
        &self,
        conn: &impl ConnectionTrait,
        team: TeamId,
        volunteers: &[VolunteerId],
    ) -> Result<std::collections::HashSet<VolunteerId>> {
        use sea_orm::QuerySelect as _;
        let found: Vec<i64> = memberships::Entity::find()
            .select_only()
            .column(memberships::Column::VolunteerId)
            .filter(memberships::Column::TeamId.eq(team.0))
            .filter(memberships::Column::VolunteerId.is_in(volunteers.iter().map(|v| v.0)))
            .filter(memberships::Column::Status.eq(MembershipStatus::Active))
            .into_tuple()
            .all(conn)
            .await?;
        Ok(found.into_iter().map(VolunteerId).collect())
    }

    /// The team, and the facts about it that `actor`'s authorization depends on (for a `policy`
    /// answer such as `can_see_event`; to refuse, use `require`).
    pub(crate) async fn scope_for(
        &self,
        conn: &impl ConnectionTrait,
        actor: Option<&Actor>,
        team: TeamId,
    ) -> Result<(teams::Model, TeamScope)> {
        let team = self.find(conn, team).await?;
        let actor_role = match actor {
            Some(actor) => self.role_of(conn, actor.volunteer, TeamId(team.id)).await?,
            None => None,
        };
        let scope = TeamScope {
            area: AreaId(team.area_id),
            actor_role,
        };
        Ok((team, scope))
    }

    /// Finds the team and lets `check` (a `policy` rule such as `policy::check_manages_team`)
    /// decide whether the actor may act on it: the one way a service authorizes an action on a
    /// team. Returns the team and its scope, for what follows.
    pub(crate) async fn require(
        &self,
        conn: &impl ConnectionTrait,
        actor: &Actor,
        team: TeamId,
        check: impl FnOnce(&Actor, &AreaTree, TeamScope) -> Result<()>,
    ) -> Result<(teams::Model, TeamScope)> {
        let (team, scope) = self.scope_for(conn, Some(actor), team).await?;
        check(actor, &self.deps.areas, scope)?;
        Ok((team, scope))
    }

    /// Every team the volunteer is an ACTIVE member of, with their role; cached per node and
    /// forgotten on every node when a membership of theirs changes (`Change::Account`, published
    /// by every membership write), after `ROLES_CACHE_TTL` anyway. For what lists show and what
    /// one sees of another; writes check roles inside their transaction instead.
    pub async fn active_roles(
        &self,
        volunteer: VolunteerId,
    ) -> Result<HashMap<TeamId, MemberRole>> {
        if let Some(roles) = self.roles.get(volunteer) {
            return Ok(roles.as_ref().clone());
        }
        let stamp = self.roles.stamp();
        let rows = memberships::Entity::find()
            .filter(memberships::Column::VolunteerId.eq(volunteer.0))
            .filter(memberships::Column::Status.eq(MembershipStatus::Active))
            .all(&self.deps.store.db)
            .await?;
        let roles: HashMap<TeamId, MemberRole> = rows
            .into_iter()
            .map(|row| (TeamId(row.team_id), row.role))
            .collect();
        self.roles.insert(volunteer, Arc::new(roles.clone()), stamp);
        Ok(roles)
    }

    /// Forgets a volunteer's cached roles when the bus delivers a change to their account or
    /// memberships: register with `Bus::listen`.
    pub fn roles_listener(&self) -> crate::bus::Listener {
        let roles = self.roles.clone();
        Arc::new(move |change| {
            if let crate::bus::Change::Account(volunteer) = change {
                roles.forget(*volunteer);
            }
        })
    }

    pub async fn create_team(&self, actor: &Actor, input: CreateTeam) -> Result<Team> {
        let name = text(&input.name, "name", 1, 80, false)?;
        if self.deps.areas.get(input.area_id).is_none() {
            return Err(Error::invalid("areaId", "no-such-area"));
        }
        policy::check_admin_of(actor, &self.deps.areas, input.area_id)?;
        let leader = input.leader_id.unwrap_or(actor.volunteer);
        let txn = self.deps.store.write().await?;
        if let Some(parent) = input.parent_team_id {
            let parent = teams::Entity::find_by_id(parent.0)
                .one(&*txn)
                .await?
                .ok_or_else(|| Error::invalid("parentTeamId", "no-such-team"))?;
            if !self
                .deps
                .areas
                .is_within(input.area_id, AreaId(parent.area_id))
            {
                return Err(Error::invalid(
                    "parentTeamId",
                    "sub-team-lies-inside-parent-team",
                ));
            }
        }
        if volunteers::Entity::find_by_id(leader.0)
            .one(&*txn)
            .await?
            .is_none()
        {
            return Err(Error::invalid("leaderId", "no-such-volunteer"));
        }
        let now = Utc::now();
        let row = teams::ActiveModel {
            name: Set(name),
            kind: Set(input.kind),
            area_id: Set(input.area_id.0),
            join_policy: Set(input.join_policy),
            parent_team_id: Set(input.parent_team_id.map(|id| id.0)),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(&*txn)
        .await?;
        txn.changed(crate::bus::Change::Account(leader));
        memberships::ActiveModel {
            team_id: Set(row.id),
            volunteer_id: Set(leader.0),
            role: Set(MemberRole::Leader),
            status: Set(MembershipStatus::Active),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(&*txn)
        .await?;
        let team = Team::from(row);
        audit::record(
            &*txn,
            AuditRecord::<(), _> {
                actor: Some(actor.volunteer),
                action: "team.create",
                entity_type: "team",
                entity_id: team.id.0,
                area: Some(team.area_id),
                team_id: Some(team.id.0),
                before: None,
                after: Some(&team),
            },
        )
        .await?;
        txn.commit().await?;
        Ok(team)
    }

    pub async fn update_team(&self, actor: &Actor, id: TeamId, input: UpdateTeam) -> Result<Team> {
        let name = input
            .name
            .as_deref()
            .map(|name| text(name, "name", 1, 80, false))
            .transpose()?;
        let txn = self.deps.store.write().await?;
        let (row, _) = self
            .require(&*txn, actor, id, policy::check_manages_team)
            .await?;
        let before = Team::from(row.clone());
        let mut active: teams::ActiveModel = row.into();
        if let Some(name) = name {
            active.name = Set(name);
        }
        if let Some(kind) = input.kind {
            active.kind = Set(kind);
        }
        if let Some(policy) = input.join_policy {
            active.join_policy = Set(policy);
        }
        active.updated_at = Set(Utc::now());
        let team = Team::from(active.update(&*txn).await?);
        if team.kind != before.kind {
            crate::tallies::team_kind_changed(&*txn, team.id, team.kind).await?;
            crate::stats::mark_all_team_days(&txn, team.id.0).await?;
        }
        audit::record(
            &*txn,
            AuditRecord {
                actor: Some(actor.volunteer),
                action: "team.update",
                entity_type: "team",
                entity_id: team.id.0,
                area: Some(team.area_id),
                team_id: Some(team.id.0),
                before: Some(&before),
                after: Some(&team),
            },
        )
        .await?;
        txn.commit().await?;
        Ok(team)
    }

    pub async fn team(&self, id: TeamId) -> Result<Option<Team>> {
        Ok(teams::Entity::find_by_id(id.0)
            .one(&self.deps.store.db)
            .await?
            .map(Team::from))
    }

    pub async fn teams_by_id(&self, ids: &[TeamId]) -> Result<HashMap<TeamId, Team>> {
        let rows = teams::Entity::find()
            .filter(teams::Column::Id.is_in(ids.iter().map(|id| id.0)))
            .all(&self.deps.store.db)
            .await?;
        Ok(rows
            .into_iter()
            .map(|row| (TeamId(row.id), Team::from(row)))
            .collect())
    }
}
