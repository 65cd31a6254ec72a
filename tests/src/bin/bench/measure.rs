//! The load driver: a fixed number of requests per case, from a few concurrent clients over
//! keep-alive HTTP, each latency recorded; then throughput and percentiles.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::cpu::{self, Spent};
use crate::people::Minter;

/// One request shape to measure.
pub struct Case {
    pub name: String,
    /// Which server answers: the one with the Redis rank store, or the one without it.
    pub url: String,
    /// Whom the request speaks for: a token is minted for them when the case starts, so a long
    /// run never sends an expired one.
    pub viewer: Option<i64>,
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
    /// Where the CPU went while the requests were measured (read cases only).
    pub cpu: Option<Spent>,
}

/// The `q`-quantile by nearest rank of sorted latencies.
fn quantile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// POSTs a GraphQL body; the answer's text, or why it is not a success.
pub async fn post(
    client: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    body: &[u8],
) -> Result<String, String> {
    let mut request = client
        .post(url)
        .header("content-type", "application/json")
        .header("x-test-client", "10.9.9.9")
        .body(body.to_vec());
    if let Some(token) = token {
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

/// One operation's `data`, failing loudly: for setting up what is measured.
pub async fn call(
    client: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    query: &str,
    variables: Value,
) -> Value {
    let body =
        serde_json::to_vec(&json!({ "query": query, "variables": variables })).expect("JSON body");
    let text = post(client, url, token, &body)
        .await
        .unwrap_or_else(|error| panic!("{query}: {error}"));
    let mut answer: Value = serde_json::from_str(&text).expect("a JSON answer");
    answer["data"].take()
}

/// Sends one request and returns the answer, failing loudly: run before measuring a case, so a
/// broken query is reported instead of timed.
pub async fn check(client: &reqwest::Client, case: &Case, minter: &Minter) -> Value {
    let body = serde_json::to_vec(&case.body).expect("JSON body");
    let token = case.viewer.map(|viewer| minter.token(viewer));
    let text = post(client, &case.url, token.as_deref(), &body)
        .await
        .unwrap_or_else(|error| panic!("{}: {error}", case.name));
    serde_json::from_str(&text).expect("a JSON answer")
}

/// Sends `requests` requests from `concurrency` clients; returns each latency, the errors and
/// the wall time.
async fn drive(
    client: &reqwest::Client,
    case: &Case,
    token: Option<&str>,
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
                let outcome = post(client, &case.url, token, &body).await;
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
    minter: &Minter,
    concurrency: usize,
    warmup: usize,
) -> Measured {
    let body: Arc<[u8]> = serde_json::to_vec(&case.body).expect("JSON body").into();
    let token = case.viewer.map(|viewer| minter.token(viewer));
    let token = token.as_deref();
    drive(
        client,
        case,
        token,
        &body,
        warmup * concurrency,
        concurrency,
    )
    .await;
    let before = cpu::sample();
    let (latencies, errors, elapsed) =
        drive(client, case, token, &body, case.requests, concurrency).await;
    let spent = cpu::since(&before, latencies.len());
    if let Some(first) = errors.first() {
        eprintln!(
            "  {}: {} of {} requests failed; first: {}",
            case.name,
            errors.len(),
            latencies.len(),
            first.chars().take(300).collect::<String>()
        );
    }
    Measured {
        cpu: spent,
        ..summarise(&case.name, latencies, errors.len(), elapsed)
    }
}

/// Throughput and percentiles of one set of latencies taken over `elapsed`.
pub fn summarise(
    name: &str,
    mut latencies: Vec<Duration>,
    errors: usize,
    elapsed: Duration,
) -> Measured {
    latencies.sort_unstable();
    Measured {
        name: name.to_owned(),
        requests: latencies.len(),
        errors,
        per_second: latencies.len() as f64 / elapsed.as_secs_f64().max(1e-9),
        p50: quantile(&latencies, 0.50),
        p99: quantile(&latencies, 0.99),
        max: latencies.last().copied().unwrap_or_default(),
        cpu: None,
    }
}

pub fn ms(duration: Duration) -> String {
    format!("{:.2}", duration.as_secs_f64() * 1000.0)
}

/// The results as a Markdown table, ratios against the baseline and, when it ran, against
/// `pgbench -S`'s transactions per second; then CPU µs per request of the server, the load
/// driver, PostgreSQL and Redis, and how many cores the four kept busy.
pub fn table(baseline: &Measured, results: &[Measured], pgbench_tps: Option<f64>) -> String {
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64().max(1e-9);
    let mut out = String::from(
        "| case | requests | errors | req/s | req/s × base | req/s × pgbench | p50 ms | p99 ms \
         | max ms | p50 × base | p99 × base | CPU µs/req server / driver / pg / redis (cores) |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for row in results {
        let pgbench = pgbench_tps.map_or_else(
            || "–".to_owned(),
            |tps| format!("{:.3}", row.per_second / tps),
        );
        out.push_str(&format!(
            "| {} | {} | {} | {:.0} | {:.3} | {} | {} | {} | {} | {:.1} | {:.1} | {} |\n",
            row.name,
            row.requests,
            row.errors,
            row.per_second,
            row.per_second / baseline.per_second.max(1e-9),
            pgbench,
            ms(row.p50),
            ms(row.p99),
            ms(row.max),
            ratio(row.p50, baseline.p50),
            ratio(row.p99, baseline.p99),
            cpu::cell(row.cpu.as_ref()),
        ));
    }
    out
}
