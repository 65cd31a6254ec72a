//! The default event list: events that have not ended yet, soonest first, pages following one
//! another by cursor.

use chrono::{Duration, Utc};
use feihong_tests::{TestApp, on_every_backend};
use serde_json::json;

use crate::support::{EVENTS, NewEvent, create_event, find, node_ids};

on_every_backend! {
    async fn without_a_date_filter_the_list_starts_with_events_not_yet_ended(app: TestApp) {
        let team = app.team("禅城巡逻队", "440604", "OPEN").await;
        let leader = &team.leader;
        let ended = create_event(&app, leader, &team.id, NewEvent { title: "已结束", starts_in: -180, lasts: 60, publish: false, ..Default::default() }).await;
        let later = create_event(&app, leader, &team.id, NewEvent { title: "后天", starts_in: 48 * 60, ..Default::default() }).await;
        let ongoing = create_event(&app, leader, &team.id, NewEvent { title: "进行中", starts_in: -30, lasts: 120, publish: false, ..Default::default() }).await;
        let soon = create_event(&app, leader, &team.id, NewEvent { title: "一小时后", starts_in: 60, ..Default::default() }).await;

        let filter = json!({ "teamId": team.id });
        assert_eq!(find(&app, Some(leader), filter.clone()).await, [ongoing.clone(), soon.clone(), later.clone()]);

        // Page by page, the cursors carry on where the last page ended.
        let mut seen = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let answer = app.graphql_as(leader, EVENTS, json!({ "filter": filter, "first": 1, "after": after })).await;
            let page = &answer.data()["events"];
            assert_eq!(page["totalCount"], 3, "{page}");
            seen.extend(node_ids(page));
            if page["pageInfo"]["hasNextPage"] != true {
                break;
            }
            after = page["pageInfo"]["endCursor"].as_str().map(str::to_owned);
        }
        assert_eq!(seen, [ongoing.clone(), soon.clone(), later.clone()]);

        // A date filter reaches back into the past.
        let week_ago = (Utc::now() - Duration::days(7)).to_rfc3339();
        assert_eq!(
            find(&app, Some(leader), json!({ "teamId": team.id, "startsAfter": week_ago })).await,
            [ended, ongoing, soon, later]
        );
    }
}
