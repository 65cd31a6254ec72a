//! The domain's enumerations, each stored as its upper-case name.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

macro_rules! stored_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $value:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize)]
        #[sea_orm(rs_type = "String", db_type = "String(StringLen::N(20))")]
        pub enum $name {
            $(#[sea_orm(string_value = $value)] $variant,)+
        }
    };
}

stored_enum!(
    /// What a team does.
    TeamKind { KungFuPatrol = "KUNG_FU_PATROL", AntiFraud = "ANTI_FRAUD", CampusGuard = "CAMPUS_GUARD", Community110 = "COMMUNITY_110", GridPatrol = "GRID_PATROL", Other = "OTHER" }
);
stored_enum!(
    /// How volunteers join a team.
    JoinPolicy { Open = "OPEN", Approval = "APPROVAL" }
);
stored_enum!(
    /// A member's role in a team.
    MemberRole { Leader = "LEADER", Deputy = "DEPUTY", Member = "MEMBER" }
);
stored_enum!(
    /// Where a membership stands.
    MembershipStatus { Pending = "PENDING", Active = "ACTIVE", Left = "LEFT", Rejected = "REJECTED" }
);
stored_enum!(
    /// What an event is.
    EventKind { Patrol = "PATROL", Publicity = "PUBLICITY", ExamEscort = "EXAM_ESCORT", Training = "TRAINING", Emergency = "EMERGENCY", Other = "OTHER" }
);
stored_enum!(
    /// An event's life cycle.
    EventStatus { Draft = "DRAFT", Published = "PUBLISHED", Cancelled = "CANCELLED", Completed = "COMPLETED" }
);
stored_enum!(
    /// Who may see an event.
    Visibility { Team = "TEAM", Public = "PUBLIC" }
);
stored_enum!(
    /// Where a sign-up stands.
    SignUpStatus { Confirmed = "CONFIRMED", Waitlisted = "WAITLISTED", Cancelled = "CANCELLED", NoShow = "NO_SHOW" }
);
stored_enum!(
    /// Where a service record stands. Only APPROVED minutes count.
    RecordStatus { Pending = "PENDING", Approved = "APPROVED", Rejected = "REJECTED" }
);
stored_enum!(
    /// A patrol schedule's state.
    ScheduleStatus { Active = "ACTIVE", Cancelled = "CANCELLED" }
);
stored_enum!(
    /// Why a volunteer is told something.
    NotificationKind { Promoted = "PROMOTED", SignUpCancelled = "SIGN_UP_CANCELLED", EventChanged = "EVENT_CHANGED", EventCancelled = "EVENT_CANCELLED", Message = "MESSAGE", Reminder = "REMINDER", IncidentAlert = "INCIDENT_ALERT" }
);
stored_enum!(
    /// What an incident raised for quick response is.
    IncidentKind { Security = "SECURITY", MissingPerson = "MISSING_PERSON", FraudInProgress = "FRAUD_IN_PROGRESS", Medical = "MEDICAL", Fire = "FIRE", Other = "OTHER" }
);
stored_enum!(
    /// Whether an incident is still being answered.
    IncidentStatus { Open = "OPEN", Closed = "CLOSED" }
);
stored_enum!(
    /// An alerted volunteer's answer to an incident.
    ResponderAnswer { Accepted = "ACCEPTED", Declined = "DECLINED", Late = "LATE" }
);

stored_enum!(
    /// What kind of device a push token belongs to.
    DevicePlatform { Ios = "IOS", Android = "ANDROID", Harmony = "HARMONY", Web = "WEB" }
);

impl MemberRole {
    /// Leaders and deputies run the team.
    pub fn manages(self) -> bool {
        matches!(self, Self::Leader | Self::Deputy)
    }
}
