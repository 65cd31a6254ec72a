//! The `Volunteer` type: a person's account as others (and they themself) see it.

use async_graphql::{Context, Enum, ID, Object};
use chrono::{DateTime, Utc};
use feihong_domain::accounts;
use feihong_domain::policy::{self, Relation};
use feihong_domain::tallies;

use super::enums::Period;

use super::area::Area;
use super::context::ContextExt as _;
use super::error::GqlResult;
use super::ids::{self, NodeType};

/// What anonymised leaderboard entries are called.
const ANONYMOUS_NAME: &str = "匿名志愿者 Anonymous volunteer";

/// A volunteer as one caller sees them: what is shown follows the caller's relation to them
/// (`policy::Relation`), decided where the volunteer is reached (a roster is read by those who
/// run the team, a leaderboard by anyone) or looked up (`node(id:)`), never by the field.
pub struct Volunteer {
    inner: accounts::Volunteer,
    /// The caller's relation, as known where the volunteer was reached. The volunteer
    /// themself is recognised wherever they are reached.
    relation: Relation,
    /// Set on leaderboards for volunteers who opted out: shown without anything that names them.
    anonymous: bool,
}

impl Volunteer {
    /// The volunteer as someone with `relation` to them sees them.
    pub fn seen_as(inner: accounts::Volunteer, relation: Relation) -> Self {
        Self {
            inner,
            relation,
            anonymous: false,
        }
    }

    /// The volunteer as a leaderboard shows someone who opted out.
    pub fn anonymous(inner: accounts::Volunteer) -> Self {
        Self {
            inner,
            relation: Relation::Stranger,
            anonymous: true,
        }
    }

    /// The volunteer as shown to themself, e.g. in the payload of their own sign-in.
    pub fn own(inner: accounts::Volunteer) -> Self {
        Self::seen_as(inner, Relation::Own)
    }

    async fn all_time_minutes(&self, ctx: &Context<'_>) -> GqlResult<i64> {
        let key = (self.inner.id, tallies::Period::AllTime);
        Ok(ctx
            .request()
            .find(|l| &l.volunteer_minutes, key)
            .await?
            .unwrap_or(0))
    }

    /// The caller's relation to this volunteer (for the real-name fields).
    pub(super) async fn relation_to_viewer(&self, ctx: &Context<'_>) -> GqlResult<Relation> {
        self.relation(ctx).await
    }

    pub(super) fn volunteer_id(&self) -> feihong_domain::ids::VolunteerId {
        self.inner.id
    }

    /// The caller's relation to this volunteer.
    async fn relation(&self, ctx: &Context<'_>) -> GqlResult<Relation> {
        if self.anonymous {
            return Ok(Relation::Stranger);
        }
        if self.relation == Relation::Own {
            return Ok(Relation::Own);
        }
        let viewer = ctx.request().viewer().await?;
        Ok(if policy::can_see_private_details(viewer, self.inner.id) {
            Relation::Own
        } else {
            self.relation
        })
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum RoleKind {
    /// Watches participation and manages teams inside an area's subtree.
    Admin,
}

/// A role held by a volunteer, with the area it covers (and everything below it).
pub struct Role(accounts::AdminRole);

#[Object]
impl Role {
    async fn kind(&self) -> RoleKind {
        RoleKind::Admin
    }

    async fn area(&self, ctx: &Context<'_>) -> Option<Area> {
        ctx.services().areas.get(self.0.area_id).map(Area)
    }

    async fn granted_at(&self) -> DateTime<Utc> {
        self.0.granted_at
    }
}

#[Object]
impl Volunteer {
    /// Anonymised leaderboard entries all share one ID that names nobody. `node(id:)` finds a
    /// volunteer only for callers related to them (themself, teammates, their leaders, admins
    /// of their area).
    pub async fn id(&self) -> ID {
        ids::encode(
            NodeType::Volunteer,
            if self.anonymous { 0 } else { self.inner.id.0 },
        )
    }

    async fn display_name(&self) -> &str {
        if self.anonymous {
            ANONYMOUS_NAME
        } else {
            &self.inner.display_name
        }
    }

    /// The phone number, for the volunteer themself only; null for everyone else (a team's
    /// leaders and deputies see their members' numbers on `Team.members`, `Membership.phone`).
    async fn phone(&self, ctx: &Context<'_>) -> GqlResult<Option<String>> {
        Ok(self
            .relation(ctx)
            .await?
            .sees_private()
            .then(|| self.inner.phone.as_str().to_owned()))
    }

    /// Whether a real name with a well-formed resident ID number, held by no other account, is
    /// recorded (`setRealName`). It does NOT prove the number is this person's. For the
    /// volunteer, their leaders and area admins; null for anyone else.
    async fn real_name_verified(&self, ctx: &Context<'_>) -> GqlResult<Option<bool>> {
        if self.anonymous {
            return Ok(None);
        }
        super::real_name::real_name_verified(ctx, self).await
    }

    /// The real name recorded with `setRealName`: for the volunteer themself only.
    async fn real_name(&self, ctx: &Context<'_>) -> GqlResult<Option<String>> {
        if self.anonymous {
            return Ok(None);
        }
        let record = super::real_name::own_real_name(ctx, self).await?;
        Ok(record.map(|record| record.name))
    }

    /// The recorded ID number, masked (`4406**********123X`): for the volunteer themself only.
    /// The whole number is never returned.
    async fn id_number_masked(&self, ctx: &Context<'_>) -> GqlResult<Option<String>> {
        if self.anonymous {
            return Ok(None);
        }
        let record = super::real_name::own_real_name(ctx, self).await?;
        Ok(record.map(|record| record.id_number_masked))
    }

    /// The home area: for the volunteer, their teammates, leaders and area admins.
    async fn area(&self, ctx: &Context<'_>) -> GqlResult<Option<Area>> {
        if !self.relation(ctx).await?.sees_profile() {
            return Ok(None);
        }
        Ok(ctx.services().areas.get(self.inner.area_id).map(Area))
    }

    /// Approved minutes in the current period (all time by default): for the volunteer, their
    /// teammates, leaders and area admins; null for others (leaderboard lines carry their own
    /// minutes).
    async fn service_minutes(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "Period::AllTime")] period: Period,
    ) -> GqlResult<Option<i64>> {
        if !self.relation(ctx).await?.sees_profile() {
            return Ok(None);
        }
        let key = (self.inner.id, tallies::Period::from(period));
        Ok(Some(
            ctx.request()
                .find(|l| &l.volunteer_minutes, key)
                .await?
                .unwrap_or(0),
        ))
    }

    /// Minutes waiting for a leader's review: for the volunteer, their leaders and area admins.
    async fn pending_minutes(&self, ctx: &Context<'_>) -> GqlResult<Option<i64>> {
        if !self.relation(ctx).await?.sees_records() {
            return Ok(None);
        }
        Ok(Some(
            ctx.request()
                .find(|l| &l.pending_minutes, self.inner.id)
                .await?
                .unwrap_or(0),
        ))
    }

    /// 0–5 stars from all-time approved hours: 100, 300, 600, 1000, 1500. Shown like
    /// `serviceMinutes`.
    async fn star_level(&self, ctx: &Context<'_>) -> GqlResult<Option<i32>> {
        if !self.relation(ctx).await?.sees_profile() {
            return Ok(None);
        }
        Ok(Some(tallies::star_level(self.all_time_minutes(ctx).await?)))
    }

    /// Minutes still needed for the next star; null at five stars, and where `starLevel` is.
    async fn minutes_to_next_star(&self, ctx: &Context<'_>) -> GqlResult<Option<i64>> {
        if !self.relation(ctx).await?.sees_profile() {
            return Ok(None);
        }
        Ok(tallies::minutes_to_next_star(
            self.all_time_minutes(ctx).await?,
        ))
    }

    /// Whether the volunteer appears by name on public leaderboards; for themself only.
    async fn show_on_leaderboards(&self, ctx: &Context<'_>) -> GqlResult<Option<bool>> {
        Ok(self
            .relation(ctx)
            .await?
            .sees_private()
            .then_some(self.inner.show_on_leaderboards))
    }

    /// The privacy policy version the volunteer last accepted (`privacyPolicy.version`: when they
    /// differ, the app asks again); null before any acceptance. For the volunteer themself only.
    async fn accepted_policy_version(&self, ctx: &Context<'_>) -> GqlResult<Option<String>> {
        Ok(self
            .relation(ctx)
            .await?
            .sees_private()
            .then(|| self.inner.accepted_policy_version.clone())
            .flatten())
    }

    /// When the volunteer accepted `acceptedPolicyVersion`. For the volunteer themself only.
    async fn accepted_policy_at(&self, ctx: &Context<'_>) -> GqlResult<Option<DateTime<Utc>>> {
        Ok(self
            .relation(ctx)
            .await?
            .sees_private()
            .then_some(self.inner.accepted_policy_at)
            .flatten())
    }

    /// When the account was made: for the volunteer, their leaders and area admins.
    async fn created_at(&self, ctx: &Context<'_>) -> GqlResult<Option<DateTime<Utc>>> {
        Ok(self
            .relation(ctx)
            .await?
            .sees_records()
            .then_some(self.inner.created_at))
    }

    /// The volunteer's roles. Visible to the volunteer themself; empty for anyone else.
    async fn roles(&self, ctx: &Context<'_>) -> GqlResult<Vec<Role>> {
        if !self.relation(ctx).await?.sees_private() {
            return Ok(Vec::new());
        }
        let roles = ctx
            .request()
            .find(|l| &l.admin_roles, self.inner.id)
            .await?;
        Ok(roles.unwrap_or_default().into_iter().map(Role).collect())
    }
}
