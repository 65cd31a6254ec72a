//! The leaderboard store under faults: Redis stopped mid-test (a Redis this test starts itself on
//! a free port) and brought back empty; and a rebuild that must reproduce exactly what the
//! incremental updates produced.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::Utc;
use feihong_domain::leaderboards::Scope;
use feihong_domain::tallies::Period;
use feihong_tests::redis_server::{OwnRedis, app_with_own_redis, redis_available_or_skip};
use feihong_tests::{Backend, Session, TestApp};
use sea_orm::{ConnectionTrait as _, Statement};
use serde_json::{Value, json};

const BOARD: &str = "query($period: Period!) { leaderboard(scope: { city: true }, period: $period, first: 100) { total entries { rank minutes volunteer { id } } viewer { rank minutes } } }";

fn today() -> String {
    Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .format("%Y-%m-%d")
        .to_string()
}

async fn readiness(app: &TestApp) -> Value {
    app.http()
        .get(app.url("/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn board(app: &TestApp, session: &Session) -> Value {
    app.graphql_as(session, BOARD, json!({ "period": "ALL_TIME" }))
        .await
        .data()["leaderboard"]
        .clone()
}

/// (volunteer id, minutes) in board order.
fn lines(board: &Value) -> Vec<(String, i64)> {
    board["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["volunteer"]["id"].as_str().unwrap().to_owned(),
                e["minutes"].as_i64().unwrap(),
            )
        })
        .collect()
}

async fn wait_for(what: &str, mut check: impl AsyncFnMut() -> bool) {
    for _ in 0..100 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

/// Board changes not yet applied to the store.
async fn outbox_left(db: &sea_orm::DatabaseConnection) -> i64 {
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) AS n FROM leaderboard_outbox",
        ))
        .await
        .expect("a count")
        .expect("a row");
    row.try_get("", "n").expect("a number")
}

async fn leaderboards_survive_a_redis_outage_on(backend: Backend) {
    let Some((mut redis, app)) =
        app_with_own_redis(backend, "leaderboards_survive_a_redis_outage").await
    else {
        return;
    };
    let team = app.team("禅城巡逻队", "440604", "OPEN").await;
    let (a, b, c) = (
        app.member(&team).await,
        app.member(&team).await,
        app.member(&team).await,
    );
    app.approved_minutes(&team, &a, 100, &today()).await;
    app.approved_minutes(&team, &b, 200, &today()).await;
    wait_for("the store to serve", async || {
        readiness(&app).await["leaderboards"] == "store" && board(&app, &a).await["total"] == 2
    })
    .await;

    redis.stop();
    // Approvals go on while Redis is away; answers stay correct (from the database).
    app.approved_minutes(&team, &c, 300, &today()).await;
    app.approved_minutes(&team, &a, 250, &today()).await;
    let expected = vec![
        (a.volunteer_id.clone(), 350),
        (c.volunteer_id.clone(), 300),
        (b.volunteer_id.clone(), 200),
    ];
    wait_for("answers from the database", async || {
        lines(&board(&app, &b).await) == expected
    })
    .await;
    let ready = readiness(&app).await;
    assert_eq!(
        (ready["redis"].as_str(), ready["leaderboards"].as_str()),
        (Some("unavailable"), Some("database")),
        "{ready}"
    );
    assert_eq!(
        board(&app, &b).await["viewer"],
        json!({ "rank": 3, "minutes": 200 })
    );

    // Redis returns empty: the sets are rebuilt and the queued updates applied.
    redis.resume();
    wait_for("the store to serve again", async || {
        readiness(&app).await["leaderboards"] == "store"
    })
    .await;
    assert_eq!(lines(&board(&app, &b).await), expected);
    assert_eq!(
        board(&app, &c).await["viewer"],
        json!({ "rank": 2, "minutes": 300 })
    );
    // The sets themselves match the database.
    let client = redis::Client::open(redis.url()).unwrap();
    let mut connection = client.get_connection().unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("*lb:{v:area:1:ALL:all}")
        .query(&mut connection)
        .unwrap();
    assert_eq!(keys.len(), 1, "{keys:?}");
    let members: Vec<(String, i64)> = redis::cmd("ZREVRANGE")
        .arg(&keys[0])
        .arg(0)
        .arg(-1)
        .arg("WITHSCORES")
        .query(&mut connection)
        .unwrap();
    let scores: Vec<i64> = members.iter().map(|(_, score)| *score).collect();
    assert_eq!(scores, [350, 300, 200]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaderboards_survive_a_redis_outage_on_sqlite() {
    leaderboards_survive_a_redis_outage_on(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaderboards_survive_a_redis_outage_on_postgres() {
    leaderboards_survive_a_redis_outage_on(Backend::Postgres).await;
}

/// Every board of the city, each area and each team, for every period, as the server answers.
async fn every_board(
    app: &TestApp,
    teams: &[String],
    areas: &[String],
    viewer: &Session,
) -> BTreeMap<String, Value> {
    let query = "query($scope: LeaderboardScope!, $period: Period!) { leaderboard(scope: $scope, period: $period, first: 100) { total entries { rank minutes volunteer { id } } } }";
    let team_query = "query($period: Period!, $area: ID) { teamLeaderboard(period: $period, areaId: $area, first: 100) { rank minutes team { id } } }";
    let mut out = BTreeMap::new();
    for period in ["ALL_TIME", "YEAR", "MONTH", "WEEK"] {
        let mut scopes = vec![json!({ "city": true })];
        scopes.extend(areas.iter().map(|area| json!({ "areaId": area })));
        scopes.extend(teams.iter().map(|team| json!({ "teamId": team })));
        for scope in scopes {
            let answer = app
                .graphql_as(viewer, query, json!({ "scope": scope, "period": period }))
                .await;
            out.insert(
                format!("{period} {scope}"),
                answer.data()["leaderboard"].clone(),
            );
        }
        for area in areas {
            let answer = app
                .graphql_as(
                    viewer,
                    team_query,
                    json!({ "period": period, "area": area }),
                )
                .await;
            out.insert(
                format!("{period} teams {area}"),
                answer.data()["teamLeaderboard"].clone(),
            );
        }
    }
    out
}

async fn a_rebuild_reproduces_the_incremental_sets_on(backend: Backend, own_redis: bool) {
    let test = "a_rebuild_reproduces_the_incremental_sets";
    let redis = if own_redis {
        if !redis_available_or_skip(test) {
            return;
        }
        Some(OwnRedis::start())
    } else {
        None
    };
    let url = redis.as_ref().map(OwnRedis::url);
    let Some(app) = TestApp::spawn_configured(backend, test, |config| config.redis_url = url).await
    else {
        return;
    };
    let shunde = app.team("顺德巡逻队", "440606", "OPEN").await;
    let nanhai = app.team("南海防诈队", "440605", "OPEN").await;
    let mut members = Vec::new();
    for n in 0..6 {
        let team = if n % 2 == 0 { &shunde } else { &nanhai };
        let member = app.member(team).await;
        app.approved_minutes(team, &member, 30 + 20 * (n % 3), &today())
            .await;
        members.push(member);
    }
    let week_ago = (Utc::now().with_timezone(&chrono_tz::Asia::Shanghai)
        - chrono::Duration::days(8))
    .format("%Y-%m-%d")
    .to_string();
    app.approved_minutes(&shunde, &members[0], 90, &week_ago)
        .await;
    let teams = vec![shunde.id.clone(), nanhai.id.clone()];
    let areas = vec![app.area_id("440606").await, app.area_id("440605").await];
    wait_for("the store to serve", async || {
        readiness(&app).await["leaderboards"] == "store"
    })
    .await;
    // Every approval's board changes applied (the outbox drained), not a guessed pause: under
    // CI load half a second once left one team's all-time board unwritten.
    let db = app.database().await;
    wait_for("the leaderboard outbox to drain", async || {
        outbox_left(&db).await == 0
    })
    .await;
    let incremental = every_board(&app, &teams, &areas, &members[0]).await;

    if app.config.redis_url.is_some() {
        // Rebuild the shared sets (as `feihong leaderboards rebuild` does) and ask the server again.
        let services = feihong_api::app::build_services(&app.config).await.unwrap();
        services.leaderboards.rebuild().await.unwrap();
        let rebuilt = every_board(&app, &teams, &areas, &members[0]).await;
        assert_eq!(rebuilt, incremental);
    } else {
        // The in-process store: a fresh one rebuilt from the tallies answers exactly alike.
        let services = feihong_api::app::build_services(&app.config).await.unwrap();
        services.leaderboards.rebuild().await.unwrap();
        for period in [Period::AllTime, Period::Year, Period::Month, Period::Week] {
            let fresh = services
                .leaderboards
                .leaderboard(Scope::City, period, 100, None)
                .await
                .unwrap();
            let code = match period {
                Period::AllTime => "ALL_TIME",
                Period::Year => "YEAR",
                Period::Month => "MONTH",
                Period::Week => "WEEK",
            };
            let served = &incremental[&format!("{code} {}", json!({ "city": true }))];
            let served_lines: Vec<(i64, i64)> = served["entries"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| (e["rank"].as_i64().unwrap(), e["minutes"].as_i64().unwrap()))
                .collect();
            let fresh_lines: Vec<(i64, i64)> = fresh
                .entries
                .iter()
                .map(|line| (line.rank, line.minutes))
                .collect();
            assert_eq!(fresh_lines, served_lines, "{code}");
            assert_eq!(fresh.total, served["total"].as_u64().unwrap());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rebuild_reproduces_the_incremental_sets_on_sqlite_in_process() {
    a_rebuild_reproduces_the_incremental_sets_on(Backend::Sqlite, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rebuild_reproduces_the_incremental_sets_on_postgres_with_redis() {
    a_rebuild_reproduces_the_incremental_sets_on(Backend::Postgres, true).await;
}
