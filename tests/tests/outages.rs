//! The database going away (issue 8, section 5), on PostgreSQL behind a proxy the test can cut
//! (`DbProxy`), so the shared PostgreSQL keeps serving the other tests. While it is away,
//! clients hear `UNAVAILABLE` with `retryAfter` (503 with `Retry-After` on plain HTTP routes),
//! never `INTERNAL`, within seconds; no acknowledged write is lost; a brief blip is absorbed by
//! the server's one retry.

use std::net::{SocketAddr, ToSocketAddrs as _};
use std::time::{Duration, Instant};

use chrono::Utc;
use feihong_domain::idempotency;
use feihong_tests::{Backend, DbProxy, Session, TeamFixture, TestApp};
use sea_orm::{ConnectionTrait as _, Statement};
use secrecy::ExposeSecret as _;
use serde_json::json;

const RECORD: &str =
    "mutation($input: RecordServiceInput!) { recordService(input: $input) { id } }";
const EVENTS: &str = "{ events(first: 5) { totalCount } }";

/// The outage answer must come within this (the pool's acquire timeout is 3 s).
const OUTAGE_ANSWER_WITHIN: Duration = Duration::from_secs(6);

fn with_port(url: &str, port: u16) -> String {
    let mut parsed = reqwest::Url::parse(url).expect("a database URL");
    parsed.set_port(Some(port)).expect("a URL with a port");
    parsed.to_string()
}

/// A PostgreSQL server whose database is reached through `proxy`; `None` (after the harness
/// said why) without TEST_DATABASE_URL.
async fn spawn_behind_proxy(test: &str) -> Option<(TestApp, DbProxy, String)> {
    let Some(admin) = std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|url| !url.is_empty())
    else {
        // The harness says it is skipped, or fails with FEIHONG_REQUIRE_SERVICES=1.
        assert!(TestApp::spawn(Backend::Postgres, test).await.is_none());
        return None;
    };
    let parsed = reqwest::Url::parse(&admin).expect("TEST_DATABASE_URL is a URL");
    let upstream: SocketAddr = (
        parsed.host_str().unwrap_or("127.0.0.1"),
        parsed.port().unwrap_or(5432),
    )
        .to_socket_addrs()
        .expect("resolve the database host")
        .next()
        .expect("an address");
    let proxy = DbProxy::start(upstream).await;
    let port = proxy.port();
    let app = TestApp::spawn_configured(Backend::Postgres, test, |config| {
        config.database_url = with_port(config.database_url.expose_secret(), port).into();
    })
    .await?;
    let direct = with_port(app.config.database_url.expose_secret(), upstream.port());
    Some((app, proxy, direct))
}

/// Asserts an error answer is an outage answer: UNAVAILABLE, retryAfter, no database text.
fn assert_outage_answer(response: &feihong_tests::Response) {
    assert_eq!(response.error_code(), "UNAVAILABLE", "{}", response.body);
    let retry_after = response.body["errors"][0]["extensions"]["retryAfter"].as_u64();
    assert!(
        retry_after.is_some_and(|s| s >= 1),
        "retryAfter: {}",
        response.body
    );
    assert!(
        !response.error_message().contains("sqlx") && !response.error_message().contains("pool")
    );
}

/// A certificate code that passes its check character (so the page looks it up).
fn well_formed_code() -> String {
    "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
        .chars()
        .map(|check| format!("FH-0000000000000000{check}"))
        .find(|code| feihong_domain::certificates::normalize_code(code).is_some())
        .expect("one check character fits")
}

#[derive(Default)]
struct Tally {
    acknowledged: Vec<String>,
    acknowledged_after_resume: usize,
    outage_answers: usize,
    slowest_outage_answer: Duration,
}

/// Records service minutes, one write after another, until `until`; each carries a unique note.
async fn write_until(
    app: &TestApp,
    team: &TeamFixture,
    member: &Session,
    writer: usize,
    until: Instant,
    resumed_at: &std::sync::OnceLock<Instant>,
) -> Tally {
    let mut tally = Tally::default();
    let day = Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive();
    let mut n = 0;
    while Instant::now() < until {
        n += 1;
        let note = format!("outage-{writer}-{n}");
        let input = json!({ "input": {
            "volunteerId": member.volunteer_id, "teamId": team.id, "minutes": 30,
            "serviceDate": day.format("%Y-%m-%d").to_string(), "note": note,
        } });
        let started = Instant::now();
        let response = app.graphql_as(&team.leader, RECORD, input).await;
        if response.body.get("errors").is_none() {
            if resumed_at.get().is_some_and(|resumed| started > *resumed) {
                tally.acknowledged_after_resume += 1;
            }
            tally.acknowledged.push(note);
        } else {
            assert_outage_answer(&response);
            tally.outage_answers += 1;
            tally.slowest_outage_answer = tally.slowest_outage_answer.max(started.elapsed());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    tally
}

async fn notes_in_database(direct_url: &str) -> std::collections::HashSet<String> {
    let db = sea_orm::Database::connect(direct_url)
        .await
        .expect("connect to the test database directly");
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT note FROM service_records WHERE note LIKE 'outage-%'",
        ))
        .await
        .expect("read the raw rows");
    let notes = rows
        .iter()
        .map(|row| row.try_get::<String>("", "note").expect("note"))
        .collect();
    db.close().await.ok();
    notes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_the_database_is_away_clients_hear_unavailable_and_no_acknowledged_write_is_lost() {
    let Some((app, proxy, direct)) = spawn_behind_proxy(module_path!()).await else {
        return;
    };
    let team = app.team("断线队", "440604", "OPEN").await;
    let member = app.member(&team).await;
    let city = app.area_admin("440600").await;
    let city_area = app.area_id("440600").await;
    let resumed_at = std::sync::OnceLock::new();
    let until = Instant::now() + Duration::from_secs(11);

    let outage = async {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        proxy.cut();
        tokio::time::sleep(Duration::from_millis(500)).await;
        // A plain HTTP route answers 503 with Retry-After, within seconds.
        let day = Utc::now().format("%Y-%m-%d");
        let url = app.url(&format!(
            "/admin/exports/participation.csv?areaId={}&from={day}&to={day}",
            city_area
        ));
        let started = Instant::now();
        let export = app
            .http()
            .get(&url)
            .bearer_auth(&city.access_token)
            .send()
            .await
            .unwrap();
        let export_took = started.elapsed();
        assert_eq!(export.status().as_u16(), 503, "{:?}", export.text().await);
        assert!(export.headers().contains_key("retry-after"));
        let certificate = app
            .http()
            .get(app.url(&format!("/certificates/{}", well_formed_code())))
            .send()
            .await
            .unwrap();
        assert_eq!(certificate.status().as_u16(), 503);
        assert!(certificate.headers().contains_key("retry-after"));
        tokio::time::sleep(Duration::from_millis(3000).saturating_sub(export_took)).await;
        proxy.resume().await;
        resumed_at.set(Instant::now()).ok();
        export_took
    };
    let writers = futures::future::join_all(
        (0..3).map(|writer| write_until(&app, &team, &member, writer, until, &resumed_at)),
    );
    let (export_took, tallies) = tokio::join!(outage, writers);

    assert!(
        export_took < OUTAGE_ANSWER_WITHIN,
        "the export's outage answer took {export_took:?}"
    );
    let outage_answers: usize = tallies.iter().map(|t| t.outage_answers).sum();
    assert!(outage_answers > 0, "the outage was noticed");
    let slowest = tallies
        .iter()
        .map(|t| t.slowest_outage_answer)
        .max()
        .unwrap_or_default();
    assert!(
        slowest < OUTAGE_ANSWER_WITHIN,
        "an outage answer took {slowest:?}"
    );
    let after: usize = tallies.iter().map(|t| t.acknowledged_after_resume).sum();
    assert!(
        after > 0,
        "writes are acknowledged again once the database is back"
    );
    let stored = notes_in_database(&direct).await;
    let acknowledged: Vec<&String> = tallies.iter().flat_map(|t| &t.acknowledged).collect();
    assert!(!acknowledged.is_empty());
    for note in acknowledged {
        assert!(
            stored.contains(note),
            "acknowledged write {note} is missing"
        );
    }
    eprintln!(
        "outage answers: {outage_answers}, slowest {slowest:?}; export answered in {export_took:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_brief_blip_is_absorbed_by_the_one_retry() {
    let Some((app, proxy, direct)) = spawn_behind_proxy(module_path!()).await else {
        return;
    };
    let team = app.team("闪断队", "440604", "OPEN").await;
    let member = app.member(&team).await;
    let until = Instant::now() + Duration::from_secs(5);
    let never = std::sync::OnceLock::new();

    let readers = futures::future::join_all((0..3).map(|_| async {
        let mut answered = 0;
        while Instant::now() < until {
            let response = app.graphql_as(&member, EVENTS, json!({})).await;
            assert!(
                response.body.get("errors").is_none(),
                "a read failed across a blip: {}",
                response.body
            );
            answered += 1;
        }
        answered
    }));
    let blips = async {
        for _ in 0..4 {
            tokio::time::sleep(Duration::from_millis(800)).await;
            proxy.cut();
            proxy.resume().await;
        }
    };
    let writer = write_until(&app, &team, &member, 9, until, &never);
    let (reads, (), writes) = tokio::join!(readers, blips, writer);
    assert!(reads.iter().all(|n| *n > 0));
    // A write whose commit was on the wire when the connection broke cannot be retried (it may
    // have committed): it is answered UNAVAILABLE. Any other write went through.
    assert!(
        writes.outage_answers <= 4,
        "{} writes failed",
        writes.outage_answers
    );
    let stored = notes_in_database(&direct).await;
    for note in &writes.acknowledged {
        assert!(
            stored.contains(note),
            "acknowledged write {note} is missing"
        );
    }
}

/// A mutation whose work failed because the database went away (after its idempotency key was
/// claimed) can be retried with the same key as soon as the database is back: the claim is
/// forgotten then, not held until it counts as abandoned a minute later.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_whose_work_failed_in_an_outage_is_free_again_once_the_database_is_back() {
    let Some((app, proxy, _direct)) = spawn_behind_proxy(module_path!()).await else {
        return;
    };
    let member = app.volunteer().await;
    let volunteer = volunteer_number(&member);
    let db = sea_orm::Database::connect(app.config.database_url.expose_secret())
        .await
        .expect("connect through the proxy");
    let failed: Result<i32, _> = idempotency::run(
        &db,
        volunteer,
        Some("k-1"),
        "signUp",
        &"event 7",
        || async {
            proxy.cut();
            Err(feihong_domain::Error::Unavailable("the database"))
        },
    )
    .await;
    assert!(matches!(failed, Err(feihong_domain::Error::Unavailable(_))));
    tokio::time::sleep(Duration::from_millis(500)).await;
    proxy.resume().await;
    let started = Instant::now();
    let retried = idempotency::run(
        &db,
        volunteer,
        Some("k-1"),
        "signUp",
        &"event 7",
        || async { Ok(7) },
    )
    .await;
    assert_eq!(retried.ok(), Some(7));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the retry waited {:?}",
        started.elapsed()
    );
}

fn volunteer_number(session: &Session) -> feihong_domain::ids::VolunteerId {
    let decoded = base64::Engine::decode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        &session.volunteer_id,
    )
    .expect("a global id");
    let text = String::from_utf8(decoded).expect("utf-8");
    feihong_domain::ids::VolunteerId(text.rsplit(':').next().unwrap().parse().unwrap())
}
