//! The read cases: one request shape each, measured one after the other.

use chrono::{Months, NaiveDate, Utc};
use serde_json::{Value, json};

use crate::measure::Case;
use crate::setup::Prepared;

fn gql(query: &str, variables: Value) -> Value {
    json!({ "query": query, "variables": variables })
}

const VOLUNTEER_BOARD: &str = "query($scope: LeaderboardScope!) { leaderboard(scope: $scope, \
    period: ALL_TIME, first: 20) { total entries { rank minutes volunteer { displayName } } \
    viewer { rank minutes } } }";
const TEAM_BOARD: &str =
    "{ teamLeaderboard(period: ALL_TIME, first: 20) { rank minutes team { name } } }";
const EVENTS: &str = "query($filter: EventFilter) { events(filter: $filter, first: 20) { totalCount \
    nodes { id title startsAt seatsLeft location { lat lng } } } }";
const STATS: &str = "query($area: ID!, $from: Date!, $to: Date!, $groupBy: [StatsDimension!]!) { \
    participationStats(areaId: $area, from: $from, to: $to, groupBy: $groupBy) { \
    totals { activeVolunteers newVolunteers eventsHeld signUps attended noShows approvedMinutes } \
    rows { key activeVolunteers newVolunteers eventsHeld approvedMinutes } } }";

/// Builds cases against one server as one viewer.
struct Maker {
    url: String,
    viewer: Option<i64>,
}

impl Maker {
    fn case(&self, name: &str, body: Value, requests: usize) -> Case {
        Case {
            name: name.to_owned(),
            url: self.url.clone(),
            viewer: self.viewer,
            body,
            requests,
        }
    }
}

/// The floor, `me` and the boards from Redis.
fn floor_me_and_boards(bench: &Prepared, requests: usize) -> Vec<Case> {
    let anonymous = Maker {
        url: bench.app.url("/graphql"),
        viewer: None,
    };
    let viewer = Maker {
        url: bench.app.url("/graphql"),
        viewer: Some(bench.viewer_id),
    };
    let district = &bench.district;
    vec![
        anonymous.case(
            "baseline `{ __typename }`",
            gql("{ __typename }", json!({})),
            requests * 4,
        ),
        viewer.case(
            "me { serviceMinutes starLevel }",
            gql("{ me { serviceMinutes starLevel } }", json!({})),
            requests,
        ),
        viewer.case(
            "leaderboard city, viewer far down",
            gql(VOLUNTEER_BOARD, json!({ "scope": { "city": true } })),
            requests,
        ),
        viewer.case(
            "leaderboard district",
            gql(VOLUNTEER_BOARD, json!({ "scope": { "areaId": district } })),
            requests,
        ),
        viewer.case("teamLeaderboard city", gql(TEAM_BOARD, json!({})), requests),
    ]
}

/// The event feed and one's own sign-ups.
fn feed(bench: &Prepared, requests: usize) -> Vec<Case> {
    let viewer = Maker {
        url: bench.app.url("/graphql"),
        viewer: Some(bench.viewer_id),
    };
    let now = Utc::now().to_rfc3339();
    let (lat, lng) = (22.805, 113.293); // Shunde's point.
    let district = &bench.district;
    let filters = [
        (
            "events near (5 km), upcoming",
            json!({ "near": { "lat": lat, "lng": lng, "radiusM": 5000 }, "startsAfter": now }),
        ),
        (
            "events in district, upcoming",
            json!({ "areaId": district, "startsAfter": now }),
        ),
        (
            "events search 4 chars (trigram), upcoming",
            json!({ "search": "反诈宣传" }),
        ),
        (
            "events search 2 chars (grams), upcoming",
            json!({ "search": "溺水" }),
        ),
        (
            "events search Latin + district, upcoming",
            json!({ "search": "PATROL", "areaId": district }),
        ),
    ];
    let mut cases: Vec<Case> = filters
        .into_iter()
        .map(|(name, filter)| viewer.case(name, gql(EVENTS, json!({ "filter": filter })), requests))
        .collect();
    cases.push(viewer.case(
        "events default list (not ended)",
        gql(EVENTS, json!({})),
        requests,
    ));
    cases.push(viewer.case(
        "mySignUps",
        gql(
            "{ mySignUps(first: 20) { totalCount nodes { status event { title startsAt } } } }",
            json!({}),
        ),
        requests,
    ));
    cases
}

/// Statistics as the city's admin, and the boards answered from the database.
fn heavy(bench: &Prepared, heavy: usize) -> Vec<Case> {
    let timezone = bench.app.config.timezone;
    let today = Utc::now().with_timezone(&timezone).date_naive();
    let year_ago = today - Months::new(12) + chrono::Duration::days(1);
    let three_years_ago = today - Months::new(36) + chrono::Duration::days(1);
    let vars = |area: &str, from: NaiveDate, group_by: Value| json!({ "area": area, "from": from.to_string(), "to": today.to_string(), "groupBy": group_by });
    let admin = Maker {
        url: bench.app.url("/graphql"),
        viewer: Some(bench.admin_id),
    };
    let (district, city) = (&bench.district, &bench.city);
    let mut cases = vec![
        admin.case(
            "stats district 12 mo by MONTH",
            gql(STATS, vars(district, year_ago, json!(["MONTH"]))),
            heavy,
        ),
        admin.case(
            "stats district 12 mo by DISTRICT,TEAM_KIND",
            gql(
                STATS,
                vars(district, year_ago, json!(["DISTRICT", "TEAM_KIND"])),
            ),
            heavy,
        ),
        admin.case(
            "stats city 3 years, no grouping",
            gql(STATS, vars(city, three_years_ago, json!([]))),
            heavy,
        ),
    ];
    if let Some(without_store) = &bench.without_store {
        let database = Maker {
            url: without_store.url("/graphql"),
            viewer: Some(bench.viewer_id),
        };
        cases.extend([
            database.case(
                "leaderboard city (database)",
                gql(VOLUNTEER_BOARD, json!({ "scope": { "city": true } })),
                heavy,
            ),
            database.case(
                "leaderboard district (database)",
                gql(VOLUNTEER_BOARD, json!({ "scope": { "areaId": district } })),
                heavy,
            ),
            database.case(
                "teamLeaderboard city (database)",
                gql(TEAM_BOARD, json!({})),
                heavy,
            ),
        ]);
    }
    cases
}

/// Every read case, the baseline first (the table's ratios are to it).
pub fn read_cases(bench: &Prepared, requests: usize) -> Vec<Case> {
    let mut cases = floor_me_and_boards(bench, requests);
    cases.extend(feed(bench, requests));
    cases.extend(heavy(bench, (requests / 4).max(20)));
    cases
}
