//! Participation statistics and the CSV export, through the API.

use std::time::Duration;

use chrono::Utc;
use feihong_tests::{EventSpec, TestApp, on_every_backend};
use serde_json::{Value, json};

const STATS: &str = "query($area: ID!, $from: Date!, $to: Date!, $by: [StatsDimension!]!) {
  participationStats(areaId: $area, from: $from, to: $to, groupBy: $by) {
    totals { key activeVolunteers newVolunteers eventsHeld signUps attended noShows approvedMinutes }
    rows { key activeVolunteers newVolunteers eventsHeld signUps attended noShows approvedMinutes }
  }
}";

fn today() -> chrono::NaiveDate {
    Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive()
}

/// Polls until the statistics satisfy `settled` (rollups follow writes within seconds).
async fn settled(
    app: &TestApp,
    admin: &feihong_tests::Session,
    vars: Value,
    done: impl Fn(&Value) -> bool,
) -> Value {
    for _ in 0..100 {
        let stats =
            app.graphql_as(admin, STATS, vars.clone()).await.data()["participationStats"].clone();
        if done(&stats) {
            return stats;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("statistics did not settle")
}

const UPDATE_EVENT: &str = "mutation($id: ID!, $input: UpdateEventInput!) { updateEvent(eventId: $id, input: $input) { id } }";

/// The leader moves the event to start `starts_in` minutes from now (negative: in the past).
async fn move_event(
    app: &TestApp,
    leader: &feihong_tests::Session,
    event: &str,
    starts_in: i64,
    lasts: i64,
) {
    let starts = Utc::now() + chrono::Duration::minutes(starts_in);
    let ends = starts + chrono::Duration::minutes(lasts);
    app.graphql_as(leader, UPDATE_EVENT, json!({ "id": event, "input": { "startsAt": starts.to_rfc3339(), "endsAt": ends.to_rfc3339() } }))
        .await
        .data();
}

on_every_backend! {
    async fn an_admin_sees_participation_by_district_and_month(app: TestApp) {
        let team = app.team("顺德巡逻队", "440606", "OPEN").await;
        let (a, b) = (app.member(&team).await, app.member(&team).await);
        let day = today().format("%Y-%m-%d").to_string();
        app.approved_minutes(&team, &a, 120, &day).await;
        app.approved_minutes(&team, &b, 60, &day).await;
        let event = app.event(&team.leader, &team.id, EventSpec { starts_in: 60, ..Default::default() }).await;
        app.sign_up(&a, &event, None).await.data();
        // Held: it started half an hour ago (moved there by its leader after the sign-up).
        move_event(&app, &team.leader, &event, -30, 60).await;
        let city = app.area_admin("440600").await;
        let from = (today() - chrono::Duration::days(3)).format("%Y-%m-%d").to_string();
        let to = (today() + chrono::Duration::days(3)).format("%Y-%m-%d").to_string();
        let vars = json!({ "area": app.area_id("440600").await, "from": from, "to": to, "by": ["DISTRICT", "MONTH"] });
        let stats = settled(&app, &city, vars, |s| s["totals"]["approvedMinutes"] == 180 && s["totals"]["signUps"] == 1).await;
        assert_eq!(stats["totals"]["activeVolunteers"], 2);
        assert_eq!(stats["totals"]["eventsHeld"], 1);
        let shunde: Vec<&Value> = stats["rows"].as_array().unwrap().iter().filter(|r| r["key"][0] == "顺德区").collect();
        assert!(!shunde.is_empty(), "{stats}");
        let minutes: i64 = shunde.iter().map(|r| r["approvedMinutes"].as_i64().unwrap()).sum();
        assert_eq!(minutes, 180);
        assert!(shunde[0]["key"][1].as_str().unwrap().starts_with(&today().format("%Y-").to_string()));

        // A district admin cannot look at another district or the city.
        let nanhai = app.area_admin("440605").await;
        let vars = json!({ "area": app.area_id("440606").await, "from": from, "to": to, "by": [] });
        app.graphql_as(&nanhai, STATS, vars).await.expect_error("FORBIDDEN", None);
        let vars = json!({ "area": app.area_id("440600").await, "from": from, "to": to, "by": [] });
        app.graphql_as(&nanhai, STATS, vars.clone()).await.expect_error("FORBIDDEN", None);
        app.graphql_as(&a, STATS, vars).await.expect_error("FORBIDDEN", None);
        let three = json!({ "area": app.area_id("440600").await, "from": "2020-01-01", "to": "2026-01-01", "by": [] });
        app.graphql_as(&city, STATS, three).await.expect_error("BAD_USER_INPUT", Some("to"));
        let many = json!({ "area": app.area_id("440600").await, "from": from, "to": to, "by": ["DAY", "WEEK", "MONTH"] });
        app.graphql_as(&city, STATS, many).await.expect_error("BAD_USER_INPUT", Some("groupBy"));

        // The same rows as CSV, with a byte-order mark and Chinese labels.
        let url = app.url(&format!("/admin/exports/participation.csv?areaId={}&from={from}&to={to}&groupBy=DISTRICT", app.area_id("440600").await));
        let response = app.http().get(&url).bearer_auth(&city.access_token).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 200);
        assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
        let bytes = response.bytes().await.unwrap();
        assert!(bytes.starts_with("\u{feff}".as_bytes()), "UTF-8 with BOM");
        let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("区 District,活跃志愿者"), "{text}");
        assert!(lines.iter().any(|l| l.starts_with("顺德区,2,") && l.ends_with(",180")), "{text}");
        let refused = app.http().get(&url).bearer_auth(&nanhai.access_token).send().await.unwrap();
        assert_eq!(refused.status().as_u16(), 403);
        // A refusal is JSON naming the code and the request, as every plain HTTP route answers.
        let request_id = refused.headers()["x-request-id"].to_str().unwrap().to_owned();
        let body: Value = refused.json().await.unwrap();
        assert_eq!((&body["code"], &body["requestId"]), (&json!("FORBIDDEN"), &json!(request_id)), "{body}");
        let anonymous = app.http().get(&url).send().await.unwrap();
        assert_eq!(anonymous.status().as_u16(), 401);
        assert_eq!(anonymous.json::<Value>().await.unwrap()["code"], "UNAUTHENTICATED");
        let bad_group = app.http().get(format!("{url},YEAR")).bearer_auth(&city.access_token).send().await.unwrap();
        assert_eq!(bad_group.status().as_u16(), 400);
        assert_eq!(bad_group.json::<Value>().await.unwrap()["code"], "BAD_USER_INPUT");
    }

    async fn a_range_reaching_past_today_counts_only_events_already_held(app: TestApp) {
        let team = app.team("顺德未来队", "440606", "OPEN").await;
        let (a, b) = (app.member(&team).await, app.member(&team).await);
        let spec = |starts_in: i64| EventSpec { starts_in, ..Default::default() };
        // Started an hour ago: held, with its two sign-ups.
        let held = app.event(&team.leader, &team.id, spec(60)).await;
        app.sign_up(&a, &held, None).await.data();
        app.sign_up(&b, &held, None).await.data();
        move_event(&app, &team.leader, &held, -60, 120).await;
        // Ahead (in two and in three days): not held yet, nor are their sign-ups counted.
        let ahead = app.event(&team.leader, &team.id, spec(2 * 24 * 60)).await;
        app.sign_up(&a, &ahead, None).await.data();
        app.sign_up(&b, &ahead, None).await.data();
        let later = app.event(&team.leader, &team.id, spec(3 * 24 * 60)).await;
        app.sign_up(&a, &later, None).await.data();
        // Started, then cancelled: not held.
        let cancelled = app.event(&team.leader, &team.id, spec(120)).await;
        app.sign_up(&b, &cancelled, None).await.data();
        move_event(&app, &team.leader, &cancelled, -300, 60).await;
        app.graphql_as(&team.leader, "mutation($id: ID!) { cancelEvent(eventId: $id, reason: \"下雨\") { id } }", json!({ "id": cancelled })).await.data();

        let admin = app.area_admin("440606").await;
        let area = app.area_id("440606").await;
        let from = (today() - chrono::Duration::days(3)).format("%Y-%m-%d").to_string();
        let to = (today() + chrono::Duration::days(7)).format("%Y-%m-%d").to_string();
        let by_day = json!({ "area": area, "from": from, "to": to, "by": ["DAY"] });
        // Wait for the held event's rollup; the others must not have added anything by then.
        let stats = settled(&app, &admin, by_day, |s| s["totals"]["eventsHeld"] == 1 && s["totals"]["signUps"] == 2).await;
        let rows = stats["rows"].as_array().unwrap();
        let future: Vec<&Value> = rows.iter().filter(|r| r["key"][0].as_str().unwrap() > today().format("%Y-%m-%d").to_string().as_str()).collect();
        assert!(future.iter().all(|r| r["eventsHeld"] == 0 && r["signUps"] == 0), "{stats}");
        // Every grouping agrees once its rows (place rows follow the daily ones) are rebuilt.
        for by in [json!([]), json!(["DISTRICT"]), json!(["MONTH"]), json!(["WEEK"])] {
            let vars = json!({ "area": area, "from": from, "to": to, "by": by });
            settled(&app, &admin, vars, |s| s["totals"]["eventsHeld"] == 1 && s["totals"]["signUps"] == 2).await;
        }
        // An event of today that starts a few seconds from now is counted once it has started.
        let soon = app.event(&team.leader, &team.id, spec(60)).await;
        app.sign_up(&b, &soon, None).await.data();
        let starts = Utc::now() + chrono::Duration::seconds(3);
        let input = json!({ "startsAt": starts.to_rfc3339(), "endsAt": (starts + chrono::Duration::minutes(30)).to_rfc3339() });
        app.graphql_as(&team.leader, UPDATE_EVENT, json!({ "id": soon, "input": input })).await.data();
        for by in [json!([]), json!(["DISTRICT"])] {
            let vars = json!({ "area": area, "from": from, "to": to, "by": by });
            settled(&app, &admin, vars, |s| s["totals"]["eventsHeld"] == 2 && s["totals"]["signUps"] == 3).await;
        }
        // The CSV says the same.
        let url = app.url(&format!("/admin/exports/participation.csv?areaId={area}&from={from}&to={to}&groupBy=DISTRICT"));
        let text = app.http().get(&url).bearer_auth(&admin.access_token).send().await.unwrap().text().await.unwrap();
        let header: Vec<&str> = text.trim_start_matches('\u{feff}').lines().next().unwrap().split(',').collect();
        let column = |label: &str| header.iter().position(|h| h.contains(label)).unwrap();
        let line: Vec<&str> = text.lines().find(|l| l.starts_with("顺德区,")).expect("a row for Shunde").split(',').collect();
        assert_eq!((line[column("Events held")], line[column("Sign-ups")]), ("2", "3"), "{text}");
    }
}

on_every_backend! {
    async fn an_export_without_group_by_has_one_totals_row_labelled_total(app: TestApp) {
        let team = app.team("禅城巡逻队", "440604", "OPEN").await;
        let member = app.member(&team).await;
        let day = today().format("%Y-%m-%d").to_string();
        app.approved_minutes(&team, &member, 90, &day).await;
        let city = app.area_admin("440600").await;
        let area = app.area_id("440600").await;
        let vars = json!({ "area": area, "from": day, "to": day, "by": [] });
        settled(&app, &city, vars, |s| s["totals"]["approvedMinutes"] == 90).await;

        let url = app.url(&format!("/admin/exports/participation.csv?areaId={area}&from={day}&to={day}"));
        let response = app.http().get(&url).bearer_auth(&city.access_token).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 200);
        let bytes = response.bytes().await.unwrap();
        let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "a header and one totals row: {text}");
        assert!(lines[0].starts_with("范围 Scope,活跃志愿者"), "{text}");
        assert!(lines[1].starts_with("合计 Total,1,") && lines[1].ends_with(",90"), "{text}");
    }
}
