//! Subscriptions over WebSocket: `mySignUpUpdates` and `eventUpdates`, their permissions, and
//! delivery across API nodes through Redis.

use std::time::Duration;

use feihong_tests::fixtures::{CANCEL_SIGN_UP, SIGN_UP};
use feihong_tests::redis_server::app_with_own_redis;
use feihong_tests::subscriptions::{Ended, Subscription};
use feihong_tests::{Backend, EventSpec, Session, TestApp, on_every_backend};
use serde_json::{Value, json};

const MY_UPDATES: &str =
    "subscription { mySignUpUpdates { kind message at signUp { id status } event { id title } } }";
const EVENT_UPDATES: &str = "subscription($id: ID!) { eventUpdates(eventId: $id) { id status confirmedCount waitlistCount seatsLeft startsAt } }";
const UPDATE_EVENT: &str = "mutation($id: ID!, $input: UpdateEventInput!) { updateEvent(eventId: $id, input: $input) { id } }";
const CANCEL_EVENT: &str = "mutation($id: ID!) { cancelEvent(eventId: $id, reason: \"台风预警 Typhoon warning\") { id status } }";

/// Subscribes `session` to its sign-up updates, and waits until the subscription is listening:
/// an `eventUpdates` started after it on the same connection has sent its first snapshot.
async fn my_updates(app: &TestApp, session: &Session, event: &str) -> Subscription {
    let mut subscription = app
        .subscribe(Some(session), MY_UPDATES, json!({}))
        .await
        .expect("signed in");
    subscription
        .start("ready", EVENT_UPDATES, json!({ "id": event }))
        .await;
    // A reminder of an event starting within a day may arrive on "1" meanwhile.
    loop {
        let (id, payload) = subscription.next_update().await.expect("snapshot");
        if id == "ready" {
            return subscription;
        }
        assert_eq!(
            payload["data"]["mySignUpUpdates"]["kind"], "REMINDER",
            "{payload}"
        );
    }
}

/// The next update of subscription "1", skipping the readiness subscription's and reminders
/// (the upkeep reminds of events starting within a day whenever it runs).
async fn next_mine(subscription: &mut Subscription) -> Value {
    loop {
        let (id, payload) = subscription.next_update().await.expect("an update");
        let update = &payload["data"]["mySignUpUpdates"];
        if id == "1" && update["kind"] != "REMINDER" {
            return update.clone();
        }
    }
}

async fn sign_up_id(app: &TestApp, session: &Session, event: &str) -> String {
    let answer = app.sign_up(session, event, None).await;
    answer.data()["signUp"]["id"].as_str().unwrap().to_owned()
}

on_every_backend! {
    async fn a_waitlisted_volunteer_hears_of_their_promotion_the_moment_a_seat_frees(app: TestApp) {
        let team = app.team("祖庙功夫巡逻队", "440604", "OPEN").await;
        let event = app.event(&team.leader, &team.id, EventSpec { capacity: 1, ..Default::default() }).await;
        let (seated, waiting, bystander) = (app.volunteer().await, app.volunteer().await, app.volunteer().await);
        let seat = sign_up_id(&app, &seated, &event).await;
        let queued = sign_up_id(&app, &waiting, &event).await;
        let mut told = my_updates(&app, &waiting, &event).await;
        let mut not_told = my_updates(&app, &bystander, &event).await;

        app.graphql_as(&seated, CANCEL_SIGN_UP, json!({ "id": seat })).await.data();

        let update = next_mine(&mut told).await;
        assert_eq!(update["kind"], "PROMOTED");
        assert_eq!(update["signUp"], json!({ "id": queued, "status": "CONFIRMED" }));
        assert_eq!(update["event"]["id"], event.as_str());
        assert!(update["message"].as_str().unwrap().contains("You have a seat"));
        // Someone else's promotion is not the bystander's business (their event snapshot
        // subscription hears the seat change, their sign-up subscription hears nothing).
        loop {
            let (id, _) = tokio::time::timeout(Duration::from_millis(700), not_told.next_update()).await
                .map_or_else(|_| ("silent".to_owned(), Value::Null), |update| update.expect("open"));
            assert_ne!(id, "1", "a bystander was told of someone else's promotion");
            if id == "silent" {
                break;
            }
        }
    }

    async fn a_volunteer_hears_when_the_team_cancels_their_sign_up_moves_the_event_or_calls_it_off(app: TestApp) {
        let team = app.team("顺德反诈宣传队", "440606", "OPEN").await;
        let first = app.event(&team.leader, &team.id, EventSpec::default()).await;
        let second = app.event(&team.leader, &team.id, EventSpec { starts_in: 3 * 24 * 60, ..Default::default() }).await;
        let volunteer = app.volunteer().await;
        let cancelled = sign_up_id(&app, &volunteer, &first).await;
        let kept = sign_up_id(&app, &volunteer, &second).await;
        let mut told = my_updates(&app, &volunteer, &first).await;

        app.graphql_as(&team.leader, CANCEL_SIGN_UP, json!({ "id": cancelled })).await.data();
        let update = next_mine(&mut told).await;
        assert_eq!(update["kind"], "SIGN_UP_CANCELLED");
        assert_eq!(update["signUp"], json!({ "id": cancelled, "status": "CANCELLED" }));

        let later = chrono::Utc::now() + chrono::Duration::days(4);
        let input = json!({ "startsAt": later.to_rfc3339(), "endsAt": (later + chrono::Duration::hours(2)).to_rfc3339() });
        app.graphql_as(&team.leader, UPDATE_EVENT, json!({ "id": second, "input": input })).await.data();
        let update = next_mine(&mut told).await;
        assert_eq!(update["kind"], "EVENT_CHANGED");
        assert_eq!(update["signUp"]["id"], kept.as_str());

        app.graphql_as(&team.leader, CANCEL_EVENT, json!({ "id": second })).await.data();
        let update = next_mine(&mut told).await;
        assert_eq!(update["kind"], "EVENT_CANCELLED");
        assert_eq!(update["signUp"], json!({ "id": kept, "status": "CANCELLED" }));
    }

    async fn event_updates_start_with_the_event_and_follow_its_seats_and_status(app: TestApp) {
        let team = app.team("禅城护校队", "440604", "OPEN").await;
        let event = app.event(&team.leader, &team.id, EventSpec { capacity: 1, ..Default::default() }).await;
        let watcher = app.volunteer().await;
        let mut updates = app.subscribe(Some(&watcher), EVENT_UPDATES, json!({ "id": event })).await.expect("signed in");
        let now = updates.next().await.expect("snapshot");
        assert_eq!(now["data"]["eventUpdates"]["confirmedCount"], 0);
        assert_eq!(now["data"]["eventUpdates"]["seatsLeft"], 1);

        let (first, second) = (app.volunteer().await, app.volunteer().await);
        app.sign_up(&first, &event, None).await.data();
        let seen = updates.next().await.expect("after a sign-up");
        assert_eq!(seen["data"]["eventUpdates"]["confirmedCount"], 1);
        assert_eq!(seen["data"]["eventUpdates"]["seatsLeft"], 0);
        app.sign_up(&second, &event, None).await.data();
        let seen = updates.next().await.expect("after a waitlisting");
        assert_eq!(seen["data"]["eventUpdates"]["waitlistCount"], 1);

        app.graphql_as(&team.leader, CANCEL_EVENT, json!({ "id": event })).await.data();
        let seen = updates.next().await.expect("after the cancellation");
        assert_eq!(seen["data"]["eventUpdates"]["status"], "CANCELLED");
        assert_eq!(seen["data"]["eventUpdates"]["confirmedCount"], 0);
    }

    async fn subscriptions_need_a_valid_token_and_an_event_the_caller_may_see(app: TestApp) {
        let team = app.team("南海社区110", "440605", "APPROVAL").await;
        let members_only = app.event(&team.leader, &team.id, EventSpec { visibility: "TEAM", ..Default::default() }).await;
        let outsider = app.volunteer().await;

        // A bad token is refused when the connection starts.
        let forged = Session { access_token: "not-a-token".to_owned(), ..outsider.clone() };
        match app.subscribe(Some(&forged), MY_UPDATES, json!({})).await {
            Err(Ended::Closed(_, reason)) => assert!(reason.contains("authentication"), "{reason}"),
            Err(other) => panic!("expected a close, got {other:?}"),
            Ok(_) => panic!("a forged token was accepted"),
        }
        // Anonymous callers have no sign-ups to follow.
        let mut anonymous = app.subscribe(None, MY_UPDATES, json!({})).await.expect("anonymous connects");
        let refused = anonymous.next().await.expect("an error");
        assert_eq!(refused["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "{refused}");
        // A members-only event is not there for an outsider, exactly as `event(id:)` answers.
        let mut peeking = app.subscribe(Some(&outsider), EVENT_UPDATES, json!({ "id": members_only })).await.expect("signed in");
        let refused = peeking.next().await.expect("an error");
        assert_eq!(refused["errors"][0]["extensions"]["code"], "NOT_FOUND", "{refused}");
        let mut leader = app.subscribe(Some(&team.leader), EVENT_UPDATES, json!({ "id": members_only })).await.expect("signed in");
        assert_eq!(leader.next().await.expect("snapshot")["data"]["eventUpdates"]["id"], members_only.as_str());
    }

    async fn only_subscriptions_run_over_the_websocket(app: TestApp) {
        let volunteer = app.volunteer().await;
        let mut socket = app.subscribe(Some(&volunteer), "{ me { id } }", json!({})).await.expect("signed in");
        let refused = socket.next().await.expect("an error");
        assert_eq!(refused["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{refused}");
        let deep = format!("subscription {}{}", "{ a ".repeat(60), "}".repeat(60));
        let mut socket = app.subscribe(Some(&volunteer), &deep, json!({})).await.expect("signed in");
        let refused = socket.next().await.expect("an error");
        assert!(refused["errors"][0]["message"].as_str().unwrap().contains("nests"), "{refused}");
    }

    async fn a_change_made_on_another_api_node_reaches_subscribers_through_redis(app: TestApp) {
        let other_node = app.spawn_sibling().await;
        let team = app.team("高明网格巡逻队", "440608", "OPEN").await;
        let event = app.event(&team.leader, &team.id, EventSpec::default()).await;
        let watcher = app.volunteer().await;
        let mut updates = app.subscribe(Some(&watcher), EVENT_UPDATES, json!({ "id": event })).await.expect("signed in");
        updates.next().await.expect("snapshot");

        let volunteer = app.volunteer().await;
        other_node.graphql_as(&volunteer, SIGN_UP, json!({ "id": event })).await.data();
        if app.config.redis_url.is_some() {
            let seen = updates.next().await.expect("relayed through Redis");
            assert_eq!(seen["data"]["eventUpdates"]["confirmedCount"], 1);
        } else {
            // The embedded setup is one node: without Redis a change stays on the node made it.
            updates.expect_silence(Duration::from_millis(700)).await;
        }
    }
}

/// Subscribes to the event's updates on `app` and consumes the first snapshot.
async fn watch(app: &TestApp, watcher: &Session, event: &str) -> Subscription {
    let mut updates = app
        .subscribe(Some(watcher), EVENT_UPDATES, json!({ "id": event }))
        .await
        .expect("signed in");
    updates.next().await.expect("snapshot");
    updates
}

async fn subscriptions_survive_a_redis_outage_on(backend: Backend) {
    let Some((mut redis, app)) =
        app_with_own_redis(backend, "subscriptions_survive_a_redis_outage").await
    else {
        return;
    };
    let other_node = app.spawn_sibling().await;
    let team = app.team("三水功夫巡逻队", "440607", "OPEN").await;
    let event = app
        .event(
            &team.leader,
            &team.id,
            EventSpec {
                capacity: 50,
                ..Default::default()
            },
        )
        .await;
    let watcher = app.volunteer().await;
    let mut updates = watch(&app, &watcher, &event).await;

    // Redis away: a change made on the subscriber's own node still reaches it.
    redis.stop();
    let volunteer = app.volunteer().await;
    app.sign_up(&volunteer, &event, None).await.data();
    let seen = updates.next().await.expect("delivered on the node itself");
    assert_eq!(seen["data"]["eventUpdates"]["confirmedCount"], 1);

    // Redis back (empty): the relay reconnects and other nodes' changes arrive again. Each try
    // is a new sign-up on the other node; the relay needs a moment to resubscribe.
    redis.resume();
    let mut confirmed = 1;
    for attempt in 0.. {
        assert!(attempt < 30, "the relay did not come back");
        let volunteer = other_node.volunteer().await;
        other_node
            .graphql_as(&volunteer, SIGN_UP, json!({ "id": event }))
            .await
            .data();
        confirmed += 1;
        match tokio::time::timeout(Duration::from_millis(500), updates.next()).await {
            Ok(seen) => {
                // Only the other node's sign-ups change the event now: any update was relayed.
                let count = seen.expect("open")["data"]["eventUpdates"]["confirmedCount"]
                    .as_i64()
                    .unwrap();
                assert!((2..=confirmed).contains(&count), "{count} of {confirmed}");
                break;
            }
            Err(_) => continue,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_survive_a_redis_outage_on_sqlite() {
    subscriptions_survive_a_redis_outage_on(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_survive_a_redis_outage_on_postgres() {
    subscriptions_survive_a_redis_outage_on(Backend::Postgres).await;
}
