//! Tallies: approved minutes per volunteer, per team and per member-of-team, for all time and the
//! current year, month and ISO week (cut in the city's time zone). Changed only in the
//! transaction that approves or reverses a record, so a tally always equals the sum of its
//! APPROVED records (invariant 5); each change also leaves an outbox row for the leaderboards.

mod prune;
mod trees;

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate, Utc};
use chrono_tz::Tz;
use sea_orm::sea_query::{Expr, ExprTrait as _, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect,
};
use serde::{Deserialize, Serialize};

use crate::entity::{leaderboard_outbox, service_records, tallies};
use crate::error::Result;
use crate::ids::{AreaId, TeamId, VolunteerId};
use crate::kinds::{RecordStatus, TeamKind};

pub const KIND_VOLUNTEER: &str = "VOLUNTEER";
pub const KIND_TEAM: &str = "TEAM";
pub const KIND_MEMBER: &str = "MEMBER";

pub(crate) use trees::chain;
pub use trees::{KIND_ROOT_TREE, KIND_TREE};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Period {
    AllTime,
    Year,
    Month,
    Week,
}

impl Period {
    pub const ALL: [Self; 4] = [Self::AllTime, Self::Year, Self::Month, Self::Week];

    pub fn code(self) -> &'static str {
        match self {
            Self::AllTime => "ALL",
            Self::Year => "YEAR",
            Self::Month => "MONTH",
            Self::Week => "WEEK",
        }
    }

    /// The period containing `day`: `all`, `2026`, `2026-11`, `2026-W48` (ISO week).
    pub fn key(self, day: NaiveDate) -> String {
        match self {
            Self::AllTime => "all".to_owned(),
            Self::Year => day.format("%Y").to_string(),
            Self::Month => day.format("%Y-%m").to_string(),
            Self::Week => {
                let week = day.iso_week();
                format!("{}-W{:02}", week.year(), week.week())
            }
        }
    }

    /// The period containing today in the city's time zone.
    pub fn current_key(self, timezone: Tz) -> String {
        self.key(today(timezone))
    }

    /// The key of the period before `day`'s (None for all time).
    pub fn previous_key(self, day: NaiveDate) -> Option<String> {
        let earlier = match self {
            Self::AllTime => return None,
            Self::Year => day.with_day(1)?.with_month(1)? - chrono::Duration::days(1),
            Self::Month => day.with_day(1)? - chrono::Duration::days(1),
            Self::Week => day - chrono::Duration::days(7),
        };
        Some(self.key(earlier))
    }
}

pub fn today(timezone: Tz) -> NaiveDate {
    Utc::now().with_timezone(&timezone).date_naive()
}

/// Star thresholds in hours (the national/Guangdong registered-volunteer scheme).
pub const STAR_HOURS: [i64; 5] = [100, 300, 600, 1000, 1500];

/// 0–5 stars from all-time approved minutes.
pub fn star_level(minutes: i64) -> i32 {
    STAR_HOURS
        .iter()
        .filter(|hours| minutes >= *hours * 60)
        .count() as i32
}

/// Minutes still needed for the next star; None at five stars.
pub fn minutes_to_next_star(minutes: i64) -> Option<i64> {
    STAR_HOURS
        .iter()
        .map(|hours| hours * 60)
        .find(|threshold| minutes < *threshold)
        .map(|threshold| threshold - minutes)
}

/// One approved-minutes change of a record.
pub(crate) struct TallyChange {
    pub volunteer: VolunteerId,
    pub volunteer_area: AreaId,
    pub team: TeamId,
    pub team_area: AreaId,
    pub team_kind: TeamKind,
    pub day: NaiveDate,
    pub delta: i64,
    /// Today in the city's time zone: only kept periods are written (`prune`).
    pub today: NaiveDate,
}

fn kind_code(kind: TeamKind) -> String {
    use sea_orm::ActiveEnum as _;
    kind.to_value()
}

/// One tally row to add minutes to.
struct TallyRow<'a> {
    kind: &'a str,
    volunteer: i64,
    team: i64,
    area: AreaId,
    team_kind: &'a str,
    period: Period,
    key: &'a str,
}

async fn add(conn: &impl ConnectionTrait, target: TallyRow<'_>, delta: i64) -> Result<()> {
    let TallyRow {
        kind,
        volunteer,
        team,
        area,
        team_kind,
        period,
        key,
    } = target;
    let row = tallies::ActiveModel {
        kind: Set(kind.to_owned()),
        volunteer_id: Set(volunteer),
        team_id: Set(team),
        area_id: Set(area.0),
        team_kind: Set(team_kind.to_owned()),
        period: Set(period.code().to_owned()),
        period_key: Set(key.to_owned()),
        minutes: Set(delta),
        version: Set(1),
        updated_at: Set(Utc::now()),
        ..Default::default()
    };
    let conflict = OnConflict::columns([
        tallies::Column::Kind,
        tallies::Column::VolunteerId,
        tallies::Column::TeamId,
        tallies::Column::Period,
        tallies::Column::PeriodKey,
    ])
    .value(
        tallies::Column::Minutes,
        Expr::col((tallies::Entity, tallies::Column::Minutes)).add(delta),
    )
    .value(
        tallies::Column::Version,
        Expr::col((tallies::Entity, tallies::Column::Version)).add(1),
    )
    .value(tallies::Column::UpdatedAt, Expr::value(Utc::now()))
    // Keep where and what the subject is current, should it have moved or changed kind.
    .value(tallies::Column::AreaId, Expr::value(area.0))
    .value(tallies::Column::TeamKind, Expr::value(team_kind.to_owned()))
    .to_owned();
    tallies::Entity::insert(row)
        .on_conflict(conflict)
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// Adds `delta` minutes to every tally the record counts in (its team's tree tallies and those
/// of every ancestor team too), and queues the leaderboards.
pub(crate) async fn apply(conn: &impl ConnectionTrait, change: &TallyChange) -> Result<()> {
    let team_kind = kind_code(change.team_kind);
    let tree = chain(conn, change.team).await?;
    for period in Period::ALL {
        let key = period.key(change.day);
        if !period.is_kept(&key, change.today) {
            continue; // a period nobody reads any more
        }
        trees::add_to_trees(conn, &tree, period, &key, change.delta).await?;
        add(
            conn,
            TallyRow {
                kind: KIND_VOLUNTEER,
                volunteer: change.volunteer.0,
                team: 0,
                area: change.volunteer_area,
                team_kind: "",
                period,
                key: &key,
            },
            change.delta,
        )
        .await?;
        add(
            conn,
            TallyRow {
                kind: KIND_TEAM,
                volunteer: 0,
                team: change.team.0,
                area: change.team_area,
                team_kind: &team_kind,
                period,
                key: &key,
            },
            change.delta,
        )
        .await?;
        add(
            conn,
            TallyRow {
                kind: KIND_MEMBER,
                volunteer: change.volunteer.0,
                team: change.team.0,
                area: change.team_area,
                team_kind: &team_kind,
                period,
                key: &key,
            },
            change.delta,
        )
        .await?;
    }
    leaderboard_outbox::Entity::insert(leaderboard_outbox::ActiveModel {
        volunteer_id: Set(change.volunteer.0),
        team_id: Set(change.team.0),
        service_date: Set(change.day),
        created_at: Set(Utc::now()),
        ..Default::default()
    })
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// A team changed kind: its tallies move to the new kind, and the leaderboard store is told to
/// rebuild (the team must leave the old kind's sets, which no single update can express).
pub(crate) async fn team_kind_changed(
    conn: &impl ConnectionTrait,
    team: TeamId,
    kind: TeamKind,
) -> Result<()> {
    tallies::Entity::update_many()
        .col_expr(tallies::Column::TeamKind, Expr::value(kind_code(kind)))
        .col_expr(
            tallies::Column::Version,
            Expr::col(tallies::Column::Version).add(1),
        )
        .filter(tallies::Column::TeamId.eq(team.0))
        .filter(tallies::Column::Kind.is_in([KIND_TEAM, KIND_MEMBER, KIND_TREE, KIND_ROOT_TREE]))
        .exec(conn)
        .await?;
    request_rebuild(conn).await
}

/// Queues a rebuild of every leaderboard set: an outbox row naming nobody.
pub(crate) async fn request_rebuild(conn: &impl ConnectionTrait) -> Result<()> {
    leaderboard_outbox::Entity::insert(leaderboard_outbox::ActiveModel {
        volunteer_id: Set(0),
        team_id: Set(0),
        service_date: Set(Utc::now().date_naive()),
        created_at: Set(Utc::now()),
        ..Default::default()
    })
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// Reading tallies, for the GraphQL fields (batched).
pub struct Tallies {
    pub(crate) deps: crate::deps::Deps,
}

impl Tallies {
    async fn sums(
        &self,
        kind: &str,
        column: tallies::Column,
        ids: &[i64],
        period: Period,
    ) -> Result<HashMap<i64, i64>> {
        let key = period.current_key(self.deps.timezone);
        let rows: Vec<(i64, i64)> = tallies::Entity::find()
            .select_only()
            .column(column)
            .column(tallies::Column::Minutes)
            .filter(tallies::Column::Kind.eq(kind))
            .filter(column.is_in(ids.iter().copied()))
            .filter(tallies::Column::Period.eq(period.code()))
            .filter(tallies::Column::PeriodKey.eq(key))
            .into_tuple()
            .all(&self.deps.store.db)
            .await?;
        Ok(rows.into_iter().collect())
    }

    /// Approved minutes of each volunteer in the current `period`.
    pub async fn volunteer_minutes(
        &self,
        ids: &[VolunteerId],
        period: Period,
    ) -> Result<HashMap<VolunteerId, i64>> {
        let raw: Vec<i64> = ids.iter().map(|id| id.0).collect();
        let sums = self
            .sums(KIND_VOLUNTEER, tallies::Column::VolunteerId, &raw, period)
            .await?;
        Ok(sums
            .into_iter()
            .map(|(id, minutes)| (VolunteerId(id), minutes))
            .collect())
    }

    /// Approved minutes of each team in the current `period`.
    pub async fn team_minutes(
        &self,
        ids: &[TeamId],
        period: Period,
    ) -> Result<HashMap<TeamId, i64>> {
        let raw: Vec<i64> = ids.iter().map(|id| id.0).collect();
        let sums = self
            .sums(KIND_TEAM, tallies::Column::TeamId, &raw, period)
            .await?;
        Ok(sums
            .into_iter()
            .map(|(id, minutes)| (TeamId(id), minutes))
            .collect())
    }

    /// Members of each team with approved minutes in the current `period`.
    pub async fn active_members(
        &self,
        teams: &[TeamId],
        period: Period,
    ) -> Result<HashMap<TeamId, i64>> {
        let rows: Vec<(i64, i64)> = tallies::Entity::find()
            .select_only()
            .column(tallies::Column::TeamId)
            .column_as(tallies::Column::Id.count(), "members")
            .filter(tallies::Column::Kind.eq(KIND_MEMBER))
            .filter(tallies::Column::TeamId.is_in(teams.iter().map(|id| id.0)))
            .filter(tallies::Column::Period.eq(period.code()))
            .filter(tallies::Column::PeriodKey.eq(period.current_key(self.deps.timezone)))
            .filter(tallies::Column::Minutes.gt(0))
            .group_by(tallies::Column::TeamId)
            .into_tuple()
            .all(&self.deps.store.db)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(team, count)| (TeamId(team), count))
            .collect())
    }

    /// Minutes waiting for review, per volunteer.
    pub async fn pending_minutes(&self, ids: &[VolunteerId]) -> Result<HashMap<VolunteerId, i64>> {
        let rows: Vec<(i64, Option<i64>)> = service_records::Entity::find()
            .select_only()
            .column(service_records::Column::VolunteerId)
            .column_as(service_records::Column::Minutes.sum(), "pending")
            .filter(service_records::Column::VolunteerId.is_in(ids.iter().map(|id| id.0)))
            .filter(service_records::Column::Status.eq(RecordStatus::Pending))
            .group_by(service_records::Column::VolunteerId)
            .into_tuple()
            .all(&self.deps.store.db)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(id, minutes)| (VolunteerId(id), minutes.unwrap_or(0)))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn period_keys_follow_the_calendar_and_iso_weeks() {
        let d = day("2026-11-30");
        assert_eq!(Period::AllTime.key(d), "all");
        assert_eq!(Period::Year.key(d), "2026");
        assert_eq!(Period::Month.key(d), "2026-11");
        assert_eq!(Period::Week.key(d), "2026-W49");
        // 2027-01-01 is a Friday: ISO week 53 of 2026.
        assert_eq!(Period::Week.key(day("2027-01-01")), "2026-W53");
        assert_eq!(
            Period::Month.previous_key(day("2026-01-15")).as_deref(),
            Some("2025-12")
        );
        assert_eq!(Period::Year.previous_key(d).as_deref(), Some("2025"));
    }

    #[test]
    fn stars_start_at_the_thresholds() {
        assert_eq!(star_level(100 * 60 - 1), 0);
        assert_eq!(minutes_to_next_star(100 * 60 - 1), Some(1));
        assert_eq!(star_level(100 * 60), 1);
        assert_eq!(minutes_to_next_star(100 * 60), Some(200 * 60));
        assert_eq!(star_level(1500 * 60), 5);
        assert_eq!(minutes_to_next_star(1500 * 60), None);
        assert_eq!(star_level(0), 0);
    }
}
