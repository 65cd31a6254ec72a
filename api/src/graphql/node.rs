//! The Relay `Node` interface and `node(id:)`, permission-checked per type.

use async_graphql::{Context, ID, Interface, Object};
use feihong_domain::ids::{
    AreaId, EventId, IncidentId, MembershipId, ScheduleId, ServiceRecordId, SignUpId, TeamId,
    VolunteerId,
};

use super::area::Area;
use feihong_domain::policy;

use super::context::ContextExt as _;
use super::error::{GqlError, GqlResult};
use super::event::{Event, PatrolSchedule};
use super::ids::{self, NodeType};
use super::incident_types::Incident;
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
    Incident(Incident),
}

#[derive(Default)]
pub struct NodeQuery;

#[Object]
impl NodeQuery {
    /// Fetches any object by its global ID. Null when it does not exist or the caller may not
    /// see it: areas, teams and public events and schedules are public; team events and
    /// schedules are for those who see the team's events; a volunteer for themself, teammates,
    /// their leaders and admins of their area; sign-ups, memberships and service records for
    /// their own volunteer; an incident for its dispatchers and those alerted to it.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> GqlResult<Option<Node>> {
        let Some((node_type, number)) = ids::decode(&id) else {
            return Err(GqlError::bad_input("id", "not-valid-id"));
        };
        let request = ctx.request();
        let services = ctx.services();
        let viewer = request.viewer().await?;
        Ok(match node_type {
            NodeType::Area => services
                .areas
                .get(AreaId(number))
                .map(|a| Node::Area(Area(a))),
            NodeType::Team => {
                let team = request.load(|l| &l.teams, TeamId(number), Team).await?;
                team.map(Node::Team)
            }
            NodeType::Event => {
                let event = services.events.event(viewer, EventId(number)).await?;
                event.map(|e| Node::Event(Event(e)))
            }
            NodeType::PatrolSchedule => {
                let schedule = services.events.schedule(viewer, ScheduleId(number)).await?;
                schedule.map(|s| Node::PatrolSchedule(PatrolSchedule(s)))
            }
            NodeType::Volunteer => volunteer(ctx, VolunteerId(number)).await?,
            NodeType::Membership | NodeType::SignUp | NodeType::ServiceRecord => {
                own_record(ctx, node_type, number).await?
            }
            NodeType::AuditEntry => None,
            NodeType::Incident => match viewer.actor() {
                Some(actor) => services
                    .incidents
                    .seen_by(actor, IncidentId(number))
                    .await?
                    .map(|(inner, seen)| Node::Incident(Incident::new(inner, seen))),
                None => None,
            },
        })
    }
}

/// A volunteer, for callers related to them (`policy::Relation::finds_by_id`).
async fn volunteer(ctx: &Context<'_>, id: VolunteerId) -> GqlResult<Option<Node>> {
    let Some(volunteer) = ctx.request().find(|l| &l.volunteers, id).await? else {
        return Ok(None);
    };
    let viewer = ctx.request().viewer().await?;
    let relation = ctx.services().teams.relation_to(viewer, &volunteer).await?;
    Ok(relation
        .finds_by_id()
        .then(|| Node::Volunteer(Volunteer::seen_as(volunteer, relation))))
}

/// A membership, sign-up or service record: for a signed-in caller, and only their own.
async fn own_record(
    ctx: &Context<'_>,
    node_type: NodeType,
    number: i64,
) -> GqlResult<Option<Node>> {
    let viewer = ctx.request().viewer().await?;
    policy::check_signed_in(viewer)?;
    let services = ctx.services();
    let (owner, node) = match node_type {
        NodeType::Membership => match services.teams.membership(MembershipId(number)).await? {
            Some(m) => (m.volunteer_id, Node::Membership(Membership::own(m))),
            None => return Ok(None),
        },
        NodeType::SignUp => match services.sign_ups.sign_up_by_id(SignUpId(number)).await? {
            Some(s) => (s.volunteer_id, Node::SignUp(SignUp(s))),
            None => return Ok(None),
        },
        _ => match services
            .service_records
            .record(ServiceRecordId(number))
            .await?
        {
            Some(r) => (r.volunteer_id, Node::ServiceRecord(ServiceRecord(r))),
            None => return Ok(None),
        },
    };
    Ok(policy::can_see_private_details(viewer, owner).then_some(node))
}
