//! Signing in and naming people need no database read on a warm node: what a node read of an
//! account (its sign-in state, the volunteer as shown) is cached per node and forgotten, on every
//! node, when the account changes (erased, made an admin, renamed, hidden from leaderboards,
//! consent given). Shown with two nodes sharing PostgreSQL and Redis: a change made through one
//! is honoured by the other without waiting for the caches' time to live (30 s; these tests give
//! up after 10 s), and by the node that made it at once.

use std::time::Duration;

use feihong_tests::fixtures::{EventSpec, JOIN_TEAM};
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

/// Whether `check` comes true within 10 s (asked every 100 ms).
async fn within_10_s<F: Future<Output = bool>>(mut check: impl FnMut() -> F) -> bool {
    for _ in 0..100 {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// Whether `node`'s answer to `query` as `session` comes to the error code `code` ("" for none).
async fn comes_to(node: &TestApp, session: &Session, query: &str, code: &str) -> bool {
    within_10_s(|| async { code_of(node, session, query).await == code }).await
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

const BOARD: &str = "query($team: ID!) { leaderboard(scope: {teamId: $team}, first: 5) { entries { anonymous volunteer { displayName } } } }";
const RENAME: &str = "mutation($name: String, $show: Boolean) { updateMyProfile(displayName: $name, showOnLeaderboards: $show) { displayName } }";

/// The team board's first line as `node` shows it to `viewer`: (anonymous, name).
async fn first_line(node: &TestApp, viewer: &Session, team: &str) -> (bool, String) {
    let board = node
        .graphql_as(viewer, BOARD, json!({ "team": team }))
        .await;
    let line = &board.data()["leaderboard"]["entries"][0];
    (
        line["anonymous"].as_bool().expect("a line"),
        line["volunteer"]["displayName"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

/// Whether the first line comes to `expected` on `node`.
async fn board_comes_to(
    node: &TestApp,
    viewer: &Session,
    team: &str,
    expected: (bool, &str),
) -> bool {
    within_10_s(|| async {
        let (anonymous, name) = first_line(node, viewer, team).await;
        (anonymous, name.as_str()) == expected
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rename_or_hiding_through_one_node_shows_on_the_others_leaderboard() {
    let Some(first) = TestApp::spawn(Backend::Postgres, "people_cache_rename").await else {
        return;
    };
    let second = first.spawn_sibling().await;
    let team = first.team("巡逻一队", "440604", "OPEN").await;
    let member = first.member(&team).await;
    first
        .approved_minutes(
            &team,
            &member,
            90,
            &chrono::Utc::now().date_naive().to_string(),
        )
        .await;
    let viewer = second.volunteer().await;
    // The line is on the board and its name cached on both nodes.
    let (anonymous, before) = first_line(&second, &viewer, &team.id).await;
    assert!(!anonymous);
    assert!(!before.is_empty());
    assert!(board_comes_to(&first, &viewer, &team.id, (false, &before)).await);

    let renamed = first
        .graphql_as(&member, RENAME, json!({ "name": "改名的队员" }))
        .await;
    assert_eq!(
        renamed.data()["updateMyProfile"]["displayName"],
        "改名的队员"
    );
    assert_eq!(
        first_line(&first, &viewer, &team.id).await,
        (false, "改名的队员".to_owned()),
        "at once where it changed"
    );
    assert!(board_comes_to(&second, &viewer, &team.id, (false, "改名的队员")).await);

    second
        .graphql_as(&member, RENAME, json!({ "show": false }))
        .await
        .data();
    assert!(
        first_line(&second, &viewer, &team.id).await.0,
        "hidden at once where it changed"
    );
    let (anonymous, name) = first_line(&first, &viewer, &team.id).await;
    assert!(
        board_comes_to(&first, &viewer, &team.id, (true, &name)).await,
        "still shown as {anonymous} {name}"
    );
    assert_ne!(first_line(&first, &viewer, &team.id).await.1, "改名的队员");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consent_given_through_one_node_is_what_the_other_shows() {
    let Some(first) = TestApp::spawn(Backend::Postgres, "people_cache_consent").await else {
        return;
    };
    let second = first.spawn_sibling().await;
    let volunteer = first.volunteer().await;
    assert!(accepted(&second, &volunteer).await.is_null());
    let policy = first
        .graphql_as(&volunteer, "{ privacyPolicy { version } }", json!({}))
        .await;
    let version = policy.data()["privacyPolicy"]["version"].clone();
    first
        .graphql_as(
            &volunteer,
            "mutation($v: String!) { acceptPrivacyPolicy(version: $v) { id } }",
            json!({ "v": version }),
        )
        .await
        .data();
    let seen = within_10_s(|| async { accepted(&second, &volunteer).await == version }).await;
    assert!(seen, "the other node still shows no consent");
}

async fn accepted(node: &TestApp, volunteer: &Session) -> serde_json::Value {
    let me = node
        .graphql_as(volunteer, "{ me { acceptedPolicyVersion } }", json!({}))
        .await;
    me.data()["me"]["acceptedPolicyVersion"].clone()
}

const TEAM_EVENTS: &str =
    "query($team: ID!) { events(filter: {teamId: $team}, first: 5) { totalCount } }";

async fn team_events_seen(node: &TestApp, volunteer: &Session, team: &str) -> i64 {
    let events = node
        .graphql_as(volunteer, TEAM_EVENTS, json!({ "team": team }))
        .await;
    events.data()["events"]["totalCount"]
        .as_i64()
        .expect("a count")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joining_or_leaving_through_one_node_shows_in_the_others_event_lists() {
    let Some(first) = TestApp::spawn(Backend::Postgres, "roles_cache_join").await else {
        return;
    };
    let second = first.spawn_sibling().await;
    let team = first.team("反诈宣传队", "440604", "OPEN").await;
    let spec = EventSpec {
        visibility: "TEAM",
        ..EventSpec::default()
    };
    first.event(&team.leader, &team.id, spec).await;
    let volunteer = first.volunteer().await;
    // Not a member: the team's own events are hidden on both nodes (and the roles cached).
    assert_eq!(team_events_seen(&first, &volunteer, &team.id).await, 0);
    assert_eq!(team_events_seen(&second, &volunteer, &team.id).await, 0);

    const LEAVE_TEAM: &str = "mutation($id: ID!) { leaveTeam(teamId: $id) { id } }";
    for (changed_on, other, mutation, seen) in [
        (&second, &first, JOIN_TEAM, 1),
        (&first, &second, LEAVE_TEAM, 0),
    ] {
        changed_on
            .graphql_as(&volunteer, mutation, json!({ "id": team.id }))
            .await
            .data();
        let at_once = team_events_seen(changed_on, &volunteer, &team.id).await;
        assert_eq!(at_once, seen, "at once where it changed");
        assert!(
            within_10_s(|| async { team_events_seen(other, &volunteer, &team.id).await == seen })
                .await
        );
    }
}
