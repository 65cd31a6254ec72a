//! `auditLog` narrowed by action, actor and time, besides team and area; bounded and checked,
//! and only for those who could read the log already.

use chrono::{Duration, Utc};
use feihong_tests::{TestApp, on_every_backend};
use serde_json::json;

use crate::support::{NewEvent, create_event};

const AUDIT: &str = "query($filter: AuditFilter!, $first: Int, $after: String) {
  auditLog(filter: $filter, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } nodes { action actor { id } entityType }
  }
}";
const CANCEL_EVENT: &str =
    "mutation($id: ID!) { cancelEvent(eventId: $id, reason: \"台风 Typhoon\") { id } }";
const SET_ROLE: &str = "mutation($team: ID!, $volunteer: ID!, $role: MemberRole!) {
  setMemberRole(teamId: $team, volunteerId: $volunteer, role: $role) { role }
}";

on_every_backend! {
    async fn the_audit_log_narrows_by_action_actor_and_time(app: TestApp) {
        let team = app.team("祖庙巡逻队", "440604", "OPEN").await;
        let deputy = app.member(&team).await;
        app.graphql_as(&team.leader, SET_ROLE, json!({ "team": team.id, "volunteer": deputy.volunteer_id, "role": "DEPUTY" })).await.data();
        let first = create_event(&app, &team.leader, &team.id, NewEvent::default()).await;
        let second = create_event(&app, &deputy, &team.id, NewEvent::default()).await;
        app.graphql_as(&deputy, CANCEL_EVENT, json!({ "id": first })).await.data();
        app.graphql_as(&team.leader, CANCEL_EVENT, json!({ "id": second })).await.data();
        let area = app.area_id("440604").await;
        let admin = app.area_admin("440604").await;
        let page = |filter: serde_json::Value| json!({ "filter": filter, "first": 100 });

        let cancels = app.graphql_as(&team.leader, AUDIT, page(json!({ "teamId": team.id, "action": "event.cancel" }))).await;
        let cancels = &cancels.data()["auditLog"];
        assert_eq!(cancels["totalCount"], 2, "{cancels}");
        assert!(cancels["nodes"].as_array().unwrap().iter().all(|n| n["action"] == "event.cancel"));

        let by_deputy = app.graphql_as(&admin, AUDIT, page(json!({ "areaId": area, "actorId": deputy.volunteer_id }))).await;
        let by_deputy = &by_deputy.data()["auditLog"];
        let actions: Vec<&str> = by_deputy["nodes"].as_array().unwrap().iter().map(|n| n["action"].as_str().unwrap()).collect();
        assert_eq!(actions, ["event.cancel", "event.publish", "event.create"], "{by_deputy}");
        let both = app.graphql_as(&admin, AUDIT, page(json!({ "areaId": area, "actorId": deputy.volunteer_id, "action": "event.cancel" }))).await;
        assert_eq!(both.data()["auditLog"]["totalCount"], 1);

        // Time: everything of the last hour, nothing of yesterday.
        let now = Utc::now();
        let hour = json!({ "teamId": team.id, "action": "event.cancel", "from": (now - Duration::hours(1)).to_rfc3339(), "to": (now + Duration::minutes(1)).to_rfc3339() });
        assert_eq!(app.graphql_as(&team.leader, AUDIT, page(hour)).await.data()["auditLog"]["totalCount"], 2);
        let yesterday = json!({ "teamId": team.id, "from": (now - Duration::days(2)).to_rfc3339(), "to": (now - Duration::days(1)).to_rfc3339() });
        assert_eq!(app.graphql_as(&team.leader, AUDIT, page(yesterday)).await.data()["auditLog"]["totalCount"], 0);

        // Paged: one at a time, newest first, through the cursor.
        let mut seen = 0;
        let mut after: Option<String> = None;
        loop {
            let answer = app.graphql_as(&team.leader, AUDIT, json!({ "filter": { "teamId": team.id, "action": "event.cancel" }, "first": 1, "after": after })).await;
            let log = &answer.data()["auditLog"];
            seen += log["nodes"].as_array().unwrap().len();
            if log["pageInfo"]["hasNextPage"] != true { break; }
            after = log["pageInfo"]["endCursor"].as_str().map(str::to_owned);
        }
        assert_eq!(seen, 2);
    }

    async fn the_audit_log_filters_are_bounded_and_do_not_widen_who_reads_it(app: TestApp) {
        let team = app.team("祖庙巡逻队", "440604", "OPEN").await;
        let member = app.member(&team).await;
        let nanhai = app.area_admin("440605").await;
        let area = app.area_id("440604").await;
        let now = Utc::now();
        let year_and_more = json!({ "teamId": team.id, "from": (now - Duration::days(367)).to_rfc3339(), "to": now.to_rfc3339() });
        app.graphql_as(&team.leader, AUDIT, json!({ "filter": year_and_more })).await.expect_error("BAD_USER_INPUT", Some("filter.to"));
        let backwards = json!({ "teamId": team.id, "from": now.to_rfc3339(), "to": (now - Duration::hours(1)).to_rfc3339() });
        app.graphql_as(&team.leader, AUDIT, json!({ "filter": backwards })).await.expect_error("BAD_USER_INPUT", Some("filter.to"));
        app.graphql_as(&team.leader, AUDIT, json!({ "filter": { "teamId": team.id, "action": "x%' OR 1=1" } })).await.expect_error("BAD_USER_INPUT", Some("filter.action"));
        app.graphql_as(&team.leader, AUDIT, json!({ "filter": { "teamId": team.id, "actorId": team.id } })).await.expect_error("BAD_USER_INPUT", Some("filter.actorId"));
        // Narrowing does not open the log to anyone new.
        let own = json!({ "filter": { "teamId": team.id, "actorId": member.volunteer_id } });
        app.graphql_as(&member, AUDIT, own).await.expect_error("FORBIDDEN", None);
        let other_area = json!({ "filter": { "areaId": area, "action": "team.create" } });
        app.graphql_as(&nanhai, AUDIT, other_area.clone()).await.expect_error("FORBIDDEN", None);
        app.graphql(AUDIT, other_area).await.expect_error("UNAUTHENTICATED", None);
        app.graphql_as(&team.leader, AUDIT, json!({ "filter": { "action": "team.create" } })).await.expect_error("BAD_USER_INPUT", Some("filter"));
    }
}
