//! Feihong's schema migrations.
//!
//! Append-only: a migration that has landed is never edited, only followed by another. Every
//! migration runs on SQLite and PostgreSQL, so it keeps to what both accept: one change per
//! `alter_table`, foreign keys declared inside `create_table`.

pub use sea_orm_migration::prelude::*;

mod m20261128_000001_foundation;
mod m20261128_000002_volunteer_flow;
mod m20261128_000003_tallies;
mod m20261128_000004_stats;
mod m20261128_000005_certificates;
mod m20261128_000006_upkeep_indexes;
mod m20261129_000007_place_periods;
mod m20261130_000008_worker_retries;
mod m20261130_000009_schedule_visibility;
mod m20261130_000010_attendance_reports;
mod m20261130_000011_certificate_revocation;
mod m20261130_000012_completed_events_and_team_trees;
mod m20261130_000013_search_and_lookups;
mod m20261130_000014_volunteer_name_grams;
mod m20261130_000015_sms_codes;
mod m20261130_000016_privacy;
mod m20261130_000017_real_names;
mod m20261130_000018_devices_push_reminders;
mod m20261130_000019_texts_by_language;
mod m20261201_000020_event_feed_index;
mod m20261201_000021_event_starts_feed_index;
mod m20261201_000022_stats_spans;
mod m20261201_000023_event_cells;
mod m20261201_000024_quick_response;
mod seed_areas;
mod util;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261128_000001_foundation::Migration),
            Box::new(m20261128_000002_volunteer_flow::Migration),
            Box::new(m20261128_000003_tallies::Migration),
            Box::new(m20261128_000004_stats::Migration),
            Box::new(m20261128_000005_certificates::Migration),
            Box::new(m20261128_000006_upkeep_indexes::Migration),
            Box::new(m20261129_000007_place_periods::Migration),
            Box::new(m20261130_000008_worker_retries::Migration),
            Box::new(m20261130_000009_schedule_visibility::Migration),
            Box::new(m20261130_000010_attendance_reports::Migration),
            Box::new(m20261130_000011_certificate_revocation::Migration),
            Box::new(m20261130_000012_completed_events_and_team_trees::Migration),
            Box::new(m20261130_000013_search_and_lookups::Migration),
            Box::new(m20261130_000014_volunteer_name_grams::Migration),
            Box::new(m20261130_000015_sms_codes::Migration),
            Box::new(m20261130_000016_privacy::Migration),
            Box::new(m20261130_000017_real_names::Migration),
            Box::new(m20261130_000018_devices_push_reminders::Migration),
            Box::new(m20261130_000019_texts_by_language::Migration),
            Box::new(m20261201_000020_event_feed_index::Migration),
            Box::new(m20261201_000021_event_starts_feed_index::Migration),
            Box::new(m20261201_000022_stats_spans::Migration),
            Box::new(m20261201_000023_event_cells::Migration),
            Box::new(m20261201_000024_quick_response::Migration),
        ]
    }
}
