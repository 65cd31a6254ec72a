//! Raising and answering incidents: who may raise, the rings, the exact-`needed` race, what each
//! caller sees, and closing with credited hours.

use feihong_tests::{Backend, TestApp, on_every_backend};
use serde_json::json;

use crate::support::{
    RAISE, RESPOND, RESPONDERS, app_with_ring_wait, incident_input, on_duty, raise, responders,
    wait_for_responders,
};

const ALERTS: &str = "subscription { incidentAlerts { ring distanceM incident { id kind description location { address } } } }";

on_every_backend! {
    async fn only_admins_of_the_area_and_leaders_of_teams_there_raise_incidents(app: TestApp) {
        let volunteer = app.volunteer().await;
        let input = json!({ "input": incident_input(1) });
        app.graphql_as(&volunteer, RAISE, input.clone()).await.expect_error("FORBIDDEN", None);
        let team = app.team("祖庙巡逻队", "440604", "OPEN").await;
        let raised = app.graphql_as(&team.leader, RAISE, input.clone()).await;
        assert_eq!(raised.data()["raiseIncident"]["status"], "OPEN");
        // An admin of another district may not raise one in Chancheng.
        let elsewhere = app.area_admin("440606").await;
        let chancheng = app.area_id("440604").await;
        let mut there = incident_input(1);
        there["areaId"] = json!(chancheng);
        app.graphql_as(&elsewhere, RAISE, json!({ "input": there.clone() }))
            .await
            .expect_error("FORBIDDEN", None);
        let admin = app.area_admin("440604").await;
        let raised = app.graphql_as(&admin, RAISE, json!({ "input": there })).await;
        assert_eq!(raised.data()["raiseIncident"]["status"], "OPEN");
        let mut too_many = incident_input(51);
        too_many["areaId"] = json!(chancheng);
        app.graphql_as(&admin, RAISE, json!({ "input": too_many }))
            .await
            .expect_error("BAD_USER_INPUT", Some("input.needed"));
    }

    async fn the_nearest_on_duty_are_alerted_first_and_the_rings_widen_until_enough_could_come(app: TestApp) {
        let team = app.team("祖庙巡逻队", "440604", "OPEN").await;
        let a = on_duty(&app, 100.0).await;
        let b = on_duty(&app, 200.0).await;
        let c = on_duty(&app, 600.0).await;
        let d = on_duty(&app, 1100.0).await;
        let far = on_duty(&app, 2000.0).await;
        let off = app.volunteer().await; // at the very spot, but not on duty
        // One needed: three are wanted (one and two more); the first ring holds two, so the
        // second opens at once.
        let id = raise(&app, &team.leader, 1).await;
        let alerted = responders(&app, &team.leader, &id).await;
        let rings: Vec<(String, i64)> = alerted.iter().map(|(v, r, _)| (v.clone(), *r)).collect();
        assert_eq!(
            rings,
            vec![
                (a.volunteer_id.clone(), 1),
                (b.volunteer_id.clone(), 1),
                (c.volunteer_id.clone(), 2)
            ]
        );
        // A refusal: someone else is alerted at once, from the last ring if need be.
        let declined = app.graphql_as(&a, RESPOND, json!({ "id": id, "accept": false })).await;
        assert_eq!(declined.data()["respondToIncident"]["answer"], "DECLINED");
        let after = responders(&app, &team.leader, &id).await;
        assert_eq!(after.len(), 4, "{after:?}");
        assert_eq!((after[3].0.as_str(), after[3].1), (d.volunteer_id.as_str(), 3));
        for outsider in [&far, &off] {
            assert!(after.iter().all(|(v, _, _)| *v != outsider.volunteer_id));
            let seen = app.graphql_as(outsider, RESPONDERS, json!({ "id": id })).await;
            assert!(seen.data()["incident"].is_null(), "not alerted: not shown");
            app.graphql_as(outsider, RESPOND, json!({ "id": id, "accept": true }))
                .await
                .expect_error("NOT_FOUND", None);
        }
    }

    async fn the_first_needed_acceptances_win_and_the_rest_are_told_it_is_staffed(app: TestApp) {
        let team = app.team("祖庙巡逻队", "440604", "OPEN").await;
        let mut near = Vec::new();
        for step in 0..8 {
            near.push(on_duty(&app, 20.0 + f64::from(step) * 20.0).await);
        }
        // Three needed: five alerted (three and two more), all accepting at once.
        let id = raise(&app, &team.leader, 3).await;
        let alerted = responders(&app, &team.leader, &id).await;
        assert_eq!(alerted.len(), 5);
        let answers = futures::future::join_all(alerted.iter().map(|(volunteer, _, _)| {
            let session = near.iter().find(|s| s.volunteer_id == *volunteer).expect("alerted");
            app.graphql_as(session, RESPOND, json!({ "id": id, "accept": true }))
        }))
        .await;
        let said: Vec<String> = answers
            .iter()
            .map(|a| a.data()["respondToIncident"]["answer"].as_str().unwrap_or_default().to_owned())
            .collect();
        assert_eq!(said.iter().filter(|a| *a == "ACCEPTED").count(), 3, "{said:?}");
        assert_eq!(said.iter().filter(|a| *a == "LATE").count(), 2, "{said:?}");
        assert!(answers.iter().all(|a| a.data()["respondToIncident"]["staffed"] == true
            || a.data()["respondToIncident"]["answer"] == "ACCEPTED"));
        let incident = app.graphql_as(&team.leader, RESPONDERS, json!({ "id": id })).await;
        assert_eq!(incident.data()["incident"]["accepted"], 3);
        // Staffed: nobody else is alerted, however long one waits.
        let again = app.graphql_as(&alerted_session(&near, &alerted[0].0), RESPOND, json!({ "id": id, "accept": true })).await;
        again.expect_error("CONFLICT", None);
    }

    async fn an_alert_reaches_the_subscription_with_the_incident_but_never_the_other_candidates(app: TestApp) {
        let team = app.team("祖庙巡逻队", "440604", "OPEN").await;
        let responder = on_duty(&app, 80.0).await;
        let other = on_duty(&app, 120.0).await;
        let mut alerts = app.subscribe(Some(&responder), ALERTS, json!({})).await.expect("subscribed");
        let id = raise(&app, &team.leader, 1).await;
        let alert = alerts.next().await.expect("an alert");
        let alert = &alert["data"]["incidentAlerts"];
        assert_eq!(alert["incident"]["id"], id.as_str());
        assert_eq!(alert["incident"]["kind"], "MISSING_PERSON");
        assert_eq!(alert["incident"]["location"]["address"], "禅城区岭南天地");
        assert_eq!(alert["ring"], 1);
        let distance = alert["distanceM"].as_i64().expect("distance");
        assert!((75..=85).contains(&distance), "{distance}");
        // The alerted see the incident, not who else was alerted.
        let seen = app.graphql_as(&responder, RESPONDERS, json!({ "id": id })).await;
        assert_eq!(seen.data()["incident"]["id"], id.as_str());
        assert!(seen.data()["incident"]["responders"].is_null());
        // Positions: only the dispatcher sees them, only for those who accepted.
        app.graphql_as(&responder, RESPOND, json!({ "id": id, "accept": true })).await.data();
        let dispatcher_view = app.graphql_as(&team.leader, RESPONDERS, json!({ "id": id })).await;
        let shown = dispatcher_view.data()["incident"]["responders"].as_array().expect("shown").clone();
        let of = |volunteer: &str| shown.iter().find(|r| r["volunteer"]["id"] == volunteer).cloned().expect("alerted");
        assert_eq!(of(&responder.volunteer_id)["answer"], "ACCEPTED");
        assert!(of(&other.volunteer_id)["lastPosition"].is_null(), "not accepted: no position");
        let node = app
            .graphql_as(&other, "query($id: ID!) { node(id: $id) { ... on Incident { responders { distanceM } } } }", json!({ "id": id }))
            .await;
        assert!(node.data()["node"]["responders"].is_null());
        let stranger = app.volunteer().await;
        let hidden = app.graphql_as(&stranger, "query($id: ID!) { node(id: $id) { id } }", json!({ "id": id })).await;
        assert!(hidden.data()["node"].is_null());
    }

    async fn nobody_muted_or_erased_is_alerted(app: TestApp) {
        let team = app.team("祖庙巡逻队", "440604", "OPEN").await;
        let muted = on_duty(&app, 40.0).await;
        let mute = "mutation { muteIncidentAlerts(muted: true) { alertsMuted onDuty } }";
        let answer = app.graphql_as(&muted, mute, json!({})).await;
        assert_eq!(answer.data()["muteIncidentAlerts"]["alertsMuted"], true);
        assert_eq!(answer.data()["muteIncidentAlerts"]["onDuty"], true, "muting keeps the duty");
        let erased = on_duty(&app, 50.0).await;
        let delete = "mutation($password: String!) { deleteMyAccount(password: $password) }";
        let deleted = app
            .graphql_as(&erased, delete, json!({ "password": feihong_tests::TEST_PASSWORD }))
            .await;
        assert_eq!(deleted.data()["deleteMyAccount"], true);
        let reachable = on_duty(&app, 60.0).await;
        let id = raise(&app, &team.leader, 1).await;
        let alerted = responders(&app, &team.leader, &id).await;
        let ids: Vec<&str> = alerted.iter().map(|(v, _, _)| v.as_str()).collect();
        assert_eq!(ids, vec![reachable.volunteer_id.as_str()]);
    }

    async fn a_responder_is_followed_by_their_reports_and_arrives_within_fifty_metres(app: TestApp) {
        let team = app.team("祖庙巡逻队", "440604", "OPEN").await;
        let responder = on_duty(&app, 300.0).await;
        let bystander = on_duty(&app, 2000.0).await; // reports, responds to nothing
        let id = raise(&app, &team.leader, 1).await;
        app.graphql_as(&responder, RESPOND, json!({ "id": id, "accept": true })).await.data();
        // One report per 15 s: the next after the one given with goOnDuty.
        tokio::time::sleep(std::time::Duration::from_millis(15_200)).await;
        let report = "mutation($p: PositionInput!) { reportPosition(position: $p) }";
        let (lat, lng) = crate::support::north_of_centre(30.0);
        let here = json!({ "p": { "lat": lat, "lng": lng } });
        assert_eq!(app.graphql_as(&responder, report, here.clone()).await.data()["reportPosition"], true);
        assert_eq!(app.graphql_as(&bystander, report, here).await.data()["reportPosition"], true);
        let seen = app.graphql_as(&team.leader, RESPONDERS, json!({ "id": id })).await;
        let shown = &seen.data()["incident"]["responders"][0];
        assert!(shown["arrivedAt"].is_string(), "within 50 m: arrived ({shown})");
        assert!((shown["lastPosition"]["lat"].as_f64().unwrap() - lat).abs() < 1e-9);
    }

    async fn the_dispatcher_follows_the_incident_until_it_closes_and_nobody_else_may(app: TestApp) {
        let team = app.team("祖庙巡逻队", "440604", "OPEN").await;
        let responder = on_duty(&app, 70.0).await;
        let id = raise(&app, &team.leader, 1).await;
        let follow = "subscription($id: ID!) { incidentUpdates(incidentId: $id) { status accepted
            responders { answer lastPosition { lat } } } }";
        let refused = app.subscribe(Some(&responder), follow, json!({ "id": id })).await.expect("connected");
        let mut refused = refused;
        let answer = refused.next().await.expect("an answer");
        assert_eq!(answer["errors"][0]["extensions"]["code"], "NOT_FOUND", "{answer}");
        let mut updates = app.subscribe(Some(&team.leader), follow, json!({ "id": id })).await.expect("connected");
        let now = updates.next().await.expect("the incident now");
        assert_eq!(now["data"]["incidentUpdates"]["accepted"], 0);
        app.graphql_as(&responder, RESPOND, json!({ "id": id, "accept": true })).await.data();
        let accepted = updates.next().await.expect("after the acceptance");
        assert_eq!(accepted["data"]["incidentUpdates"]["accepted"], 1);
        assert_eq!(accepted["data"]["incidentUpdates"]["responders"][0]["answer"], "ACCEPTED");
        let close = "mutation($id: ID!) { closeIncident(incidentId: $id, outcome: \"已处置\") { status } }";
        app.graphql_as(&team.leader, close, json!({ "id": id })).await.data();
        let closed = updates.next().await.expect("the close");
        assert_eq!(closed["data"]["incidentUpdates"]["status"], "CLOSED");
        assert!(closed["data"]["incidentUpdates"]["responders"][0]["lastPosition"].is_null());
        assert_eq!(updates.next().await, Err(feihong_tests::subscriptions::Ended::Completed));
    }

    async fn a_volunteer_checked_in_at_an_event_is_alerted_without_declaring_duty_until_checking_out(app: TestApp) {
        use feihong_tests::fixtures::{EVENT_LAT, EVENT_LNG};
        let team = app.team("祖庙巡逻队", "440604", "OPEN").await;
        let member = app.member(&team).await;
        let event = app.event(&team.leader, &team.id, feihong_tests::EventSpec { starts_in: 10, ..Default::default() }).await;
        let signed = app.sign_up(&member, &event, None).await;
        let sign_up = signed.data()["signUp"]["id"].as_str().expect("id").to_owned();
        let at_event = json!({ "signUp": sign_up, "position": { "lat": EVENT_LAT, "lng": EVENT_LNG, "accuracyM": 5.0 } });
        let check_in = "mutation($signUp: ID!, $position: PositionInput) { checkIn(signUpId: $signUp, position: $position) { checkInAt } }";
        app.graphql_as(&member, check_in, at_event.clone()).await.data();
        let mut input = crate::support::incident_input(1);
        input["location"]["lat"] = json!(EVENT_LAT + 0.0005);
        input["location"]["lng"] = json!(EVENT_LNG);
        let first = app.graphql_as(&team.leader, RAISE, json!({ "input": input.clone() })).await;
        let id = first.data()["raiseIncident"]["id"].as_str().expect("id").to_owned();
        let alerted = responders(&app, &team.leader, &id).await;
        assert_eq!(alerted.iter().map(|(v, _, _)| v.as_str()).collect::<Vec<_>>(), vec![member.volunteer_id.as_str()]);
        let check_out = "mutation($signUp: ID!, $position: PositionInput) { checkOut(signUpId: $signUp, position: $position) { checkOutAt } }";
        app.graphql_as(&member, check_out, at_event).await.data();
        let second = app.graphql_as(&team.leader, RAISE, json!({ "input": input })).await;
        let id = second.data()["raiseIncident"]["id"].as_str().expect("id").to_owned();
        assert!(responders(&app, &team.leader, &id).await.is_empty(), "checked out: off duty");
    }

    async fn closing_credits_those_who_accepted_with_hours_to_review_and_forgets_positions(app: TestApp) {
        let team = app.team("祖庙巡逻队", "440604", "OPEN").await;
        let responder = app.member(&team).await;
        crate::support::go_on_duty(&app, &responder, crate::support::north_of_centre(60.0)).await;
        let id = raise(&app, &team.leader, 1).await;
        app.graphql_as(&responder, RESPOND, json!({ "id": id, "accept": true })).await.data();
        let arrive = "mutation($id: ID!) { arriveAtIncident(incidentId: $id) { firstArrivedAt } }";
        let arrived = app.graphql_as(&responder, arrive, json!({ "id": id })).await;
        assert!(arrived.data()["arriveAtIncident"]["firstArrivedAt"].is_string());
        let close = "mutation($id: ID!, $outcome: String!) { closeIncident(incidentId: $id, outcome: $outcome) { status outcome closedAt } }";
        app.graphql_as(&responder, close, json!({ "id": id, "outcome": "找到了" }))
            .await
            .expect_error("NOT_FOUND", None);
        let closed = app.graphql_as(&team.leader, close, json!({ "id": id, "outcome": "孩子已找到，交还家长" })).await;
        assert_eq!(closed.data()["closeIncident"]["status"], "CLOSED");
        let records = "query($team: ID!) { serviceRecords(filter: { teamId: $team, status: PENDING }) { nodes { minutes volunteer { id } reviewReason } } }";
        let pending = app.graphql_as(&team.leader, records, json!({ "team": team.id })).await;
        let nodes = pending.data()["serviceRecords"]["nodes"].as_array().expect("records").clone();
        assert_eq!(nodes.len(), 1, "{nodes:?}");
        assert_eq!(nodes[0]["volunteer"]["id"], responder.volunteer_id.as_str());
        assert_eq!(nodes[0]["minutes"], 1);
        let after = app.graphql_as(&team.leader, RESPONDERS, json!({ "id": id })).await;
        let shown = &after.data()["incident"]["responders"][0];
        assert!(shown["arrivedAt"].is_string());
        assert!(shown["lastPosition"].is_null(), "forgotten at the close");
        app.graphql_as(&responder, RESPOND, json!({ "id": id, "accept": false }))
            .await
            .expect_error("CONFLICT", None);
    }
}

fn alerted_session(sessions: &[feihong_tests::Session], volunteer: &str) -> feihong_tests::Session {
    sessions
        .iter()
        .find(|s| s.volunteer_id == volunteer)
        .cloned()
        .expect("alerted")
}

/// With a ring given a second, a ring that holds enough people but no acceptance widens on its
/// own: someone in the next ring is alerted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ring_without_acceptances_widens_after_its_wait_on_sqlite() {
    a_ring_without_acceptances_widens_after_its_wait(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ring_without_acceptances_widens_after_its_wait_on_postgres() {
    a_ring_without_acceptances_widens_after_its_wait(Backend::Postgres).await;
}

async fn a_ring_without_acceptances_widens_after_its_wait(backend: Backend) {
    let Some(app) = app_with_ring_wait(backend, module_path!(), 1000).await else {
        return;
    };
    let team = app.team("祖庙巡逻队", "440604", "OPEN").await;
    for metres in [30.0, 60.0, 90.0] {
        on_duty(&app, metres).await;
    }
    let outer = on_duty(&app, 500.0).await;
    let id = raise(&app, &team.leader, 1).await;
    assert_eq!(
        responders(&app, &team.leader, &id).await.len(),
        3,
        "ring 1 holds enough"
    );
    let widened = wait_for_responders(&app, &team.leader, &id, |r| r.len() == 4).await;
    assert_eq!(
        (widened[3].0.as_str(), widened[3].1),
        (outer.volunteer_id.as_str(), 2)
    );
}
