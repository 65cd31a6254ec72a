//! Invariant 5 end to end: after any mix of approvals, corrections and reversals, every
//! leaderboard, tally and count the API shows equals what the raw APPROVED service records in the
//! database say — for all time, the current year, month and ISO week, cut in Asia/Shanghai.
//!
//! The expected answers are computed here from the `service_records` rows (plus the area tree,
//! the volunteers' home areas and the teams' areas and kinds), never from the server's tallies.

use std::time::Duration;

use feihong_tests::{TestApp, on_every_backend};
use serde_json::json;

mod calendar;
mod probes;
mod snapshot;
mod trees;
mod world;

use calendar::*;
use probes::*;
use snapshot::*;
use trees::*;
use world::*;

pub(crate) const BOARD: &str = "query($scope: LeaderboardScope!, $period: Period!) {
  leaderboard(scope: $scope, period: $period, first: 100) {
    total
    entries { rank minutes anonymous volunteer { id } }
    viewer { rank minutes volunteer { id } }
  }
}";
pub(crate) const TEAM_BOARD: &str = "query($area: ID, $kind: TeamKind, $period: Period!) {
  teamLeaderboard(areaId: $area, kind: $kind, period: $period, first: 100) { rank minutes team { id } }
}";
pub(crate) const MY_MINUTES: &str =
    "query($period: Period!) { me { serviceMinutes(period: $period) } }";
pub(crate) const TEAM_MINUTES: &str = "query($id: ID!, $period: Period!) {
  team(id: $id) { serviceMinutes(period: $period) activeMembers(period: $period) }
}";
pub(crate) const REGISTER: &str = "mutation($input: RegisterInput!) {
  register(input: $input) { accessToken refreshToken volunteer { id } }
}";
pub(crate) const UPDATE_TEAM: &str = "mutation($id: ID!, $input: UpdateTeamInput!) { updateTeam(teamId: $id, input: $input) { kind } }";

/// The random sequence is the same on every run and backend.
pub(crate) const SEED: u64 = 0x00FE_1404_2026;
pub(crate) const OPERATIONS: usize = 60;
/// Approved minutes on one day: more needs an area admin; more than the cap is refused.
pub(crate) const LEADER_DAY_LIMIT: i64 = 480;
pub(crate) const DAY_CAP: i64 = 720;
/// Writes reach every leaderboard within a second (invariant 5); allow some slack.
pub(crate) const SETTLE: Duration = Duration::from_secs(3);

pub(crate) const CITY: &str = "440600";

/// The teams of the big scenario: name, area code, kind. The first four get the random
/// operations; the last two (in Sanshui) hold a deliberate tie.
pub(crate) const TEAMS: [(&str, &str, &str); 6] = [
    ("禅城祖庙巡逻队", "440604", "KUNG_FU_PATROL"),
    ("南海镇街巡逻队", "440605001", "KUNG_FU_PATROL"),
    ("顺德防诈宣传队", "440606", "ANTI_FRAUD"),
    ("顺德镇街防诈队", "440606003", "ANTI_FRAUD"),
    ("三水甲队", "440607", "KUNG_FU_PATROL"),
    ("三水乙队", "440607002", "KUNG_FU_PATROL"),
];
pub(crate) const RANDOM_TEAMS: usize = 4;
/// Home areas of the volunteers of the random operations (districts and towns).
pub(crate) const HOME_AREAS: [&str; 12] = [
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
pub(crate) const BOARD_AREAS: [&str; 10] = [
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
pub(crate) const TEAM_BOARD_AREAS: [&str; 9] = [
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
pub(crate) const KINDS: [Option<&str>; 3] = [None, Some("KUNG_FU_PATROL"), Some("ANTI_FRAUD")];

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

    async fn rolled_up_team_boards_and_tree_minutes_equal_the_records_of_each_teams_tree(app: TestApp) {
        let calendar = Calendar::now();
        let probes = rolled_up_probes(&app, &calendar).await;
        assert_settles(&app, &probes).await;
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
