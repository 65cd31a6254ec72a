//! The event feed's `totalCount` is kept per node for the whole hours of a feed and recounted only
//! at its edges (`events::feed_count`). These tests hold it to the truth — the events the same
//! list pages through — for every kind of viewer and filter, after every kind of change to events,
//! on the node that made the change at once and on another node once the bus has told it.

use std::time::Duration as StdDuration;

use chrono::{Duration, DurationRound, Utc};
use feihong_tests::fixtures::{EventSpec, JOIN_TEAM};
use feihong_tests::{Backend, Session, TestApp, on_every_backend};
use serde_json::{Value, json};

const EVENTS: &str = "query($filter: EventFilter, $first: Int) {
  events(filter: $filter, first: $first) { totalCount pageInfo { hasNextPage } nodes { id } }
}";
const UPDATE_EVENT: &str = "mutation($id: ID!, $input: UpdateEventInput!) { updateEvent(eventId: $id, input: $input) { id } }";
const CANCEL_EVENT: &str =
    "mutation($id: ID!) { cancelEvent(eventId: $id, reason: \"暴雨\") { id } }";
const SCHEDULE_PATROLS: &str =
    "mutation($input: SchedulePatrolsInput!) { schedulePatrols(input: $input) { id } }";

/// The feed's `totalCount` and how many events it pages through (all of them fit one page).
async fn count_and_truth(app: &TestApp, viewer: Option<&Session>, filter: &Value) -> (u64, u64) {
    let variables = json!({ "filter": filter, "first": 100 });
    let answer = match viewer {
        Some(session) => app.graphql_as(session, EVENTS, variables).await,
        None => app.graphql(EVENTS, variables).await,
    };
    let events = &answer.data()["events"];
    assert_eq!(events["pageInfo"]["hasNextPage"], false, "{filter}");
    let total = events["totalCount"].as_u64().expect("totalCount");
    (
        total,
        events["nodes"].as_array().expect("nodes").len() as u64,
    )
}

/// The filters every check looks through: whole hours with and without edges at both ends, by
/// area (a district covers its towns), kind and status.
fn filters(district: &str, town: &str) -> Vec<Value> {
    let at = |minutes: i64| (Utc::now() + Duration::minutes(minutes)).to_rfc3339();
    vec![
        json!({}),
        json!({ "areaId": district }),
        json!({ "areaId": town }),
        json!({ "areaId": district, "startsAfter": at(0) }),
        json!({ "startsAfter": at(-90), "startsBefore": at(26 * 60 + 17) }),
        json!({ "areaId": district, "kind": "PATROL" }),
        json!({ "areaId": district, "status": "CANCELLED" }),
        json!({ "status": "COMPLETED" }),
        json!({ "areaId": district, "status": "DRAFT" }),
    ]
}

/// Every viewer's count of every filter is what the list shows them.
async fn counts_are_true(
    app: &TestApp,
    viewers: &[Option<&Session>],
    areas: (&str, &str),
    step: &str,
) {
    for filter in filters(areas.0, areas.1) {
        for (which, viewer) in viewers.iter().enumerate() {
            let (total, truth) = count_and_truth(app, *viewer, &filter).await;
            assert_eq!(
                total, truth,
                "after {step}: viewer {which}, filter {filter}"
            );
        }
    }
}

on_every_backend! {
    async fn the_feeds_count_follows_every_change_for_every_viewer(app: TestApp) {
        let district = app.area_id("440604").await;
        let town = app.area_id("440604001").await;
        let team = app.team("祖庙功夫巡逻队", "440604", "OPEN").await;
        let member = app.volunteer().await;
        app.graphql_as(&member, JOIN_TEAM, json!({ "id": team.id })).await.data();
        let outsider = app.volunteer().await;
        let viewers = [None, Some(&outsider), Some(&member), Some(&team.leader), Some(&team.admin)];
        let areas = (district.as_str(), town.as_str());
        counts_are_true(&app, &viewers, areas, "nothing yet").await;

        // Events inside the kept hours and at their edges, of every visibility, a draft among them.
        let event = |title: &str, starts_in: i64, visibility: &'static str, publish: bool| EventSpec {
            title: title.to_owned(), starts_in, visibility, publish, ..Default::default()
        };
        let soon = app.event(&team.leader, &team.id, event("五分钟后", 5, "PUBLIC", true)).await;
        counts_are_true(&app, &viewers, areas, "an event in five minutes").await;
        let later = app.event(&team.leader, &team.id, event("明天", 24 * 60, "PUBLIC", true)).await;
        app.event(&team.leader, &team.id, event("队内", 26 * 60, "TEAM", true)).await;
        let draft = app.event(&team.leader, &team.id, event("草稿", 30 * 60, "PUBLIC", false)).await;
        counts_are_true(&app, &viewers, areas, "publishing and a draft").await;

        app.graphql_as(&team.leader, "mutation($id: ID!) { publishEvent(eventId: $id) { id } }", json!({ "id": draft })).await.data();
        counts_are_true(&app, &viewers, areas, "publishing the draft").await;
        let in_three_days = (Utc::now() + Duration::days(3)).duration_trunc(Duration::seconds(1)).unwrap();
        let moved = json!({ "startsAt": in_three_days.to_rfc3339(), "endsAt": (in_three_days + Duration::hours(2)).to_rfc3339(), "kind": "TRAINING", "visibility": "TEAM" });
        app.graphql_as(&team.leader, UPDATE_EVENT, json!({ "id": later, "input": moved })).await.data();
        counts_are_true(&app, &viewers, areas, "moving an event, its kind and visibility").await;
        app.graphql_as(&team.leader, CANCEL_EVENT, json!({ "id": soon })).await.data();
        counts_are_true(&app, &viewers, areas, "cancelling").await;

        let today = Utc::now().with_timezone(&chrono_tz::Asia::Shanghai).date_naive();
        let schedule = json!({
            "teamId": team.id, "title": "祖庙功夫夜巡", "weekdays": ["MONDAY", "WEDNESDAY", "FRIDAY"],
            "startTime": "19:30", "durationMinutes": 120,
            "from": today.to_string(), "until": (today + Duration::days(14)).to_string(), "capacity": 12,
            "location": { "address": "佛山市禅城区祖庙路21号", "lat": 23.029, "lng": 113.114, "radiusM": 300 },
        });
        app.graphql_as(&team.leader, SCHEDULE_PATROLS, json!({ "input": schedule })).await.data();
        counts_are_true(&app, &viewers, areas, "scheduling patrols").await;

        // Moved into the past, the upkeep (every 500 ms in tests) completes it.
        let ran = (Utc::now() - Duration::hours(2)).duration_trunc(Duration::seconds(1)).unwrap();
        let past = json!({ "startsAt": ran.to_rfc3339(), "endsAt": (ran + Duration::hours(1)).to_rfc3339() });
        app.graphql_as(&team.leader, UPDATE_EVENT, json!({ "id": draft, "input": past })).await.data();
        let completed = json!({ "status": "COMPLETED" });
        for _ in 0..100 {
            if count_and_truth(&app, None, &completed).await.1 == 1 {
                break;
            }
            tokio::time::sleep(StdDuration::from_millis(100)).await;
        }
        assert_eq!(count_and_truth(&app, None, &completed).await, (1, 1));
        counts_are_true(&app, &viewers, areas, "the upkeep completing an event").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_published_through_one_node_is_counted_on_the_other() {
    let Some(first) = TestApp::spawn(Backend::Postgres, "event_feed_counts_two_nodes").await else {
        return;
    };
    let second = first.spawn_sibling().await;
    let district = first.area_id("440604").await;
    let team = first.team("祖庙功夫巡逻队", "440604", "OPEN").await;
    let filter = json!({ "areaId": district, "startsAfter": Utc::now().to_rfc3339() });
    first
        .event(&team.leader, &team.id, EventSpec::default())
        .await;
    // The second node keeps its count of the district's feed.
    assert_eq!(count_and_truth(&second, None, &filter).await, (1, 1));

    first
        .event(
            &team.leader,
            &team.id,
            EventSpec {
                starts_in: 48 * 60,
                ..Default::default()
            },
        )
        .await;
    assert_eq!(
        count_and_truth(&first, None, &filter).await,
        (2, 2),
        "at once on the node that published"
    );
    let mut seen = (0, 0);
    for _ in 0..100 {
        seen = count_and_truth(&second, None, &filter).await;
        if seen == (2, 2) {
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    }
    assert_eq!(seen, (2, 2), "the other node, once the bus told it");
}
