//! Waitlist places as `signUp` answers them under concurrency, and the overlap rule on every
//! promotion (a cancellation, a raised capacity).

use feihong_tests::fixtures::CANCEL_SIGN_UP;
use feihong_tests::{EventSpec, Session, TestApp, on_every_backend};
use futures::StreamExt as _;
use futures::future::join_all;
use serde_json::{Value, json};

const VIEWER_SIGN_UP: &str =
    "query($id: ID!) { event(id: $id) { viewerSignUp { id status waitlistPosition } } }";
const RAISE: &str = "mutation($id: ID!, $capacity: Int!) { updateEvent(eventId: $id, input: { capacity: $capacity }) { capacity confirmedCount waitlistCount } }";

async fn volunteers(app: &TestApp, count: usize) -> Vec<Session> {
    futures::stream::iter(0..count)
        .map(|_| app.volunteer())
        .buffer_unordered(8)
        .collect()
        .await
}

async fn seen(app: &TestApp, session: &Session, event: &str) -> Value {
    app.graphql_as(session, VIEWER_SIGN_UP, json!({ "id": event }))
        .await
        .data()["event"]["viewerSignUp"]
        .clone()
}

fn status_and_place(sign_up: &Value) -> (String, Option<i64>) {
    (
        sign_up["status"].as_str().unwrap_or_default().to_owned(),
        sign_up["waitlistPosition"].as_i64(),
    )
}

on_every_backend! {
    async fn three_hundred_racing_sign_ups_are_each_told_an_exact_place_one_to_n(app: TestApp) {
        let team = app.team("祖庙功夫巡逻队", "440604", "OPEN").await;
        let event = app.event(&team.leader, &team.id, EventSpec { capacity: 10, ..Default::default() }).await;
        let people = volunteers(&app, 300).await;

        let answers = join_all(people.iter().map(|p| app.sign_up_as_a_phone(p, &event))).await;
        let answers: Vec<(String, Option<i64>)> =
            answers.iter().map(|a| status_and_place(&a.data()["signUp"])).collect();
        let confirmed = answers.iter().filter(|(status, _)| status == "CONFIRMED").count();
        assert_eq!(confirmed, 10);
        assert!(answers.iter().filter(|(s, _)| s == "CONFIRMED").all(|(_, place)| place.is_none()));
        let mut places: Vec<i64> = answers
            .iter()
            .filter(|(status, _)| status == "WAITLISTED")
            .map(|(_, place)| place.expect("a waitlisted answer carries its place"))
            .collect();
        places.sort_unstable();
        assert_eq!(places, (1..=290).collect::<Vec<i64>>(), "places 1…290: no duplicates, no gaps");
        // Nothing moved since: each answer's place is still the volunteer's place.
        for (person, answer) in people.iter().zip(&answers).step_by(29) {
            assert_eq!(status_and_place(&seen(&app, person, &event).await), *answer);
        }
    }

    async fn refusals_among_sign_ups_arriving_together_leave_every_other_answer_exact(app: TestApp) {
        // Sign-ups arriving together for one event are served in batches, one transaction each;
        // a refused one must roll back only itself.
        let team = app.team("顺德反诈宣传队", "440606", "OPEN").await;
        let event = app.event(&team.leader, &team.id, EventSpec { capacity: 10, ..Default::default() }).await;
        let same_time = app.event(&team.leader, &team.id, EventSpec { capacity: 20, ..Default::default() }).await;
        let people = volunteers(&app, 50).await;
        let (busy, free) = people.split_at(10);
        for person in busy {
            app.sign_up(person, &same_time, None).await.data();
        }
        // Everyone free twice (two taps, two keys), the busy once: 90 requests at once.
        let attempts: Vec<&Session> = free.iter().chain(free).chain(busy).collect();
        let answers = join_all(attempts.iter().map(|p| app.sign_up_as_a_phone(p, &event))).await;
        let mut places = Vec::new();
        let mut confirmed = 0;
        let mut refusals = Vec::new();
        for answer in &answers {
            if answer.body.get("errors").is_some() {
                assert_eq!(answer.error_code(), "CONFLICT", "{}", answer.body);
                refusals.push(answer.error_message().to_owned());
                continue;
            }
            match status_and_place(&answer.data()["signUp"]) {
                (status, None) if status == "CONFIRMED" => confirmed += 1,
                (status, Some(place)) if status == "WAITLISTED" => places.push(place),
                other => panic!("unexpected answer {other:?}"),
            }
        }
        assert_eq!(confirmed, 10);
        places.sort_unstable();
        assert_eq!(places, (1..=30).collect::<Vec<i64>>(), "one answer per free volunteer, exact places");
        assert_eq!(refusals.len(), 50, "a second tap each, and every busy volunteer: {refusals:?}");
        let counts = app.event_counts(&team.leader, &event).await;
        assert_eq!(counts["confirmedCount"], 10);
        assert_eq!(counts["waitlistCount"], 30);
        for person in free.iter().step_by(7) {
            assert!(["CONFIRMED", "WAITLISTED"].contains(&seen(&app, person, &event).await["status"].as_str().unwrap()));
        }
        for person in busy.iter().step_by(3) {
            assert!(seen(&app, person, &event).await.is_null());
        }
    }

    async fn raising_capacity_skips_a_volunteer_confirmed_on_an_overlapping_event_who_keeps_waiting(app: TestApp) {
        let team = app.team("社区110", "440607", "OPEN").await;
        let leader = &team.leader;
        let small = app.event(leader, &team.id, EventSpec { capacity: 1, ..Default::default() }).await;
        let same_time = app.event(leader, &team.id, EventSpec { capacity: 5, ..Default::default() }).await;
        let people = volunteers(&app, 3).await;
        for person in &people {
            app.sign_up(person, &small, None).await.data();
        }
        // The first in the queue takes a seat at the same time elsewhere.
        let elsewhere = app.sign_up(&people[1], &same_time, None).await;
        assert_eq!(elsewhere.data()["signUp"]["status"], "CONFIRMED");
        let elsewhere = elsewhere.data()["signUp"]["id"].as_str().unwrap().to_owned();

        let raised = app.graphql_as(leader, RAISE, json!({ "id": small, "capacity": 2 })).await;
        assert_eq!(raised.data()["updateEvent"], json!({ "capacity": 2, "confirmedCount": 2, "waitlistCount": 1 }));
        assert_eq!(status_and_place(&seen(&app, &people[1], &small).await), ("WAITLISTED".into(), Some(1)), "skipped, keeps the head of the queue");
        assert_eq!(seen(&app, &people[2], &small).await["status"], "CONFIRMED", "the next one takes the seat");

        // A cancellation skips them the same way while the overlap lasts.
        app.graphql_as(&people[0], CANCEL_SIGN_UP, json!({ "id": seen(&app, &people[0], &small).await["id"] })).await.data();
        assert_eq!(seen(&app, &people[1], &small).await["status"], "WAITLISTED");
        assert_eq!(app.event_counts(leader, &small).await["confirmedCount"], 1);

        // Once free, the next promotion is theirs.
        app.graphql_as(&people[1], CANCEL_SIGN_UP, json!({ "id": elsewhere })).await.data();
        let raised = app.graphql_as(leader, RAISE, json!({ "id": small, "capacity": 3 })).await;
        assert_eq!(raised.data()["updateEvent"]["confirmedCount"], 2);
        assert_eq!(seen(&app, &people[1], &small).await["status"], "CONFIRMED");
    }
}
/// The race as phones make it: a server with a wide pool, so many sign-ups are in flight at
/// once, three events of ten seats, sixty volunteers each.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_sign_ups_in_flight_at_once_are_each_told_an_exact_place_on_postgres() {
    let Some(app) =
        TestApp::spawn_configured(feihong_tests::Backend::Postgres, module_path!(), |config| {
            config.db_max_connections = 16;
        })
        .await
    else {
        return;
    };
    let team = app.team("张槎反诈宣传队", "440604", "OPEN").await;
    let people = volunteers(&app, 60).await;
    for round in 0..3 {
        let spec = EventSpec {
            capacity: 10,
            starts_in: 24 * 60 * (round + 1),
            ..Default::default()
        };
        let event = app.event(&team.leader, &team.id, spec).await;
        let answers = join_all(people.iter().map(|p| app.sign_up_as_a_phone(p, &event))).await;
        let mut places: Vec<i64> = answers
            .iter()
            .map(|a| status_and_place(&a.data()["signUp"]))
            .filter(|(status, _)| status == "WAITLISTED")
            .map(|(_, place)| place.expect("a waitlisted answer carries its place"))
            .collect();
        places.sort_unstable();
        assert_eq!(
            places,
            (1..=50).collect::<Vec<i64>>(),
            "round {round}: places 1…50"
        );
    }
}
