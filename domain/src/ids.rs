//! Newtype identifiers, so a volunteer's id can never be passed where an area's is expected.

use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl From<i64> for $name {
            fn from(value: i64) -> Self {
                Self(value)
            }
        }
    };
}

id_type!(
    /// A volunteer account.
    VolunteerId
);
id_type!(
    /// A node of the area tree.
    AreaId
);
id_type!(
    /// A volunteer organisation.
    TeamId
);
id_type!(
    /// A volunteer's membership of a team.
    MembershipId
);
id_type!(
    /// Something volunteers do at a place and time.
    EventId
);
id_type!(
    /// A recurring patrol plan.
    ScheduleId
);
id_type!(
    /// A volunteer's place (or waitlist place) at an event.
    SignUpId
);
id_type!(
    /// Check-in and check-out of a sign-up.
    AttendanceId
);
id_type!(
    /// Credited service minutes.
    ServiceRecordId
);
id_type!(
    /// One audited change.
    AuditEntryId
);
id_type!(
    /// An incident raised for quick response.
    IncidentId
);
