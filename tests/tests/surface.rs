//! The hardened GraphQL surface: transport rules, document limits, error codes, Relay nodes, the
//! area tree, health endpoints and the checked-in schema.

use feihong_tests::{Backend, TestApp, on_every_backend};
use sea_orm::ConnectionTrait as _;
use secrecy::ExposeSecret as _;
use serde_json::{Value, json};

async fn post_raw(
    app: &TestApp,
    content_type: &str,
    body: impl Into<reqwest::Body>,
) -> (u16, String) {
    let response = app
        .http()
        .post(app.url("/graphql"))
        .header("content-type", content_type)
        .header("accept-language", "en")
        .body(body)
        .send()
        .await
        .expect("server answers");
    (
        response.status().as_u16(),
        response.text().await.unwrap_or_default(),
    )
}

async fn still_serving(app: &TestApp) {
    let response = app.graphql("{ areas { code } }", json!({})).await;
    assert_eq!(response.data()["areas"][0]["code"], "440600");
}

on_every_backend! {
    async fn only_a_json_post_executes_an_operation(app: TestApp) {
        let query = r#"{"query":"{ areas { code } }"}"#;
        for content_type in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/graphql"] {
            let (status, _) = post_raw(&app, content_type, query).await;
            assert_eq!(status, 415, "{content_type}");
        }
        let (status, body) = post_raw(&app, "application/json; charset=utf-8", query).await;
        assert_eq!(status, 200);
        assert!(body.contains("440600"));

        // GET never executes: in development it serves GraphiQL.
        let get = app.http().get(app.url("/graphql?query=%7B%20areas%20%7B%20code%20%7D%20%7D")).send().await.unwrap();
        assert_eq!(get.status().as_u16(), 200);
        let page = get.text().await.unwrap();
        assert!(page.contains("graphiql") && !page.contains("440600"));
    }

    async fn batches_and_malformed_bodies_are_refused(app: TestApp) {
        let (status, body) = post_raw(&app, "application/json", r#"[{"query":"{ areas { code } }"},{"query":"{ areas { code } }"}]"#).await;
        assert_eq!(status, 400);
        assert!(body.contains("BAD_USER_INPUT") && body.contains("batch"));
        let (status, body) = post_raw(&app, "application/json", "{not json").await;
        assert_eq!(status, 400);
        assert!(body.contains("BAD_USER_INPUT"));
    }

    async fn a_ten_thousand_level_document_is_refused_and_the_server_keeps_serving(app: TestApp) {
        let query = format!("{}{}", "{a".repeat(10_000), "}".repeat(10_000));
        assert!(query.len() < 64 * 1024);
        let response = app.graphql(&query, json!({})).await;
        response.expect_error("BAD_USER_INPUT", None);
        assert!(response.error_message().contains("nests"), "{}", response.body);
        still_serving(&app).await;
    }

    async fn a_five_thousand_alias_document_is_refused(app: TestApp) {
        let query = format!("{{ {} }}", (0..5_000).map(|n| format!("a{n}:me")).collect::<Vec<_>>().join(" "));
        assert!(query.len() < 64 * 1024);
        let response = app.graphql(&query, json!({})).await;
        response.expect_error("BAD_USER_INPUT", None);
        assert!(response.error_message().contains("aliases"), "{}", response.body);
        still_serving(&app).await;
    }

    async fn a_ten_megabyte_body_is_refused_before_it_is_read(app: TestApp) {
        let padding = "x".repeat(10 * 1024 * 1024);
        let body = format!(r#"{{"query":"{{ areas {{ code }} }}","variables":{{"pad":"{padding}"}}}}"#);
        let outcome = app.http().post(app.url("/graphql")).header("content-type", "application/json").body(body).send().await;
        // The server answers 413 as soon as it sees the length; the client may still be writing,
        // in which case it sees the connection closed instead. Either way nothing was executed.
        if let Ok(response) = outcome {
            assert_eq!(response.status().as_u16(), 413);
        }
        still_serving(&app).await;
    }

    async fn depth_complexity_and_directive_limits_apply(app: TestApp) {
        let deep = format!("{{ areas {{ {}code{} }} }}", "children { ".repeat(12), " }".repeat(12));
        app.graphql(&deep, json!({})).await.expect_error("BAD_USER_INPUT", None);
        let directives = format!("{{ areas {{ code {} }} }}", "@include(if: true) ".repeat(10));
        app.graphql(&directives, json!({})).await.expect_error("BAD_USER_INPUT", None);
        let fine = "{ areas { children { children { code parent { code } } } } }";
        assert_eq!(app.graphql(fine, json!({})).await.data()["areas"][0]["children"].as_array().unwrap().len(), 5);
    }

    async fn client_mistakes_carry_a_code_and_internal_failures_hide_their_cause(app: TestApp) {
        let unknown_field = app.graphql("{ nope }", json!({})).await;
        unknown_field.expect_error("BAD_USER_INPUT", None);
        let missing_variable = app.graphql("mutation($t: String!) { logout(refreshToken: $t) }", json!({})).await;
        missing_variable.expect_error("BAD_USER_INPUT", None);

        // Break the database under the server: the client learns only that it failed, and the id
        // under which it was logged.
        let db = sea_orm::Database::connect(app.config.database_url.expose_secret()).await.unwrap();
        db.execute_unprepared("DROP TABLE refresh_tokens").await.unwrap();
        db.close().await.ok();
        let failed = app.graphql("mutation { refreshSession(refreshToken: \"abc\") { accessToken } }", json!({})).await;
        failed.expect_error("INTERNAL", None);
        let text = failed.body.to_string();
        assert!(!text.contains("refresh_tokens") && !text.to_lowercase().contains("sql"), "{text}");
        let request_id = failed.body["errors"][0]["extensions"]["requestId"].as_str().unwrap();
        assert_eq!(request_id.len(), 36, "a request id names the log entry: {text}");
    }

    async fn responses_carry_a_request_id(app: TestApp) {
        let response = app.http().post(app.url("/graphql")).json(&json!({ "query": "{ me { id } }" })).send().await.unwrap();
        assert!(response.headers().get("x-request-id").is_some());
        assert_eq!(response.headers().get("cache-control").unwrap(), "no-store");
    }

    async fn the_area_tree_has_the_city_five_districts_and_thirty_two_towns(app: TestApp) {
        let tree = app.graphql("{ areas { code name nameEn level children { code name nameEn level parent { code } children { code } } } }", json!({})).await;
        let city = &tree.data()["areas"];
        let towns: usize = city[0]["children"].as_array().unwrap().iter().map(|d| d["children"].as_array().unwrap().len()).sum();
        assert_eq!((city[0]["children"].as_array().unwrap().len(), towns), (5, 32));
        insta::assert_json_snapshot!("area_tree", tree.data());
        // Children are also found by their parent's id.
        let districts = app.graphql("query($p: ID) { areas(parentId: $p) { code } }", json!({ "p": app.area_id("440600").await })).await;
        assert_eq!(districts.data()["areas"].as_array().unwrap().len(), 5);
    }

    async fn area_arguments_are_checked(app: TestApp) {
        app.graphql("{ areas(parentId: \"zzz\") { code } }", json!({})).await.expect_error("BAD_USER_INPUT", Some("parentId"));
        let volunteer = app.register("13500000001", "v").await;
        app.graphql("query($p: ID) { areas(parentId: $p) { code } }", json!({ "p": volunteer.volunteer_id })).await
            .expect_error("BAD_USER_INPUT", Some("parentId"));
    }

    async fn node_fetches_areas_for_anyone_and_checks_everything_else(app: TestApp) {
        let shunde = app.area_id("440606").await;
        let query = "query($id: ID!) { node(id: $id) { id ... on Area { code } ... on Volunteer { displayName } } }";
        let area = app.graphql(query, json!({ "id": shunde })).await;
        assert_eq!(area.data()["node"], json!({ "id": shunde, "code": "440606" }));
        app.graphql(query, json!({ "id": "bm90IGFuIGlk" })).await.expect_error("BAD_USER_INPUT", Some("id"));
        let volunteer = app.register("13500000002", "v").await;
        let missing = volunteer.volunteer_id.replace('y', "z");
        let outcome = app.graphql_as(&volunteer, query, json!({ "id": missing })).await;
        // Either not one of our IDs at all, or one naming nobody: never someone else's data.
        if outcome.body.get("errors").is_some() {
            outcome.expect_error("BAD_USER_INPUT", Some("id"));
        } else {
            assert_eq!(outcome.data()["node"], Value::Null);
        }
    }

    async fn health_and_readiness_answer(app: TestApp) {
        let health = app.http().get(app.url("/healthz")).send().await.unwrap();
        assert_eq!(health.status().as_u16(), 200);
        let ready = app.http().get(app.url("/readyz")).send().await.unwrap();
        assert_eq!(ready.status().as_u16(), 200);
        let body: Value = ready.json().await.unwrap();
        assert_eq!(body["database"], "ok");
        let expected_redis = if app.config.redis_url.is_some() { "ok" } else { "not configured" };
        assert_eq!(body["redis"], expected_redis);
    }
}

#[tokio::test]
async fn readiness_fails_while_the_configured_redis_is_unreachable() {
    let app = TestApp::spawn_configured(Backend::Sqlite, "readyz", |config| {
        config.redis_url = Some("redis://127.0.0.1:1".to_owned());
    })
    .await
    .unwrap();
    let ready = app.http().get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status().as_u16(), 503);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["redis"], "unavailable");
    assert_eq!(body["database"], "ok");
    // Sign-in still works, and its failure limit falls back to this node's own counters.
    let session = app.register("13500000003", "resilient").await;
    app.login(&session.phone).await;
}

#[tokio::test]
async fn production_mode_hides_graphiql_and_introspection() {
    let app = TestApp::spawn_configured(Backend::Sqlite, "production", |config| {
        config.graphiql = false;
        config.introspection = false;
    })
    .await
    .unwrap();
    let get = app.http().get(app.url("/graphql")).send().await.unwrap();
    assert_eq!(get.status().as_u16(), 405);
    let introspection = app
        .graphql("{ __schema { types { name } } }", json!({}))
        .await;
    assert_eq!(introspection.data()["__schema"], Value::Null);
    still_serving(&app).await;
}

#[test]
fn the_checked_in_schema_is_the_served_schema() {
    let checked_in = include_str!("../../schema.graphql");
    let served = feihong_api::graphql::sdl();
    assert!(
        checked_in == served,
        "schema.graphql differs from the served schema; run `cargo run -p feihong-api -- export-schema > schema.graphql`"
    );
}
