//! A mixed evening: `concurrency` clients send a fixed number of requests drawn from a weighted
//! mix of what phones do on a busy evening (browse the district's events, look at `me` and the
//! city board, sign up for tonight's patrol, cancel, check in on arrival). Each client acts for
//! its own volunteers, so a cancel or check-in always names a sign-up that client made. Reported
//! per operation and overall, with the process's memory over the run.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::cpu;
use crate::measure::{self, Measured};
use crate::memory::{self, Memory};
use crate::people::Minter;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Browse,
    Me,
    Leaderboard,
    SignUp,
    Cancel,
    CheckIn,
}

/// The mix, in percent.
const WEIGHTS: [(Op, u32); 6] = [
    (Op::Browse, 35),
    (Op::Me, 20),
    (Op::Leaderboard, 15),
    (Op::SignUp, 15),
    (Op::Cancel, 7),
    (Op::CheckIn, 8),
];

impl Op {
    fn name(self) -> &'static str {
        match self {
            Self::Browse => "mixed: browse (events in district)",
            Self::Me => "mixed: me",
            Self::Leaderboard => "mixed: leaderboard city",
            Self::SignUp => "mixed: signUp",
            Self::Cancel => "mixed: cancelSignUp",
            Self::CheckIn => "mixed: checkIn",
        }
    }

    fn draw() -> Self {
        let mut roll = rand::random_range(0..100);
        for (op, weight) in WEIGHTS {
            if roll < weight {
                return op;
            }
            roll -= weight;
        }
        Op::Browse
    }
}

/// What the evening runs against.
pub struct Evening<'a> {
    pub url: &'a str,
    /// Tonight's event (global ID), starting within 30 minutes so check-ins are open.
    pub event: &'a str,
    pub event_position: (f64, f64),
    pub district: &'a str,
    /// Volunteers with no sign-up for tonight's event: each signs up at most once.
    pub volunteers: &'a [i64],
}

pub struct Mixed {
    pub overall: Measured,
    pub per_op: Vec<Measured>,
    pub memory: Memory,
}

/// One client's volunteers: those yet to sign up, and the sign-ups it holds (token, id).
struct Client {
    fresh: Vec<String>,
    signed_up: VecDeque<(String, String)>,
    browsing: String,
}

fn body(query: &str, variables: Value) -> Vec<u8> {
    serde_json::to_vec(&json!({ "query": query, "variables": variables })).expect("JSON body")
}

/// The request an operation sends (falling back to another when its client has nobody to do
/// it for), the token it is sent with and the sign-up a successful sign-up will hold.
fn request(op: Op, client: &mut Client, evening: &Evening<'_>) -> (Op, String, Vec<u8>) {
    let op = match op {
        Op::Cancel | Op::CheckIn if client.signed_up.is_empty() => Op::SignUp,
        other => other,
    };
    let op = if op == Op::SignUp && client.fresh.is_empty() {
        Op::Browse
    } else {
        op
    };
    let now = chrono::Utc::now().to_rfc3339();
    let browsing = client.browsing.clone();
    match op {
        Op::Browse => (
            op,
            browsing,
            body(
                "query($area: ID!, $now: DateTime!) { events(filter: { areaId: $area, startsAfter: $now }, \
             first: 20) { totalCount nodes { id title startsAt seatsLeft location { lat lng } } } }",
                json!({ "area": evening.district, "now": now }),
            ),
        ),
        Op::Me => (
            op,
            browsing,
            body("{ me { serviceMinutes starLevel } }", json!({})),
        ),
        Op::Leaderboard => (
            op,
            browsing,
            body(
                "{ leaderboard(scope: { city: true }, period: ALL_TIME, first: 20) { total \
             entries { rank minutes volunteer { displayName } } viewer { rank minutes } } }",
                json!({}),
            ),
        ),
        Op::SignUp => {
            let token = client.fresh.pop().expect("a fresh volunteer");
            (
                op,
                token,
                body(
                    "mutation($event: ID!) { signUp(eventId: $event) { id status } }",
                    json!({ "event": evening.event }),
                ),
            )
        }
        Op::Cancel => {
            let (token, id) = client.signed_up.pop_front().expect("a sign-up");
            (
                op,
                token,
                body(
                    "mutation($id: ID!) { cancelSignUp(signUpId: $id) { id status } }",
                    json!({ "id": id }),
                ),
            )
        }
        Op::CheckIn => {
            let (token, id) = client.signed_up.pop_front().expect("a sign-up");
            let (lat, lng) = evening.event_position;
            (
                op,
                token,
                body(
                    "mutation($id: ID!, $at: PositionInput) { checkIn(signUpId: $id, position: $at) { checkInAt } }",
                    json!({ "id": id, "at": { "lat": lat, "lng": lng, "accuracyM": 10.0 } }),
                ),
            )
        }
    }
}

type Outcome = (Op, Duration, Result<(), String>);

/// One client's share of the requests.
async fn client_loop(
    http: &reqwest::Client,
    evening: &Evening<'_>,
    mut client: Client,
    next: &std::sync::atomic::AtomicUsize,
    requests: usize,
) -> Vec<Outcome> {
    let mut outcomes = Vec::new();
    while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < requests {
        let (op, token, payload) = request(Op::draw(), &mut client, evening);
        let sent = Instant::now();
        let answer = measure::post(http, evening.url, Some(&token), &payload).await;
        let took = sent.elapsed();
        let answer = answer.map(|text| {
            if op == Op::SignUp {
                let parsed: Value = serde_json::from_str(&text).unwrap_or_default();
                if let Some(id) = parsed["data"]["signUp"]["id"].as_str() {
                    client.signed_up.push_back((token, id.to_owned()));
                }
            }
        });
        outcomes.push((op, took, answer));
    }
    outcomes
}

/// Runs `requests` requests of the mix from `concurrency` clients.
pub async fn run(
    http: &reqwest::Client,
    evening: &Evening<'_>,
    minter: &Minter,
    concurrency: usize,
    requests: usize,
) -> Mixed {
    let concurrency = concurrency.max(1);
    let clients: Vec<Client> = (0..concurrency)
        .map(|index| Client {
            fresh: evening
                .volunteers
                .iter()
                .skip(index)
                .step_by(concurrency)
                .map(|volunteer| minter.token(*volunteer))
                .collect(),
            signed_up: VecDeque::new(),
            browsing: minter.token(evening.volunteers[index % evening.volunteers.len()]),
        })
        .collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let before = memory::start_peak();
    let cpu_before = cpu::sample();
    let started = Instant::now();
    let loops = clients
        .into_iter()
        .map(|client| client_loop(http, evening, client, &next, requests));
    let outcomes: Vec<Outcome> = futures::future::join_all(loops)
        .await
        .into_iter()
        .flatten()
        .collect();
    let elapsed = started.elapsed();
    let memory = memory::since(before);
    let spent = cpu::since(&cpu_before, outcomes.len());
    let mut mixed = summarise(outcomes, elapsed, memory);
    mixed.overall.cpu = spent;
    mixed
}

fn summarise(outcomes: Vec<Outcome>, elapsed: Duration, memory: Memory) -> Mixed {
    let failed: Vec<&String> = outcomes
        .iter()
        .filter_map(|(_, _, a)| a.as_ref().err())
        .collect();
    if let Some(first) = failed.first() {
        let first: String = first.chars().take(300).collect();
        println!("  mixed: {} requests failed; first: {first}", failed.len());
    }
    let part = |op: Option<Op>| {
        let chosen: Vec<&Outcome> = outcomes
            .iter()
            .filter(|(o, _, _)| op.is_none_or(|op| op == *o))
            .collect();
        let errors = chosen.iter().filter(|(_, _, a)| a.is_err()).count();
        let name = op.map_or("mixed evening (all operations)", Op::name);
        measure::summarise(
            name,
            chosen.iter().map(|(_, t, _)| *t).collect(),
            errors,
            elapsed,
        )
    };
    Mixed {
        overall: part(None),
        per_op: WEIGHTS.iter().map(|(op, _)| part(Some(*op))).collect(),
        memory,
    }
}
