//! The dataset: the server (and a sibling without the Redis rank store) on a fresh PostgreSQL
//! database, the benchmark's own viewer and admin, then the generator's Foshan-shaped rows, the
//! derived tables and the Redis boards.

use std::time::{Duration, Instant};

use feihong_api::seed::generate::{self, Sizes};
use feihong_tests::{Backend, Session, TEST_PASSWORD, TestApp};
use sea_orm::DatabaseConnection;
use secrecy::ExposeSecret as _;
use serde_json::{Value, json};

const REGISTER: &str = "mutation($input: RegisterInput!) { register(input: $input) { \
    accessToken refreshToken volunteer { id } } }";

/// What the cases run against.
pub struct Prepared {
    pub app: TestApp,
    /// A node on the same database whose Redis is a closed port: leaderboards from the tallies.
    pub without_store: Option<TestApp>,
    pub db: DatabaseConnection,
    pub viewer_id: i64,
    pub admin_id: i64,
    pub city: String,
    /// Shunde: 10 of the 32 towns.
    pub district: String,
    pub generation: Duration,
}

/// The generator's statements, failing loudly: the benchmark has nobody to report to.
pub async fn exec(db: &DatabaseConnection, sql: &str) -> u64 {
    generate::exec(db, sql).await.expect("a statement")
}

pub async fn scalar(db: &DatabaseConnection, sql: &str) -> i64 {
    generate::scalar(db, sql).await.expect("a number")
}

async fn wait_for_leaderboard_store(app: &TestApp) {
    let deadline = Instant::now() + Duration::from_secs(900);
    loop {
        let body: Value = app
            .http()
            .get(app.url("/readyz"))
            .send()
            .await
            .expect("readyz answers")
            .json()
            .await
            .expect("readyz JSON");
        if body["leaderboards"] == "store" {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the leaderboard store never became ready: {body}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The benchmark's own volunteer: a member of team 1 with 10 upcoming sign-ups and 20 past
/// ones, of which one was attended and earned 60 minutes (so they rank far down).
async fn viewer_rows(db: &DatabaseConnection, viewer: i64) {
    exec(
        db,
        &format!(
            "INSERT INTO memberships (team_id, volunteer_id, role, status, created_at, updated_at) \
             VALUES (1, {viewer}, 'MEMBER', 'ACTIVE', now(), now())"
        ),
    )
    .await;
    exec(
        db,
        &format!(
            "INSERT INTO sign_ups (event_id, volunteer_id, status, starts_at, ends_at, created_at, updated_at) \
             SELECT id, {viewer}, 'CONFIRMED', starts_at, ends_at, now(), now() FROM events \
             WHERE team_id = 1 AND status = 'PUBLISHED' AND starts_at > now() ORDER BY starts_at LIMIT 10"
        ),
    )
    .await;
    exec(
        db,
        &format!(
            "INSERT INTO sign_ups (event_id, volunteer_id, status, starts_at, ends_at, created_at, updated_at) \
             SELECT id, {viewer}, CASE WHEN row_number() OVER (ORDER BY starts_at DESC) = 1 \
               THEN 'CONFIRMED' ELSE 'NO_SHOW' END, starts_at, ends_at, starts_at, starts_at FROM events \
             WHERE team_id = 1 AND status = 'COMPLETED' ORDER BY starts_at DESC LIMIT 20"
        ),
    )
    .await;
    exec(
        db,
        &format!("INSERT INTO seed_minutes (volunteer_id, minutes) VALUES ({viewer}, 60)"),
    )
    .await;
}

async fn register(app: &TestApp, phone: &str, name: &str, area_id: &str) -> Session {
    let response = app
        .graphql(
            REGISTER,
            json!({ "input": { "phone": phone, "password": TEST_PASSWORD, "displayName": name,
                               "areaId": area_id } }),
        )
        .await;
    Session::from_payload(&response.data()["register"], phone)
}

/// Waits until the statistics worker has settled every registration and sign-up it was told of.
async fn settle_statistics(db: &DatabaseConnection) {
    while scalar(
        db,
        "SELECT count(*) FROM stats_dirty WHERE kind <> 'TEAMSTART'",
    )
    .await
        > 0
    {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The servers' settings: production's pool size. Upkeep runs once at start (on empty tables)
/// and then not again: it is a background task, not a read path, and one of its queries is far
/// too slow at this size (docs/performance.md), which would load both cores for the whole run.
/// The quick-response case raises one incident after another as the benchmark's admin: their
/// hourly limit is lifted.
fn configure(config: &mut feihong_api::config::Config) {
    config.db_max_connections = 16;
    config.maintenance_interval = Duration::from_secs(24 * 3600);
    config.response.incidents_per_hour = 100_000;
}

/// Starts the servers and makes the benchmark's viewer and admin, before generation.
async fn start() -> (TestApp, TestApp) {
    let app = TestApp::spawn_configured(Backend::Postgres, "bench", configure)
        .await
        .expect("a PostgreSQL server (TEST_DATABASE_URL)");
    with_sibling(app).await
}

/// `app` and a sibling node whose Redis is a closed port.
async fn with_sibling(mut app: TestApp) -> (TestApp, TestApp) {
    assert!(
        app.config.redis_url.is_some(),
        "TEST_REDIS_URL is needed for the rank store"
    );
    // Started now, so its first upkeep pass sees empty tables.
    let real_redis = app.config.redis_url.clone();
    app.config.redis_url = Some("redis://127.0.0.1:1".to_owned());
    let without_store = app.spawn_sibling().await;
    app.config.redis_url = real_redis;
    (app, without_store)
}

/// The seed's load (keys and indexes set aside meanwhile, as `feihong seed` does), the viewer's
/// rows among the raw ones, on the seed's own connections.
async fn generate_rows(app: &TestApp, sizes: Sizes, timezone: &str, viewer_id: i64) {
    let bulk = feihong_api::seed::connect(app.config.database_url.expose_secret())
        .await
        .expect("the seed's connections");
    let viewer = async {
        viewer_rows(&bulk, viewer_id).await;
        Ok(())
    };
    feihong_api::seed::load(&bulk, sizes, timezone, viewer)
        .await
        .expect("the dataset");
    bulk.close().await.ok();
}

/// The place rows the worker builds from the generated days, then the Redis boards.
async fn derive_stores(app: &TestApp, db: &DatabaseConnection) {
    let step = Instant::now();
    let services = feihong_api::app::build_services(&app.config)
        .await
        .expect("services");
    services.stats.rebuild_places().await.expect("place rows");
    settle_statistics(db).await;
    exec(db, "ANALYZE stats_place_periods").await;
    let sets = scalar(db, "SELECT count(*) FROM stats_place_periods").await;
    println!(
        "  {:<34} {:>11} rows {:>7.1} s",
        "place rows (rebuilt at once)",
        sets,
        step.elapsed().as_secs_f64()
    );
    let step = Instant::now();
    let written = services
        .leaderboards
        .rebuild()
        .await
        .expect("leaderboard rebuild");
    services.db.clone().close().await.ok();
    wait_for_leaderboard_store(app).await;
    println!(
        "  {:<34} {:>11} rows {:>7.1} s",
        "leaderboard rebuild (Redis)",
        written,
        step.elapsed().as_secs_f64()
    );
}

/// Everything the cases need, on a database an earlier run generated and kept
/// (`--keep-database`), with its Redis keys: the servers start on it (migrating it, should the
/// code have moved on) and its statistics place rows are rebuilt with the code being measured.
pub async fn reuse(database_url: &str, redis_prefix: &str) -> Prepared {
    let app = TestApp::attach(database_url, redis_prefix, configure).await;
    let (app, without_store) = with_sibling(app).await;
    let db = app.database().await;
    let started = Instant::now();
    let services = feihong_api::app::build_services(&app.config)
        .await
        .expect("services");
    services.stats.rebuild_places().await.expect("place rows");
    services.db.clone().close().await.ok();
    settle_statistics(&db).await;
    exec(&db, "ANALYZE stats_place_periods").await;
    wait_for_leaderboard_store(&app).await;
    println!(
        "reusing {database_url}: place rows rebuilt in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    prepared(app, without_store, started.elapsed()).await
}

/// What the cases run against, once the data is in place.
async fn prepared(app: TestApp, without_store: TestApp, generation: Duration) -> Prepared {
    let db = app.database().await;
    Prepared {
        viewer_id: scalar(&db, "SELECT id FROM volunteers WHERE phone = '18800000001'").await,
        admin_id: scalar(&db, "SELECT id FROM volunteers WHERE phone = '18800000002'").await,
        city: app.area_id("440600").await,
        district: app.area_id("440606").await,
        db,
        without_store: Some(without_store),
        app,
        generation,
    }
}

/// Everything the cases need, generated at `scale`.
pub async fn prepare(scale: f64) -> Prepared {
    let (app, without_store) = start().await;
    let timezone = app.config.timezone.name().to_owned();
    let district = app.area_id("440606").await;
    register(&app, "18800000001", "基准测试志愿者", &district).await;
    app.admin("18800000002", "440600").await;
    let db = app.database().await;
    let viewer_id = scalar(&db, "SELECT id FROM volunteers WHERE phone = '18800000001'").await;
    // Let the statistics worker settle the registrations before the rollups are rewritten.
    settle_statistics(&db).await;

    println!("generating:");
    let started = Instant::now();
    generate_rows(&app, Sizes::at(scale), &timezone, viewer_id).await;
    derive_stores(&app, &db).await;
    let generation = started.elapsed();
    println!("generation took {:.1} s", generation.as_secs_f64());
    feihong_api::seed::report(&db).await.expect("sizes");
    prepared(app, without_store, generation).await
}
