//! `events(filter: {search})`: substrings of title, description and address, Chinese and Latin,
//! any case, combined with the other filters and with what the caller may see.

use chrono::{Duration, Utc};
use feihong_tests::{TestApp, on_every_backend};
use serde_json::json;

use crate::support::{EVENTS, NewEvent, create_event, find};

const UPDATE_EVENT: &str = "mutation($id: ID!, $input: UpdateEventInput!) { updateEvent(eventId: $id, input: $input) { id } }";

on_every_backend! {
    async fn a_search_finds_chinese_and_latin_substrings_in_title_description_and_address(app: TestApp) {
        let team = app.team("禅城宣传队", "440604", "OPEN").await;
        let leader = &team.leader;
        let fraud = create_event(&app, leader, &team.id, NewEvent { title: "电信网络反诈宣传", ..Default::default() }).await;
        let patrol = create_event(&app, leader, &team.id, NewEvent {
            title: "Evening Patrol",
            description: "Night WATCH near the temple, 100%_done",
            address: "Zumiao Road 21",
            starts_in: 48 * 60,
            ..Default::default()
        }).await;
        let traffic = create_event(&app, leader, &team.id, NewEvent {
            title: "交通安全",
            address: "顺德区大良街道",
            starts_in: 72 * 60,
            ..Default::default()
        }).await;

        // Two characters (no trigram), more, one; Chinese in the title and the address.
        assert_eq!(find(&app, None, json!({ "search": "反诈" })).await, vec![fraud.clone()]);
        assert_eq!(find(&app, None, json!({ "search": "网络反诈宣传" })).await, vec![fraud.clone()]);
        assert_eq!(find(&app, None, json!({ "search": "诈" })).await, vec![fraud.clone()]);
        assert_eq!(find(&app, None, json!({ "search": "大良" })).await, vec![traffic.clone()]);
        assert_eq!(find(&app, None, json!({ "search": "顺德区大良" })).await, vec![traffic.clone()]);
        // Latin text in any case, in the description and the address.
        assert_eq!(find(&app, None, json!({ "search": "patrol" })).await, vec![patrol.clone()]);
        assert_eq!(find(&app, None, json!({ "search": "watch" })).await, vec![patrol.clone()]);
        assert_eq!(find(&app, None, json!({ "search": "ZUMIAO ro" })).await, vec![patrol.clone()]);
        assert_eq!(find(&app, None, json!({ "search": "Pa" })).await, vec![patrol.clone()]);
        // LIKE wildcards and FTS5 syntax are plain characters.
        assert_eq!(find(&app, None, json!({ "search": "100%_d" })).await, vec![patrol.clone()]);
        assert_eq!(find(&app, None, json!({ "search": "%" })).await, vec![patrol.clone()]);
        assert!(find(&app, None, json!({ "search": "a%e" })).await.is_empty());
        assert!(find(&app, None, json!({ "search": "x_y" })).await.is_empty());
        assert!(find(&app, None, json!({ "search": "\"patrol\" OR 交通" })).await.is_empty());
        // No match spans two fields.
        assert!(find(&app, None, json!({ "search": "宣传佛山" })).await.is_empty());

        // A changed title is found by its new words, no longer by the old ones.
        app.graphql_as(leader, UPDATE_EVENT, json!({ "id": traffic, "input": { "title": "防溺水宣传" } })).await.data();
        assert_eq!(find(&app, None, json!({ "search": "溺水" })).await, vec![traffic.clone()]);
        assert!(find(&app, None, json!({ "search": "交通" })).await.is_empty());
        assert_eq!(find(&app, None, json!({ "search": "宣传" })).await, [fraud.clone(), traffic.clone()]);
    }

    async fn a_search_combines_with_the_other_filters_and_with_what_the_caller_may_see(app: TestApp) {
        let team = app.team("禅城反诈队", "440604", "OPEN").await;
        let leader = &team.leader;
        let member = app.member(&team).await;
        let outsider = app.volunteer().await;
        let public = create_event(&app, leader, &team.id, NewEvent { title: "反诈宣传进社区", ..Default::default() }).await;
        let team_only = create_event(&app, leader, &team.id, NewEvent {
            title: "反诈宣传内部培训", visibility: "TEAM", starts_in: 36 * 60, ..Default::default()
        }).await;
        let draft = create_event(&app, leader, &team.id, NewEvent {
            title: "反诈宣传草稿", publish: false, starts_in: 40 * 60, ..Default::default()
        }).await;
        let ended = create_event(&app, leader, &team.id, NewEvent {
            title: "反诈宣传回顾", starts_in: -180, lasts: 60, publish: false, ..Default::default()
        }).await;

        assert_eq!(find(&app, Some(&outsider), json!({ "search": "反诈宣传" })).await, vec![public.clone()]);
        assert_eq!(find(&app, Some(&member), json!({ "search": "反诈" })).await, [public.clone(), team_only.clone()]);
        assert_eq!(
            find(&app, Some(leader), json!({ "search": "反诈宣传" })).await,
            [public.clone(), team_only.clone(), draft.clone()]
        );
        // With dates the past is searched too; other filters narrow the search.
        let past = (Utc::now() - Duration::days(1)).to_rfc3339();
        assert_eq!(
            find(&app, Some(leader), json!({ "search": "反诈", "startsAfter": past })).await,
            [ended.clone(), public.clone(), team_only.clone(), draft.clone()]
        );
        let nanhai = app.area_id("440605").await;
        assert!(find(&app, Some(leader), json!({ "search": "反诈", "areaId": nanhai })).await.is_empty());
        assert_eq!(
            find(&app, Some(leader), json!({ "search": "反诈", "status": "DRAFT" })).await,
            vec![draft.clone()]
        );
        let near = json!({ "lat": 23.0290, "lng": 113.1140, "radiusM": 1000 });
        assert_eq!(find(&app, None, json!({ "search": "进社区", "near": near })).await, vec![public.clone()]);

        // The search string is bounded and must be plain text.
        for bad in ["", "   ", &"巡".repeat(51), "a\u{0}b"] {
            app.graphql(EVENTS, json!({ "filter": { "search": bad } }))
                .await
                .expect_error("BAD_USER_INPUT", Some("filter.search"));
        }
    }
}
