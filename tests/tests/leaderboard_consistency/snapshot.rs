//! What the database says: raw rows, and rankings computed from them.

use std::collections::HashMap;

use chrono::NaiveDate;
use feihong_tests::TestApp;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use serde_json::{Value, json};

use crate::*;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct ApprovedRecord {
    pub(crate) volunteer: i64,
    pub(crate) team: i64,
    pub(crate) day: NaiveDate,
    pub(crate) minutes: i64,
}

/// The raw rows the expected answers are computed from.
pub(crate) struct Snapshot {
    pub(crate) today: NaiveDate,
    pub(crate) approved: Vec<ApprovedRecord>,
    pub(crate) area_parent: HashMap<i64, Option<i64>>,
    pub(crate) area_by_code: HashMap<String, i64>,
    pub(crate) volunteer_area: HashMap<i64, i64>,
    pub(crate) team_area: HashMap<i64, i64>,
    pub(crate) team_kind: HashMap<i64, String>,
    pub(crate) team_parent: HashMap<i64, Option<i64>>,
}

pub(crate) async fn rows(db: &DatabaseConnection, sql: &str) -> Vec<sea_orm::QueryResult> {
    db.query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap_or_else(|error| panic!("{sql}: {error}"))
}

pub(crate) fn int(row: &sea_orm::QueryResult, column: &str) -> i64 {
    row.try_get::<i64>("", column)
        .unwrap_or_else(|error| panic!("{column}: {error}"))
}

pub(crate) fn text(row: &sea_orm::QueryResult, column: &str) -> String {
    row.try_get::<String>("", column)
        .unwrap_or_else(|error| panic!("{column}: {error}"))
}

impl Snapshot {
    pub(crate) async fn read(app: &TestApp) -> Self {
        let db = app.database().await;
        let approved = rows(
            &db,
            "SELECT CAST(volunteer_id AS BIGINT) AS volunteer_id, CAST(team_id AS BIGINT) AS team_id,
                    CAST(minutes AS BIGINT) AS minutes, CAST(service_date AS TEXT) AS service_date
             FROM service_records WHERE status = 'APPROVED'",
        )
        .await
        .iter()
        .map(|row| ApprovedRecord {
            volunteer: int(row, "volunteer_id"),
            team: int(row, "team_id"),
            minutes: int(row, "minutes"),
            day: NaiveDate::parse_from_str(&text(row, "service_date")[..10], "%Y-%m-%d")
                .expect("service_date is a date"),
        })
        .collect();
        let areas = rows(
            &db,
            "SELECT CAST(id AS BIGINT) AS id, CAST(parent_id AS BIGINT) AS parent_id, code FROM areas",
        )
        .await;
        let area_parent = areas
            .iter()
            .map(|row| {
                let parent = row
                    .try_get::<Option<i64>>("", "parent_id")
                    .expect("parent_id");
                (int(row, "id"), parent)
            })
            .collect();
        let area_by_code = areas
            .iter()
            .map(|row| (text(row, "code"), int(row, "id")))
            .collect();
        let volunteer_area = rows(
            &db,
            "SELECT CAST(id AS BIGINT) AS id, CAST(area_id AS BIGINT) AS area_id FROM volunteers",
        )
        .await
        .iter()
        .map(|row| (int(row, "id"), int(row, "area_id")))
        .collect();
        let teams = rows(
            &db,
            "SELECT CAST(id AS BIGINT) AS id, CAST(area_id AS BIGINT) AS area_id, kind,
                    CAST(parent_team_id AS BIGINT) AS parent_team_id FROM teams",
        )
        .await;
        let team_area = teams
            .iter()
            .map(|row| (int(row, "id"), int(row, "area_id")))
            .collect();
        let team_kind = teams
            .iter()
            .map(|row| (int(row, "id"), text(row, "kind")))
            .collect();
        let team_parent = teams
            .iter()
            .map(|row| {
                let parent = row
                    .try_get::<Option<i64>>("", "parent_team_id")
                    .expect("parent_team_id");
                (int(row, "id"), parent)
            })
            .collect();
        db.close().await.ok();
        Self {
            today: shanghai_today(),
            approved,
            area_parent,
            area_by_code,
            volunteer_area,
            team_area,
            team_kind,
            team_parent,
        }
    }

    pub(crate) fn area(&self, code: &str) -> i64 {
        *self
            .area_by_code
            .get(code)
            .unwrap_or_else(|| panic!("no area {code}"))
    }

    /// Whether `area` is `ancestor` or lies below it.
    pub(crate) fn lies_in(&self, area: i64, ancestor: i64) -> bool {
        let mut current = Some(area);
        while let Some(id) = current {
            if id == ancestor {
                return true;
            }
            current = self.area_parent.get(&id).copied().flatten();
        }
        false
    }

    /// Approved minutes in the current `period` of the records `keep` accepts, summed by `key`.
    pub(crate) fn sums(
        &self,
        period: Period,
        keep: impl Fn(&ApprovedRecord) -> bool,
        key: impl Fn(&ApprovedRecord) -> i64,
    ) -> HashMap<i64, i64> {
        let mut sums = HashMap::new();
        for record in &self.approved {
            if period.contains(record.day, self.today) && keep(record) {
                *sums.entry(key(record)).or_insert(0) += record.minutes;
            }
        }
        sums
    }

    /// Volunteers ranked by all their minutes in the period.
    pub(crate) fn city_board(&self, period: Period) -> Vec<Line> {
        ranking(self.sums(period, |_| true, |r| r.volunteer))
    }

    /// Volunteers whose home area lies in `area`, ranked by all their minutes.
    pub(crate) fn area_board(&self, period: Period, area: i64) -> Vec<Line> {
        let home = |r: &ApprovedRecord| self.lies_in(self.volunteer_area[&r.volunteer], area);
        ranking(self.sums(period, home, |r| r.volunteer))
    }

    /// Members ranked by the minutes they served in `team`.
    pub(crate) fn team_members_board(&self, period: Period, team: i64) -> Vec<Line> {
        ranking(self.sums(period, |r| r.team == team, |r| r.volunteer))
    }

    /// Teams in `area` (the city when None) of `kind` (any when None), ranked by minutes.
    pub(crate) fn team_board(
        &self,
        period: Period,
        area: Option<i64>,
        kind: Option<&str>,
    ) -> Vec<Line> {
        let keep = |r: &ApprovedRecord| {
            area.is_none_or(|area| self.lies_in(self.team_area[&r.team], area))
                && kind.is_none_or(|kind| self.team_kind[&r.team] == kind)
        };
        ranking(self.sums(period, keep, |r| r.team))
    }

    pub(crate) fn volunteer_minutes(&self, period: Period, volunteer: i64) -> i64 {
        self.sums(period, |r| r.volunteer == volunteer, |_| 0)
            .get(&0)
            .copied()
            .unwrap_or(0)
    }

    /// A team's minutes and how many members have minutes for it.
    pub(crate) fn team_minutes(&self, period: Period, team: i64) -> (i64, i64) {
        let members = self.sums(period, |r| r.team == team, |r| r.volunteer);
        let active = members.values().filter(|minutes| **minutes > 0).count() as i64;
        (members.values().sum(), active)
    }
}

/// One ranked line: (rank, volunteer or team number, minutes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Line {
    pub(crate) rank: i64,
    pub(crate) id: i64,
    pub(crate) minutes: i64,
}

/// Standard competition ranking (1, 2, 2, 4) of those with minutes: most minutes first, ties by
/// number descending.
pub(crate) fn ranking(minutes: HashMap<i64, i64>) -> Vec<Line> {
    let mut sorted: Vec<(i64, i64)> = minutes.into_iter().filter(|(_, m)| *m > 0).collect();
    sorted.sort_by(|a, b| b.1.cmp(&a.1).then(b.0.cmp(&a.0)));
    let mut lines: Vec<Line> = Vec::with_capacity(sorted.len());
    for (index, (id, minutes)) in sorted.into_iter().enumerate() {
        let rank = match lines.last() {
            Some(previous) if previous.minutes == minutes => previous.rank,
            _ => index as i64 + 1,
        };
        lines.push(Line { rank, id, minutes });
    }
    lines
}

pub(crate) fn lines_json(lines: &[Line]) -> Value {
    lines
        .iter()
        .map(|l| json!([l.rank, l.id, l.minutes]))
        .collect()
}
