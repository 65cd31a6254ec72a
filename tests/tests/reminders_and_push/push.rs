//! Every notification (and every incident alert) is also pushed to the volunteer's devices,
//! through the outbox and a signed webhook (a local receiver checks each signature): delivered,
//! kept through a gateway outage and sent once, and sent once when two nodes drain the same
//! outbox.

use std::time::Duration;

use feihong_tests::{EventSpec, Session, TestApp, on_every_backend};
use sea_orm::{ConnectionTrait as _, Statement};
use serde_json::{Value, json};

use crate::devices::register_device;
use crate::receiver::Receiver;

const MESSAGE_TEAM: &str = "mutation($team: ID!, $text: String!) {
  messageTeam(teamId: $team, text: $text) { recipients }
}";
const CANCEL_EVENT: &str =
    "mutation($id: ID!) { cancelEvent(eventId: $id, reason: \"台风停课\") { status } }";

/// A server whose pushes go to `receiver`.
pub async fn app_pushing_to(
    receiver: &Receiver,
    backend: feihong_tests::Backend,
    test: &str,
) -> Option<TestApp> {
    let push = receiver.config();
    TestApp::spawn_configured(backend, test, move |config| config.push = push).await
}

/// Waits until the push outbox is empty (every push sent and settled).
pub async fn outbox_drained(app: &TestApp) {
    let db = app.database().await;
    for _ in 0..600 {
        let row = db
            .query_one_raw(Statement::from_string(
                db.get_database_backend(),
                "SELECT COUNT(*) AS n FROM push_outbox",
            ))
            .await
            .unwrap()
            .unwrap();
        let n: i64 = row.try_get("", "n").unwrap();
        if n == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the push outbox was never drained");
}

fn tokens_of(push: &Value) -> Vec<String> {
    push["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|device| device["token"].as_str().unwrap().to_owned())
        .collect()
}

async fn message(app: &TestApp, leader: &Session, team: &str, text: &str) {
    app.graphql_as(leader, MESSAGE_TEAM, json!({ "team": team, "text": text }))
        .await
        .data();
}

macro_rules! with_receiver {
    ($($name:ident($receiver:ident, $app:ident) $body:block)*) => {
        $(
            mod $name {
                use super::*;

                async fn run($receiver: Receiver, $app: TestApp) $body

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn on_sqlite() {
                    let receiver = Receiver::start().await;
                    if let Some(app) = app_pushing_to(&receiver, feihong_tests::Backend::Sqlite, module_path!()).await {
                        run(receiver, app).await;
                    }
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn on_postgres() {
                    let receiver = Receiver::start().await;
                    if let Some(app) = app_pushing_to(&receiver, feihong_tests::Backend::Postgres, module_path!()).await {
                        run(receiver, app).await;
                    }
                }
            }
        )*
    };
}

with_receiver! {
    an_incident_alert_is_pushed_to_the_alerted_volunteers_device_in_its_language(receiver, app) {
        let team = app.team("祖庙巡逻队", "440604", "OPEN").await;
        let volunteer = app.volunteer().await;
        register_device(&app, &volunteer, "ANDROID", "on-duty-android").await;
        let until = (chrono::Utc::now() + chrono::Duration::hours(2)).to_rfc3339();
        let duty = "mutation($until: DateTime!, $p: PositionInput!) { goOnDuty(until: $until, position: $p) { onDuty } }";
        let near = json!({ "until": until, "p": { "lat": 23.0207, "lng": 113.12 } });
        app.graphql_as(&volunteer, duty, near).await.data();
        let raise = "mutation($input: RaiseIncidentInput!) { raiseIncident(input: $input) { id } }";
        let input = json!({ "kind": "MISSING_PERSON", "needed": 1,
            "location": { "address": "禅城区岭南天地", "lat": 23.02, "lng": 113.12 } });
        app.graphql_as(&team.leader, raise, json!({ "input": input })).await.data();
        let pushes = receiver.wait_for(1).await;
        assert_eq!(pushes[0]["kind"], "INCIDENT_ALERT");
        assert_eq!(tokens_of(&pushes[0]), vec!["on-duty-android".to_owned()]);
        // The device was registered by an English-speaking app: the push is in English.
        let text = pushes[0]["text"].as_str().unwrap();
        assert!(text.starts_with("Missing person ") && text.contains(" m from you: 禅城区岭南天地"), "{text}");
    }

    a_team_message_is_pushed_signed_to_each_member_with_a_device(receiver, app) {
        let team = app.team("祖庙巡逻队", "440604", "OPEN").await;
        let with_phone = app.member(&team).await;
        let with_two = app.member(&team).await;
        let _without_device = app.member(&team).await;
        register_device(&app, &with_phone, "ANDROID", "member-one-android").await;
        register_device(&app, &with_two, "IOS", "member-two-iphone").await;
        register_device(&app, &with_two, "WEB", "member-two-browser").await;
        message(&app, &team.leader, &team.id, "今晚集合改到祖庙东门").await;

        let pushes = receiver.wait_for(2).await;
        outbox_drained(&app).await;
        let pushes_now = receiver.accepted();
        assert_eq!(pushes_now.len(), 2, "one push per member with a device: {pushes_now:?}");
        assert_eq!(receiver.refused_signatures(), 0);
        let mut tokens: Vec<Vec<String>> = pushes.iter().map(tokens_of).collect();
        for list in &mut tokens {
            list.sort();
        }
        tokens.sort();
        assert_eq!(
            tokens,
            vec![
                vec!["member-one-android".to_owned()],
                vec!["member-two-browser".to_owned(), "member-two-iphone".to_owned()],
            ]
        );
        for push in &pushes {
            assert_eq!(push["kind"], "MESSAGE");
            assert!(push["text"].as_str().unwrap().ends_with("今晚集合改到祖庙东门"), "{push}");
        }
    }

    a_cancelled_event_is_pushed_to_its_volunteers_devices(receiver, app) {
        let team = app.team("祖庙巡逻队", "440604", "OPEN").await;
        // Three days ahead: no reminder is due, so the only push is the cancellation.
        let event = app.event(&team.leader, &team.id, EventSpec { starts_in: 3 * 24 * 60, ..Default::default() }).await;
        let volunteer = app.volunteer().await;
        app.sign_up(&volunteer, &event, None).await.data();
        register_device(&app, &volunteer, "HARMONY", "harmony-phone-token").await;
        app.graphql_as(&team.leader, CANCEL_EVENT, json!({ "id": event })).await.data();

        let pushes = receiver.wait_for(1).await;
        assert_eq!(pushes[0]["kind"], "EVENT_CANCELLED");
        assert_eq!(tokens_of(&pushes[0]), vec!["harmony-phone-token"]);
        assert_eq!(pushes[0]["devices"][0]["platform"], "HARMONY");
    }

    a_push_goes_to_whoever_registered_the_token_last(receiver, app) {
        let team = app.team("祖庙巡逻队", "440604", "OPEN").await;
        let former = app.member(&team).await;
        let other_team = app.team("南海巡逻队", "440604", "OPEN").await;
        let new_owner = app.member(&other_team).await;
        register_device(&app, &former, "ANDROID", "handed-down-phone").await;
        register_device(&app, &new_owner, "ANDROID", "handed-down-phone").await;
        message(&app, &team.leader, &team.id, "只给祖庙巡逻队").await;
        message(&app, &other_team.leader, &other_team.id, "给南海巡逻队").await;

        receiver.wait_for(1).await;
        outbox_drained(&app).await;
        let pushes = receiver.accepted();
        assert_eq!(pushes.len(), 1, "{pushes:?}");
        assert!(pushes[0]["text"].as_str().unwrap().ends_with("给南海巡逻队"));
    }

    a_gateway_outage_delays_a_push_and_it_is_delivered_once(receiver, app) {
        let team = app.team("祖庙巡逻队", "440604", "OPEN").await;
        let member = app.member(&team).await;
        register_device(&app, &member, "IOS", "outage-phone").await;
        receiver.fail_next(2);
        message(&app, &team.leader, &team.id, "网关恢复后送达").await;

        let pushes = receiver.wait_for(1).await;
        outbox_drained(&app).await;
        assert_eq!(receiver.failed(), 2, "the gateway refused twice first");
        assert_eq!(receiver.accepted().len(), 1, "delivered once: {pushes:?}");
    }

    two_nodes_draining_one_outbox_deliver_each_push_once(receiver, app) {
        let sibling = app.spawn_sibling().await;
        let team = app.team("祖庙巡逻队", "440604", "OPEN").await;
        let mut members = Vec::new();
        for n in 0..12 {
            let member = app.member(&team).await;
            register_device(&app, &member, "ANDROID", &format!("node-test-phone-{n:02}")).await;
            members.push(member);
        }
        for round in 0..3 {
            message(&app, &team.leader, &team.id, &format!("第{round}次通知")).await;
        }
        receiver.wait_for(36).await;
        outbox_drained(&app).await;
        let pushes = receiver.accepted();
        assert_eq!(pushes.len(), 36, "each push once");
        let mut ids: Vec<i64> = pushes.iter().map(|push| push["id"].as_i64().unwrap()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), 36, "no push id twice");
        drop(sibling);
    }
}

on_every_backend! {
    async fn with_the_log_sender_notifications_are_still_recorded(app: TestApp) {
        let team = app.team("祖庙巡逻队", "440604", "OPEN").await;
        let member = app.member(&team).await;
        register_device(&app, &member, "WEB", "logged-browser").await;
        message(&app, &team.leader, &team.id, "开发环境").await;
        outbox_drained(&app).await;
        let answer = app
            .graphql_as(&member, "{ myNotifications(first: 10) { nodes { kind } } }", json!({}))
            .await;
        assert_eq!(answer.data()["myNotifications"]["nodes"][0]["kind"], "MESSAGE");
    }
}

with_receiver! {
    each_push_is_written_in_the_language_of_the_phone_that_registered(receiver, app) {
        let team = app.team("祖庙巡逻队", "440604", "OPEN").await;
        let (english, chinese) = (app.member(&team).await, app.member(&team).await);
        let register = |session: &Session, language: Option<&'static str>, token: &'static str| {
            let mut request = app.http().post(app.url("/graphql")).bearer_auth(&session.access_token).json(&json!({
                "query": crate::devices::REGISTER_DEVICE,
                "variables": { "platform": "ANDROID", "token": token },
            }));
            if let Some(language) = language {
                request = request.header("accept-language", language);
            }
            request.send()
        };
        assert!(register(&english, Some("en-US,en;q=0.9"), "phone-in-english").await.unwrap().status().is_success());
        assert!(register(&chinese, None, "phone-in-chinese").await.unwrap().status().is_success());
        message(&app, &team.leader, &team.id, "meet at the east gate").await;

        let pushes = receiver.wait_for(2).await;
        let text_for = |token: &str| {
            pushes.iter().find(|push| tokens_of(push) == vec![token.to_owned()]).expect("a push")["text"]
                .as_str().unwrap().to_owned()
        };
        assert!(text_for("phone-in-english").starts_with("[祖庙巡逻队] "), "{pushes:?}");
        assert!(text_for("phone-in-english").ends_with(": meet at the east gate"), "{pushes:?}");
        assert!(text_for("phone-in-chinese").starts_with("【祖庙巡逻队】"), "{pushes:?}");
        assert!(text_for("phone-in-chinese").ends_with("：meet at the east gate"), "{pushes:?}");
    }
}
