//! Registration, sign-in and `me`, through HTTP, on SQLite and PostgreSQL.

use feihong_tests::{TestApp, on_every_backend};
use serde_json::json;

const REGISTER: &str = "mutation Register($input: RegisterInput!) {
  register(input: $input) { accessToken refreshToken accessTokenExpiresAt volunteer { id phone displayName area { code } roles { kind } } }
}";
const ME: &str = "{ me { id phone displayName area { code name } roles { kind area { code } } } }";
const LOGIN: &str = "mutation($phone: String!, $password: String!) {
  login(phone: $phone, password: $password) { accessToken refreshToken volunteer { id phone } }
}";
const PASSWORD: &str = "patrol-at-dusk-2026";

fn input(phone: &str, password: &str, name: &str, area: &str) -> serde_json::Value {
    json!({ "input": { "phone": phone, "password": password, "displayName": name, "areaId": area } })
}

on_every_backend! {
    async fn registering_signs_the_volunteer_in_and_me_shows_them(app: TestApp) {
        let area = app.area_id("440606").await;
        let response = app.graphql(REGISTER, input("+86 139-0000-1111", PASSWORD, "  黄飞鸿 ", &area)).await;
        let payload = &response.data()["register"];
        // The phone stored normalised and shown in full to its owner; the name trimmed.
        insta::assert_json_snapshot!("register_payload", payload, {
            ".accessToken" => "[access token]",
            ".refreshToken" => "[refresh token]",
            ".accessTokenExpiresAt" => "[in 15 minutes]",
            ".volunteer.id" => "[id]",
        });
        let expires = chrono::DateTime::parse_from_rfc3339(payload["accessTokenExpiresAt"].as_str().unwrap()).unwrap();
        let lifetime = expires.with_timezone(&chrono::Utc) - chrono::Utc::now();
        assert!(lifetime <= chrono::Duration::minutes(15) && lifetime > chrono::Duration::minutes(14));

        let token = payload["accessToken"].as_str().unwrap();
        let me = app.graphql_from(Some(token), "10.0.0.1", ME, json!({})).await;
        let me = &me.data()["me"];
        assert_eq!(me["id"], payload["volunteer"]["id"]);
        assert_eq!(me["phone"], "13900001111");
        assert_eq!(me["area"]["name"], "顺德区");
    }

    async fn me_is_null_for_an_anonymous_caller(app: TestApp) {
        assert_eq!(app.graphql(ME, json!({})).await.data()["me"], json!(null));
    }

    async fn a_phone_that_is_not_a_mainland_mobile_is_refused_naming_the_field(app: TestApp) {
        let area = app.area_id("440604").await;
        for phone in ["12345", "23800001111", "+1 202 555 0123", "1380000111a"] {
            app.graphql(REGISTER, input(phone, PASSWORD, "x", &area)).await
                .expect_error("BAD_USER_INPUT", Some("input.phone"));
        }
    }

    async fn short_long_and_common_passwords_are_refused(app: TestApp) {
        let area = app.area_id("440604").await;
        let too_long = "x".repeat(129);
        for password in ["short1", too_long.as_str(), "password123", "12345678", "Woaini1314", "19880808"] {
            app.graphql(REGISTER, input("13800000001", password, "x", &area)).await
                .expect_error("BAD_USER_INPUT", Some("input.password"));
        }
        let login = app.graphql(LOGIN, json!({ "phone": "13800000001", "password": PASSWORD })).await;
        login.expect_error("UNAUTHENTICATED", None);
    }

    async fn display_names_and_areas_are_checked(app: TestApp) {
        let area = app.area_id("440604").await;
        app.graphql(REGISTER, input("13800000002", PASSWORD, "   ", &area)).await
            .expect_error("BAD_USER_INPUT", Some("input.displayName"));
        app.graphql(REGISTER, input("13800000002", PASSWORD, &"名".repeat(41), &area)).await
            .expect_error("BAD_USER_INPUT", Some("input.displayName"));
        app.graphql(REGISTER, input("13800000002", PASSWORD, "ok", "not-an-id")).await
            .expect_error("BAD_USER_INPUT", Some("input.areaId"));
        let me = app.register("13800000003", "someone").await;
        app.graphql(REGISTER, input("13800000002", PASSWORD, "ok", &me.volunteer_id)).await
            .expect_error("BAD_USER_INPUT", Some("input.areaId"));
    }

    async fn a_phone_can_register_only_once_however_it_is_written(app: TestApp) {
        let area = app.area_id("440604").await;
        app.graphql(REGISTER, input("13800000004", PASSWORD, "first", &area)).await.data();
        let again = app.graphql(REGISTER, input("+86 138 0000 0004", "another-fine-password", "second", &area)).await;
        again.expect_error("CONFLICT", None);
        assert!(again.error_message().contains("already registered"));
    }

    async fn concurrent_registrations_of_one_phone_create_one_account(app: TestApp) {
        let area = app.area_id("440604").await;
        let attempts = (0..8).map(|n| {
            let variables = input("13800000005", PASSWORD, &format!("racer {n}"), &area);
            let app = &app;
            async move { app.graphql(REGISTER, variables).await }
        });
        let responses = futures::future::join_all(attempts).await;
        let created = responses.iter().filter(|r| r.body.get("errors").is_none()).count();
        assert_eq!(created, 1, "{responses:?}");
        for response in responses.iter().filter(|r| r.body.get("errors").is_some()) {
            response.expect_error("CONFLICT", None);
        }
    }

    async fn login_with_the_right_password_signs_in(app: TestApp) {
        let registered = app.register("13800000006", "patroller").await;
        let response = app.graphql(LOGIN, json!({ "phone": "+8613800000006", "password": PASSWORD })).await;
        let login = &response.data()["login"];
        assert_eq!(login["volunteer"]["id"], registered.volunteer_id.as_str());
        assert_eq!(login["volunteer"]["phone"], "13800000006");
        assert_ne!(login["refreshToken"], registered.refresh_token.as_str());
    }

    async fn a_wrong_password_and_an_unknown_phone_get_the_same_answer(app: TestApp) {
        app.register("13800000007", "patroller").await;
        let wrong = app.graphql(LOGIN, json!({ "phone": "13800000007", "password": "not-the-password" })).await;
        let unknown = app.graphql(LOGIN, json!({ "phone": "13899999999", "password": PASSWORD })).await;
        wrong.expect_error("UNAUTHENTICATED", None);
        unknown.expect_error("UNAUTHENTICATED", None);
        assert_eq!(wrong.body, unknown.body);
        app.graphql(LOGIN, json!({ "phone": "555", "password": PASSWORD })).await
            .expect_error("BAD_USER_INPUT", Some("phone"));
    }

    async fn teammates_see_a_volunteers_name_but_not_their_phone_and_strangers_see_nothing(app: TestApp) {
        let team = app.team("飞鸿巡逻队", "440604", "OPEN").await;
        let (alice, bob) = (app.member(&team).await, app.member(&team).await);
        let stranger = app.register("13800000009", "stranger").await;
        let query = "query($id: ID!) { node(id: $id) { id ... on Volunteer { displayName phone roles { kind } } } }";
        let seen = app.graphql_as(&bob, query, json!({ "id": alice.volunteer_id })).await;
        assert!(seen.data()["node"]["displayName"].as_str().unwrap().starts_with("志愿者"));
        assert_eq!(seen.data()["node"]["phone"], serde_json::Value::Null);
        assert_eq!(seen.data()["node"]["roles"], json!([]));
        let own = app.graphql_as(&alice, query, json!({ "id": alice.volunteer_id })).await;
        assert_eq!(own.data()["node"]["phone"], alice.phone.as_str());
        let unrelated = app.graphql_as(&stranger, query, json!({ "id": alice.volunteer_id })).await;
        assert_eq!(unrelated.data()["node"], serde_json::Value::Null);
        let anonymous = app.graphql(query, json!({ "id": alice.volunteer_id })).await;
        assert_eq!(anonymous.data()["node"], serde_json::Value::Null);
    }

    async fn an_admin_sees_their_role_and_its_area_in_me(app: TestApp) {
        let admin = app.admin("13700000001", "440605").await;
        let me = app.graphql_as(&admin, ME, json!({})).await;
        assert_eq!(me.data()["me"]["roles"], json!([{ "kind": "ADMIN", "area": { "code": "440605" } }]));
        let volunteer = app.register("13700000002", "plain").await;
        assert_eq!(app.graphql_as(&volunteer, ME, json!({})).await.data()["me"]["roles"], json!([]));
    }

    async fn a_password_that_is_the_phone_number_or_holds_control_characters_is_refused(app: TestApp) {
        let area = app.area_id("440604").await;
        for password in ["13800000031", "+86 138 0000 0031", "8613800000031", "138-0000-0031", "patrol\u{7}at-dusk", "patrol-at\ndusk", "\u{1b}[2Jpatrol-dusk"] {
            app.graphql(REGISTER, input("13800000031", password, "x", &area)).await
                .expect_error("BAD_USER_INPUT", Some("input.password"));
        }
        // Nothing was created: the phone is still free.
        app.graphql(REGISTER, input("13800000031", PASSWORD, "x", &area)).await.data();
    }

    async fn display_names_with_bidirectional_controls_or_nothing_visible_are_refused(app: TestApp) {
        let area = app.area_id("440604").await;
        for name in ["admin\u{202E}nimda", "\u{2066}黄飞鸿\u{2069}", "黄\u{200F}飞鸿", "\u{200B}\u{200B}", "\u{3164}", "\u{115F}\u{1160}", "\u{FEFF}", "\u{2060}\u{FE0F}"] {
            app.graphql(REGISTER, input("13800000032", PASSWORD, name, &area)).await
                .expect_error("BAD_USER_INPUT", Some("input.displayName"));
        }
        let me = app.register("13800000032", "黄飞鸿").await;
        let rename = "mutation($name: String) { updateMyProfile(displayName: $name) { displayName } }";
        for name in ["\u{202E}鸿飞黄", "\u{3164}\u{3164}"] {
            app.graphql_as(&me, rename, json!({ "name": name })).await
                .expect_error("BAD_USER_INPUT", Some("displayName"));
        }
        let renamed = app.graphql_as(&me, rename, json!({ "name": "黄师傅 👍" })).await;
        assert_eq!(renamed.data()["updateMyProfile"]["displayName"], "黄师傅 👍");
    }
}
