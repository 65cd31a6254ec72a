//! DataLoaders: every relation field batches its lookups per request instead of querying per row.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_graphql::dataloader::{DataLoader, Loader};
use feihong_domain::Services;
use feihong_domain::accounts::{AdminRole, Volunteer};
use feihong_domain::attendance::Attendance;
use feihong_domain::events::{Event, PatrolSchedule};
use feihong_domain::ids::{EventId, ScheduleId, SignUpId, TeamId, VolunteerId};
use feihong_domain::signups::SignUp;
use feihong_domain::tallies::Period;
use feihong_domain::teams::Team;

use super::error::GqlError;

/// Declares a loader that forwards a batch of keys to one service call.
macro_rules! batch_loader {
    ($(#[$doc:meta])* $name:ident: $key:ty => $value:ty, |$services:ident, $keys:ident| $body:expr) => {
        $(#[$doc])*
        pub struct $name(Arc<Services>);

        impl Loader<$key> for $name {
            type Value = $value;
            type Error = GqlError;

            async fn load(&self, $keys: &[$key]) -> Result<HashMap<$key, $value>, GqlError> {
                let $services = &self.0;
                Ok($body.await?)
            }
        }
    };
}

batch_loader!(VolunteerLoader: VolunteerId => Volunteer, |s, keys| s.accounts.volunteers(keys));
batch_loader!(AdminRoleLoader: VolunteerId => Vec<AdminRole>, |s, keys| s.accounts.admin_roles(keys));
batch_loader!(
    /// Whether a real name with a well-formed, unique ID number is recorded (absent: no).
    RealNameVerifiedLoader: VolunteerId => bool, |s, keys| s.real_names.verified(keys)
);
batch_loader!(TeamLoader: TeamId => Team, |s, keys| s.teams.teams_by_id(keys));
batch_loader!(LeaderLoader: TeamId => Vec<VolunteerId>, |s, keys| s.teams.leaders(keys));
batch_loader!(MemberCountLoader: TeamId => i64, |s, keys| s.teams.member_counts(keys));
batch_loader!(
    /// Events by id, without a visibility check: only for parents already checked.
    EventLoader: EventId => Event, |s, keys| s.events.events_by_id(keys)
);
batch_loader!(WaitlistCountLoader: EventId => i64, |s, keys| s.events.waitlist_counts(keys));
batch_loader!(WaitlistPositionLoader: SignUpId => i64, |s, keys| s.sign_ups.waitlist_positions(keys));
batch_loader!(AttendanceLoader: SignUpId => Attendance, |s, keys| s.attendance.for_sign_ups(keys));
batch_loader!(
    /// Schedules by id, without a visibility check: only beside events already checked.
    ScheduleLoader: ScheduleId => PatrolSchedule, |s, keys| s.events.schedules_by_id(keys)
);

/// The viewer's own sign-up for each event; keyed by (viewer, event).
pub struct ViewerSignUpLoader(Arc<Services>);

impl Loader<(VolunteerId, EventId)> for ViewerSignUpLoader {
    type Value = SignUp;
    type Error = GqlError;

    async fn load(
        &self,
        keys: &[(VolunteerId, EventId)],
    ) -> Result<HashMap<(VolunteerId, EventId), SignUp>, GqlError> {
        let mut by_viewer: HashMap<VolunteerId, Vec<EventId>> = HashMap::new();
        for (viewer, event) in keys {
            by_viewer.entry(*viewer).or_default().push(*event);
        }
        let mut out = HashMap::new();
        for (viewer, events) in by_viewer {
            for (event, sign_up) in self
                .0
                .sign_ups
                .of_volunteer_for_events(viewer, &events)
                .await?
            {
                out.insert((viewer, event), sign_up);
            }
        }
        Ok(out)
    }
}

batch_loader!(PendingMinutesLoader: VolunteerId => i64, |s, keys| s.tallies.pending_minutes(keys));

/// Splits keyed-by-period lookups into one batch per period.
macro_rules! period_loader {
    ($name:ident: $id:ty, |$services:ident, $ids:ident, $period:ident| $body:expr) => {
        pub struct $name(Arc<Services>);

        impl Loader<($id, Period)> for $name {
            type Value = i64;
            type Error = GqlError;

            async fn load(
                &self,
                keys: &[($id, Period)],
            ) -> Result<HashMap<($id, Period), i64>, GqlError> {
                let $services = &self.0;
                let mut out = HashMap::new();
                for $period in Period::ALL {
                    let $ids: Vec<$id> = keys
                        .iter()
                        .filter(|(_, p)| *p == $period)
                        .map(|(id, _)| *id)
                        .collect();
                    if $ids.is_empty() {
                        continue;
                    }
                    let found: HashMap<$id, i64> = $body.await?;
                    out.extend(found.into_iter().map(|(id, value)| ((id, $period), value)));
                }
                Ok(out)
            }
        }
    };
}

period_loader!(VolunteerMinutesLoader: VolunteerId, |s, ids, period| s.tallies.volunteer_minutes(&ids, period));
period_loader!(TeamMinutesLoader: TeamId, |s, ids, period| s.tallies.team_minutes(&ids, period));
period_loader!(TreeMinutesLoader: TeamId, |s, ids, period| s.tallies.tree_minutes(&ids, period));
period_loader!(ActiveMembersLoader: TeamId, |s, ids, period| s.tallies.active_members(&ids, period));

pub struct Loaders {
    pub volunteers: DataLoader<VolunteerLoader>,
    pub admin_roles: DataLoader<AdminRoleLoader>,
    pub teams: DataLoader<TeamLoader>,
    pub leaders: DataLoader<LeaderLoader>,
    pub member_counts: DataLoader<MemberCountLoader>,
    pub events: DataLoader<EventLoader>,
    pub waitlist_counts: DataLoader<WaitlistCountLoader>,
    pub waitlist_positions: DataLoader<WaitlistPositionLoader>,
    pub attendance: DataLoader<AttendanceLoader>,
    pub schedules: DataLoader<ScheduleLoader>,
    pub viewer_sign_ups: DataLoader<ViewerSignUpLoader>,
    pub volunteer_minutes: DataLoader<VolunteerMinutesLoader>,
    pub pending_minutes: DataLoader<PendingMinutesLoader>,
    pub team_minutes: DataLoader<TeamMinutesLoader>,
    pub tree_minutes: DataLoader<TreeMinutesLoader>,
    pub active_members: DataLoader<ActiveMembersLoader>,
    pub real_name_verified: DataLoader<RealNameVerifiedLoader>,
}

/// The default 1 ms batching window is latency on every request; sibling fields are resolved
/// concurrently and register their keys before the spawned batch runs, so no window is needed.
fn loader<T: Send + Sync + 'static>(inner: T) -> DataLoader<T> {
    DataLoader::new(inner, tokio::spawn).delay(Duration::ZERO)
}

impl Loaders {
    pub fn new(services: Arc<Services>) -> Self {
        let s = || services.clone();
        Self {
            volunteers: loader(VolunteerLoader(s())),
            admin_roles: loader(AdminRoleLoader(s())),
            teams: loader(TeamLoader(s())),
            leaders: loader(LeaderLoader(s())),
            member_counts: loader(MemberCountLoader(s())),
            events: loader(EventLoader(s())),
            waitlist_counts: loader(WaitlistCountLoader(s())),
            waitlist_positions: loader(WaitlistPositionLoader(s())),
            attendance: loader(AttendanceLoader(s())),
            schedules: loader(ScheduleLoader(s())),
            viewer_sign_ups: loader(ViewerSignUpLoader(s())),
            volunteer_minutes: loader(VolunteerMinutesLoader(s())),
            pending_minutes: loader(PendingMinutesLoader(s())),
            team_minutes: loader(TeamMinutesLoader(s())),
            tree_minutes: loader(TreeMinutesLoader(s())),
            active_members: loader(ActiveMembersLoader(s())),
            real_name_verified: loader(RealNameVerifiedLoader(s())),
        }
    }
}
