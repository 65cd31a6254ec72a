//! The sign-up storm: `clients` distinct registered volunteers, each on its own warm keep-alive
//! connection, all send `signUp` for one fresh event with 50 seats at the same moment. Reported:
//! whether the outcome is exact (checked in the database: exactly 50 CONFIRMED, the rest
//! WAITLISTED at places 1..n as each answer said) and how long the answers took.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sea_orm::DatabaseConnection;
use serde_json::{Value, json};
use tokio::sync::Barrier;

use crate::measure::{self, Measured};
use crate::people::{self, Minter, NewEvent};

pub const SEATS: i64 = 50;
const TITLE: &str = "抢位测试 sign-up storm";

const SIGN_UP: &str =
    "mutation($event: ID!) { signUp(eventId: $event) { id status waitlistPosition } }";

pub struct Storm {
    pub latencies: Measured,
    /// Wall time from the common start to the last answer.
    pub wall: Duration,
    pub confirmed: usize,
    pub waitlisted: usize,
    /// What was not exact; empty when everything was.
    pub problems: Vec<String>,
}

/// One client: connects (an unmeasured `{ __typename }`), waits for everyone, then signs up.
async fn client_task(
    url: String,
    token: String,
    body: Arc<[u8]>,
    gate: Arc<Barrier>,
) -> (Duration, Result<Value, String>) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(300))
        .build()
        .expect("HTTP client");
    let warm = serde_json::to_vec(&json!({ "query": "{ __typename }" })).expect("JSON");
    let warmed = measure::post(&client, &url, None, &warm).await;
    gate.wait().await;
    let sent = Instant::now();
    let outcome = match warmed {
        Err(error) => Err(format!("warm-up: {error}")),
        Ok(_) => measure::post(&client, &url, Some(&token), &body).await,
    };
    let took = sent.elapsed();
    let answer = outcome.and_then(|text| {
        serde_json::from_str::<Value>(&text)
            .map(|mut answer| answer["data"]["signUp"].take())
            .map_err(|error| error.to_string())
    });
    (took, answer)
}

/// Runs the storm against the server at `url` (its GraphQL endpoint).
pub async fn run(db: &DatabaseConnection, url: &str, minter: &Minter, clients: usize) -> Storm {
    let volunteers = people::insert_volunteers(db, clients, "15", "抢位志愿者").await;
    let leader = people::team_one_leader(db).await;
    let setup = reqwest::Client::new();
    // On a reused database (`--reuse-database`) the volunteers of earlier storms serve again: each
    // storm's event starts after the last one's ends, so nobody is refused for an overlap.
    let earlier = people::rows(
        db,
        &format!("SELECT count(*)::text FROM events WHERE title = '{TITLE}'"),
    )
    .await[0][0]
        .parse::<i64>()
        .expect("a count");
    let event = NewEvent {
        title: TITLE,
        starts_at: chrono::Utc::now()
            + chrono::Duration::days(40)
            + chrono::Duration::hours(3 * earlier),
        hours: 2,
        capacity: SEATS,
        lat: 22.805,
        lng: 113.293,
    };
    let event_id = people::publish_event(&setup, url, &minter.token(leader), &event).await;
    let body: Arc<[u8]> =
        serde_json::to_vec(&json!({ "query": SIGN_UP, "variables": { "event": event_id } }))
            .expect("JSON body")
            .into();
    let gate = Arc::new(Barrier::new(volunteers.len() + 1));
    let tasks: Vec<_> = volunteers
        .iter()
        .map(|volunteer| {
            tokio::spawn(client_task(
                url.to_owned(),
                minter.token(*volunteer),
                body.clone(),
                gate.clone(),
            ))
        })
        .collect();
    gate.wait().await;
    let started = Instant::now();
    let mut answers = Vec::with_capacity(tasks.len());
    for task in tasks {
        answers.push(task.await.expect("a storm client"));
    }
    let wall = started.elapsed();
    let errors: Vec<&String> = answers
        .iter()
        .filter_map(|(_, a)| a.as_ref().err())
        .collect();
    if let Some(first) = errors.first() {
        println!(
            "  storm: {} answers were errors; first: {first}",
            errors.len()
        );
    }
    let latencies = answers.iter().map(|(took, _)| *took).collect();
    let latencies = measure::summarise("sign-up storm", latencies, errors.len(), wall);
    let answered: Vec<&Value> = answers
        .iter()
        .filter_map(|(_, a)| a.as_ref().ok())
        .collect();
    check(db, &event_id, clients, &answered, latencies, wall).await
}

/// Compares the answers with the event's sign-ups in the database.
async fn check(
    db: &DatabaseConnection,
    event_id: &str,
    clients: usize,
    answers: &[&Value],
    latencies: Measured,
    wall: Duration,
) -> Storm {
    let event = people::number(event_id);
    let rows = people::rows(
        db,
        &format!(
            "SELECT id::text, status, coalesce((CASE WHEN status = 'WAITLISTED' THEN \
               row_number() OVER (PARTITION BY status ORDER BY id) END)::text, '') \
             FROM sign_ups WHERE event_id = {event} ORDER BY id"
        ),
    )
    .await;
    let count = |status: &str| rows.iter().filter(|row| row[1] == status).count();
    let (confirmed, waitlisted) = (count("CONFIRMED"), count("WAITLISTED"));
    let mut problems = Vec::new();
    if confirmed != SEATS as usize || waitlisted + confirmed != clients || rows.len() != clients {
        problems.push(format!(
            "database: {confirmed} CONFIRMED, {waitlisted} WAITLISTED, {} rows for {clients} clients",
            rows.len()
        ));
    }
    let seats_taken = people::rows(
        db,
        &format!("SELECT confirmed_count::text FROM events WHERE id = {event}"),
    )
    .await;
    if seats_taken[0][0] != SEATS.to_string() {
        problems.push(format!("events.confirmed_count is {}", seats_taken[0][0]));
    }
    for answer in answers {
        let id = people::number(answer["id"].as_str().unwrap_or_default()).to_string();
        let said = (
            answer["status"].as_str().unwrap_or_default().to_owned(),
            answer["waitlistPosition"]
                .as_i64()
                .map(|place| place.to_string())
                .unwrap_or_default(),
        );
        match rows.iter().find(|row| row[0] == id) {
            Some(row) if (row[1].clone(), row[2].clone()) == said => {}
            found => problems.push(format!("answer {said:?}, database {found:?}")),
        }
    }
    if answers.len() != clients {
        problems.push(format!("{} of {clients} answered", answers.len()));
    }
    Storm {
        latencies,
        wall,
        confirmed,
        waitlisted,
        problems,
    }
}
