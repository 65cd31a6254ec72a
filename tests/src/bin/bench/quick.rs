//! Quick response under load (issue 13): `on_duty` volunteers go on duty at random points of
//! central Foshan (a 16 × 15 km box) and each reports a position every 15.5 s (≈ on_duty / 15.5
//! reports a second offered), while incidents are raised one after another, each on the spot of
//! a "sentinel" volunteer on duty who listens on `incidentAlerts` over a WebSocket. The measure:
//! from sending `raiseIncident` to the sentinel's alert arriving (four incidents a second). Run
//! at two sizes, it also shows whether matching's cost grows with the number on duty. The CPU
//! column of the incidents' row covers everything during that phase (the reports included), per
//! incident.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use feihong_tests::Session;
use futures::StreamExt as _;
use rand::{Rng as _, SeedableRng as _};
use serde_json::json;

use crate::measure::{self, Measured};
use crate::people::{self, Minter};
use crate::setup::Prepared;

const GO_ON_DUTY: &str = "mutation($until: DateTime!, $p: PositionInput!) { goOnDuty(until: $until, position: $p) { onDuty } }";
const REPORT: &str = "mutation($p: PositionInput!) { reportPosition(position: $p) }";
const RAISE: &str = "mutation($input: RaiseIncidentInput!) { raiseIncident(input: $input) { id } }";
const ALERTS: &str = "subscription { incidentAlerts { incident { id } } }";
/// The box volunteers are on duty in: (south, north, west, east).
const BOX: (f64, f64, f64, f64) = (22.95, 23.10, 113.05, 113.20);
/// Each volunteer's reports are this far apart (the server refuses closer than 15 s).
const REPORT_EVERY: Duration = Duration::from_millis(15_500);
/// Incidents are raised this far apart.
const INCIDENT_EVERY: Duration = Duration::from_millis(250);
/// Reports in flight at most (each holds a connection); past it a due report is not sent.
const MAX_REPORTS_IN_FLIGHT: usize = 512;
/// Requests in flight at once while going on duty.
const IN_FLIGHT: usize = 64;

pub struct QuickResponse {
    pub go_on_duty: Measured,
    pub reports: Measured,
    pub alerts: Measured,
}

fn body(query: &str, variables: serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(&json!({ "query": query, "variables": variables })).expect("JSON")
}

fn point(rng: &mut rand::rngs::StdRng) -> (f64, f64) {
    (
        rng.random_range(BOX.0..BOX.1),
        rng.random_range(BOX.2..BOX.3),
    )
}

/// Sends each body (with its token) at most `IN_FLIGHT` at a time; the latencies and errors.
async fn send_all(
    client: &reqwest::Client,
    url: &str,
    requests: Vec<(String, Vec<u8>)>,
) -> (Vec<Duration>, usize) {
    let outcomes: Vec<(Duration, bool)> = futures::stream::iter(requests)
        .map(|(token, body)| async move {
            let sent = Instant::now();
            let ok = measure::post(client, url, Some(&token), &body)
                .await
                .is_ok();
            (sent.elapsed(), ok)
        })
        .buffer_unordered(IN_FLIGHT)
        .collect()
        .await;
    let errors = outcomes.iter().filter(|(_, ok)| !ok).count();
    (outcomes.into_iter().map(|(t, _)| t).collect(), errors)
}

/// With `reports` off, nobody reports while the incidents are raised (matching's own cost).
pub async fn run(
    bench: &Prepared,
    minter: &Minter,
    on_duty: usize,
    incidents: usize,
    reports: bool,
) -> QuickResponse {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(IN_FLIGHT)
        .build()
        .expect("HTTP client");
    let url = bench.app.url("/graphql");
    let ids = people::insert_volunteers(&bench.db, on_duty + incidents, "16", "值守志愿者").await;
    let (sentinels, crowd) = ids.split_at(incidents);
    let mut rng = rand::rngs::StdRng::seed_from_u64(13);
    let until = (chrono::Utc::now() + chrono::Duration::hours(2)).to_rfc3339();
    let spots: Vec<(f64, f64)> = (0..ids.len()).map(|_| point(&mut rng)).collect();
    let duty: Vec<(String, Vec<u8>)> = ids
        .iter()
        .zip(&spots)
        .map(|(id, (lat, lng))| {
            let variables = json!({ "until": until, "p": { "lat": lat, "lng": lng } });
            (minter.token(*id), body(GO_ON_DUTY, variables))
        })
        .collect();
    let started = Instant::now();
    let (latencies, errors) = send_all(&client, &url, duty).await;
    let go_on_duty = measure::summarise("goOnDuty", latencies, errors, started.elapsed());
    let reporting = Arc::new(AtomicBool::new(reports));
    let reporter = tokio::spawn(report_positions(
        client.clone(),
        url.clone(),
        crowd.iter().map(|id| minter.token(*id)).collect(),
        reporting.clone(),
    ));
    // Incidents are raised once the reports run at their full rate.
    tokio::time::sleep(REPORT_EVERY + Duration::from_secs(5)).await;
    let cpu_before = crate::cpu::sample();
    let mut alerts =
        raise_and_listen(bench, minter, sentinels, &spots[..incidents], &client, &url).await;
    alerts.cpu = crate::cpu::since(&cpu_before, alerts.requests.max(1));
    reporting.store(false, Ordering::Relaxed);
    let reports = reporter.await.expect("the reporter");
    QuickResponse {
        go_on_duty,
        reports,
        alerts,
    }
}

/// Reports a position for every volunteer once per `REPORT_EVERY`, spread evenly, until told
/// to stop.
async fn report_positions(
    client: reqwest::Client,
    url: String,
    tokens: Vec<String>,
    running: Arc<AtomicBool>,
) -> Measured {
    // Nobody reports sooner than REPORT_EVERY after the position they went on duty with.
    tokio::time::sleep(REPORT_EVERY).await;
    let mut rng = rand::rngs::StdRng::seed_from_u64(15);
    let tick = Duration::from_millis(10);
    let per_second = tokens.len() as f64 / REPORT_EVERY.as_secs_f64();
    let started = Instant::now();
    let mut next = 0;
    let mut ticks = tokio::time::interval(tick);
    let mut in_flight = futures::stream::FuturesUnordered::new();
    let (mut latencies, mut errors) = (Vec::new(), 0);
    while running.load(Ordering::Relaxed) {
        ticks.tick().await;
        // As many as are due by now: each volunteer exactly REPORT_EVERY after their last.
        let due = (started.elapsed().as_secs_f64() * per_second) as usize;
        while next < due {
            if in_flight.len() >= MAX_REPORTS_IN_FLIGHT {
                // The server is behind: a report not sent counts as failed.
                next += 1;
                errors += 1;
                continue;
            }
            let token = tokens[next % tokens.len()].clone();
            next += 1;
            let (lat, lng) = point(&mut rng);
            let request = body(REPORT, json!({ "p": { "lat": lat, "lng": lng } }));
            let (client, url) = (client.clone(), url.clone());
            // Each report runs as its own task: the offered rate does not wait on the answers.
            in_flight.push(tokio::spawn(async move {
                let sent = Instant::now();
                let ok = measure::post(&client, &url, Some(&token), &request)
                    .await
                    .is_ok();
                (sent.elapsed(), ok)
            }));
        }
        // Collect what finished without waiting for the rest.
        while let Some(Some(done)) = futures::FutureExt::now_or_never(in_flight.next()) {
            let (latency, ok) = done.unwrap_or((Duration::ZERO, false));
            latencies.push(latency);
            errors += usize::from(!ok);
        }
    }
    while let Some(done) = in_flight.next().await {
        let (latency, ok) = done.unwrap_or((Duration::ZERO, false));
        latencies.push(latency);
        errors += usize::from(!ok);
    }
    measure::summarise(
        "reportPosition (background)",
        latencies,
        errors,
        started.elapsed(),
    )
}

/// Raises one incident per sentinel on their spot, and times each until its alert arrives.
async fn raise_and_listen(
    bench: &Prepared,
    minter: &Minter,
    sentinels: &[i64],
    spots: &[(f64, f64)],
    client: &reqwest::Client,
    url: &str,
) -> Measured {
    let admin = minter.token(bench.admin_id);
    let started = Instant::now();
    let mut latencies = Vec::new();
    let mut errors = 0;
    for (sentinel, (lat, lng)) in sentinels.iter().zip(spots) {
        let session = Session {
            access_token: minter.token(*sentinel),
            refresh_token: String::new(),
            volunteer_id: people::global_volunteer(*sentinel),
            phone: String::new(),
        };
        let mut alerts = bench
            .app
            .subscribe(Some(&session), ALERTS, json!({}))
            .await
            .expect("listening");
        let input = json!({ "input": { "kind": "SECURITY", "needed": 1, "areaId": bench.city,
            "location": { "address": "基准测试", "lat": lat, "lng": lng } } });
        let sent = Instant::now();
        if measure::post(client, url, Some(&admin), &body(RAISE, input))
            .await
            .is_err()
        {
            errors += 1;
            continue;
        }
        match tokio::time::timeout(Duration::from_secs(10), alerts.next()).await {
            Ok(Ok(_)) => latencies.push(sent.elapsed()),
            _ => errors += 1,
        }
        // A few incidents a second, so the reports keep running beside them for a while.
        tokio::time::sleep(INCIDENT_EVERY.saturating_sub(sent.elapsed())).await;
    }
    measure::summarise(
        "raiseIncident → alert delivered",
        latencies,
        errors,
        started.elapsed(),
    )
}
