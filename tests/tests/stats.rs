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
    for _ in 0..60 {
        let stats =
            app.graphql_as(admin, STATS, vars.clone()).await.data()["participationStats"].clone();
        if done(&stats) {
            return stats;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("statistics did not settle")
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
