//! sea-orm entities: the persistence boundary. Nothing outside `domain` sees these types;
//! services turn them into domain types before returning.

pub mod admin_roles;
pub mod areas;
pub mod attendances;
pub mod audit_entries;
pub mod certificate_records;
pub mod certificates;
pub mod events;
pub mod idempotency_records;
pub mod leaderboard_outbox;
pub mod memberships;
pub mod notifications;
pub mod patrol_schedules;
pub mod refresh_tokens;
pub mod service_records;
pub mod sign_ups;
pub mod stats_area_days;
pub mod stats_dirty;
pub mod stats_place_periods;
pub mod stats_team_days;
pub mod stats_volunteer_days;
pub mod tallies;
pub mod teams;
pub mod volunteer_real_names;
pub mod volunteers;
