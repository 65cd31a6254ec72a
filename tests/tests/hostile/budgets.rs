//! Cost budgets per caller per minute: each answer says what it cost; a caller over budget is
//! RATE_LIMITED with `retryAfter`, others are not; with Redis the budget holds across nodes.

use feihong_domain::budget::Budgets;
use feihong_tests::{Backend, Response, TestApp};
use serde_json::json;

/// `areas { code children { code } }`: 1 + 6 × (code + 1 + 6 × 1) = 49.
const QUERY: &str = "{ areas { code children { code } } }";
const COST: u64 = 49;

async fn spend_until_refused(
    app: &TestApp,
    token: Option<&str>,
    from: &str,
    limit: u64,
) -> Response {
    let mut spent = 0;
    loop {
        let answer = app.graphql_from(token, from, QUERY, json!({})).await;
        if answer.body.get("errors").is_some() {
            return answer;
        }
        assert_eq!(
            answer.body["extensions"]["cost"].as_u64(),
            Some(COST),
            "{}",
            answer.body
        );
        spent += COST;
        assert!(
            spent <= limit,
            "spent {spent} of a budget of {limit} and still served"
        );
    }
}

fn assert_rate_limited(answer: &Response) {
    answer.expect_error("RATE_LIMITED", None);
    let retry = answer.body["errors"][0]["extensions"]["retryAfter"]
        .as_u64()
        .expect("retryAfter");
    assert!((1..=60).contains(&retry), "{}", answer.body);
}

async fn small_budgets(backend: Backend, test: &str) -> Option<TestApp> {
    TestApp::spawn_configured(backend, test, |config| {
        config.cost_budgets = Budgets {
            per_volunteer: 1_000,
            per_address: 2_000,
        };
    })
    .await
}

async fn each_caller_has_a_budget_of_their_own(backend: Backend) {
    let Some(app) = small_budgets(backend, module_path!()).await else {
        return;
    };
    // Setting up (about 1,200 from the default address) leaves the budgets below untouched.
    let (first, second) = (app.volunteer().await, app.volunteer().await);

    let refused = spend_until_refused(&app, None, "10.7.0.1", 2_000).await;
    assert_rate_limited(&refused);
    // Another address, and a signed-in volunteer on the same address, still have theirs.
    app.graphql_from(None, "10.7.0.2", QUERY, json!({}))
        .await
        .data();
    app.graphql_from(Some(&first.access_token), "10.7.0.1", QUERY, json!({}))
        .await
        .data();

    let refused = spend_until_refused(&app, Some(&first.access_token), "10.7.0.3", 1_000).await;
    assert_rate_limited(&refused);
    // Switching addresses does not reset a volunteer's budget; another volunteer has theirs.
    let again = app
        .graphql_from(Some(&first.access_token), "10.7.0.9", QUERY, json!({}))
        .await;
    assert_rate_limited(&again);
    app.graphql_from(Some(&second.access_token), "10.7.0.3", QUERY, json!({}))
        .await
        .data();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_caller_has_a_budget_of_their_own_on_sqlite() {
    each_caller_has_a_budget_of_their_own(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_caller_has_a_budget_of_their_own_on_postgres() {
    each_caller_has_a_budget_of_their_own(Backend::Postgres).await;
}

/// With Redis, spending on one node counts on the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_budget_spent_on_one_node_is_spent_on_every_node() {
    let Some(app) = small_budgets(Backend::Postgres, module_path!()).await else {
        return;
    };
    if app.config.redis_url.is_none() {
        eprintln!("SKIPPED {}: needs TEST_REDIS_URL", module_path!());
        return;
    }
    let sibling = app.spawn_sibling().await;
    let refused = spend_until_refused(&app, None, "10.8.0.1", 2_000).await;
    assert_rate_limited(&refused);
    let elsewhere = sibling
        .graphql_from(None, "10.8.0.1", QUERY, json!({}))
        .await;
    assert_rate_limited(&elsewhere);
}
