//! Areas: the region tree that admin scope and statistics group by.

use std::sync::Arc;

use async_graphql::{Context, Enum, ID, Object, SimpleObject};
use feihong_domain::areas::{self, AreaLevel as DomainLevel};
use feihong_domain::ids::AreaId;

use super::context::ContextExt as _;
use super::error::GqlResult;
use super::ids::GlobalId as _;
use super::limits::cost;

/// A node of the region tree: city → district → town/street → community.
pub struct Area(pub Arc<areas::Area>);

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum AreaLevel {
    City,
    District,
    Town,
    Community,
}

impl From<DomainLevel> for AreaLevel {
    fn from(level: DomainLevel) -> Self {
        match level {
            DomainLevel::City => Self::City,
            DomainLevel::District => Self::District,
            DomainLevel::Town => Self::Town,
            DomainLevel::Community => Self::Community,
        }
    }
}

/// A point on the map (WGS 84 degrees).
#[derive(SimpleObject)]
pub struct GeoPoint {
    pub lat: f64,
    pub lng: f64,
}

#[Object]
impl Area {
    pub async fn id(&self) -> ID {
        self.0.id.to_global()
    }

    /// The administrative code: GB/T 2260 for the city and districts (`440604`), a
    /// project-internal extension below them (`440604001`).
    async fn code(&self) -> &str {
        &self.0.code
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    /// English name where one is published, else the Chinese name.
    async fn name_en(&self) -> &str {
        &self.0.name_en
    }

    async fn level(&self) -> AreaLevel {
        self.0.level.into()
    }

    /// Approximate centre, for maps.
    async fn center(&self) -> GeoPoint {
        GeoPoint {
            lat: self.0.lat,
            lng: self.0.lng,
        }
    }

    // The area tree is held in memory by the services, so these relations cost no query and need
    // no DataLoader.
    async fn parent(&self, ctx: &Context<'_>) -> Option<Area> {
        let parent = self.0.parent_id?;
        ctx.services().areas.get(parent).map(Area)
    }

    // The tree is small and shallow: a city, 5 districts, 32 towns (about 6 below each).
    #[graphql(complexity = "cost::list(6, child_complexity)")]
    async fn children(&self, ctx: &Context<'_>) -> Vec<Area> {
        ctx.services()
            .areas
            .children(Some(self.0.id))
            .into_iter()
            .map(Area)
            .collect()
    }
}

#[derive(Default)]
pub struct AreaQuery;

#[Object]
impl AreaQuery {
    /// The children of `parentId`, or the top of the tree (the city) when it is omitted.
    // The tree is small and shallow: a city, 5 districts, 32 towns (about 6 below each).
    #[graphql(complexity = "cost::list(6, child_complexity)")]
    async fn areas(&self, ctx: &Context<'_>, parent_id: Option<ID>) -> GqlResult<Vec<Area>> {
        let parent = parent_id
            .map(|id| AreaId::parse(&id, "parentId"))
            .transpose()?;
        let tree = &ctx.services().areas;
        if let Some(parent) = parent
            && tree.get(parent).is_none()
        {
            return Err(feihong_domain::Error::NotFound("area").into());
        }
        Ok(tree.children(parent).into_iter().map(Area).collect())
    }
}
