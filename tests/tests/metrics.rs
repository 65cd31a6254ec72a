//! `/metrics`: Prometheus text on its own address (`FEIHONG_METRICS_BIND`), never on the API's,
//! and no listener at all without the setting; through HTTP, on SQLite and PostgreSQL (+ Redis).
//!
//! The recorder is global to the test process, which runs many servers: counters may include
//! other tests' traffic, so each test uses operation names of its own and asserts lower bounds.

use feihong_tests::{Backend, TestApp};
use serde_json::{Value, json};

const MY_UPDATES: &str = "subscription { mySignUpUpdates { kind } }";
const LOGIN: &str = "mutation($phone: String!, $password: String!) { login(phone: $phone, password: $password) { accessToken } }";

async fn with_metrics(backend: Backend, test: &str) -> Option<TestApp> {
    TestApp::spawn_configured(backend, test, |config| {
        config.metrics_bind = Some("127.0.0.1:0".parse().unwrap());
    })
    .await
}

/// Declares a test run on each backend with a metrics address configured.
macro_rules! with_metrics_on_every_backend {
    ($(async fn $name:ident($app:ident: TestApp) $body:block)*) => {
        $(
            mod $name {
                use super::*;

                async fn run($app: TestApp) $body

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn on_sqlite() {
                    if let Some(app) = with_metrics(Backend::Sqlite, module_path!()).await {
                        run(app).await;
                    }
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn on_postgres() {
                    if let Some(app) = with_metrics(Backend::Postgres, module_path!()).await {
                        run(app).await;
                    }
                }
            }
        )*
    };
}

/// A name no other test (or backend) uses: a GraphQL name, under the 64 characters kept.
fn unique(prefix: &str) -> String {
    format!("{prefix}{}", uuid::Uuid::new_v4().simple())
}

async fn scrape(app: &TestApp) -> String {
    let address = app.metrics_address.expect("a metrics listener");
    let response = app
        .http()
        .get(format!("http://{address}/metrics"))
        .send()
        .await
        .expect("the metrics address answers");
    assert_eq!(response.status().as_u16(), 200);
    let content_type = response.headers()["content-type"].to_str().unwrap();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    response.text().await.unwrap()
}

/// The value of the sample `name` whose labels include every one of `labels`.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (metric, label_text) = series.split_once('{').unwrap_or((series, ""));
            let wanted = labels
                .iter()
                .all(|(key, value)| label_text.contains(&format!("{key}=\"{value}\"")));
            (metric == name && wanted).then(|| value.parse().ok())?
        })
}

static SUBSCRIBING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Scrapes until the open-subscriptions gauge satisfies `wanted` (a subscription starts and
/// ends on the server a moment after the client's message); no other test here subscribes.
async fn open_subscriptions(app: &TestApp, wanted: impl Fn(f64) -> bool) -> f64 {
    let mut open = None;
    for _ in 0..200 {
        let text = scrape(app).await;
        let value = sample(&text, "feihong_subscriptions_open", &[]).unwrap_or(0.0);
        if wanted(value) {
            return value;
        }
        open = Some(value);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("open subscriptions stayed at {open:?}");
}

async fn post(app: &TestApp, body: Value) -> Value {
    post_as(app, None, body).await
}

async fn post_as(app: &TestApp, token: Option<&str>, body: Value) -> Value {
    let mut request = app
        .http()
        .post(app.url("/graphql"))
        .header("x-test-client", "10.0.0.1")
        .json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap().json().await.unwrap()
}

with_metrics_on_every_backend! {
    async fn operations_are_counted_and_timed_by_name_and_errors_by_code(app: TestApp) {
        let named = unique("AreasProbe");
        let document = format!("query {named} {{ areas {{ code }} }}");
        for _ in 0..2 {
            let answer = post(&app, json!({ "query": document, "operationName": named })).await;
            assert!(answer["data"]["areas"].is_array(), "{answer}");
        }
        // No operationName: the label comes from the document's one named operation.
        let parsed = unique("ParsedProbe");
        let answer = post(&app, json!({ "query": format!("query {parsed} {{ areas {{ code }} }}") })).await;
        assert!(answer["data"]["areas"].is_array(), "{answer}");
        // A name past 64 characters gets no series of its own.
        let long = format!("{}{}", unique("LongProbe"), "x".repeat(40));
        let answer = post(&app, json!({ "query": format!("query {long} {{ areas {{ code }} }}"), "operationName": long })).await;
        assert!(answer["data"]["areas"].is_array(), "{answer}");
        let failing = unique("FailingProbe");
        let body = json!({ "query": format!("query {failing} {{ me {{ id }} }}") });
        let answer = post_as(&app, Some("not-a-token"), body).await;
        assert_eq!(answer["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");

        let text = scrape(&app).await;
        let requests = |operation: &str| {
            sample(&text, "feihong_graphql_requests_total", &[("operation", operation)])
        };
        assert!(requests(&named) >= Some(2.0), "{text}");
        assert!(requests(&parsed) >= Some(1.0), "{text}");
        assert!(requests(&failing) >= Some(1.0), "{text}");
        assert!(requests("other") >= Some(1.0), "{text}");
        assert!(!text.contains(&long), "{text}");
        let duration = "feihong_graphql_request_duration_seconds";
        let count = sample(&text, &format!("{duration}_count"), &[("operation", &named)]);
        assert_eq!(count, Some(2.0), "{text}");
        let sum = sample(&text, &format!("{duration}_sum"), &[("operation", &named)]).unwrap();
        assert!(sum > 0.0 && sum < 60.0, "{sum}");
        let every = sample(&text, &format!("{duration}_bucket"), &[("operation", &named), ("le", "+Inf")]);
        assert_eq!(every, Some(2.0), "{text}");
        let unauthenticated = sample(&text, "feihong_graphql_errors_total", &[("code", "UNAUTHENTICATED")]);
        assert!(unauthenticated >= Some(1.0), "{text}");
    }

    async fn the_pool_outboxes_and_redis_are_measured_when_scraped(app: TestApp) {
        let text = scrape(&app).await;
        let pool = |state: &str| {
            sample(&text, "feihong_db_pool_connections", &[("state", state)]).unwrap()
        };
        let max = sample(&text, "feihong_db_pool_max_connections", &[]).unwrap();
        assert_eq!(max, f64::from(app.config.db_max_connections));
        // The scrape's own backlog query holds one connection while the pool is read, or not.
        assert!(pool("in_use") >= 0.0 && pool("idle") >= 0.0, "{text}");
        assert!(pool("in_use") + pool("idle") >= 1.0, "{text}");
        assert!(pool("in_use") + pool("idle") <= max, "{text}");
        for outbox in ["push", "sms", "leaderboard"] {
            let age = sample(&text, "feihong_outbox_oldest_age_seconds", &[("outbox", outbox)]);
            assert!(age.is_some_and(|age| age >= 0.0), "{outbox}: {text}");
        }
        assert!(sample(&text, "feihong_statistics_pending_marks", &[]).is_some(), "{text}");
        if app.config.redis_url.is_some() {
            assert_eq!(sample(&text, "feihong_redis_up", &[]), Some(1.0), "{text}");
        }
    }

    async fn login_throttle_refusals_are_counted(app: TestApp) {
        let phone = "13700000042";
        let mut refused = false;
        for _ in 0..11 {
            let answer = post(&app, json!({ "query": LOGIN, "variables": { "phone": phone, "password": "a-wrong-guess" } })).await;
            refused |= answer["errors"][0]["extensions"]["code"] == "RATE_LIMITED";
        }
        assert!(refused, "eleven wrong passwords in a row are refused at last");
        let text = scrape(&app).await;
        let refusals = sample(&text, "feihong_login_throttle_refusals_total", &[]);
        assert!(refusals >= Some(1.0), "{text}");
        assert!(sample(&text, "feihong_graphql_errors_total", &[("code", "RATE_LIMITED")]) >= Some(1.0));
    }

    async fn sign_up_batches_are_measured_by_size(app: TestApp) {
        let team = app.team("禅城巡逻队", "440604", "OPEN").await;
        let event = app.event(&team.leader, &team.id, feihong_tests::EventSpec::default()).await;
        let person = app.volunteer().await;
        app.sign_up(&person, &event, None).await.data();
        let text = scrape(&app).await;
        // Metrics are per process and tests share one: at least this sign-up's batch.
        assert!(sample(&text, "feihong_sign_up_batch_size_count", &[]) >= Some(1.0), "{text}");
        assert!(sample(&text, "feihong_sign_up_batch_size_bucket", &[("le", "100")]) >= Some(1.0), "{text}");
    }

    async fn open_subscriptions_are_counted_until_they_end(app: TestApp) {
        // The gauge is the process's: the two backends' runs take turns.
        let _alone = SUBSCRIBING.lock().await;
        let before = open_subscriptions(&app, |_| true).await;
        let session = app.register("13700000043", "watcher").await;
        let mut subscription = app
            .subscribe(Some(&session), MY_UPDATES, json!({}))
            .await
            .expect("signed in");
        open_subscriptions(&app, |open| open == before + 1.0).await;
        subscription.stop("1").await;
        open_subscriptions(&app, |open| open == before).await;
    }

    async fn the_api_address_does_not_serve_metrics(app: TestApp) {
        let response = app.http().get(app.url("/metrics")).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 404);
        assert_ne!(app.metrics_address, Some(app.address));
    }
}

#[tokio::test]
async fn without_the_setting_nothing_listens_for_metrics() {
    let app = TestApp::spawn(Backend::Sqlite, "no-metrics").await.unwrap();
    assert_eq!(app.config.metrics_bind, None);
    assert_eq!(
        app.metrics_address, None,
        "the server bound no metrics listener"
    );
    let response = app.http().get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 404);
}
