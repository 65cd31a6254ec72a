//! SMS one-time codes: `requestSmsCode`, `loginWithSmsCode`, `resetPassword`, through the
//! Alibaba Cloud sender and a local gateway that checks every signature.

use std::collections::BTreeMap;

use feihong_tests::{Response, TEST_PASSWORD, TestApp};
use sea_orm::{ConnectionTrait as _, Statement};
use serde_json::json;

use super::gateway::{expected_signature, with_sms_gateway};
use super::support::*;

pub const REQUEST: &str = "mutation($phone: String!, $purpose: SmsPurpose!) { requestSmsCode(phone: $phone, purpose: $purpose) }";
const SMS_LOGIN: &str = "mutation($phone: String!, $code: String!) { loginWithSmsCode(phone: $phone, code: $code) { accessToken refreshToken accessTokenExpiresAt volunteer { id phone } } }";
const RESET: &str = "mutation($phone: String!, $code: String!, $new: String!) { resetPassword(phone: $phone, code: $code, newPassword: $new) }";
const NEW_PASSWORD: &str = "ferry-lights-at-dawn-7";

pub async fn request_code(app: &TestApp, phone: &str, purpose: &str) -> Response {
    app.graphql(REQUEST, json!({ "phone": phone, "purpose": purpose }))
        .await
}

async fn sms_login(app: &TestApp, phone: &str, code: &str) -> Response {
    app.graphql(SMS_LOGIN, json!({ "phone": phone, "code": code }))
        .await
}

async fn reset(app: &TestApp, phone: &str, code: &str, new: &str) -> Response {
    app.graphql(RESET, json!({ "phone": phone, "code": code, "new": new }))
        .await
}

/// A code that is not `code`.
fn other_than(code: &str, step: u32) -> String {
    let number: u32 = code.parse().unwrap();
    format!("{:06}", (number + step) % 1_000_000)
}

async fn scalar(app: &TestApp, sql: &str) -> Vec<Option<String>> {
    let db = app.database().await;
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            sql.to_owned(),
        ))
        .await
        .unwrap();
    rows.iter()
        .map(|row| row.try_get_by_index::<Option<String>>(0).unwrap())
        .collect()
}

#[test]
fn the_sender_signs_alibabas_documented_example_alike() {
    let parameters: Vec<(String, String)> = [
        ("AccessKeyId", "testid"),
        ("Action", "DescribeRegions"),
        ("Format", "XML"),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureNonce", "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"),
        ("SignatureVersion", "1.0"),
        ("Timestamp", "2016-02-23T12:46:24Z"),
        ("Version", "2014-05-26"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let ours = feihong_api::sms::alibaba::signature("GET", &parameters, "testsecret");
    let gateway: BTreeMap<String, String> = parameters.into_iter().collect();
    assert_eq!(ours, expected_signature("GET", &gateway, "testsecret"));
    assert_eq!(ours, "OLeaidS1JvxuMvnyHOwuJ+uX5qY=");
}

with_sms_gateway! {
    async fn a_login_code_arrives_by_sms_and_signs_in_once(app, gateway) {
        let who = app.register("13700000201", "短信登录").await;
        let answer = request_code(&app, "13700000201", "LOGIN").await;
        assert_eq!(answer.data()["requestSmsCode"], true);
        let code = gateway.code_for("13700000201", 1).await;
        assert_eq!(code.len(), 6);
        let signed_in = sms_login(&app, "13700000201", &code).await;
        let payload = &signed_in.data()["loginWithSmsCode"];
        assert_eq!(payload["volunteer"]["id"], who.volunteer_id.as_str());
        let token = payload["accessToken"].as_str().unwrap();
        let me = app.graphql_from(Some(token), "10.0.0.1", ME, json!({})).await;
        assert_eq!(me.data()["me"]["id"], who.volunteer_id.as_str());
        refresh(&app, payload["refreshToken"].as_str().unwrap()).await.data();
        // Single use.
        sms_login(&app, "13700000201", &code).await.expect_error("BAD_USER_INPUT", Some("code"));
        assert!(gateway.refused().is_empty(), "{:?}", gateway.refused());
    }

    async fn codes_are_stored_hashed_and_wiped_from_the_outbox_once_sent(app, gateway) {
        app.register("13700000202", "哈希").await;
        request_code(&app, "13700000202", "LOGIN").await.data();
        let code = gateway.code_for("13700000202", 1).await;
        let hashes = scalar(&app, "SELECT code_hash FROM sms_codes").await;
        assert_eq!(hashes.len(), 1);
        let hash = hashes[0].clone().unwrap();
        assert_eq!(hash.len(), 64);
        assert!(!hash.contains(&code));
        // The outbox row is settled once the gateway has the message; its code is gone.
        for _ in 0..100 {
            if scalar(&app, "SELECT outcome FROM sms_outbox").await == [Some("sent".to_owned())] {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(scalar(&app, "SELECT outcome FROM sms_outbox").await, [Some("sent".to_owned())]);
        assert_eq!(scalar(&app, "SELECT code FROM sms_outbox").await, [None]);
    }

    async fn known_and_unknown_phones_get_the_same_answer_and_only_known_ones_a_message(app, gateway) {
        app.register("13700000203", "有账号").await;
        app.register("13700000213", "也有账号").await;
        let known = request_code(&app, "13700000203", "LOGIN").await;
        let unknown = request_code(&app, "13700000204", "LOGIN").await;
        assert_eq!(known.data()["requestSmsCode"], true);
        assert_eq!((known.status, &known.body), (unknown.status, &unknown.body));
        let reset_known = request_code(&app, "13700000213", "RESET_PASSWORD").await;
        let reset_unknown = request_code(&app, "13700000214", "RESET_PASSWORD").await;
        assert_eq!(reset_known.data()["requestSmsCode"], true);
        assert_eq!((reset_known.status, &reset_known.body), (reset_unknown.status, &reset_unknown.body));
        gateway.code_for("13700000203", 1).await;
        gateway.code_for("13700000213", 1).await;
        // Both unknown-phone rows are settled without a message.
        let unknown_rows = "SELECT outcome FROM sms_outbox WHERE phone IN ('13700000204', '13700000214')";
        for _ in 0..100 {
            let outcomes = scalar(&app, unknown_rows).await;
            if outcomes.iter().all(|o| o.as_deref() == Some("skipped")) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let outcomes = scalar(&app, unknown_rows).await;
        assert_eq!(outcomes, [Some("skipped".to_owned()), Some("skipped".to_owned())]);
        assert!(gateway.codes_for("13700000204").is_empty() && gateway.codes_for("13700000214").is_empty());
        // Asking again within the minute is refused alike, known or not.
        let again_known = request_code(&app, "13700000203", "LOGIN").await;
        let again_unknown = request_code(&app, "13700000204", "LOGIN").await;
        again_known.expect_error("RATE_LIMITED", None);
        assert_eq!(again_known.body["errors"][0]["message"], again_unknown.body["errors"][0]["message"]);
        // Guessing a code for an unknown phone is answered like a wrong code for a known one.
        let guess_unknown = sms_login(&app, "13700000204", "123456").await;
        let code = gateway.code_for("13700000203", 1).await;
        let guess_known = sms_login(&app, "13700000203", &other_than(&code, 1)).await;
        assert_eq!(guess_unknown.body["errors"][0]["message"], guess_known.body["errors"][0]["message"]);
        guess_unknown.expect_error("BAD_USER_INPUT", Some("code"));
    }

    async fn a_code_dies_after_five_wrong_tries(app, gateway) {
        app.register("13700000205", "猜码").await;
        request_code(&app, "13700000205", "LOGIN").await.data();
        let code = gateway.code_for("13700000205", 1).await;
        for step in 1..=5 {
            sms_login(&app, "13700000205", &other_than(&code, step))
                .await
                .expect_error("BAD_USER_INPUT", Some("code"));
        }
        sms_login(&app, "13700000205", &code).await.expect_error("BAD_USER_INPUT", Some("code"));
    }

    async fn an_expired_code_is_refused(app, gateway) {
        app.register("13700000206", "过期").await;
        request_code(&app, "13700000206", "LOGIN").await.data();
        let code = gateway.code_for("13700000206", 1).await;
        let db = app.database().await;
        db.execute_unprepared("UPDATE sms_codes SET expires_at = created_at").await.unwrap();
        sms_login(&app, "13700000206", &code).await.expect_error("BAD_USER_INPUT", Some("code"));
    }

    async fn a_code_works_only_for_its_purpose(app, gateway) {
        app.register("13700000207", "用途").await;
        request_code(&app, "13700000207", "LOGIN").await.data();
        let login_code = gateway.code_for("13700000207", 1).await;
        reset(&app, "13700000207", &login_code, NEW_PASSWORD)
            .await
            .expect_error("BAD_USER_INPUT", Some("code"));
        login(&app, "13700000207", TEST_PASSWORD).await.data();
        // The LOGIN code was not spent by the attempt, and still signs in.
        sms_login(&app, "13700000207", &login_code).await.data();
    }

    async fn a_reset_code_cannot_sign_in(app, gateway) {
        app.register("13700000208", "重置").await;
        request_code(&app, "13700000208", "RESET_PASSWORD").await.data();
        let reset_code = gateway.code_for("13700000208", 1).await;
        sms_login(&app, "13700000208", &reset_code).await.expect_error("BAD_USER_INPUT", Some("code"));
        reset(&app, "13700000208", &reset_code, NEW_PASSWORD).await.data();
    }

    async fn resetting_the_password_ends_every_login_and_is_audited(app, gateway) {
        let first = app.register("13700000209", "忘记密码").await;
        let second = app.login("13700000209").await;
        request_code(&app, "13700000209", "RESET_PASSWORD").await.data();
        let code = gateway.code_for("13700000209", 1).await;
        // A weak new password is refused without spending the code.
        reset(&app, "13700000209", &code, "password123").await.expect_error("BAD_USER_INPUT", Some("newPassword"));
        let answer = reset(&app, "13700000209", &code, NEW_PASSWORD).await;
        assert_eq!(answer.data()["resetPassword"], true);
        for session in [&first, &second] {
            refresh(&app, &session.refresh_token).await.expect_error("UNAUTHENTICATED", None);
        }
        login(&app, "13700000209", TEST_PASSWORD).await.expect_error("UNAUTHENTICATED", None);
        login(&app, "13700000209", NEW_PASSWORD).await.data();
        assert_eq!(audit_entries(&app, "password_reset").await.len(), 1);
        // The code is spent.
        reset(&app, "13700000209", &code, "another-new-password-1").await.expect_error("BAD_USER_INPUT", Some("code"));
    }

    async fn a_provider_outage_loses_no_code_and_never_blocks_the_answer(app, gateway) {
        app.register("13700000210", "断网").await;
        gateway.fail_next(2);
        let answer = request_code(&app, "13700000210", "LOGIN").await;
        assert_eq!(answer.data()["requestSmsCode"], true);
        // Answered 500 twice; the outbox retries with backoff and the code arrives.
        let code = gateway.code_for("13700000210", 1).await;
        assert!(gateway.requests() >= 3);
        assert_eq!(gateway.codes_for("13700000210").len(), 1, "sent exactly once");
        sms_login(&app, "13700000210", &code).await.data();
        assert!(gateway.refused().is_empty(), "{:?}", gateway.refused());
    }
}

with_sms_gateway! {
    async fn two_nodes_draining_one_outbox_send_each_code_exactly_once(app, gateway) {
        let sibling = app.spawn_sibling().await;
        let phones: Vec<String> = (0..6).map(|n| format!("1370000022{n}")).collect();
        for phone in &phones {
            app.register(phone, "两个节点").await;
        }
        for (n, phone) in phones.iter().enumerate() {
            let node = if n % 2 == 0 { &app } else { &sibling };
            request_code(node, phone, "LOGIN").await.data();
        }
        for phone in &phones {
            gateway.code_for(phone, 1).await;
        }
        // Both nodes keep draining for a while; nothing is sent twice.
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        for phone in &phones {
            assert_eq!(gateway.codes_for(phone).len(), 1, "{phone}");
        }
    }
}

with_sms_gateway! {
    async fn concurrent_wrong_tries_are_all_counted_and_the_code_dies_at_five(app, gateway) {
        app.register("13700000230", "并发猜码").await;
        request_code(&app, "13700000230", "LOGIN").await.data();
        let code = gateway.code_for("13700000230", 1).await;
        let guesses: Vec<String> = (1..=12).map(|step| other_than(&code, step)).collect();
        let tries = guesses.iter().enumerate().map(|(n, guess)| {
            let from = format!("10.9.0.{n}");
            let app = &app;
            async move {
                app.graphql_from(None, &from, SMS_LOGIN, json!({ "phone": "13700000230", "code": guess }))
                    .await
            }
        });
        for answer in futures::future::join_all(tries).await {
            assert!(answer.body.get("errors").is_some(), "{:?}", answer.body);
        }
        let tries = scalar(&app, "SELECT CAST(tries AS TEXT) FROM sms_codes").await;
        assert!(tries[0].as_deref().unwrap().parse::<i32>().unwrap() <= 5, "{tries:?}");
        // Whatever got through, the right code no longer works once five wrong ones were counted,
        // and never more than five were.
        for step in 13..=17 {
            sms_login(&app, "13700000230", &other_than(&code, step)).await;
        }
        assert_eq!(scalar(&app, "SELECT CAST(tries AS TEXT) FROM sms_codes").await, [Some("5".to_owned())]);
        sms_login(&app, "13700000230", &code).await.expect_error("BAD_USER_INPUT", Some("code"));
    }

    async fn a_malformed_phone_is_refused_on_its_argument(app, gateway) {
        request_code(&app, "12345", "LOGIN").await.expect_error("BAD_USER_INPUT", Some("phone"));
        sms_login(&app, "12345", "123456").await.expect_error("BAD_USER_INPUT", Some("phone"));
        assert_eq!(gateway.requests(), 0);
    }
}
