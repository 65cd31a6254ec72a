//! Positions recorded at check-in and check-out are dropped after the configured retention; the
//! verdict (who recorded the attendance) stays.

use feihong_api::app;
use feihong_tests::fixtures::{EVENT_LAT, EVENT_LNG};
use feihong_tests::{Backend, EventSpec, TestApp, on_every_backend};
use serde_json::{Value, json};

const CHECK_IN: &str = "mutation($signUp: ID!, $position: PositionInput) { checkIn(signUpId: $signUp, position: $position) { checkInAt } }";
const ATTENDANCE: &str = "query($id: ID!) { node(id: $id) { ... on SignUp { attendance { checkedInBy checkInAt checkInPosition { lat lng } } } } }";

/// A member checked in by GPS; returns the app's view of the attendance after the retention job
/// ran once (called here directly, as the upkeep calls it) and how many it dropped.
async fn checked_in_then_upkeep(app: &TestApp) -> (Value, u64) {
    let team = app.team("祖庙巡逻队", "440604", "OPEN").await;
    let member = app.member(&team).await;
    let event = app
        .event(
            &team.leader,
            &team.id,
            EventSpec {
                starts_in: 10,
                ..Default::default()
            },
        )
        .await;
    let sign_up = app.sign_up(&member, &event, None).await.data()["signUp"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.graphql_as(
        &member,
        CHECK_IN,
        json!({ "signUp": sign_up, "position": { "lat": EVENT_LAT, "lng": EVENT_LNG } }),
    )
    .await
    .data();
    let services = app::build_services(&app.config).await.expect("services");
    let dropped = services
        .privacy
        .drop_old_positions()
        .await
        .expect("retention job");
    services.db.clone().close().await.ok();
    let seen = app
        .graphql_as(&member, ATTENDANCE, json!({ "id": sign_up }))
        .await;
    (seen.data()["node"]["attendance"].clone(), dropped)
}

on_every_backend! {
    async fn positions_within_the_retention_are_kept(app: TestApp) {
        let (attendance, dropped) = checked_in_then_upkeep(&app).await;
        assert_eq!(dropped, 0);
        assert!(attendance["checkInPosition"]["lat"].is_number(), "{attendance}");
    }
}

async fn positions_past_the_retention_are_dropped_and_the_verdict_stays(backend: Backend) {
    let Some(app) = TestApp::spawn_configured(backend, module_path!(), |config| {
        config.privacy.position_retention = std::time::Duration::ZERO;
    })
    .await
    else {
        return;
    };
    let (attendance, _) = checked_in_then_upkeep(&app).await;
    // Whether this run or the server's own upkeep dropped them, they are gone once it returned.
    assert_eq!(attendance["checkInPosition"], Value::Null, "{attendance}");
    assert_eq!(attendance["checkedInBy"], "SELF_BY_GPS");
    assert!(attendance["checkInAt"].is_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn positions_past_the_retention_are_dropped_on_sqlite() {
    positions_past_the_retention_are_dropped_and_the_verdict_stays(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn positions_past_the_retention_are_dropped_on_postgres() {
    positions_past_the_retention_are_dropped_and_the_verdict_stays(Backend::Postgres).await;
}
