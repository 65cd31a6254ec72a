//! Changing a patrol schedule touches only the occurrences that have not started.

use chrono::{Duration, Utc};
use feihong_tests::{TestApp, on_every_backend};
use serde_json::{Value, json};

const SCHEDULE: &str = "mutation($input: SchedulePatrolsInput!) { schedulePatrols(input: $input) { id title capacity status weekdays startTime } }";
const UPDATE: &str = "mutation($id: ID!, $input: UpdatePatrolScheduleInput!) { updatePatrolSchedule(scheduleId: $id, input: $input) { title capacity location { address radiusM } } }";
const TEAM_EVENTS: &str = "query($team: ID!) { events(filter: { teamId: $team }, first: 100) { totalCount edges { node { id title capacity status location { address } schedule { id } } } } }";

fn every_day_input(team: &str, days: i64) -> Value {
    let today = Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive();
    json!({ "input": {
        "teamId": team, "title": "夜间巡逻", "startTime": "20:00", "durationMinutes": 90,
        "weekdays": ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"],
        "from": (today + Duration::days(1)).format("%Y-%m-%d").to_string(),
        "until": (today + Duration::days(days)).format("%Y-%m-%d").to_string(),
        "capacity": 6,
        "location": { "address": "岭南天地", "lat": 23.03, "lng": 113.11 },
    } })
}

on_every_backend! {
    async fn updating_a_schedule_changes_its_future_patrols_and_tells_who_signed_up(app: TestApp) {
        let team = app.team("夜巡队", "440604", "OPEN").await;
        let member = app.member(&team).await;
        let created = app.graphql_as(&team.leader, SCHEDULE, every_day_input(&team.id, 5)).await;
        let schedule = created.data()["schedulePatrols"].clone();
        assert_eq!(schedule["startTime"], "20:00");
        let events = app.graphql_as(&team.leader, TEAM_EVENTS, json!({ "team": team.id })).await;
        let list = events.data()["events"]["edges"].as_array().unwrap().clone();
        assert_eq!(list.len(), 5, "one patrol a day for five days");
        assert!(list.iter().all(|e| e["node"]["schedule"]["id"] == schedule["id"] && e["node"]["status"] == "PUBLISHED"));
        let first = list[0]["node"]["id"].as_str().unwrap();
        app.sign_up(&member, first, None).await.data();

        let updated = app.graphql_as(&team.leader, UPDATE, json!({ "id": schedule["id"], "input": {
            "title": "夜间巡逻（改）", "capacity": 8,
            "location": { "address": "祖庙", "lat": 23.029, "lng": 113.114, "radiusM": 300 },
        } })).await;
        assert_eq!(updated.data()["updatePatrolSchedule"], json!({ "title": "夜间巡逻（改）", "capacity": 8, "location": { "address": "祖庙", "radiusM": 300 } }));
        let events = app.graphql_as(&team.leader, TEAM_EVENTS, json!({ "team": team.id })).await;
        for edge in events.data()["events"]["edges"].as_array().unwrap() {
            assert_eq!(edge["node"]["title"], "夜间巡逻（改）");
            assert_eq!(edge["node"]["capacity"], 8);
            assert_eq!(edge["node"]["location"]["address"], "祖庙");
        }
        let told = app.graphql_as(&member, "{ myNotifications { edges { node { kind } } } }", json!({})).await;
        // Among what they were told (a reminder may come too, depending on the time of day).
        let kinds: Vec<&Value> = told.data()["myNotifications"]["edges"].as_array().unwrap().iter().map(|edge| &edge["node"]["kind"]).collect();
        assert!(kinds.contains(&&json!("EVENT_CHANGED")), "{kinds:?}");

        let cancel = "mutation($id: ID!) { cancelPatrolSchedule(scheduleId: $id, reason: \"台风 Typhoon\") { status } }";
        assert_eq!(app.graphql_as(&team.leader, cancel, json!({ "id": schedule["id"] })).await.data()["cancelPatrolSchedule"]["status"], "CANCELLED");
        app.graphql_as(&team.leader, UPDATE, json!({ "id": schedule["id"], "input": { "capacity": 9 } })).await.expect_error("CONFLICT", None);
        app.graphql_as(&member, UPDATE, json!({ "id": schedule["id"], "input": { "capacity": 9 } })).await.expect_error("FORBIDDEN", None);
    }
}
