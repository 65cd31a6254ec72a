//! Their own language: every error message and notification text in Simplified Chinese by
//! default, in English when `Accept-Language` prefers it (over WebSocket: `locale` in the
//! `connection_init` payload); `extensions.code` and `extensions.field` the same in both.

use feihong_tests::{EventSpec, Session, TestApp, on_every_backend};
use serde_json::{Value, json};

const LOGIN: &str =
    "mutation($p: String!, $w: String!) { login(phone: $p, password: $w) { accessToken } }";
const REQUEST_CODE: &str =
    "mutation($phone: String!) { requestSmsCode(phone: $phone, purpose: LOGIN) }";
const EVENT_UPDATES: &str = "subscription($id: ID!) { eventUpdates(eventId: $id) { id } }";
const CANCEL_EVENT: &str =
    "mutation($id: ID!) { cancelEvent(eventId: $id, reason: \"台风\") { status } }";
const NOTIFICATIONS: &str = "{ myNotifications(first: 10) { nodes { kind message } } }";
const MY_UPDATES: &str = "subscription { mySignUpUpdates { kind message } }";

/// POSTs `query` with `Accept-Language: language` (none when `None`), as `session` if given.
async fn asking(
    app: &TestApp,
    language: Option<&str>,
    session: Option<&Session>,
    query: &str,
    variables: Value,
) -> Value {
    let mut request = app
        .http()
        .post(app.url("/graphql"))
        .json(&json!({ "query": query, "variables": variables }));
    if let Some(language) = language {
        request = request.header("accept-language", language);
    }
    if let Some(session) = session {
        request = request.bearer_auth(&session.access_token);
    }
    request
        .send()
        .await
        .expect("server answers")
        .json()
        .await
        .expect("JSON")
}

fn first_error(body: &Value) -> (&str, &Value) {
    let error = &body["errors"][0];
    (
        error["message"].as_str().unwrap_or_default(),
        &error["extensions"],
    )
}

on_every_backend! {
    async fn errors_are_chinese_by_default_and_english_for_those_who_prefer_it(app: TestApp) {
        let volunteer = app.volunteer().await;
        let wrong = json!({ "p": volunteer.phone, "w": "not-the-password-1" });
        for (language, expected) in [
            (None, "手机号或密码错误"),
            (Some("zh-CN,zh;q=0.9,en;q=0.8"), "手机号或密码错误"),
            (Some("fr-FR, en;q=0.5"), "wrong phone number or password"),
            (Some("en-US,en;q=0.9"), "wrong phone number or password"),
            (Some("en;q=0, fr"), "手机号或密码错误"),
        ] {
            let body = asking(&app, language, None, LOGIN, wrong.clone()).await;
            let (message, extensions) = first_error(&body);
            assert_eq!(message, expected, "{language:?}: {body}");
            assert_eq!(extensions["code"], "UNAUTHENTICATED");
        }

        // A refused value: the same code and field, the words in the reader's language.
        let phone = json!({ "phone": "12345" });
        let chinese = asking(&app, None, None, REQUEST_CODE, phone.clone()).await;
        let english = asking(&app, Some("en"), None, REQUEST_CODE, phone).await;
        let (zh, zh_extensions) = first_error(&chinese);
        let (en, en_extensions) = first_error(&english);
        assert_eq!(zh_extensions, en_extensions, "{chinese} / {english}");
        assert_eq!(zh_extensions["code"], "BAD_USER_INPUT");
        assert_eq!(zh_extensions["field"], "phone");
        assert!(en.starts_with("phone: must be a mainland mobile number"), "{en}");
        assert!(zh.starts_with("phone：") && !zh.contains("must"), "{zh}");

        // Refusals before the operation runs, too.
        let nested = format!("{}{}", "{".repeat(60), "}".repeat(60));
        let body = asking(&app, Some("en"), None, &nested, json!({})).await;
        assert!(first_error(&body).0.contains("nests"), "{body}");
        let body = asking(&app, None, None, &nested, json!({})).await;
        assert!(first_error(&body).0.contains("嵌套"), "{body}");
    }

    async fn a_notification_reads_in_each_readers_language(app: TestApp) {
        let team = app.team("顺德反诈宣传队", "440606", "OPEN").await;
        let event = app.event(&team.leader, &team.id, EventSpec { starts_in: 3 * 24 * 60, ..Default::default() }).await;
        let volunteer = app.volunteer().await;
        app.sign_up(&volunteer, &event, None).await.data();
        app.graphql_as(&team.leader, CANCEL_EVENT, json!({ "id": event })).await.data();

        let told = |body: Value| {
            let nodes = body["data"]["myNotifications"]["nodes"].as_array().cloned().unwrap_or_default();
            nodes.into_iter().find(|node| node["kind"] == "EVENT_CANCELLED").expect("told of the cancellation")["message"]
                .as_str().unwrap().to_owned()
        };
        let zh = told(asking(&app, None, Some(&volunteer), NOTIFICATIONS, json!({})).await);
        let en = told(asking(&app, Some("en-GB"), Some(&volunteer), NOTIFICATIONS, json!({})).await);
        assert!(zh.contains("已取消") && zh.contains("台风"), "{zh}");
        assert!(en.contains("was cancelled: 台风") && !en.contains("已取消"), "{en}");
    }

    async fn a_live_update_speaks_the_language_the_connection_named(app: TestApp) {
        let team = app.team("禅城护校队", "440604", "OPEN").await;
        let event = app.event(&team.leader, &team.id, EventSpec { starts_in: 3 * 24 * 60, ..Default::default() }).await;
        let (english, chinese) = (app.volunteer().await, app.volunteer().await);
        for session in [&english, &chinese] {
            app.sign_up(session, &event, None).await.data();
        }
        let mut in_english = app.open_socket_from("10.0.0.9").await.expect("socket");
        let init = json!({ "authorization": format!("Bearer {}", english.access_token), "locale": "en-US" });
        assert_eq!(in_english.init(init).await.expect("ack")["type"], "connection_ack");
        in_english.start("1", MY_UPDATES, json!({})).await;
        // No locale, no Accept-Language: the default.
        let mut in_chinese = app.open_socket_from("10.0.0.10").await.expect("socket");
        let init = json!({ "authorization": format!("Bearer {}", chinese.access_token) });
        assert_eq!(in_chinese.init(init).await.expect("ack")["type"], "connection_ack");
        in_chinese.start("1", MY_UPDATES, json!({})).await;
        // Each is listening once a subscription started after it has sent its first snapshot.
        for socket in [&mut in_english, &mut in_chinese] {
            socket.start("ready", EVENT_UPDATES, json!({ "id": event })).await;
            while socket.next_update().await.expect("snapshot").0 != "ready" {}
        }

        app.graphql_as(&team.leader, CANCEL_EVENT, json!({ "id": event })).await.data();
        let update = |payload: Value| payload["data"]["mySignUpUpdates"].clone();
        let seen = next_cancellation(&mut in_english).await;
        assert!(update(seen.clone())["message"].as_str().unwrap().contains("was cancelled"), "{seen}");
        let seen = next_cancellation(&mut in_chinese).await;
        assert!(update(seen.clone())["message"].as_str().unwrap().contains("已取消"), "{seen}");
    }
}

/// The next EVENT_CANCELLED update (reminders of the upkeep may come first).
async fn next_cancellation(subscription: &mut feihong_tests::subscriptions::Subscription) -> Value {
    loop {
        let (_, payload) = subscription.next_update().await.expect("an update");
        if payload["data"]["mySignUpUpdates"]["kind"] == "EVENT_CANCELLED" {
            return payload;
        }
    }
}
