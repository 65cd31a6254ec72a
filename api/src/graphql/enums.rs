//! GraphQL enums mirroring the domain's (`remote` derives the conversions both ways).

use async_graphql::Enum;
use feihong_domain::kinds;

/// What a team does.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "kinds::TeamKind")]
pub enum TeamKind {
    KungFuPatrol,
    AntiFraud,
    CampusGuard,
    #[graphql(name = "COMMUNITY_110")]
    Community110,
    GridPatrol,
    Other,
}

/// How volunteers join: OPEN admits at once, APPROVAL waits for a leader.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "kinds::JoinPolicy")]
pub enum JoinPolicy {
    Open,
    Approval,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "kinds::MemberRole")]
pub enum MemberRole {
    Leader,
    Deputy,
    Member,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "kinds::MembershipStatus")]
pub enum MembershipStatus {
    Pending,
    Active,
    Left,
    Rejected,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "kinds::EventKind")]
pub enum EventKind {
    Patrol,
    Publicity,
    ExamEscort,
    Training,
    Emergency,
    Other,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "kinds::EventStatus")]
pub enum EventStatus {
    Draft,
    Published,
    Cancelled,
    Completed,
}

/// TEAM events are seen by the team's members only.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "kinds::Visibility")]
pub enum Visibility {
    Team,
    Public,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "kinds::SignUpStatus")]
pub enum SignUpStatus {
    Confirmed,
    Waitlisted,
    Cancelled,
    NoShow,
}

/// Only APPROVED minutes count anywhere.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "kinds::RecordStatus")]
pub enum RecordStatus {
    Pending,
    Approved,
    Rejected,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "kinds::ScheduleStatus")]
pub enum ScheduleStatus {
    Active,
    Cancelled,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "kinds::NotificationKind")]
pub enum NotificationKind {
    Promoted,
    SignUpCancelled,
    EventChanged,
    EventCancelled,
    /// A leader or deputy messaged the whole team (`messageTeam`).
    Message,
    /// A CONFIRMED sign-up's event starts soon (by default 24 h and 2 h before).
    Reminder,
    /// An incident near the volunteer on duty (quick response): pushed; listed by
    /// `myIncidentAlerts`, not by `myNotifications`.
    IncidentAlert,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "feihong_domain::events::Weekday")]
pub enum Weekday {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "feihong_domain::service_records::Decision")]
pub enum ReviewDecision {
    Approve,
    Reject,
}

/// Which of the caller's sign-ups: those not yet over, or those over.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "feihong_domain::signups::When")]
pub enum SignUpWhen {
    Upcoming,
    Past,
}

/// A period, cut in the city's time zone: the current year, month or ISO week, or all time.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Hash)]
#[graphql(remote = "feihong_domain::tallies::Period")]
pub enum Period {
    AllTime,
    Year,
    Month,
    Week,
}
