//! Sign-ups under concurrency: capacity, FIFO waitlists, idempotency, and every refusal.

use std::collections::{BTreeMap, HashMap, HashSet};

use feihong_tests::fixtures::{CANCEL_SIGN_UP, SIGN_UP};
use feihong_tests::{EventSpec, Session, TestApp, on_every_backend};
use futures::StreamExt as _;
use futures::future::join_all;
use rand::seq::SliceRandom as _;
use rand::{Rng as _, SeedableRng as _};
use serde_json::{Value, json};

const VIEWER_SIGN_UP: &str =
    "query($id: ID!) { event(id: $id) { viewerSignUp { id status waitlistPosition } } }";
const ROSTER: &str = "query($id: ID!, $after: String) { event(id: $id) { roster(first: 100, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { node { id status volunteer { id } } } } } }";
const NOTIFICATIONS: &str = "{ myNotifications { edges { node { kind event { id } } } } }";

async fn volunteers(app: &TestApp, count: usize) -> Vec<Session> {
    futures::stream::iter(0..count)
        .map(|_| app.volunteer())
        .buffer_unordered(8)
        .collect()
        .await
}

/// Every sign-up on the roster, in sign-up order: (sign-up id, status).
async fn roster(app: &TestApp, leader: &Session, event: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut after = Value::Null;
    loop {
        let page = app
            .graphql_as(leader, ROSTER, json!({ "id": event, "after": after }))
            .await;
        let roster = page.data()["event"]["roster"].clone();
        for edge in roster["edges"].as_array().expect("edges") {
            out.push((
                edge["node"]["id"].as_str().unwrap().to_owned(),
                edge["node"]["status"].as_str().unwrap().to_owned(),
            ));
        }
        if roster["pageInfo"]["hasNextPage"] != true {
            return out;
        }
        after = roster["pageInfo"]["endCursor"].clone();
    }
}

async fn position(app: &TestApp, session: &Session, event: &str) -> Value {
    app.graphql_as(session, VIEWER_SIGN_UP, json!({ "id": event }))
        .await
        .data()["event"]["viewerSignUp"]
        .clone()
}

/// The invariants after any sequence: capacity holds, counts agree with the roster, and the
/// waitlist is full only when every seat is taken.
async fn check_invariants(
    app: &TestApp,
    leader: &Session,
    event: &str,
    capacity: usize,
) -> (Vec<String>, Vec<String>) {
    let roster = roster(app, leader, event).await;
    let confirmed: Vec<String> = roster
        .iter()
        .filter(|(_, s)| s == "CONFIRMED")
        .map(|(id, _)| id.clone())
        .collect();
    let waiting: Vec<String> = roster
        .iter()
        .filter(|(_, s)| s == "WAITLISTED")
        .map(|(id, _)| id.clone())
        .collect();
    let counts = app.event_counts(leader, event).await;
    assert!(
        confirmed.len() <= capacity,
        "capacity exceeded: {}",
        confirmed.len()
    );
    assert_eq!(counts["confirmedCount"], confirmed.len() as i64);
    assert_eq!(counts["waitlistCount"], waiting.len() as i64);
    if !waiting.is_empty() {
        assert_eq!(
            confirmed.len(),
            capacity,
            "seats free while volunteers wait"
        );
    }
    (confirmed, waiting)
}

on_every_backend! {
    async fn three_hundred_volunteers_racing_for_fifty_seats_fill_them_exactly_and_queue_the_rest(app: TestApp) {
        let team = app.team("祖庙功夫巡逻队", "440604", "OPEN").await;
        let event = app.event(&team.leader, &team.id, EventSpec { capacity: 50, ..Default::default() }).await;
        let people = volunteers(&app, 300).await;

        let answers = join_all(people.iter().map(|p| app.sign_up_as_a_phone(p, &event))).await;
        let mut by_status: HashMap<String, usize> = HashMap::new();
        for answer in &answers {
            *by_status.entry(answer.data()["signUp"]["status"].as_str().unwrap().to_owned()).or_default() += 1;
        }
        assert_eq!(by_status.get("CONFIRMED"), Some(&50));
        assert_eq!(by_status.get("WAITLISTED"), Some(&250));
        let positions: Vec<i64> = join_all(people.iter().map(|p| position(&app, p, &event))).await
            .iter()
            .filter(|s| s["status"] == "WAITLISTED")
            .map(|s| s["waitlistPosition"].as_i64().unwrap())
            .collect();
        let mut sorted = positions.clone();
        sorted.sort();
        assert_eq!(sorted, (1..=250).collect::<Vec<i64>>(), "positions 1…250 with no gaps");
        check_invariants(&app, &team.leader, &event, 50).await;

        // 100 random cancels and sign-ups, interleaved and concurrent.
        let mut rng = rand::rngs::StdRng::seed_from_u64(2026);
        let newcomers = volunteers(&app, 50).await;
        let sign_up_ids: Vec<String> = answers.iter().map(|a| a.data()["signUp"]["id"].as_str().unwrap().to_owned()).collect();
        let mut cancel_picks: Vec<usize> = (0..300).collect();
        cancel_picks.shuffle(&mut rng);
        let mut operations = Vec::new();
        for (n, who) in cancel_picks.iter().copied().take(100).enumerate() {
            if rng.random_bool(0.5) {
                operations.push((Some((who, sign_up_ids[who].clone())), None));
            } else {
                operations.push((None, Some(n % 50)));
            }
        }
        let results = join_all(operations.iter().map(|(cancel, join)| {
            let app = &app;
            let (event, people, newcomers) = (&event, &people, &newcomers);
            async move {
                match (cancel, join) {
                    (Some((who, id)), _) => ("cancel", app.graphql_as(&people[*who], CANCEL_SIGN_UP, json!({ "id": id })).await),
                    (_, Some(who)) => ("join", app.sign_up(&newcomers[*who], event, None).await),
                    _ => unreachable!(),
                }
            }
        }))
        .await;

        let (confirmed, waiting) = check_invariants(&app, &team.leader, &event, 50).await;
        let roster: BTreeMap<String, String> = roster(&app, &team.leader, &event).await.into_iter().collect();
        for (kind, result) in &results {
            if result.body.get("errors").is_some() {
                // Only a newcomer asked twice may be refused: already signed up.
                assert_eq!(*kind, "join", "{result:?}");
                result.expect_error("CONFLICT", None);
                continue;
            }
            let answer = if *kind == "cancel" { &result.data()["cancelSignUp"] } else { &result.data()["signUp"] };
            let id = answer["id"].as_str().unwrap();
            match *kind {
                "cancel" => assert!(!roster.contains_key(id), "a cancelled sign-up left the roster"),
                _ => assert!(roster.contains_key(id), "every successful sign-up is in the database"),
            }
        }
        // FIFO: everyone promoted from the queue signed up before everyone still waiting.
        let first_waiting: HashSet<&String> = answers.iter().filter(|a| a.data()["signUp"]["status"] == "WAITLISTED").map(|a| a.data()["signUp"]["id"].as_str().unwrap()).map(|id| sign_up_ids.iter().find(|s| s.as_str() == id).unwrap()).collect();
        let promoted: Vec<usize> = sign_up_ids.iter().enumerate().filter(|(_, id)| first_waiting.contains(id) && confirmed.contains(id)).map(|(i, _)| i).collect();
        let still_waiting: Vec<usize> = sign_up_ids.iter().enumerate().filter(|(_, id)| waiting.contains(id)).map(|(i, _)| i).collect();
        let order = |index: usize| answers[index].data()["signUp"]["waitlistPosition"].as_i64().unwrap();
        if let (Some(last_promoted), Some(first_still)) = (promoted.iter().map(|i| order(*i)).max(), still_waiting.iter().map(|i| order(*i)).min()) {
            assert!(last_promoted < first_still, "promotion skipped the queue: {last_promoted} promoted while {first_still} waits");
        }
    }

    async fn the_same_idempotency_key_sent_twenty_times_at_once_makes_one_sign_up(app: TestApp) {
        let team = app.team("防诈宣传队", "440605", "OPEN").await;
        let event = app.event(&team.leader, &team.id, EventSpec { capacity: 5, ..Default::default() }).await;
        let volunteer = app.volunteer().await;
        let answers = join_all((0..20).map(|_| app.sign_up(&volunteer, &event, Some("phone-retry-7f3a")))).await;
        let ids: HashSet<String> = answers.iter().map(|a| a.data()["signUp"]["id"].as_str().unwrap().to_owned()).collect();
        assert_eq!(ids.len(), 1, "every retry returns the first answer");
        assert_eq!(app.event_counts(&team.leader, &event).await["confirmedCount"], 1);
        assert_eq!(roster(&app, &team.leader, &event).await.len(), 1);

        // The same key for something else is refused.
        let other = app.event(&team.leader, &team.id, EventSpec { starts_in: 3 * 24 * 60, ..Default::default() }).await;
        app.sign_up(&volunteer, &other, Some("phone-retry-7f3a")).await.expect_error("CONFLICT", None);
        // The key is the volunteer's own: another volunteer may use the same string.
        let neighbour = app.volunteer().await;
        assert_eq!(app.sign_up(&neighbour, &event, Some("phone-retry-7f3a")).await.data()["signUp"]["status"], "CONFIRMED");
    }

    async fn cancelling_a_confirmed_seat_promotes_the_first_waitlisted(app: TestApp) {
        let team = app.team("校园护卫队", "440606", "OPEN").await;
        let event = app.event(&team.leader, &team.id, EventSpec { capacity: 1, ..Default::default() }).await;
        let people = volunteers(&app, 3).await;
        let mut ids = Vec::new();
        for person in &people {
            ids.push(app.sign_up(person, &event, None).await.data()["signUp"]["id"].as_str().unwrap().to_owned());
        }
        assert_eq!(position(&app, &people[1], &event).await["waitlistPosition"], 1);
        assert_eq!(position(&app, &people[2], &event).await["waitlistPosition"], 2);

        let cancelled = app.graphql_as(&people[0], CANCEL_SIGN_UP, json!({ "id": ids[0] })).await;
        assert_eq!(cancelled.data()["cancelSignUp"]["status"], "CANCELLED");
        assert_eq!(position(&app, &people[1], &event).await["status"], "CONFIRMED");
        let third = position(&app, &people[2], &event).await;
        assert_eq!((third["status"].as_str(), third["waitlistPosition"].as_i64()), (Some("WAITLISTED"), Some(1)), "the queue moves up");
        // The event starts within a day: the upkeep may remind the newly confirmed volunteer of
        // it at any moment, so the promotion is the newest notification that is not a reminder.
        let told = app.graphql_as(&people[1], NOTIFICATIONS, json!({})).await;
        let edges = told.data()["myNotifications"]["edges"].as_array().unwrap().clone();
        let newest = edges.iter().map(|edge| &edge["node"]).find(|node| node["kind"] != "REMINDER").expect("a notification");
        assert_eq!(newest["kind"], "PROMOTED");
        assert_eq!(newest["event"]["id"], event.as_str());
        // Cancelling twice is refused; someone else's sign-up cannot be cancelled.
        app.graphql_as(&people[0], CANCEL_SIGN_UP, json!({ "id": ids[0] })).await.expect_error("CONFLICT", None);
        app.graphql_as(&people[2], CANCEL_SIGN_UP, json!({ "id": ids[1] })).await.expect_error("NOT_FOUND", None);
    }

    async fn raising_capacity_promotes_as_many_as_fit_and_lowering_below_confirmed_is_refused(app: TestApp) {
        let team = app.team("社区110", "440607", "OPEN").await;
        let event = app.event(&team.leader, &team.id, EventSpec { capacity: 2, ..Default::default() }).await;
        let people = volunteers(&app, 6).await;
        for person in &people {
            app.sign_up(person, &event, None).await.data();
        }
        let update = "mutation($id: ID!, $capacity: Int!) { updateEvent(eventId: $id, input: { capacity: $capacity }) { capacity confirmedCount waitlistCount } }";
        let raised = app.graphql_as(&team.leader, update, json!({ "id": event, "capacity": 5 })).await;
        assert_eq!(raised.data()["updateEvent"], json!({ "capacity": 5, "confirmedCount": 5, "waitlistCount": 1 }));
        for (index, person) in people.iter().enumerate() {
            let expected = if index < 5 { "CONFIRMED" } else { "WAITLISTED" };
            assert_eq!(position(&app, person, &event).await["status"], expected, "volunteer {index}");
        }
        app.graphql_as(&team.leader, update, json!({ "id": event, "capacity": 3 })).await.expect_error("BAD_USER_INPUT", Some("input.capacity"));
    }

    async fn sign_ups_are_refused_with_a_reason(app: TestApp) {
        let team = app.team("网格巡逻队", "440608", "OPEN").await;
        let volunteer = app.volunteer().await;
        let draft = app.event(&team.leader, &team.id, EventSpec { publish: false, ..Default::default() }).await;
        app.sign_up(&volunteer, &draft, None).await.expect_error("NOT_FOUND", None);

        let started = app.event(&team.leader, &team.id, EventSpec { starts_in: -10, lasts: 120, ..Default::default() }).await;
        let refused = app.sign_up(&volunteer, &started, None).await;
        refused.expect_error("CONFLICT", None);
        assert!(refused.error_message().contains("started"));

        let event = app.event(&team.leader, &team.id, EventSpec { starts_in: 600, lasts: 120, ..Default::default() }).await;
        app.sign_up(&volunteer, &event, None).await.data();
        app.sign_up(&volunteer, &event, None).await.expect_error("CONFLICT", None);

        let overlapping = app.event(&team.leader, &team.id, EventSpec { starts_in: 660, lasts: 120, ..Default::default() }).await;
        let clash = app.sign_up(&volunteer, &overlapping, None).await;
        clash.expect_error("CONFLICT", None);
        assert!(clash.error_message().contains("same time") || clash.error_message().contains("at that time"), "{}", clash.error_message());
        let back_to_back = app.event(&team.leader, &team.id, EventSpec { starts_in: 720, lasts: 60, ..Default::default() }).await;
        assert_eq!(app.sign_up(&volunteer, &back_to_back, None).await.data()["signUp"]["status"], "CONFIRMED");

        let cancel = "mutation($id: ID!) { cancelEvent(eventId: $id, reason: \"暴雨 Rainstorm\") { status } }";
        let doomed = app.event(&team.leader, &team.id, EventSpec { starts_in: 5000, ..Default::default() }).await;
        app.graphql_as(&team.leader, cancel, json!({ "id": doomed })).await.data();
        app.sign_up(&volunteer, &doomed, None).await.expect_error("CONFLICT", None);

        let closes = (chrono::Utc::now() - chrono::Duration::minutes(1)).to_rfc3339();
        let closed = app.event(&team.leader, &team.id, EventSpec { starts_in: 6000, publish: false, ..Default::default() }).await;
        let set_close = "mutation($id: ID!, $at: DateTime!) { updateEvent(eventId: $id, input: { signUpClosesAt: $at }) { id } }";
        app.graphql_as(&team.leader, set_close, json!({ "id": closed, "at": closes })).await.data();
        app.graphql_as(&team.leader, feihong_tests::fixtures::PUBLISH_EVENT, json!({ "id": closed })).await.data();
        let late = app.sign_up(&volunteer, &closed, None).await;
        late.expect_error("CONFLICT", None);
        assert!(late.error_message().contains("closed"));

        app.graphql(SIGN_UP, json!({ "id": event })).await.expect_error("UNAUTHENTICATED", None);
        app.sign_up(&volunteer, "not-an-id", None).await.expect_error("BAD_USER_INPUT", Some("eventId"));
    }

    async fn my_sign_ups_lists_upcoming_soonest_first(app: TestApp) {
        let team = app.team("南海巡逻队", "440605", "OPEN").await;
        let volunteer = app.volunteer().await;
        let later = app.event(&team.leader, &team.id, EventSpec { starts_in: 3000, ..Default::default() }).await;
        let sooner = app.event(&team.leader, &team.id, EventSpec { starts_in: 1000, ..Default::default() }).await;
        app.sign_up(&volunteer, &later, None).await.data();
        app.sign_up(&volunteer, &sooner, None).await.data();
        let query = "query($when: SignUpWhen!) { mySignUps(when: $when, first: 1) { totalCount pageInfo { hasNextPage } edges { node { event { id } status } } } }";
        let upcoming = app.graphql_as(&volunteer, query, json!({ "when": "UPCOMING" })).await;
        let list = &upcoming.data()["mySignUps"];
        assert_eq!(list["totalCount"], 2);
        assert_eq!(list["pageInfo"]["hasNextPage"], true);
        assert_eq!(list["edges"][0]["node"]["event"]["id"], sooner.as_str());
        let past = app.graphql_as(&volunteer, query, json!({ "when": "PAST" })).await;
        assert_eq!(past.data()["mySignUps"]["totalCount"], 0);
    }

    async fn a_volunteer_racing_themself_for_two_overlapping_events_gets_one(app: TestApp) {
        let team = app.team("禅城巡逻队", "440604", "OPEN").await;
        let first = app.event(&team.leader, &team.id, EventSpec { starts_in: 900, ..Default::default() }).await;
        let second = app.event(&team.leader, &team.id, EventSpec { starts_in: 930, ..Default::default() }).await;
        let volunteer = app.volunteer().await;
        let (a, b) = futures::join!(app.sign_up(&volunteer, &first, None), app.sign_up(&volunteer, &second, None));
        let succeeded = [&a, &b].iter().filter(|r| r.body.get("errors").is_none()).count();
        assert_eq!(succeeded, 1, "{a:?} {b:?}");
    }

    async fn sign_ups_cancellations_and_promotions_racing_across_a_teams_day_all_succeed(app: TestApp) {
        // Three events of one team close together: their sign-ups share the event rows and the
        // team's statistics day, the locks a cancellation and a sign-up once took in opposite
        // orders (PostgreSQL aborted one with "deadlock detected").
        let team = app.team("南海反诈宣传队", "440605", "OPEN").await;
        let mut events = Vec::new();
        for n in 0..3 {
            let spec = EventSpec { capacity: 8, starts_in: 24 * 60 + n * 150, ..Default::default() };
            events.push(app.event(&team.leader, &team.id, spec).await);
        }
        let people = volunteers(&app, 60).await;
        let first = join_all(people.iter().enumerate().map(|(n, p)| app.sign_up(p, &events[n % 3], None))).await;
        let first_ids: Vec<String> = first.iter().map(|r| r.data()["signUp"]["id"].as_str().unwrap().to_owned()).collect();

        // Every other volunteer cancels while everyone signs up for the next event.
        let moves = join_all(people.iter().enumerate().map(|(n, p)| {
            let (app, events, first_ids) = (&app, &events, &first_ids);
            async move {
                let cancel = async {
                    if n % 2 == 0 {
                        Some(app.graphql_as(p, CANCEL_SIGN_UP, json!({ "id": first_ids[n] })).await)
                    } else {
                        None
                    }
                };
                let (cancelled, joined) = futures::join!(cancel, app.sign_up(p, &events[(n + 1) % 3], None));
                (cancelled, joined)
            }
        }))
        .await;
        let mut active: Vec<(usize, String)> = Vec::new();
        for (n, (cancelled, joined)) in moves.iter().enumerate() {
            if let Some(cancelled) = cancelled {
                assert!(cancelled.body.get("errors").is_none(), "{cancelled:?}");
            } else {
                active.push((n, first_ids[n].clone()));
            }
            assert!(joined.body.get("errors").is_none(), "{joined:?}");
            active.push((n, joined.data()["signUp"]["id"].as_str().unwrap().to_owned()));
        }
        for event in &events {
            check_invariants(&app, &team.leader, event, 8).await;
        }

        // Then everyone cancels everything at once, each cancellation promoting the next.
        let last = join_all(active.iter().map(|(n, id)| app.graphql_as(&people[*n], CANCEL_SIGN_UP, json!({ "id": id })))).await;
        for answer in &last {
            assert!(answer.body.get("errors").is_none(), "{answer:?}");
        }
        for event in &events {
            let (confirmed, waiting) = check_invariants(&app, &team.leader, event, 8).await;
            assert!(confirmed.is_empty() && waiting.is_empty(), "{confirmed:?} {waiting:?}");
        }
    }
}
