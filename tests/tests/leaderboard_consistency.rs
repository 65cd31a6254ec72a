//! Invariant 5 end to end: after any mix of approvals, corrections and reversals, every
//! leaderboard, tally and count the API shows equals what the raw APPROVED service records in the
//! database say — for all time, the current year, month and ISO week, cut in Asia/Shanghai.
//!
//! The expected answers are computed here from the `service_records` rows (plus the area tree,
//! the volunteers' home areas and the teams' areas and kinds), never from the server's tallies.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{Datelike, NaiveDate, Utc};
use feihong_tests::fixtures::{JOIN_TEAM, RECORD_SERVICE, REVIEW};
use feihong_tests::{Session, TEST_PASSWORD, TeamFixture, TestApp, on_every_backend};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use serde_json::{Value, json};

const BOARD: &str = "query($scope: LeaderboardScope!, $period: Period!) {
  leaderboard(scope: $scope, period: $period, first: 100) {
    total
    entries { rank minutes anonymous volunteer { id } }
    viewer { rank minutes volunteer { id } }
  }
}";
const TEAM_BOARD: &str = "query($area: ID, $kind: TeamKind, $period: Period!) {
  teamLeaderboard(areaId: $area, kind: $kind, period: $period, first: 100) { rank minutes team { id } }
}";
const MY_MINUTES: &str = "query($period: Period!) { me { serviceMinutes(period: $period) } }";
const TEAM_MINUTES: &str = "query($id: ID!, $period: Period!) {
  team(id: $id) { serviceMinutes(period: $period) activeMembers(period: $period) }
}";
const REGISTER: &str = "mutation($input: RegisterInput!) {
  register(input: $input) { accessToken refreshToken volunteer { id } }
}";
const UPDATE_TEAM: &str = "mutation($id: ID!, $input: UpdateTeamInput!) { updateTeam(teamId: $id, input: $input) { kind } }";

/// The random sequence is the same on every run and backend.
const SEED: u64 = 0x00FE_1404_2026;
const OPERATIONS: usize = 60;
/// Approved minutes on one day: more needs an area admin; more than the cap is refused.
const LEADER_DAY_LIMIT: i64 = 480;
const DAY_CAP: i64 = 720;
/// Writes reach every leaderboard within a second (invariant 5); allow some slack.
const SETTLE: Duration = Duration::from_secs(3);

const CITY: &str = "440600";

/// The teams of the big scenario: name, area code, kind. The first four get the random
/// operations; the last two (in Sanshui) hold a deliberate tie.
const TEAMS: [(&str, &str, &str); 6] = [
    ("禅城祖庙巡逻队", "440604", "KUNG_FU_PATROL"),
    ("南海镇街巡逻队", "440605001", "KUNG_FU_PATROL"),
    ("顺德防诈宣传队", "440606", "ANTI_FRAUD"),
    ("顺德镇街防诈队", "440606003", "ANTI_FRAUD"),
    ("三水甲队", "440607", "KUNG_FU_PATROL"),
    ("三水乙队", "440607002", "KUNG_FU_PATROL"),
];
const RANDOM_TEAMS: usize = 4;
/// Home areas of the volunteers of the random operations (districts and towns).
const HOME_AREAS: [&str; 12] = [
    "440604",
    "440604002",
    "440605",
    "440605001",
    "440606",
    "440606003",
    "440607",
    "440608",
    "440604",
    "440605004",
    "440606",
    "440608002",
];
/// Areas whose volunteer boards are checked.
const BOARD_AREAS: [&str; 10] = [
    CITY,
    "440604",
    "440605",
    "440606",
    "440607",
    "440608",
    "440604002",
    "440605001",
    "440605004",
    "440606003",
];
/// Areas whose team boards are checked (besides the default, the whole city).
const TEAM_BOARD_AREAS: [&str; 9] = [
    CITY,
    "440604",
    "440605",
    "440606",
    "440607",
    "440608",
    "440605001",
    "440606003",
    "440607002",
];
const KINDS: [Option<&str>; 3] = [None, Some("KUNG_FU_PATROL"), Some("ANTI_FRAUD")];

// ---------------------------------------------------------------------------------------------
// Periods and the calendar, in the city's time zone.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Period {
    AllTime,
    Year,
    Month,
    Week,
}

const PERIODS: [Period; 4] = [Period::AllTime, Period::Year, Period::Month, Period::Week];

impl Period {
    fn name(self) -> &'static str {
        match self {
            Self::AllTime => "ALL_TIME",
            Self::Year => "YEAR",
            Self::Month => "MONTH",
            Self::Week => "WEEK",
        }
    }

    /// Whether `day` lies in the current period of `today`.
    fn contains(self, day: NaiveDate, today: NaiveDate) -> bool {
        match self {
            Self::AllTime => true,
            Self::Year => day.year() == today.year(),
            Self::Month => (day.year(), day.month()) == (today.year(), today.month()),
            Self::Week => day.iso_week() == today.iso_week(),
        }
    }
}

fn shanghai_today() -> NaiveDate {
    Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive()
}

/// Today and the days around period boundaries, in Asia/Shanghai.
#[derive(Debug, Clone, Copy)]
struct Calendar {
    today: NaiveDate,
    first_of_month: NaiveDate,
    last_of_previous_month: NaiveDate,
    previous_weeks_sunday: NaiveDate,
}

impl Calendar {
    fn now() -> Self {
        let today = shanghai_today();
        let first_of_month = today.with_day(1).expect("the 1st exists");
        Self {
            today,
            first_of_month,
            last_of_previous_month: first_of_month.pred_opt().expect("a day before"),
            previous_weeks_sunday: today
                - chrono::Duration::days(i64::from(today.weekday().num_days_from_monday()) + 1),
        }
    }

    fn boundary_days(&self) -> [NaiveDate; 4] {
        [
            self.last_of_previous_month,
            self.first_of_month,
            self.previous_weeks_sunday,
            self.today,
        ]
    }
}

fn ymd(day: NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

// ---------------------------------------------------------------------------------------------
// Global IDs.

/// The number inside a global ID of `tag` (`Volunteer:12` → 12); -1 when it is not one.
fn number_in(id: &Value, tag: &str) -> i64 {
    id.as_str()
        .and_then(|text| URL_SAFE_NO_PAD.decode(text).ok())
        .and_then(|raw| String::from_utf8(raw).ok())
        .and_then(|text| text.strip_prefix(&format!("{tag}:"))?.parse().ok())
        .unwrap_or(-1)
}

fn volunteer_number(session: &Session) -> i64 {
    number_in(&json!(session.volunteer_id), "Volunteer")
}

fn team_number(team: &TeamFixture) -> i64 {
    number_in(&json!(team.id), "Team")
}

// ---------------------------------------------------------------------------------------------
// What the database says: raw rows, and rankings computed from them.

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct ApprovedRecord {
    volunteer: i64,
    team: i64,
    day: NaiveDate,
    minutes: i64,
}

/// The raw rows the expected answers are computed from.
struct Snapshot {
    today: NaiveDate,
    approved: Vec<ApprovedRecord>,
    area_parent: HashMap<i64, Option<i64>>,
    area_by_code: HashMap<String, i64>,
    volunteer_area: HashMap<i64, i64>,
    team_area: HashMap<i64, i64>,
    team_kind: HashMap<i64, String>,
}

async fn rows(db: &DatabaseConnection, sql: &str) -> Vec<sea_orm::QueryResult> {
    db.query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap_or_else(|error| panic!("{sql}: {error}"))
}

fn int(row: &sea_orm::QueryResult, column: &str) -> i64 {
    row.try_get::<i64>("", column)
        .unwrap_or_else(|error| panic!("{column}: {error}"))
}

fn text(row: &sea_orm::QueryResult, column: &str) -> String {
    row.try_get::<String>("", column)
        .unwrap_or_else(|error| panic!("{column}: {error}"))
}

impl Snapshot {
    async fn read(app: &TestApp) -> Self {
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
            "SELECT CAST(id AS BIGINT) AS id, CAST(area_id AS BIGINT) AS area_id, kind FROM teams",
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
        db.close().await.ok();
        Self {
            today: shanghai_today(),
            approved,
            area_parent,
            area_by_code,
            volunteer_area,
            team_area,
            team_kind,
        }
    }

    fn area(&self, code: &str) -> i64 {
        *self
            .area_by_code
            .get(code)
            .unwrap_or_else(|| panic!("no area {code}"))
    }

    /// Whether `area` is `ancestor` or lies below it.
    fn lies_in(&self, area: i64, ancestor: i64) -> bool {
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
    fn sums(
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
    fn city_board(&self, period: Period) -> Vec<Line> {
        ranking(self.sums(period, |_| true, |r| r.volunteer))
    }

    /// Volunteers whose home area lies in `area`, ranked by all their minutes.
    fn area_board(&self, period: Period, area: i64) -> Vec<Line> {
        let home = |r: &ApprovedRecord| self.lies_in(self.volunteer_area[&r.volunteer], area);
        ranking(self.sums(period, home, |r| r.volunteer))
    }

    /// Members ranked by the minutes they served in `team`.
    fn team_members_board(&self, period: Period, team: i64) -> Vec<Line> {
        ranking(self.sums(period, |r| r.team == team, |r| r.volunteer))
    }

    /// Teams in `area` (the city when None) of `kind` (any when None), ranked by minutes.
    fn team_board(&self, period: Period, area: Option<i64>, kind: Option<&str>) -> Vec<Line> {
        let keep = |r: &ApprovedRecord| {
            area.is_none_or(|area| self.lies_in(self.team_area[&r.team], area))
                && kind.is_none_or(|kind| self.team_kind[&r.team] == kind)
        };
        ranking(self.sums(period, keep, |r| r.team))
    }

    fn volunteer_minutes(&self, period: Period, volunteer: i64) -> i64 {
        self.sums(period, |r| r.volunteer == volunteer, |_| 0)
            .get(&0)
            .copied()
            .unwrap_or(0)
    }

    /// A team's minutes and how many members have minutes for it.
    fn team_minutes(&self, period: Period, team: i64) -> (i64, i64) {
        let members = self.sums(period, |r| r.team == team, |r| r.volunteer);
        let active = members.values().filter(|minutes| **minutes > 0).count() as i64;
        (members.values().sum(), active)
    }
}

/// One ranked line: (rank, volunteer or team number, minutes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Line {
    rank: i64,
    id: i64,
    minutes: i64,
}

/// Standard competition ranking (1, 2, 2, 4) of those with minutes: most minutes first, ties by
/// number descending.
fn ranking(minutes: HashMap<i64, i64>) -> Vec<Line> {
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

fn lines_json(lines: &[Line]) -> Value {
    lines
        .iter()
        .map(|l| json!([l.rank, l.id, l.minutes]))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Probes: one read through the API and the answer it must give once writes have settled.

struct Probe {
    label: String,
    session: Option<Session>,
    query: &'static str,
    variables: Value,
    /// Turns the response's `data` into the shape of `expected`.
    shape: fn(&Value) -> Value,
    expected: Value,
}

fn board_shape(data: &Value) -> Value {
    let board = &data["leaderboard"];
    let entries: Vec<Value> = board["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| {
            json!([
                e["rank"],
                number_in(&e["volunteer"]["id"], "Volunteer"),
                e["minutes"]
            ])
        })
        .collect();
    let viewer = match &board["viewer"] {
        Value::Null => Value::Null,
        line => json!([
            line["rank"],
            number_in(&line["volunteer"]["id"], "Volunteer"),
            line["minutes"]
        ]),
    };
    let anonymous = board["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .any(|e| e["anonymous"] == true);
    json!({ "total": board["total"], "entries": entries, "viewer": viewer, "anonymous": anonymous })
}

fn team_board_shape(data: &Value) -> Value {
    data["teamLeaderboard"]
        .as_array()
        .expect("teamLeaderboard")
        .iter()
        .map(|e| json!([e["rank"], number_in(&e["team"]["id"], "Team"), e["minutes"]]))
        .collect()
}

fn my_minutes_shape(data: &Value) -> Value {
    data["me"]["serviceMinutes"].clone()
}

fn team_minutes_shape(data: &Value) -> Value {
    json!([
        data["team"]["serviceMinutes"],
        data["team"]["activeMembers"]
    ])
}

impl Probe {
    /// `leaderboard(scope, period)` read by `viewer` must list exactly `lines`.
    fn board(
        label: String,
        viewer: Option<&Session>,
        scope: Value,
        period: Period,
        lines: &[Line],
    ) -> Self {
        let own = viewer.and_then(|session| {
            let number = volunteer_number(session);
            lines.iter().find(|line| line.id == number)
        });
        let expected = json!({
            "total": lines.len(),
            "entries": lines_json(lines),
            "viewer": own.map_or(Value::Null, |l| json!([l.rank, l.id, l.minutes])),
            "anonymous": false,
        });
        Self {
            label: format!(
                "leaderboard({label}, {}) as {:?}",
                period.name(),
                viewer.map(volunteer_number)
            ),
            session: viewer.cloned(),
            query: BOARD,
            variables: json!({ "scope": scope, "period": period.name() }),
            shape: board_shape,
            expected,
        }
    }

    fn team_board(
        area: Option<(&str, String)>,
        kind: Option<&str>,
        period: Period,
        lines: &[Line],
    ) -> Self {
        let code = area.as_ref().map(|(code, _)| *code);
        Self {
            label: format!(
                "teamLeaderboard(area {code:?}, kind {kind:?}, {})",
                period.name()
            ),
            session: None,
            query: TEAM_BOARD,
            variables: json!({ "area": area.map(|(_, id)| id), "kind": kind, "period": period.name() }),
            shape: team_board_shape,
            expected: lines_json(lines),
        }
    }

    fn my_minutes(session: &Session, period: Period, minutes: i64) -> Self {
        Self {
            label: format!(
                "me.serviceMinutes({}) of volunteer {}",
                period.name(),
                volunteer_number(session)
            ),
            session: Some(session.clone()),
            query: MY_MINUTES,
            variables: json!({ "period": period.name() }),
            shape: my_minutes_shape,
            expected: json!(minutes),
        }
    }

    fn team_minutes(team: &TeamFixture, period: Period, (minutes, active): (i64, i64)) -> Self {
        Self {
            label: format!(
                "team {}: [serviceMinutes, activeMembers]({})",
                team_number(team),
                period.name()
            ),
            session: None,
            query: TEAM_MINUTES,
            variables: json!({ "id": team.id, "period": period.name() }),
            shape: team_minutes_shape,
            expected: json!([minutes, active]),
        }
    }

    async fn mismatch(&self, app: &TestApp) -> Option<String> {
        let response = match &self.session {
            Some(session) => {
                app.graphql_as(session, self.query, self.variables.clone())
                    .await
            }
            None => app.graphql(self.query, self.variables.clone()).await,
        };
        let actual = (self.shape)(response.data());
        (actual != self.expected).then(|| {
            format!(
                "{}:\n    expected {}\n    got      {}",
                self.label, self.expected, actual
            )
        })
    }
}

/// Polls every probe until all answer as expected, or fails listing those that do not.
async fn assert_settles(app: &TestApp, probes: &[Probe]) {
    let deadline = Instant::now() + SETTLE;
    loop {
        let mut wrong = Vec::new();
        for probe in probes {
            if let Some(mismatch) = probe.mismatch(app).await {
                wrong.push(mismatch);
            }
        }
        if wrong.is_empty() {
            return;
        }
        if Instant::now() > deadline {
            panic!(
                "{} of {} reads still disagree with the database after {SETTLE:?}:\n{}",
                wrong.len(),
                probes.len(),
                wrong.join("\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Writing through the API.

/// Registers a volunteer whose home area is the area with `code`.
async fn register_in(app: &TestApp, phone: &str, name: &str, code: &str) -> Session {
    let area = app.area_id(code).await;
    let response = app
        .graphql(
            REGISTER,
            json!({ "input": { "phone": phone, "password": TEST_PASSWORD, "displayName": name, "areaId": area } }),
        )
        .await;
    Session::from_payload(&response.data()["register"], phone)
}

async fn join(app: &TestApp, session: &Session, team: &TeamFixture) {
    let joined = app
        .graphql_as(session, JOIN_TEAM, json!({ "id": team.id }))
        .await;
    assert_eq!(joined.data()["joinTeam"]["status"], "ACTIVE");
}

/// A team in the area with `code`, of `kind`.
async fn team_of_kind(app: &TestApp, name: &str, code: &str, kind: &str) -> TeamFixture {
    let team = app.team(name, code, "OPEN").await;
    if kind != "KUNG_FU_PATROL" {
        let updated = app
            .graphql_as(
                &team.admin,
                UPDATE_TEAM,
                json!({ "id": team.id, "input": { "kind": kind } }),
            )
            .await;
        assert_eq!(updated.data()["updateTeam"]["kind"], kind);
    }
    team
}

/// A review by the team's leader, or by the area admin when the day needs one.
async fn review(app: &TestApp, team: &TeamFixture, variables: Value) -> Value {
    let by_leader = app
        .graphql_as(&team.leader, REVIEW, variables.clone())
        .await;
    let reviewed =
        if by_leader.body.get("errors").is_some() && by_leader.error_code() == "FORBIDDEN" {
            app.graphql_as(&team.admin, REVIEW, variables).await
        } else {
            by_leader
        };
    reviewed.data()["reviewServiceRecord"].clone()
}

// ---------------------------------------------------------------------------------------------
// The random scenario.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Pending,
    Approved,
    Rejected,
}

/// A service record as the test made it.
struct Tracked {
    id: String,
    person: usize,
    team: usize,
    day: NaiveDate,
    minutes: i64,
    status: Status,
}

/// Everyone and everything the scenario made, and the records it expects.
struct World {
    teams: Vec<TeamFixture>,
    people: Vec<Session>,
    /// (person, team) pairs with an active membership, for the random operations.
    memberships: Vec<(usize, usize)>,
    records: Vec<Tracked>,
    /// Approved minutes per (person, day), to keep every day within 12 hours.
    day_totals: HashMap<(usize, NaiveDate), i64>,
}

impl World {
    fn day_total(&self, person: usize, day: NaiveDate) -> i64 {
        self.day_totals.get(&(person, day)).copied().unwrap_or(0)
    }

    fn add_to_day(&mut self, person: usize, day: NaiveDate, minutes: i64) {
        let total = self.day_totals.entry((person, day)).or_insert(0);
        *total += minutes;
        assert!(
            (0..=DAY_CAP).contains(total),
            "bookkeeping: {total} minutes on {day}"
        );
    }

    /// The approved records as the test asked for them, comparable with the database's rows.
    fn expected_approved(&self) -> Vec<ApprovedRecord> {
        let mut out: Vec<ApprovedRecord> = self
            .records
            .iter()
            .filter(|r| r.status == Status::Approved)
            .map(|r| ApprovedRecord {
                volunteer: volunteer_number(&self.people[r.person]),
                team: team_number(&self.teams[r.team]),
                day: r.day,
                minutes: r.minutes,
            })
            .collect();
        out.sort();
        out
    }

    /// The leader records and approves new minutes (the area admin approves long days).
    async fn approve_new(
        &mut self,
        app: &TestApp,
        person: usize,
        team: usize,
        day: NaiveDate,
        minutes: i64,
    ) {
        let id = app
            .approved_minutes(&self.teams[team], &self.people[person], minutes, &ymd(day))
            .await;
        self.add_to_day(person, day, minutes);
        self.records.push(Tracked {
            id,
            person,
            team,
            day,
            minutes,
            status: Status::Approved,
        });
    }

    /// The leader records minutes and leaves them waiting for review.
    async fn record_pending(
        &mut self,
        app: &TestApp,
        person: usize,
        team: usize,
        day: NaiveDate,
        minutes: i64,
    ) {
        let (team_fixture, member) = (&self.teams[team], &self.people[person]);
        let recorded = app
            .graphql_as(
                &team_fixture.leader,
                RECORD_SERVICE,
                json!({ "input": { "volunteerId": member.volunteer_id, "teamId": team_fixture.id, "minutes": minutes, "serviceDate": ymd(day) } }),
            )
            .await;
        let id = recorded.data()["recordService"]["id"]
            .as_str()
            .expect("record id")
            .to_owned();
        self.records.push(Tracked {
            id,
            person,
            team,
            day,
            minutes,
            status: Status::Pending,
        });
    }

    /// Reverses an approval: its minutes leave every tally and board.
    async fn reject(&mut self, app: &TestApp, index: usize) {
        let record = &self.records[index];
        let reviewed = review(
            app,
            &self.teams[record.team],
            json!({ "id": record.id, "decision": "REJECT", "reason": "登记有误 entered by mistake" }),
        )
        .await;
        assert_eq!(reviewed["status"], "REJECTED");
        let (person, day, minutes) = (record.person, record.day, record.minutes);
        if record.status == Status::Approved {
            self.add_to_day(person, day, -minutes);
        }
        self.records[index].status = Status::Rejected;
    }

    /// (Re-)approves a record with corrected minutes: the new minutes replace the old exactly.
    async fn approve_corrected(&mut self, app: &TestApp, index: usize, minutes: i64) {
        let record = &self.records[index];
        let reviewed = review(
            app,
            &self.teams[record.team],
            json!({ "id": record.id, "decision": "APPROVE", "minutes": minutes }),
        )
        .await;
        assert_eq!(
            (&reviewed["status"], reviewed["minutes"].as_i64()),
            (&json!("APPROVED"), Some(minutes))
        );
        let (person, day, before) = (record.person, record.day, record.minutes);
        if record.status == Status::Approved {
            self.add_to_day(person, day, -before);
        }
        self.add_to_day(person, day, minutes);
        let record = &mut self.records[index];
        record.minutes = minutes;
        record.status = Status::Approved;
    }
}

/// A day in the last ~45 days, often one next to a period boundary.
fn pick_day(rng: &mut StdRng, calendar: &Calendar) -> NaiveDate {
    if rng.random_bool(0.4) {
        let days = calendar.boundary_days();
        days[rng.random_range(0..days.len())]
    } else {
        calendar.today - chrono::Duration::days(rng.random_range(0..=45))
    }
}

/// Teams, volunteers (some in two teams, with homes across the city) and a seeded random mix
/// of approvals, pending records, reversals and corrections; then a deliberate three-way tie of
/// volunteers and a two-way tie of teams.
async fn build_world(app: &TestApp, calendar: &Calendar) -> World {
    let mut teams = Vec::new();
    for (name, code, kind) in TEAMS {
        teams.push(team_of_kind(app, name, code, kind).await);
    }
    let mut world = World {
        teams,
        people: Vec::new(),
        memberships: Vec::new(),
        records: Vec::new(),
        day_totals: HashMap::new(),
    };
    for (index, code) in HOME_AREAS.iter().enumerate() {
        let person = register_in(
            app,
            &format!("1350000{index:04}"),
            &format!("队员{index}"),
            code,
        )
        .await;
        let mut own_teams = vec![index % RANDOM_TEAMS];
        if index % 3 == 0 {
            own_teams.push((index + 1) % RANDOM_TEAMS);
        }
        for team in own_teams {
            join(app, &person, &world.teams[team]).await;
            world.memberships.push((index, team));
        }
        world.people.push(person);
    }

    let mut rng = StdRng::seed_from_u64(SEED);
    for step in 0..OPERATIONS {
        let (person, team) = world.memberships[rng.random_range(0..world.memberships.len())];
        // The first steps hit every boundary day for sure.
        let day = match calendar.boundary_days().get(step) {
            Some(day) => *day,
            None => pick_day(&mut rng, calendar),
        };
        let room = DAY_CAP - world.day_total(person, day);
        let roll = rng.random_range(0..100);
        let approved: Vec<usize> = (0..world.records.len())
            .filter(|i| world.records[*i].status == Status::Approved)
            .collect();
        if step < 4 || roll < 60 || approved.is_empty() {
            if room >= 10 {
                let minutes = rng.random_range(10..=room.min(300));
                world.approve_new(app, person, team, day, minutes).await;
            }
        } else if roll < 68 {
            world
                .record_pending(app, person, team, day, rng.random_range(10..=300))
                .await;
        } else if roll < 84 {
            let index = approved[rng.random_range(0..approved.len())];
            world.reject(app, index).await;
        } else {
            let index = rng.random_range(0..world.records.len());
            let record = &world.records[index];
            let counted = if record.status == Status::Approved {
                record.minutes
            } else {
                0
            };
            let room = DAY_CAP - (world.day_total(record.person, record.day) - counted);
            if room < 11 {
                continue;
            }
            let mut minutes = rng.random_range(10..=room.min(300));
            if record.status == Status::Approved && minutes == record.minutes {
                minutes = if minutes > 10 {
                    minutes - 1
                } else {
                    minutes + 1
                };
            }
            world.approve_corrected(app, index, minutes).await;
        }
    }
    // Make sure at least one day went past the leader's 8 hours, so the admin path is exercised.
    let (person, team) = world.memberships[0];
    let long_day = calendar.today - chrono::Duration::days(2);
    let room = DAY_CAP - world.day_total(person, long_day);
    if world.day_total(person, long_day) <= LEADER_DAY_LIMIT && room > 0 {
        let minutes = (LEADER_DAY_LIMIT + 1 - world.day_total(person, long_day)).clamp(1, room);
        world
            .approve_new(app, person, team, long_day, minutes)
            .await;
    }

    // Three volunteers with 200 minutes each today (one of them corrected from 150, one split
    // over two teams), and the two Sanshui teams with 300 minutes each.
    let (sanshui_a, sanshui_b) = (4, 5);
    let base = world.people.len();
    for (offset, code) in ["440607", "440607002", "440608"].iter().enumerate() {
        let person = register_in(
            app,
            &format!("1350001{offset:04}"),
            &format!("并列{offset}"),
            code,
        )
        .await;
        world.people.push(person);
    }
    join(app, &world.people[base], &world.teams[sanshui_a]).await;
    join(app, &world.people[base + 1], &world.teams[sanshui_b]).await;
    join(app, &world.people[base + 2], &world.teams[sanshui_a]).await;
    join(app, &world.people[base + 2], &world.teams[sanshui_b]).await;
    let today = calendar.today;
    world.approve_new(app, base, sanshui_a, today, 200).await;
    world
        .approve_new(app, base + 1, sanshui_b, today, 150)
        .await;
    let corrected = world.records.len() - 1;
    world.approve_corrected(app, corrected, 200).await;
    world
        .approve_new(app, base + 2, sanshui_a, today, 100)
        .await;
    world
        .approve_new(app, base + 2, sanshui_b, today, 100)
        .await;
    world
}

/// Every read the invariant covers, with the answer the database's rows imply.
async fn consistency_probes(app: &TestApp, world: &World, db: &Snapshot) -> Vec<Probe> {
    let mut probes = Vec::new();
    let people = &world.people;
    let mut area_ids = HashMap::new();
    for code in BOARD_AREAS.iter().chain(&TEAM_BOARD_AREAS) {
        area_ids.insert(*code, app.area_id(code).await);
    }
    let mut next_viewer = 0usize;
    let mut rotate = move || {
        next_viewer += 1;
        &people[next_viewer % people.len()]
    };
    for period in PERIODS {
        let city = db.city_board(period);
        for person in people {
            probes.push(Probe::board(
                "city".into(),
                Some(person),
                json!({ "city": true }),
                period,
                &city,
            ));
        }
        probes.push(Probe::board(
            "city".into(),
            None,
            json!({ "city": true }),
            period,
            &city,
        ));

        for code in BOARD_AREAS {
            let lines = db.area_board(period, db.area(code));
            let scope = json!({ "areaId": area_ids[code] });
            probes.push(Probe::board(
                format!("area {code}"),
                Some(rotate()),
                scope,
                period,
                &lines,
            ));
        }
        for team in &world.teams {
            let lines = db.team_members_board(period, team_number(team));
            let scope = json!({ "teamId": team.id });
            // A member of the team (or whoever is next) reads it, and so does someone else.
            let member = lines
                .first()
                .and_then(|line| people.iter().find(|p| volunteer_number(p) == line.id));
            for viewer in [member.unwrap_or_else(|| rotate()), rotate()] {
                let label = format!("team {}", team_number(team));
                probes.push(Probe::board(
                    label,
                    Some(viewer),
                    scope.clone(),
                    period,
                    &lines,
                ));
            }
        }

        for kind in KINDS {
            probes.push(Probe::team_board(
                None,
                kind,
                period,
                &db.team_board(period, None, kind),
            ));
            for code in TEAM_BOARD_AREAS {
                let lines = db.team_board(period, Some(db.area(code)), kind);
                let area = Some((code, area_ids[code].clone()));
                probes.push(Probe::team_board(area, kind, period, &lines));
            }
        }

        for person in people {
            let minutes = db.volunteer_minutes(period, volunteer_number(person));
            probes.push(Probe::my_minutes(person, period, minutes));
        }
        for team in &world.teams {
            probes.push(Probe::team_minutes(
                team,
                period,
                db.team_minutes(period, team_number(team)),
            ));
        }
    }
    probes
}

// ---------------------------------------------------------------------------------------------
// The boundary scenario.

async fn boundary_probes(
    app: &TestApp,
    calendar: &Calendar,
    team: &TeamFixture,
    both: &Session,
    last_month_only: &Session,
) -> Vec<Probe> {
    let (b, l) = (volunteer_number(both), volunteer_number(last_month_only));
    let january = calendar.today.month() == 1;
    let this_week = |day: NaiveDate| Period::Week.contains(day, calendar.today);
    // Minutes per period, written out by hand: (both, last month only).
    let last_day_this_week = this_week(calendar.last_of_previous_month);
    let week_both = if this_week(calendar.first_of_month) {
        40
    } else {
        0
    } + if last_day_this_week { 100 } else { 0 };
    let week_last = if last_day_this_week { 250 } else { 0 };
    let minutes = |period: Period| -> (i64, i64) {
        match period {
            Period::AllTime => (140, 250),
            Period::Year if january => (40, 0),
            Period::Year => (140, 250),
            Period::Month => (40, 0),
            Period::Week => (week_both, week_last),
        }
    };
    let mut probes = Vec::new();
    for period in PERIODS {
        let (mb, ml) = minutes(period);
        let lines = ranking(HashMap::from([(b, mb), (l, ml)]));
        for scope in [
            json!({ "city": true }),
            json!({ "areaId": app.area_id("440604").await }),
            json!({ "teamId": team.id }),
        ] {
            for viewer in [both, last_month_only] {
                probes.push(Probe::board(
                    scope.to_string(),
                    Some(viewer),
                    scope.clone(),
                    period,
                    &lines,
                ));
            }
        }
        probes.push(Probe::my_minutes(both, period, mb));
        probes.push(Probe::my_minutes(last_month_only, period, ml));
        let active = i64::from(mb > 0) + i64::from(ml > 0);
        probes.push(Probe::team_minutes(team, period, (mb + ml, active)));
        let team_lines = ranking(HashMap::from([(team_number(team), mb + ml)]));
        probes.push(Probe::team_board(None, None, period, &team_lines));
    }
    probes
}

on_every_backend! {
    async fn every_leaderboard_equals_a_ranking_computed_from_the_approved_records(app: TestApp) {
        let calendar = Calendar::now();
        let world = build_world(&app, &calendar).await;

        let db = Snapshot::read(&app).await;
        let mut in_database = db.approved.clone();
        in_database.sort();
        assert_eq!(in_database, world.expected_approved(), "the APPROVED rows are the approvals the test made");
        for ((_, day), total) in &world.day_totals {
            assert!(*total <= DAY_CAP, "{day}: {total} minutes");
        }
        for day in calendar.boundary_days() {
            assert!(world.records.iter().any(|r| r.day == day), "a record on {day}");
        }
        assert!(world.records.iter().any(|r| r.status == Status::Rejected), "some approvals were reversed");
        assert!(world.records.iter().any(|r| r.status == Status::Pending), "some records wait for review");
        assert!(world.day_totals.values().any(|total| *total > LEADER_DAY_LIMIT), "some day needed the admin");
        let city = db.city_board(Period::AllTime);
        assert!(city.windows(3).any(|w| w[0].rank == w[2].rank), "a three-way tie: {city:?}");

        let probes = consistency_probes(&app, &world, &db).await;
        assert_settles(&app, &probes).await;
    }

    async fn a_record_approved_on_the_last_day_of_last_month_counts_for_that_month_not_this_one(app: TestApp) {
        let calendar = Calendar::now();
        let team = app.team("禅城月末巡逻队", "440604", "OPEN").await;
        let (both, last_month_only) = (app.member(&team).await, app.member(&team).await);
        let (last_day, first_day) = (ymd(calendar.last_of_previous_month), ymd(calendar.first_of_month));
        app.approved_minutes(&team, &both, 100, &last_day).await;
        app.approved_minutes(&team, &both, 40, &first_day).await;
        app.approved_minutes(&team, &last_month_only, 250, &last_day).await;

        let probes = boundary_probes(&app, &calendar, &team, &both, &last_month_only).await;
        assert_settles(&app, &probes).await;

        // The same answers follow from the raw rows.
        let db = Snapshot::read(&app).await;
        assert_eq!(db.approved.len(), 3);
        assert_eq!(db.volunteer_minutes(Period::Month, volunteer_number(&both)), 40);
        assert_eq!(db.volunteer_minutes(Period::Month, volunteer_number(&last_month_only)), 0);
    }

    async fn a_team_that_changes_kind_is_ranked_under_its_new_kind(app: TestApp) {
        let calendar = Calendar::now();
        let team = app.team("禅城改组巡逻队", "440604", "OPEN").await;
        let member = app.member(&team).await;
        app.approved_minutes(&team, &member, 120, &ymd(calendar.today)).await;
        let updated = app
            .graphql_as(&team.admin, UPDATE_TEAM, json!({ "id": team.id, "input": { "kind": "ANTI_FRAUD" } }))
            .await;
        assert_eq!(updated.data()["updateTeam"]["kind"], "ANTI_FRAUD");
        // Minutes approved after the change count for the team as it is now, like those before.
        app.approved_minutes(&team, &member, 30, &ymd(calendar.today)).await;

        let db = Snapshot::read(&app).await;
        let mut probes = Vec::new();
        for period in PERIODS {
            for kind in KINDS {
                let lines = db.team_board(period, None, kind);
                probes.push(Probe::team_board(None, kind, period, &lines));
            }
        }
        let anti_fraud = db.team_board(Period::AllTime, None, Some("ANTI_FRAUD"));
        assert_eq!(anti_fraud, [Line { rank: 1, id: team_number(&team), minutes: 150 }]);
        assert_settles(&app, &probes).await;
    }
}
