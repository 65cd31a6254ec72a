//! `feihong seed --scale S`: a Foshan-shaped dataset written into an empty PostgreSQL database,
//! with everything the services derive from it, so every screen answers from it at once; never
//! into a database that holds events, never into SQLite.

use std::time::Duration;

use feihong_tests::{Backend, TestApp};
use serde_json::json;

/// A node whose upkeep does not run meanwhile (as in the benchmark).
async fn quiet_app(backend: Backend, test: &str) -> Option<TestApp> {
    TestApp::spawn_configured(backend, test, |config| {
        config.maintenance_interval = Duration::from_secs(24 * 3600);
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seeded_database_answers_every_screen_and_is_not_seeded_twice() {
    let Some(app) = quiet_app(Backend::Postgres, "seed_postgres").await else {
        return;
    };
    // 5 teams, 840 volunteers, 450 events.
    feihong_api::seed::run(&app.config, 0.0005)
        .await
        .expect("seeded");

    let admin = app.admin("18800000002", "440600").await;
    let events = app
        .graphql_as(
            &admin,
            "{ events(first: 5) { totalCount nodes { id } } }",
            json!({}),
        )
        .await;
    assert!(
        events.data()["events"]["totalCount"].as_i64().unwrap() > 0,
        "{}",
        events.body
    );
    let teams = app
        .graphql_as(&admin, "{ teams(first: 10) { totalCount } }", json!({}))
        .await;
    assert_eq!(teams.data()["teams"]["totalCount"], 5, "{}", teams.body);
    let board = app
        .graphql_as(
            &admin,
            "{ leaderboard(scope: {city: true}, period: ALL_TIME, first: 5) { total entries { minutes } } }",
            json!({}),
        )
        .await;
    assert!(
        board.data()["leaderboard"]["total"].as_i64().unwrap() > 0,
        "{}",
        board.body
    );
    assert!(
        board.data()["leaderboard"]["entries"][0]["minutes"]
            .as_i64()
            .unwrap()
            > 0
    );
    // A newcomer registers beside the generated accounts (the id sequences moved past them).
    let newcomer = app.volunteer().await;
    let me = app
        .graphql_as(&newcomer, "{ me { serviceMinutes } }", json!({}))
        .await;
    assert_eq!(me.data()["me"]["serviceMinutes"], 0);

    let again = feihong_api::seed::run(&app.config, 0.0005)
        .await
        .unwrap_err();
    assert!(again.to_string().contains("seed an empty one"), "{again:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeding_is_refused_on_sqlite() {
    let Some(app) = quiet_app(Backend::Sqlite, "seed_sqlite").await else {
        return;
    };
    let refused = feihong_api::seed::run(&app.config, 0.001)
        .await
        .unwrap_err();
    assert!(
        refused.to_string().contains("PostgreSQL only"),
        "{refused:#}"
    );
}
