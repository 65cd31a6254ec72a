//! Signing in needs no database read on a warm node: what it read of an account is cached per
//! node and forgotten, on every node, when the account changes (erased, made an admin). Shown
//! with two nodes sharing PostgreSQL and Redis: a change made through one is honoured by the
//! other without waiting for the cache's time to live (30 s; these tests give up after 10 s).

use std::time::Duration;

use feihong_tests::{Backend, Session, TEST_PASSWORD, TestApp};
use serde_json::json;

const ME: &str = "{ me { id } }";
const DELETE: &str = "mutation($password: String!) { deleteMyAccount(password: $password) }";
const LOOK_UP: &str = "{ volunteers(filter: {phone: \"13800000000\"}, first: 1) { nodes { id } } }";

/// The first error's code of `node`'s answer to `query` as `session`; "" when it succeeded.
async fn code_of(node: &TestApp, session: &Session, query: &str) -> String {
    let answer = node.graphql_as(session, query, json!({})).await;
    answer.body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Asks `node` as `session` until the answer's error code is `code` ("" for none), for at most
/// 10 s; whether it came to that.
async fn comes_to(node: &TestApp, session: &Session, query: &str, code: &str) -> bool {
    for _ in 0..100 {
        if code_of(node, session, query).await == code {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erasure_through_one_node_closes_the_account_on_the_other() {
    let Some(first) = TestApp::spawn(Backend::Postgres, "sign_in_cache_erasure").await else {
        return;
    };
    let second = first.spawn_sibling().await;
    let volunteer = first.volunteer().await;
    // Both nodes have read the account, and remember it.
    assert_eq!(code_of(&first, &volunteer, ME).await, "");
    assert_eq!(code_of(&second, &volunteer, ME).await, "");

    let erased = first
        .graphql_as(&volunteer, DELETE, json!({ "password": TEST_PASSWORD }))
        .await;
    assert_eq!(erased.data()["deleteMyAccount"], true);
    // The node that erased refuses at once; the other as soon as the bus tells it.
    first
        .graphql_as(&volunteer, ME, json!({}))
        .await
        .expect_error("UNAUTHENTICATED", None);
    assert!(comes_to(&second, &volunteer, ME, "UNAUTHENTICATED").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_role_granted_elsewhere_applies_on_every_node() {
    let Some(first) = TestApp::spawn(Backend::Postgres, "sign_in_cache_grant").await else {
        return;
    };
    let second = first.spawn_sibling().await;
    let volunteer = first.register("13700000042", "将成为管理员").await;
    assert_eq!(code_of(&second, &volunteer, LOOK_UP).await, "FORBIDDEN");
    // Granted by the operator's command (another process on the same database and Redis).
    first.admin("13700000042", "440600").await;
    assert!(comes_to(&second, &volunteer, LOOK_UP, "").await);
}
