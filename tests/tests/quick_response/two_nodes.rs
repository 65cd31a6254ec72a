//! Two nodes sharing PostgreSQL and Redis, as production runs them: a volunteer goes on duty and
//! listens on one node, the incident is raised on the other; the position index (Redis GEO) and
//! the bus carry the alert across. And Redis's expiry of stale positions.

use feihong_tests::{Backend, TestApp};
use serde_json::json;

use crate::support::{RESPOND, go_on_duty, north_of_centre, on_duty, raise, responders};

const ALERTS: &str = "subscription { incidentAlerts { ring distanceM incident { id } } }";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_raised_on_one_node_reaches_a_volunteer_connected_to_the_other() {
    let Some(first) = TestApp::spawn(Backend::Postgres, module_path!()).await else {
        return;
    };
    let second = first.spawn_sibling().await;
    let team = first.team("祖庙巡逻队", "440604", "OPEN").await;
    let volunteer = second.volunteer().await;
    go_on_duty(&second, &volunteer, north_of_centre(150.0)).await;
    let mut alerts = second
        .subscribe(Some(&volunteer), ALERTS, json!({}))
        .await
        .expect("subscribed");
    let id = raise(&first, &team.leader, 1).await;
    let alert = alerts.next().await.expect("the alert crossed nodes");
    assert_eq!(
        alert["data"]["incidentAlerts"]["incident"]["id"],
        id.as_str()
    );
    assert_eq!(alert["data"]["incidentAlerts"]["ring"], 1);
    // Answered on the node it was heard on; counted for the incident raised on the other.
    let answer = second
        .graphql_as(&volunteer, RESPOND, json!({ "id": id, "accept": true }))
        .await;
    assert_eq!(answer.data()["respondToIncident"]["answer"], "ACCEPTED");
    assert_eq!(answer.data()["respondToIncident"]["staffed"], true);
}

/// Redis forgets a position 10 minutes after it came: aged in Redis (the `duty:live` score that
/// says when an entry stops matching, set in the past), the volunteer is no longer matched,
/// while one who reported recently still is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_position_older_than_ten_minutes_is_not_matched_in_redis() {
    let Some(app) = TestApp::spawn(Backend::Postgres, module_path!()).await else {
        return;
    };
    let Some(url) = app.config.redis_url.clone() else {
        return; // PostgreSQL without Redis: the grid, whose expiry is unit-tested
    };
    let team = app.team("祖庙巡逻队", "440604", "OPEN").await;
    let stale = on_duty(&app, 40.0).await;
    let fresh = on_duty(&app, 90.0).await;
    let (_, stale_id) = feihong_api::graphql::ids::decode(&stale.volunteer_id).expect("an id");
    let key = format!("{}duty:live", app.config.redis_prefix);
    let eleven_minutes_ago =
        (chrono::Utc::now() - chrono::Duration::minutes(11)).timestamp_millis();
    let mut redis = redis::Client::open(url.as_str())
        .unwrap()
        .get_connection()
        .unwrap();
    let _: i64 = redis::cmd("ZADD")
        .arg(&key)
        .arg(eleven_minutes_ago)
        .arg(stale_id)
        .query(&mut redis)
        .unwrap();
    let id = raise(&app, &team.leader, 1).await;
    let alerted = responders(&app, &team.leader, &id).await;
    let ids: Vec<&str> = alerted.iter().map(|(v, _, _)| v.as_str()).collect();
    assert_eq!(ids, vec![fresh.volunteer_id.as_str()]);
    let geo = format!("{}duty:geo", app.config.redis_prefix);
    let position: Vec<Option<(f64, f64)>> = redis::cmd("GEOPOS")
        .arg(&geo)
        .arg(stale_id)
        .query(&mut redis)
        .unwrap();
    assert_eq!(
        position,
        vec![None],
        "the stale position is gone from Redis"
    );
}
