//! The city's dispatch system raises incidents through `POST /integrations/incidents`, signed
//! with HMAC-SHA256; and admins read `responseStats`.

use chrono::{Duration, Utc};
use feihong_tests::{Backend, TestApp, on_every_backend};
use hmac::{Hmac, Mac as _};
use secrecy::SecretString;
use serde_json::{Value, json};
use sha2::Sha256;

use crate::support::{CENTRE, RESPOND, on_duty, raise};

const SECRET: &str = "dispatch-secret-0123456789abcdef-0123";

async fn app_with_dispatch(backend: Backend, test: &str) -> Option<TestApp> {
    TestApp::spawn_configured(backend, test, |config| {
        config.dispatch_secret = Some(SecretString::from(SECRET.to_owned()));
    })
    .await
}

fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

fn call(reference: &str, sent_at: chrono::DateTime<Utc>) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "reference": reference,
        "areaCode": "440604",
        "kind": "FRAUD_IN_PROGRESS",
        "description": "银行柜台一名老人正在向“安全账户”转账",
        "location": { "address": "祖庙路 1 号 某银行", "lat": CENTRE.0, "lng": CENTRE.1 },
        "needed": 1,
        "sentAt": sent_at.to_rfc3339(),
    }))
    .expect("json")
}

async fn post(app: &TestApp, body: &[u8], signature: Option<String>) -> (u16, Value) {
    let mut request = app
        .http()
        .post(app.url("/integrations/incidents"))
        .header("content-type", "application/json")
        .body(body.to_vec());
    if let Some(signature) = signature {
        request = request.header("x-feihong-signature", signature);
    }
    let response = request.send().await.expect("sent");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn dispatch_raises_once_per_reference_and_refuses_what_is_not_signed(
    backend: Backend,
    test: &str,
) {
    let Some(app) = app_with_dispatch(backend, test).await else {
        return;
    };
    let volunteer = on_duty(&app, 70.0).await;
    let body = call("110-20261201-0001", Utc::now());
    assert_eq!(post(&app, &body, None).await.0, 401);
    assert_eq!(
        post(
            &app,
            &body,
            Some(sign("another-secret-0123456789abcdef-01", &body))
        )
        .await
        .0,
        401
    );
    let (status, first) = post(&app, &body, Some(sign(SECRET, &body))).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["status"], "OPEN");
    // The same reference again (a retry): the same incident, no second round of alerts.
    let (_, again) = post(&app, &body, Some(sign(SECRET, &body))).await;
    assert_eq!(again["incidentId"], first["incidentId"]);
    let answer = app
        .graphql_as(
            &volunteer,
            RESPOND,
            json!({ "id": first["incidentId"], "accept": true }),
        )
        .await;
    assert_eq!(answer.data()["respondToIncident"]["answer"], "ACCEPTED");
    // A captured call replayed later is refused, even correctly signed.
    let stale = call("110-20261201-0002", Utc::now() - Duration::minutes(10));
    assert_eq!(post(&app, &stale, Some(sign(SECRET, &stale))).await.0, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dispatch_raises_once_per_reference_and_refuses_what_is_not_signed_on_sqlite() {
    dispatch_raises_once_per_reference_and_refuses_what_is_not_signed(
        Backend::Sqlite,
        module_path!(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dispatch_raises_once_per_reference_and_refuses_what_is_not_signed_on_postgres() {
    dispatch_raises_once_per_reference_and_refuses_what_is_not_signed(
        Backend::Postgres,
        module_path!(),
    )
    .await;
}

const STATS: &str = "query($area: ID!, $from: Date!, $to: Date!) { responseStats(areaId: $area, from: $from, to: $to) {
  incidents staffed medianSecondsToFirstAcceptance p90SecondsToFirstAcceptance medianSecondsToFirstArrival
  staffedWithinRing { radiusM share } } }";

on_every_backend! {
    async fn admins_see_how_fast_their_area_answered_and_nobody_else_does(app: TestApp) {
        let team = app.team("祖庙巡逻队", "440604", "OPEN").await;
        let near = on_duty(&app, 90.0).await;
        let answered = raise(&app, &team.leader, 1).await;
        app.graphql_as(&near, RESPOND, json!({ "id": answered, "accept": true })).await.data();
        raise(&app, &team.leader, 1).await; // nobody else on duty: never staffed
        // Local dates (the city's time zone): yesterday to tomorrow in UTC covers today there.
        let day = |days: i64| (Utc::now() + Duration::days(days)).date_naive().to_string();
        let area = app.area_id("440604").await;
        let vars = json!({ "area": area, "from": day(-1), "to": day(1) });
        let stats = app.graphql_as(&team.admin, STATS, vars.clone()).await;
        let stats = &stats.data()["responseStats"];
        assert_eq!(stats["incidents"], 2);
        assert_eq!(stats["staffed"], 1);
        assert!(stats["medianSecondsToFirstAcceptance"].as_i64().is_some_and(|s| s < 60));
        assert!(stats["medianSecondsToFirstArrival"].is_null());
        assert_eq!(stats["staffedWithinRing"][0], json!({ "radiusM": 250, "share": 0.5 }));
        app.graphql_as(&team.leader, STATS, vars).await.expect_error("FORBIDDEN", None);
        let far = json!({ "area": area, "from": "2020-01-01", "to": day(0) });
        app.graphql_as(&team.admin, STATS, far).await.expect_error("BAD_USER_INPUT", Some("to"));
    }
}
