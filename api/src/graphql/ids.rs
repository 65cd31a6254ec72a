//! Relay global IDs: opaque to clients (URL-safe base64 of `Type:number`), checked on the way in.

use async_graphql::ID;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use feihong_domain::ids::{
    AreaId, AuditEntryId, EventId, IncidentId, MembershipId, ScheduleId, ServiceRecordId, SignUpId,
    TeamId, VolunteerId,
};
use feihong_domain::text::Text;

use super::error::{GqlError, GqlResult};

/// The node types a global ID can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeType {
    Area,
    Volunteer,
    Team,
    Membership,
    Event,
    PatrolSchedule,
    SignUp,
    ServiceRecord,
    AuditEntry,
    Incident,
}

impl NodeType {
    const ALL: [Self; 10] = [
        Self::Area,
        Self::Volunteer,
        Self::Team,
        Self::Membership,
        Self::Event,
        Self::PatrolSchedule,
        Self::SignUp,
        Self::ServiceRecord,
        Self::AuditEntry,
        Self::Incident,
    ];

    fn tag(self) -> &'static str {
        match self {
            Self::Area => "Area",
            Self::Volunteer => "Volunteer",
            Self::Team => "Team",
            Self::Membership => "Membership",
            Self::Event => "Event",
            Self::PatrolSchedule => "PatrolSchedule",
            Self::SignUp => "SignUp",
            Self::ServiceRecord => "ServiceRecord",
            Self::AuditEntry => "AuditEntry",
            Self::Incident => "Incident",
        }
    }
}

pub fn encode(node_type: NodeType, id: i64) -> ID {
    ID(URL_SAFE_NO_PAD.encode(format!("{}:{id}", node_type.tag())))
}

/// The type and number a global ID names, or `None` when it is not one of ours.
pub fn decode(id: &str) -> Option<(NodeType, i64)> {
    if id.len() > 64 {
        return None;
    }
    let raw = URL_SAFE_NO_PAD.decode(id).ok()?;
    let text = std::str::from_utf8(&raw).ok()?;
    let (tag, number) = text.split_once(':')?;
    let node_type = NodeType::ALL.into_iter().find(|t| t.tag() == tag)?;
    let number = number.parse::<i64>().ok().filter(|n| *n > 0)?;
    Some((node_type, number))
}

/// Decodes an argument that must name a node of `expected`; `field` names it in the error.
pub fn decode_as(id: &ID, expected: NodeType, field: &str) -> GqlResult<i64> {
    match decode(id) {
        Some((node_type, number)) if node_type == expected => Ok(number),
        Some(_) => Err(GqlError::bad_input(
            field,
            Text::new("not-id-of-kind").arg("kind", expected.tag()),
        )),
        None => Err(GqlError::bad_input(field, "not-valid-id")),
    }
}

/// A domain ID with a global ID of its own node type: how every ID crosses the API.
pub trait GlobalId: Sized + Copy {
    const NODE: NodeType;

    fn from_number(number: i64) -> Self;

    fn number(self) -> i64;

    /// The opaque global ID clients see.
    fn to_global(self) -> ID {
        encode(Self::NODE, self.number())
    }

    /// Decodes an argument that must name this type; `field` names the argument in the error.
    fn parse(id: &ID, field: &str) -> GqlResult<Self> {
        decode_as(id, Self::NODE, field).map(Self::from_number)
    }

    /// Like `parse`, for an optional argument.
    fn parse_optional(id: Option<&ID>, field: &str) -> GqlResult<Option<Self>> {
        id.map(|id| Self::parse(id, field)).transpose()
    }
}

macro_rules! global_id {
    ($($id:ident => $node:ident),+ $(,)?) => {
        $(
            impl GlobalId for $id {
                const NODE: NodeType = NodeType::$node;

                fn from_number(number: i64) -> Self {
                    Self(number)
                }

                fn number(self) -> i64 {
                    self.0
                }
            }
        )+
    };
}

global_id!(
    AreaId => Area,
    VolunteerId => Volunteer,
    TeamId => Team,
    MembershipId => Membership,
    EventId => Event,
    ScheduleId => PatrolSchedule,
    SignUpId => SignUp,
    ServiceRecordId => ServiceRecord,
    AuditEntryId => AuditEntry,
    IncidentId => Incident,
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_encoded_id_decodes_to_its_type_and_number() {
        let id = encode(NodeType::Volunteer, 42);
        assert_eq!(decode(&id), Some((NodeType::Volunteer, 42)));
        assert!(!id.contains("Volunteer"), "global ids are opaque");
    }

    #[test]
    fn malformed_and_foreign_ids_are_refused() {
        for bad in [
            "",
            "42",
            "!!!",
            &URL_SAFE_NO_PAD.encode("Ghost:1"),
            &URL_SAFE_NO_PAD.encode("Volunteer:-1"),
            &URL_SAFE_NO_PAD.encode("Volunteer:x"),
        ] {
            assert_eq!(decode(bad), None, "{bad}");
        }
        let area = encode(NodeType::Area, 1);
        assert!(decode_as(&area, NodeType::Volunteer, "id").is_err());
    }

    #[test]
    fn a_domain_id_round_trips_through_its_global_id_and_refuses_another_types() {
        let team = TeamId(7).to_global();
        assert_eq!(TeamId::parse(&team, "teamId").ok(), Some(TeamId(7)));
        assert!(EventId::parse(&team, "eventId").is_err());
        assert!(matches!(TeamId::parse_optional(None, "teamId"), Ok(None)));
    }
}
