//! The `Volunteer` type: a person's account as others (and they themself) see it.

use async_graphql::{Context, Enum, ID, Object};
use chrono::{DateTime, Utc};
use feihong_domain::accounts;
use feihong_domain::policy;

use super::area::Area;
use super::context::ContextExt as _;
use super::error::GqlResult;
use super::ids::{self, NodeType};

pub struct Volunteer {
    inner: accounts::Volunteer,
    /// Set where the caller is known to be this volunteer without a token yet (a fresh sign-in).
    shown_to_self: bool,
}

impl Volunteer {
    pub fn new(inner: accounts::Volunteer) -> Self {
        Self {
            inner,
            shown_to_self: false,
        }
    }

    /// The volunteer as shown to themself, e.g. in the payload of their own sign-in.
    pub fn own(inner: accounts::Volunteer) -> Self {
        Self {
            inner,
            shown_to_self: true,
        }
    }

    async fn is_viewer(&self, ctx: &Context<'_>) -> GqlResult<bool> {
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
    pub async fn id(&self) -> ID {
        ids::encode(NodeType::Volunteer, self.inner.id.0)
    }

    async fn display_name(&self) -> &str {
        &self.inner.display_name
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
        ctx.services().areas.get(self.inner.area_id).map(Area)
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
