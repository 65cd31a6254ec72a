//! Attendance as GraphQL shows it: how each moment was recorded, when each report reached the
//! server, and whether it was made offline.

use async_graphql::{Enum, Object, SimpleObject};
use chrono::{DateTime, Utc};
use feihong_domain::attendance;

/// How an attendance moment was recorded.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum RecordedBy {
    /// The volunteer, by the phone's position, live.
    SelfByGps,
    /// A leader or deputy, by hand (also `markAttendance` and `addWalkIn`).
    Leader,
    /// The volunteer, by the phone's position, reported offline: it reached the server more than
    /// ten minutes after its time (see `Attendance.receivedAt`).
    SelfOffline,
}

impl RecordedBy {
    fn of(volunteer_id: i64, by: i64, offline: bool) -> Self {
        match (by == volunteer_id, offline) {
            (true, false) => Self::SelfByGps,
            (true, true) => Self::SelfOffline,
            (false, _) => Self::Leader,
        }
    }
}

#[derive(SimpleObject)]
pub struct GeoPosition {
    pub lat: f64,
    pub lng: f64,
}

/// Check-in and check-out of a sign-up.
pub struct Attendance(pub attendance::Attendance);

#[Object]
impl Attendance {
    async fn check_in_at(&self) -> DateTime<Utc> {
        self.0.check_in_at
    }

    async fn check_in_position(&self) -> Option<GeoPosition> {
        self.0.check_in_position.map(|p| GeoPosition {
            lat: p.lat,
            lng: p.lng,
        })
    }

    async fn checked_in_by(&self) -> RecordedBy {
        let volunteer = self.0.volunteer_id.0;
        RecordedBy::of(volunteer, self.0.checked_in_by.0, self.0.check_in_offline)
    }

    async fn check_out_at(&self) -> Option<DateTime<Utc>> {
        self.0.check_out_at
    }

    async fn check_out_position(&self) -> Option<GeoPosition> {
        self.0.check_out_position.map(|p| GeoPosition {
            lat: p.lat,
            lng: p.lng,
        })
    }

    async fn checked_out_by(&self) -> Option<RecordedBy> {
        let volunteer = self.0.volunteer_id.0;
        let offline = self.0.check_out_offline;
        self.0
            .checked_out_by
            .map(|by| RecordedBy::of(volunteer, by.0, offline))
    }

    /// Closed by the server at the event's end because nobody checked out; its service record
    /// waits for review.
    async fn auto_closed(&self) -> bool {
        self.0.auto_closed
    }

    /// When the check-in report reached the server (`checkInAt` is the time it states).
    async fn received_at(&self) -> DateTime<Utc> {
        self.0.received_at.unwrap_or(self.0.check_in_at)
    }

    /// When the check-out report reached the server; null before checking out and when the
    /// server closed the attendance itself.
    async fn check_out_received_at(&self) -> Option<DateTime<Utc>> {
        self.0.check_out_received_at
    }

    /// The check-in or the check-out reached the server more than ten minutes after its time
    /// (the phone had no signal). A volunteer's offline reports are accepted until 24 hours
    /// after the event's end, and their service record is flagged for review.
    async fn offline(&self) -> bool {
        self.0.offline()
    }
}
