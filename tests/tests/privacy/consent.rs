//! `privacyPolicy`, `RegisterInput.acceptedPolicyVersion`, `acceptPrivacyPolicy` and
//! `me { acceptedPolicyVersion acceptedPolicyAt }`.

use feihong_api::config::default_privacy;
use feihong_tests::{Backend, Session, TEST_PASSWORD, TestApp, on_every_backend};
use serde_json::{Value, json};

const REGISTER: &str = "mutation($input: RegisterInput!) { register(input: $input) { accessToken refreshToken volunteer { id } } }";

fn register_variables(phone: &str, password: &str, name: &str, area: &str) -> Value {
    json!({ "input": { "phone": phone, "password": password, "displayName": name, "areaId": area } })
}

const ME: &str = "{ me { acceptedPolicyVersion acceptedPolicyAt } }";
const ACCEPT: &str = "mutation($v: String!) { acceptPrivacyPolicy(version: $v) { acceptedPolicyVersion acceptedPolicyAt } }";

fn current_version() -> String {
    default_privacy().policy_version
}

on_every_backend! {
    async fn the_policy_in_force_is_served_to_anyone(app: TestApp) {
        let policy = app.graphql("{ privacyPolicy { version url } }", json!({})).await;
        let policy = &policy.data()["privacyPolicy"];
        assert_eq!(policy["version"], current_version());
        assert_eq!(policy["url"], default_privacy().policy_url);
    }

    async fn a_registration_records_the_version_accepted_and_when(app: TestApp) {
        let area = app.area_id("440604").await;
        let mut variables = register_variables("13800000001", TEST_PASSWORD, "黄飞鸿", &area);
        variables["input"]["acceptedPolicyVersion"] = json!(current_version());
        let response = app.graphql(REGISTER, variables).await;
        let session = Session::from_payload(&response.data()["register"], "13800000001");
        let me = app.graphql_as(&session, ME, json!({})).await;
        assert_eq!(me.data()["me"]["acceptedPolicyVersion"], current_version());
        assert!(me.data()["me"]["acceptedPolicyAt"].is_string(), "{}", me.body);
    }

    async fn a_registration_without_a_version_records_none_and_the_app_can_ask(app: TestApp) {
        let session = app.register("13800000002", "梁宽").await;
        let me = app.graphql_as(&session, ME, json!({})).await;
        assert_eq!(me.data()["me"]["acceptedPolicyVersion"], Value::Null);
        assert_eq!(me.data()["me"]["acceptedPolicyAt"], Value::Null);

        let accepted = app.graphql_as(&session, ACCEPT, json!({ "v": current_version() })).await;
        assert_eq!(accepted.data()["acceptPrivacyPolicy"]["acceptedPolicyVersion"], current_version());
        let me = app.graphql_as(&session, ME, json!({})).await;
        assert_eq!(me.data()["me"]["acceptedPolicyVersion"], current_version());
        assert!(me.data()["me"]["acceptedPolicyAt"].is_string(), "{}", me.body);
    }

    async fn only_the_version_in_force_may_be_accepted(app: TestApp) {
        let area = app.area_id("440604").await;
        let mut variables = register_variables("13800000003", TEST_PASSWORD, "十三姨", &area);
        variables["input"]["acceptedPolicyVersion"] = json!("2020-01-01");
        app.graphql(REGISTER, variables).await
            .expect_error("BAD_USER_INPUT", Some("input.acceptedPolicyVersion"));
        // Nothing was registered: the phone is still free.
        let session = app.register("13800000003", "十三姨").await;

        app.graphql_as(&session, ACCEPT, json!({ "v": "2020-01-01" })).await
            .expect_error("BAD_USER_INPUT", Some("version"));
        let me = app.graphql_as(&session, ME, json!({})).await;
        assert_eq!(me.data()["me"]["acceptedPolicyVersion"], Value::Null);
    }

    async fn accepting_needs_a_signed_in_volunteer(app: TestApp) {
        app.graphql(ACCEPT, json!({ "v": current_version() })).await
            .expect_error("UNAUTHENTICATED", None);
    }

    async fn the_version_is_seen_by_the_volunteer_only(app: TestApp) {
        let team = app.team("祖庙巡逻队", "440604", "OPEN").await;
        let member = app.member(&team).await;
        app.graphql_as(&member, ACCEPT, json!({ "v": current_version() })).await.data();
        let seen = app.graphql_as(&team.leader,
            "query($id: ID!) { node(id: $id) { ... on Volunteer { acceptedPolicyVersion acceptedPolicyAt } } }",
            json!({ "id": member.volunteer_id })).await;
        assert_eq!(seen.data()["node"]["acceptedPolicyVersion"], Value::Null, "{}", seen.body);
        assert_eq!(seen.data()["node"]["acceptedPolicyAt"], Value::Null);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_policy_version_is_served_and_the_old_acceptance_shows_it_is_stale() {
    let Some(app) = TestApp::spawn_configured(Backend::Sqlite, module_path!(), |config| {
        config.privacy.policy_version = "2027-01-01".to_owned();
    })
    .await
    else {
        return;
    };
    let policy = app
        .graphql("{ privacyPolicy { version } }", json!({}))
        .await;
    assert_eq!(policy.data()["privacyPolicy"]["version"], "2027-01-01");
    let session = app.register("13800000004", "鬼脚七").await;
    app.graphql_as(&session, ACCEPT, json!({ "v": current_version() }))
        .await
        .expect_error("BAD_USER_INPUT", Some("version"));
    app.graphql_as(&session, ACCEPT, json!({ "v": "2027-01-01" }))
        .await
        .data();
}
