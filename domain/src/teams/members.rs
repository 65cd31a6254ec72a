//! Memberships: joining, reviewing join requests, roles, leaving, and member lists.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect,
};
use serde::Serialize;

use super::Teams;
use crate::actor::Actor;
use crate::audit::{self, AuditRecord};
use crate::bus::Change;
use crate::entity::{memberships, teams};
use crate::error::{Error, Result};
use crate::ids::{AreaId, MembershipId, TeamId, VolunteerId};
use crate::kinds::{JoinPolicy, MemberRole, MembershipStatus};
use crate::page::{Cursor, Page, PageRequest};
use crate::policy;
use crate::store::{WriteTxn, lock_team};

#[derive(Debug, Clone, Serialize)]
pub struct Membership {
    pub id: MembershipId,
    pub team_id: TeamId,
    pub volunteer_id: VolunteerId,
    pub role: MemberRole,
    pub status: MembershipStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<memberships::Model> for Membership {
    fn from(row: memberships::Model) -> Self {
        Self {
            id: MembershipId(row.id),
            team_id: TeamId(row.team_id),
            volunteer_id: VolunteerId(row.volunteer_id),
            role: row.role,
            status: row.status,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// The team, read under its row lock (`store::lock_team`).
async fn locked_team(conn: &impl ConnectionTrait, team: TeamId) -> Result<teams::Model> {
    lock_team(conn, team).await?;
    teams::Entity::find_by_id(team.0)
        .one(conn)
        .await?
        .ok_or(Error::NotFound("team"))
}

async fn membership_row(
    conn: &impl ConnectionTrait,
    team: TeamId,
    volunteer: VolunteerId,
) -> Result<Option<memberships::Model>> {
    Ok(memberships::Entity::find()
        .filter(memberships::Column::TeamId.eq(team.0))
        .filter(memberships::Column::VolunteerId.eq(volunteer.0))
        .one(conn)
        .await?)
}

async fn active_leaders(conn: &impl ConnectionTrait, team: TeamId) -> Result<u64> {
    Ok(memberships::Entity::find()
        .filter(memberships::Column::TeamId.eq(team.0))
        .filter(memberships::Column::Status.eq(MembershipStatus::Active))
        .filter(memberships::Column::Role.eq(MemberRole::Leader))
        .count(conn)
        .await?)
}

fn audit_entry<'a>(
    actor: &Actor,
    action: &'a str,
    area: AreaId,
    before: Option<&'a Membership>,
    after: &'a Membership,
) -> AuditRecord<'a, Membership, Membership> {
    AuditRecord {
        actor: Some(actor.volunteer),
        action,
        entity_type: "membership",
        entity_id: after.id.0,
        area: Some(area),
        team_id: Some(after.team_id.0),
        before,
        after: Some(after),
    }
}

impl Teams {
    /// OPEN teams admit at once; APPROVAL teams take a PENDING request for a leader to review.
    pub async fn join_team(&self, actor: &Actor, team_id: TeamId) -> Result<Membership> {
        let txn = self.deps.store.write().await?;
        let team = locked_team(&*txn, team_id).await?;
        let status = match team.join_policy {
            JoinPolicy::Open => MembershipStatus::Active,
            JoinPolicy::Approval => MembershipStatus::Pending,
        };
        let now = Utc::now();
        let row = match membership_row(&*txn, team_id, actor.volunteer).await? {
            Some(existing)
                if matches!(
                    existing.status,
                    MembershipStatus::Active | MembershipStatus::Pending
                ) =>
            {
                return Err(Error::conflict("you-are-already-member-of-team"));
            }
            Some(existing) => {
                let mut active: memberships::ActiveModel = existing.into();
                active.status = Set(status);
                active.role = Set(MemberRole::Member);
                active.updated_at = Set(now);
                active.update(&*txn).await?
            }
            None => {
                memberships::ActiveModel {
                    team_id: Set(team_id.0),
                    volunteer_id: Set(actor.volunteer.0),
                    role: Set(MemberRole::Member),
                    status: Set(status),
                    created_at: Set(now),
                    updated_at: Set(now),
                    ..Default::default()
                }
                .insert(&*txn)
                .await?
            }
        };
        txn.changed(Change::Account(actor.volunteer));
        txn.commit().await?;
        Ok(row.into())
    }

    pub async fn review_membership(
        &self,
        actor: &Actor,
        id: MembershipId,
        approve: bool,
    ) -> Result<Membership> {
        let txn = self.deps.store.write().await?;
        let row = memberships::Entity::find_by_id(id.0)
            .one(&*txn)
            .await?
            .ok_or(Error::NotFound("membership"))?;
        lock_team(&*txn, TeamId(row.team_id)).await?;
        let (team, _) = self
            .require(
                &*txn,
                actor,
                TeamId(row.team_id),
                policy::check_manages_team,
            )
            .await?;
        let row = memberships::Entity::find_by_id(id.0)
            .one(&*txn)
            .await?
            .ok_or(Error::NotFound("membership"))?;
        if row.status != MembershipStatus::Pending {
            return Err(Error::conflict("join-request-has-already-been-decided"));
        }
        let before = Membership::from(row.clone());
        let mut active: memberships::ActiveModel = row.into();
        active.status = Set(if approve {
            MembershipStatus::Active
        } else {
            MembershipStatus::Rejected
        });
        active.updated_at = Set(Utc::now());
        let after = Membership::from(active.update(&*txn).await?);
        txn.changed(Change::Account(after.volunteer_id));
        let action = if approve {
            "membership.approve"
        } else {
            "membership.reject"
        };
        audit::record(
            &*txn,
            audit_entry(actor, action, AreaId(team.area_id), Some(&before), &after),
        )
        .await?;
        txn.commit().await?;
        Ok(after)
    }

    /// Appoints or removes leaders and deputies. A team keeps at least one leader.
    pub async fn set_member_role(
        &self,
        actor: &Actor,
        team_id: TeamId,
        volunteer: VolunteerId,
        role: MemberRole,
    ) -> Result<Membership> {
        let txn = self.deps.store.write().await?;
        lock_team(&*txn, team_id).await?;
        let (team, _) = self
            .require(&*txn, actor, team_id, policy::check_leads_team)
            .await?;
        let row = membership_row(&*txn, team_id, volunteer)
            .await?
            .filter(|row| row.status == MembershipStatus::Active)
            .ok_or_else(|| Error::invalid("volunteerId", "not-active-member-of-team"))?;
        if row.role == MemberRole::Leader
            && role != MemberRole::Leader
            && active_leaders(&*txn, team_id).await? <= 1
        {
            return Err(Error::conflict("team-keeps-at-least-one-leader"));
        }
        let before = Membership::from(row.clone());
        let mut active: memberships::ActiveModel = row.into();
        active.role = Set(role);
        active.updated_at = Set(Utc::now());
        let after = Membership::from(active.update(&*txn).await?);
        txn.changed(Change::Account(volunteer));
        audit::record(
            &*txn,
            audit_entry(
                actor,
                "membership.set_role",
                AreaId(team.area_id),
                Some(&before),
                &after,
            ),
        )
        .await?;
        txn.commit().await?;
        Ok(after)
    }

    /// Ends the actor's membership (or withdraws their request) inside `txn`; a team keeps at
    /// least one leader. `SignUps::leave_team` wraps it, cancelling the leaver's upcoming
    /// sign-ups on the team's TEAM events in the same transaction.
    pub(crate) async fn leave_in(
        &self,
        txn: &WriteTxn<'_>,
        actor: &Actor,
        team_id: TeamId,
    ) -> Result<Membership> {
        lock_team(&**txn, team_id).await?;
        let row = membership_row(&**txn, team_id, actor.volunteer)
            .await?
            .filter(|row| {
                matches!(
                    row.status,
                    MembershipStatus::Active | MembershipStatus::Pending
                )
            })
            .ok_or_else(|| Error::conflict("you-are-not-member-of-team"))?;
        if row.status == MembershipStatus::Active
            && row.role == MemberRole::Leader
            && active_leaders(&**txn, team_id).await? <= 1
        {
            return Err(Error::conflict("team-keeps-at-least-one-leader-2"));
        }
        let mut active: memberships::ActiveModel = row.into();
        active.status = Set(MembershipStatus::Left);
        active.role = Set(MemberRole::Member);
        active.updated_at = Set(Utc::now());
        txn.changed(Change::Account(actor.volunteer));
        Ok(Membership::from(active.update(&**txn).await?))
    }

    pub async fn membership(&self, id: MembershipId) -> Result<Option<Membership>> {
        Ok(memberships::Entity::find_by_id(id.0)
            .one(&self.deps.store.db)
            .await?
            .map(Membership::from))
    }

    /// The team's ACTIVE members (and, for those who run it, PENDING requests first when
    /// `pending` is set), in joining order. Returns how the viewer reads them (which phone
    /// numbers they see: `policy::member_phone`).
    pub async fn members(
        &self,
        actor: &Actor,
        team_id: TeamId,
        pending: bool,
        page: PageRequest,
    ) -> Result<(Page<Membership>, policy::TeamReader)> {
        let db = &self.deps.store.db;
        let (_, scope) = self
            .require(db, actor, team_id, policy::check_sees_members)
            .await?;
        let reader = policy::check_reads_members(actor, &self.deps.areas, scope)?;
        let status = if pending {
            policy::check_manages_team(actor, &self.deps.areas, scope)?;
            MembershipStatus::Pending
        } else {
            MembershipStatus::Active
        };
        let base = memberships::Entity::find()
            .filter(memberships::Column::TeamId.eq(team_id.0))
            .filter(memberships::Column::Status.eq(status));
        let total = base.clone().count(db).await?;
        let mut query = base.order_by_asc(memberships::Column::Id);
        if let Some(after) = page.after_id()? {
            query = query.filter(memberships::Column::Id.gt(after));
        }
        let rows = query.limit(page.first + 1).all(db).await?;
        Ok((
            Page::from_rows(rows, page.first, total, |row| Cursor::Id(row.id))
                .map(Membership::from),
            reader,
        ))
    }

    /// ACTIVE leaders of each team, for DataLoaders.
    pub async fn leaders(&self, teams: &[TeamId]) -> Result<HashMap<TeamId, Vec<VolunteerId>>> {
        let rows = memberships::Entity::find()
            .filter(memberships::Column::TeamId.is_in(teams.iter().map(|id| id.0)))
            .filter(memberships::Column::Status.eq(MembershipStatus::Active))
            .filter(memberships::Column::Role.eq(MemberRole::Leader))
            .order_by_asc(memberships::Column::Id)
            .all(&self.deps.store.db)
            .await?;
        let mut out: HashMap<TeamId, Vec<VolunteerId>> = HashMap::new();
        for row in rows {
            out.entry(TeamId(row.team_id))
                .or_default()
                .push(VolunteerId(row.volunteer_id));
        }
        Ok(out)
    }

    /// ACTIVE member counts of each team, for DataLoaders.
    pub async fn member_counts(&self, teams: &[TeamId]) -> Result<HashMap<TeamId, i64>> {
        let rows: Vec<(i64, i64)> = memberships::Entity::find()
            .select_only()
            .column(memberships::Column::TeamId)
            .column_as(memberships::Column::Id.count(), "members")
            .filter(memberships::Column::TeamId.is_in(teams.iter().map(|id| id.0)))
            .filter(memberships::Column::Status.eq(MembershipStatus::Active))
            .group_by(memberships::Column::TeamId)
            .into_tuple()
            .all(&self.deps.store.db)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(team, count)| (TeamId(team), count))
            .collect())
    }
}
