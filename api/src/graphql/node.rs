//! The Relay `Node` interface and `node(id:)`, permission-checked per type.

use async_graphql::{Context, ID, Interface, Object};
use feihong_domain::ids::{
    AreaId, EventId, MembershipId, ScheduleId, ServiceRecordId, SignUpId, TeamId, VolunteerId,
};

use super::area::Area;
use super::context::ContextExt as _;
use super::error::{GqlError, GqlResult};
use super::event::{Event, PatrolSchedule};
use super::ids::{self, NodeType};
use super::service::ServiceRecord;
use super::signup::SignUp;
use super::team::{Membership, Team};
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
    Team(Team),
    Membership(Membership),
    Event(Event),
    PatrolSchedule(PatrolSchedule),
    SignUp(SignUp),
    ServiceRecord(ServiceRecord),
}

#[derive(Default)]
pub struct NodeQuery;

#[Object]
impl NodeQuery {
    /// Fetches any object by its global ID. Null when it does not exist or the caller may not
    /// see it: areas, teams and public events and schedules are public; team events and
    /// schedules are for those who see the team's events; a volunteer for themself, teammates,
    /// their leaders and admins of their area; sign-ups, memberships and service records for
    /// their own volunteer.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> GqlResult<Option<Node>> {
        let Some((node_type, number)) = ids::decode(&id) else {
            return Err(GqlError::bad_input("id", "is not a valid ID"));
        };
        let request = ctx.request();
        let services = ctx.services();
        let viewer = request.viewer().await?;
        Ok(match node_type {
            NodeType::Area => services
                .areas
                .get(AreaId(number))
                .map(|area| Node::Area(Area(area))),
            NodeType::Team => request
                .loaders
                .teams
                .load_one(TeamId(number))
                .await?
                .map(|t| Node::Team(Team(t))),
            NodeType::Event => services
                .events
                .event(viewer, EventId(number))
                .await?
                .map(|e| Node::Event(Event(e))),
            NodeType::PatrolSchedule => services
                .events
                .schedule(viewer, ScheduleId(number))
                .await?
                .map(|s| Node::PatrolSchedule(PatrolSchedule(s))),
            NodeType::Volunteer => {
                let found = request
                    .loaders
                    .volunteers
                    .load_one(VolunteerId(number))
                    .await?;
                match found {
                    Some(volunteer) => {
                        let relation = services.teams.relation_to(viewer, &volunteer).await?;
                        relation
                            .finds_by_id()
                            .then(|| Node::Volunteer(Volunteer::seen_as(volunteer, relation)))
                    }
                    None => None,
                }
            }
            NodeType::Membership => {
                let actor = request.actor().await?;
                let membership = services.teams.membership(MembershipId(number)).await?;
                match membership {
                    Some(m) if m.volunteer_id == actor.volunteer => {
                        Some(Node::Membership(Membership {
                            inner: m,
                            show_phone: false,
                        }))
                    }
                    _ => None,
                }
            }
            NodeType::SignUp => {
                let actor = request.actor().await?;
                let sign_up = services.sign_ups.sign_up_by_id(SignUpId(number)).await?;
                sign_up
                    .filter(|s| s.volunteer_id == actor.volunteer)
                    .map(|s| Node::SignUp(SignUp(s)))
            }
            NodeType::ServiceRecord => {
                let actor = request.actor().await?;
                let record = services
                    .service_records
                    .record(ServiceRecordId(number))
                    .await?;
                record
                    .filter(|r| r.volunteer_id == actor.volunteer)
                    .map(|r| Node::ServiceRecord(ServiceRecord(r)))
            }
            NodeType::AuditEntry => None,
        })
    }
}
