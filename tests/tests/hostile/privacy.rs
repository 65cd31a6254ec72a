//! Privacy through every path: a team-only schedule, another volunteer's details, and an
//! anonymous leaderboard line reveal nothing beyond what the caller's relation allows, however
//! they are reached (`node(id:)` included).

use std::time::Duration;

use chrono::Utc;
use feihong_tests::{Session, TestApp, on_every_backend};
use serde_json::{Value, json};

const SCHEDULE: &str =
    "mutation($input: SchedulePatrolsInput!) { schedulePatrols(input: $input) { id visibility } }";
const NODE_SCHEDULE: &str = "query($id: ID!) { node(id: $id) { ... on PatrolSchedule { id title location { address lat lng } weekdays startTime } } }";
const NODE_VOLUNTEER: &str = "query($id: ID!) { node(id: $id) { ... on Volunteer { id displayName area { code } serviceMinutes pendingMinutes starLevel createdAt phone } } }";

fn team_only_schedule(team: &str) -> Value {
    let today = Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive();
    json!({ "input": {
        "teamId": team, "title": "社区巡逻 集合点", "startTime": "20:00", "durationMinutes": 90,
        "weekdays": ["MONDAY", "WEDNESDAY", "FRIDAY"],
        "from": (today + chrono::Duration::days(1)).format("%Y-%m-%d").to_string(),
        "until": (today + chrono::Duration::days(14)).format("%Y-%m-%d").to_string(),
        "capacity": 6, "visibility": "TEAM",
        "location": { "address": "岭南天地 南门", "lat": 23.03, "lng": 113.11 },
    } })
}

async fn node(app: &TestApp, caller: Option<&Session>, query: &str, id: &Value) -> Value {
    let answer = match caller {
        Some(caller) => app.graphql_as(caller, query, json!({ "id": id })).await,
        None => app.graphql(query, json!({ "id": id })).await,
    };
    answer.data()["node"].clone()
}

/// A global ID of another type's number: what someone walking IDs would try.
fn volunteer_id(number: i64) -> Value {
    let raw = format!("Volunteer:{number}");
    json!(base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        raw
    ))
}

on_every_backend! {
    async fn a_team_only_schedule_is_seen_exactly_by_those_who_see_the_teams_events(app: TestApp) {
        let team = app.team("禅城夜巡队", "440604", "OPEN").await;
        let member = app.member(&team).await;
        let stranger = app.volunteer().await;
        let created = app.graphql_as(&team.leader, SCHEDULE, team_only_schedule(&team.id)).await;
        let schedule = created.data()["schedulePatrols"]["id"].clone();
        assert_eq!(created.data()["schedulePatrols"]["visibility"], "TEAM");

        assert_eq!(node(&app, None, NODE_SCHEDULE, &schedule).await, Value::Null);
        assert_eq!(node(&app, Some(&stranger), NODE_SCHEDULE, &schedule).await, Value::Null);
        for insider in [&member, &team.leader, &team.admin] {
            let seen = node(&app, Some(insider), NODE_SCHEDULE, &schedule).await;
            assert_eq!(seen["location"]["address"], "岭南天地 南门");
        }

        // One occurrence made public shows itself, but not its team-only schedule.
        let events = app.graphql_as(&team.leader, "query($team: ID!) { events(filter: { teamId: $team }, first: 1) { nodes { id } } }", json!({ "team": team.id })).await;
        let event = events.data()["events"]["nodes"][0]["id"].clone();
        app.graphql_as(&team.leader, "mutation($id: ID!) { updateEvent(eventId: $id, input: { visibility: PUBLIC }) { id } }", json!({ "id": event })).await.data();
        let query = "query($id: ID!) { event(id: $id) { id schedule { id location { address } } } }";
        for outsider in [None, Some(&stranger)] {
            let seen = match outsider {
                Some(caller) => app.graphql_as(caller, query, json!({ "id": event })).await,
                None => app.graphql(query, json!({ "id": event })).await,
            };
            assert_eq!(seen.data()["event"]["id"], event);
            assert_eq!(seen.data()["event"]["schedule"], Value::Null, "{}", seen.body);
        }
        let seen = app.graphql_as(&member, query, json!({ "id": event })).await;
        assert_eq!(seen.data()["event"]["schedule"]["id"], schedule);
    }

    async fn a_volunteer_is_found_by_id_only_by_those_related_to_them(app: TestApp) {
        let team = app.team("南海巡逻队", "440605", "OPEN").await;
        let (member, teammate) = (app.member(&team).await, app.member(&team).await);
        let stranger = app.volunteer().await;
        let id = json!(member.volunteer_id);

        assert_eq!(node(&app, None, NODE_VOLUNTEER, &id).await, Value::Null);
        assert_eq!(node(&app, Some(&stranger), NODE_VOLUNTEER, &id).await, Value::Null);
        // Walking the numbers finds nobody.
        for number in 1..=12 {
            let walked = node(&app, Some(&stranger), NODE_VOLUNTEER, &volunteer_id(number)).await;
            assert!(walked.is_null() || walked["id"] == stranger.volunteer_id.as_str(), "{walked}");
        }
        let seen = node(&app, Some(&teammate), NODE_VOLUNTEER, &id).await;
        assert_eq!(seen["area"]["code"], "440604");
        assert_eq!(seen["serviceMinutes"], 0);
        assert_eq!((seen["pendingMinutes"].clone(), seen["createdAt"].clone(), seen["phone"].clone()), (Value::Null, Value::Null, Value::Null));
        for supervisor in [&team.leader, &team.admin] {
            let seen = node(&app, Some(supervisor), NODE_VOLUNTEER, &id).await;
            assert_eq!(seen["pendingMinutes"], 0);
            assert!(seen["createdAt"].is_string());
            assert_eq!(seen["phone"], Value::Null, "nobody but the volunteer sees the phone");
        }
        let own = node(&app, Some(&member), NODE_VOLUNTEER, &id).await;
        assert_eq!(own["phone"], member.phone.as_str());
    }

    async fn an_anonymous_leaderboard_line_carries_nothing_that_names_the_volunteer(app: TestApp) {
        let team = app.team("顺德巡逻队", "440606", "OPEN").await;
        let (shy, proud) = (app.member(&team).await, app.member(&team).await);
        let today = Utc::now().with_timezone(&chrono_tz::Asia::Shanghai).format("%Y-%m-%d").to_string();
        app.approved_minutes(&team, &shy, 90, &today).await;
        app.approved_minutes(&team, &proud, 60, &today).await;
        app.graphql_as(&shy, "mutation { updateMyProfile(showOnLeaderboards: false) { id } }", json!({})).await.data();
        let stranger = app.volunteer().await;
        let query = "{ leaderboard(scope: { city: true }, first: 10) { total entries { anonymous minutes volunteer { id displayName area { code } createdAt pendingMinutes serviceMinutes starLevel minutesToNextStar } } } }";
        let mut board = Value::Null;
        for _ in 0..40 {
            board = app.graphql_as(&stranger, query, json!({})).await.data()["leaderboard"].clone();
            if board["total"] == 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let shy_line = &board["entries"][0];
        assert_eq!(shy_line["anonymous"], true, "{board}");
        assert_eq!(shy_line["minutes"], 90);
        let person = &shy_line["volunteer"];
        assert_ne!(person["id"], shy.volunteer_id.as_str());
        for field in ["area", "createdAt", "pendingMinutes", "serviceMinutes", "starLevel", "minutesToNextStar"] {
            assert_eq!(person[field], Value::Null, "{field} on an anonymous line: {person}");
        }
        // A named line shows the name to a stranger, and no more.
        let proud_line = &board["entries"][1]["volunteer"];
        assert_eq!(proud_line["id"], proud.volunteer_id.as_str());
        assert_eq!((proud_line["createdAt"].clone(), proud_line["pendingMinutes"].clone()), (Value::Null, Value::Null));
    }
}
