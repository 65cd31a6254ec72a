//! The Relay `Node` interface and `node(id:)`, permission-checked per type.

use async_graphql::{Context, ID, Interface, Object};
use feihong_domain::ids::{AreaId, VolunteerId};
use feihong_domain::policy;

use super::area::Area;
use super::context::ContextExt as _;
use super::error::GqlResult;
use super::ids::{self, NodeType};
use super::volunteer::Volunteer;

/// An object with a global ID, fetchable with `node(id:)`.
#[derive(Interface)]
#[graphql(field(
    name = "id",
    ty = "ID",
    desc = "An opaque, globally unique identifier."
))]
pub enum Node {
    Area(Area),
    Volunteer(Volunteer),
}

#[derive(Default)]
pub struct NodeQuery;

#[Object]
impl NodeQuery {
    /// Fetches any object by its global ID. Null when it does not exist; areas are public, other
    /// objects need a signed-in caller allowed to see them.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> GqlResult<Option<Node>> {
        let Some((node_type, number)) = ids::decode(&id) else {
            return Err(super::error::GqlError::bad_input("id", "is not a valid ID"));
        };
        match node_type {
            NodeType::Area => Ok(ctx
                .services()
                .areas
                .get(AreaId(number))
                .map(|area| Node::Area(Area(area)))),
            NodeType::Volunteer => {
                policy::check_can_view_volunteer(ctx.request().viewer().await?)?;
                let volunteer = ctx
                    .request()
                    .loaders
                    .volunteers
                    .load_one(VolunteerId(number))
                    .await?;
                Ok(volunteer.map(|v| Node::Volunteer(Volunteer::new(v))))
            }
        }
    }
}
