//! Teams and memberships.

use async_graphql::{Context, ID, InputObject, Object};
use chrono::{DateTime, Utc};
use feihong_domain::ids::{AreaId, MembershipId, TeamId, VolunteerId};
use feihong_domain::policy::{self, PhoneShown, Relation};
use feihong_domain::tallies;
use feihong_domain::teams::{self, CreateTeam, TeamFilter as DomainTeamFilter, UpdateTeam};

use super::enums::Period;

use super::area::Area;
use super::context::ContextExt as _;
use super::enums::{JoinPolicy, MemberRole, MembershipStatus, TeamKind};
use super::error::GqlResult;
use super::ids::GlobalId as _;
use super::limits::cost;
use super::scalars::{ListConnection, connection, page_request};
use super::volunteer::Volunteer;

/// A volunteer organisation: a kung-fu patrol team, an anti-fraud group, a school guard team…
pub struct Team(pub teams::Team);

#[Object]
impl Team {
    pub async fn id(&self) -> ID {
        self.0.id.to_global()
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    async fn kind(&self) -> TeamKind {
        self.0.kind.into()
    }

    async fn join_policy(&self) -> JoinPolicy {
        self.0.join_policy.into()
    }

    async fn area(&self, ctx: &Context<'_>) -> Option<Area> {
        ctx.services().areas.get(self.0.area_id).map(Area)
    }

    /// The team this one is a sub-team of.
    async fn parent(&self, ctx: &Context<'_>) -> GqlResult<Option<Team>> {
        let Some(parent) = self.0.parent_team_id else {
            return Ok(None);
        };
        ctx.request().load(|l| &l.teams, parent, Team).await
    }

    /// The team's direct sub-teams, oldest first (`first` at most 100). A sub-team's own
    /// `subTeams` go deeper.
    #[graphql(complexity = "cost::page(first, child_complexity)")]
    async fn sub_teams(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> GqlResult<ListConnection<Team>> {
        let page = ctx
            .services()
            .teams
            .sub_teams(self.0.id, page_request(first, after)?)
            .await?;
        Ok(connection(page, Team))
    }

    /// ACTIVE members, leaders included.
    async fn member_count(&self, ctx: &Context<'_>) -> GqlResult<i64> {
        Ok(ctx
            .request()
            .find(|l| &l.member_counts, self.0.id)
            .await?
            .unwrap_or(0))
    }

    #[graphql(complexity = "cost::list(3, child_complexity)")]
    async fn leaders(&self, ctx: &Context<'_>) -> GqlResult<Vec<Volunteer>> {
        let ids = ctx
            .request()
            .find(|l| &l.leaders, self.0.id)
            .await?
            .unwrap_or_default();
        let found = ctx
            .request()
            .loaders
            .volunteers
            .load_many(ids.iter().copied())
            .await?;
        Ok(ids
            .iter()
            .filter_map(|id| found.get(id).cloned())
            .map(|v| Volunteer::seen_as(v, Relation::Stranger))
            .collect())
    }

    /// The members, for the team's own members and area admins. With `pending`, the join
    /// requests waiting for review (for leaders, deputies and area admins). What each reader
    /// sees of a member's phone: see `Membership.phone`.
    #[graphql(complexity = "cost::page(first, child_complexity)")]
    async fn members(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        #[graphql(default = false)] pending: bool,
    ) -> GqlResult<ListConnection<Membership>> {
        let actor = ctx.request().actor().await?;
        let (page, reader) = ctx
            .services()
            .teams
            .members(actor, self.0.id, pending, page_request(first, after)?)
            .await?;
        let relation = policy::member_list_reader(reader.runs_team());
        Ok(connection(page, |membership| Membership {
            phone: policy::member_phone(reader, membership.status),
            inner: membership,
            reader: relation,
        }))
    }

    /// Approved minutes of the team's members for the team, in the current period; with
    /// `includeSubTeams`, those of its sub-teams (however deep) as well.
    async fn service_minutes(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "Period::AllTime")] period: Period,
        #[graphql(default_with = "Some(false)")] include_sub_teams: Option<bool>,
    ) -> GqlResult<i64> {
        let key = (self.0.id, tallies::Period::from(period));
        let minutes = if include_sub_teams.unwrap_or(false) {
            ctx.request().find(|l| &l.tree_minutes, key).await?
        } else {
            ctx.request().find(|l| &l.team_minutes, key).await?
        };
        Ok(minutes.unwrap_or(0))
    }

    /// Members with approved minutes for the team in the current period.
    async fn active_members(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "Period::AllTime")] period: Period,
    ) -> GqlResult<i64> {
        let key = (self.0.id, tallies::Period::from(period));
        Ok(ctx
            .request()
            .find(|l| &l.active_members, key)
            .await?
            .unwrap_or(0))
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A volunteer's place in a team.
pub struct Membership {
    pub inner: teams::Membership,
    /// How the reader stands to the member, as known where the membership was reached.
    pub reader: Relation,
    /// How much of the member's phone number the reader sees (`policy::member_phone`).
    pub phone: PhoneShown,
}

impl Membership {
    /// The member's own membership (joining, leaving, `node(id:)`): their number is on
    /// `Volunteer.phone`, not here.
    pub fn own(inner: teams::Membership) -> Self {
        Self {
            inner,
            reader: Relation::Own,
            phone: PhoneShown::Hidden,
        }
    }

    /// The answer to a leader's or admin's change (a reviewed request, a new role): the number
    /// masked, whoever of them made it; the member list shows it as the reader may see it.
    fn supervised(inner: teams::Membership) -> Self {
        Self {
            inner,
            reader: Relation::Supervisor,
            phone: PhoneShown::Masked,
        }
    }
}

#[Object]
impl Membership {
    pub async fn id(&self) -> ID {
        self.inner.id.to_global()
    }

    async fn team(&self, ctx: &Context<'_>) -> GqlResult<Option<Team>> {
        ctx.request()
            .load(|l| &l.teams, self.inner.team_id, Team)
            .await
    }

    async fn volunteer(&self, ctx: &Context<'_>) -> GqlResult<Option<Volunteer>> {
        ctx.request()
            .load(
                |l| &l.volunteers,
                self.inner.volunteer_id,
                |v| Volunteer::seen_as(v, self.reader),
            )
            .await
    }

    /// The member's phone number on `Team.members`: in full (`13812345678`) for the team's
    /// leaders and deputies when the member is ACTIVE; masked (`138****5678`) for them on join
    /// requests, for admins of the team's area, and on the answers of `reviewMembership` and
    /// `setMemberRole`; null for plain members and on one's own membership.
    async fn phone(&self, ctx: &Context<'_>) -> GqlResult<Option<String>> {
        if self.phone == PhoneShown::Hidden {
            return Ok(None);
        }
        let volunteer = ctx
            .request()
            .find(|l| &l.volunteers, self.inner.volunteer_id)
            .await?;
        Ok(volunteer.and_then(|v| self.phone.apply(v.phone.as_str())))
    }

    async fn role(&self) -> MemberRole {
        self.inner.role.into()
    }

    async fn status(&self) -> MembershipStatus {
        self.inner.status.into()
    }

    async fn joined_at(&self) -> DateTime<Utc> {
        self.inner.created_at
    }
}

#[derive(InputObject)]
pub struct CreateTeamInput {
    /// 1–80 characters.
    pub name: String,
    pub kind: TeamKind,
    pub area_id: ID,
    #[graphql(default_with = "JoinPolicy::Open")]
    pub join_policy: JoinPolicy,
    pub parent_team_id: Option<ID>,
    /// The first leader; the creating admin when omitted.
    pub leader_id: Option<ID>,
}

#[derive(InputObject, Default)]
pub struct UpdateTeamInput {
    pub name: Option<String>,
    pub kind: Option<TeamKind>,
    pub join_policy: Option<JoinPolicy>,
}

#[derive(InputObject, Default)]
pub struct TeamFilter {
    /// The area and everything below it.
    pub area_id: Option<ID>,
    pub kind: Option<TeamKind>,
    pub name_contains: Option<String>,
}

#[derive(Default)]
pub struct TeamQuery;

#[Object]
impl TeamQuery {
    /// Teams, in creation order: by area (with its subtree), kind, and name.
    #[graphql(complexity = "cost::page(first, child_complexity)")]
    async fn teams(
        &self,
        ctx: &Context<'_>,
        filter: Option<TeamFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> GqlResult<ListConnection<Team>> {
        let filter = filter.unwrap_or_default();
        let domain = DomainTeamFilter {
            area_id: filter
                .area_id
                .map(|id| AreaId::parse(&id, "filter.areaId"))
                .transpose()?,
            kind: filter.kind.map(Into::into),
            name_contains: filter.name_contains,
        };
        let page = page_request(first, after)?;
        let services = ctx.services();
        let domain = domain
            .check(&services.areas)
            .map_err(|e| e.in_argument("filter"))?;
        let page = services.teams.teams(domain, page).await?;
        Ok(connection(page, Team))
    }

    async fn team(&self, ctx: &Context<'_>, id: ID) -> GqlResult<Option<Team>> {
        let id = TeamId::parse(&id, "id")?;
        ctx.request().load(|l| &l.teams, id, Team).await
    }
}

#[derive(Default)]
pub struct TeamMutation;

#[Object]
impl TeamMutation {
    /// Admins create teams inside their area.
    async fn create_team(&self, ctx: &Context<'_>, input: CreateTeamInput) -> GqlResult<Team> {
        let actor = ctx.request().actor().await?;
        let create = CreateTeam {
            name: input.name,
            kind: input.kind.into(),
            area_id: AreaId::parse(&input.area_id, "input.areaId")?,
            join_policy: input.join_policy.into(),
            parent_team_id: input
                .parent_team_id
                .map(|id| TeamId::parse(&id, "input.parentTeamId"))
                .transpose()?,
            leader_id: input
                .leader_id
                .map(|id| VolunteerId::parse(&id, "input.leaderId"))
                .transpose()?,
        };
        Ok(Team(
            ctx.services()
                .teams
                .create_team(actor, create)
                .await
                .map_err(|e| e.in_argument("input"))?,
        ))
    }

    async fn update_team(
        &self,
        ctx: &Context<'_>,
        team_id: ID,
        input: UpdateTeamInput,
    ) -> GqlResult<Team> {
        let actor = ctx.request().actor().await?;
        let id = TeamId::parse(&team_id, "teamId")?;
        let update = UpdateTeam {
            name: input.name,
            kind: input.kind.map(Into::into),
            join_policy: input.join_policy.map(Into::into),
        };
        Ok(Team(
            ctx.services()
                .teams
                .update_team(actor, id, update)
                .await
                .map_err(|e| e.in_argument("input"))?,
        ))
    }

    /// OPEN teams admit at once (ACTIVE); APPROVAL teams record a PENDING request.
    async fn join_team(&self, ctx: &Context<'_>, team_id: ID) -> GqlResult<Membership> {
        let actor = ctx.request().actor().await?;
        let membership = ctx
            .services()
            .teams
            .join_team(actor, TeamId::parse(&team_id, "teamId")?)
            .await?;
        Ok(Membership::own(membership))
    }

    async fn review_membership(
        &self,
        ctx: &Context<'_>,
        membership_id: ID,
        approve: bool,
    ) -> GqlResult<Membership> {
        let actor = ctx.request().actor().await?;
        let id = MembershipId::parse(&membership_id, "membershipId")?;
        let membership = ctx
            .services()
            .teams
            .review_membership(actor, id, approve)
            .await?;
        // Only those who run the team review memberships and change roles.
        Ok(Membership::supervised(membership))
    }

    /// Leaders appoint leaders and deputies; a team keeps at least one leader.
    async fn set_member_role(
        &self,
        ctx: &Context<'_>,
        team_id: ID,
        volunteer_id: ID,
        role: MemberRole,
    ) -> GqlResult<Membership> {
        let actor = ctx.request().actor().await?;
        let team = TeamId::parse(&team_id, "teamId")?;
        let volunteer = VolunteerId::parse(&volunteer_id, "volunteerId")?;
        let membership = ctx
            .services()
            .teams
            .set_member_role(actor, team, volunteer, role.into())
            .await?;
        // Only those who run the team review memberships and change roles.
        Ok(Membership::supervised(membership))
    }

    /// Leaves the team (or withdraws a request to join). The caller's sign-ups on the team's
    /// TEAM-visibility events that have not started are cancelled with it, their seats going to
    /// the waitlist; the caller is told of each.
    async fn leave_team(&self, ctx: &Context<'_>, team_id: ID) -> GqlResult<Membership> {
        let actor = ctx.request().actor().await?;
        let membership = ctx
            .services()
            .sign_ups
            .leave_team(actor, TeamId::parse(&team_id, "teamId")?)
            .await?;
        Ok(Membership::own(membership))
    }
}
