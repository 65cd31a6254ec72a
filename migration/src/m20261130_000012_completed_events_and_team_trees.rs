//! Two things the upkeep and the rolled-up team boards read:
//! - `ix_events_status_ends`: the upkeep finds PUBLISHED events that have ended (to mark them
//!   COMPLETED) by an index range, not by walking every event.
//! - Tallies of team trees: `TREE` (a sub-team with all its descendants) and `ROOT_TREE` (a team
//!   without a parent, with all its descendants), filled here from the existing `TEAM` tallies
//!   so rolled-up answers are right for hours approved before this migration. From now on the
//!   review that changes approved minutes keeps them in step (`domain/src/tallies.rs`).

use sea_orm_migration::prelude::*;

use crate::util::index;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261130_000012_completed_events_and_team_trees"
    }
}

#[derive(DeriveIden)]
enum Events {
    Table,
}

/// Every (team, ancestor-or-self) pair, then each ancestor's sum of its tree's TEAM tallies.
/// Both SQLite and PostgreSQL accept `WITH RECURSIVE … INSERT … SELECT`.
const BACKFILL_TREES: &str = "\
WITH RECURSIVE chain(team_id, ancestor_id) AS ( \
    SELECT id, id FROM teams \
    UNION ALL \
    SELECT chain.team_id, teams.parent_team_id FROM chain \
    JOIN teams ON teams.id = chain.ancestor_id \
    WHERE teams.parent_team_id IS NOT NULL \
) \
INSERT INTO tallies (kind, volunteer_id, team_id, area_id, team_kind, period, period_key, \
    minutes, version, updated_at) \
SELECT CASE WHEN ancestor.parent_team_id IS NULL THEN 'ROOT_TREE' ELSE 'TREE' END, 0, \
    ancestor.id, ancestor.area_id, ancestor.kind, tallies.period, tallies.period_key, \
    SUM(tallies.minutes), 1, MAX(tallies.updated_at) \
FROM tallies \
JOIN chain ON chain.team_id = tallies.team_id \
JOIN teams ancestor ON ancestor.id = chain.ancestor_id \
WHERE tallies.kind = 'TEAM' \
GROUP BY ancestor.id, ancestor.parent_team_id, ancestor.area_id, ancestor.kind, \
    tallies.period, tallies.period_key";

/// A leaderboard outbox row naming nobody asks the workers to rebuild every set, so the rank
/// store gains the rolled-up boards of the tallies filled above.
const REQUEST_REBUILD: &str = "\
INSERT INTO leaderboard_outbox (volunteer_id, team_id, service_date, created_at) \
SELECT 0, 0, MAX(service_date), MAX(created_at) FROM service_records \
HAVING COUNT(*) > 0";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(index(
                "ix_events_status_ends",
                Events::Table,
                &["status", "ends_at"],
            ))
            .await?;
        let db = manager.get_connection();
        db.execute_unprepared(BACKFILL_TREES).await?;
        db.execute_unprepared(REQUEST_REBUILD).await?;
        Ok(())
    }
}
