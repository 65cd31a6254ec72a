//! What the quick-response tests share: going on duty at a point, raising an incident there,
//! and points at known distances from it.

use chrono::{Duration, Utc};
use feihong_tests::{Backend, Session, TestApp};
use serde_json::{Value, json};

/// Where the incidents happen (a street in Chancheng).
pub const CENTRE: (f64, f64) = (23.0200, 113.1200);
/// Metres per 0.001° of latitude.
const METRES_PER_MILLI_DEGREE: f64 = 111.2;

pub const GO_ON_DUTY: &str = "mutation($until: DateTime!, $p: PositionInput!) {
  goOnDuty(until: $until, position: $p) { onDuty until declared alertsMuted }
}";
pub const RAISE: &str = "mutation($input: RaiseIncidentInput!) {
  raiseIncident(input: $input) { id status ring needed accepted }
}";
pub const RESPOND: &str = "mutation($id: ID!, $accept: Boolean!) {
  respondToIncident(incidentId: $id, accept: $accept) { answer staffed incident { accepted } }
}";
pub const RESPONDERS: &str = "query($id: ID!) { incident(id: $id) { id ring accepted status
  responders { volunteer { id } ring distanceM answer arrivedAt lastPosition { lat lng } } } }";

/// A point `metres` north of the centre.
pub fn north_of_centre(metres: f64) -> (f64, f64) {
    (
        CENTRE.0 + metres / METRES_PER_MILLI_DEGREE / 1000.0,
        CENTRE.1,
    )
}

/// A node whose rings are given `ring_wait_ms` before the next opens.
pub async fn app_with_ring_wait(
    backend: Backend,
    test: &str,
    ring_wait_ms: u64,
) -> Option<TestApp> {
    TestApp::spawn_configured(backend, test, move |config| {
        config.response.ring_wait = std::time::Duration::from_millis(ring_wait_ms);
    })
    .await
}

/// A new volunteer on duty for two hours, `metres` north of the centre.
pub async fn on_duty(app: &TestApp, metres: f64) -> Session {
    let volunteer = app.volunteer().await;
    go_on_duty(app, &volunteer, north_of_centre(metres)).await;
    volunteer
}

pub async fn go_on_duty(app: &TestApp, volunteer: &Session, (lat, lng): (f64, f64)) {
    let until = (Utc::now() + Duration::hours(2)).to_rfc3339();
    let answer = app
        .graphql_as(
            volunteer,
            GO_ON_DUTY,
            json!({ "until": until, "p": { "lat": lat, "lng": lng } }),
        )
        .await;
    assert_eq!(answer.data()["goOnDuty"]["onDuty"], true);
}

pub fn incident_input(needed: i64) -> Value {
    json!({
        "kind": "MISSING_PERSON",
        "description": "一名穿红色外套的七岁男孩在公园走失",
        "location": { "address": "禅城区岭南天地", "lat": CENTRE.0, "lng": CENTRE.1 },
        "needed": needed,
    })
}

/// Raises an incident at the centre as `raiser`; its id.
pub async fn raise(app: &TestApp, raiser: &Session, needed: i64) -> String {
    let answer = app
        .graphql_as(raiser, RAISE, json!({ "input": incident_input(needed) }))
        .await;
    answer.data()["raiseIncident"]["id"]
        .as_str()
        .expect("incident id")
        .to_owned()
}

/// The incident's responders as its dispatcher sees them: (volunteer id, ring, answer).
pub async fn responders(
    app: &TestApp,
    dispatcher: &Session,
    id: &str,
) -> Vec<(String, i64, Value)> {
    let answer = app
        .graphql_as(dispatcher, RESPONDERS, json!({ "id": id }))
        .await;
    answer.data()["incident"]["responders"]
        .as_array()
        .expect("responders for the dispatcher")
        .iter()
        .map(|r| {
            (
                r["volunteer"]["id"].as_str().unwrap_or_default().to_owned(),
                r["ring"].as_i64().unwrap_or_default(),
                r["answer"].clone(),
            )
        })
        .collect()
}

/// Waits (up to 15 s) until `check` holds for the incident's responders; returns them.
pub async fn wait_for_responders(
    app: &TestApp,
    dispatcher: &Session,
    id: &str,
    check: impl Fn(&[(String, i64, Value)]) -> bool,
) -> Vec<(String, i64, Value)> {
    for _ in 0..150 {
        let found = responders(app, dispatcher, id).await;
        if check(&found) {
            return found;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!(
        "responders never matched: {:?}",
        responders(app, dispatcher, id).await
    );
}
