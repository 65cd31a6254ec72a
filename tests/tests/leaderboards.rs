//! Hours, star levels and leaderboards through the API.

use std::time::Duration;

use chrono::Utc;
use feihong_tests::fixtures::REVIEW;
use feihong_tests::{TestApp, on_every_backend};
use serde_json::{Value, json};

const BOARD: &str = "query($scope: LeaderboardScope!, $period: Period!, $first: Int!) {
  leaderboard(scope: $scope, period: $period, first: $first) {
    total entries { rank minutes anonymous volunteer { id displayName } } viewer { rank minutes }
  }
}";
const ME_HOURS: &str = "{ me { serviceMinutes pendingMinutes starLevel minutesToNextStar month: serviceMinutes(period: MONTH) } }";

const TEAM_BOARD: &str = "query($rollUp: Boolean, $area: ID) {
  teamLeaderboard(period: ALL_TIME, first: 20, rollUp: $rollUp, areaId: $area) { rank minutes team { id } }
}";
const TEAM_MINUTES: &str = "query($id: ID!) { team(id: $id) {
  own: serviceMinutes tree: serviceMinutes(includeSubTeams: true) month: serviceMinutes(period: MONTH, includeSubTeams: true)
} }";
const SUB_TEAMS: &str = "query($id: ID!, $first: Int, $after: String) { team(id: $id) {
  subTeams(first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor } nodes { id parent { id } } }
} }";

/// An admin of the parent's area creates a sub-team of `parent`, led by a new volunteer.
async fn sub_team(
    app: &TestApp,
    parent: &feihong_tests::TeamFixture,
    name: &str,
    area_code: &str,
) -> feihong_tests::TeamFixture {
    let leader = app.volunteer().await;
    let create = "mutation($input: CreateTeamInput!) { createTeam(input: $input) { id } }";
    let input = json!({ "name": name, "kind": "KUNG_FU_PATROL", "areaId": app.area_id(area_code).await, "joinPolicy": "OPEN", "parentTeamId": parent.id, "leaderId": leader.volunteer_id });
    let created = app
        .graphql_as(&parent.admin, create, json!({ "input": input }))
        .await;
    let id = created.data()["createTeam"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    feihong_tests::TeamFixture {
        id,
        leader,
        admin: parent.admin.clone(),
    }
}

/// Polls the team board until `expected` holds, as (team id, rank, minutes) lines.
async fn settled_team_board(
    app: &TestApp,
    roll_up: bool,
    area: Option<String>,
    expected: &[(&str, i64, i64)],
) {
    let want: Vec<(String, i64, i64)> = expected
        .iter()
        .map(|(id, rank, minutes)| ((*id).to_owned(), *rank, *minutes))
        .collect();
    let mut seen = Vec::new();
    for _ in 0..50 {
        let board = app
            .graphql(TEAM_BOARD, json!({ "rollUp": roll_up, "area": area }))
            .await
            .data()["teamLeaderboard"]
            .clone();
        seen = board
            .as_array()
            .unwrap()
            .iter()
            .map(|line| {
                (
                    line["team"]["id"].as_str().unwrap().to_owned(),
                    line["rank"].as_i64().unwrap(),
                    line["minutes"].as_i64().unwrap(),
                )
            })
            .collect::<Vec<_>>();
        if seen == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(seen, want, "rollUp: {roll_up}");
}

fn today() -> String {
    Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .format("%Y-%m-%d")
        .to_string()
}

/// Polls until the board equals `expected` (writes reach leaderboards within a second).
async fn settled_board(
    app: &TestApp,
    session: &feihong_tests::Session,
    scope: Value,
    period: &str,
    expected: impl Fn(&Value) -> bool,
) -> Value {
    for _ in 0..40 {
        let board = app
            .graphql_as(
                session,
                BOARD,
                json!({ "scope": scope, "period": period, "first": 20 }),
            )
            .await
            .data()["leaderboard"]
            .clone();
        if expected(&board) {
            return board;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the leaderboard did not settle")
}

on_every_backend! {
    async fn approved_minutes_rank_volunteers_and_the_viewer_sees_their_own_line(app: TestApp) {
        let team = app.team("祖庙巡逻队", "440604", "OPEN").await;
        let (a, b, c) = (app.member(&team).await, app.member(&team).await, app.member(&team).await);
        let day = today();
        app.approved_minutes(&team, &a, 300, &day).await;
        app.approved_minutes(&team, &b, 120, &day).await;
        app.approved_minutes(&team, &c, 120, &day).await;
        let board = settled_board(&app, &c, json!({ "city": true }), "ALL_TIME", |b| b["total"] == 3).await;
        let lines: Vec<(i64, i64)> = board["entries"].as_array().unwrap().iter().map(|e| (e["rank"].as_i64().unwrap(), e["minutes"].as_i64().unwrap())).collect();
        assert_eq!(lines, [(1, 300), (2, 120), (2, 120)], "equal minutes share a rank");
        assert_eq!(board["viewer"], json!({ "rank": 2, "minutes": 120 }));
        assert_eq!(board["entries"][0]["volunteer"]["id"], a.volunteer_id.as_str());

        for scope in [json!({ "areaId": app.area_id("440604").await }), json!({ "teamId": team.id })] {
            let board = settled_board(&app, &a, scope, "MONTH", |b| b["total"] == 3).await;
            assert_eq!(board["viewer"], json!({ "rank": 1, "minutes": 300 }));
        }
        let elsewhere = app.graphql_as(&a, BOARD, json!({ "scope": { "areaId": app.area_id("440606").await }, "period": "ALL_TIME", "first": 5 })).await;
        assert_eq!(elsewhere.data()["leaderboard"]["total"], 0);
        assert_eq!(elsewhere.data()["leaderboard"]["viewer"], Value::Null);

        let hours = app.graphql_as(&a, ME_HOURS, json!({})).await;
        assert_eq!(hours.data()["me"], json!({ "serviceMinutes": 300, "pendingMinutes": 0, "starLevel": 0, "minutesToNextStar": 100 * 60 - 300, "month": 300 }));
        let teams = app.graphql("{ teamLeaderboard(period: WEEK) { rank minutes team { name serviceMinutes activeMembers(period: WEEK) } } }", json!({})).await;
        assert_eq!(teams.data()["teamLeaderboard"], json!([{ "rank": 1, "minutes": 540, "team": { "name": "祖庙巡逻队", "serviceMinutes": 540, "activeMembers": 3 } }]));
    }

    async fn reversing_an_approval_takes_its_minutes_off_every_board(app: TestApp) {
        let team = app.team("南海防诈队", "440605", "OPEN").await;
        let member = app.member(&team).await;
        let record = app.approved_minutes(&team, &member, 200, &today()).await;
        settled_board(&app, &member, json!({ "city": true }), "WEEK", |b| b["viewer"]["minutes"] == 200).await;
        app.graphql_as(&team.leader, REVIEW, json!({ "id": record, "decision": "REJECT", "reason": "重复登记 duplicate" })).await.data();
        let board = settled_board(&app, &member, json!({ "city": true }), "WEEK", |b| b["total"] == 0).await;
        assert_eq!(board["viewer"], Value::Null);
        let hours = app.graphql_as(&member, ME_HOURS, json!({})).await;
        assert_eq!(hours.data()["me"]["serviceMinutes"], 0);
    }

    async fn a_volunteer_who_opts_out_appears_anonymised_but_sees_their_own_rank(app: TestApp) {
        let team = app.team("三水巡逻队", "440607", "OPEN").await;
        let (shy, other) = (app.member(&team).await, app.member(&team).await);
        app.approved_minutes(&team, &shy, 90, &today()).await;
        app.approved_minutes(&team, &other, 60, &today()).await;
        let opt_out = app.graphql_as(&shy, "mutation { updateMyProfile(showOnLeaderboards: false) { showOnLeaderboards } }", json!({})).await;
        assert_eq!(opt_out.data()["updateMyProfile"]["showOnLeaderboards"], false);
        let seen = settled_board(&app, &other, json!({ "city": true }), "ALL_TIME", |b| b["total"] == 2).await;
        assert_eq!(seen["entries"][0]["anonymous"], true);
        assert_ne!(seen["entries"][0]["volunteer"]["id"], shy.volunteer_id.as_str());
        assert!(seen["entries"][0]["volunteer"]["displayName"].as_str().unwrap().contains("匿名"));
        let own = settled_board(&app, &shy, json!({ "city": true }), "ALL_TIME", |b| b["total"] == 2).await;
        assert_eq!(own["viewer"], json!({ "rank": 1, "minutes": 90 }));
        assert_eq!(own["entries"][0]["anonymous"], false, "nobody is anonymous to themself");
    }

    async fn star_levels_start_exactly_at_the_thresholds(app: TestApp) {
        let team = app.team("高明巡逻队", "440608", "OPEN").await;
        let member = app.member(&team).await;
        // 99 h 59 min over nine earlier days (≤ 12 h a day), then the last minute.
        let start = Utc::now().with_timezone(&chrono_tz::Asia::Shanghai).date_naive() - chrono::Duration::days(10);
        let mut left = 100 * 60 - 1;
        let mut day = start;
        while left > 0 {
            let minutes = left.min(660);
            app.approved_minutes(&team, &member, minutes, &day.format("%Y-%m-%d").to_string()).await;
            left -= minutes;
            day += chrono::Duration::days(1);
        }
        let before = app.graphql_as(&member, ME_HOURS, json!({})).await;
        assert_eq!((before.data()["me"]["starLevel"].as_i64(), before.data()["me"]["minutesToNextStar"].as_i64()), (Some(0), Some(1)));
        app.approved_minutes(&team, &member, 1, &today()).await;
        let after = app.graphql_as(&member, ME_HOURS, json!({})).await;
        assert_eq!((after.data()["me"]["starLevel"].as_i64(), after.data()["me"]["minutesToNextStar"].as_i64()), (Some(1), Some(200 * 60)));
    }

    async fn leaderboard_arguments_are_checked(app: TestApp) {
        let volunteer = app.volunteer().await;
        let bad = |scope: Value, first: i64| json!({ "scope": scope, "period": "ALL_TIME", "first": first });
        app.graphql_as(&volunteer, BOARD, bad(json!({ "city": true }), 101)).await.expect_error("BAD_USER_INPUT", Some("first"));
        app.graphql_as(&volunteer, BOARD, bad(json!({ "areaId": "nope" }), 5)).await.expect_error("BAD_USER_INPUT", Some("scope.areaId"));
        app.graphql_as(&volunteer, BOARD, bad(json!({ "city": true, "teamId": "x" }), 5)).await.expect_error("BAD_USER_INPUT", None);
        let anonymous = app.graphql(BOARD, bad(json!({ "city": true }), 5)).await;
        assert_eq!(anonymous.data()["leaderboard"]["viewer"], Value::Null);
    }

    async fn sub_teams_roll_up_into_their_brigade_on_the_team_board_and_in_its_minutes(app: TestApp) {
        let brigade = app.team("禅城功夫巡逻大队", "440604", "OPEN").await;
        let other = app.team("南海防诈队", "440605", "OPEN").await;
        let squad = sub_team(&app, &brigade, "祖庙中队", "440604").await;
        let platoon = sub_team(&app, &squad, "祖庙一分队", "440604").await;
        let quiet = sub_team(&app, &brigade, "石湾中队", "440604").await;
        let day = today();
        let (m1, m2, m3, m4) = (app.member(&brigade).await, app.member(&squad).await, app.member(&platoon).await, app.member(&other).await);
        app.approved_minutes(&brigade, &m1, 60, &day).await;
        let squads = app.approved_minutes(&squad, &m2, 100, &day).await;
        app.approved_minutes(&platoon, &m3, 50, &day).await;
        app.approved_minutes(&other, &m4, 150, &day).await;

        // Each team on its own, as before.
        settled_team_board(&app, false, None, &[(&other.id, 1, 150), (&squad.id, 2, 100), (&brigade.id, 3, 60), (&platoon.id, 4, 50)]).await;
        // Rolled up: only teams without a parent, each with its whole tree (two levels deep here).
        settled_team_board(&app, true, None, &[(&brigade.id, 1, 210), (&other.id, 2, 150)]).await;
        settled_team_board(&app, true, Some(app.area_id("440605").await), &[(&other.id, 1, 150)]).await;
        let minutes = |id: String| {
            let app = &app;
            async move { app.graphql(TEAM_MINUTES, json!({ "id": id })).await.data()["team"].clone() }
        };
        assert_eq!(minutes(brigade.id.clone()).await, json!({ "own": 60, "tree": 210, "month": 210 }));
        assert_eq!(minutes(squad.id.clone()).await, json!({ "own": 100, "tree": 150, "month": 150 }));
        assert_eq!(minutes(platoon.id.clone()).await, json!({ "own": 50, "tree": 50, "month": 50 }));
        assert_eq!(minutes(quiet.id.clone()).await, json!({ "own": 0, "tree": 0, "month": 0 }));

        // A rejected record leaves the brigade's tree and the rolled-up board with it.
        app.graphql_as(&squad.leader, REVIEW, json!({ "id": squads, "decision": "REJECT", "reason": "重复登记" })).await.data();
        settled_team_board(&app, true, None, &[(&other.id, 1, 150), (&brigade.id, 2, 110)]).await;
        assert_eq!(minutes(squad.id.clone()).await["tree"], 50);

        // Sub-teams page like any list: direct ones only, oldest first, at most 100 at a time.
        let page = app.graphql(SUB_TEAMS, json!({ "id": brigade.id, "first": 1 })).await.data()["team"]["subTeams"].clone();
        assert_eq!((page["totalCount"].clone(), page["pageInfo"]["hasNextPage"].clone()), (json!(2), json!(true)));
        assert_eq!(page["nodes"], json!([{ "id": squad.id, "parent": { "id": brigade.id } }]));
        let next = app.graphql(SUB_TEAMS, json!({ "id": brigade.id, "first": 1, "after": page["pageInfo"]["endCursor"] })).await.data()["team"]["subTeams"].clone();
        assert_eq!((next["nodes"][0]["id"].clone(), next["pageInfo"]["hasNextPage"].clone()), (json!(quiet.id), json!(false)));
        let deeper = app.graphql(SUB_TEAMS, json!({ "id": squad.id })).await.data()["team"]["subTeams"].clone();
        assert_eq!(deeper["nodes"], json!([{ "id": platoon.id, "parent": { "id": squad.id } }]));
        app.graphql(SUB_TEAMS, json!({ "id": brigade.id, "first": 101 })).await.expect_error("BAD_USER_INPUT", Some("first"));
    }
}
