//! Documents whose cost is in their list sizes, and the standard introspection query.

use feihong_tests::hostile::STANDARD_INTROSPECTION;
use feihong_tests::{EventSpec, TestApp, on_every_backend};
use serde_json::json;

/// Three aliases of events × roster × event × roster, 100 each: 3 × 10^6 roster lines.
const LIST_SIZE_ATTACK: &str = "{ a: events(first: 100) { nodes { roster(first: 100) { nodes { event { roster(first: 100) { nodes { waitlistPosition volunteer { displayName } } } } } } } } \
  b: events(first: 100) { nodes { roster(first: 100) { nodes { event { roster(first: 100) { nodes { waitlistPosition volunteer { displayName } } } } } } } } \
  c: events(first: 100) { nodes { roster(first: 100) { nodes { event { roster(first: 100) { nodes { waitlistPosition volunteer { displayName } } } } } } } } }";

on_every_backend! {
    async fn list_sizes_count_towards_complexity_and_a_roster_of_rosters_is_refused(app: TestApp) {
        let team = app.team("佛山功夫巡逻队", "440604", "OPEN").await;
        let event = app.event(&team.leader, &team.id, EventSpec { capacity: 1, ..EventSpec::default() }).await;
        for _ in 0..3 {
            let member = app.member(&team).await;
            app.sign_up(&member, &event, None).await.data();
        }
        let started = std::time::Instant::now();
        let refused = app.graphql_as(&team.admin, LIST_SIZE_ATTACK, json!({})).await;
        refused.expect_error("BAD_USER_INPUT", None);
        assert!(refused.error_message().contains("too complex"), "{}", refused.body);
        assert!(started.elapsed() < std::time::Duration::from_secs(1));

        // Without `first` a list counts as the default page of 20: a small roster still runs, and
        // says what it cost.
        let query = "query($id: ID!) { event(id: $id) { roster { nodes { status waitlistPosition volunteer { displayName } } } } }";
        let roster = app.graphql_as(&team.leader, query, json!({ "id": event })).await;
        let lines = roster.data()["event"]["roster"]["nodes"].as_array().unwrap().clone();
        let positions: Vec<_> = lines.iter().map(|line| line["waitlistPosition"].clone()).collect();
        assert_eq!(positions, [json!(null), json!(1), json!(2)]);
        let cost = roster.body["extensions"]["cost"].as_u64().expect("extensions.cost");
        // event (1) + roster: 1 + 20 × (nodes: 1 + status, waitlistPosition, volunteer {displayName}).
        assert_eq!(cost, 1 + 1 + 20 * (1 + 1 + 1 + 2));
        // The same page asked for as 100 lines costs five times as much.
        let big = "query($id: ID!) { event(id: $id) { roster(first: 100) { nodes { status waitlistPosition volunteer { displayName } } } } }";
        let answer = app.graphql_as(&team.leader, big, json!({ "id": event })).await;
        assert_eq!(answer.body["extensions"]["cost"].as_u64(), Some(1 + 1 + 100 * 5));
    }

    async fn the_standard_introspection_query_is_answered_while_deep_application_queries_are_not(app: TestApp) {
        let answer = app.graphql(STANDARD_INTROSPECTION, json!({})).await;
        let types = answer.data()["__schema"]["types"].as_array().expect("types").clone();
        assert!(types.iter().any(|t| t["name"] == "Volunteer"));
        assert_eq!(answer.data()["__schema"]["queryType"]["name"], "Query");

        // Thirteen fields deep is refused; twelve is allowed.
        let deep = format!("{{ areas {{ {}code {}}}", "parent { ".repeat(11), "} ".repeat(12));
        let refused = app.graphql(&deep, json!({})).await;
        refused.expect_error("BAD_USER_INPUT", None);
        assert!(refused.error_message().contains("deep"), "{}", refused.body);
        let allowed = format!("{{ areas {{ {}code {}}}", "parent { ".repeat(10), "} ".repeat(11));
        app.graphql(&allowed, json!({})).await.data();
    }
}

on_every_backend! {
    async fn a_statistics_grouping_that_could_have_tens_of_thousands_of_rows_is_refused_up_front(app: TestApp) {
        let admin = app.area_admin("440600").await;
        let city = app.area_id("440600").await;
        let query = "query($area: ID!, $from: Date!, $to: Date!, $by: [StatsDimension!]!) { participationStats(areaId: $area, from: $from, to: $to, groupBy: $by) { rows { key } } }";
        let today = chrono::Utc::now().date_naive();
        let from = (today - chrono::Duration::days(1_000)).format("%Y-%m-%d").to_string();
        let to = today.format("%Y-%m-%d").to_string();
        // Every day of almost three years by 32 towns: up to 33,000 rows.
        let refused = app.graphql_as(&admin, query, json!({ "area": city, "from": from, "to": to, "by": ["DAY", "TOWN"] })).await;
        refused.expect_error("BAD_USER_INPUT", Some("groupBy"));
        let export = app
            .http()
            .get(app.url(&format!("/admin/exports/participation.csv?areaId={city}&from={from}&to={to}&groupBy=DAY,TOWN")))
            .bearer_auth(&admin.access_token)
            .send()
            .await
            .unwrap();
        assert_eq!(export.status().as_u16(), 400);
        // By month and town it is answered.
        app.graphql_as(&admin, query, json!({ "area": city, "from": from, "to": to, "by": ["MONTH", "TOWN"] })).await.data();
    }
}
