//! The `Volunteer` type: a person's account as others (and they themself) see it.

use async_graphql::{Context, Enum, ID, Object};
use chrono::{DateTime, Utc};
use feihong_domain::accounts;
use feihong_domain::policy;
use feihong_domain::tallies;

use super::leaderboard::Period;

use super::area::Area;
use super::context::ContextExt as _;
use super::error::GqlResult;
use super::ids::{self, NodeType};

/// What anonymised leaderboard entries are called.
const ANONYMOUS_NAME: &str = "匿名志愿者 Anonymous volunteer";

pub struct Volunteer {
    inner: accounts::Volunteer,
    /// Set where the caller is known to be this volunteer without a token yet (a fresh sign-in).
    shown_to_self: bool,
    /// Set on leaderboards for volunteers who opted out: shown without name, area or id.
    anonymous: bool,
}

impl Volunteer {
    pub fn new(inner: accounts::Volunteer) -> Self {
        Self {
            inner,
            shown_to_self: false,
            anonymous: false,
        }
    }

    /// The volunteer as a leaderboard shows someone who opted out.
    pub fn anonymous(inner: accounts::Volunteer) -> Self {
        Self {
            inner,
            shown_to_self: false,
            anonymous: true,
        }
    }

    /// The volunteer as shown to themself, e.g. in the payload of their own sign-in.
    pub fn own(inner: accounts::Volunteer) -> Self {
        Self {
            inner,
            shown_to_self: true,
            anonymous: false,
        }
    }

    async fn all_time_minutes(&self, ctx: &Context<'_>) -> GqlResult<i64> {
        let key = (self.inner.id, tallies::Period::AllTime);
        Ok(ctx
            .request()
            .loaders
            .volunteer_minutes
            .load_one(key)
            .await?
            .unwrap_or(0))
    }

    async fn is_viewer(&self, ctx: &Context<'_>) -> GqlResult<bool> {
        if self.anonymous {
            return Ok(false);
        }
        if self.shown_to_self {
            return Ok(true);
        }
        let viewer = ctx.request().viewer().await?;
        Ok(policy::can_see_private_details(viewer, self.inner.id))
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
    /// Anonymised leaderboard entries all share one ID that names nobody.
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

    /// The phone number, for the volunteer themself only; null for everyone else (leaders see a
    /// masked number on `Membership.phone`).
    async fn phone(&self, ctx: &Context<'_>) -> GqlResult<Option<String>> {
        Ok(self
            .is_viewer(ctx)
            .await?
            .then(|| self.inner.phone.as_str().to_owned()))
    }

    async fn area(&self, ctx: &Context<'_>) -> Option<Area> {
        if self.anonymous {
            return None;
        }
        ctx.services().areas.get(self.inner.area_id).map(Area)
    }

    /// Approved minutes in the current period (all time by default).
    async fn service_minutes(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "Period::AllTime")] period: Period,
    ) -> GqlResult<i64> {
        let key = (self.inner.id, tallies::Period::from(period));
        Ok(ctx
            .request()
            .loaders
            .volunteer_minutes
            .load_one(key)
            .await?
            .unwrap_or(0))
    }

    /// Minutes waiting for a leader's review.
    async fn pending_minutes(&self, ctx: &Context<'_>) -> GqlResult<i64> {
        Ok(ctx
            .request()
            .loaders
            .pending_minutes
            .load_one(self.inner.id)
            .await?
            .unwrap_or(0))
    }

    /// 0–5 stars from all-time approved hours: 100, 300, 600, 1000, 1500.
    async fn star_level(&self, ctx: &Context<'_>) -> GqlResult<i32> {
        Ok(tallies::star_level(self.all_time_minutes(ctx).await?))
    }

    /// Minutes still needed for the next star; null at five stars.
    async fn minutes_to_next_star(&self, ctx: &Context<'_>) -> GqlResult<Option<i64>> {
        Ok(tallies::minutes_to_next_star(
            self.all_time_minutes(ctx).await?,
        ))
    }

    /// Whether the volunteer appears by name on public leaderboards; for themself only.
    async fn show_on_leaderboards(&self, ctx: &Context<'_>) -> GqlResult<Option<bool>> {
        Ok(self
            .is_viewer(ctx)
            .await?
            .then_some(self.inner.show_on_leaderboards))
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.inner.created_at
    }

    /// The volunteer's roles. Visible to the volunteer themself; empty for anyone else.
    async fn roles(&self, ctx: &Context<'_>) -> GqlResult<Vec<Role>> {
        if !self.is_viewer(ctx).await? {
            return Ok(Vec::new());
        }
        let roles = ctx
            .request()
            .loaders
            .admin_roles
            .load_one(self.inner.id)
            .await?;
        Ok(roles.unwrap_or_default().into_iter().map(Role).collect())
    }
}
