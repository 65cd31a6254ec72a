//! `feihong seed --scale S`: a Foshan-shaped dataset written into an empty PostgreSQL database,
//! with everything the services derive from it, so every screen answers from it at once; never
//! into a database that holds events, never into SQLite.

use std::time::Duration;

use feihong_tests::{Backend, TestApp};
use sea_orm::{ConnectionTrait as _, DatabaseConnection, Statement};
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

/// The marks of place rows and of the rows united over districts and the city.
const PLACE_MARKS: &str =
    "'PLACE', 'PLACEW', 'PLACEM', 'DISTD', 'DISTW', 'DISTM', 'CITYD', 'CITYW', 'CITYM'";

/// Every row (a place's own and those united over a district and the city), one line each (the set of active volunteers in hex), in a fixed order.
async fn place_rows(db: &DatabaseConnection) -> Vec<String> {
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT concat_ws('|', span, period, period_key, district_id, town_id, team_kind, events_held, \
               sign_ups, attended, no_shows, approved_minutes, new_volunteers, \
               encode(volunteers, 'hex')) AS line \
             FROM stats_place_periods \
             ORDER BY span, period, period_key, district_id, town_id, team_kind",
        ))
        .await
        .expect("place rows");
    rows.iter()
        .map(|row| row.try_get::<String>("", "line").expect("a line"))
        .collect()
}

async fn count(db: &DatabaseConnection, sql: &str) -> i64 {
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .expect("a count")
        .expect("a row");
    row.try_get_by_index::<i64>(0).expect("a number")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seed_s_place_rows_are_the_ones_the_statistics_worker_builds_day_by_day() {
    let Some(app) = quiet_app(Backend::Postgres, "seed_places").await else {
        return;
    };
    feihong_api::seed::run(&app.config, 0.0005)
        .await
        .expect("seeded");
    let services = feihong_api::app::build_services(&app.config)
        .await
        .expect("services");
    let db = &services.db;
    assert_eq!(
        count(
            db,
            &format!("SELECT count(*) FROM stats_dirty WHERE kind IN ({PLACE_MARKS})")
        )
        .await,
        0,
        "the seed leaves the worker no place marks"
    );
    let seeded = place_rows(db).await;
    for span in ["PLACE|", "DISTRICT|", "CITY|"] {
        for period in ["DAY|", "WEEK|", "MONTH|", "YEAR|"] {
            assert!(
                seeded
                    .iter()
                    .any(|line| line.starts_with(&format!("{span}{period}"))),
                "{span}{period}"
            );
        }
    }
    // United rows carry every kind together (`*`) beside each kind.
    assert!(
        count(
            db,
            "SELECT count(*) FROM stats_place_periods WHERE span = 'CITY' AND team_kind = '*'"
        )
        .await
            > 0
    );
    // Some rows hold sets of several volunteers; registration rows (no team kind) exist.
    assert!(
        count(
            db,
            "SELECT count(*) FROM stats_place_periods WHERE length(volunteers) > 40"
        )
        .await
            > 0
    );
    assert!(
        count(
            db,
            "SELECT count(*) FROM stats_place_periods WHERE team_kind = ''"
        )
        .await
            > 0
    );

    // The worker rebuilds every place's day, then its weeks, months and years, and then its
    // district's and the city's, from the marks the migrations that introduced the place rows
    // and the united rows write.
    db.execute_unprepared(
        "DELETE FROM stats_place_periods; \
         INSERT INTO stats_dirty (kind, ref_id, day, generation) \
         SELECT DISTINCT 'PLACE', CASE WHEN town_id <> 0 THEN town_id ELSE district_id END, day, 1 \
         FROM (SELECT district_id, town_id, day FROM stats_team_days \
               UNION SELECT district_id, town_id, day FROM stats_area_days) AS days",
    )
    .await
    .expect("place rows forgotten, days marked");
    loop {
        let tried = services.stats.refresh().await.expect("a round");
        let left = count(
            db,
            &format!("SELECT count(*) FROM stats_dirty WHERE kind IN ({PLACE_MARKS})"),
        )
        .await;
        if tried == 0 && left == 0 {
            break;
        }
        if tried == 0 {
            // Marks another worker (the node's own) holds.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let rebuilt = place_rows(db).await;
    assert_eq!(seeded.len(), rebuilt.len());
    for (at_once, by_the_worker) in seeded.iter().zip(&rebuilt) {
        assert_eq!(at_once, by_the_worker);
    }
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
