//! Read-path benchmark: a Foshan-shaped dataset at `--scale`, then a fixed number of requests per
//! case against the real server, reported as throughput and p50/p99, also as ratios to a trivial
//! baseline request measured in the same run (the machines are shared and noisy: compare the
//! ratios, not the milliseconds). Method and numbers: docs/performance.md.
//!
//! ```text
//! TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres TEST_REDIS_URL=redis://127.0.0.1:6379 \
//!   cargo run --release -p feihong-tests --bin bench -- --scale 0.05
//! ```

#[path = "bench/measure.rs"]
mod measure;

use std::time::{Duration, Instant};

use chrono::{Months, Utc};
use clap::Parser;
use feihong_tests::{Backend, Session, TEST_PASSWORD, TestApp};
use sea_orm::DatabaseConnection;
use secrecy::ExposeSecret as _;
use serde_json::{Value, json};

use feihong_api::seed::generate::{self, Sizes};
use measure::{Case, Measured};

#[derive(Parser, Debug)]
#[command(about = "Feihong read-path benchmark (PostgreSQL + Redis, in-process server)")]
struct Args {
    /// Dataset size as a fraction of Foshan (1.0 = 1.68 M volunteers, 8,500 teams, 900 K events,
    /// ≈ 12 M sign-ups, ≈ 10 M service records).
    #[arg(long, default_value_t = 0.05)]
    scale: f64,
    /// Requests per case (the baseline runs 4×, the slow cases a quarter).
    #[arg(long, default_value_t = 400)]
    requests: usize,
    /// Concurrent clients.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Unmeasured requests per client and case before measuring.
    #[arg(long, default_value_t = 10)]
    warmup: usize,
    /// Leave the generated database in place (and print its URL) for EXPLAIN ANALYZE afterwards.
    #[arg(long)]
    keep_database: bool,
}

const REGISTER: &str = "mutation($input: RegisterInput!) { register(input: $input) { \
    accessToken refreshToken volunteer { id } } }";

/// The generator's statements, failing loudly: the benchmark has nobody to report to.
async fn exec(db: &DatabaseConnection, sql: &str) -> u64 {
    generate::exec(db, sql).await.expect("a statement")
}

async fn scalar(db: &DatabaseConnection, sql: &str) -> i64 {
    generate::scalar(db, sql).await.expect("a number")
}

fn gql(query: &str, variables: Value) -> Value {
    json!({ "query": query, "variables": variables })
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

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args = Args::parse();
    // Quiet by default: a node without Redis warns every second, and the generator's big
    // statements trip sqlx's slow-statement warning. RUST_LOG overrides.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("error")),
        )
        .try_init();
    assert!(
        args.scale > 0.0 && args.scale <= 1.0,
        "--scale must be in (0, 1]"
    );
    for name in ["TEST_DATABASE_URL", "TEST_REDIS_URL"] {
        assert!(
            std::env::var(name).is_ok_and(|value| !value.trim().is_empty()),
            "{name} must be set (e.g. TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
             TEST_REDIS_URL=redis://127.0.0.1:6379)"
        );
    }
    let sizes = Sizes::at(args.scale);
    println!(
        "feihong bench: scale {} ({} volunteers, {} teams, {} events), {} requests/case, {} clients",
        args.scale, sizes.volunteers, sizes.teams, sizes.events, args.requests, args.concurrency
    );

    // Production's pool size. Upkeep runs once at start (on empty tables) and then not again:
    // it is a background task, not a read path, and one of its queries is far too slow at this
    // size (docs/performance.md), which would load both cores for the whole run.
    let mut app = TestApp::spawn_configured(Backend::Postgres, "bench", |config| {
        config.db_max_connections = 16;
        config.maintenance_interval = Duration::from_secs(24 * 3600);
    })
    .await
    .expect("a PostgreSQL server (TEST_DATABASE_URL)");
    assert!(
        app.config.redis_url.is_some(),
        "TEST_REDIS_URL is needed for the rank store"
    );
    // A second node on the same database whose Redis is a closed port: its leaderboards are
    // answered from the tallies table. Started now, so its first upkeep pass sees empty tables.
    let real_redis = app.config.redis_url.clone();
    app.config.redis_url = Some("redis://127.0.0.1:1".to_owned());
    let without_store = app.spawn_sibling().await;
    app.config.redis_url = real_redis;

    let timezone = app.config.timezone.name().to_owned();
    let city = app.area_id("440600").await;
    let district = app.area_id("440606").await; // Shunde: 10 of the 32 towns.
    let viewer = register(&app, "18800000001", "基准测试志愿者", &district).await;
    let admin = app.admin("18800000002", "440600").await;
    let db = app.database().await;
    let viewer_id = scalar(&db, "SELECT id FROM volunteers WHERE phone = '18800000001'").await;
    // Let the statistics worker settle the registrations before the rollups are rewritten.
    while scalar(
        &db,
        "SELECT count(*) FROM stats_dirty WHERE kind <> 'TEAMSTART'",
    )
    .await
        > 0
    {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    println!("generating:");
    let started = Instant::now();
    generate::raw(&db, sizes, &timezone)
        .await
        .expect("raw rows");
    viewer_rows(&db, viewer_id).await;
    generate::attendance_and_records(&db, &timezone)
        .await
        .expect("attendances and records");
    generate::derived(&db, &timezone)
        .await
        .expect("derived tables");
    generate::drop_helpers(&db).await.expect("helpers dropped");
    generate::fix_sequences(&db).await.expect("sequences");
    let step = Instant::now();
    exec(&db, "VACUUM ANALYZE").await;
    println!(
        "  {:<34} {:>16} {:>7.1} s",
        "VACUUM ANALYZE",
        "",
        step.elapsed().as_secs_f64()
    );
    let step = Instant::now();
    while scalar(
        &db,
        "SELECT count(*) FROM stats_dirty WHERE kind <> 'TEAMSTART'",
    )
    .await
        > 0
    {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    exec(&db, "ANALYZE stats_place_periods").await;
    let sets = scalar(&db, "SELECT count(*) FROM stats_place_periods").await;
    println!(
        "  {:<34} {:>11} rows {:>7.1} s",
        "place rows (built by the worker)",
        sets,
        step.elapsed().as_secs_f64()
    );
    let step = Instant::now();
    let services = feihong_api::app::build_services(&app.config)
        .await
        .expect("services");
    let written = services
        .leaderboards
        .rebuild()
        .await
        .expect("leaderboard rebuild");
    services.db.clone().close().await.ok();
    wait_for_leaderboard_store(&app).await;
    println!(
        "  {:<34} {:>11} rows {:>7.1} s",
        "leaderboard rebuild (Redis)",
        written,
        step.elapsed().as_secs_f64()
    );
    let generation = started.elapsed();
    println!("generation took {:.1} s", generation.as_secs_f64());
    feihong_api::seed::report(&db).await.expect("sizes");

    let now = Utc::now();
    let today = now.with_timezone(&app.config.timezone).date_naive();
    let year_ago = today - Months::new(12) + chrono::Duration::days(1);
    let three_years_ago = today - Months::new(36) + chrono::Duration::days(1);
    let now = now.to_rfc3339();
    let (lat, lng) = (22.805, 113.293); // Shunde's point.

    let heavy = (args.requests / 4).max(20);
    let url = app.url("/graphql");
    let url_without_store = without_store.url("/graphql");
    let case = |name: &str, token: Option<&Session>, body: Value, requests: usize| Case {
        name: name.to_owned(),
        url: url.clone(),
        token: token.map(|s| s.access_token.clone()),
        body,
        requests,
    };
    let volunteer_board = "query($scope: LeaderboardScope!) { leaderboard(scope: $scope, \
        period: ALL_TIME, first: 20) { total entries { rank minutes volunteer { displayName } } \
        viewer { rank minutes } } }";
    let team_board =
        "{ teamLeaderboard(period: ALL_TIME, first: 20) { rank minutes team { name } } }";
    let events = "query($filter: EventFilter) { events(filter: $filter, first: 20) { totalCount \
        nodes { id title startsAt seatsLeft location { lat lng } } } }";
    let stats = "query($area: ID!, $from: Date!, $to: Date!, $groupBy: [StatsDimension!]!) { \
        participationStats(areaId: $area, from: $from, to: $to, groupBy: $groupBy) { \
        totals { activeVolunteers newVolunteers eventsHeld signUps attended noShows approvedMinutes } \
        rows { key activeVolunteers newVolunteers eventsHeld approvedMinutes } } }";
    let stats_vars = |area: &str, from: chrono::NaiveDate, group_by: Value| json!({ "area": area, "from": from.to_string(), "to": today.to_string(), "groupBy": group_by });
    let mut cases = vec![
        case(
            "baseline `{ __typename }`",
            None,
            gql("{ __typename }", json!({})),
            args.requests * 4,
        ),
        case(
            "me { serviceMinutes starLevel }",
            Some(&viewer),
            gql("{ me { serviceMinutes starLevel } }", json!({})),
            args.requests,
        ),
        case(
            "leaderboard city, viewer far down",
            Some(&viewer),
            gql(volunteer_board, json!({ "scope": { "city": true } })),
            args.requests,
        ),
        case(
            "leaderboard district",
            Some(&viewer),
            gql(volunteer_board, json!({ "scope": { "areaId": district } })),
            args.requests,
        ),
        case(
            "teamLeaderboard city",
            Some(&viewer),
            gql(team_board, json!({})),
            args.requests,
        ),
        case(
            "events near (5 km), upcoming",
            Some(&viewer),
            gql(
                events,
                json!({ "filter": { "near": { "lat": lat, "lng": lng, "radiusM": 5000 },
                                    "startsAfter": now } }),
            ),
            args.requests,
        ),
        case(
            "events in district, upcoming",
            Some(&viewer),
            gql(
                events,
                json!({ "filter": { "areaId": district, "startsAfter": now } }),
            ),
            args.requests,
        ),
        case(
            "events search 4 chars (trigram), upcoming",
            Some(&viewer),
            gql(events, json!({ "filter": { "search": "反诈宣传" } })),
            args.requests,
        ),
        case(
            "events search 2 chars (grams), upcoming",
            Some(&viewer),
            gql(events, json!({ "filter": { "search": "溺水" } })),
            args.requests,
        ),
        case(
            "events search Latin + district, upcoming",
            Some(&viewer),
            gql(
                events,
                json!({ "filter": { "search": "PATROL", "areaId": district } }),
            ),
            args.requests,
        ),
        case(
            "events default list (not ended)",
            Some(&viewer),
            gql(events, json!({})),
            args.requests,
        ),
        case(
            "mySignUps",
            Some(&viewer),
            gql(
                "{ mySignUps(first: 20) { totalCount nodes { status event { title startsAt } } } }",
                json!({}),
            ),
            args.requests,
        ),
        case(
            "stats district 12 mo by MONTH",
            Some(&admin),
            gql(stats, stats_vars(&district, year_ago, json!(["MONTH"]))),
            heavy,
        ),
        case(
            "stats district 12 mo by DISTRICT,TEAM_KIND",
            Some(&admin),
            gql(
                stats,
                stats_vars(&district, year_ago, json!(["DISTRICT", "TEAM_KIND"])),
            ),
            heavy,
        ),
        case(
            "stats city 3 years, no grouping",
            Some(&admin),
            gql(stats, stats_vars(&city, three_years_ago, json!([]))),
            heavy,
        ),
    ];
    for (name, body) in [
        (
            "leaderboard city (database)",
            gql(volunteer_board, json!({ "scope": { "city": true } })),
        ),
        (
            "leaderboard district (database)",
            gql(volunteer_board, json!({ "scope": { "areaId": district } })),
        ),
        (
            "teamLeaderboard city (database)",
            gql(team_board, json!({})),
        ),
    ] {
        cases.push(Case {
            name: name.to_owned(),
            url: url_without_store.clone(),
            token: Some(viewer.access_token.clone()),
            body,
            requests: heavy,
        });
    }

    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .pool_max_idle_per_host(args.concurrency.max(1))
        .build()
        .expect("HTTP client");
    println!("sample answers:");
    for case in &cases {
        let answer = measure::check(&client, case).await;
        let text = answer["data"].to_string();
        println!(
            "  {:<44} {}",
            case.name,
            text.chars().take(150).collect::<String>()
        );
    }

    println!("measuring:");
    let mut results: Vec<Measured> = Vec::new();
    let measuring = Instant::now();
    for case in &cases {
        let result = measure::run(&client, case, args.concurrency, args.warmup).await;
        println!(
            "  {:<44} {:>6.0} req/s  p50 {:>8.2} ms  p99 {:>8.2} ms",
            result.name,
            result.per_second,
            result.p50.as_secs_f64() * 1000.0,
            result.p99.as_secs_f64() * 1000.0
        );
        results.push(result);
    }
    // The baseline again: how much the machine's load moved during the run.
    let again = measure::run(&client, &cases[0], args.concurrency, args.warmup).await;
    results.push(Measured {
        name: "baseline again (end of run)".to_owned(),
        ..again
    });
    println!(
        "\nscale {} · {} clients · generation {:.0} s · measuring {:.0} s\n",
        args.scale,
        args.concurrency,
        generation.as_secs_f64(),
        measuring.elapsed().as_secs_f64()
    );
    print!("{}", measure::table(&results));

    drop(without_store);
    if args.keep_database {
        println!(
            "\nkept the database: {}\nand its Redis keys: {}* (delete them when done)",
            app.config.database_url.expose_secret(),
            app.config.redis_prefix
        );
        // Dropping the harness's server would drop its database: leave it to process exit.
        std::mem::forget(app);
    }
}
