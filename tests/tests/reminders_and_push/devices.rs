//! `registerDevice` / `unregisterDevice` / `myDevices`: a token belongs to the account that
//! registered it last, a volunteer keeps at most 10, only the owner removes one, and tokens are
//! never shown in full.

use feihong_tests::{Session, TestApp, on_every_backend};
use serde_json::{Value, json};

pub const REGISTER_DEVICE: &str = "mutation($platform: DevicePlatform!, $token: String!) {
  registerDevice(platform: $platform, token: $token) { platform token registeredAt }
}";
pub const UNREGISTER_DEVICE: &str = "mutation($token: String!) { unregisterDevice(token: $token) }";
const MY_DEVICES: &str = "{ myDevices { platform token } }";

pub async fn register_device(app: &TestApp, session: &Session, platform: &str, token: &str) {
    let answer = app
        .graphql_as(
            session,
            REGISTER_DEVICE,
            json!({ "platform": platform, "token": token }),
        )
        .await;
    assert_eq!(answer.data()["registerDevice"]["platform"], platform);
}

async fn unregister(app: &TestApp, session: &Session, token: &str) -> Value {
    let answer = app
        .graphql_as(session, UNREGISTER_DEVICE, json!({ "token": token }))
        .await;
    answer.data()["unregisterDevice"].clone()
}

async fn my_devices(app: &TestApp, session: &Session) -> Vec<Value> {
    let answer = app.graphql_as(session, MY_DEVICES, json!({})).await;
    answer.data()["myDevices"].as_array().unwrap().clone()
}

on_every_backend! {
    async fn a_registered_device_is_listed_with_its_token_masked(app: TestApp) {
        let volunteer = app.volunteer().await;
        let answer = app
            .graphql_as(
                &volunteer,
                REGISTER_DEVICE,
                json!({ "platform": "HARMONY", "token": "harmony-token-0001-secret-abcd" }),
            )
            .await;
        let device = &answer.data()["registerDevice"];
        assert_eq!(device["platform"], "HARMONY");
        assert_eq!(device["token"], "…abcd");
        assert!(!answer.body.to_string().contains("secret"), "the token is never shown");
        assert_eq!(
            my_devices(&app, &volunteer).await,
            vec![json!({ "platform": "HARMONY", "token": "…abcd" })]
        );
    }

    async fn a_token_moves_to_the_account_that_registers_it_last(app: TestApp) {
        let first = app.volunteer().await;
        let second = app.volunteer().await;
        register_device(&app, &first, "ANDROID", "shared-phone-token").await;
        register_device(&app, &second, "IOS", "shared-phone-token").await;
        assert!(my_devices(&app, &first).await.is_empty());
        assert_eq!(my_devices(&app, &second).await.len(), 1);
        assert_eq!(my_devices(&app, &second).await[0]["platform"], "IOS");
        // The former owner can no longer remove it; the new one can.
        assert_eq!(unregister(&app, &first, "shared-phone-token").await, false);
        assert_eq!(unregister(&app, &second, "shared-phone-token").await, true);
        assert!(my_devices(&app, &second).await.is_empty());
    }

    async fn someone_elses_token_gets_the_same_answer_as_an_unknown_one(app: TestApp) {
        let owner = app.volunteer().await;
        let stranger = app.volunteer().await;
        register_device(&app, &owner, "WEB", "owner-browser-token").await;
        let theirs = app
            .graphql_as(&stranger, UNREGISTER_DEVICE, json!({ "token": "owner-browser-token" }))
            .await;
        let unknown = app
            .graphql_as(&stranger, UNREGISTER_DEVICE, json!({ "token": "no-such-token" }))
            .await;
        assert_eq!(theirs.body, unknown.body);
        assert_eq!(theirs.data()["unregisterDevice"], false);
        assert_eq!(my_devices(&app, &owner).await.len(), 1, "the owner's device stays");
    }

    async fn a_volunteer_keeps_at_most_ten_devices_the_oldest_dropped(app: TestApp) {
        let volunteer = app.volunteer().await;
        for n in 0..11 {
            register_device(&app, &volunteer, "ANDROID", &format!("device-token-{n:02}")).await;
        }
        let devices = my_devices(&app, &volunteer).await;
        assert_eq!(devices.len(), 10);
        assert_eq!(unregister(&app, &volunteer, "device-token-00").await, false, "dropped");
        assert_eq!(unregister(&app, &volunteer, "device-token-10").await, true);
        assert_eq!(unregister(&app, &volunteer, "device-token-01").await, true);
    }

    async fn tokens_are_bounded_and_printable(app: TestApp) {
        let volunteer = app.volunteer().await;
        for token in [String::new(), "with space".to_owned(), "令牌".to_owned(), "a".repeat(513)] {
            app.graphql_as(
                &volunteer,
                REGISTER_DEVICE,
                json!({ "platform": "IOS", "token": token }),
            )
            .await
            .expect_error("BAD_USER_INPUT", Some("token"));
        }
        register_device(&app, &volunteer, "IOS", &"a".repeat(512)).await;
    }

    async fn devices_need_a_signed_in_volunteer(app: TestApp) {
        app.graphql(REGISTER_DEVICE, json!({ "platform": "IOS", "token": "anonymous-token" }))
            .await
            .expect_error("UNAUTHENTICATED", None);
        app.graphql(UNREGISTER_DEVICE, json!({ "token": "anonymous-token" }))
            .await
            .expect_error("UNAUTHENTICATED", None);
        app.graphql(MY_DEVICES, json!({}))
            .await
            .expect_error("UNAUTHENTICATED", None);
    }
}
