//! Checking in to an event under way puts the volunteer on duty for quick response (issue 13):
//! their check-in position starts their entry in the position index, until the event ends (or
//! 10 minutes without a position). Checking out takes the entry away unless they declared duty.
//! The check-in or check-out stands whatever happens here: a failure is logged, and the app's
//! next `reportPosition` starts the entry anyway.

use chrono::{DateTime, Utc};

use super::AttendanceService;
use crate::geo::Position;
use crate::ids::VolunteerId;

impl AttendanceService {
    /// After a live self check-in at `position`, to an event running until `ends_at`.
    pub(super) async fn start_duty(
        &self,
        volunteer: VolunteerId,
        position: Position,
        ends_at: DateTime<Utc>,
    ) {
        let now = Utc::now();
        if ends_at <= now {
            return;
        }
        let started = self
            .duty
            .positions
            .start(volunteer, position, now, ends_at)
            .await;
        if let Err(error) = started {
            tracing::warn!(%error, volunteer = volunteer.0, "putting a check-in on duty failed");
        }
    }

    /// After a check-out: off duty now unless declared (or checked in elsewhere).
    pub(super) async fn end_duty(&self, volunteer: VolunteerId) {
        let ended = match self.duty.status(volunteer).await {
            Ok(status) if status.until.is_none() => self.duty.positions.stop(volunteer).await,
            Ok(_) => Ok(()),
            Err(error) => Err(error),
        };
        if let Err(error) = ended {
            tracing::warn!(%error, volunteer = volunteer.0, "taking a check-out off duty failed");
        }
    }
}
