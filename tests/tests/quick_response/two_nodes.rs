//! Two nodes sharing PostgreSQL and Redis, as production runs them: a volunteer goes on duty and
//! listens on one node, the incident is raised on the other; the position index (Redis GEO) and
//! the bus carry the alert across.

use feihong_tests::{Backend, TestApp};
use serde_json::json;

use crate::support::{RESPOND, go_on_duty, north_of_centre, raise};

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
