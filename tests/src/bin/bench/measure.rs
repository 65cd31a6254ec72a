//! The load driver: a fixed number of requests per case, from a few concurrent clients over
//! keep-alive HTTP, each latency recorded; then throughput and percentiles.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

/// One request shape to measure.
pub struct Case {
    pub name: String,
    /// Which server answers: the one with the Redis rank store, or the one without it.
    pub url: String,
    pub token: Option<String>,
    pub body: Value,
    pub requests: usize,
}

pub struct Measured {
    pub name: String,
    pub requests: usize,
    pub errors: usize,
    pub per_second: f64,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
}

/// The `q`-quantile by nearest rank of sorted latencies.
fn quantile(sorted: &[Duration], q: f64) -> Duration {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

async fn send(client: &reqwest::Client, case: &Case, body: &[u8]) -> Result<String, String> {
    let mut request = client
        .post(&case.url)
        .header("content-type", "application/json")
        .header("x-test-client", "10.9.9.9")
        .body(body.to_vec());
    if let Some(token) = &case.token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.map_err(|error| error.to_string())?;
    let status = response.status();
    let text = response.text().await.map_err(|error| error.to_string())?;
    if !status.is_success() || text.contains("\"errors\"") {
        return Err(format!("HTTP {status}: {text}"));
    }
    Ok(text)
}

/// Sends one request and returns the answer, failing loudly: run before measuring a case, so a
/// broken query is reported instead of timed.
pub async fn check(client: &reqwest::Client, case: &Case) -> Value {
    let body = serde_json::to_vec(&case.body).expect("JSON body");
    let text = send(client, case, &body)
        .await
        .unwrap_or_else(|error| panic!("{}: {error}", case.name));
    serde_json::from_str(&text).expect("a JSON answer")
}

/// Sends `requests` requests from `concurrency` clients; returns each latency, the errors and
/// the wall time.
async fn drive(
    client: &reqwest::Client,
    case: &Case,
    body: &Arc<[u8]>,
    requests: usize,
    concurrency: usize,
) -> (Vec<Duration>, Vec<String>, Duration) {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let workers = (0..concurrency.max(1)).map(|_| {
        let next = next.clone();
        let body = body.clone();
        async move {
            let mut latencies = Vec::new();
            let mut errors = Vec::new();
            while next.fetch_add(1, Ordering::Relaxed) < requests {
                let sent = Instant::now();
                let outcome = send(client, case, &body).await;
                latencies.push(sent.elapsed());
                if let Err(error) = outcome {
                    errors.push(error);
                }
            }
            (latencies, errors)
        }
    });
    let results = futures::future::join_all(workers).await;
    let elapsed = started.elapsed();
    let mut latencies: Vec<Duration> = Vec::with_capacity(requests);
    let mut errors = Vec::new();
    for (some, failed) in results {
        latencies.extend(some);
        errors.extend(failed);
    }
    (latencies, errors, elapsed)
}

/// Warms up (`warmup` requests per client, unmeasured, at the same concurrency so every pooled
/// connection is open), then measures `case.requests` requests.
pub async fn run(
    client: &reqwest::Client,
    case: &Case,
    concurrency: usize,
    warmup: usize,
) -> Measured {
    let body: Arc<[u8]> = serde_json::to_vec(&case.body).expect("JSON body").into();
    drive(client, case, &body, warmup * concurrency, concurrency).await;
    let (mut latencies, errors, elapsed) =
        drive(client, case, &body, case.requests, concurrency).await;
    if let Some(first) = errors.first() {
        eprintln!(
            "  {}: {} of {} requests failed; first: {}",
            case.name,
            errors.len(),
            latencies.len(),
            first.chars().take(300).collect::<String>()
        );
    }
    latencies.sort_unstable();
    Measured {
        name: case.name.clone(),
        requests: latencies.len(),
        errors: errors.len(),
        per_second: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: quantile(&latencies, 0.50),
        p99: quantile(&latencies, 0.99),
        max: latencies.last().copied().unwrap_or_default(),
    }
}

fn ms(duration: Duration) -> String {
    format!("{:.2}", duration.as_secs_f64() * 1000.0)
}

/// The results as a Markdown table, ratios against the first (baseline) row.
pub fn table(results: &[Measured]) -> String {
    let Some(baseline) = results.first() else {
        return String::new();
    };
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64().max(1e-9);
    let mut out = String::from(
        "| case | requests | errors | req/s | p50 ms | p99 ms | max ms | p50 × base | p99 × base |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for row in results {
        out.push_str(&format!(
            "| {} | {} | {} | {:.0} | {} | {} | {} | {:.1} | {:.1} |\n",
            row.name,
            row.requests,
            row.errors,
            row.per_second,
            ms(row.p50),
            ms(row.p99),
            ms(row.max),
            ratio(row.p50, baseline.p50),
            ratio(row.p99, baseline.p99),
        ));
    }
    out
}
